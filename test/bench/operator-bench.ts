/**
 * Operator benchmark (a script that prints figures, not a test). On a control plane of its own it
 * measures, for each N: the time until N BeaconClusters are all Available, the operator's API
 * writes per stacklet, its writes during a quiet window (goal 0), its peak memory, and — in the
 * same run, for scale — how fast the API server itself accepts writes: small ConfigMaps created as
 * fast as possible, and the operator's own workload (the same stacklets' children, built as the
 * operator builds them, server-side applied as fast as possible). The ratio compares the operator's
 * write rate with the second: how close convergence comes to the API server's bound.
 *
 *   npm run bench:operator -- [--sizes 50,200] [--quiet-seconds 60] [--workers 4] [--replicas 1]
 *
 * `--replicas 0` leaves pods out, measuring the operator and the API server alone; with pods
 * (the default, one per role group: 400 kwok pods at N=200) the time until Available is mostly the
 * scheduler's and kwok's, on the same 2 cores.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { Command } from 'commander';
import { buildChildren } from '../../lib/operator/build';
import { KubeClient } from '../../lib/operator/client';
import { operatorNodeOptions } from '../../lib/operator/deployment';
import { CHILD_RESOURCES, objectPath } from '../../lib/operator/resources';
import { productCrd } from '../../lib/stacklet/crd';
import { createTestNamespace, startControlPlane, waitFor, type ControlPlane } from '../controlplane/cluster';
import { BEACON } from '../example-product/beacon';
import { writeOperatorIdentity } from '../controlplane/operator-identity';

const GROUP = 'keelson.dev';
const VERSION = 'v1alpha1';
const PLURAL = 'beaconclusters';
const WRITE_VERBS = ['create', 'apply', 'patch', 'update', 'delete'];

interface Figures {
  n: number;
  convergeSeconds: number;
  writes: number;
  writesPerStacklet: number;
  quietSeconds: number;
  quietWrites: number;
  peakRssMiB: number;
  /** CPU time the operator used from its start until all were Available. */
  cpuSeconds: number;
  /** V8 heap in use after the quiet window: what the caches and the runtime hold. */
  heapUsedMiB: number;
  apiWritesPerSecond: number;
  /** Server-side applies per second of the same children, straight to the API server. */
  applyPerSecond: number;
  operatorWritesPerSecond: number;
}

/** Operator processes this script started, ended on Ctrl-C too. */
const operators = new Set<ReturnType<typeof spawn>>();

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

function operatorWrites(metrics: string): number {
  let total = 0;
  for (const line of metrics.split('\n')) {
    const m = /^keelson_api_requests_total\{([^}]*)\} (\S+)/.exec(line);
    if (!m) continue;
    const verb = /verb="([^"]*)"/.exec(m[1])?.[1] ?? '';
    const resource = /resource="([^"]*)"/.exec(m[1])?.[1] ?? '';
    if (WRITE_VERBS.includes(verb) && resource !== 'leases') total += Number(m[2]);
  }
  return total;
}

function peakRssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/^VmHWM:\s+(\d+)/m.exec(status)?.[1] ?? 0) / 1024);
}

/** The sum of a metric's samples (all label sets) in a Prometheus text exposition. */
function metricSum(metrics: string, name: string): number {
  let total = 0;
  for (const line of metrics.split('\n')) {
    const m = /^(\S+?)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m?.[1] === name) total += Number(m[3]);
  }
  return total;
}

/** Runs `count` calls with at most `concurrency` in flight. */
async function pool(
  count: number,
  concurrency: number,
  call: (i: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await call(next++);
    }),
  );
}

/** The API server's own write rate: ConfigMaps created as fast as the client can, per second. */
async function apiServerWriteRate(kc: k8s.KubeConfig, namespace: string, count: number): Promise<number> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const start = Date.now();
  await pool(count, 16, (i) =>
    core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: `rate-${i}` }, data: { i: String(i) } },
    }),
  );
  return count / ((Date.now() - start) / 1000);
}

/**
 * The API server's rate for the operator's own workload: the children of `count` BeaconClusters,
 * built as the operator builds them (without owner references, whose owners do not exist here),
 * server-side applied as fast as the client can, in writes per second. Children are heavier to
 * write than ConfigMaps (StatefulSets are validated, defaulted and watched by controllers), so this
 * is the rate the operator's convergence is bounded by.
 */
