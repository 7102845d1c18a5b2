/**
 * ZooKeeper's ensemble members under the keelson operator (the package's `keelson` command, on the
 * kwok nodes): a change of a running ensemble's members is refused with `Degraded=True`, reason
 * `MembershipChangeUnsafe`, and nothing is applied — 3 → 5 (two majorities could each elect a
 * leader while the servers roll) and 3 → 4 alike (the roll can stop for good; the real node showed
 * it); the same change made while the stacklet is stopped is applied, and the start brings up the
 * new ensemble. test/integration/day-two-real-node.test.ts does the stop-change-start with real
 * servers.
 */
import * as k8s from '@kubernetes/client-node';
import { PRODUCTS } from '../../apps/keelson';
import {
  GROUP,
  KEELSON_BIN,
  VERSION,
  tail,
  type OperatorProcess,
  startOperatorInNamespace,
  stopOperatorInNamespace,
} from './operator-support';
import { adminClients, waitFor } from './support';

// The first test to start the operator compiles it (`npm run build`), minutes on a busy machine.
jest.setTimeout(15 * 60_000);

const { core, apps, custom } = adminClients();
let namespace = '';
let operator: OperatorProcess;

beforeAll(async () => {
  ({ namespace, operator } = await startOperatorInNamespace('zk-members', PRODUCTS, KEELSON_BIN));
});
afterAll(() => stopOperatorInNamespace({ namespace, operator }));

type Stacklet = { metadata: k8s.V1ObjectMeta; status?: { conditions?: k8s.V1Condition[] } };
const plural = 'zookeeperclusters';
const get = (name = 'zk') =>
  custom.getNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    plural,
    namespace,
    name,
  }) as Promise<Stacklet>;
const create = (name: string, spec: object) =>
  custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    plural,
    namespace,
    body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'ZookeeperCluster', metadata: { name }, spec },
  });
