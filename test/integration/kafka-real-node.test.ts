/**
 * Kafka in KRaft mode from keelson's manifests on the real node (real containers, keelson's image
 * built here and imported into the node's containerd), in a namespace enforcing the restricted Pod
 * Security profile:
 * - one controller and three brokers become Ready (keelson's probes);
 * - a client pod running the same image's classes creates a topic with replication factor 3,
 *   produces a message through the bootstrap Service and consumes it;
 * - a broker serves Prometheus text at :9404/metrics; a Prometheus scraping keelson's targets loads
 *   keelson's rules, and a broker's process frozen (SIGSTOP, a hung JVM) makes KeelsonMetricsTargetDown,
 *   KafkaUnderReplicatedPartitions and KafkaOfflinePartitions (a topic without copies) fire, quiet
 *   before; thawed, every partition is online and in sync again; the controller frozen makes
 *   KafkaNoActiveController fire, and thawed it leads again;
 * - applying the manifests for four brokers keeps the three running pods (same node ids, no
 *   restart) and the fourth joins the quorum as an observer with the next node id;
 * - every pod runs as uid 10001 with a read-only root (the restricted profile admits nothing else);
 * - a logger's level changed in the spec of the running stacklet takes effect in the running
 *   brokers and the KRaft controller without a restart (Log4j 2 re-reads the file the kubelet
 *   updates): their DEBUG records appear in the structured files (and at the aggregator), same
 *   pods, no container restart, same pod templates.
 * The node has no storage provisioner: the test creates hostPath PersistentVolumes of a class of its
 * own, which the claims of keelson's StatefulSets bind to. Each failure prints the pods' logs.
 */
import { Chart, Testing } from 'cdk8s';
import { KAFKA_METRIC_NAMES, KafkaCluster } from '../../constructs/kafka';
import { kafkaImageRecipe } from '../../constructs/kafka/image';
import { KubeClient } from '../../lib/operator/client';
import { applyAll, RESTRICTED, type Manifest } from './admission';
import {
  FIRST_TIER_JIT,
  CLIENT_JVM_OPTIONS,
  buildImageOnRealNode,
  execInPod,
  podsLogs,
  realNode,
  REAL_NODE_PLACEMENT,
  runClientPod,
  waitPodsReady,
  HostPathVolumes,
} from './real-node-support';
import type { OtlpReceiver } from '../support/otlp-receiver';
import {
  observedClusterConfig,
  explainSkippedShipping,
  expectRecordsShipped,
  logAgentUsage,
  SHIP_LOGS,
  startLogShipping,
} from './log-shipping';
import { expectSharedRecordShape, readStructuredLog, waitForRecords } from './structured-logs';
import { startPrometheus, withAlertDelay } from './prometheus-support';
import { adminClients, adminKubeConfig, useTestNamespace } from './support';

jest.setTimeout(40 * 60_000);

const VERSION = '4.1.0';
const STORAGE_CLASS = 'keelson-test-hostpath';

explainSkippedShipping('kafka-real-node');
/** The test aggregator every pod's log agent ships to, and its discovery ConfigMap's data. */
let aggregator: OtlpReceiver | undefined;
let dependencies: Record<string, Record<string, string>> = {};
afterAll(async () => {
  await aggregator?.close();
});