async function apiServerApplyRate(
  kc: k8s.KubeConfig,
  namespace: string,
  count: number,
  spec: Record<string, unknown>,
): Promise<number> {
  const client = new KubeClient(kc);
  const manifests = Array.from({ length: count }, (_, i) =>
    buildChildren(
      BEACON,
      {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'BeaconCluster',
        metadata: { name: `replay-${i}`, namespace, uid: `replay-${i}` },
        spec,
      },
      {},
    ),
  )
    .flat()
    .map((m) => ({ ...m, metadata: { ...m.metadata, ownerReferences: undefined } }));
  const start = Date.now();
  await pool(manifests.length, 16, async (i) => {
    const m = manifests[i];
    const resource = CHILD_RESOURCES.find((r) => r.apiVersion === m.apiVersion && r.kind === m.kind)!;
    await client.request(
      'apply',
      'PATCH',
      objectPath(resource, namespace, m.metadata.name),
      resource.plural,
      {
        query: { fieldManager: 'keelson-bench', force: true },
        body: m,
        contentType: 'application/apply-patch+yaml',
      },
    );
  });
  return manifests.length / ((Date.now() - start) / 1000);
}

function operatorIdentity(kc: k8s.KubeConfig, namespace: string): Promise<string> {
  return writeOperatorIdentity(kc, namespace, [BEACON], 'keelson-bench');
}

async function countAvailable(custom: k8s.CustomObjectsApi, namespace: string): Promise<number> {
  const list = (await custom.listNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    plural: PLURAL,
    namespace,
  })) as {
    items: { status?: { conditions?: { type: string; status: string }[] } }[];
  };
  return list.items.filter((i) =>
    i.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True'),
  ).length;
}

async function benchOne(
  cp: ControlPlane,
  n: number,
  quietSeconds: number,
  workers: number,
  replicas: number,
): Promise<Figures> {
  const kc = cp.adminKubeConfig();
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const namespace = await createTestNamespace(kc, `bench-${n}-${Date.now().toString(36)}`);
  const spec = {
    servers: { roleGroups: { default: { replicas } } },
    gateways: { roleGroups: { default: { replicas } } },
  };
  const apiWritesPerSecond = await apiServerWriteRate(kc, namespace, Math.max(400, n * 4));
  log(`N=${n}: API server accepts ${apiWritesPerSecond.toFixed(0)} ConfigMap creates/s`);
  const replayNamespace = await createTestNamespace(kc, `replay-${n}-${Date.now().toString(36)}`);
  const applyPerSecond = await apiServerApplyRate(kc, replayNamespace, n, spec);
  log(`N=${n}: API server applies ${applyPerSecond.toFixed(0)} children/s of the same stacklets`);
  await kc
    .makeApiClient(k8s.CoreV1Api)
    .deleteNamespace({ name: replayNamespace })
    .catch(() => undefined);

  const kubeconfig = await operatorIdentity(kc, namespace);
  const port = await freePort();
  const logFile = path.join(os.tmpdir(), `keelson-bench-operator-${n}.log`);
  const out = fs.openSync(logFile, 'w');
  const main = path.join(__dirname, '..', 'example-product', 'operator-main.js');
  const child = spawn(
    process.execPath,
    [
      main,
      'operator',
      '--watch-namespaces',
      namespace,
      '--metrics-address',
      `127.0.0.1:${port}`,
      '--no-leader-election',
      '--workers',
      String(workers),
      '--log-level',
      'warn',
    ],
    {
      stdio: ['ignore', out, out],
      // As the operator's Deployment runs it.
      env: { ...process.env, NODE_OPTIONS: operatorNodeOptions(), KUBECONFIG: kubeconfig },
    },
  );
  fs.closeSync(out);
  try {
    await waitFor(
      'the operator to be ready',
      async () => (await httpGet(`http://127.0.0.1:${port}/readyz`)) === 'ok',
      60_000,
    );
    const start = Date.now();
    await pool(n, 8, (i) =>
      custom.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace,
        body: {
          apiVersion: `${GROUP}/${VERSION}`,
          kind: 'BeaconCluster',
          metadata: { name: `b-${i}` },
          spec,
        },
      }),
    );
    let available = 0;
    await waitFor(
      `all ${n} BeaconClusters to be Available`,
      async () => (available = await countAvailable(custom, namespace)) === n,
      900_000,
      logFile,
      undefined,
      async () => `${available}/${n} Available`,
    );
    const convergeSeconds = (Date.now() - start) / 1000;
    const cpuSeconds = metricSum(
      await httpGet(`http://127.0.0.1:${port}/metrics`),
      'keelson_process_cpu_seconds_total',
    );
    const writes = operatorWrites(await httpGet(`http://127.0.0.1:${port}/metrics`));
    log(
      `N=${n}: all Available after ${convergeSeconds.toFixed(1)} s with ${writes} writes; quiet window ${quietSeconds} s`,
    );

    await new Promise((r) => setTimeout(r, quietSeconds * 1000));
    const metrics = await httpGet(`http://127.0.0.1:${port}/metrics`);
    const quietWrites = operatorWrites(metrics) - writes;
    return {
      n,
      convergeSeconds,
      writes,
      writesPerStacklet: writes / n,
      quietSeconds,
      quietWrites,
      peakRssMiB: peakRssMiB(child.pid!),
      cpuSeconds,
      heapUsedMiB: Math.round(metricSum(metrics, 'keelson_nodejs_heap_size_used_bytes') / 2 ** 20),
      apiWritesPerSecond,
      applyPerSecond,
      operatorWritesPerSecond: writes / convergeSeconds,
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    operators.delete(child);
    await kc
      .makeApiClient(k8s.CoreV1Api)
      .deleteNamespace({ name: namespace })
      .catch(() => undefined);
  }
}

