/**
 * HBase from keelson's manifests on the real node (real containers of keelson's HBase image, built
 * here from HBase's jars and imported into the node's containerd), on keelson's HDFS and ZooKeeper,
 * in a namespace enforcing the restricted Pod Security profile:
 * - a ZooKeeper server, an HA HDFS (two namenodes with their failover controllers, a journalnode, a
 *   datanode) and an HBase (two masters, two regionservers, a REST server) become Ready; exactly one
 *   master is active;
 * - through the REST server, from a client pod: a table is created, a row put and read back;
 * - the regionserver serving the table's region is deleted (as a rolling restart or a drain does):
 *   its preStop hook moves the region to the other regionserver while the pod is still stopping
 *   (the master runs a move for the table's region), and the row reads back the same while the pod
 *   is gone and after a new pod of the name is back, Ready, and live;
 * - the active master's pod is deleted: the other master becomes active through ZooKeeper, the row
 *   reads back, a new row is put and read, the cluster's status comes from the new master, and the
 *   deleted pod comes back as a backup master waiting on the new active one;
 * - the masters' and the regionservers' JVMs write keelson's structured log files (Log4j 2);
 * - a Prometheus scrapes every pod through keelson's scrape job: HBase's rules load and count two
 *   live regionservers, every metric the rules and dashboard read has data, and the regionservers'
 *   write requests count the put;
 * - where keelson's log agent is built, every HBase and HDFS pod's agent ships its records, the
 *   namenodes' failover controllers (a second JVM in the pod, writing a file of its own) included;
 * - a logger's level changed in the spec of the running regionservers and failover controllers
 *   (ZooKeeper's client at DEBUG) takes effect without a restart: their DEBUG records appear in the
 *   files and at the aggregator, same pods, same pod templates;
 * - HDFS' alerts fire under faults the test makes, with HDFS' rules and dashboard checked too: with
 *   the only datanode frozen `HdfsDeadDatanodes` and `HdfsMissingBlocks` (the namenodes declare a
 *   datanode dead after 50 s here), with both namenodes' JVMs frozen `HdfsNoActiveNamenode`.
 * The HDFS serves its web ports over HTTPS only (server TLS from a class of the tests' own, each role's
 * certificate a Secret the test signs): HBase reads the same discovery files and talks RPC and block
 * transfer only, which stay as they are; the second namenode bootstrapped over HTTPS.
 * HBase serves its web UIs and REST server over HTTPS only from the same class (its certificates
 * Secrets the test signs too): the REST client checks the CA and the discovery URL's host, plain HTTP
 * and a client without the CA are refused, the masters' /jmx is read over HTTPS.
 * It prints start times and the memory (RSS) of every JVM of this minimal HA HDFS + HBase. Each
 * failure prints the pods' logs.
 */
import { Chart, Testing } from 'cdk8s';
import { HBASE_METRIC_NAMES, HBASE_PORTS, HbaseCluster } from '../../constructs/hbase';
import { hbaseImageRecipe } from '../../constructs/hbase/image';
import { HdfsCluster } from '../../constructs/hdfs';
import { HDFS_MAIN_CLASSES } from '../../constructs/hdfs/distribution';
import { hdfsImageRecipe } from '../../constructs/hdfs/image';
import { ZookeeperCluster, ZookeeperZnode } from '../../constructs/zookeeper';
import { zookeeperImageRecipe } from '../../constructs/zookeeper/image';
import { tlsVolumeName } from '../../lib';
import { KubeClient } from '../../lib/operator/client';
import { applyAll, RESTRICTED, type Manifest } from './admission';
import { whileFrozen } from './process-faults';
import {
  FIRST_TIER_JIT,
  buildImageOnRealNode,
  clientPod,
  execInPod,
  podsLogs,
  realNode,
  REAL_NODE_PLACEMENT,
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
  createHdfsTestCertificates,
  HDFS_TEST_TLS_CLASS,
  hdfsMonitoringCheck,
  hdfsTestTlsVolumes,
} from './hdfs-support';
import { podDnsNames, TestPki } from './test-pki';
import { startPrometheus, withAlertDelay } from './prometheus-support';
import { expectSharedRecordShape, readStructuredLog, waitForRecords } from './structured-logs';
import { adminClients, adminKubeConfig, useTestNamespace, waitFor } from './support';

jest.setTimeout(40 * 60_000);

const VERSION = '2.6.1';
const HADOOP_VERSION = '3.4.2';
const ZOOKEEPER_VERSION = '3.9.4';
const NAMENODES = ['hdfs-namenodes-default-0', 'hdfs-namenodes-default-1'];
const HDFS_PODS = [...NAMENODES, 'hdfs-journalnodes-default-0', 'hdfs-datanodes-default-0'];
const MASTERS = ['hbase-masters-default-0', 'hbase-masters-default-1'];
const REGIONSERVERS = ['hbase-regionservers-default-0', 'hbase-regionservers-default-1'];
const REST = 'hbase-restservers-default-0';
const HBASE_PODS = [...MASTERS, ...REGIONSERVERS, REST];
const ALL = ['zk-servers-default-0', ...HDFS_PODS, ...HBASE_PODS];
const CLIENT = 'rest-client';
const DATANODE = 'hdfs-datanodes-default-0';
/** The logger whose level the test changes: ZooKeeper's client logs each ping's answer at DEBUG. */
const ZK_CLIENT_LOGGER = 'org.apache.zookeeper.ClientCnxn';