describe(`Kafka ${VERSION} KRaft on the real node`, () => {
  const ns = useTestNamespace('kafka-real', RESTRICTED);
  const { core, apps } = adminClients();
  const client = new KubeClient(adminKubeConfig());
  const volumes = new HostPathVolumes('kafka-node');

  afterAll(async () => {
    await volumes.removeAll();
  });

  /**
   * The stacklet with `brokers` brokers. The file takes DEBUG and the root logger INFO, so that
   * `loggers` at DEBUG decide which DEBUG records the file gets.
   */
  function manifests(brokers: number, loggers: Record<string, { level: 'DEBUG' }> = {}): Manifest[] {
    const chart = new Chart(Testing.app(), 'platform', { namespace: ns.name });
    const config = (capacity: string) => ({
      resources: {
        memory: { limit: '512Mi' },
        cpu: { min: '100m', max: '1' },
        storage: { 'log-dirs': { capacity, storageClass: STORAGE_CLASS } },
      },
      logging: {
        containers: {
          kafka: {
            file: { level: 'DEBUG' as const },
            loggers: { ROOT: { level: 'INFO' as const }, ...loggers },
          },
        },
      },
    });
    new KafkaCluster(
      chart,
      'kafka',
      {
        image: { productVersion: VERSION, pullPolicy: 'Never' },
        clusterConfig: {
          ...observedClusterConfig(),
        },
        controllers: {
          ...FIRST_TIER_JIT,
          podOverrides: { spec: REAL_NODE_PLACEMENT },
          roleGroups: { default: { replicas: 1, config: config('1Gi') } },
        },
        brokers: {
          ...FIRST_TIER_JIT,
          podOverrides: { spec: REAL_NODE_PLACEMENT },
          roleGroups: { default: { replicas: brokers, config: config('1Gi') } },
        },
      },
      { dependencies },
    );
    return Testing.synth(chart) as Manifest[];
  }
  // The PrometheusRule's groups go to the test Prometheus' rule file (no prometheus-operator here).
  const withoutRules = (objects: Manifest[]) => objects.filter((o) => o.kind !== 'PrometheusRule');
  const ruleGroupsOf = (objects: Manifest[]) =>
    (objects.find((o) => o.kind === 'PrometheusRule') as unknown as { spec: { groups: unknown[] } }).spec
      .groups;

  /** A client pod running one of Kafka's classes from keelson's image; returns its output. */
  const tool = (name: string, script: string, pods: string[]) =>
    runClientPod(
      ns.name,
      {
        name,
        image: kafkaImageRecipe(VERSION).reference,
        command: ['/bin/bash', '-c', script],
        labels: { 'app.kubernetes.io/name': 'kafka', 'app.kubernetes.io/instance': 'kafka' },
      },
      () => podsLogs(ns.name, pods),
    );
  const waitReady = (pods: string[]) => waitPodsReady(ns.name, pods, 15 * 60_000);

  const java = (mainClass: string, args: string) =>
    `java ${CLIENT_JVM_OPTIONS} -Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties -cp '/opt/kafka/libs/*' ${mainClass} ${args}`;

  it('runs a controller and three brokers, replicates, serves metrics, and scales brokers 3 → 4', async () => {
    await realNode();
    await buildImageOnRealNode(kafkaImageRecipe(VERSION));
    if (SHIP_LOGS) ({ aggregator, dependencies } = await startLogShipping(ns.name));
    for (const i of [0, 1, 2, 3, 4]) await volumes.add(`${ns.name}-${i}`, STORAGE_CLASS);

    const controllers = ['kafka-controllers-default-0'];
    const three = ['kafka-brokers-default-0', 'kafka-brokers-default-1', 'kafka-brokers-default-2'];
    const threeBrokers = manifests(3);
    expect(await applyAll(client, withoutRules(threeBrokers), ns.name)).toEqual([]);
    await waitReady([...controllers, ...three]);

    for (const name of [...controllers, ...three]) {
      const pod = await core.readNamespacedPod({ name, namespace: ns.name });
      expect(pod.spec?.containers[0].securityContext).toMatchObject({ readOnlyRootFilesystem: true });
      expect(pod.spec?.securityContext).toMatchObject({ runAsUser: 10001 });
    }

    // A Prometheus finds every pod through keelson's scrape job; bytes in grow as the client produces.
    // (A JMX exporter scrape of a CPU-starved broker takes many seconds on the loaded machine: 30 s scrapes.)
    const prometheus = await startPrometheus(await realNode(), ns.name, {
      ruleGroups: withAlertDelay(ruleGroupsOf(threeBrokers), '30s'),
      scrapeSeconds: 30,
    });
    const bytesIn = `sum(kafka_server_brokertopicmetrics_bytesin_total{namespace="${ns.name}", topic=""})`;
    let bytesBefore = 0;
    try {
      await prometheus.waitForValue(
        'all four pods scraped',
        `count(up{namespace="${ns.name}", product="kafka"} == 1)`,
        (v) => v === 4,
      );
      bytesBefore = await prometheus.waitForValue('bytes in', bytesIn);
    } catch (error) {
      await prometheus.stop();
      throw error;
    }
    const bootstrap = `kafka-brokers.${ns.name}.svc.cluster.local:9092`;
    const out = await tool(
      'client-produce-consume',
      [
        'set -eu',
        java(
          'org.apache.kafka.tools.TopicCommand',
          `--bootstrap-server ${bootstrap} --create --topic orders --partitions 3 --replication-factor 3`,
        ),
        java(
          'org.apache.kafka.tools.TopicCommand',
          `--bootstrap-server ${bootstrap} --describe --topic orders`,
        ),
        // A topic without copies, one partition on each broker: a broker that stops answering
        // leaves its partition without a leader (offline), which the fault below needs.
        java(
          'org.apache.kafka.tools.TopicCommand',
          `--bootstrap-server ${bootstrap} --create --topic unreplicated --partitions 3 --replication-factor 1`,
        ),
        `echo keelson-order-1 | ${java('org.apache.kafka.tools.ConsoleProducer', `--bootstrap-server ${bootstrap} --topic orders`)}`,
        java(
          'org.apache.kafka.tools.consumer.ConsoleConsumer',
          `--bootstrap-server ${bootstrap} --topic orders --from-beginning --max-messages 1 --timeout-ms 60000`,
        ),
        // The metrics endpoint of the first broker, in Prometheus text.
        `exec 3<>/dev/tcp/kafka-brokers-default-0.kafka-brokers-default-headless.${ns.name}.svc.cluster.local/9404`,
        "printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' >&3",
        'grep -aiE "^(content-type|kafka_server_replicamanager_partitioncount|jvm_memory_used_bytes)" <&3',
      ].join('\n'),
      [...controllers, ...three],
    );
    expect(out).toMatch(/ReplicationFactor: 3/);
    expect(out).toContain('keelson-order-1');
    expect(out).toMatch(/content-type: text\/plain; version=0\.0\.4/i);
    expect(out).toMatch(/^kafka_server_replicamanager_partitioncount \d/m);
    try {
      expect(
        await prometheus.waitForValue('bytes in to grow', bytesIn, (v) => v > bytesBefore),
      ).toBeGreaterThan(bytesBefore);
      // keelson's rules load and evaluate; a recording rule sees the bytes produced; the
      // dashboard's queries and the rules' metric names all have data.
      expect(
        await prometheus.checkStacklet({
          namespace: ns.name,
          metricNames: KAFKA_METRIC_NAMES,
          dashboard: threeBrokers.find((o) => o.metadata.name === 'kafka-dashboard'),
          recording: {
            what: 'the bytes-in recording rule',
            expr: `stacklet:kafka_bytes_in:rate5m{namespace="${ns.name}", stacklet="kafka"}`,
            accept: (v) => v > 0,
          },
        }),
      ).toBeGreaterThan(0);

      // A fault: a broker's process freezes, as a hung JVM would (its sockets stay open, so the
      // kubelet's TCP probes pass and nothing restarts it). Its scrapes time out, its replicas drop
      // out of the in-sync sets of the partitions' leaders, and the controller fences it, so the
      // partition of `unreplicated` it held has no leader: keelson's target and partition alerts
      // fire (their for: shortened to 30 s), quiet before the fault.
      const frozen = three[2];
      const fired = await prometheus.alertsWhileFrozen(
        ns.name,
        frozen,
        {
          KeelsonMetricsTargetDown: 'warning',
          KafkaUnderReplicatedPartitions: 'warning',
          KafkaOfflinePartitions: 'critical',
        },
        { stacklet: 'kafka', quietBefore: 'all' },
      );
      expect(fired.KeelsonMetricsTargetDown.labels.pod).toBe(frozen);
      expect(fired.KafkaOfflinePartitions.annotations.summary).toBe(
        '1 partitions have no leader: producing to and consuming from them fails.',
      );
      expect(fired.KafkaUnderReplicatedPartitions.annotations.summary).toMatch(
        /^[1-9]\d* partitions have fewer in-sync replicas than replicas\.$/,
      );
      // Thawed, the broker catches up: every partition has a leader and is in sync again.
      const thawedAt = Date.now();
      await prometheus.waitForValue(
        'every partition in sync again',
        `stacklet:kafka_under_replicated_partitions:sum{namespace="${ns.name}", stacklet="kafka"}`,
        (v) => v === 0,
        5 * 60_000,
      );
      await prometheus.waitForValue(
        'every partition online again',
        `max(kafka_controller_kafkacontroller_offlinepartitionscount{namespace="${ns.name}", stacklet="kafka"})`,
        (v) => v === 0,
        5 * 60_000,
      );
      process.stdout.write(
        `kafka on the real node: every partition online and in sync again ${((Date.now() - thawedAt) / 1000).toFixed(1)} s after the thaw\n`,
      );

      // A second fault: the only controller freezes. Its metrics go stale and no other node is the
      // active controller: keelson's controller alert fires. Thawed, it leads again, and the brokers
      // it fenced meanwhile come back: every partition online and in sync.
      const { KafkaNoActiveController: noController } = await prometheus.alertsWhileFrozen(
        ns.name,
        controllers[0],
        { KafkaNoActiveController: 'critical' },
        { stacklet: 'kafka' },
      );
      expect(noController.annotations.summary).toBe('The cluster has 0 active controllers instead of one.');
      const controllerThawedAt = Date.now();
      await prometheus.waitForValue(
        'one active controller again',
        `sum(kafka_controller_kafkacontroller_activecontrollercount{namespace="${ns.name}", stacklet="kafka"})`,
        (v) => v === 1,
        5 * 60_000,
      );
      for (const [what, expr] of [
        [
          'online',
          `max(kafka_controller_kafkacontroller_offlinepartitionscount{namespace="${ns.name}", stacklet="kafka"})`,
        ],
        [
          'in sync',
          `stacklet:kafka_under_replicated_partitions:sum{namespace="${ns.name}", stacklet="kafka"}`,
        ],
      ])
        await prometheus.waitForValue(`every partition ${what} again`, expr, (v) => v === 0, 5 * 60_000);
      process.stdout.write(
        `kafka on the real node: one active controller, every partition online and in sync ` +
          `${((Date.now() - controllerThawedAt) / 1000).toFixed(1)} s after the controller's thaw\n`,
      );
    } finally {
      await prometheus.stop();
    }

    // Kafka 4 writes its structured log file (lib/logging) through Log4j 2: the broker's start is in it.
    const records = await readStructuredLog(ns.name, three[0], 'kafka');
    expectSharedRecordShape(records);
    expect(records).toContainEqual(
      expect.objectContaining({ level: 'INFO', message: expect.stringMatching(/Kafka Server started/) }),
    );
    // Each pod's log agent ships its records, with their source.
    if (SHIP_LOGS) {
      for (const [pod, role] of [
        [controllers[0], 'controllers'],
        [three[0], 'brokers'],
      ]) {
        await expectRecordsShipped(aggregator!, {
          namespace: ns.name,
          pod,
          container: 'kafka',
          product: 'kafka',
          stacklet: 'kafka',
          role,
          roleGroup: 'default',
        });
      }
      process.stdout.write(`kafka on the real node: ${logAgentUsage(ns.name)}\n`);
    }

    // A logger's level changed in the spec of the running brokers and controller: Log4j 2 re-reads
    // its file, which the kubelet updates in place (the file is not part of the config hash), so
    // without a restart the brokers log each heartbeat's response at DEBUG, and the controller each
    // event it processed (a broker's heartbeat among them).
    const lifecycle = 'kafka.server.BrokerLifecycleManager';
    const quorumController = 'org.apache.kafka.controller.QuorumController';
    expect(records.filter((r) => r.level === 'DEBUG')).toEqual([]);
    expect(
      (await readStructuredLog(ns.name, controllers[0], 'kafka')).filter((r) => r.level === 'DEBUG'),
    ).toEqual([]);
    const templates = () =>
      Promise.all(
        ['kafka-brokers-default', 'kafka-controllers-default'].map(
          async (name) => (await apps.readNamespacedStatefulSet({ name, namespace: ns.name })).spec?.template,
        ),
      );
    const podStates = () =>
      Promise.all(
        [...controllers, ...three].map(async (name) => {
          const pod = await core.readNamespacedPod({ name, namespace: ns.name });
          return { name, uid: pod.metadata?.uid, restarts: pod.status?.containerStatuses?.[0].restartCount };
        }),
      );
    const running = { templates: await templates(), pods: await podStates() };
    // The brokers never restarted; the controller's count is whatever its freeze above left, and
    // must not move with the level change.
    expect(running.pods.filter((p) => three.includes(p.name)).map((p) => p.restarts)).toEqual([0, 0, 0]);
    expect(
      await applyAll(
        client,
        withoutRules(
          manifests(3, { [lifecycle]: { level: 'DEBUG' }, [quorumController]: { level: 'DEBUG' } }),
        ),
        ns.name,
      ),
    ).toEqual([]);
    /** Waits for `logger`'s DEBUG records in `pod`'s file; a failure shows its Log4j 2 file and log. */
    const debugRecords = (pod: string, logger: string) =>
      waitForRecords(
        ns.name,
        pod,
        'kafka',
        `DEBUG record of ${logger}`,
        (r) => r.level === 'DEBUG' && r.logger === logger,
        async () =>
          (await execInPod(ns.name, pod, 'cat /kafka/config/log4j2.properties').catch(
            (e: Error) => e.message,
          )) + (await podsLogs(ns.name, [pod])),
      );
    const changed = await debugRecords(three[0], lifecycle);
    const controllerChanged = await debugRecords(controllers[0], quorumController);
    process.stdout.write(
      `kafka on the real node: a logger's DEBUG level in the spec took effect in a running broker ${changed.seconds.toFixed(1)} s ` +
        `after apply, and in the running controller ${controllerChanged.seconds.toFixed(1)} s after that\n`,
    );
    expect(await templates()).toEqual(running.templates);
    expect(await podStates()).toEqual(running.pods);
    if (SHIP_LOGS) {
      await aggregator!.waitFor(
        `a DEBUG record of ${lifecycle} from ${three[0]}`,
        (r) =>
          r.severityText === 'DEBUG' &&
          r.attributes.logger === lifecycle &&
          r.resource['k8s.pod.name'] === three[0],
      );
    }

    // 3 → 4 (and the logger back to INFO): the running brokers keep their pods (no restart), the
    // fourth joins with the next id.
    const before = await Promise.all(
      three.map((name) => core.readNamespacedPod({ name, namespace: ns.name })),
    );
    expect(await applyAll(client, withoutRules(manifests(4)), ns.name)).toEqual([]);
    const four = [...three, 'kafka-brokers-default-3'];
    await waitReady(four);
    for (const pod of before) {
      const now = await core.readNamespacedPod({ name: pod.metadata!.name!, namespace: ns.name });
      expect(now.metadata?.uid).toBe(pod.metadata?.uid);
      expect(now.status?.containerStatuses?.[0].restartCount).toBe(0);
    }
    const script = (before[0].spec!.containers[0].command ?? [])[2];
    const offset = Number(/\+ (\d+) \)\)/.exec(script)![1]);
    const quorum = await tool(
      'client-quorum',
      java(
        'org.apache.kafka.tools.MetadataQuorumCommand',
        `--bootstrap-server ${bootstrap} describe --replication`,
      ),
      [...controllers, ...four],
    );
    for (const id of [0, 1, 2, 3]) expect(quorum).toMatch(new RegExp(`^${offset + id}\\s`, 'm'));
  });
});
