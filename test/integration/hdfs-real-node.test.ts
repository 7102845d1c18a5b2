/**
 * HDFS from keelson's manifests on the real node (real containers of keelson's Hadoop image, built
 * here from Hadoop's jars and imported into the node's containerd), with its ZooKeeper, in a
 * namespace enforcing the restricted Pod Security profile:
 * - two namenodes (each with its failover controller), a journalnode and a datanode become Ready:
 *   the first namenode formatted the file system, the second bootstrapped from it, one is active;
 * - the namenode and its failover controller write keelson's structured log files (Log4j 2);
 * - a Prometheus scrapes every pod through keelson's scrape job: keelson's rules load and count one
 *   active namenode, every metric the rules and dashboard read has data;
 * - where keelson's log agent is built, each pod's agent ships its main container's records;
 * - a client pod, configured only by the HDFS discovery ConfigMap's core-site.xml and hdfs-site.xml,
 *   writes a file with `hdfs dfs -put` and reads it back;
 * - while a second client writes and reads files in a loop, the active namenode's pod is deleted:
 *   the standby becomes active, and every one of the client's operations succeeds — also those
 *   after the deletion — without any change to its config;
 * - the deleted namenode's pod comes back on its volume without formatting again, as the standby;
 * - the datanodes scale from two to one in synth mode's two steps: a file whose one copy is on the
 *   leaving datanode (written from its pod), then that datanode in `decommissionDatanodes` — the
 *   namenodes read the exclude file without a restart and report it Decommissioned, its block now
 *   on the other datanode — then one replica fewer: `fsck /` is HEALTHY with no under-replicated or
 *   missing block, and the file reads back byte for byte.
 * Server TLS is on from the start (a TlsClass of the test's own; each role group's certificate is a
 * Secret the test signs, in place of the pod certificates keelson's operator would sign, naming the
 * pods and the node's addresses): the web ports speak HTTPS only, so the standby's bootstrap, its
 * edit tailing from the journalnode, `fsck` and WebHDFS above all go over HTTPS; a client trusting
 * the class's CA gets a verified handshake for each role's pod name and the active namenode's JMX,
 * and plain HTTP on the namenode's port gets no HTTP answer.
 * One journalnode (the default is three) keeps the 2-core machine's load down; failover does not
 * depend on their number. Each failure prints the pods' logs.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Chart, Testing } from 'cdk8s';
import { HDFS, HdfsCluster, type HdfsSpec } from '../../constructs/hdfs';
import { runOnHost } from './kafka-client-support';
import { hdfsImageRecipe } from '../../constructs/hdfs/image';
import { ZookeeperCluster, ZookeeperZnode } from '../../constructs/zookeeper';
import { zookeeperImageRecipe } from '../../constructs/zookeeper/image';
import { KubeClient } from '../../lib/operator/client';
import { TestPki } from './test-pki';
import { applyAll, RESTRICTED, type Manifest } from './admission';
import {
  buildImageOnRealNode,
  execInPod,
  operatorBuildOnRealNode,
  podsLogs,
  realNode,
  REAL_NODE_PLACEMENT,
  runClientPod,
  waitPodsReady,
} from './real-node-support';
import type { OtlpReceiver } from '../support/otlp-receiver';
import {
  expectRecordsShipped,
  explainSkippedShipping,
  logAgentUsage,
  observedClusterConfig,
  SHIP_LOGS,
  startLogShipping,
} from './log-shipping';
import {
  applyUntilDatanodeListens,
  createHdfsTestCertificates,
  decommissionStatus,
  HDFS_TEST_TLS_CLASS,
  hdfsTestTlsVolumes,
  expectHealthyFsck,
  hdfsMonitoringCheck,
  writeFromDatanode,
} from './hdfs-support';
import { startPrometheus } from './prometheus-support';
import { expectSharedRecordShape, readStructuredLog } from './structured-logs';
import { adminClients, adminKubeConfig, useTestNamespace, waitFor } from './support';

jest.setTimeout(40 * 60_000);

const VERSION = '3.4.2';
const ZOOKEEPER_VERSION = '3.9.4';
const NAMENODES = ['hdfs-namenodes-default-0', 'hdfs-namenodes-default-1'];
const DATANODES = ['hdfs-datanodes-default-0', 'hdfs-datanodes-default-1'];
/** The datanode the scale-down removes: the highest ordinal. */
const LEAVING = DATANODES[1];
const OTHERS = ['zk-servers-default-0', 'hdfs-journalnodes-default-0', ...DATANODES];
const ALL = [...NAMENODES, ...OTHERS];
/** Each role's pods, named in its certificate. */
const TLS_ROLES = {
  namenodes: NAMENODES,
  journalnodes: ['hdfs-journalnodes-default-0'],
  datanodes: DATANODES,
} as const;

