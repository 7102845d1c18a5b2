/**
 * Trino on the real node, from keelson's manifests and the image keelson builds
 * (`docker.io/trinodb/trino:476`, constructs/trino/image.ts): a coordinator and two workers run
 * under the restricted Pod Security profile as uid 10001 with a read-only root; a client pod
 * reaches the coordinator through the client Service and `SELECT count(*) FROM tpch.tiny.nation`
 * returns 25; a test Prometheus scrapes every node through keelson's scrape job and loads keelson's
 * rules, and a worker's process frozen (SIGSTOP, a hung JVM) makes TrinoNodesFailed and
 * KeelsonMetricsTargetDown fire, quiet before; a worker removed by scale-down drains through its
 * preStop hook while a query runs, and the query succeeds; the coordinator's levels set to DEBUG
 * roll it (not the worker), and its DEBUG records reach the log aggregator. A failure prints the pods' logs.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Chart } from 'cdk8s';
import {
  TRINO_METRIC_NAMES,
  TrinoCatalog,
  TrinoCluster,
  type TrinoClusterProps,
} from '../../constructs/trino';
import { trinoImageRecipe } from '../../constructs/trino/image';
import { buildImage } from '../../lib/image';
import { KubeClient } from '../../lib/operator/client';
import { applyAll, RESTRICTED, type Manifest } from './admission';
import {
  CLIENT_JVM_OPTIONS,
  clientPod,
  execInPod,
  importImageToRealNode,
  realNode,
  realNodePodLogs,
  REAL_NODE_PLACEMENT,
} from './real-node-support';
import type { OtlpReceiver, ReceivedLogRecord } from '../support/otlp-receiver';
import {
  observedClusterConfig,
  explainSkippedShipping,
  expectRecordsShipped,
  logAgentUsage,
  SHIP_LOGS,
  startLogShipping,
} from './log-shipping';
import { expectSharedRecordShape, readStructuredLog } from './structured-logs';
import { startPrometheus, withAlertDelay } from './prometheus-support';
import { adminClients, adminKubeConfig, useTestNamespace, waitFor } from './support';

// A cold machine builds the node and a ~1 GiB image first; Trino starts in minutes on 2 busy cores.
jest.setTimeout(40 * 60_000);

const VERSION = '476';
const SECRET = 'trino-internal-secret';

explainSkippedShipping('trino-real-node');
/** The test aggregator every pod's log agent ships to, and its discovery ConfigMap's data. */
let aggregator: OtlpReceiver | undefined;
let dependencies: Record<string, Record<string, string>> = {};
afterAll(async () => {
  await aggregator?.close();
});

type Pod = {
  metadata: { name: string; uid?: string };
  spec?: { nodeName?: string; containers: { securityContext?: Record<string, unknown> }[] };
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
};

/** The coordinator's levels in the level-change check: Trino's own loggers (io.trino) and the file at DEBUG. */
const COORDINATOR_DEBUG = {
  containers: {
    trino: { file: { level: 'DEBUG' as const }, loggers: { ROOT: { level: 'DEBUG' as const } } },
  },
};

/** keelson's Trino, small enough for the shared machine, placed on the real node. */
function trinoManifests(namespace: string, workers: number, coordinatorDebug = false): Manifest[] {
  const chart = new Chart(new App(), 'trino-real', { namespace });
  const tpch = new TrinoCatalog(chart, 'tpch', { connector: { tpch: {} }, labels: { trino: 'trino' } });
  const small = { resources: { cpu: { min: '200m', max: '2' }, memory: { limit: '1536Mi' } } };
  const placement = { podOverrides: { spec: REAL_NODE_PLACEMENT } };
  const props: TrinoClusterProps = {
    clusterConfig: {
      catalogLabelSelector: { matchLabels: { trino: 'trino' } },
      ...observedClusterConfig(),
    },
    catalogs: [tpch],
    coordinators: {
      config: { ...small, ...(coordinatorDebug ? { logging: COORDINATOR_DEBUG } : {}) },
      ...placement,
    },
    workers: {
      config: { ...small, gracefulShutdownTimeout: '3m' },
      roleGroups: { default: { replicas: workers } },
      ...placement,
    },
  };
  const trino = new TrinoCluster(chart, 'trino', props, { dependencies });
  trino.addAllowedClient({ podSelector: { matchLabels: { app: 'trino-client' } } });
  return chart.toJson() as Manifest[];
}

