/**
 * Log shipping for the product tests on the real node: keelson's log agent image on the node, a
 * test OTLP/HTTP aggregator (a process of the test on the host end of the node's veth, which pods
 * reach through the node's masquerade) and the discovery ConfigMap naming it, and the check that a
 * pod's agent delivers what its product's structured file holds, with the record's source.
 */
import * as fs from 'node:fs';
import { LOG_AGGREGATOR_DISCOVERY_KEY } from '../../lib';
import { logAgentImageRecipe } from '../../lib/logging/image';
import { cachedLogAgentBinary, startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver';
import { buildImageOnRealNode, podsLogs, realNode } from './real-node-support';
import { readStructuredLog } from './structured-logs';
import { adminClients } from './support';

/**
 * Whether the tests ship logs: where the agent is built (`npx keelson image build log-agent 0.165.0 --out <dir>`;
 * `test:prepare` builds it), or KEELSON_TEST_LOG_AGENT=1 to build it first (minutes cold).
 */
export const SHIP_LOGS = process.env.KEELSON_TEST_LOG_AGENT === '1' || cachedLogAgentBinary() !== undefined;

/** Says once, on stderr, why a file's log shipping checks do not run. */
export function explainSkippedShipping(file: string): void {
  if (SHIP_LOGS) return;
  process.stderr.write(
    `${file}: log shipping skipped, keelson's log agent is not built; build it with ` +
      '`npx keelson image build log-agent 0.165.0 --out <dir>` (minutes cold) or set KEELSON_TEST_LOG_AGENT=1\n',
  );
}

/** The name of the discovery ConfigMap `startLogShipping` creates. */
export const AGGREGATOR_CONFIG_MAP = 'otel';

/**
 * Builds (or takes from the cache) and imports the agent's image, starts a test aggregator and
 * creates its discovery ConfigMap in `namespace`. Returns the aggregator and the `dependencies` a
 * construct takes in synth mode.
 */
export async function startLogShipping(namespace: string): Promise<{
  aggregator: OtlpReceiver;
  dependencies: Record<string, Record<string, string>>;
}> {
  const node = await realNode();
  await buildImageOnRealNode(logAgentImageRecipe());
  const aggregator = await startOtlpReceiver(node.hostIp);
  const data = { [LOG_AGGREGATOR_DISCOVERY_KEY]: aggregator.endpoint };
  await adminClients().core.createNamespacedConfigMap({
    namespace,
    body: { metadata: { name: AGGREGATOR_CONFIG_MAP }, data },
  });
  return { aggregator, dependencies: { [AGGREGATOR_CONFIG_MAP]: data } };
}

/**
 * The `clusterConfig` settings every product test on the real node gives its stacklet: keelson's
 * rules and dashboard (the test Prometheus loads them), and its logs shipped to the test
 * aggregator where the agent is built.
 */
export function observedClusterConfig(): {
  monitoring: { prometheusRules: true; grafanaDashboards: true };
  logging?: { aggregatorConfigMapName: string };
} {
  return {
    monitoring: { prometheusRules: true, grafanaDashboards: true },
    ...(SHIP_LOGS ? { logging: { aggregatorConfigMapName: AGGREGATOR_CONFIG_MAP } } : {}),
  };
}

/** Where a pod's records come from, as its agent names it. */
export interface ShippedSource {
  readonly namespace: string;
  readonly pod: string;
  readonly container: string;
  readonly product: string;
  readonly stacklet: string;
  readonly role: string;
  readonly roleGroup: string;
}

/** Nanoseconds since the epoch of an ISO 8601 UTC time, its fraction kept to the nanosecond (Trino writes nanoseconds). */
function isoTimeNanos(time: string): bigint {
  const m = /^(.+T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(time);
  if (!m) throw new Error(`not an ISO 8601 UTC time: ${time}`);
  const fraction = (m[2] ?? '').padEnd(9, '0').slice(0, 9);
  return (BigInt(Date.parse(`${m[1]}Z`)) / 1000n) * 1_000_000_000n + BigInt(fraction);
}

/**
 * `source.pod`'s agent ships its records: an INFO record its file holds arrives with the same
 * message, time, severity, logger and thread, and every record of the pod carries the full source.
 */
export async function expectRecordsShipped(aggregator: OtlpReceiver, source: ShippedSource): Promise<void> {
  const records = await readStructuredLog(source.namespace, source.pod, source.container);
  const known = records.find((r) => r.level === 'INFO');
  expect(known).toBeDefined();
  const sameMessage = await aggregator
    .waitFor(
      `"${known!.message}" from ${source.pod}`,
      (r) => r.body === known!.message && r.resource['k8s.pod.name'] === source.pod,
    )
    .catch(async (error: Error) => {
      throw new Error(`${error.message}\n${await podsLogs(source.namespace, [source.pod])}`);
    });
  const expectedNanos = isoTimeNanos(known!.timestamp);
  expect(sameMessage.map((r) => BigInt(r.timeUnixNano ?? '0'))).toContain(expectedNanos);
  expect(sameMessage[0]).toMatchObject({
    url: '/v1/logs',
    severityText: 'INFO',
    attributes: { logger: known!.logger, thread: known!.thread },
  });
  expect(sameMessage[0].resource).toEqual({
    'service.name': source.product,
    'keelson.product': source.product,
    'keelson.stacklet': source.stacklet,
    'keelson.role': source.role,
    'keelson.role_group': source.roleGroup,
    'k8s.namespace.name': source.namespace,
    'k8s.pod.name': source.pod,
    'k8s.container.name': source.container,
  });
}

/**
 * What each of the namespace's log agents uses, read from /proc of this machine (the node's
 * containers are its processes): resident memory, and CPU seconds over its lifetime. For the
 * report only; it asserts nothing.
 */
export function logAgentUsage(namespace: string): string {
  const lines: string[] = [];
  const uptime = Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (!fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('keelson-log-agent')) continue;
      const env = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      if (!env.includes(`POD_NAMESPACE=${namespace}`)) continue;
      const pod = env.find((e) => e.startsWith('POD_NAME='))?.slice('POD_NAME='.length);
      const rss =
        Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
      // Fields after the command's closing parenthesis: utime, stime and starttime (clock ticks).
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cpu = (Number(f[11]) + Number(f[12])) / 100;
      const age = uptime - Number(f[19]) / 100;
      lines.push(`${pod}: RSS ${rss.toFixed(1)} MiB, CPU ${cpu.toFixed(2)} s in ${age.toFixed(0)} s`);
    } catch {
      // A process that ended while it was read.
    }
  }
  return `log agents: ${lines.sort().join('; ') || 'none found in /proc'}`;
}