explainSkippedShipping('hdfs-real-node');
/** The test aggregator every HDFS pod's log agent ships to, and its discovery ConfigMap's data. */
let aggregator: OtlpReceiver | undefined;
let dependencies: Record<string, Record<string, string>> = {};
afterAll(async () => {
  await aggregator?.close();
});

describe(`HDFS ${VERSION} on the real node`, () => {
  const ns = useTestNamespace('hdfs-real', RESTRICTED);
  const { core } = adminClients();
  const client = new KubeClient(adminKubeConfig());
  const pki = new TestPki('keelson hdfs test CA');
  afterAll(() => pki.remove());

  interface Step {
    decommission?: string[];
    datanodes?: number;
    /** The namenodes' and datanodes' ListenerClass. */
    listenerClass?: string;
  }
  const small = (memory: string) => ({
    resources: { memory: { limit: memory }, cpu: { min: '100m', max: '1' } },
  });

  /** The HdfsCluster's spec at `step` (its ZooKeeper named by the ZNode's discovery ConfigMap). */
  function hdfsSpec(step: Step): HdfsSpec {
    const role = (
      memory: string,
      replicas: number,
      name: keyof typeof TLS_ROLES,
      listenerClass?: string,
    ) => ({
      config: small(memory),
      // The test's certificate in place of the pod certificate keelson's operator would sign.
      podOverrides: {
        spec: {
          ...REAL_NODE_PLACEMENT,
          volumes: hdfsTestTlsVolumes(name),
        },
      },
      roleGroups: { default: { replicas } },
      ...(listenerClass ? { roleConfig: { listenerClass } } : {}),
    });
    return {
      image: { productVersion: VERSION, pullPolicy: 'Never' },
      // One copy of each block: the scale-down from two datanodes to one must move the leaving
      // datanode's blocks, and the one left can hold all of them.
      clusterConfig: {
        ...observedClusterConfig(),
        zookeeperConfigMapName: 'hdfs-znode',
        dfsReplication: 1,
        tls: { serverTlsClass: HDFS_TEST_TLS_CLASS },
        ...(step.decommission ? { decommissionDatanodes: step.decommission } : {}),
      },
      namenodes: role('640Mi', 2, 'namenodes', step.listenerClass),
      journalnodes: role('320Mi', 1, 'journalnodes'),
      // Room for a client JVM beside the datanode (the test writes from the leaving datanode's pod).
      datanodes: role('640Mi', step.datanodes ?? DATANODES.length, 'datanodes', step.listenerClass),
    };
  }

  /** The HDFS' objects as the keelson operator builds them (operatorBuildOnRealNode). */
  async function operatorBuild(step: Step): Promise<Manifest[]> {
    const znode = (await core.readNamespacedConfigMap({ name: 'hdfs-znode', namespace: ns.name })).data!;
    return operatorBuildOnRealNode(
      HDFS,
      { kind: 'HdfsCluster', name: 'hdfs', namespace: ns.name, spec: hdfsSpec(step) },
      { ...dependencies, 'hdfs-znode': znode },
      { tlsClasses: [{ name: HDFS_TEST_TLS_CLASS }] },
    );
  }

  /** The manifests; `decommission` and `datanodes` are the scale-down's two steps. */
  function manifests(step: Step = {}): Manifest[] {
    const chart = new Chart(Testing.app(), 'platform', { namespace: ns.name });
    const zk = new ZookeeperCluster(chart, 'zk', {
      image: { productVersion: ZOOKEEPER_VERSION, pullPolicy: 'Never' },
      servers: {
        config: small('384Mi'),
        podOverrides: { spec: REAL_NODE_PLACEMENT },
        roleGroups: { default: { replicas: 1 } },
      },
    });
    const znode = new ZookeeperZnode(chart, 'hdfs-znode', { zookeeper: zk });
    new HdfsCluster(
      chart,
      'hdfs',
      { ...hdfsSpec(step), zookeeper: znode },
      // The class exists as far as the build is concerned; the certificates are the test's.
      { dependencies, tlsClasses: [{ name: HDFS_TEST_TLS_CLASS }] },
    );
    return Testing.synth(chart) as Manifest[];
  }

  /** A client pod of keelson's Hadoop image whose only config is the HDFS discovery ConfigMap. */
  const hdfsClient = (name: string, script: string, trust = false) =>
    runClientPod(
      ns.name,
      {
        name,
        image: hdfsImageRecipe(VERSION).reference,
        command: ['/bin/bash', '-c', script],
        labels: { 'app.kubernetes.io/name': 'hdfs', 'app.kubernetes.io/instance': 'hdfs' },
        env: [
          { name: 'HADOOP_CONF_DIR', value: '/etc/hdfs-client' },
          { name: 'HADOOP_USER_NAME', value: 'keelson' },
          { name: 'HADOOP_CLIENT_OPTS', value: '-Xmx128m -XX:TieredStopAtLevel=1 -Dhadoop.root.logger=WARN' },
        ],
        volumes: [
          {
            volume: {
              name: 'hdfs-client',
              configMap: {
                name: 'hdfs',
                items: [
                  { key: 'core-site.xml', path: 'core-site.xml' },
                  { key: 'hdfs-site.xml', path: 'hdfs-site.xml' },
                ],
              },
            },
            mountPath: '/etc/hdfs-client',
          },
          ...(trust
            ? [{ volume: { name: 'trust', secret: { secretName: 'hdfs-trust' } }, mountPath: '/trust' }]
            : []),
        ],
      },
      () => podsLogs(ns.name, ALL),
      20 * 60_000,
    );

  /** `hdfs haadmin -getAllServiceState` run in a namenode pod: each namenode's id and state. */
  async function serviceStates(pod: string): Promise<Record<string, string>> {
    const out = await execInPod(
      ns.name,
      pod,
      'HADOOP_CLIENT_OPTS=-Xmx96m hdfs haadmin -getAllServiceState 2>/dev/null',
    );
    const states: Record<string, string> = {};
    for (const m of out.matchAll(/^(hdfs-namenodes-default-\d)\.\S+\s+(active|standby|observer)/gm))
      states[m[1]] = m[2];
    return states;
  }

  it('formats once, serves a client through its discovery config, and fails over when the active namenode goes', async () => {
    await realNode();
    const started = Date.now();
    await buildImageOnRealNode(zookeeperImageRecipe(ZOOKEEPER_VERSION));
    await buildImageOnRealNode(hdfsImageRecipe(VERSION));
    if (SHIP_LOGS) ({ aggregator, dependencies } = await startLogShipping(ns.name));
    const imported = Date.now();
    // Each role group's certificate (its pods' DNS names, and the node's addresses, at which the
    // external step reaches the namenodes and the datanode), and the CA for the test's clients.
    const nodeAddresses = (await core.readNode({ name: (await realNode()).nodeName }))
      .status!.addresses!.filter((a) => /^[0-9.]+$/.test(a.address))
      .map((a) => a.address);
    await createHdfsTestCertificates(ns.name, pki, TLS_ROLES, nodeAddresses);
    await core.createNamespacedSecret({
      namespace: ns.name,
      body: { metadata: { name: 'hdfs-trust' }, stringData: { 'ca.crt': pki.caPem } },
    });
    // The PrometheusRule's groups go to the test Prometheus' rule file (no prometheus-operator here).
    const objects = manifests();
    const rule = objects.find((o) => o.kind === 'PrometheusRule') as unknown as {
      spec: { groups: unknown[] };
    };
    expect(
      await applyAll(
        client,
        objects.filter((o) => o.kind !== 'PrometheusRule'),
        ns.name,
      ),
    ).toEqual([]);
    await waitPodsReady(ns.name, ALL, 15 * 60_000);
    const ready = Date.now();

    for (const name of ALL) {
      const pod = await core.readNamespacedPod({ name, namespace: ns.name });
      for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])])
        expect(c.securityContext).toMatchObject({
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
        });
      expect(pod.spec?.securityContext).toMatchObject({ runAsUser: 10001 });
    }
    expect(
      (await core.readNamespacedPod({ name: NAMENODES[0], namespace: ns.name })).spec?.containers.map(
        (c) => c.name,
      ),
    ).toEqual(['hdfs', 'zkfc', 'refresh-nodes', ...(SHIP_LOGS ? ['log-agent'] : [])]);

    // One namenode becomes active (its failover controller won the election), the other standby.
    let states: Record<string, string> = {};
    await waitFor(
      'one active and one standby namenode',
      async () => {
        states = await serviceStates(NAMENODES[0]).catch(() => ({}));
        return Object.values(states).sort().join(',') === 'active,standby';
      },
      10 * 60_000,
      undefined,
      undefined,
      async () => JSON.stringify(states),
    );
    const active = Object.keys(states).find((n) => states[n] === 'active')!;
    const standby = NAMENODES.find((n) => n !== active)!;
    const elected = Date.now();
    const format = (pod: string) =>
      core.readNamespacedPodLog({ name: pod, namespace: ns.name, container: 'format-namenode' });
    expect(await format(NAMENODES[0])).toMatch(/has been successfully formatted/);

    // Both JVMs of the active namenode's pod write keelson's structured file (Log4j 2): the namenode
    // its start, the failover controller its namenode's transition to active.
    const namenodeLog = await readStructuredLog(ns.name, active, 'hdfs');
    expectSharedRecordShape(namenodeLog);
    expect(namenodeLog).toContainEqual(
      expect.objectContaining({ level: 'INFO', message: expect.stringMatching(/Starting NameNode/) }),
    );
    const zkfcLog = await readStructuredLog(ns.name, active, 'zkfc');
    expectSharedRecordShape(zkfcLog);
    expect(zkfcLog).toContainEqual(
      expect.objectContaining({
        message: expect.stringMatching(/Successfully transitioned .* to active state/),
      }),
    );

    // A client with nothing but the discovery ConfigMap writes a file and reads it back.
    const put = await hdfsClient(
      'hdfs-put',
      [
        'set -eu',
        'echo "keelson was here" > /tmp/hello.txt',
        'hdfs dfs -mkdir -p /keelson',
        'hdfs dfs -put /tmp/hello.txt /keelson/hello.txt',
        'echo "read: $(hdfs dfs -cat /keelson/hello.txt)"',
      ].join('\n'),
    );
    expect(put).toContain('read: keelson was here');
    const written = Date.now();

    // The web ports speak HTTPS with the class's certificates: a client trusting the CA completes a
    // handshake verifying each role's pod name, reads each namenode's HA state from its JMX over
    // HTTPS, and gets no HTTP answer from the namenode's port in plaintext.
    const fqdn = (pod: string, role: string) =>
      `${pod}.hdfs-${role}-default-headless.${ns.name}.svc.cluster.local`;
    const ports = { namenodes: 9870, journalnodes: 8480, datanodes: 9864 } as const;
    const s_client = (host: string, port: number) =>
      `timeout 20 openssl s_client -connect ${host}:${port} -servername ${host} -CAfile /trust/ca.crt -verify_return_error -verify_hostname ${host}`;
    const tlsOut = await hdfsClient(
      'hdfs-tls',
      [
        'set -u',
        ...Object.entries(TLS_ROLES).map(([role, pods]) => {
          const host = fqdn(pods[0], role);
          const port = ports[role as keyof typeof ports];
          return `echo "${role}: $(${s_client(host, port)} -brief </dev/null 2>&1 | grep -E '^(Verification|CONNECTION ESTABLISHED)' | tr '\n' ' ')"`;
        }),
        ...NAMENODES.map((pod) => {
          const host = fqdn(pod, 'namenodes');
          return `echo "jmx ${pod}: $(printf 'GET /jmx?qry=Hadoop:service=NameNode,name=NameNodeStatus HTTP/1.0\r\nHost: ${host}\r\n\r\n' | ${s_client(host, 9870)} -quiet 2>/dev/null | grep -o '"State" : "[a-z]*"')"`;
        }),
        `plain=$(exec 3<>/dev/tcp/${fqdn(NAMENODES[0], 'namenodes')}/9870 && printf 'GET /jmx HTTP/1.0\r\n\r\n' >&3 && timeout 10 cat <&3 | head -c 200 | tr -cd '[:print:]')`,
        'echo "plain: [${plain}]"',
      ].join('\n'),
      true,
    );
    const tlsLines = tlsOut.split('\n');
    for (const role of Object.keys(TLS_ROLES)) {
      expect(tlsLines).toContain(`${role}: CONNECTION ESTABLISHED Verification: OK `);
    }
    expect(tlsLines.filter((l) => l.startsWith('jmx ')).sort()).toEqual(
      NAMENODES.map((pod) => `jmx ${pod}: "State" : "${pod === active ? 'active' : 'standby'}"`),
    );
    const plain = tlsLines.find((l) => l.startsWith('plain: ['));
    expect(plain).toBeDefined();
    expect(plain).not.toMatch(/HTTP\/1\.[01]/);
    const tlsChecked = Date.now();

    // A Prometheus finds every pod through keelson's scrape job; keelson's rules load and see one
    // active namenode; every metric name of the product and every dashboard query has data.
    const prometheus = await startPrometheus(await realNode(), ns.name, {
      ruleGroups: rule.spec.groups,
      scrapeSeconds: 30,
    });
    try {
      expect(await prometheus.checkStacklet(hdfsMonitoringCheck(ns.name, objects))).toBe(1);
      expect(
        await prometheus.waitForValue(
          'the files the client wrote',
          `max(hadoop_namenode_fsnamesystem_filestotal{namespace="${ns.name}"})`,
          (v) => v >= 2,
        ),
      ).toBeGreaterThanOrEqual(2);
    } finally {
      await prometheus.stop();
    }
    const monitored = Date.now();

    // Each pod's log agent ships its main container's records, with their source.
    if (SHIP_LOGS) {
      for (const [pod, role] of [
        [active, 'namenodes'],
        ['hdfs-datanodes-default-0', 'datanodes'],
      ]) {
        await expectRecordsShipped(aggregator!, {
          namespace: ns.name,
          pod,
          container: 'hdfs',
          product: 'hdfs',
          stacklet: 'hdfs',
          role,
          roleGroup: 'default',
        });
      }
      process.stdout.write(`hdfs on the real node: ${logAgentUsage(ns.name)}\n`);
    }

    // A second client writes and reads files in a loop until /keelson/stop exists; the active
    // namenode's pod is deleted while it runs.
    const loop = hdfsClient(
      'hdfs-loop',
      [
        'set -u',
        'i=0',
        'while ! hdfs dfs -test -e /keelson/stop; do',
        '  i=$((i + 1))',
        '  echo "line $i" > /tmp/x',
        '  if hdfs dfs -put -f /tmp/x /keelson/loop-$i && [ "$(hdfs dfs -cat /keelson/loop-$i)" = "line $i" ]; then',
        '    echo "ok $i $(date +%s%3N)"',
        '  else',
        '    echo "failed $i $(date +%s%3N)"; exit 1',
        '  fi',
        'done',
        'echo "read: $(hdfs dfs -cat /keelson/hello.txt)"',
      ].join('\n'),
    );
    // The loop has done at least one round before the namenode goes.
    await waitFor(
      'the loop client to write a file',
      async () =>
        (await core.readNamespacedPodLog({ name: 'hdfs-loop', namespace: ns.name }).catch(() => '')).includes(
          'ok 1 ',
        ),
      10 * 60_000,
    );
    const deleted = Date.now();
    await core.deleteNamespacedPod({ name: active, namespace: ns.name, gracePeriodSeconds: 0 });
    await waitFor(
      `${standby} to become active`,
      async () =>
        (await serviceStates(standby).catch(() => ({}) as Record<string, string>))[standby] === 'active',
      10 * 60_000,
    );
    const failedOver = Date.now();
    // The new active namenode read the shared edit log from the journalnode over HTTPS.
    expect(await core.readNamespacedPodLog({ name: standby, namespace: ns.name, container: 'hdfs' })).toMatch(
      /Loaded \d+ edits file\(s\) \(the last named https:\/\/hdfs-journalnodes-default-0\.[^ ]*:8480\/getJournal/,
    );

    // The deleted namenode comes back on its volume, without formatting, as the standby.
    await waitPodsReady(ns.name, [active], 15 * 60_000);
    expect(await format(active)).toMatch(/holds a formatted namespace; starting the namenode as it is/);
    await waitFor(
      `${active} to come back as standby`,
      async () =>
        (await serviceStates(standby).catch(() => ({}) as Record<string, string>))[active] === 'standby',
      10 * 60_000,
    );

    // Let the loop run a round after the failover, then stop it.
    const roundsBefore =
      (await core.readNamespacedPodLog({ name: 'hdfs-loop', namespace: ns.name })).match(/^ok /gm)?.length ??
      0;
    await waitFor(
      'the loop client to write after the failover',
      async () =>
        ((await core.readNamespacedPodLog({ name: 'hdfs-loop', namespace: ns.name })).match(/^ok /gm)
          ?.length ?? 0) > roundsBefore,
      10 * 60_000,
    );
    await execInPod(ns.name, standby, 'HADOOP_CLIENT_OPTS=-Xmx96m hdfs dfs -touchz /keelson/stop');
    const out = await loop;
    expect(out).not.toMatch(/^failed/m);
    const times = [...out.matchAll(/^ok \d+ (\d+)$/gm)].map((m) => Number(m[1]));
    expect(times.some((t) => t > deleted)).toBe(true);
    expect(out).toContain('read: keelson was here');

    // Scaling the datanodes down decommissions first (synth mode's two steps). A file written from
    // the leaving datanode's pod has its one copy there (HDFS puts the first copy on the writer's
    // own datanode), so the decommission must move it.
    const admin = (script: string) =>
      execInPod(ns.name, standby, `export HADOOP_CLIENT_OPTS=-Xmx96m; ${script} 2>/dev/null`);
    const podIp = async (name: string) =>
      (await core.readNamespacedPod({ name, namespace: ns.name })).status!.podIP!;
    const [stayingIp, leavingIp] = [await podIp(DATANODES[0]), await podIp(LEAVING)];
    const sum = await writeFromDatanode(ns.name, LEAVING, '/keelson/leaving.bin');
    expect(sum).toBeDefined();
    const locations = () => admin('hdfs fsck /keelson/leaving.bin -files -blocks -locations');
    expect(await locations()).toContain(`[${leavingIp}:`);
    const namenodePods = async () =>
      Promise.all(
        NAMENODES.map(async (name) => {
          const pod = await core.readNamespacedPod({ name, namespace: ns.name });
          return `${pod.metadata!.uid} ${pod.status!.containerStatuses!.map((c) => c.restartCount).join(',')}`;
        }),
      );
    const namenodesBefore = await namenodePods();

    // Step one: the leaving datanode in the namenodes' exclude file; they read it without a restart.
    const decommissionStarted = Date.now();
    expect(
      await applyAll(
        client,
        manifests({ decommission: [LEAVING] }).filter((o) => o.kind !== 'PrometheusRule'),
        ns.name,
      ),
    ).toEqual([]);
    let report = '';
    await waitFor(
      `${LEAVING} to be decommissioned`,
      async () => {
        report = await admin('hdfs dfsadmin -report -live');
        return decommissionStatus(leavingIp, 'Decommissioned').test(report);
      },
      15 * 60_000,
      undefined,
      undefined,
      async () => report,
    );
    const decommissioned = Date.now();
    expect(await namenodePods()).toEqual(namenodesBefore);
    expect(await locations()).toContain(`[${stayingIp}:`);

    // Step two: one datanode fewer; nothing is missing or under-replicated, and the file reads back.
    expect(
      await applyAll(
        client,
        manifests({ decommission: [LEAVING], datanodes: 1 }).filter((o) => o.kind !== 'PrometheusRule'),
        ns.name,
      ),
    ).toEqual([]);
    await waitFor(
      `${LEAVING} to be gone`,
      async () =>
        !(await core.readNamespacedPod({ name: LEAVING, namespace: ns.name }).then(
          () => true,
          () => false,
        )),
      5 * 60_000,
    );
    expectHealthyFsck(await admin('hdfs fsck /'));
    expect((await admin('hdfs dfs -cat /keelson/leaving.bin | md5sum')).match(/^[0-9a-f]{32}\b/m)?.[0]).toBe(
      sum,
    );
    expect(await admin('hdfs dfs -cat /keelson/hello.txt')).toContain('keelson was here');

    // Reached from outside: the namenodes' and datanodes' class becomes external-unstable (NodePort),
    // as the operator builds it. The datanode gets a NodePort Service of its own whose targetPorts
    // are its nodePorts, the operator writes its node's address and those nodePorts, and the datanode
    // (rolled: it reads its address at start) listens on them and registers its node's address as
    // its hostname. A client on the host — outside every pod's network namespace — writes and reads
    // a file with WebHDFS over HTTPS, trusting the class's CA and checking the node's address in the
    // certificates: the namenode sends it to the datanode's HTTPS port at that address.
    const external = Date.now();
    const datanode = DATANODES[0];
    const outside: Step = { decommission: [LEAVING], datanodes: 1, listenerClass: 'external-unstable' };
    const entry = await applyUntilDatanodeListens(ns.name, datanode, () => operatorBuild(outside));
    const svc = await core.readNamespacedService({ name: datanode, namespace: ns.name });
    const nodePort = (name: string) => svc.spec!.ports!.find((p) => p.name === name)!.nodePort!;
    expect(entry[`${datanode}.port.data`]).toBe(String(nodePort('data')));
    expect(entry[`${datanode}.port.http`]).toBe(String(nodePort('http')));
    const nodeIp = entry[`${datanode}.host`];
    const node = await core.readNode({ name: entry[`${datanode}.node`] });
    expect(node.status!.addresses!.map((a) => a.address)).toContain(nodeIp);
    // The rolled datanode registers its node's address and its nodePort with the namenodes.
    await waitFor(
      `${datanode} to register ${nodeIp} and its nodePort`,
      async () => {
        report = await admin('hdfs dfsadmin -report -live');
        return new RegExp(
          `Name: [^\\n]*:${nodePort('data')}\\b[^\\n]*\\nHostname: ${nodeIp.replace(/\./g, '\\.')}\\n`,
        ).test(report);
      },
      10 * 60_000,
      undefined,
      undefined,
      async () => report,
    );
    const registered = Date.now();
    const namenodeHttp = (
      await core.readNamespacedService({ name: 'hdfs-namenodes', namespace: ns.name })
    ).spec!.ports!.find((p) => p.name === 'http')!.nodePort!;
    const webhdfs = `https://${nodeIp}:${namenodeHttp}/webhdfs/v1/keelson/outside.txt`;
    const caFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-hdfs-ca-')), 'ca.crt');
    fs.writeFileSync(caFile, pki.caPem);
    const host = await runOnHost(
      [
        'set -eu',
        `curl() { command curl --cacert ${caFile} "$@"; }`,
        'deadline=$(( $(date +%s) + 300 ))',
        'retry() { until "$@"; do if [ "$(date +%s)" -ge "$deadline" ]; then echo "gave up: $*"; return 1; fi; sleep 2; done; }',
        'tmp=$(mktemp -d)',
        'echo "written from outside" > "$tmp/in"',
        // The client Service spreads over both namenodes: the standby refuses (403), the active
        // one sends the client to a datanode (307, Location).
        `create() { loc=$(curl -sS -o /dev/null -w '%{redirect_url}' -X PUT '${webhdfs}?op=CREATE&overwrite=true&user.name=keelson') && [ -n "$loc" ]; }`,
        // A datanode scaled away stays in the namenode's topology until its heartbeats expire, and
        // WebHDFS picks a random one for a client that is not on a datanode's host: a write sent
        // to the gone one is tried again, as a WebHDFS client does.
        'put() { create && echo "create sent to: $loc" && curl -sS -f -X PUT -T "$tmp/in" "$loc"; }',
        'retry put',
        `open() { from=$(curl -sS -f -L -o "$tmp/out" -w '%{url_effective}' '${webhdfs}?op=OPEN&user.name=keelson'); }`,
        'retry open',
        'echo "read from: $from"',
        'echo "read: $(cat "$tmp/out")"',
        // The block transfer port of the datanode's address answers on the host too.
        `timeout 5 bash -c '</dev/tcp/${nodeIp}/${nodePort('data')}' && echo "data port open"`,
      ].join('\n'),
      6 * 60_000,
    );
    fs.rmSync(path.dirname(caFile), { recursive: true, force: true });
    const dataNodeAt = `https://${nodeIp}:${nodePort('http')}/webhdfs/v1/keelson/outside.txt`;
    expect(host).toContain(`create sent to: ${dataNodeAt}?op=CREATE`);
    expect(host).toContain(`read from: ${dataNodeAt}?op=OPEN`);
    expect(host).toContain('read: written from outside');
    expect(host).toContain('data port open');
    // A client inside still reads the datanode's blocks, at its pod IP and the port it now listens on.
    expect(await admin('hdfs dfs -cat /keelson/outside.txt')).toContain('written from outside');
    expect(await admin('hdfs dfs -cat /keelson/leaving.bin | md5sum')).toContain(sum!);
    const outsideDone = Date.now();

    process.stdout.write(
      `hdfs on the real node: images ${((imported - started) / 1000).toFixed(1)} s (build or cache, import), ` +
        `all pods Ready ${((ready - imported) / 1000).toFixed(1)} s after apply, ` +
        `one namenode active ${((elected - imported) / 1000).toFixed(1)} s after apply, ` +
        `first put+cat client ${((written - elected) / 1000).toFixed(1)} s, ` +
        `TLS checks ${((tlsChecked - written) / 1000).toFixed(1)} s, ` +
        `Prometheus checks ${((monitored - tlsChecked) / 1000).toFixed(1)} s, ` +
        `standby active ${((failedOver - deleted) / 1000).toFixed(1)} s after the active pod's deletion ` +
        `(polled with haadmin, a JVM start per poll), ${times.length} loop rounds, all ok; ` +
        `${LEAVING} Decommissioned ${((decommissioned - decommissionStarted) / 1000).toFixed(1)} s after the ` +
        `exclude list was applied (polled with dfsadmin); the datanode on external-unstable registered its ` +
        `node's address ${((registered - external) / 1000).toFixed(1)} s after the change, the host client ` +
        `wrote and read through it ${((outsideDone - registered) / 1000).toFixed(1)} s later\n`,
    );
  });
});
