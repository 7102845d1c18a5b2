/**
 * ZooKeeper from keelson's manifests on the real node, with keelson's own build of
 * `docker.io/library/zookeeper:3.9.4` imported into the node's containerd, in a namespace enforcing
 * the restricted Pod Security profile:
 * - three servers reach quorum (`srvr`: one leader, two followers) and become Ready by keelson's probe;
 * - a znode written through one server is read through another, and a ZookeeperZnode's chroot
 *   works for a client (a pod running the image's jars: `java -cp … ZooKeeperMain`);
 * - the metrics port serves Prometheus text;
 * - the servers run as uid 10001 with a read-only root filesystem;
 * - each server writes its structured log file (lib/logging) as JSON lines with the shared fields,
 *   INFO records included, while its console, set to WARN, has no INFO line;
 * - with `clusterConfig.logging.aggregatorConfigMapName`, each server's log agent sidecar ships its
 *   records to a test OTLP/HTTP aggregator (a process of this test on the host end of the node's
 *   veth, which pods reach through the node's masquerade), each with the product, stacklet, role,
 *   role group, pod and namespace, and the same message and time the file holds. Runs where the
 *   agent is built (`npx keelson image build log-agent 0.165.0 --out <dir>`, or KEELSON_TEST_LOG_AGENT=1 to build it
 *   first: minutes on a cold machine); otherwise the servers run without it and that test says why it is skipped.
 * - a logger's level changed in the spec of the running stacklet takes effect without a restart:
 *   DEBUG records of `org.apache.zookeeper` appear in the file (and at the aggregator) after the
 *   change and not before, while the StatefulSet's pod template and the pods stay the same.
 * - keelson's alert rules, loaded in the test Prometheus, fire under a fault: with one server
 *   stopped (the StatefulSet scaled to two), the leader has one follower in sync of two and
 *   `ZookeeperFollowersNotSynced` fires with the stacklet's labels, while `ZookeeperQuorumLost` (two
 *   of three still answer) does not; then one of the two left freezes (SIGSTOP, a hung JVM) and
 *   `ZookeeperQuorumLost`, `ZookeeperNoLeader` and `KeelsonMetricsTargetDown` fire, quiet before.
 * Each failure prints the servers' logs.
 */
import { Chart, Testing } from 'cdk8s';
import * as k8s from '@kubernetes/client-node';
import {
  ZOOKEEPER_METRIC_NAMES,
  ZookeeperCluster,
  ZookeeperZnode,
  zookeeperDistDir,
} from '../../constructs/zookeeper';
import { zookeeperImageRecipe } from '../../constructs/zookeeper/image';
import type { OtlpReceiver } from '../support/otlp-receiver';
import { KubeClient } from '../../lib/operator/client';
import { applyAll, RESTRICTED, type Manifest } from './admission';
import {
  CLIENT_JVM_OPTIONS,
  buildImageOnRealNode,
  execInPod,
  podsLogs,
  realNode,
  REAL_NODE_PLACEMENT,
  runClientPod,
  waitPodsReady,
} from './real-node-support';
import {
  observedClusterConfig,
  explainSkippedShipping,
  expectRecordsShipped,
  logAgentUsage,
  SHIP_LOGS,
  startLogShipping,
} from './log-shipping';
import { expectSharedRecordShape, readStructuredLog, type LogRecord } from './structured-logs';
import { startPrometheus, withAlertDelay, type TestPrometheus } from './prometheus-support';
import { adminClients, adminKubeConfig, useTestNamespace } from './support';

jest.setTimeout(30 * 60_000);

const VERSION = '3.9.4';
const SERVERS = ['zk-servers-default-0', 'zk-servers-default-1', 'zk-servers-default-2'];

explainSkippedShipping('zookeeper-real-node');
/** The test aggregator the servers' log agents ship to (when SHIP_LOGS). */
let aggregator: OtlpReceiver | undefined;
/** The test Prometheus, running from the scrape checks to the fault at the end. */
let prometheus: TestPrometheus | undefined;
afterAll(async () => {
  await aggregator?.close();
  await prometheus?.stop();
});

