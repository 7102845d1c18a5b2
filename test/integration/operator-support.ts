/**
 * What the operator's integration tests share: the compiled operator run as a child process with
 * the token of a ServiceAccount bound to the ClusterRole keelson generates (never as admin), the
 * products' CRDs, its metrics, and small readers for the objects it makes. By default the operator
 * is the example product's (BeaconCluster); pass the shipped products and KEELSON_BIN to run the
 * package's `keelson` command instead.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { ProductDefinition } from '../../lib/stacklet/product';
import { operatorNodeOptions, type CaSecret } from '../../lib/operator/deployment';
import { createTestNamespace, repoRoot } from '../controlplane/cluster';
import { writeOperatorIdentity } from '../controlplane/operator-identity';
import { REAL_NODE_PLACEMENT } from '../controlplane/real-node';
import { KubeClient } from '../../lib/operator/client';
import { BEACON } from '../example-product/beacon';
import { installCrds } from './admission';
import { adminKubeConfig, uniqueName, waitFor } from './support';

export { installCrds };

export const GROUP = 'keelson.dev';
export const VERSION = 'v1alpha1';
export const PLURAL = 'beaconclusters';

/** A compiled operator entry point and the source folders it is built from. */
export interface OperatorEntry {
  readonly main: string;
  readonly sources: string[];
}

/** The example product's operator (BeaconCluster only). */
export const BEACON_MAIN: OperatorEntry = {
  main: path.join(repoRoot(), 'build', 'test', 'example-product', 'operator-main.js'),
  sources: ['lib', 'test/example-product'],
};

/** The package's `keelson` command, with every shipped product. */
export const KEELSON_BIN: OperatorEntry = {
  main: path.join(repoRoot(), 'build', 'apps', 'keelson.js'),
  sources: ['lib', 'constructs', 'apps'],
};

/** Newest modification time of the .ts files under `dirs`. */
function newestSource(dirs: string[]): number {
  let newest = 0;
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(full).mtimeMs);
    }
  };
  for (const dir of dirs) walk(path.join(repoRoot(), dir));
  return newest;
}

/**
 * Compiles the project (`npm run build`) when the operator's compiled entry point is older than
 * its sources. Jest workers may race here, so one builds under a lock directory and the rest wait.
 */
export async function ensureOperatorBuilt(entry: OperatorEntry = BEACON_MAIN): Promise<string> {
  const main = entry.main;
  const fresh = () => fs.existsSync(main) && fs.statSync(main).mtimeMs >= newestSource(entry.sources);
  if (fresh()) return main;
  const lock = path.join(os.tmpdir(), 'keelson-operator-build.lock');
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch {
      if (Date.now() - fs.statSync(lock, { throwIfNoEntry: false })!.mtimeMs > 120_000)
        fs.rmSync(lock, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 500));
      if (fresh()) return main;
    }
  }
  try {
    if (!fresh()) {
      try {
        execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: repoRoot(), stdio: 'pipe' });
      } catch {
        // Type errors elsewhere in the tree do not stop tsc from emitting; the check below decides.
      }
      const now = new Date();
      if (fs.existsSync(main)) fs.utimesSync(main, now, now);
    }
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
  if (!fs.existsSync(main)) throw new Error(`npm run build did not produce ${main}`);
  return main;
}

/** Applies the BeaconCluster CRD (as admin) and waits until it is served. */
export async function installBeaconCrd(kc: k8s.KubeConfig = adminKubeConfig()): Promise<void> {
  await installCrds([BEACON], kc);
}

/**
 * A ServiceAccount in `namespace` bound to the ClusterRole OperatorDeployment generates (or, with
 * `watchNamespaces`, to its Roles in those namespaces), and a kubeconfig file carrying its token:
 * the operator's identity in tests.
 */
export async function operatorIdentity(
  namespace: string,
  kc: k8s.KubeConfig = adminKubeConfig(),
  products: readonly ProductDefinition[] = [BEACON],
  watchNamespaces?: readonly string[],
  caSecrets?: readonly CaSecret[],
): Promise<string> {
  return writeOperatorIdentity(kc, namespace, products, 'keelson-tests', watchNamespaces, caSecrets);
}

