/**
 * The Hive metastore from keelson's manifests on the real node (real containers, keelson's image
 * built here and imported into the node's containerd), in a namespace enforcing the restricted
 * Pod Security profile, on PostgreSQL (Debian's postgresql-15 in a pod of its own, also restricted;
 * see database-servers.ts):
 * - the schema-init container creates the schema; after the pod is deleted, the new pod's
 *   schema-init finds it and changes nothing, and the database created before is still listed;
 * - a Thrift client (a pod running keelson's image) creates and lists a database and creates a
 *   partitioned table through the metastores' client Service, and a partition filter finds the
 *   partition with the metastore's PostgreSQL-dialect SQL (no fallback to its ORM);
 * - the pods run as uid 10001 with a read-only root (the restricted profile admits nothing else);
 * - a test Prometheus scrapes the metastore through keelson's scrape job and loads keelson's rules;
 *   the metastore's process frozen (SIGSTOP, a hung JVM) makes HiveMetastoreUnavailable and
 *   KeelsonMetricsTargetDown fire, quiet before; thawed, it is scraped again;
 * - with `clusterConfig.logging.aggregatorConfigMapName`, the metastore's log agent ships its
 *   records, with their source, to a test aggregator (where the agent is built; see log-shipping.ts);
 * - the root logger set to DEBUG on the running stacklet takes effect without a restart (Log4j 2
 *   re-reads the file the kubelet updates): DEBUG records appear in the file, and at the aggregator,
 *   while the pod and the StatefulSet's pod template stay the same.
 * Not covered here: S3 (the warehouse is the pod's own emptyDir).
 * Each failure prints the containers' logs.
 */
import { Chart, Testing } from 'cdk8s';
import { HIVE_METRIC_NAMES, HiveCluster } from '../../constructs/hive';
import { hiveImageRecipe } from '../../constructs/hive/image';
import { KubeClient } from '../../lib/operator/client';
import { applyAll, RESTRICTED, type Manifest } from './admission';
import {
  installMetastoreProbe,
  runMetastoreProbe,
  startPostgres,
  postgresMetastoreDatabase,
} from './hive-real-node-support';
import { buildImageOnRealNode, realNode, REAL_NODE_PLACEMENT, waitPodsReady } from './real-node-support';
import type { OtlpReceiver } from '../support/otlp-receiver';
import {
  observedClusterConfig,
  explainSkippedShipping,
  expectRecordsShipped,
  logAgentUsage,
  SHIP_LOGS,
  startLogShipping,
} from './log-shipping';
import { expectSharedRecordShape, readStructuredLog, type LogRecord } from './structured-logs';
import { startPrometheus, withAlertDelay } from './prometheus-support';
import { adminClients, adminKubeConfig, useTestNamespace, waitFor } from './support';

jest.setTimeout(30 * 60_000);

const VERSION = '4.0.1';
const METASTORE = 'hive-metastores-default-0';

explainSkippedShipping('hive-real-node');
let aggregator: OtlpReceiver | undefined;
afterAll(async () => {
  await aggregator?.close();
});