async function main() {
  const flags = new Command('operator-bench')
    .option('--sizes <list>', 'numbers of stacklets', '50,200')
    .option('--quiet-seconds <s>', 'length of the quiet window', '60')
    .option('--workers <n>', 'operator workers', '4')
    .option('--nodes <n>', 'fake nodes', '8')
    .option('--replicas <n>', 'replicas per role group (0: measure the operator without pods)', '1')
    .parse(process.argv)
    .opts<{ sizes: string; quietSeconds: string; workers: string; nodes: string; replicas: string }>();
  const cp = await startControlPlane({ nodes: Number(flags.nodes), log });
  // Ctrl-C stops the control plane this script started, not just the script.
  process.once('SIGINT', () => {
    for (const child of operators) child.kill('SIGKILL');
    void cp.stop().finally(() => process.exit(130));
  });
  try {
    // Raw JSON: the client library's typed models would drop the CRD's x-kubernetes-* keys.
    const crd = productCrd(BEACON) as { metadata: { name: string } };
    await new KubeClient(cp.adminKubeConfig()).request(
      'apply',
      'PATCH',
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`,
      'customresourcedefinitions',
      {
        query: { fieldManager: 'keelson-bench', force: true },
        body: crd,
        contentType: 'application/apply-patch+yaml',
      },
    );
    await waitFor('the CRD to be served', async () => {
      await cp
        .adminKubeConfig()
        .makeApiClient(k8s.CustomObjectsApi)
        .listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL });
      return true;
    });
    const results: Figures[] = [];
    for (const n of flags.sizes.split(',').map(Number)) {
      results.push(
        await benchOne(cp, n, Number(flags.quietSeconds), Number(flags.workers), Number(flags.replicas)),
      );
    }
    const rows = results.map((r) => ({
      N: r.n,
      'all Available (s)': r.convergeSeconds.toFixed(1),
      'writes/stacklet': r.writesPerStacklet.toFixed(1),
      [`writes in quiet ${r.quietSeconds}s`]: r.quietWrites,
      'operator peak RSS (MiB)': r.peakRssMiB,
      'heap used at rest (MiB)': r.heapUsedMiB,
      'operator CPU (s)': r.cpuSeconds.toFixed(1),
      'operator writes/s': r.operatorWritesPerSecond.toFixed(0),
      'API ConfigMap creates/s': r.apiWritesPerSecond.toFixed(0),
      'API applies/s (same children)': r.applyPerSecond.toFixed(0),
      'ratio (operator/applies)': (r.operatorWritesPerSecond / r.applyPerSecond).toFixed(2),
      'floor: writes ÷ apply rate (s)': (r.writes / r.applyPerSecond).toFixed(1),
    }));
    console.table(rows);
  } finally {
    await cp.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
