/**
 * HDFS under keelson's operator on the real node. The operator image (`keelson image build
 * operator`) runs as a pod from `keelson deploy`'s manifests in a namespace of its own and reconciles
 * a ZookeeperCluster, a ZookeeperZnode and an HdfsCluster (custom resources) in a second namespace.
 * Both namespaces enforce the restricted Pod Security profile, and the node enforces keelson's
 * NetworkPolicies. Proven, each step a user's patch of the running stacklet:
 * - the HDFS becomes Available in plain HTTP; a file is put;
 * - one patch switches server TLS on, with Pod Certificates the operator signs for a `keelsonCa`
 *   TlsClass of the test's own: every StatefulSet rolls, every pod has its Pod Certificate of the
 *   class, the namenodes' `hdfs-site.xml` says HTTPS_ONLY, the HDFS is Available again with both
 *   datanodes live, and the file reads back (it prints how long the switch took);
 * - rack awareness by the node's hostname label: the operator writes the datanodes' racks by pod
 *   IP, and the namenodes place both datanodes on that rack;
 * - one patch lowers the datanodes from two to one. A file has its only copy on the leaving datanode
 *   (written from its pod). The operator lists the pod in the namenodes' exclude file and reports
 *   `Progressing` (`ScaleDownHandingOver`) with the StatefulSet still at two pods. It follows the
 *   decommission in the active namenode's JMX — over HTTPS, the certificate checked against the
 *   class's CAs and the namenode pod's DNS name — which its NetworkPolicy rule lets it reach from its
 *   own namespace (its message quotes the namenode's report), and lowers the replicas only once the
 *   namenode reports the pod Decommissioned:
 *   `fsck /` is HEALTHY with no under-replicated or missing block, and the file reads back byte for
 *   byte. The exclude file keeps the gone pod;
 * - one patch brings the datanodes back to two: the exclude file is empty again, and the returning
 *   datanode is live and in service.
 * It prints how long the operator held the scale-down. A failure prints the operator's and the pods'
 * logs.
 */
import { hdfsImageRecipe } from '../../constructs/hdfs/image';
import { zookeeperImageRecipe } from '../../constructs/zookeeper/image';
import { useOperatorPod } from './operator-pod-support';
import {
  buildImageOnRealNode,
  execInPod,
  FIRST_TIER_JIT,
  realNode,
  REAL_NODE_PLACEMENT,
  statefulSetRolledOut,
} from './real-node-support';
import { decommissionStatus, expectHealthyFsck, writeFromDatanode } from './hdfs-support';
import { adminClients, uniqueName, waitFor } from './support';

jest.setTimeout(40 * 60_000);

const VERSION = '3.4.2';
const ZOOKEEPER_VERSION = '3.9.4';
const NAMENODES = ['hdfs-namenodes-default-0', 'hdfs-namenodes-default-1'];
const DATANODES = ['hdfs-datanodes-default-0', 'hdfs-datanodes-default-1'];
/** The datanode the scale-down removes: the highest ordinal. */
const LEAVING = DATANODES[1];