/** Deletes the cluster-scoped RBAC objects operatorIdentity made. */
export async function removeOperatorIdentity(
  namespace: string,
  kc: k8s.KubeConfig = adminKubeConfig(),
): Promise<void> {
  const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  const name = `keelson-operator-${namespace}`;
  await rbac.deleteClusterRoleBinding({ name }).catch(() => undefined);
  await rbac.deleteClusterRole({ name }).catch(() => undefined);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

export interface OperatorProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly logFile: string;
  /** The Prometheus text of /metrics. */
  metrics(): Promise<string>;
  /** Sum of keelson_api_requests_total for write verbs, leases excluded. */
  writes(): Promise<number>;
  get(path: string): Promise<{ status: number; body: string }>;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
  readonly exited: Promise<number | null>;
}

export interface StartOperatorOptions {
  readonly namespaces: string[];
  readonly kubeconfig: string;
  readonly args?: string[];
  readonly leaderElection?: boolean;
  readonly env?: Record<string, string>;
  /** The compiled entry point to run. @default BEACON_MAIN */
  readonly entry?: OperatorEntry;
}

const running = new Set<OperatorProcess>();
afterAll(async () => {
  await Promise.all([...running].map((p) => p.kill()));
});

/** Starts the compiled operator; resolves once /readyz answers 200. */
export async function startOperator(options: StartOperatorOptions): Promise<OperatorProcess> {
  const main = await ensureOperatorBuilt(options.entry);
  const port = await freePort();
  const logFile = path.join(os.tmpdir(), `keelson-operator-${options.namespaces[0]}-${port}.log`);
  const out = fs.openSync(logFile, 'a');
  const args = [
    main,
    'operator',
    '--watch-namespaces',
    options.namespaces.join(','),
    '--metrics-address',
    `127.0.0.1:${port}`,
    '--log-level',
    'debug',
    options.leaderElection ? '--leader-election' : '--no-leader-election',
    ...(options.args ?? []),
  ];
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', out, out],
    env: {
      ...process.env,
      NODE_OPTIONS: operatorNodeOptions(),
      KUBECONFIG: options.kubeconfig,
      ...options.env,
    },
  });
  fs.closeSync(out);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const get = (p: string) => httpGet(`http://127.0.0.1:${port}${p}`);
  const metrics = async () => (await get('/metrics')).body;
  const handle: OperatorProcess = {
    child,
    port,
    logFile,
    exited,
    get,
    metrics,
    writes: async () => writeCount(await metrics()),
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      running.delete(handle);
    },
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
      running.delete(handle);
    },
  };
  running.add(handle);
  let dead = false;
  void exited.then(() => (dead = true));
  await waitFor(
    `the operator to be ready (log: ${logFile})`,
    async () => {
      if (dead) throw new Error(`the operator exited: ${tail(logFile)}`);
      return (await get('/readyz')).status === 200;
    },
    60_000,
  );
  return handle;
}

/** Write requests in a Prometheus text, leader-election leases excluded. */
export function writeCount(metrics: string): number {
  return Object.values(writesByResource(metrics)).reduce((a, b) => a + b, 0);
}

/** Write requests by `verb resource` (leases excluded), to show what was written. */
export function writesByResource(metrics: string): Record<string, number> {
  const result: Record<string, number> = {};
  for (const line of metrics.split('\n')) {
    const m = /^keelson_api_requests_total\{([^}]*)\} (\S+)/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (
      ['create', 'apply', 'patch', 'update', 'delete'].includes(labels.verb) &&
      labels.resource !== 'leases'
    ) {
      const key = `${labels.verb} ${labels.resource}`;
      result[key] = (result[key] ?? 0) + Number(m[2]);
    }
  }
  return result;
}

/** What was written between two snapshots of writesByResource. */
export function writesSince(
  before: Record<string, number>,
  after: Record<string, number>,
): Record<string, number> {
  const diff: Record<string, number> = {};
  for (const [key, value] of Object.entries(after))
    if (value !== (before[key] ?? 0)) diff[key] = value - (before[key] ?? 0);
  return diff;
}

/** The value of one sample (`name{labels}`) in a Prometheus text, 0 when absent. */
export function metricValue(metrics: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^(\w+)(?:\{([^}]*)\})? (\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) total += Number(m[3]);
  }
  return total;
}