/** The PrometheusRule's groups go to the test Prometheus' rule file (no prometheus-operator here). */
const ruleGroupsOf = (manifests: Manifest[]) =>
  (manifests.find((o) => o.kind === 'PrometheusRule') as unknown as { spec: { groups: unknown[] } }).spec
    .groups;
const withoutRules = (manifests: Manifest[]) => manifests.filter((o) => o.kind !== 'PrometheusRule');

/** A pod running `script` in the Trino image (which has the CLI and curl), as keelson's pods run. */
const trinoClient = (name: string, script: string) =>
  clientPod({
    name,
    image: `docker.io/trinodb/trino:${VERSION}`,
    command: ['/bin/bash', '-c', script],
    labels: { app: 'trino-client' },
    env: [{ name: 'JAVA_TOOL_OPTIONS', value: CLIENT_JVM_OPTIONS }],
  });

describe('Trino on the real node', () => {
  const ns = useTestNamespace('trino-real', RESTRICTED);
  const client = new KubeClient(adminKubeConfig());
  const pods = (namespace: string) =>
    client.request<{ items: Pod[] }>('list', 'GET', `/api/v1/namespaces/${namespace}/pods`, 'pods');
  const { core } = adminClients();
  /** A pod's log: its only container's, or `container`'s (Trino's pods also run the log agent). */
  const podLog = (namespace: string, name: string, container?: string) =>
    core.readNamespacedPodLog({ name, namespace, container });

  /** Every pod's status and log, and the namespace's events, for a failure's message. */
  async function allLogs(namespace: string): Promise<string> {
    const items = (await pods(namespace)).items;
    const logs = await Promise.all(
      items.map(
        async (p) =>
          `=== ${p.metadata.name}: ${JSON.stringify(p.status)}\n${await realNodePodLogs(namespace, p.metadata.name)}`,
      ),
    );
    type Events = { items: { reason?: string; message?: string; involvedObject: { name?: string } }[] };
    const events = await client.request<Events>(
      'list',
      'GET',
      `/api/v1/namespaces/${namespace}/events`,
      'events',
    );
    const lines = events.items.slice(-30).map((e) => `${e.involvedObject.name}: ${e.reason}: ${e.message}`);
    return `${logs.join('\n')}\n=== events\n${lines.join('\n')}`;
  }

  async function withLogs<T>(namespace: string, step: Promise<T>): Promise<T> {
    try {
      return await step;
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${await allLogs(namespace)}`, { cause: error });
    }
  }

  async function waitForClient(namespace: string, name: string, timeoutMs: number): Promise<string> {
    await withLogs(
      namespace,
      waitFor(
        `client pod ${name} to finish`,
        async () => {
          const pod = await client.request<Pod>(
            'get',
            'GET',
            `/api/v1/namespaces/${namespace}/pods/${name}`,
            'pods',
          );
          if (pod.status?.phase === 'Failed')
            throw new Error(`client pod ${name} failed: ${await podLog(namespace, name)}`);
          return pod.status?.phase === 'Succeeded';
        },
        timeoutMs,
      ),
    );
    return podLog(namespace, name);
  }

  it('serves tpch through the client Service, and a worker drains on scale-down without failing a query', async () => {
    const node = await realNode();
    const built = await buildImage(
      trinoImageRecipe(VERSION),
      fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-trino-image-')),
      {
        log: (m) => process.stderr.write(`${m}\n`),
      },
    );
    await importImageToRealNode(built);
    if (SHIP_LOGS) ({ aggregator, dependencies } = await startLogShipping(ns.name));

    await client.request('create', 'POST', `/api/v1/namespaces/${ns.name}/secrets`, 'secrets', {
      body: {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: SECRET },
        stringData: { internalSharedSecret: 'real-node-secret' },
      },
    });
    const manifests = trinoManifests(ns.name, 2);
    expect(await applyAll(client, withoutRules(manifests), ns.name)).toEqual([]);

    const expected = ['trino-coordinators-default-0', 'trino-workers-default-0', 'trino-workers-default-1'];
    const ready = async () =>
      (await pods(ns.name)).items
        .filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
        .map((p) => p.metadata.name)
        .sort();
    await withLogs(
      ns.name,
      waitFor(
        'the coordinator and both workers to be Ready',
        async () => (await ready()).join() === expected.join(),
        15 * 60_000,
      ),
    );
    for (const pod of (await pods(ns.name)).items) {
      expect(pod.spec?.nodeName).toBe(node.nodeName);
      expect(pod.spec?.containers[0].securityContext).toMatchObject({
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
      });
    }

    // Each server mapped the AOT cache of keelson's image: the JVM accepted it at the image's paths
    // (a class path that does not fit leaves it unmapped, with an error in the log).
    for (const pod of expected) {
      const mapped = await execInPod(
        ns.name,
        pod,
        "grep -l '/usr/lib/trino/keelson.aot' /proc/[0-9]*/maps | wc -l",
      );
      expect(`${pod}: ${mapped.trim()}`).toBe(`${pod}: 1`);
      expect(await realNodePodLogs(ns.name, pod)).not.toMatch(/\[error\s*\]\[aot/);
    }

    // A Prometheus finds every node through keelson's scrape job; the coordinator counts the queries.
    const prometheus = await startPrometheus(node, ns.name, {
      ruleGroups: withAlertDelay(ruleGroupsOf(manifests), '30s'),
    });
    const completed = `sum(trino_execution_querymanager_completedqueries_total{namespace="${ns.name}", role="coordinators"})`;
    let completedBefore = 0;
    try {
      await prometheus.waitForValue(
        'all three nodes scraped',
        `count(up{namespace="${ns.name}", product="trino"} == 1)`,
        (v) => v === 3,
      );
      completedBefore = await prometheus.waitForValue('completed queries', completed);
    } catch (error) {
      await prometheus.stop();
      throw error;
    }

    const server = `http://trino-coordinators.${ns.name}.svc.cluster.local:8080`;
    const cli = `trino --server ${server} --user keelson`;
    await client.request('create', 'POST', `/api/v1/namespaces/${ns.name}/pods`, 'pods', {
      body: trinoClient(
        'nation',
        // The coordinator is ready before the workers have announced themselves: wait for them.
        `id -u; until [ "$(${cli} --execute "SELECT count(*) FROM system.runtime.nodes WHERE state = 'active'" 2>/dev/null)" = '"3"' ]; ` +
          'do sleep 2; done; echo nodes=3; ' +
          `${cli} --execute "SELECT count(*) FROM tpch.tiny.nation"`,
      ),
    });
    const nation = (await waitForClient(ns.name, 'nation', 5 * 60_000))
      .split('\n')
      .filter((l) => !l.startsWith('WARNING') && l.trim());
    expect(nation).toEqual(expect.arrayContaining(['10001', 'nodes=3', '"25"']));
    try {
      expect(
        await prometheus.waitForValue('completed queries to grow', completed, (v) => v > completedBefore),
      ).toBeGreaterThan(completedBefore);
      for (const name of [
        'trino_execution_querymanager_failedqueries_total',
        'trino_execution_querymanager_runningqueries',
        'trino_execution_querymanager_queuedqueries',
        'trino_failuredetector_heartbeatfailuredetector_activecount',
      ])
        await prometheus.waitForValue(name, `count(${name}{namespace="${ns.name}"})`);
      // keelson's rules load and evaluate; a recording rule counts the query; the dashboard's
      // queries and the rules' metric names all have data.
      expect(
        await prometheus.checkStacklet({
          namespace: ns.name,
          metricNames: TRINO_METRIC_NAMES,
          dashboard: manifests.find((o) => o.metadata.name === 'trino-dashboard'),
          recording: {
            what: 'the completed-queries recording rule',
            expr: `stacklet:trino_completed_queries:rate5m{namespace="${ns.name}", stacklet="trino"}`,
            accept: (v) => v > 0,
          },
        }),
      ).toBeGreaterThan(0);

      // A fault: a worker's process freezes, as a hung JVM would (its sockets stay open, so its
      // TCP probes pass and nothing restarts it). The coordinator's failure detector counts it
      // failed and its scrapes time out: keelson's alerts fire (for: shortened to 30 s), quiet before.
      const frozen = 'trino-workers-default-1';
      const fired = await prometheus.alertsWhileFrozen(
        ns.name,
        frozen,
        { TrinoNodesFailed: 'warning', KeelsonMetricsTargetDown: 'warning' },
        { stacklet: 'trino' },
      );
      expect(fired.KeelsonMetricsTargetDown.labels.pod).toBe(frozen);
      // Thawed, the worker answers the coordinator's heartbeats again.
      await prometheus.waitForValue(
        'no node failed any more',
        `max(trino_failuredetector_heartbeatfailuredetector_failedcount{namespace="${ns.name}"})`,
        (v) => v === 0,
        5 * 60_000,
      );

      // A second fault, of the users' making: queries that cannot run (their table does not
      // exist). They fail on the coordinator and count as failed and completed: far more than a
      // quarter of the queries of the last 10 minutes failed, and the alert fires (for: 30 s).
      const failed = `sum(trino_execution_querymanager_failedqueries_total{namespace="${ns.name}", role="coordinators"})`;
      const failedBefore = await prometheus.waitForValue('failed queries', failed);
      const failing = 40;
      expect(
        await prometheus.value(`ALERTS{namespace="${ns.name}", alertname="TrinoQueriesFailing"}`),
      ).toBeUndefined();
      await client.request('create', 'POST', `/api/v1/namespaces/${ns.name}/pods`, 'pods', {
        body: trinoClient(
          'failing',
          `${cli} --ignore-errors --execute "${'SELECT * FROM tpch.tiny.no_such_table; '.repeat(failing)}"; true`,
        ),
      });
      await waitForClient(ns.name, 'failing', 5 * 60_000);
      expect(
        await prometheus.waitForValue(
          'the failed queries counted',
          failed,
          (v) => v >= failedBefore + failing,
        ),
      ).toBeGreaterThanOrEqual(failedBefore + failing);
      const failingAt = Date.now();
      const queriesFailing = await prometheus.waitForAlert('TrinoQueriesFailing', ns.name);
      process.stdout.write(
        `trino on the real node: TrinoQueriesFailing fired ${((Date.now() - failingAt) / 1000).toFixed(1)} s ` +
          `after ${failing} failed queries were counted (its for: shortened to 30 s)\n`,
      );
      expect(queriesFailing.labels).toMatchObject({
        namespace: ns.name,
        stacklet: 'trino',
        severity: 'warning',
      });
      expect(queriesFailing.annotations.summary).toMatch(
        /^\d+(\.\d+)?% of the queries of the last 10 minutes failed\.$/,
      );
    } finally {
      await prometheus.stop();
    }

    // The coordinator's structured log file (lib/logging), in airlift's JSON format: its start is in it.
    const records = await readStructuredLog(ns.name, 'trino-coordinators-default-0', 'trino');
    expectSharedRecordShape(records);
    expect(records).toContainEqual(
      expect.objectContaining({
        level: 'INFO',
        logger: 'io.trino.server.Server',
        message: expect.stringContaining('SERVER STARTED'),
      }),
    );
    // Each node's log agent ships its records, with their source.
    if (SHIP_LOGS) {
      for (const [pod, role] of [
        ['trino-coordinators-default-0', 'coordinators'],
        ['trino-workers-default-0', 'workers'],
      ]) {
        await expectRecordsShipped(aggregator!, {
          namespace: ns.name,
          pod,
          container: 'trino',
          product: 'trino',
          stacklet: 'trino',
          role,
          roleGroup: 'default',
        });
      }
      process.stdout.write(`trino on the real node: ${logAgentUsage(ns.name)}\n`);
    }

    // A query long enough to outlast the scale-down: 5 × TPC-H sf1 lineitem (30,006,075 rows).
    const query = 'SELECT count(*) FROM tpch.sf1.lineitem CROSS JOIN tpch.tiny.region';
    await client.request('create', 'POST', `/api/v1/namespaces/${ns.name}/pods`, 'pods', {
      body: trinoClient(
        'long-query',
        `${cli} --execute "${query}" > /tmp/out 2>/tmp/err & q=$!; ` +
          `until curl -sf -H 'X-Trino-User: keelson' ${server}/v1/query | grep -q '"state":"RUNNING"'; do sleep 1; done; ` +
          'echo query-running; wait $q; echo "exit=$?"; cat /tmp/out; grep -v WARNING /tmp/err || true',
      ),
    });
    await withLogs(
      ns.name,
      waitFor(
        'the long query to run',
        async () => (await podLog(ns.name, 'long-query').catch(() => '')).includes('query-running'),
        5 * 60_000,
      ),
    );

    // Scale-down as a user applies it: the same program with one worker (no config changes, so
    // nothing else restarts).
    expect(await applyAll(client, withoutRules(trinoManifests(ns.name, 1)), ns.name)).toEqual([]);
    let workerLog = '';
    await withLogs(
      ns.name,
      waitFor(
        'worker 1 to drain and go',
        async () => {
          const log = await podLog(ns.name, 'trino-workers-default-1', 'trino').catch(() => undefined);
          // Once the container is removed the kubelet answers with this text instead of a log,
          // and a moment later the pod is gone; either way the last log read is the one to check.
          if (log === undefined || log.startsWith('unable to retrieve container logs')) return true;
          workerLog = log;
          return false;
        },
        5 * 60_000,
      ),
    );
    expect(workerLog).toContain('Shutdown requested');

    const out = await waitForClient(ns.name, 'long-query', 10 * 60_000);
    expect(out).toContain('exit=0');
    expect(out).toContain('"30006075"');
    expect(
      (await pods(ns.name)).items.map((p) => p.metadata.name).filter((n) => n.startsWith('trino-')),
    ).toEqual(['trino-coordinators-default-0', 'trino-workers-default-0']);

    // A level change in the spec reaches what the aggregator receives. Airlift reads its levels
    // once, at start, so the coordinator's new config rolls it (the worker keeps its pod); the new
    // coordinator's DEBUG records then arrive with their source. None came before.
    if (!SHIP_LOGS) return;
    const COORDINATOR = 'trino-coordinators-default-0';
    const isCoordinatorDebug = (r: ReceivedLogRecord) =>
      r.severityText === 'DEBUG' && r.resource['k8s.pod.name'] === COORDINATOR;
    expect(aggregator!.records().filter(isCoordinatorDebug)).toEqual([]);
    const uidOf = async (name: string) =>
      (await pods(ns.name)).items.find((p) => p.metadata.name === name)?.metadata.uid;
    const [coordinatorBefore, workerBefore] = [
      await uidOf(COORDINATOR),
      await uidOf('trino-workers-default-0'),
    ];
    const levelApplied = Date.now();
    expect(await applyAll(client, withoutRules(trinoManifests(ns.name, 1, true)), ns.name)).toEqual([]);
    await withLogs(
      ns.name,
      waitFor(
        'a new coordinator, Ready',
        async () => (await uidOf(COORDINATOR)) !== coordinatorBefore && (await ready()).includes(COORDINATOR),
        10 * 60_000,
      ),
    );
    // A query gives Trino's query machinery something to say at DEBUG.
    await client.request('create', 'POST', `/api/v1/namespaces/${ns.name}/pods`, 'pods', {
      body: trinoClient(
        'after-level',
        `until ${cli} --execute "SELECT count(*) FROM tpch.tiny.region"; do sleep 2; done`,
      ),
    });
    const debug = await aggregator!.waitFor(
      'a DEBUG record of the new coordinator',
      isCoordinatorDebug,
      5 * 60_000,
    );
    expect(debug[0].resource).toMatchObject({
      'keelson.product': 'trino',
      'keelson.role': 'coordinators',
      'keelson.role_group': 'default',
      'k8s.container.name': 'trino',
    });
    expect(await uidOf('trino-workers-default-0')).toBe(workerBefore);
    process.stdout.write(
      `trino on the real node: the coordinator's DEBUG records (${debug[0].attributes.logger}) at the aggregator ` +
        `${((Date.now() - levelApplied) / 1000).toFixed(1)} s after the level change was applied\n`,
    );
  });
});