describe(`HDFS ${VERSION} under the operator on the real node`, () => {
  const op = useOperatorPod('hdfs-op', 'keelson-hdfs-operator');
  const data = op.data;
  const { core } = adminClients();
  /** The TlsClass whose Pod Certificates the HDFS serves HTTPS with (the operator signs them). */
  const tlsClass = uniqueName('hdfs-op-tls');
  const withLogs = op.withLogs;
  const create = op.create;
  const patchHdfs = (spec: object) => op.patchSpec('HdfsCluster', 'hdfs', spec);
  const condition = (type: string) => op.condition('HdfsCluster', 'hdfs', type);
  const exclude = async () =>
    (await core.readNamespacedConfigMap({ name: 'hdfs-namenodes-default', namespace: data.name })).data?.[
      'datanodes.exclude'
    ] ?? '';
  const datanodeReplicas = async () =>
    (
      await adminClients().apps.readNamespacedStatefulSet({
        name: 'hdfs-datanodes-default',
        namespace: data.name,
      })
    ).spec?.replicas;
  const podIp = async (name: string) =>
    (await core.readNamespacedPod({ name, namespace: data.name })).status!.podIP!;
  /** An HDFS admin command in a namenode pod (its own config), stderr dropped. */
  const admin = (script: string) =>
    execInPod(data.name, NAMENODES[0], `export HADOOP_CLIENT_OPTS=-Xmx96m; ${script} 2>/dev/null`);

  const role = (memory: string, replicas: number) => ({
    ...FIRST_TIER_JIT,
    config: { resources: { memory: { limit: memory }, cpu: { min: '100m', max: '1' } } },
    podOverrides: { spec: REAL_NODE_PLACEMENT },
    roleGroups: { default: { replicas } },
  });

  it('places datanodes on their node’s rack, decommissions before a scale-down, and takes a datanode back', async () => {
    const node = await realNode();
    await op.start();
    await buildImageOnRealNode(zookeeperImageRecipe(ZOOKEEPER_VERSION));
    await buildImageOnRealNode(hdfsImageRecipe(VERSION));
    await op.createClusterScoped('TlsClass', tlsClass, { keelsonCa: { certificateLifetime: '24h' } });

    const applied = Date.now();
    await create('ZookeeperCluster', 'zk', {
      image: { productVersion: ZOOKEEPER_VERSION, pullPolicy: 'Never' },
      servers: role('384Mi', 1),
    });
    await create('ZookeeperZnode', 'hdfs-znode', { clusterConfig: { zookeeperConfigMapName: 'zk' } });
    const hostname = node.nodeName;
    await create('HdfsCluster', 'hdfs', {
      image: { productVersion: VERSION, pullPolicy: 'Never' },
      // One copy of each block: the scale-down must move the leaving datanode's blocks.
      clusterConfig: {
        zookeeperConfigMapName: 'hdfs-znode',
        dfsReplication: 1,
        rackAwareness: { nodeLabels: ['kubernetes.io/hostname'] },
        // Plain HTTP first: the test switches TLS on below.
        tls: { enabled: false },
      },
      namenodes: role('640Mi', 2),
      journalnodes: role('320Mi', 1),
      // Room for a client JVM beside the datanode (the test writes from the leaving datanode's pod).
      datanodes: role('640Mi', 2),
    });
    await withLogs(() =>
      waitFor(
        'the HdfsCluster to be Available',
        async () => (await condition('Available'))?.status === 'True',
        15 * 60_000,
      ),
    );
    const available = Date.now();
    const before = 'written before TLS';
    await admin(`echo '${before}' | hdfs dfs -put - /before-tls.txt`);

    // One patch: server TLS on, with the Pod Certificates of the class the operator signs.
    const switched = Date.now();
    await patchHdfs({ clusterConfig: { tls: { enabled: true, serverTlsClass: tlsClass } } });
    const https = async () => {
      const site = (
        await core.readNamespacedConfigMap({ name: 'hdfs-namenodes-default', namespace: data.name })
      ).data!['hdfs-site.xml'];
      return /<name>dfs\.http\.policy<\/name>\s*<value>HTTPS_ONLY<\/value>/.test(site);
    };
    await withLogs(() => waitFor("the namenodes' config to say HTTPS_ONLY", https, 5 * 60_000));
    for (const [set, replicas] of [
      ['hdfs-journalnodes-default', 1],
      ['hdfs-namenodes-default', 2],
      ['hdfs-datanodes-default', 2],
    ] as const)
      await withLogs(() => statefulSetRolledOut(data.name, set, replicas));
    for (const pod of [...NAMENODES, ...DATANODES, 'hdfs-journalnodes-default-0']) {
      const volumes = (await core.readNamespacedPod({ name: pod, namespace: data.name })).spec!.volumes ?? [];
      const signers = volumes
        .flatMap((v) => v.projected?.sources ?? [])
        .map((s) => s.podCertificate?.signerName);
      expect(signers).toContain(`keelson.dev/${tlsClass}`);
    }
    let reported = '';
    await withLogs(() =>
      waitFor(
        'the HDFS Available over HTTPS with both datanodes live',
        async () => {
          if ((await condition('Available'))?.status !== 'True') return false;
          reported = await admin('hdfs dfsadmin -report -live').catch(() => '');
          return /Live datanodes \(2\)/.test(reported);
        },
        10 * 60_000,
        undefined,
        undefined,
        async () => reported,
      ),
    );
    const tlsOn = Date.now();
    expect((await admin('hdfs dfs -cat /before-tls.txt')).trim()).toBe(before);

    // Rack awareness: the operator's table holds each datanode's IP with its node's hostname label,
    // and the namenodes place both datanodes there.
    const rack = `/${(await core.readNode({ name: hostname })).metadata!.labels!['kubernetes.io/hostname']}`;
    const ips = await Promise.all(DATANODES.map(podIp));
    let printed = '';
    await withLogs(() =>
      waitFor(
        `the namenodes to place both datanodes on ${rack}`,
        async () => {
          printed = await admin('hdfs dfsadmin -printTopology').catch(() => '');
          return ips.every((ip) =>
            new RegExp(`Rack: ${rack}\\n(?:\\s+\\S+.*\\n)*?\\s+${ip.replace(/\./g, '\\.')}:`).test(printed),
          );
        },
        5 * 60_000,
        undefined,
        undefined,
        async () => printed,
      ),
    );
    expect(printed).not.toContain('/default-rack');
    const table = (
      await core.readNamespacedConfigMap({ name: 'hdfs-namenodes-default', namespace: data.name })
    ).data!['datanodes.topology'];
    for (const ip of ips) expect(table.split('\n')).toContain(`${ip} ${rack}`);

    // A file whose one copy is on the leaving datanode: HDFS puts the first copy on the writer's own.
    const sum = await writeFromDatanode(data.name, LEAVING, '/leaving.bin');
    expect(sum).toBeDefined();
    const [stayingIp, leavingIp] = ips;
    expect(await admin('hdfs fsck /leaving.bin -files -blocks -locations')).toContain(`[${leavingIp}:`);

    // One patch: two datanodes to one. The operator holds the StatefulSet at two while it waits.
    const patched = Date.now();
    await patchHdfs({ datanodes: role('640Mi', 1) });
    let held: { message: string; replicas?: number; exclude: string } | undefined;
    const heldMessages = new Set<string>();
    await withLogs(() =>
      waitFor(
        'the datanodes to be one, after the operator held them for the decommission',
        async () => {
          const progressing = await condition('Progressing');
          const replicas = await datanodeReplicas();
          if (progressing?.reason === 'ScaleDownHandingOver') {
            heldMessages.add(progressing.message);
            held ??= { message: progressing.message, replicas, exclude: await exclude() };
          }
          return replicas === 1;
        },
        10 * 60_000,
        undefined,
        undefined,
        async () => JSON.stringify({ held, progressing: await condition('Progressing') }),
      ),
    );
    const lowered = Date.now();
    // The operator read the active namenode's report over HTTPS: its message quotes the leaving
    // datanode's state there (a failed read says that no namenode answers as active).
    expect(
      [...heldMessages].some((m) => new RegExp(`${LEAVING} is [A-Za-z ]+ at the active namenode`).test(m)),
    ).toBe(true);
    expect(held).toBeDefined();
    expect(held!.replicas).toBe(2);
    expect(held!.message).toMatch(/^a scale-down waits until the leaving pods handed their data over: /);
    expect(held!.message).toContain(LEAVING);
    expect(held!.exclude).toMatch(
      new RegExp(`^${LEAVING}\\.hdfs-datanodes-default-headless\\.${data.name}\\.svc\\.`),
    );
    await withLogs(() => statefulSetRolledOut(data.name, 'hdfs-datanodes-default', 1));
    // The namenodes report the gone datanode decommissioned, and its block lives on the other one.
    const report = await admin('hdfs dfsadmin -report');
    expect(report).toMatch(decommissionStatus(leavingIp, 'Decommissioned'));
    expect(await admin('hdfs fsck /leaving.bin -files -blocks -locations')).toContain(`[${stayingIp}:`);
    expectHealthyFsck(await admin('hdfs fsck /'));
    expect((await admin('hdfs dfs -cat /leaving.bin | md5sum')).match(/^[0-9a-f]{32}\b/m)?.[0]).toBe(sum);
    // The gone pod stays excluded: the namenodes count it decommissioned, not as a lost datanode.
    expect(await exclude()).toBe(held!.exclude);
    await withLogs(() =>
      waitFor(
        'Progressing to end',
        async () => (await condition('Progressing'))?.status === 'False',
        5 * 60_000,
      ),
    );

    // One patch back to two: the pod returns on its volume, and in service.
    const grown = Date.now();
    await patchHdfs({ datanodes: role('640Mi', 2) });
    await withLogs(() => waitFor('an empty exclude file', async () => (await exclude()) === '', 5 * 60_000));
    await withLogs(() => statefulSetRolledOut(data.name, 'hdfs-datanodes-default', 2));
    const returnedIp = await podIp(LEAVING);
    let live = '';
    await withLogs(() =>
      waitFor(
        `${LEAVING} live and in service`,
        async () => {
          live = await admin('hdfs dfsadmin -report -live').catch(() => '');
          return decommissionStatus(returnedIp, 'Normal').test(live);
        },
        5 * 60_000,
        undefined,
        undefined,
        async () => live,
      ),
    );
    expect(live).toMatch(/Live datanodes \(2\)/);
    const back = Date.now();

    process.stdout.write(
      `hdfs under the operator: Available ${((available - applied) / 1000).toFixed(1)} s after the resources, ` +
        `Available over HTTPS with both datanodes live ${((tlsOn - switched) / 1000).toFixed(1)} s after the TLS patch, ` +
        `replicas lowered ${((lowered - patched) / 1000).toFixed(1)} s after the scale-down patch ` +
        `(held while the namenodes decommissioned ${LEAVING}), the datanode back in service ` +
        `${((back - grown) / 1000).toFixed(1)} s after the patch back to two\n`,
    );
  });
});