export function tail(file: string, lines = 20): string {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** What {@link privateKeyLeaks} finds in one text. */
export interface KeyLeak {
  readonly where: string;
  /** The text holds a PEM private key of any kind. */
  readonly privateKey: boolean;
  /** How many of the keys' give-aways it holds. */
  readonly leaked: number;
}

/**
 * What of `keys` (PEM private keys) each of `texts` (`[where, text]`) gives away, one entry per text
 * so that a failing `toEqual` names where: any PEM private key, and for each key its secret scalar
 * (base64url, base64, hex) and the PEM lines that hold it (the first two of a P-256 PKCS#8 key; the
 * last holds only the public key, which certificates carry too), also as a JSON string escapes
 * them. The scans of the operator's log, Events and statuses use it.
 */
export function privateKeyLeaks(
  keys: readonly string[],
  texts: readonly (readonly [string, string])[],
): KeyLeak[] {
  const giveaways = keys.flatMap((pem) => {
    const d = Buffer.from(createPrivateKey(pem).export({ format: 'jwk' }).d!, 'base64url');
    const body = pem.split('\n').filter((line) => line && !line.startsWith('-----'));
    return [d.toString('base64url'), d.toString('base64'), d.toString('hex'), ...body.slice(0, 2)];
  });
  return texts.map(([where, text]) => ({
    where,
    privateKey: text.includes('PRIVATE KEY'),
    leaked: giveaways.filter((g) => text.includes(g) || text.includes(JSON.stringify(g).slice(1, -1))).length,
  }));
}

/** What {@link privateKeyLeaks} answers for `texts` when nothing leaked. */
export function noKeyLeaks(texts: readonly (readonly [string, string])[]): KeyLeak[] {
  return texts.map(([where]) => ({ where, privateKey: false, leaked: 0 }));
}

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer`)));
    req.on('error', reject);
  });
}

/** BeaconCluster helpers as the admin (the user in these tests). */
export function beacons(kc: k8s.KubeConfig = adminKubeConfig()) {
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  type Beacon = {
    metadata: k8s.V1ObjectMeta;
    spec?: Record<string, unknown>;
    status?: { conditions?: k8s.V1Condition[]; observedGeneration?: number };
  };
  return {
    create: (namespace: string, name: string, spec: Record<string, unknown>) =>
      custom.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace,
        body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'BeaconCluster', metadata: { name }, spec },
      }) as Promise<Beacon>,
    list: (namespace: string) =>
      custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace }),
    get: (namespace: string, name: string) =>
      custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace,
        name,
      }) as Promise<Beacon>,
    /** Replaces the spec (merge patch on `spec`). */
    patchSpec: (namespace: string, name: string, spec: Record<string, unknown>) =>
      custom.patchNamespacedCustomObject(
        { group: GROUP, version: VERSION, plural: PLURAL, namespace, name, body: { spec } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      ) as Promise<Beacon>,
    delete: (namespace: string, name: string) =>
      custom.deleteNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace,
        name,
      }),
    condition: async (namespace: string, name: string, type: string) =>
      (
        (await custom.getNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          plural: PLURAL,
          namespace,
          name,
        })) as Beacon
      ).status?.conditions?.find((c) => c.type === type),
  };
}

/** Waits until condition `type` of a BeaconCluster has `status` (and `reason`, when given). */
export async function waitForCondition(
  namespace: string,
  name: string,
  type: string,
  status: 'True' | 'False',
  reason?: string,
  timeoutMs = 300_000,
  kc: k8s.KubeConfig = adminKubeConfig(),
): Promise<void> {
  const api = beacons(kc);
  await waitFor(
    `BeaconCluster ${namespace}/${name} condition ${type}=${status}${reason ? ` (${reason})` : ''}`,
    async () => {
      const c = await api.condition(namespace, name, type);
      return c?.status === status && (reason === undefined || c.reason === reason);
    },
    timeoutMs,
    undefined,
    undefined,
    async () => JSON.stringify((await api.get(namespace, name)).status ?? 'no status'),
  );
}

/** An operator watching a namespace of its own, as a suite's beforeAll makes it. */
export interface OperatorInNamespace {
  readonly namespace: string;
  readonly operator: OperatorProcess;
}

/**
 * Installs the CRDs of `products`, makes a fresh namespace and starts `entry` in it with the
 * generated ClusterRole's identity. Undo with `stopOperatorInNamespace`.
 */
export async function startOperatorInNamespace(
  prefix: string,
  products: readonly ProductDefinition[] = [BEACON],
  entry: OperatorEntry = BEACON_MAIN,
  kc: k8s.KubeConfig = adminKubeConfig(),
): Promise<OperatorInNamespace> {
  await installCrds(products, kc);
  const namespace = await createTestNamespace(kc, uniqueName(prefix));
  const kubeconfig = await operatorIdentity(namespace, kc, products);
  const operator = await startOperator({ namespaces: [namespace], kubeconfig, entry });
  return { namespace, operator };
}

/** Stops the operator and removes its identity and namespace. */
export async function stopOperatorInNamespace(
  started: Partial<OperatorInNamespace>,
  kc: k8s.KubeConfig = adminKubeConfig(),
): Promise<void> {
  await started.operator?.stop();
  if (!started.namespace) return;
  await removeOperatorIdentity(started.namespace, kc);
  await kc
    .makeApiClient(k8s.CoreV1Api)
    .deleteNamespace({ name: started.namespace })
    .catch(() => undefined);
}

/** Where keelson's mount contract puts server TLS (lib/tls). */
export const TLS_SERVER_DIR = '/keelson/tls/server';

/**
 * A BeaconCluster (the framework's example product) whose servers, and `gateways` gateways, run a
 * shell holding `volume` (a TLS volume named `tls-server`) at {@link TLS_SERVER_DIR}: stacklet pods
 * for the signer tests to ask certificates for, on the real node.
 */
export function createCertificateBeacon(
  kc: k8s.KubeConfig,
  namespace: string,
  name: string,
  options: { image: string; volume: k8s.V1Volume; gateways?: number },
) {
  const podOverrides = {
    spec: {
      ...REAL_NODE_PLACEMENT,
      terminationGracePeriodSeconds: 0,
      containers: [
        {
          name: 'beacon',
          command: ['/bin/sh', '-c', 'sleep 86400'],
          args: null,
          readinessProbe: null,
          volumeMounts: [{ name: options.volume.name, mountPath: TLS_SERVER_DIR, readOnly: true }],
        },
      ],
      volumes: [options.volume],
    },
  };
  const small = { resources: { memory: { limit: '384Mi' }, cpu: { min: '50m', max: '500m' } } };
  return beacons(kc).create(namespace, name, {
    image: { custom: options.image, pullPolicy: 'Never' },
    servers: {
      config: { ...small, resources: { ...small.resources, storage: { data: { capacity: '16Mi' } } } },
      podOverrides,
      roleGroups: { default: { replicas: 1 } },
    },
    gateways: { config: small, podOverrides, roleGroups: { default: { replicas: options.gateways ?? 0 } } },
  });
}

/** What useKeelsonOperator gives a test file. */
export interface KeelsonOperatorFixture {
  /** The namespace the operator watches (set before the file's tests run). */
  readonly namespace: string;
  readonly operator: OperatorProcess | undefined;
  /** Deletes the cluster-scoped keelson object `plural/name` after the file. */
  removeAfter(plural: string, name: string): void;
  /** The end of the operator's log, for a failure's message. */
  operatorLog(lines?: number): string;
}

/**
 * For one test file: the compiled `keelson` command's operator, with the identity `keelson
 * deploy`'s RBAC gives it for `products`, watching a fresh namespace labelled `namespaceLabels`
 * (a Pod Security profile); the products' CRDs installed. After the file, the operator stops and
 * its namespaces, RBAC and the cluster-scoped objects named through `removeAfter` go.
 */
export function useKeelsonOperator(
  prefix: string,
  products: readonly ProductDefinition[],
  namespaceLabels?: Record<string, string>,
): KeelsonOperatorFixture {
  const kc = adminKubeConfig();
  const state = {
    namespace: '',
    operatorNamespace: '',
    operator: undefined as OperatorProcess | undefined,
    clusterScoped: [] as { plural: string; name: string }[],
  };
  beforeAll(async () => {
    await installCrds(products, kc);
    state.operatorNamespace = await createTestNamespace(kc, uniqueName(`${prefix}-op`));
    state.namespace = await createTestNamespace(kc, uniqueName(prefix), namespaceLabels);
    const kubeconfig = await operatorIdentity(state.operatorNamespace, kc, products, [state.namespace]);
    state.operator = await startOperator({
      namespaces: [state.namespace],
      kubeconfig,
      entry: KEELSON_BIN,
      env: { POD_NAMESPACE: state.operatorNamespace },
    });
  });
  afterAll(async () => {
    await state.operator?.stop();
    const client = new KubeClient(kc);
    for (const { plural, name } of state.clusterScoped)
      await client
        .request('delete', 'DELETE', `/apis/${GROUP}/${VERSION}/${plural}/${name}`, plural)
        .catch(() => undefined);
    if (state.operatorNamespace) await removeOperatorIdentity(state.operatorNamespace, kc);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    for (const name of [state.namespace, state.operatorNamespace].filter(Boolean))
      await core.deleteNamespace({ name }).catch(() => undefined);
  });
  return {
    get namespace() {
      return state.namespace;
    },
    get operator() {
      return state.operator;
    },
    removeAfter: (plural, name) => state.clusterScoped.push({ plural, name }),
    operatorLog: (lines = 60) => (state.operator ? tail(state.operator.logFile, lines) : ''),
  };
}