describe('the Hive metastore on the real node, on PostgreSQL', () => {
  const ns = useTestNamespace('hive-real', RESTRICTED);
  const { core, apps } = adminClients();
  const client = new KubeClient(adminKubeConfig());
  const probe = (name: string, args: string[], table?: string) =>
    runMetastoreProbe(ns.name, {
      name,
      version: VERSION,
      metastoreUri: `thrift://hive-metastores.${ns.name}.svc.cluster.local:9083`,
      args,
      table,
      metastorePods: [METASTORE, 'postgres'],
    });

  it('creates the schema once, serves Thrift, and keeps both across a restart', async () => {
    await realNode();
    await buildImageOnRealNode(hiveImageRecipe(VERSION));
    await installMetastoreProbe(ns.name, VERSION);
    const host = await startPostgres(ns.name);
    let dependencies: Record<string, Record<string, string>> = {};
    if (SHIP_LOGS) ({ aggregator, dependencies } = await startLogShipping(ns.name));

    // keelson's manifests, placed on the real node. The file takes DEBUG; the root logger decides.
    const hiveManifests = (root: 'INFO' | 'DEBUG') => {
      const chart = new Chart(Testing.app(), 'platform', { namespace: ns.name });
      new HiveCluster(
        chart,
        'hive',
        {
          image: { productVersion: VERSION, pullPolicy: 'Never' },
          clusterConfig: {
            database: postgresMetastoreDatabase(host),
            ...observedClusterConfig(),
          },
          metastores: {
            config: {
              logging: {
                containers: { hive: { file: { level: 'DEBUG' }, loggers: { ROOT: { level: root } } } },
              },
            },
            podOverrides: { spec: REAL_NODE_PLACEMENT },
          },
        },
        { dependencies },
      );
      return Testing.synth(chart) as Manifest[];
    };
    // The PrometheusRule's groups go to the test Prometheus' rule file (no prometheus-operator here).
    const manifests = hiveManifests('INFO');
    const rule = manifests.find((o) => o.kind === 'PrometheusRule') as unknown as {
      spec: { groups: unknown[] };
    };
    expect(
      await applyAll(
        client,
        manifests.filter((o) => o.kind !== 'PrometheusRule'),
        ns.name,
      ),
    ).toEqual([]);
    await waitPodsReady(ns.name, [METASTORE]);

    const pod = await core.readNamespacedPod({ name: METASTORE, namespace: ns.name });
    // What the kubelet ran them as, and with which root filesystem.
    const statuses = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])];
    expect(
      statuses.map((c) => [c.name, (c as { user?: { linux?: { uid?: number } } }).user?.linux?.uid]),
    ).toEqual([['hive', 10001], ...(SHIP_LOGS ? [['log-agent', 10001]] : []), ['schema-init', 10001]]);
    for (const c of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]) {
      expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, runAsNonRoot: true });
    }
    const firstInit = await core.readNamespacedPodLog({
      name: METASTORE,
      namespace: ns.name,
      container: 'schema-init',
    });
    expect(firstInit).toContain('Metastore connection URL:\t jdbc:postgresql://postgres.');
    expect(firstInit).toContain('Initialization script completed');
    const metastoreLog = await core.readNamespacedPodLog({
      name: METASTORE,
      namespace: ns.name,
      container: 'hive',
    });
    expect(metastoreLog).toContain('Started the new metaserver on port [9083]');
    // The same record in the structured log file (lib/logging), written through Log4j 2.
    const records = await readStructuredLog(ns.name, METASTORE, 'hive');
    expectSharedRecordShape(records);
    expect(records).toContainEqual(
      expect.objectContaining({
        level: 'INFO',
        message: expect.stringContaining('Started the new metaserver on port [9083]'),
      }),
    );
    if (SHIP_LOGS) {
      await expectRecordsShipped(aggregator!, {
        namespace: ns.name,
        pod: METASTORE,
        container: 'hive',
        product: 'hive',
        stacklet: 'hive',
        role: 'metastores',
        roleGroup: 'default',
      });
      process.stdout.write(`hive on the real node: ${logAgentUsage(ns.name)}\n`);
    }

    // A Prometheus finds the metastore through keelson's scrape job; its API call counts grow with the probe's calls.
    const prometheus = await startPrometheus(await realNode(), ns.name, {
      ruleGroups: withAlertDelay(rule.spec.groups, '30s'),
    });
    const apiCalls = `sum({__name__=~"hive_metastore_api_.+", namespace="${ns.name}"}) or vector(0)`;
    let callsBefore = 0;
    try {
      await prometheus.waitForValue(
        'the metastore scraped',
        `count(up{namespace="${ns.name}", product="hive"} == 1)`,
        (v) => v === 1,
      );
      await prometheus.waitForValue(
        'open connections',
        `count(hive_metastore_open_connections{namespace="${ns.name}"})`,
      );
      callsBefore = await prometheus.waitForValue('API calls', apiCalls);
    } catch (error) {
      await prometheus.stop();
      throw error;
    }
    const created = await probe('probe-create', ['sales'], 'orders');
    try {
      expect(
        await prometheus.waitForValue('API calls to grow', apiCalls, (v) => v > callsBefore),
      ).toBeGreaterThan(callsBefore);
      // The names the README guarantees; the probe created a database.
      for (const name of [
        'hive_metastore_api_create_database_req',
        'hive_metastore_total_api_calls',
        'hive_metastore_total_count_dbs',
      ])
        await prometheus.waitForValue(name, `count(${name}{namespace="${ns.name}"})`);
      // keelson's rules load and evaluate; a recording rule counts the open connections; the
      // dashboard's queries and the rules' metric names all have data.
      await prometheus.checkStacklet({
        namespace: ns.name,
        metricNames: HIVE_METRIC_NAMES,
        dashboard: manifests.find((o) => o.metadata.name === 'hive-dashboard'),
        recording: {
          what: 'the open-connections recording rule',
          expr: `stacklet:hive_metastore_open_connections:sum{namespace="${ns.name}", stacklet="hive"}`,
        },
      });

      // A fault: the metastore's process freezes, as a hung JVM would (its sockets stay open, so
      // its TCP probes pass and nothing restarts it). No metastore answers: keelson's availability
      // and target alerts fire (their for: shortened to 30 s), quiet before the fault.
      const fired = await prometheus.alertsWhileFrozen(
        ns.name,
        METASTORE,
        { HiveMetastoreUnavailable: 'critical', KeelsonMetricsTargetDown: 'warning' },
        { stacklet: 'hive' },
      );
      expect(fired.HiveMetastoreUnavailable.annotations.summary).toBe(
        'No metastore of the stacklet answers.',
      );
      expect(fired.KeelsonMetricsTargetDown.labels.pod).toBe(METASTORE);
      // Thawed, it answers again.
      await prometheus.waitForValue(
        'the metastore scraped again',
        `count(up{namespace="${ns.name}", product="hive"} == 1)`,
        (v) => v === 1,
      );
    } finally {
      await prometheus.stop();
    }
    expect(created).toContain('database: default');
    expect(created).toContain('database: sales');
    // The partition filter runs the metastore's PostgreSQL-dialect SQL; it must not fall back to the ORM.
    expect(created).toContain('partition: 2026-12-01');
    const afterProbe = await core.readNamespacedPodLog({
      name: METASTORE,
      namespace: ns.name,
      container: 'hive',
    });
    expect(afterProbe).not.toMatch(/direct SQL is disabled|falling back to ORM/i);

    // A second start: the schema is found, not created again, and the metadata is still there.
    await core.deleteNamespacedPod({ name: METASTORE, namespace: ns.name });
    await waitFor('the metastore pod to be replaced', async () => {
      const now = await core.readNamespacedPod({ name: METASTORE, namespace: ns.name });
      return now.metadata?.uid !== pod.metadata?.uid;
    });
    await waitPodsReady(ns.name, [METASTORE]);
    const secondInit = await core.readNamespacedPodLog({
      name: METASTORE,
      namespace: ns.name,
      container: 'schema-init',
    });
    expect(secondInit).toContain('No schema upgrade required from version 4.0.0');
    expect(secondInit).not.toContain('Initialization script');
    const listed = await probe('probe-list', []);
    expect(listed).toContain('database: sales');

    // The root logger at DEBUG on the running metastore: Log4j 2 re-reads the file the kubelet
    // updates (it is left out of the pods' config hash), so DEBUG records appear without a restart.
    const isDebug = (r: LogRecord) => r.level === 'DEBUG';
    expect((await readStructuredLog(ns.name, METASTORE, 'hive')).filter(isDebug)).toEqual([]);
    const workload = () =>
      apps.readNamespacedStatefulSet({ name: 'hive-metastores-default', namespace: ns.name });
    const running = await core.readNamespacedPod({ name: METASTORE, namespace: ns.name });
    const template = (await workload()).spec?.template;
    expect(
      await applyAll(
        client,
        hiveManifests('DEBUG').filter((o) => o.kind !== 'PrometheusRule'),
        ns.name,
      ),
    ).toEqual([]);
    const changedAt = Date.now();
    let debug: LogRecord[] = [];
    // The kubelet's sync period (10 s on the test node) plus Log4j 2's check (10 s), with room.
    while (debug.length === 0 && Date.now() - changedAt < 90_000) {
      await new Promise((r) => setTimeout(r, 2000));
      debug = (await readStructuredLog(ns.name, METASTORE, 'hive')).filter(isDebug);
    }
    expect(debug.length).toBeGreaterThan(0);
    process.stdout.write(
      `hive on the real node: the root logger's DEBUG level took effect ${((Date.now() - changedAt) / 1000).toFixed(1)} s after apply\n`,
    );
    expect((await core.readNamespacedPod({ name: METASTORE, namespace: ns.name })).metadata?.uid).toBe(
      running.metadata?.uid,
    );
    expect((await workload()).spec?.template).toEqual(template);
    if (SHIP_LOGS) {
      await aggregator!.waitFor(
        `a DEBUG record from ${METASTORE}`,
        (r) => r.severityText === 'DEBUG' && r.resource['k8s.pod.name'] === METASTORE,
      );
    }
  });
});