describe('ZooKeeper on the real node', () => {
  const ns = useTestNamespace('zk-real', RESTRICTED);
  const { core, apps } = adminClients();
  const client = new KubeClient(adminKubeConfig());

  it('forms a quorum from keelson manifests, serves reads of writes across servers, a chroot and metrics', async () => {
    await realNode();
    const started = Date.now();
    await buildImageOnRealNode(zookeeperImageRecipe(VERSION));
    let dependencies: Record<string, Record<string, string>> = {};
    if (SHIP_LOGS) ({ aggregator, dependencies } = await startLogShipping(ns.name));
    const imported = Date.now();

    // The file takes DEBUG, but the root logger stays at INFO: a logger's level decides (see below).
    const platform = (loggers: Record<string, { level: 'DEBUG' | 'INFO' }>) => {
      const chart = new Chart(Testing.app(), 'platform', { namespace: ns.name });
      const zk = new ZookeeperCluster(
        chart,
        'zk',
        {
          image: { productVersion: VERSION, pullPolicy: 'Never' },
          clusterConfig: {
            ...observedClusterConfig(),
          },
          servers: {
            // Small heaps: three servers and a client share the 2-core test machine.
            config: {
              resources: { memory: { limit: '512Mi' }, cpu: { min: '100m', max: '1' } },
              logging: {
                containers: {
                  zookeeper: {
                    console: { level: 'WARN' },
                    file: { level: 'DEBUG' },
                    loggers: { ROOT: { level: 'INFO' }, ...loggers },
                  },
                },
              },
            },
            podOverrides: { spec: REAL_NODE_PLACEMENT },
          },
        },
        { dependencies },
      );
      const znode = new ZookeeperZnode(chart, 'znode', { zookeeper: zk });
      return { chart, zk, znode };
    };
    const { chart, zk, znode } = platform({});
    // The PrometheusRule's groups go to the test Prometheus' rule file (no prometheus-operator here).
    const objects = Testing.synth(chart) as Manifest[];
    const rule = objects.find((o) => o.kind === 'PrometheusRule')!;
    const dashboard = objects.find((o) => o.metadata.name === 'zk-dashboard')!;
    const withoutRule = (manifests: Manifest[]) => manifests.filter((o) => o.kind !== 'PrometheusRule');
    expect(await applyAll(client, withoutRule(objects), ns.name)).toEqual([]);

    await waitPodsReady(ns.name, SERVERS);
    const ready = Date.now();
    process.stdout.write(
      `zookeeper on the real node: image ${((imported - started) / 1000).toFixed(1)} s (build or cache, import), ` +
        `three servers Ready ${((ready - imported) / 1000).toFixed(1)} s after apply\n`,
    );

    for (const name of SERVERS) {
      const pod = await core.readNamespacedPod({ name, namespace: ns.name });
      expect(pod.spec?.securityContext).toMatchObject({
        runAsUser: 10001,
        runAsGroup: 10001,
        runAsNonRoot: true,
      });
      for (const c of pod.spec?.containers ?? []) {
        expect(c.securityContext).toMatchObject({
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
        });
      }
    }

    const hosts = zk.hosts.split(',');
    const chroot = znode.path;
    const cli = `java ${CLIENT_JVM_OPTIONS} -cp '${zookeeperDistDir(VERSION)}/lib/*:/conf' org.apache.zookeeper.ZooKeeperMain`;
    const [metricsHost] = hosts[0].split(':');
    // Ready servers are in a quorum, but a client may resolve a just-Ready server's name before
    // the DNS record is published: each server gets two minutes to answer with its mode.
    const srvr = (host: string, port: string) =>
      `for i in $(seq 60); do mode=$(echo srvr | nc -w 5 ${host} ${port} | grep '^Mode:' || true); ` +
      `[ -n "$mode" ] && break; sleep 2; done; echo "srvr $mode"`;
    const script = [
      'set -eu',
      ...hosts.map((h) => {
        const [host, port] = h.split(':');
        return srvr(host, port);
      }),
      `${cli} -server ${hosts[0]} create /keelson-real-node written-through-0 2>&1 | grep -v ' INFO ' || true`,
      `echo "read: $(${cli} -server ${hosts[1]} get /keelson-real-node 2>/dev/null | grep written-through || true)"`,
      `${cli} -server ${hosts[0]} create ${chroot} '' 2>&1 | grep -v ' INFO ' || true`,
      `${cli} -server ${hosts[2]}${chroot} create /inside chrooted 2>&1 | grep -v ' INFO ' || true`,
      `echo "chroot: $(${cli} -server ${hosts[1]} get ${chroot}/inside 2>/dev/null | grep chrooted || true)"`,
      `exec 3<>/dev/tcp/${metricsHost}/7000`,
      `printf 'GET /metrics HTTP/1.0\\r\\nHost: ${metricsHost}\\r\\n\\r\\n' >&3`,
      "cat <&3 | grep -E '^# TYPE|^HTTP/' | head -5 | sed 's/^/metrics: /'",
    ].join('\n');
    // A Prometheus finds every server through keelson's scrape job and sees the znodes the client
    // adds. Its alerts wait 30 s instead of their minutes, for the fault at the end of the test.
    const ruleGroups = (rule as unknown as { spec: { groups: unknown[] } }).spec.groups;
    prometheus = await startPrometheus(await realNode(), ns.name, {
      ruleGroups: withAlertDelay(ruleGroups, '30s'),
    });
    const znodes = `max(znode_count{namespace="${ns.name}", product="zookeeper"})`;
    await prometheus.waitForValue(
      'all three servers scraped',
      `count(up{namespace="${ns.name}", role="servers"} == 1)`,
      (v) => v === 3,
    );
    const before = await prometheus.waitForValue('znode_count', znodes);
    const output = await runClientPod(
      ns.name,
      {
        name: 'client',
        image: zookeeperImageRecipe(VERSION).reference,
        command: ['/bin/bash', '-c', script],
        memory: '512Mi',
      },
      () => podsLogs(ns.name, SERVERS),
    );
    const modes = output
      .split('\n')
      .filter((l) => l.startsWith('srvr '))
      .map((l) => l.replace('srvr Mode: ', ''))
      .sort();
    expect({ modes, output }).toMatchObject({ modes: ['follower', 'follower', 'leader'] });
    expect(output).toContain('read: written-through-0');
    expect(output).toContain('chroot: chrooted');
    expect(output).toMatch(/metrics: HTTP\/1\.[01] 200/);
    expect(output).toMatch(/metrics: # TYPE \w+ (gauge|counter|summary)/);
    // The client created three znodes (one, the chroot, one inside it).
    expect(
      await prometheus.waitForValue('znode_count to grow by 3', znodes, (v) => v >= before + 3),
    ).toBeGreaterThanOrEqual(before + 3);
    // keelson's rules load and evaluate; a recording rule follows the znodes; the dashboard's
    // queries and the rules' metric names all have data.
    expect(
      await prometheus.checkStacklet({
        namespace: ns.name,
        metricNames: ZOOKEEPER_METRIC_NAMES,
        dashboard,
        recording: {
          what: 'the znode recording rule',
          expr: `stacklet:znode_count:max{namespace="${ns.name}", stacklet="zk"}`,
          accept: (v) => v >= before + 3,
        },
      }),
    ).toBeGreaterThanOrEqual(before + 3);
    expect(await prometheus.value(`ALERTS{namespace="${ns.name}", alertstate="firing"}`)).toBeUndefined();

    // The structured file has the quorum's INFO records; the console (WARN) has none.
    const records = await readStructuredLog(ns.name, SERVERS[0], 'zookeeper');
    expectSharedRecordShape(records);
    expect(records).toContainEqual(
      expect.objectContaining({
        level: 'INFO',
        logger: expect.stringMatching(/^org\.apache\.zookeeper\./),
      }),
    );
    const console = await podsLogs(ns.name, [SERVERS[0]]);
    expect(console).not.toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO /m);

    if (SHIP_LOGS) {
      // Every server's agent ships its records, naming the server.
      for (const pod of SERVERS) {
        await expectRecordsShipped(aggregator!, {
          namespace: ns.name,
          pod,
          container: 'zookeeper',
          product: 'zookeeper',
          stacklet: 'zk',
          role: 'servers',
          roleGroup: 'default',
        });
      }
      process.stdout.write(`zookeeper on the real node: ${logAgentUsage(ns.name)}\n`);
    }

    // A logger's level changed on the running stacklet: logback rescans its file, which the kubelet
    // updates in place, so DEBUG records of that logger appear without the pods being replaced.
    const isDebug = (r: LogRecord) => r.level === 'DEBUG' && r.logger.startsWith('org.apache.zookeeper');
    expect((await readStructuredLog(ns.name, SERVERS[0], 'zookeeper')).filter(isDebug)).toEqual([]);
    const workload = () => apps.readNamespacedStatefulSet({ name: 'zk-servers-default', namespace: ns.name });
    const uids = async () =>
      Promise.all(
        SERVERS.map(
          async (name) => (await core.readNamespacedPod({ name, namespace: ns.name })).metadata?.uid,
        ),
      );
    const unchanged = { template: (await workload()).spec?.template, uids: await uids() };
    const changed = platform({ 'org.apache.zookeeper': { level: 'DEBUG' } });
    expect(await applyAll(client, withoutRule(Testing.synth(changed.chart) as Manifest[]), ns.name)).toEqual(
      [],
    );
    const changedAt = Date.now();
    let debug: LogRecord[] = [];
    // The kubelet's sync period (10 s on the test node) plus logback's scan (10 s), with room.
    while (debug.length === 0 && Date.now() - changedAt < 90_000) {
      await new Promise((r) => setTimeout(r, 2000));
      debug = (await readStructuredLog(ns.name, SERVERS[0], 'zookeeper')).filter(isDebug);
    }
    if (debug.length === 0) {
      throw new Error(
        `no DEBUG record of org.apache.zookeeper in ${SERVERS[0]}'s file 90 s after the level change\n` +
          (await execInPod(ns.name, SERVERS[0], 'cat /conf/logback.xml').catch((e: Error) => e.message)) +
          (await podsLogs(ns.name, [SERVERS[0]])),
      );
    }
    process.stdout.write(
      `zookeeper on the real node: a logger's DEBUG level took effect ${((Date.now() - changedAt) / 1000).toFixed(1)} s after apply\n`,
    );
    // Same pod template (no roll), same pods.
    expect((await workload()).spec?.template).toEqual(unchanged.template);
    expect(await uids()).toEqual(unchanged.uids);
    if (SHIP_LOGS) {
      await aggregator!.waitFor(
        `a DEBUG record of org.apache.zookeeper from ${SERVERS[0]}`,
        (r) =>
          r.severityText === 'DEBUG' &&
          r.attributes.logger?.startsWith('org.apache.zookeeper') === true &&
          r.resource['k8s.pod.name'] === SERVERS[0],
      );
    }

    // A fault: one server stops (its StatefulSet scaled to two, as a lost node would leave it). The
    // leader keeps one of its two followers in sync, and keelson's alert says so; two of three
    // servers are still a quorum, so the quorum alert stays quiet.
    await apps.patchNamespacedStatefulSetScale(
      {
        name: 'zk-servers-default',
        namespace: ns.name,
        body: [{ op: 'replace', path: '/spec/replicas', value: 2 }],
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
    );
    const stoppedAt = Date.now();
    const alert = await prometheus.waitForAlert('ZookeeperFollowersNotSynced', ns.name);
    process.stdout.write(
      `zookeeper on the real node: ZookeeperFollowersNotSynced fired ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s ` +
        `after a server stopped (its for: shortened to 30 s)\n`,
    );
    expect(alert.labels).toMatchObject({
      namespace: ns.name,
      stacklet: 'zk',
      product: 'zookeeper',
      severity: 'warning',
    });
    expect(alert.annotations.summary).toBe('The leader has 1 of 2 followers in sync.');

    // A second fault: one of the two servers left freezes, as a hung JVM would (its sockets stay
    // open, so its probes pass and nothing restarts it). One of three servers answers: the ensemble
    // has no quorum and no leader, and the frozen server's scrapes time out; the three alerts fire.
    const frozen = SERVERS[1];
    const fired = await prometheus.alertsWhileFrozen(
      ns.name,
      frozen,
      { ZookeeperQuorumLost: 'critical', ZookeeperNoLeader: 'critical', KeelsonMetricsTargetDown: 'warning' },
      { stacklet: 'zk' },
    );
    expect(fired.ZookeeperQuorumLost.annotations.summary).toBe(
      'Fewer than 2 of the 3 ZooKeeper servers answer: the ensemble has no quorum.',
    );
    expect(fired.KeelsonMetricsTargetDown.labels.pod).toBe(frozen);
  });

  // The run's summary shows what did not run, and why.
  if (!SHIP_LOGS) {
    it.skip("ships the servers' records through the log agent: skipped, the agent is not built", () =>
      undefined);
  }
});