explainSkippedShipping('hbase-real-node');
/** The test aggregator every HBase and HDFS pod's log agent ships to, and its discovery ConfigMap's data. */
let aggregator: OtlpReceiver | undefined;
let dependencies: Record<string, Record<string, string>> = {};
afterAll(async () => {
  await aggregator?.close();
});

/**
 * `http METHOD PATH ACCEPT [CONTENT_TYPE BODY]`: one HTTP/1.0 request to the REST server over HTTPS
 * with `openssl s_client` (the HBase image has no curl), which checks the server's certificate
 * against the test's CA (`CA_FILE`, /tmp/ca.crt) and its name against `REST_HOST` (the discovery
 * URL's host) and sends nothing when either fails; prints the response, status line first.
 * `PLAIN=1`: the same request in plain HTTP over bash's /dev/tcp.
 */
const HTTP_SCRIPT = `#!/bin/bash
set -u
request() {
  if [ $# -ge 5 ]; then
    printf '%s %s HTTP/1.0\\r\\nHost: %s\\r\\nAccept: %s\\r\\nContent-Type: %s\\r\\nContent-Length: %d\\r\\n\\r\\n%s' "$1" "$2" "$REST_HOST" "$3" "$4" "\${#5}" "$5"
  else
    printf '%s %s HTTP/1.0\\r\\nHost: %s\\r\\nAccept: %s\\r\\n\\r\\n' "$1" "$2" "$REST_HOST" "$3"
  fi
}
if [ "\${PLAIN:-}" = 1 ]; then
  exec 3<>"/dev/tcp/$REST_HOST/8080"
  request "$@" >&3
  timeout 30 cat <&3
else
  request "$@" | timeout 120 openssl s_client -quiet -connect "$REST_HOST:8080" -servername "$REST_HOST" \\
    -verify_hostname "$REST_HOST" -verify_return_error -CAfile "\${CA_FILE:-/tmp/ca.crt}" 2> /tmp/s_client.err
fi
`;

/** The HBase roles' pods named in the test's certificates (a third regionserver for a scale-up's room). */
const HBASE_TLS_PODS = {
  masters: MASTERS,
  regionservers: [...REGIONSERVERS, 'hbase-regionservers-default-2'],
  restservers: [REST],
} as const;

