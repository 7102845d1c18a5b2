/**
 * The ZooKeeper and Kafka stacklets under the operator on the real control plane: the package's
 * `keelson` command runs as a child process with every shipped product, authenticated as the
 * ServiceAccount of the ClusterRole keelson generates. A ZooKeeper-mode Kafka created together with
 * its ZooKeeper and ZNode waits for the ZNode's discovery ConfigMap and then converges; a KRaft
 * Kafka converges on its own; scaling brokers 3 → 5 keeps the first three node ids.
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

const { kc, core, apps, custom } = adminClients();

let namespace = '';
let operator: OperatorProcess;

beforeAll(async () => {
  ({ namespace, operator } = await startOperatorInNamespace('streaming-operator', PRODUCTS, KEELSON_BIN));
});

afterAll(() => stopOperatorInNamespace({ namespace, operator }));

type Kind = 'ZookeeperCluster' | 'ZookeeperZnode' | 'KafkaCluster';
const PLURALS: Record<Kind, string> = {
  ZookeeperCluster: 'zookeeperclusters',
  ZookeeperZnode: 'zookeeperznodes',
  KafkaCluster: 'kafkaclusters',
};
type Stacklet = {
  metadata: k8s.V1ObjectMeta;
  spec?: Record<string, unknown>;
  status?: { conditions?: k8s.V1Condition[] };
};

const create = (kind: Kind, name: string, spec: Record<string, unknown>) =>
  custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    plural: PLURALS[kind],
    namespace,
    body: { apiVersion: `${GROUP}/${VERSION}`, kind, metadata: { name }, spec },
  }) as Promise<Stacklet>;

const get = (kind: Kind, name: string) =>
  custom.getNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    plural: PLURALS[kind],
    namespace,
    name,
  }) as Promise<Stacklet>;

const patchSpec = (kind: Kind, name: string, spec: Record<string, unknown>) =>
  custom.patchNamespacedCustomObject(
    { group: GROUP, version: VERSION, plural: PLURALS[kind], namespace, name, body: { spec } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );

/** Waits until condition `type` of a stacklet has `status`; fails with its status and the operator's log. */
async function waitForCondition(
  kind: Kind,
  name: string,
  type: string,
  status: 'True' | 'False',
  timeoutMs = 120_000,
): Promise<void> {
  await waitFor(
    `${kind} ${namespace}/${name} condition ${type}=${status}`,
    async () =>
      (await get(kind, name)).status?.conditions?.some((c) => c.type === type && c.status === status) ??
      false,
    timeoutMs,
    undefined,
    undefined,
    async () =>
      `${JSON.stringify((await get(kind, name)).status ?? 'no status')}; operator log: ${tail(operator.logFile, 5)}`,
  );
}

/** The objects keelson made for the stacklet `instance` (by its instance label). */
async function childrenOf(instance: string): Promise<k8s.KubernetesObject[]> {
  const selector = { namespace, labelSelector: `app.kubernetes.io/instance=${instance}` };
  return [
    ...(await core.listNamespacedConfigMap(selector)).items,
    ...(await core.listNamespacedService(selector)).items,
    ...(await apps.listNamespacedStatefulSet(selector)).items,
  ];
}

