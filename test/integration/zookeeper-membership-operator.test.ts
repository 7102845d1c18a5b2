/**
 * ZooKeeper's ensemble members under the keelson operator (the package's `keelson` command, on the
 * kwok nodes): a change that could let two majorities elect a leader each while the servers roll
 * (3 → 5 servers in one step) is refused with `Degraded=True`, reason `MembershipChangeUnsafe`, and
 * nothing is applied; one server per change (3 → 4 → 5) is applied, each once the previous one has
 * rolled out. test/integration/day-two-real-node.test.ts proves the one-server steps with real
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
const get = () =>
  custom.getNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    plural,
    namespace,
    name: 'zk',
  }) as Promise<Stacklet>;
const setReplicas = (replicas: number) =>
  custom.patchNamespacedCustomObject(
    {
      group: GROUP,
      version: VERSION,
      plural,
      namespace,
      name: 'zk',
      body: { spec: { servers: { roleGroups: { default: { replicas } } } } },
    },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );

/** Waits until the current generation's condition `type` matches; fails with the status and the operator's log. */
async function condition(
  type: string,
  matches: (c: k8s.V1Condition) => boolean,
  what: string,
): Promise<k8s.V1Condition> {
  let found: k8s.V1Condition | undefined;
  await waitFor(
    `ZookeeperCluster zk: ${what}`,
    async () => {
      const zk = await get();
      found = zk.status?.conditions?.find((c) => c.type === type);
      return found !== undefined && found.observedGeneration === zk.metadata.generation && matches(found);
    },
    180_000,
    undefined,
    undefined,
    async () => `${JSON.stringify((await get()).status)}; operator log: ${tail(operator.logFile, 5)}`,
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
const statefulSetReplicas = async () =>
  (await apps.readNamespacedStatefulSet({ name: 'zk-servers-default', namespace })).spec!.replicas;

describe('ZooKeeper membership changes under the operator', () => {
  it('refuses 3 → 5 servers in one step and applies 3 → 4 → 5', async () => {
    await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural,
      namespace,
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'ZookeeperCluster',
        metadata: { name: 'zk' },
        spec: { servers: { roleGroups: { default: { replicas: 3 } } } },
      },
    });
    await condition('Available', (c) => c.status === 'True', 'Available');
    const three = await servers();
    expect(three).toHaveLength(3);

    await setReplicas(5);
    const refused = await condition(
      'Degraded',
      (c) => c.reason === 'MembershipChangeUnsafe',
      'Degraded with reason MembershipChangeUnsafe',
    );
    expect(refused.status).toBe('True');
    expect(refused.message).toContain('the members of spec.servers change from 3 (zk-servers-default-0');
    expect(refused.message).toContain('split brain');
    expect(await statefulSetReplicas()).toBe(3);
    expect(await servers()).toEqual(three);
    const events = (await core.listNamespacedEvent({ namespace })).items;
    expect(events.some((e) => e.reason === 'MembershipChangeUnsafe')).toBe(true);

    await setReplicas(4);
    await condition('Degraded', (c) => c.status === 'False', 'Degraded=False after 3 → 4');
    expect(await statefulSetReplicas()).toBe(4);
    expect(await servers()).toHaveLength(4);

    // The next server, right away: applied once 3 → 4 has rolled out.
    await setReplicas(5);
    await waitFor(
      'the StatefulSet to run 5 servers',
      async () => (await statefulSetReplicas()) === 5,
      180_000,
      undefined,
      undefined,
      async () => `${JSON.stringify((await get()).status)}; operator log: ${tail(operator.logFile, 5)}`,
    );
    expect(await servers()).toHaveLength(5);
    await condition('Available', (c) => c.status === 'True', 'Available after 4 → 5');
  });
});