describe(`HBase ${VERSION} on the real node`, () => {
  const ns = useTestNamespace('hbase-real', RESTRICTED);
  const { core, apps } = adminClients();
  const client = new KubeClient(adminKubeConfig());
  const pki = new TestPki('keelson hbase-hdfs test CA');
  afterAll(() => pki.remove());

  /**
   * The platform; `debug` sets ZooKeeper's client logger to DEBUG in the regionservers and the
   * namenodes' failover controllers. Their files take DEBUG and the root logger INFO throughout,
   * so the logger's level decides which DEBUG records the file gets.
   */
  function manifests(debug = false, regionservers = 2): Manifest[] {
    const chart = new Chart(Testing.app(), 'platform', { namespace: ns.name });
    const role = (memory: string, replicas: number) => ({
      config: { resources: { memory: { limit: memory }, cpu: { min: '100m', max: '1' } } },
      podOverrides: { spec: REAL_NODE_PLACEMENT },
      roleGroups: { default: { replicas } },
    });
    // ZooKeeper and HDFS serve HBase here; their JVMs run with the first JIT tier only (less CPU).
    const serving = (memory: string, replicas: number) => ({ ...role(memory, replicas), ...FIRST_TIER_JIT });
    // An HDFS role with the test's certificate in place of the pod certificate the operator would sign.
    const hdfsRole = (
      name: 'namenodes' | 'journalnodes' | 'datanodes',
      memory: string,
      replicas: number,
    ) => ({
      ...serving(memory, replicas),
      podOverrides: { spec: { ...REAL_NODE_PLACEMENT, volumes: hdfsTestTlsVolumes(name) } },
    });
    const logging = {
      file: { level: 'DEBUG' as const },
      loggers: {
        ROOT: { level: 'INFO' as const },
        [ZK_CLIENT_LOGGER]: { level: debug ? ('DEBUG' as const) : ('INFO' as const) },
      },
    };
    const zk = new ZookeeperCluster(chart, 'zk', {
      image: { productVersion: ZOOKEEPER_VERSION, pullPolicy: 'Never' },
      servers: serving('384Mi', 1),
    });
    const hdfs = new HdfsCluster(
      chart,
      'hdfs',
      {
        image: { productVersion: HADOOP_VERSION, pullPolicy: 'Never' },
        clusterConfig: { ...observedClusterConfig(), tls: { serverTlsClass: HDFS_TEST_TLS_CLASS } },
        zookeeper: new ZookeeperZnode(chart, 'hdfs-znode', { zookeeper: zk }),
        namenodes: {
          ...hdfsRole('namenodes', '640Mi', 2),
          config: { ...role('640Mi', 2).config, logging: { containers: { zkfc: logging } } },
          // A datanode is dead after twice this plus ten heartbeats (3 s): 50 s instead of 10.5 min,
          // so the dead-datanode alert fires within the test.
          configOverrides: { 'hdfs-site.xml': { 'dfs.namenode.heartbeat.recheck-interval': '10000' } },
        },
        journalnodes: hdfsRole('journalnodes', '320Mi', 1),
        datanodes: hdfsRole('datanodes', '512Mi', 1),
      },
      { dependencies, tlsClasses: [{ name: HDFS_TEST_TLS_CLASS }] },
    );
    // HBase serves its web UIs and REST over HTTPS from the same test class: each role's certificate
    // a Secret the test signs, in place of the pod certificate the operator would sign.
    const tlsVolumes = (name: keyof typeof HBASE_TLS_PODS) => ({
      podOverrides: {
        spec: {
          ...REAL_NODE_PLACEMENT,
          volumes: [{ name: tlsVolumeName('server'), secret: { secretName: `hbase-${name}-tls` } }],
        },
      },
    });
    new HbaseCluster(
      chart,
      'hbase',
      {
        image: { productVersion: VERSION, pullPolicy: 'Never' },
        clusterConfig: { ...observedClusterConfig(), tls: { serverTlsClass: HDFS_TEST_TLS_CLASS } },
        hdfs,
        zookeeper: new ZookeeperZnode(chart, 'hbase-znode', { zookeeper: zk }),
        // An active master and a backup; the backup only waits, so the first JIT tier is enough.
        masters: { ...serving('768Mi', 2), ...tlsVolumes('masters') },
        regionservers: {
          ...role('768Mi', regionservers),
          config: { ...role('768Mi', regionservers).config, logging: { containers: { hbase: logging } } },
          ...tlsVolumes('regionservers'),
        },
        restservers: { ...role('512Mi', 1), ...tlsVolumes('restservers') },
      },
      { dependencies, tlsClasses: [{ name: HDFS_TEST_TLS_CLASS }] },
    );
    return Testing.synth(chart) as Manifest[];
  }

  const logs = () => podsLogs(ns.name, [...HBASE_PODS, ...NAMENODES]);

  /** The REST server's answer to one request: status code and body. */
  async function rest(...args: string[]): Promise<{ status: number; body: string }> {
    const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const out = await execInPod(ns.name, CLIENT, `bash /tmp/http ${quoted}`);
    const [head, ...body] = out.split('\r\n\r\n');
    return { status: Number(/^HTTP\/1\.\d (\d{3})/.exec(head)?.[1] ?? 0), body: body.join('\r\n\r\n') };
  }

  /** A row's value as the REST server reads it now, or undefined. */
  const readRow = async (row = 'row1') => {
    const answer = await rest('GET', `/keelson/${row}/cf:greeting`, 'application/octet-stream').catch(
      () => undefined,
    );
    return answer?.status === 200 ? answer.body : undefined;
  };

  /**
   * The master's own view, from its info server's /jmx over HTTPS (asked inside its pod, with
   * `openssl s_client` checking the certificate against the class's CA and the pod's DNS name):
   * whether it is the active master and has finished initializing. A backup master, or one that is
   * stopping, reports neither.
   */
  async function masterState(pod: string): Promise<{ active: boolean; initialized: boolean } | undefined> {
    const query = '/jmx?qry=Hadoop:service=HBase,name=Master,sub=Server';
    const out = await execInPod(ns.name, pod, masterUiRequest(query)).catch(() => undefined);
    let bean: Record<string, unknown> | undefined;
    try {
      bean = (JSON.parse(out!.slice(out!.indexOf('{'))) as { beans: Record<string, unknown>[] }).beans[0];
    } catch {
      return undefined;
    }
    if (!bean) return undefined;
    return {
      active: bean['tag.isActiveMaster'] === 'true',
      initialized: Number(bean.masterFinishedInitializationTime ?? 0) > 0,
    };
  }

  /** A shell command asking the pod's own master UI for `path` over HTTPS (`plain`: over HTTP). */
  function masterUiRequest(path: string, plain = false): string {
    const request = `printf "GET ${path} HTTP/1.0\r\n\r\n"`;
    if (plain) {
      return `bash -c 'exec 3<>/dev/tcp/127.0.0.1/${HBASE_PORTS.masterHttp}; ${request} >&3; timeout 30 cat <&3'`;
    }
    const name = `"$(hostname).hbase-masters-default-headless.${ns.name}.svc.cluster.local"`;
    return (
      `bash -c '${request} | timeout 60 openssl s_client -quiet -connect 127.0.0.1:${HBASE_PORTS.masterHttp} ` +
      `-verify_hostname ${name} -verify_return_error -CAfile /keelson/tls/server/ca.crt 2> /dev/null'`
    );
  }

  /** The masters that say they are active and initialized. */
  async function activeMasters(): Promise<string[]> {
    const states = await Promise.all(MASTERS.map(masterState));
    return MASTERS.filter((_, i) => states[i]?.active && states[i]?.initialized);
  }

  /** The cluster's status (the REST server asks the active master) as text, '' when it does not answer. */
  const clusterStatus = async () =>
    (await rest('GET', '/status/cluster', 'text/plain').catch(() => ({ body: '' }))).body;

  /** Waits until the active master counts two live regionservers; a failure prints `explain()`. */
  const waitTwoLiveRegionservers = (what: string, timeoutMs: number, explain: () => Promise<string>) =>
    waitFor(
      what,
      async () => /^2 live servers/m.test(await clusterStatus()),
      timeoutMs,
      undefined,
      undefined,
      explain,
    );

  /** Waits until `name` is a new pod (its uid no longer `uid`); a failure prints `explain()`. */
  const waitReplaced = (
    name: string,
    uid: string | undefined,
    timeoutMs: number,
    explain: () => Promise<string>,
  ) =>
    waitFor(
      `${name} to be replaced`,
      async () =>
        ((await core.readNamespacedPod({ name, namespace: ns.name }).catch(() => undefined))?.metadata?.uid ??
          uid) !== uid,
      timeoutMs,
      undefined,
      undefined,
      explain,
    );

  /** The regionserver (pod name) serving the table's only region. */
  async function regionLocation(): Promise<string | undefined> {
    const answer = await rest('GET', '/keelson/regions', 'application/json').catch(() => undefined);
    if (answer?.status !== 200) return undefined;
    const regions = (JSON.parse(answer.body) as { Region?: { location?: string }[] }).Region ?? [];
    return regions[0]?.location?.split('.')[0];
  }

  /** VmRSS of the main container's JVM (PID 1) of `pod`, in MiB. */
  async function rssMiB(pod: string): Promise<number> {
    const out = await execInPod(ns.name, pod, "grep VmRSS /proc/1/status | tr -s ' ' | cut -d' ' -f2");
    return Math.round(Number(out.trim()) / 1024);
  }

  it('stores a row through REST on HDFS and keeps serving it while a regionserver restarts', async () => {
    await realNode();
    const started = Date.now();
    await buildImageOnRealNode(zookeeperImageRecipe(ZOOKEEPER_VERSION));
    await buildImageOnRealNode(hdfsImageRecipe(HADOOP_VERSION));
    await buildImageOnRealNode(hbaseImageRecipe(VERSION));
    if (SHIP_LOGS) ({ aggregator, dependencies } = await startLogShipping(ns.name));
    const imported = Date.now();
    await createHdfsTestCertificates(ns.name, pki, {
      namenodes: NAMENODES,
      journalnodes: ['hdfs-journalnodes-default-0'],
      datanodes: ['hdfs-datanodes-default-0'],
    });
    for (const [role, pods] of Object.entries(HBASE_TLS_PODS)) {
      const names = pods.flatMap((pod) =>
        podDnsNames(pod, `hbase-${role}-default-headless`, ns.name, [`hbase-${role}`]),
      );
      await core.createNamespacedSecret({
        namespace: ns.name,
        body: { metadata: { name: `hbase-${role}-tls` }, stringData: pki.issue(`hbase-${role}`, names) },
      });
    }

    // The PrometheusRules' groups go to the test Prometheus' rule file (no prometheus-operator here).
    const all = manifests();
    const ruleOf = (name: string) =>
      all.find((o) => o.kind === 'PrometheusRule' && o.metadata.name === name) as unknown as {
        spec: { groups: unknown[] };
      };
    const rule = ruleOf('hbase');
    // HBase's copy of the HDFS' client files says HTTPS only: the HBase below runs on that.
    const regionserverFiles = all.find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name === 'hbase-regionservers-default',
    ) as unknown as { data: Record<string, string> };
    expect(regionserverFiles.data['hdfs-site.xml']).toMatch(
      /<name>dfs\.http\.policy<\/name>\s*<value>HTTPS_ONLY<\/value>/,
    );
    // HBase's own discovery: the REST URL is HTTPS, its host the REST Service, whose name the
    // certificate carries; the client below dials it.
    const discovery = all.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'hbase') as unknown as {
      data: Record<string, string>;
    };
    expect(discovery.data.HBASE_TLS_CLASS).toBe(HDFS_TEST_TLS_CLASS);
    const restUrl = new URL(discovery.data.HBASE_REST);
    expect([restUrl.protocol, restUrl.port]).toEqual(['https:', '8080']);
    expect(
      await applyAll(
        client,
        all.filter((o) => o.kind !== 'PrometheusRule'),
        ns.name,
      ),
    ).toEqual([]);
    // A client pod of keelson's HBase image, admitted by HBase's NetworkPolicy as one of its pods.
    const body = clientPod({
      name: CLIENT,
      image: hbaseImageRecipe(VERSION).reference,
      command: [
        '/bin/bash',
        '-c',
        'printf "%s" "$HTTP_SCRIPT" > /tmp/http && printf "%s" "$CA_PEM" > /tmp/ca.crt && exec sleep 86400',
      ],
      labels: { 'app.kubernetes.io/name': 'hbase', 'app.kubernetes.io/instance': 'hbase' },
      env: [
        { name: 'HTTP_SCRIPT', value: HTTP_SCRIPT },
        { name: 'CA_PEM', value: pki.caPem },
        { name: 'REST_HOST', value: restUrl.hostname },
      ],
      memory: '64Mi',
    });
    body.spec!.terminationGracePeriodSeconds = 0;
    await core.createNamespacedPod({ namespace: ns.name, body });

    await waitPodsReady(ns.name, [...ALL, CLIENT], 20 * 60_000, () => podsLogs(ns.name, ALL));
    const ready = Date.now();

    for (const name of HBASE_PODS) {
      const pod = await core.readNamespacedPod({ name, namespace: ns.name });
      for (const c of pod.spec?.containers ?? [])
        expect(c.securityContext).toMatchObject({
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
        });
      expect(pod.spec?.securityContext).toMatchObject({ runAsUser: 10001 });
    }

    // The master is up once it answers with two live regionservers; then the table is created,
    // a row put and read back.
    await waitTwoLiveRegionservers(
      'the REST server to see two live regionservers',
      15 * 60_000,
      async () => `${await clusterStatus()}\n${await logs()}`,
    );
    const serving = Date.now();
    let created = { status: 0, body: '' };
    await waitFor(
      'the table to be created',
      async () => {
        created = await rest(
          'PUT',
          '/keelson/schema',
          'application/json',
          'application/json',
          '{"name":"keelson","ColumnSchema":[{"name":"cf"}]}',
        ).catch(() => created);
        return created.status === 201 || created.status === 200;
      },
      10 * 60_000,
      undefined,
      undefined,
      async () => `${JSON.stringify(created)}\n${await logs()}`,
    );
    const put = await rest(
      'PUT',
      '/keelson/row1/cf:greeting',
      '*/*',
      'application/octet-stream',
      'keelson was here',
    );
    expect(put.status).toBe(200);
    expect(await readRow()).toBe('keelson was here');
    const written = Date.now();

    // Exactly one master is active (it won the master znode in ZooKeeper); the other is its backup.
    const actives = await activeMasters();
    expect(actives).toHaveLength(1);
    const active = actives[0];
    const backup = MASTERS.find((m) => m !== active)!;
    expect(await masterState(backup)).toEqual({ active: false, initialized: false });

    // HTTPS only: the REST port and the master's UI give a plain HTTP request no HTTP answer, and a
    // client trusting only the public CAs (the image's bundle) refuses the REST server's certificate.
    const noHttpAnswer = /^HTTP\/1\.\d \d{3}/m;
    const get = `GET /keelson/row1/cf:greeting '*/*'`;
    expect(await execInPod(ns.name, CLIENT, `PLAIN=1 bash /tmp/http ${get}`).catch(String)).not.toMatch(
      noHttpAnswer,
    );
    expect(
      await execInPod(ns.name, active, masterUiRequest('/jmx?qry=java.lang:type=Runtime', true)).catch(
        String,
      ),
    ).not.toMatch(noHttpAnswer);
    const untrusted = await execInPod(
      ns.name,
      CLIENT,
      `CA_FILE=/etc/ssl/certs/ca-certificates.crt bash /tmp/http ${get}; cat /tmp/s_client.err`,
    ).catch(String);
    expect(untrusted).not.toMatch(noHttpAnswer);
    expect(untrusted).toMatch(/verify error|certificate verify failed/);

    // keelson's structured log files, written by Log4j 2 in the active master and a regionserver.
    const masterLog = await readStructuredLog(ns.name, active, 'hbase');
    expectSharedRecordShape(masterLog);
    expect(masterLog).toContainEqual(
      expect.objectContaining({ message: expect.stringMatching(/Master has completed initialization/) }),
    );
    expectSharedRecordShape(await readStructuredLog(ns.name, REGIONSERVERS[0], 'hbase'));

    // A Prometheus finds every pod through keelson's scrape job; HBase's rules load and count two
    // live regionservers; every metric name of the product and every dashboard query has data.
    const prometheus = await startPrometheus(await realNode(), ns.name, {
      ruleGroups: rule.spec.groups,
      scrapeSeconds: 30,
    });
    try {
      expect(
        await prometheus.checkStacklet({
          namespace: ns.name,
          metricNames: HBASE_METRIC_NAMES,
          dashboard: all.find((o) => o.metadata.name === 'hbase-dashboard'),
          recording: {
            what: 'two live regionservers (recording rule)',
            expr: `stacklet:hbase_live_regionservers:max{namespace="${ns.name}", stacklet="hbase"}`,
            accept: (v) => v === 2,
          },
        }),
      ).toBe(2);
      // The put is counted: the regionservers' write requests are no longer zero.
      expect(
        await prometheus.waitForValue(
          'the put among the write requests',
          `sum(hbase_regionserver_server_writerequestcount{namespace="${ns.name}"})`,
          (v) => v >= 1,
        ),
      ).toBeGreaterThanOrEqual(1);
    } finally {
      await prometheus.stop();
    }
    const monitored = Date.now();

    // Each pod's log agent ships its records with their source: every HBase role's, and HDFS'
    // namenode, failover controller (its own file, a second JVM in the pod), journalnode, datanode.
    if (SHIP_LOGS) {
      for (const [pod, product, role, container] of [
        [active, 'hbase', 'masters', 'hbase'],
        [REGIONSERVERS[0], 'hbase', 'regionservers', 'hbase'],
        [REST, 'hbase', 'restservers', 'hbase'],
        [NAMENODES[0], 'hdfs', 'namenodes', 'hdfs'],
        [NAMENODES[0], 'hdfs', 'namenodes', 'zkfc'],
        [NAMENODES[1], 'hdfs', 'namenodes', 'zkfc'],
        ['hdfs-journalnodes-default-0', 'hdfs', 'journalnodes', 'hdfs'],
        [DATANODE, 'hdfs', 'datanodes', 'hdfs'],
      ]) {
        await expectRecordsShipped(aggregator!, {
          namespace: ns.name,
          pod,
          container,
          product,
          stacklet: product,
          role,
          roleGroup: 'default',
        });
      }
      process.stdout.write(`hbase on the real node: ${logAgentUsage(ns.name)}\n`);
    }

    // A logger's level changed in the spec of the running regionservers and failover controllers:
    // Log4j 2 re-reads its file, which the kubelet updates in place (the file is not part of the
    // config hash), so without a restart ZooKeeper's client logs each ping's answer at DEBUG.
    const changedPods = [...REGIONSERVERS, ...NAMENODES];
    const isZkDebug = (r: Record<string, string>) => r.level === 'DEBUG' && r.logger === ZK_CLIENT_LOGGER;
    expect((await readStructuredLog(ns.name, REGIONSERVERS[0], 'hbase')).filter(isZkDebug)).toEqual([]);
    expect((await readStructuredLog(ns.name, NAMENODES[0], 'zkfc')).filter(isZkDebug)).toEqual([]);
    const templates = () =>
      Promise.all(
        ['hbase-regionservers-default', 'hdfs-namenodes-default'].map(
          async (name) => (await apps.readNamespacedStatefulSet({ name, namespace: ns.name })).spec?.template,
        ),
      );
    const podStates = () =>
      Promise.all(
        changedPods.map(async (name) => {
          const pod = await core.readNamespacedPod({ name, namespace: ns.name });
          return {
            name,
            uid: pod.metadata?.uid,
            restarts: (pod.status?.containerStatuses ?? []).map((c) => `${c.name}:${c.restartCount}`).sort(),
          };
        }),
      );
    const running = { templates: await templates(), pods: await podStates() };
    const levelApplied = Date.now();
    expect(
      await applyAll(
        client,
        manifests(true).filter((o) => o.kind !== 'PrometheusRule'),
        ns.name,
      ),
    ).toEqual([]);
    const debugRecords = (pod: string, container: string) =>
      waitForRecords(ns.name, pod, container, `DEBUG record of ${ZK_CLIENT_LOGGER}`, isZkDebug, () =>
        podsLogs(ns.name, [pod]),
      );
    const regionserverDebug = await debugRecords(REGIONSERVERS[0], 'hbase');
    const zkfcDebug = await debugRecords(NAMENODES[0], 'zkfc');
    const levelSeen = Date.now();
    expect(await templates()).toEqual(running.templates);
    expect(await podStates()).toEqual(running.pods);
    if (SHIP_LOGS) {
      for (const [pod, container] of [
        [REGIONSERVERS[0], 'hbase'],
        [NAMENODES[0], 'zkfc'],
      ]) {
        await aggregator!.waitFor(
          `a DEBUG record of ${ZK_CLIENT_LOGGER} from ${pod}'s ${container}`,
          (r) =>
            r.severityText === 'DEBUG' &&
            r.attributes.logger === ZK_CLIENT_LOGGER &&
            r.resource['k8s.pod.name'] === pod &&
            r.resource['k8s.container.name'] === container,
        );
      }
    }
    process.stdout.write(
      `hbase on the real node: ${ZK_CLIENT_LOGGER} at DEBUG took effect in a running regionserver ` +
        `${regionserverDebug.seconds.toFixed(1)} s after the apply and in a running failover controller ` +
        `${((levelSeen - levelApplied) / 1000).toFixed(1)} s after it (its file read ${zkfcDebug.seconds.toFixed(1)} s)\n`,
    );

    // Memory of every JVM once the platform serves, before the restart.
    const memory: Record<string, number> = {};
    for (const pod of ALL) memory[pod] = await rssMiB(pod);

    // The regionserver serving the table's region goes; its preStop hook moves the region away.
    let serving0: string | undefined;
    await waitFor(
      'the table’s region to be served',
      async () => (serving0 = await regionLocation()) !== undefined,
      5 * 60_000,
    );
    const victim = serving0!;
    const other = REGIONSERVERS.find((r) => r !== victim)!;
    expect(REGIONSERVERS).toContain(victim);
    const victimUid = (await core.readNamespacedPod({ name: victim, namespace: ns.name })).metadata?.uid;
    const deleted = Date.now();
    await core.deleteNamespacedPod({ name: victim, namespace: ns.name });
    // While the pod is still stopping, the region is already served by the other regionserver.
    let movedWhileStopping = false;
    let movedAt = 0;
    await waitFor(
      `the region to move to ${other}`,
      async () => {
        const location = await regionLocation();
        if (location !== other) return false;
        const pod = await core.readNamespacedPod({ name: victim, namespace: ns.name }).catch(() => undefined);
        movedWhileStopping =
          pod?.metadata?.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null;
        movedAt = Date.now();
        return true;
      },
      10 * 60_000,
      undefined,
      undefined,
      logs,
    );
    expect(await readRow()).toBe('keelson was here');
    // The master ran a move of the table's region (a regionserver that just stopped would have had
    // its regions assigned anew by a crash procedure instead).
    const masterConsole = await core.readNamespacedPodLog({
      name: active,
      namespace: ns.name,
      container: 'hbase',
    });
    const procedures = masterConsole
      .split('\n')
      .filter((l) => /TransitRegionStateProcedure table=keelson/.test(l));
    expect(procedures.join('\n')).toMatch(/MOVE/);
    expect(movedWhileStopping).toBe(true);

    // The pod comes back (a new pod of the same name), joins, and the row reads the same.
    await waitReplaced(victim, victimUid, 10 * 60_000, logs);
    await waitPodsReady(ns.name, [victim], 15 * 60_000, logs);
    await waitTwoLiveRegionservers('the REST server to see two live regionservers again', 10 * 60_000, logs);
    const back = Date.now();
    expect(await readRow()).toBe('keelson was here');

    // The active master's pod goes: its znode goes with it, and the backup, waiting on that znode,
    // becomes the active master. Failed over = the backup is active and initialized and the row
    // reads back.
    expect(await activeMasters()).toEqual([active]);
    const activeUid = (await core.readNamespacedPod({ name: active, namespace: ns.name })).metadata?.uid;
    const masterDeleted = Date.now();
    await core.deleteNamespacedPod({ name: active, namespace: ns.name });
    await waitFor(
      `${backup} to become the active master, and the row to read back`,
      async () => {
        const state = await masterState(backup);
        return state?.active === true && state.initialized && (await readRow()) === 'keelson was here';
      },
      10 * 60_000,
      undefined,
      undefined,
      logs,
    );
    const failedOver = Date.now();
    // A new row is written and read; the cluster's status (an RPC to the active master) counts both
    // regionservers again, as the new master sees them.
    expect(
      (await rest('PUT', '/keelson/row2/cf:greeting', '*/*', 'application/octet-stream', 'after failover'))
        .status,
    ).toBe(200);
    expect(await readRow('row2')).toBe('after failover');
    await waitTwoLiveRegionservers('the new active master to count two live regionservers', 5 * 60_000, logs);
    // The deleted pod comes back (a new pod of the name) as a backup: it finds the new active master's
    // znode and waits on it.
    await waitReplaced(active, activeUid, 5 * 60_000, logs);
    await waitPodsReady(ns.name, [active], 10 * 60_000, logs);
    const backupAddress = `${backup}.hbase-masters-default-headless.${ns.name}.svc.cluster.local`;
    await waitFor(
      `${active} to wait as a backup on ${backup}`,
      async () =>
        (await core.readNamespacedPodLog({ name: active, namespace: ns.name, container: 'hbase' })).includes(
          `Another master is the active master, ${backupAddress},${HBASE_PORTS.masterRpc},`,
        ),
      5 * 60_000,
      undefined,
      undefined,
      logs,
    );
    expect(await activeMasters()).toEqual([backup]);
    expect(await masterState(active)).toEqual({ active: false, initialized: false });
    expect(await readRow()).toBe('keelson was here');
    const backupBack = Date.now();
    process.stdout.write(
      `hbase on the real node: master failover ${((failedOver - masterDeleted) / 1000).toFixed(1)} s ` +
        `(${active} deleted until ${backup} was active and initialized and the row read back); ` +
        `${active} back as a backup ${((backupBack - masterDeleted) / 1000).toFixed(1)} s after the deletion\n`,
    );

    // The regionservers scaled down to one: the leaving pod (the highest ordinal) unloads its regions
    // in its preStop hook, the row reads the same, and the master counts one live regionserver.
    const [staying, leaving] = REGIONSERVERS;
    const applyRegionservers = async (replicas: number) =>
      expect(
        await applyAll(
          client,
          manifests(true, replicas).filter((o) => o.kind !== 'PrometheusRule'),
          ns.name,
        ),
      ).toEqual([]);
    const stayingUid = (await core.readNamespacedPod({ name: staying, namespace: ns.name })).metadata?.uid;
    const scaledDown = Date.now();
    await applyRegionservers(1);
    await waitFor(
      `${leaving} to be gone and one live regionserver`,
      async () =>
        (await core.readNamespacedPod({ name: leaving, namespace: ns.name }).catch(() => undefined)) ===
          undefined && /^1 live servers/m.test(await clusterStatus()),
      10 * 60_000,
      undefined,
      undefined,
      logs,
    );
    const scaledDownAt = Date.now();
    expect(await readRow()).toBe('keelson was here');
    expect(await readRow('row2')).toBe('after failover');
    expect(await regionLocation()).toBe(staying);
    // The master lists the gone regionserver among its dead servers (until a master restarts or a
    // regionserver of the same address returns): why HBase's rules count live regionservers instead.
    const afterScaleDown = (await clusterStatus()).split('\n')[0];
    // Scaled back to two: a new pod of the name joins; the staying pod was never replaced.
    await applyRegionservers(2);
    await waitPodsReady(ns.name, [leaving], 10 * 60_000, logs);
    await waitTwoLiveRegionservers('two live regionservers after the scale-up', 10 * 60_000, logs);
    const scaledUpAt = Date.now();
    expect(await readRow()).toBe('keelson was here');
    expect((await core.readNamespacedPod({ name: staying, namespace: ns.name })).metadata?.uid).toBe(
      stayingUid,
    );
    process.stdout.write(
      `hbase on the real node: regionservers 2 → 1 in ${((scaledDownAt - scaledDown) / 1000).toFixed(1)} s ` +
        `(the leaving pod gone, one live regionserver; the master's status: ${afterScaleDown}), ` +
        `1 → 2 in ${((scaledUpAt - scaledDownAt) / 1000).toFixed(1)} s ` +
        `(${(await clusterStatus()).split('\n')[0]})\n`,
    );

    // HDFS' monitoring in a Prometheus of its own, whose alerts wait 30 s instead of their minutes:
    // its rules load, every metric and dashboard query has data; then the faults.
    const hdfsPrometheus = await startPrometheus(await realNode(), ns.name, {
      ruleGroups: withAlertDelay(ruleOf('hdfs').spec.groups, '30s'),
      scrapeSeconds: 15,
    });
    try {
      expect(await hdfsPrometheus.checkStacklet(hdfsMonitoringCheck(ns.name, all))).toBe(1);
      // The only datanode frozen: the namenodes declare it dead after 50 s, and the blocks it held
      // have no copy left.
      expect(
        await hdfsPrometheus.waitForValue(
          'no dead datanode yet',
          `max(hadoop_namenode_fsnamesystem_numdeaddatanodes{namespace="${ns.name}"})`,
          (v) => v === 0,
        ),
      ).toBe(0);
      await hdfsPrometheus.alertsWhileFrozen(
        ns.name,
        DATANODE,
        { HdfsDeadDatanodes: 'warning', HdfsMissingBlocks: 'critical' },
        { stacklet: 'hdfs', timeoutMs: 5 * 60_000 },
      );
      // Both namenodes' JVMs frozen (their failover controllers run on): none is active.
      const frozenAt = Date.now();
      const noActive = await whileFrozen(
        ns.name,
        NAMENODES[0],
        'java',
        () =>
          whileFrozen(
            ns.name,
            NAMENODES[1],
            'java',
            () => hdfsPrometheus.waitForAlert('HdfsNoActiveNamenode', ns.name, 5 * 60_000),
            HDFS_MAIN_CLASSES.namenode,
          ),
        HDFS_MAIN_CLASSES.namenode,
      );
      expect(noActive.labels).toMatchObject({ namespace: ns.name, stacklet: 'hdfs', severity: 'critical' });
      process.stdout.write(
        `${ns.name}: HdfsNoActiveNamenode fired within ${((Date.now() - frozenAt) / 1000).toFixed(1)} s ` +
          `of both namenodes' JVMs freezing\n`,
      );
    } finally {
      await hdfsPrometheus.stop();
    }
    const hdfsMiB = HDFS_PODS.reduce((n, p) => n + memory[p], 0);
    const hbaseMiB = HBASE_PODS.reduce((n, p) => n + memory[p], 0);
    process.stdout.write(
      `hbase on the real node: images ${((imported - started) / 1000).toFixed(1)} s (build or cache, import), ` +
        `all pods Ready ${((ready - imported) / 1000).toFixed(1)} s after apply, ` +
        `two regionservers live ${((serving - imported) / 1000).toFixed(1)} s after apply, ` +
        `table created and row put+read ${((written - serving) / 1000).toFixed(1)} s later, ` +
        `Prometheus checks ${((monitored - written) / 1000).toFixed(1)} s; ` +
        `region moved by the preStop hook ${((movedAt - deleted) / 1000).toFixed(1)} s after the regionserver's deletion, ` +
        `the regionserver back and live ${((back - deleted) / 1000).toFixed(1)} s after it; ` +
        `master failover ${((failedOver - masterDeleted) / 1000).toFixed(1)} s; ` +
        `RSS MiB (main JVM of each pod; the namenodes' failover controllers not counted): ${JSON.stringify(memory)}; ` +
        `HDFS ${hdfsMiB} MiB, HBase ${hbaseMiB} MiB, ZooKeeper ${memory['zk-servers-default-0']} MiB\n`,
    );
  });
});
