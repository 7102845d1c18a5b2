/**
 * Who the default NetworkPolicy admits, on the real API server. No NetworkPolicy-enforcing network
 * runs here, so the policy is evaluated as an enforcing plugin evaluates it — the rules' ports, and
 * their peers' pod and namespace selectors — with the API server itself matching the selectors
 * against the live pods' labels and the live namespaces' labels (`kubernetes.io/metadata.name` is
 * set by the API server, not by the test).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { Chart, Testing } from 'cdk8s';
import { manifestsToYaml } from '../../lib/synth';
import { BeaconCluster } from '../example-product/beacon';
import { adminClients, uniqueName, waitFor } from './support';
import { createTestNamespace } from '../controlplane/cluster';

const { kc, core } = adminClients();
const custom = kc.makeApiClient(k8s.CustomObjectsApi);

/** A NetworkPolicy as the API server serves it (client-node's model would rename `from`). */
async function readPolicy(namespace: string, name: string): Promise<Policy> {
  return (await custom.getNamespacedCustomObject({
    group: 'networking.k8s.io',
    version: 'v1',
    plural: 'networkpolicies',
    namespace,
    name,
  })) as Policy;
}

interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}
interface Peer {
  podSelector?: Selector;
  namespaceSelector?: Selector;
  ipBlock?: unknown;
}
interface Policy {
  metadata: { namespace: string; name: string };
  spec: { podSelector: Selector; ingress?: Rule[] };
}
interface Rule {
  from?: Peer[];
  ports?: { port?: number | string; protocol?: string }[];
}

/** A LabelSelector as the `labelSelector` query parameter writes it. */
function selectorQuery(s: Selector): string {
  const terms = Object.entries(s.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of s.matchExpressions ?? []) {
    const values = (e.values ?? []).join(',');
    terms.push(
      { In: `${e.key} in (${values})`, NotIn: `${e.key} notin (${values})`, Exists: e.key }[e.operator] ??
        `!${e.key}`,
    );
  }
  return terms.join(',');
}

/** True when the API server lists pod `name` in `namespace` under `selector`. */
async function podMatches(namespace: string, name: string, selector: Selector): Promise<boolean> {
  const list = await core.listNamespacedPod({
    namespace,
    labelSelector: selectorQuery(selector),
    fieldSelector: `metadata.name=${name}`,
  });
  return list.items.length === 1;
}

/** True when the API server lists namespace `name` under `selector`. */
async function namespaceMatches(name: string, selector: Selector): Promise<boolean> {
  const list = await core.listNamespace({
    labelSelector: selectorQuery(selector),
    fieldSelector: `metadata.name=${name}`,
  });
  return list.items.length === 1;
}

interface PodRef {
  readonly namespace: string;
  readonly name: string;
}

/**
 * Whether `policy` lets `client` reach `target` on TCP `port`, by the NetworkPolicy rules: a pod
 * the policy does not select is not restricted by it; otherwise some rule must list the port (or no
 * ports) and a peer that selects the client (no peers: everyone). A peer without a namespace
 * selector means the policy's own namespace; without a pod selector, every pod of the namespaces.
 */
async function admits(policy: Policy, target: PodRef, client: PodRef, port: number) {
  const policyNamespace = policy.metadata.namespace;
  if (target.namespace !== policyNamespace) return true;
  if (!(await podMatches(target.namespace, target.name, policy.spec.podSelector))) return true;
  for (const rule of policy.spec.ingress ?? []) {
    if (rule.ports?.length && !rule.ports.some((p) => p.port === port && (p.protocol ?? 'TCP') === 'TCP'))
      continue;
    if (!rule.from?.length) return true;
    for (const peer of rule.from) {
      if (peer.ipBlock) continue;
      const inNamespace = peer.namespaceSelector
        ? await namespaceMatches(client.namespace, peer.namespaceSelector)
        : client.namespace === policyNamespace;
      if (!inNamespace) continue;
      if (!peer.podSelector || (await podMatches(client.namespace, client.name, peer.podSelector)))
        return true;
    }
  }
  return false;
}

const names = {
  metastore: uniqueName('metastore'),
  analytics: uniqueName('analytics'),
  other: uniqueName('other'),
};

afterAll(async () => {
  for (const name of Object.values(names)) await core.deleteNamespace({ name }).catch(() => undefined);
});

/**
 * Applies every object of `chart` with kubectl, as a user applies synth output. (client-node's
 * typed create would drop NetworkPolicy `from`, which its model calls `_from`: every rule would
 * admit everyone.)
 */
