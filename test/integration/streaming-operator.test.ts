/**
 * The ZooKeeper and Kafka stacklets under the operator on the real control plane: the package's
 * `keelson` command runs as a child process with every shipped product, authenticated as the
 * ServiceAccount of the ClusterRole keelson generates. A ZooKeeper-mode Kafka created together with
 * its ZooKeeper and ZNode waits for the ZNode's discovery ConfigMap and then converges; a KRaft
 * Kafka converges on its own; scaling brokers 3 → 5 keeps the first three node ids. An HDFS
 * converges on a ZNode, and an HBase on that HDFS and a ZNode of its own.
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

type Kind = 'ZookeeperCluster' | 'ZookeeperZnode' | 'KafkaCluster' | 'HdfsCluster' | 'HbaseCluster';
const PLURALS: Record<Kind, string> = {
  ZookeeperCluster: 'zookeeperclusters',
  ZookeeperZnode: 'zookeeperznodes',
  KafkaCluster: 'kafkaclusters',
  HdfsCluster: 'hdfsclusters',
  HbaseCluster: 'hbaseclusters',
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

describe('HDFS under the keelson operator', () => {
  it('refuses an HdfsCluster without a ZooKeeper at admission, and converges one on a ZNode', async () => {
    const refusal = await create('HdfsCluster', 'nozk', {}).then(
      () => 'created',
      (e: { code?: number; body?: unknown }) =>
        `${e.code} ${typeof e.body === 'string' ? e.body : JSON.stringify(e.body)}`,
    );
    expect(refusal).toMatch(
      /^422 .*spec\.clusterConfig: Required value: HDFS needs a ZooKeeper for its namenodes/,
    );
    await create('HdfsCluster', 'hdfs', {
      clusterConfig: { zookeeperConfigMapName: 'hdfs-znode' },
      datanodes: { roleGroups: { default: { replicas: 1 } } },
    });
    await create('ZookeeperZnode', 'hdfs-znode', { clusterConfig: { zookeeperConfigMapName: 'hdfs-zk' } });
    await create('ZookeeperCluster', 'hdfs-zk', { servers: { roleGroups: { default: { replicas: 1 } } } });
    await waitForCondition('HdfsCluster', 'hdfs', 'Available', 'True', 150_000);
    expect((await podsOf('hdfs-namenodes-default')).filter(isReady)).toHaveLength(2);
    expect((await podsOf('hdfs-journalnodes-default')).filter(isReady)).toHaveLength(3);
    expect((await podsOf('hdfs-datanodes-default')).filter(isReady)).toHaveLength(1);
    // The same objects as synth mode: the failover lock under the ZNode's path, the client files.
    const znode = (await core.readNamespacedConfigMap({ name: 'hdfs-znode', namespace })).data!;
    const core_ = (await core.readNamespacedConfigMap({ name: 'hdfs-namenodes-default', namespace })).data![
      'core-site.xml'
    ];
    expect(core_).toContain(`<value>${znode.ZOOKEEPER_CHROOT}/hadoop-ha/${namespace}</value>`);
    expect(core_).toContain(`<value>${znode.ZOOKEEPER_HOSTS}</value>`);
    const discovery = (await core.readNamespacedConfigMap({ name: 'hdfs', namespace })).data!;
    expect(discovery.HDFS).toBe('hdfs://hdfs');
    expect(discovery['hdfs-site.xml']).toContain('<name>dfs.ha.namenodes.hdfs</name>');

    // A datanode scale-down: the operator lists the leaving pod in the namenodes' exclude file and
    // keeps the replicas until the active namenode reports it Decommissioned. kwok runs no namenode,
    // so here the scale-down waits, and says why; hdfs-operator-real-node proves the rest.
    const datanodes = (replicas: number) => ({ roleGroups: { default: { replicas } } });
    const stsReplicas = async () =>
      (await apps.readNamespacedStatefulSet({ name: 'hdfs-datanodes-default', namespace })).spec?.replicas;
    const exclude = async () =>
      (await core.readNamespacedConfigMap({ name: 'hdfs-namenodes-default', namespace })).data?.[
        'datanodes.exclude'
      ] ?? '';
    const config = { zookeeperConfigMapName: 'hdfs-znode', dfsReplication: 1 };
    await patchSpec('HdfsCluster', 'hdfs', { clusterConfig: config, datanodes: datanodes(2) });
    await waitFor('two datanodes', async () => (await stsReplicas()) === 2);
    await patchSpec('HdfsCluster', 'hdfs', { datanodes: datanodes(1) });
    await waitFor('the leaving datanode in the namenodes’ exclude file', async () =>
      (await exclude()).startsWith(
        `hdfs-datanodes-default-1.hdfs-datanodes-default-headless.${namespace}.svc.`,
      ),
    );
    const progressing = async () =>
      (await get('HdfsCluster', 'hdfs')).status?.conditions?.find((c) => c.type === 'Progressing');
    await waitFor(
      'Progressing while the scale-down waits',
      async () => (await progressing())?.reason === 'ScaleDownHandingOver',
    );
    expect(await progressing()).toMatchObject({
      status: 'True',
      message: expect.stringMatching(
        /^a scale-down waits until the leaving pods handed their data over: no namenode answers as active, so the decommission of hdfs-datanodes-default-1 cannot be followed \(GET http:\/\/[0-9.]+:9870\/jmx\?qry=Hadoop:service=NameNode,name=NameNodeStatus: /,
      ),
    });
    expect(await stsReplicas()).toBe(2);
    // The user changes their mind: back to two, the datanode is in service again.
    await patchSpec('HdfsCluster', 'hdfs', { datanodes: datanodes(2) });
    await waitFor('an empty exclude file', async () => (await exclude()) === '');
    await waitForCondition('HdfsCluster', 'hdfs', 'Progressing', 'False');
    expect(await stsReplicas()).toBe(2);
    // Both ends of the wait are Normal Events on the HdfsCluster, once each.
    const events = async () =>
      (await core.listNamespacedEvent({ namespace })).items
        .filter((e) => e.involvedObject.kind === 'HdfsCluster' && e.involvedObject.name === 'hdfs')
        .filter((e) => e.reason?.startsWith('ScaleDownHanded') || e.reason === 'ScaleDownHandingOver');
    await waitFor('the hand-over Events', async () => (await events()).length >= 2);
    const seen = await events();
    expect(seen.map((e) => `${e.type} ${e.reason}`).sort()).toEqual([
      'Normal ScaleDownHandedOver',
      'Normal ScaleDownHandingOver',
    ]);
    expect(seen.find((e) => e.reason === 'ScaleDownHandingOver')?.message).toContain(
      'hdfs-datanodes-default-1',
    );
  });

  it('refuses an HbaseCluster without its HDFS and ZooKeeper at admission, and converges one on them', async () => {
    const refusal = await create('HbaseCluster', 'norefs', {
      clusterConfig: { hdfsConfigMapName: 'hdfs' },
    }).then(
      () => 'created',
      (e: { code?: number; body?: unknown }) =>
        `${e.code} ${typeof e.body === 'string' ? e.body : JSON.stringify(e.body)}`,
    );
    expect(refusal).toMatch(
      /^422 .*spec\.clusterConfig: Required value: HBase needs an HDFS and a ZooKeeper/,
    );
    await create('HbaseCluster', 'hbase', {
      clusterConfig: { hdfsConfigMapName: 'hdfs', zookeeperConfigMapName: 'hbase-znode' },
      regionservers: { roleGroups: { default: { replicas: 1 } } },
    });
    await create('ZookeeperZnode', 'hbase-znode', { clusterConfig: { zookeeperConfigMapName: 'hdfs-zk' } });
    await waitForCondition('HbaseCluster', 'hbase', 'Available', 'True', 150_000);
    expect((await podsOf('hbase-masters-default')).filter(isReady)).toHaveLength(2);
    expect((await podsOf('hbase-regionservers-default')).filter(isReady)).toHaveLength(1);
    expect((await podsOf('hbase-restservers-default')).filter(isReady)).toHaveLength(1);
    // The same objects as synth mode: the HDFS' client files, the ZNode as parent znode.
    const hdfs = (await core.readNamespacedConfigMap({ name: 'hdfs', namespace })).data!;
    const znode = (await core.readNamespacedConfigMap({ name: 'hbase-znode', namespace })).data!;
    const data = (await core.readNamespacedConfigMap({ name: 'hbase-regionservers-default', namespace }))
      .data!;
    expect(data['hdfs-site.xml']).toBe(hdfs['hdfs-site.xml']);
    expect(data['hbase-site.xml']).toContain(`<value>hdfs://hdfs/hbase/${namespace}/hbase</value>`);
    expect(data['hbase-site.xml']).toContain(`<value>${znode.ZOOKEEPER_CHROOT}</value>`);
    const sts = await apps.readNamespacedStatefulSet({ name: 'hbase-regionservers-default', namespace });
    expect(sts.spec?.template.spec?.terminationGracePeriodSeconds).toBe(300);
    expect(sts.spec?.template.spec?.containers[0].lifecycle?.preStop?.exec?.command?.[2]).toContain(
      '-o unload',
    );
    const discovery = (await core.readNamespacedConfigMap({ name: 'hbase', namespace })).data!;
    expect(discovery.HBASE_REST).toBe(`http://hbase-restservers.${namespace}.svc.cluster.local:8080`);
  });
});

describe('Kafka brokers reached from outside, under the keelson operator', () => {
  const { custom: customApi } = adminClients();
  const LISTENERS = 'outside-brokers-default-listeners';
  const addresses = async () =>
    (await core.readNamespacedConfigMap({ name: LISTENERS, namespace }).catch(() => undefined))?.data ?? {};
  /** A map as comparable text, whatever the order of its keys. */
  const same = (a: Record<string, unknown>, b: Record<string, unknown>) =>
    JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
  const podService = (ordinal: number) =>
    core.readNamespacedService({ name: `outside-brokers-default-${ordinal}`, namespace });

  afterAll(async () => {
    await customApi
      .deleteClusterCustomObject({
        group: GROUP,
        version: VERSION,
        plural: 'listenerclasses',
        name: 'corp-lb',
      })
      .catch(() => undefined);
  });

  it("writes each broker's node address and nodePort, then follows a change of the brokers' class", async () => {
    await create('KafkaCluster', 'outside', {
      controllers: { roleGroups: { default: { replicas: 1 } } },
      brokers: {
        roleConfig: { listenerClass: 'external-unstable' },
        roleGroups: { default: { replicas: 2 } },
      },
    });
    // Each broker: its own NodePort Service, and an entry naming its node, that node's address and
    // the nodePort the API server allocated.
    const expected = async (): Promise<Record<string, string>> => {
      const entries: Record<string, string> = {};
      for (const ordinal of [0, 1]) {
        const pod = `outside-brokers-default-${ordinal}`;
        const nodeName = (await core.readNamespacedPod({ name: pod, namespace })).spec?.nodeName;
        const service = await podService(ordinal);
        const node = nodeName ? await core.readNode({ name: nodeName }) : undefined;
        const address = (type: string) => node?.status?.addresses?.find((a) => a.type === type)?.address;
        const nodePort = service.spec?.ports?.find((p) => p.name === 'external')?.nodePort;
        if (!nodeName || !nodePort) continue;
        entries[`${pod}.node`] = nodeName;
        entries[`${pod}.host`] = address('ExternalIP') ?? address('InternalIP') ?? '';
        entries[`${pod}.port.external`] = String(nodePort);
      }
      return entries;
    };
    let want: Record<string, string> = {};
    await waitFor(
      `ConfigMap ${LISTENERS} to hold both brokers' node addresses and nodePorts`,
      async () => {
        want = await expected();
        return Object.keys(want).length === 6 && same(await addresses(), want);
      },
      150_000,
      undefined,
      undefined,
      async () =>
        `have ${JSON.stringify(await addresses())}, want ${JSON.stringify(want)}; operator log: ${tail(operator.logFile, 5)}`,
    );
    expect((await podService(0)).spec?.type).toBe('NodePort');
    expect((await podService(0)).spec?.externalTrafficPolicy).toBe('Local');
    expect(Object.values(want).filter((v) => v === '')).toEqual([]);
    const hashOf = async () =>
      (await apps.readNamespacedStatefulSet({ name: 'outside-brokers-default', namespace })).spec?.template
        .metadata?.annotations?.['keelson.dev/config-hash'];
    const hashBefore = await hashOf();

    // A class of the cluster's: the brokers' Services become LoadBalancers, the pods roll (the address
    // they advertise is read at start), and an address appears once the load balancer gives one.
    await customApi.createClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: 'listenerclasses',
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'ListenerClass',
        metadata: { name: 'corp-lb' },
        spec: { serviceType: 'LoadBalancer', serviceAnnotations: { 'lb.example.com/pool': 'outside' } },
      },
    });
    await patchSpec('KafkaCluster', 'outside', { brokers: { roleConfig: { listenerClass: 'corp-lb' } } });
    await waitFor(
      "the brokers' Services to become LoadBalancers of the class",
      async () => {
        const s = await podService(1);
        return (
          s.spec?.type === 'LoadBalancer' && s.metadata?.annotations?.['lb.example.com/pool'] === 'outside'
        );
      },
      60_000,
    );
    // The brokers roll: the address they advertise is read at start.
    await waitFor(
      "the brokers' pod template to change with the class",
      async () => (await hashOf()) !== hashBefore,
      60_000,
    );
    // No load balancer runs here: the test gives broker 0's Service its ingress, as one would.
    const service = await podService(0);
    await core.replaceNamespacedServiceStatus({
      name: service.metadata!.name!,
      namespace,
      body: { ...service, status: { loadBalancer: { ingress: [{ ip: '198.51.100.7' }] } } },
    });
    await waitFor(
      "ConfigMap to hold broker 0's load balancer address, and nothing of broker 1's",
      async () =>
        // The pod rolled with the class, maybe onto another node: the one it runs on now.
        same(await addresses(), {
          'outside-brokers-default-0.node': (
            await core.readNamespacedPod({ name: 'outside-brokers-default-0', namespace })
          ).spec?.nodeName,
          'outside-brokers-default-0.host': '198.51.100.7',
          'outside-brokers-default-0.port.external': '9095',
        }),
      60_000,
      undefined,
      undefined,
      async () => `have ${JSON.stringify(await addresses())}; operator log: ${tail(operator.logFile, 5)}`,
    );
  });
});
