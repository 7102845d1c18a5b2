/**
 * The operator's REST client against the test API server: its watches, one long-lived connection
 * per watched kind, never hold the connections its requests need. With every product, cert-manager
 * and prometheus-operator installed the operator watches 32 kinds; when watches and requests shared
 * one pool of 32 sockets, every status write waited until a watch ended, about 5 minutes.
 */
import { KubeClient, REQUEST_SOCKETS } from '../../lib/operator/client';
import { adminKubeConfig, waitFor } from './support';

test('answers a request while more watches are open than its requests have sockets', async () => {
  const client = new KubeClient(adminKubeConfig());
  const stop = new AbortController();
  const watches = REQUEST_SOCKETS + 8;
  // A watch without a resourceVersion starts with an ADDED event per namespace: proof it is open.
  const open = new Set<number>();
  const ended: Promise<void>[] = [];
  for (let i = 0; i < watches; i++) {
    ended.push(
      client
        .watch('/api/v1/namespaces', 'namespaces', { timeoutSeconds: 600 }, () => open.add(i), stop.signal)
        .catch(() => undefined),
    );
  }
  try {
    await waitFor(`${watches} watches to be open`, async () => open.size === watches, 60_000);

    const answer = client
      .request<{ metadata: { name: string } }>('get', 'GET', '/api/v1/namespaces/default', 'namespaces')
      .then((ns) => `answered: ${ns.metadata.name}`);
    // A request queued behind the watches would wait for one of them to end (600 s here).
    const stillWaiting = new Promise<string>((resolve) =>
      setTimeout(() => resolve('still waiting'), 60_000).unref(),
    );
    expect(await Promise.race([answer, stillWaiting])).toBe('answered: default');
  } finally {
    stop.abort();
    await Promise.all(ended);
  }
});