async function create(chart: Chart): Promise<void> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-np-')), 'manifests.yaml');
  fs.writeFileSync(file, manifestsToYaml(Testing.synth(chart)));
  await new Promise<void>((resolve, reject) =>
    execFile(
      process.env.KUBECTL ?? 'kubectl',
      ['--kubeconfig', process.env.KEELSON_TEST_KUBECONFIG!, 'apply', '--server-side', '-f', file],
      (error, stdout, stderr) => (error ? reject(new Error(`kubectl apply: ${stdout}${stderr}`)) : resolve()),
    ),
  );
}

/** A bare pod with `labels` (it need not run: the policy is about who it is). */
async function pod(namespace: string, name: string, labels: Record<string, string>): Promise<PodRef> {
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name, labels },
      spec: { containers: [{ name: 'c', image: 'registry.invalid/client:1' }] },
    },
  });
  return { namespace, name };
}

describe('the default NetworkPolicy', () => {
  it("admits the namespace's pods and a referring stacklet in another namespace to the client port, and nobody else", async () => {
    for (const name of Object.values(names)) await createTestNamespace(kc, name);
    const app = Testing.app();
    const metastore = new Chart(app, 'metastore', { namespace: names.metastore });
    const analytics = new Chart(app, 'analytics', { namespace: names.analytics });
    const one = { roleGroups: { default: { replicas: 1 } } };
    const up = new BeaconCluster(metastore, 'up', { servers: one, gateways: one });
    new BeaconCluster(analytics, 'down', { upstream: up, servers: one, gateways: one });
    await create(metastore);
    await create(analytics);

    const server: PodRef = { namespace: names.metastore, name: 'up-servers-default-0' };
    const downServer: PodRef = { namespace: names.analytics, name: 'down-servers-default-0' };
    await waitFor('the StatefulSets to make their pods', async () => {
      for (const p of [server, downServer]) await core.readNamespacedPod(p);
      return true;
    });
    const peerServer: PodRef = server; // the stacklet's own pod
    const neighbour = await pod(names.metastore, 'neighbour', { app: 'neighbour' });
    const loader = await pod(names.analytics, 'loader', { app: 'loader' });
    const stranger = await pod(names.other, 'stranger', { app: 'stranger' });
    const policy = await readPolicy(names.metastore, 'up');
    const CLIENT = 7070;
    const PEER = 7071;
    const METRICS = 9090;

    const table = async (client: PodRef) => ({
      client: await admits(policy, server, client, CLIENT),
      peer: await admits(policy, server, client, PEER),
      metrics: await admits(policy, server, client, METRICS),
    });
    // The referring stacklet in another namespace: its client port only.
    expect(await table(downServer)).toEqual({ client: true, peer: false, metrics: true });
    // Any pod of the stacklet's own namespace: client ports, not the peer port.
    expect(await table(neighbour)).toEqual({ client: true, peer: false, metrics: true });
    // The stacklet's own pods: everything.
    expect(await table(peerServer)).toEqual({ client: true, peer: true, metrics: true });
    // A pod of another namespace that is not a declared client, even in the referring namespace.
    expect(await table(loader)).toEqual({ client: false, peer: false, metrics: true });
    expect(await table(stranger)).toEqual({ client: false, peer: false, metrics: true });

    // allowSameNamespace: false leaves the neighbour out, and a declared client in.
    const strict = new Chart(Testing.app(), 'strict', { namespace: names.metastore });
    new BeaconCluster(strict, 'strict', {
      servers: one,
      gateways: one,
      clusterConfig: {
        networkPolicy: {
          allowSameNamespace: false,
          allowedClients: [
            {
              podSelector: { matchLabels: { app: 'loader' } },
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': names.analytics } },
            },
          ],
        },
      },
    });
    await create(strict);
    const strictServer: PodRef = { namespace: names.metastore, name: 'strict-servers-default-0' };
    await waitFor('the strict pod', async () => !!(await core.readNamespacedPod(strictServer)));
    const strictPolicy = await readPolicy(names.metastore, 'strict');
    expect(await admits(strictPolicy, strictServer, neighbour, CLIENT)).toBe(false);
    expect(await admits(strictPolicy, strictServer, loader, CLIENT)).toBe(true);
    expect(await admits(strictPolicy, strictServer, stranger, CLIENT)).toBe(false);
    expect(await admits(strictPolicy, strictServer, strictServer, PEER)).toBe(true);
    // The policy of one stacklet does not select another stacklet's pods.
    expect(await podMatches(names.metastore, strictServer.name, policy.spec!.podSelector as Selector)).toBe(
      false,
    );
  });
});