/** A generated `.properties` file of a role group's ConfigMap, key by key. */
async function properties(configMap: string, file: string): Promise<Record<string, string>> {
  const text = (await core.readNamespacedConfigMap({ name: configMap, namespace })).data?.[file] ?? '';
  return Object.fromEntries(
    text
      .trim()
      .split('\n')
      .filter((l) => l.includes('=') && !l.startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

/**
 * The node id of a Kafka pod as the product derives it: the start script computes
 * `node_id=$(( ${POD_NAME##*-} + <role group offset> ))`, i.e. the pod's ordinal plus the offset
 * written into the pod's own command.
 */
function nodeId(pod: k8s.V1Pod): number {
  const script = pod.spec?.containers[0]?.command?.join(' ') ?? '';
  const m = /node_id=\$\(\( \$\{POD_NAME##\*-\} \+ (\d+) \)\)/.exec(script);
  if (!m) throw new Error(`pod ${pod.metadata?.name} has no node id in its start script: ${script}`);
  return Number(/-(\d+)$/.exec(pod.metadata!.name!)![1]) + Number(m[1]);
}

const isReady = (pod: k8s.V1Pod) =>
  pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** The pods of a role group's StatefulSet, by name. */
async function podsOf(statefulSet: string): Promise<k8s.V1Pod[]> {
  const pods = await core.listNamespacedPod({ namespace });
  return pods.items
    .filter((p) =>
      p.metadata?.ownerReferences?.some((o) => o.kind === 'StatefulSet' && o.name === statefulSet),
    )
    .sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!, 'en', { numeric: true }));
}

describe('ZooKeeper and Kafka under the keelson operator', () => {
  it('converges a ZooKeeper-mode Kafka created together with its ZooKeeper and ZNode, once the ZNode is published', async () => {
    // Record every status the Kafka gets: the wait may be short, a watch sees each write.
    const seen: k8s.V1Condition[][] = [];
    const watch = await new k8s.Watch(kc).watch(
      `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURALS.KafkaCluster}`,
      { fieldSelector: 'metadata.name=legacy' },
      (_phase, object: Stacklet) => {
        if (object.status?.conditions) seen.push(object.status.conditions);
      },
      () => undefined,
    );
    try {
      // In one go, consumer first: the Kafka names the ZNode's discovery ConfigMap, the ZNode the
      // ZooKeeper's.
      await create('KafkaCluster', 'legacy', {
        image: { productVersion: '3.9.1' },
        clusterConfig: { zookeeperConfigMapName: 'legacy-znode' },
        brokers: { roleGroups: { default: { replicas: 3 } } },
      });
      await create('ZookeeperZnode', 'legacy-znode', { clusterConfig: { zookeeperConfigMapName: 'zk' } });
      await create('ZookeeperCluster', 'zk', { servers: { roleGroups: { default: { replicas: 3 } } } });

      await waitForCondition('ZookeeperCluster', 'zk', 'Available', 'True');
      await waitForCondition('ZookeeperZnode', 'legacy-znode', 'Available', 'True');
      await waitForCondition('KafkaCluster', 'legacy', 'Available', 'True', 150_000);
    } finally {
      watch.abort();
    }

    // The Kafka waited, naming the ConfigMap it was missing.
    const waiting = seen
      .map((conditions) => conditions.find((c) => c.type === 'Available'))
      .find((c) => c?.reason === 'DependencyMissing');
    expect(waiting).toMatchObject({ status: 'False' });
    expect(waiting?.message).toContain(
      'ConfigMap "legacy-znode" (named by spec.clusterConfig.zookeeperConfigMapName)',
    );
    // …and made nothing before the ConfigMap existed (timestamps are whole seconds: not earlier).
    const published = await core.readNamespacedConfigMap({ name: 'legacy-znode', namespace });
    const children = await childrenOf('legacy');
    expect(children.length).toBeGreaterThan(0);
    for (const child of children)
      expect(new Date(child.metadata!.creationTimestamp!).getTime()).toBeGreaterThanOrEqual(
        new Date(published.metadata!.creationTimestamp!).getTime(),
      );

    // The brokers connect to the ZNode's chroot in the ensemble.
    const znode = published.data!;
    expect(znode.ZOOKEEPER_CHROOT).toMatch(/^\/znode-[0-9a-f]{16}$/);
    expect(znode.ZOOKEEPER).toBe(`${znode.ZOOKEEPER_HOSTS}${znode.ZOOKEEPER_CHROOT}`);
    const broker = await properties('legacy-brokers-default', 'broker.properties');
    expect(broker['zookeeper.connect']).toBe(znode.ZOOKEEPER);
    expect(broker['broker.id']).toBe('__NODE_ID__');
    expect(broker['controller.quorum.voters']).toBeUndefined();
    expect((await podsOf('legacy-brokers-default')).filter(isReady)).toHaveLength(3);
    await expect(
      apps.readNamespacedStatefulSet({ name: 'legacy-controllers-default', namespace }),
    ).rejects.toMatchObject({
      code: 404,
    });
  });

  it('converges a KRaft Kafka on its own', async () => {
    await create('KafkaCluster', 'kraft', {
      controllers: { roleGroups: { default: { replicas: 3 } } },
      brokers: { roleGroups: { default: { replicas: 3 } } },
    });
    await waitForCondition('KafkaCluster', 'kraft', 'Available', 'True', 150_000);
    expect((await podsOf('kraft-controllers-default')).filter(isReady)).toHaveLength(3);
    expect((await podsOf('kraft-brokers-default')).filter(isReady)).toHaveLength(3);
    const broker = await properties('kraft-brokers-default', 'broker.properties');
    expect(broker['process.roles']).toBe('broker');
    expect(broker['controller.quorum.voters'].split(',')).toHaveLength(3);
  });

  it('keeps the node ids of the first three brokers when scaling 3 → 5, and brings up the new ones', async () => {
    await waitForCondition('KafkaCluster', 'kraft', 'Available', 'True', 150_000);
    const before = await podsOf('kraft-brokers-default');
    expect(before.map((p) => p.metadata!.name)).toEqual([
      'kraft-brokers-default-0',
      'kraft-brokers-default-1',
      'kraft-brokers-default-2',
    ]);
    const ids = before.map(nodeId);
    const controllerIds = (await podsOf('kraft-controllers-default')).map(nodeId);
    expect(new Set([...ids, ...controllerIds]).size).toBe(6);

    await patchSpec('KafkaCluster', 'kraft', { brokers: { roleGroups: { default: { replicas: 5 } } } });
    await waitFor(
      'StatefulSet kraft-brokers-default to have 5 Ready pods',
      async () => (await podsOf('kraft-brokers-default')).filter(isReady).length === 5,
      150_000,
      undefined,
      undefined,
      async () =>
        (await podsOf('kraft-brokers-default'))
          .map((p) => `${p.metadata!.name} ready=${isReady(p)}`)
          .join(', '),
    );
    await waitForCondition('KafkaCluster', 'kraft', 'Available', 'True');

    const after = await podsOf('kraft-brokers-default');
    const afterIds = after.map(nodeId);
    // The first three keep their ids (and are the same pods: the scale rolled none), the new two
    // take the next ids of the group, clashing with no controller.
    expect(afterIds.slice(0, 3)).toEqual(ids);
    expect(after.slice(0, 3).map((p) => p.metadata!.uid)).toEqual(before.map((p) => p.metadata!.uid));
    expect(afterIds.slice(3)).toEqual([ids[2] + 1, ids[2] + 2]);
    expect(new Set([...afterIds, ...controllerIds]).size).toBe(8);
    // The id comes from the StatefulSet's pod template, the same for old and new pods.
    const sts = await apps.readNamespacedStatefulSet({ name: 'kraft-brokers-default', namespace });
    expect(sts.spec?.template.spec?.containers[0].command).toEqual(before[0].spec?.containers[0].command);
  });
});