const patch = (name: string, spec: object) =>
  custom.patchNamespacedCustomObject(
    { group: GROUP, version: VERSION, plural, namespace, name, body: { spec } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
const setReplicas = (replicas: number, stopped = false) =>
  patch('zk', { clusterOperation: { stopped }, servers: { roleGroups: { default: { replicas } } } });

/** Waits until the current generation's condition `type` matches; fails with the status and the operator's log. */
async function condition(
  type: string,
  matches: (c: k8s.V1Condition) => boolean,
  what: string,
  name = 'zk',
): Promise<k8s.V1Condition> {
  let found: k8s.V1Condition | undefined;
  await waitFor(
    `ZookeeperCluster ${name}: ${what}`,
    async () => {
      const zk = await get(name);
      found = zk.status?.conditions?.find((c) => c.type === type);
      return found !== undefined && found.observedGeneration === zk.metadata.generation && matches(found);
    },
    180_000,
    undefined,
    undefined,
    async () => `${JSON.stringify((await get(name)).status)}; operator log: ${tail(operator.logFile, 5)}`,
  );
  return found!;
}

const servers = async () =>
  Object.keys(
    Object.fromEntries(
      (
        (await core.readNamespacedConfigMap({ name: 'zk-servers-default', namespace })).data?.['zoo.cfg'] ??
        ''
      )
        .split('\n')
        .filter((l) => l.startsWith('server.'))
        .map((l) => [l.slice(0, l.indexOf('=')), true]),
    ),
  ).sort();
const statefulSetReplicas = async (stacklet = 'zk') =>
  (await apps.readNamespacedStatefulSet({ name: `${stacklet}-servers-default`, namespace })).spec!.replicas;

describe('ZooKeeper membership changes under the operator', () => {
  it('refuses 3 → 5 and 3 → 4 while the ensemble runs, and applies 3 → 4 stopped', async () => {
    await create('zk', { servers: { roleGroups: { default: { replicas: 3 } } } });
    await condition('Available', (c) => c.status === 'True', 'Available');
    const three = await servers();
    expect(three).toHaveLength(3);

    for (const [replicas, why] of [
      [5, 'split brain'],
      [4, 'the roll would stop'],
    ] as const) {
      await setReplicas(replicas);
      const refused = await condition(
        'Degraded',
        (c) => c.reason === 'MembershipChangeUnsafe' && c.message?.includes(`to ${replicas} (`) === true,
        `Degraded with reason MembershipChangeUnsafe for 3 → ${replicas}`,
      );
      expect(refused.status).toBe('True');
      expect(refused.message).toContain('the members of spec.servers change from 3 (zk-servers-default-0');
      expect(refused.message).toContain(why);
      expect(refused.message).toContain('clusterOperation.stopped');
      expect(await statefulSetReplicas()).toBe(3);
      expect(await servers()).toEqual(three);
    }
    const events = (await core.listNamespacedEvent({ namespace })).items;
    expect(events.some((e) => e.reason === 'MembershipChangeUnsafe')).toBe(true);

    // Stop, change, start: no server with the old list runs while the new one starts.
    await setReplicas(3, true);
    await condition('Degraded', (c) => c.status === 'False', 'Degraded=False once stopped');
    expect(await statefulSetReplicas()).toBe(0);
    await setReplicas(4, true);
    await waitFor('the stopped ensemble to take four servers', async () => (await servers()).length === 4);
    expect(await statefulSetReplicas()).toBe(0);
    await setReplicas(4);
    await waitFor(
      'the StatefulSet to run 4 servers',
      async () => (await statefulSetReplicas()) === 4,
      180_000,
      undefined,
      undefined,
      async () => `${JSON.stringify((await get()).status)}; operator log: ${tail(operator.logFile, 5)}`,
    );
    await condition('Available', (c) => c.status === 'True', 'Available after the start with 4 servers');
  });

  it('refuses to switch the TLS between running servers, and applies it stopped', async () => {
    // A class of this test's own: TLS is on where the named class exists.
    const tlsClass = `${namespace}-quorum`;
    await custom.createClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: 'tlsclasses',
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'TlsClass',
        metadata: { name: tlsClass },
        spec: { keelsonCa: {} },
      },
    });
    try {
      const tls = (enabled: boolean) => ({ enabled, serverTlsClass: tlsClass, internalTlsClass: tlsClass });
      await create('zk-tls', {
        clusterConfig: { tls: tls(false) },
        servers: { roleGroups: { default: { replicas: 3 } } },
      });
      await condition('Available', (c) => c.status === 'True', 'Available without TLS', 'zk-tls');
      const volumes = async () =>
        (
          await apps.readNamespacedStatefulSet({ name: 'zk-tls-servers-default', namespace })
        ).spec!.template.spec!.volumes!.map((v) => v.name);
      expect(await volumes()).not.toContain('tls-internal');

      await patch('zk-tls', { clusterConfig: { tls: tls(true) } });
      const refused = await condition(
        'Degraded',
        (c) => c.reason === 'QuorumTlsChangeUnsafe',
        'Degraded with reason QuorumTlsChangeUnsafe',
        'zk-tls',
      );
      expect(refused.status).toBe('True');
      expect(refused.message).toContain(
        `the TLS between the members of spec.servers changes from off to TlsClass ${tlsClass} while it runs`,
      );
      expect(refused.message).toContain('clusterOperation.stopped: true');
      expect(await volumes()).not.toContain('tls-internal');
      expect(await statefulSetReplicas('zk-tls')).toBe(3);
      const events = (await core.listNamespacedEvent({ namespace })).items;
      expect(events.some((e) => e.reason === 'QuorumTlsChangeUnsafe' && e.type === 'Warning')).toBe(true);

      // Stopped, the switch applies; the start brings every server up speaking TLS.
      await patch('zk-tls', { clusterOperation: { stopped: true } });
      await condition('Degraded', (c) => c.status === 'False', 'Degraded=False once stopped', 'zk-tls');
      await waitFor('the stopped servers to get their TLS', async () =>
        (await volumes()).includes('tls-internal'),
      );
      expect(await statefulSetReplicas('zk-tls')).toBe(0);
      await patch('zk-tls', { clusterOperation: { stopped: false } });
      await waitFor(
        'the StatefulSet to run 3 servers',
        async () => (await statefulSetReplicas('zk-tls')) === 3,
      );
      expect(await volumes()).toContain('tls-internal');
    } finally {
      await custom
        .deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: 'tlsclasses', name: tlsClass })
        .catch(() => undefined);
    }
  });
});
