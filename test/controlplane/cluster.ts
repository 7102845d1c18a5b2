/**
 * A real Kubernetes control plane for keelson's tests: etcd, kube-apiserver, kube-controller-manager,
 * kube-scheduler and kwok (a fake kubelet), started on loopback from binaries that
 * `build-binaries.sh` builds from the Go module proxy.
 *
 * TLS and RBAC are on, the data lives on tmpfs, and every component logs to its own file in the
 * run folder, so a failing wait can say where to look. `stop()` ends only the process groups this
 * module started.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';

const execFileAsync = promisify(execFile);

/** The components, in start order. */
export const COMPONENTS = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kwok',
] as const;
export type Component = (typeof COMPONENTS)[number];

/** Annotation kwok watches: nodes carrying it are "run" by kwok. */
export const FAKE_NODE_ANNOTATION = 'kwok.x-k8s.io/node';
/** Name of the default StorageClass (the controller-manager's hostpath provisioner). */
export const DEFAULT_STORAGE_CLASS = 'standard';

/** Where the controller-manager's hostpath provisioner makes volumes (fixed in Kubernetes). */
export const HOSTPATH_PROVISIONER_ROOT = '/tmp/hostpath_pv';
export const SERVICE_CLUSTER_IP_RANGE = '10.96.0.0/16';
const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';

/**
 * Kubernetes Pod Certificates, which keelson's operator signs: on v1.36 the three features are
 * beta and off by default (pkg/features/kube_features.go), and their API
 * (`certificates.k8s.io/v1beta1`: podcertificaterequests, clustertrustbundles) is not served
 * unless asked for. The API server, the controller-manager (which deletes stale requests) and the
 * real node's kubelet (which makes the requests and fills the projected volumes) all get them.
 */
export const POD_CERTIFICATE_FEATURE_GATES: Record<string, boolean> = {
  PodCertificateRequest: true,
  ClusterTrustBundle: true,
  ClusterTrustBundleProjection: true,
};
/** The API server's `--runtime-config` that serves the Pod Certificate API. */
export const POD_CERTIFICATE_RUNTIME_CONFIG = 'certificates.k8s.io/v1beta1=true';

/** The `--feature-gates` flag of {@link POD_CERTIFICATE_FEATURE_GATES}. */
export function featureGatesFlag(gates: Record<string, boolean> = POD_CERTIFICATE_FEATURE_GATES): string {
  return `--feature-gates=${Object.entries(gates)
    .map(([gate, on]) => `${gate}=${on}`)
    .join(',')}`;
}

export interface ControlPlaneOptions {
  /**
   * Folder under which the per-run folder (data, certificates, kubeconfigs, logs) is made.
   * @default - /dev/shm/keelson (tmpfs), or the OS temp folder where /dev/shm is missing
   */
  readonly runRoot?: string;
  /**
   * How many fake nodes kwok runs.
   * @default 2
   */
  readonly nodes?: number;
  /**
   * Leave the components running when this Node process exits (for `npm run cluster:up`).
   * @default false
   */
  readonly detached?: boolean;
  /**
   * How long to wait for the API server and the fake nodes to become ready.
   * @default 120000
   */
  readonly readyTimeoutMs?: number;
  /**
   * Progress messages.
   * @default - written to stderr
   */
  readonly log?: (message: string) => void;
}

/** What `stop()` and `npm run cluster:down` need to find a running control plane again. */
export interface ControlPlaneState {
  readonly runDir: string;
  readonly kubeconfigPath: string;
  readonly server: string;
  /** Process-group leader PIDs, by component. */
  readonly pids: Record<Component, number>;
  readonly logs: Record<Component, string>;
}

export interface ControlPlane extends ControlPlaneState {
  /** Seconds from the call to `startControlPlane` until it was ready (build check included). */
  readonly startSeconds: number;
  /** A KubeConfig for the cluster admin (a client certificate in `system:masters`). */
  adminKubeConfig(): k8s.KubeConfig;
  /** Resident memory of each component, in MiB (current and peak). */
  memoryUsage(): Record<Component, { rssMiB: number; peakMiB: number } | undefined>;
  /** Stops the components this control plane started and removes its run folder. */
  stop(options?: { keepRunDir?: boolean }): Promise<void>;
}

/** Builds the binaries (a no-op when they exist) and returns the folder they are in. */
export async function buildBinaries(log: (message: string) => void = defaultLog): Promise<string> {
  const binDir = await runBuildScript('controlplane', log);
  for (const name of COMPONENTS) {
    if (!fs.existsSync(path.join(binDir, name))) {
      throw new Error(`build-binaries.sh finished but ${path.join(binDir, name)} is missing`);
    }
  }
  return binDir;
}

/**
 * Runs `build-binaries.sh <what>` (a no-op for binaries that exist) and returns the folder it
 * printed last.
 */
export async function runBuildScript(
  what: 'controlplane' | 'node' | 'certmanager' | 'prometheus',
  log: (message: string) => void = defaultLog,
): Promise<string> {
  const script = path.join(repoRoot(), 'test', 'controlplane', 'build-binaries.sh');
  const start = Date.now();
  const child = spawn('bash', [script, what], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    for (const line of chunk.toString().split('\n')) {
      if (line.startsWith('[controlplane build]')) log(line);
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) {
    throw new Error(`${script} ${what} failed (exit ${code}):\n${stderr.split('\n').slice(-30).join('\n')}`);
  }
  const binDir = stdout.trim().split('\n').pop() ?? '';
  log(`${what} binaries ready in ${binDir} (${((Date.now() - start) / 1000).toFixed(1)} s)`);
  return binDir;
}

/**
 * Starts a control plane and resolves once the API server is ready, the default StorageClass
 * exists and kwok reports the fake nodes Ready.
 */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const started = Date.now();
  const log = options.log ?? defaultLog;
  const timeoutMs = options.readyTimeoutMs ?? 120_000;
  const binDir = await buildBinaries(log);

  const runRoot = options.runRoot ?? defaultRunRoot();
  fs.mkdirSync(runRoot, { recursive: true });
  const runDir = fs.mkdtempSync(path.join(runRoot, `run-${process.pid}-`));
  const pki = path.join(runDir, 'pki');
  fs.mkdirSync(pki);
  log(`run folder ${runDir}`);

  const pids: Partial<Record<Component, number>> = {};
  const logs = Object.fromEntries(COMPONENTS.map((c) => [c, path.join(runDir, `${c}.log`)])) as Record<
    Component,
    string
  >;
  const stopAll = async (keepRunDir: boolean) => {
    if (pids['kube-apiserver'] !== undefined) await removeProvisionedVolumes(runDir);
    await killProcessGroups(inStartOrder(pids));
    if (!keepRunDir) fs.rmSync(runDir, { recursive: true, force: true });
  };
  const exitGuard = () => {
    for (const pid of Object.values(pids)) signalGroup(pid, 'SIGKILL');
  };
  if (!options.detached) process.once('exit', exitGuard);

  try {
    const [etcdPort, etcdPeerPort, apiPort] = await freePorts(3);
    const server = `https://127.0.0.1:${apiPort}`;
    await makeCertificates(pki);

    const kubeconfigPath = path.join(runDir, 'admin.kubeconfig');
    writeKubeconfig(kubeconfigPath, server, pki, 'admin');
    writeKubeconfig(path.join(runDir, 'controller-manager.kubeconfig'), server, pki, 'controller-manager');
    writeKubeconfig(path.join(runDir, 'scheduler.kubeconfig'), server, pki, 'scheduler');

    const launch = (component: Component, args: string[]) => {
      pids[component] = launchComponent(
        path.join(binDir, component),
        args,
        logs[component],
        options.detached,
      );
    };

    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const etcdPeerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    launch('etcd', [
      '--name=keelson',
      `--data-dir=${path.join(runDir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${etcdPeerUrl}`,
      `--initial-advertise-peer-urls=${etcdPeerUrl}`,
      `--initial-cluster=keelson=${etcdPeerUrl}`,
      '--unsafe-no-fsync',
      '--log-level=warn',
    ]);
    await waitFor(
      'etcd to be healthy',
      async () => (await httpGet(`${etcdUrl}/health`)).includes('"true"'),
      timeoutMs,
      logs.etcd,
    );

    launch('kube-apiserver', [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      '--endpoint-reconciler-type=none',
      `--cert-dir=${pki}`,
      `--tls-cert-file=${path.join(pki, 'apiserver.crt')}`,
      `--tls-private-key-file=${path.join(pki, 'apiserver.key')}`,
      `--client-ca-file=${path.join(pki, 'ca.crt')}`,
      '--authorization-mode=Node,RBAC',
      // As on real clusters: Pod Security admission, not this flag, decides who may run privileged.
      '--allow-privileged=true',
      `--service-account-key-file=${path.join(pki, 'sa.pub')}`,
      `--service-account-signing-key-file=${path.join(pki, 'sa.key')}`,
      `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
      `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
      // For a real kubelet (real-node.ts): logs, exec and port-forward go through it.
      `--kubelet-client-certificate=${path.join(pki, 'apiserver-kubelet-client.crt')}`,
      `--kubelet-client-key=${path.join(pki, 'apiserver-kubelet-client.key')}`,
      '--kubelet-preferred-address-types=InternalIP',
      featureGatesFlag(),
      `--runtime-config=${POD_CERTIFICATE_RUNTIME_CONFIG}`,
      '--profiling=false',
    ]);
    await waitFor(
      'the API server to be ready (/readyz)',
      () => apiReady(server, pki),
      timeoutMs,
      logs['kube-apiserver'],
      pids,
    );

    launch('kube-controller-manager', [
      `--kubeconfig=${path.join(runDir, 'controller-manager.kubeconfig')}`,
      '--bind-address=127.0.0.1',
      '--secure-port=0',
      '--leader-elect=false',
      '--use-service-account-credentials=true',
      '--controllers=*',
      '--enable-hostpath-provisioner=true',
      `--root-ca-file=${path.join(pki, 'ca.crt')}`,
      `--service-account-private-key-file=${path.join(pki, 'sa.key')}`,
      `--cluster-signing-cert-file=${path.join(pki, 'ca.crt')}`,
      `--cluster-signing-key-file=${path.join(pki, 'ca.key')}`,
      `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
      // The default 20 requests/s is sized for a shared production API server; tests create
      // hundreds of pods and delete namespaces while others run, and would wait on the limiter.
      '--kube-api-qps=200',
      '--kube-api-burst=400',
      // kwok renews the fake nodes' leases; on a busy 2-core machine it can fall behind for a
      // while, and a node marked NotReady turns all its pods NotReady for good (kwok does not
      // make them Ready again). Real kubelets are not simulated here, so a node is never lost.
      '--node-monitor-grace-period=10m',
      featureGatesFlag(),
      '--profiling=false',
    ]);
    launch('kube-scheduler', [
      `--kubeconfig=${path.join(runDir, 'scheduler.kubeconfig')}`,
      '--bind-address=127.0.0.1',
      '--secure-port=0',
      '--leader-elect=false',
      '--kube-api-qps=200',
      '--kube-api-burst=400',
      '--profiling=false',
    ]);
    launch('kwok', [
      `--kubeconfig=${kubeconfigPath}`,
      '--manage-all-nodes=false',
      `--manage-nodes-with-annotation-selector=${FAKE_NODE_ANNOTATION}=fake`,
      '--cidr=10.244.0.1/16',
      '--node-ip=127.0.0.1',
    ]);

    const kc = loadKubeConfig(kubeconfigPath);
    await createDefaultStorageClass(kc);
    const nodeNames = await registerFakeNodes(kc, options.nodes ?? 2);
    await waitFor(
      `fake nodes ${nodeNames.join(', ')} to be Ready (kwok)`,
      async () => {
        const nodes = await kc.makeApiClient(k8s.CoreV1Api).listNode();
        return nodeNames.every((name) =>
          nodes.items.some(
            (n) =>
              n.metadata?.name === name &&
              n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') &&
              !(n.spec?.taints ?? []).some((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute'),
          ),
        );
      },
      timeoutMs,
      logs.kwok,
      pids,
    );
    await waitFor(
      'the default ServiceAccount in namespace default (controller-manager)',
      async () => {
        await kc
          .makeApiClient(k8s.CoreV1Api)
          .readNamespacedServiceAccount({ name: 'default', namespace: 'default' });
        return true;
      },
      timeoutMs,
      logs['kube-controller-manager'],
      pids,
    );

    const startSeconds = (Date.now() - started) / 1000;
    log(`control plane ready at ${server} in ${startSeconds.toFixed(1)} s; kubeconfig ${kubeconfigPath}`);
    const state: ControlPlaneState = {
      runDir,
      kubeconfigPath,
      server,
      pids: pids as Record<Component, number>,
      logs,
    };
    return {
      ...state,
      startSeconds,
      adminKubeConfig: () => loadKubeConfig(kubeconfigPath),
      memoryUsage: () => memoryUsage(COMPONENTS, state.pids),
      stop: async (stopOptions = {}) => {
        process.removeListener('exit', exitGuard);
        await stopAll(stopOptions.keepRunDir ?? false);
      },
    };
  } catch (error) {
    process.removeListener('exit', exitGuard);
    const keep = process.env.KEELSON_KEEP_RUN === '1';
    await stopAll(keep);
    const note = keep ? `logs kept in ${runDir}` : `set KEELSON_KEEP_RUN=1 to keep the logs in ${runDir}`;
    throw new Error(`control plane did not start: ${(error as Error).message}\n(${note})`, { cause: error });
  }
}

/** Stops a control plane from its recorded state: kills the recorded process groups only. */
export async function stopControlPlane(state: ControlPlaneState, options: { keepRunDir?: boolean } = {}) {
  if (state.pids['kube-apiserver'] !== undefined) await removeProvisionedVolumes(state.runDir);
  await killProcessGroups(inStartOrder(state.pids));
  if (!options.keepRunDir) fs.rmSync(state.runDir, { recursive: true, force: true });
}

/**
 * The hostpath provisioner makes each volume a folder under /tmp/hostpath_pv, outside the run
 * folder, and other runs may share that parent: remove exactly the folders of this cluster's
 * PersistentVolumes. Best effort: a cluster that no longer answers leaves them behind.
 */
async function removeProvisionedVolumes(runDir: string) {
  const kubeconfig = path.join(runDir, 'admin.kubeconfig');
  if (!fs.existsSync(kubeconfig)) return;
  try {
    const volumes = await loadKubeConfig(kubeconfig).makeApiClient(k8s.CoreV1Api).listPersistentVolume();
    for (const pv of volumes.items) {
      const folder = pv.spec?.hostPath?.path;
      if (folder && path.dirname(folder) === HOSTPATH_PROVISIONER_ROOT)
        fs.rmSync(folder, { recursive: true, force: true });
    }
  } catch {
    // the API server is gone already: nothing to ask
  }
}

/** Resident memory of the recorded processes, from /proc (undefined for one that is gone). */
export function memoryUsage<C extends string>(
  components: readonly C[],
  pids: Partial<Record<C, number>>,
): Record<C, { rssMiB: number; peakMiB: number } | undefined> {
  const result = {} as Record<C, { rssMiB: number; peakMiB: number } | undefined>;
  for (const component of components) {
    try {
      const status = fs.readFileSync(`/proc/${pids[component]}/status`, 'utf8');
      const kib = (field: string) =>
        Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
      result[component] = {
        rssMiB: Math.round(kib('VmRSS') / 1024),
        peakMiB: Math.round(kib('VmHWM') / 1024),
      };
    } catch {
      result[component] = undefined;
    }
  }
  return result;
}

/** A KubeConfig read from a kubeconfig file. */
export function loadKubeConfig(kubeconfigPath: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return kc;
}

/**
 * A KubeConfig that authenticates as a ServiceAccount, with a token minted through the
 * TokenRequest API (so it is bound, short-lived and checked by the API server like any other).
 */
export async function serviceAccountKubeConfig(
  admin: k8s.KubeConfig,
  namespace: string,
  serviceAccount: string,
  expirationSeconds = 3600,
): Promise<k8s.KubeConfig> {
  const core = admin.makeApiClient(k8s.CoreV1Api);
  const request = await core.createNamespacedServiceAccountToken({
    name: serviceAccount,
    namespace,
    body: { spec: { audiences: [], expirationSeconds } },
  });
  const token = request.status?.token;
  if (!token) throw new Error(`TokenRequest for ${namespace}/${serviceAccount} returned no token`);
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error('the admin KubeConfig has no current cluster');
  const kc = new k8s.KubeConfig();
  const user = `system:serviceaccount:${namespace}:${serviceAccount}`;
  kc.loadFromOptions({
    clusters: [{ ...cluster, name: 'keelson-test' }],
    users: [{ name: user, token }],
    contexts: [{ name: user, cluster: 'keelson-test', user, namespace }],
    currentContext: user,
  });
  return kc;
}

/**
 * Creates a namespace and waits until its default ServiceAccount exists (pods are refused
 * before that).
 */
export async function createTestNamespace(
  kc: k8s.KubeConfig,
  name: string,
  labels: Record<string, string> = {},
): Promise<string> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({
    body: { metadata: { name, labels: { 'keelson.dev/test': 'true', ...labels } } },
  });
  await waitFor(`the default ServiceAccount in namespace ${name}`, async () => {
    await core.readNamespacedServiceAccount({ name: 'default', namespace: name });
    return true;
  });
  return name;
}

/**
 * Polls `check` until it returns true or the deadline passes. A failed wait throws with the last
 * thing it saw (the last error, or what `describe` returns) and the log to read.
 */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 60_000,
  logFile?: string,
  watched?: Partial<Record<string, number>>,
  describe?: () => Promise<string>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastSeen = 'nothing yet';
  for (let delay = 100; ; delay = Math.min(delay * 2, 1000)) {
    try {
      if (await check()) return;
      lastSeen = describe ? await describe() : 'the condition was false';
    } catch (error) {
      lastSeen = errorText(error);
    }
    for (const [component, pid] of Object.entries(watched ?? {})) {
      if (pid !== undefined && !isAlive(pid)) {
        throw new Error(`${component} exited while waiting for ${what}; see ${logFile ?? 'its log'}`);
      }
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs / 1000} s waiting for ${what}; last seen: ${lastSeen}` +
          (logFile ? `; see ${logFile}` : ''),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

function errorText(error: unknown): string {
  const e = error as { code?: number; body?: unknown; message?: string };
  if (e?.code && e.body) {
    const body = typeof e.body === 'string' ? e.body : JSON.stringify(e.body);
    return `HTTP ${e.code}: ${body.slice(0, 500)}`;
  }
  return e?.message ?? String(error);
}

function defaultLog(message: string) {
  process.stderr.write(`[controlplane] ${message}\n`);
}

function defaultRunRoot(): string {
  return fs.existsSync('/dev/shm') ? '/dev/shm/keelson' : path.join(os.tmpdir(), 'keelson');
}

export function repoRoot(): string {
  // This file is test/controlplane/cluster.ts, or build/test/controlplane/cluster.js once compiled.
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = parent;
  }
  return dir;
}

/** Starts one component in its own process group, its output appended to its log file. */
function launchComponent(binary: string, args: string[], logFile: string, detached = false): number {
  const out = fs.openSync(logFile, 'a');
  fs.writeSync(out, `# ${binary} ${args.join(' ')}\n`);
  const child = spawn(binary, args, { detached: true, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  if (child.pid === undefined) throw new Error(`could not start ${binary}; see ${logFile}`);
  if (detached) child.unref();
  return child.pid;
}

function inStartOrder(pids: Partial<Record<Component, number>>): number[] {
  return COMPONENTS.map((c) => pids[c]).filter((pid): pid is number => pid !== undefined);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie (exited, not yet reaped) still answers signal 0.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals) {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Stops the recorded process groups (given in start order): everything but the first (etcd) at
 * once, then etcd, so the API server can still reach its storage while it shuts down (without it,
 * the API server takes over ten seconds to give up). SIGKILL for whatever is left after 10 s.
 */
async function killProcessGroups(pidsInStartOrder: number[]) {
  const [storage, ...rest] = pidsInStartOrder;
  for (const layer of [rest, storage === undefined ? [] : [storage]]) {
    for (const pid of layer) signalGroup(pid, 'SIGTERM');
    const deadline = Date.now() + 10_000;
    while (layer.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const pid of layer.filter(isAlive)) signalGroup(pid, 'SIGKILL');
  }
}

async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const server = net.createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

async function openssl(cwd: string, ...args: string[]) {
  try {
    await execFileAsync('openssl', args, { cwd });
  } catch (error) {
    const e = error as { code?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new Error('openssl is not installed (Debian: apt-get install openssl)');
    throw new Error(`openssl ${args.join(' ')} failed: ${e.stderr ?? error}`);
  }
}

/**
 * A CA, the API server's serving certificate, client certificates for the admin and the
 * controllers, and the ServiceAccount signing key pair.
 */
async function makeCertificates(pki: string) {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(
    pki,
    'req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '7',
    '-subj', '/CN=keelson-test-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
  ); // prettier-ignore
  const sign = (name: string, subject: string, extensions: string) =>
    signCertificate(pki, name, subject, extensions);
  const serviceIp = '10.96.0.1';
  const sans = [
    'IP:127.0.0.1',
    `IP:${serviceIp}`,
    'DNS:localhost',
    'DNS:kubernetes',
    'DNS:kubernetes.default',
    'DNS:kubernetes.default.svc',
    'DNS:kubernetes.default.svc.cluster.local',
  ];
  const client = 'keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n';
  await Promise.all([
    sign(
      'apiserver',
      '/CN=kube-apiserver',
      `keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${sans.join(',')}\n`,
    ),
    sign('admin', '/O=system:masters/CN=keelson-admin', client),
    sign('controller-manager', '/CN=system:kube-controller-manager', client),
    sign('scheduler', '/CN=system:kube-scheduler', client),
    sign('apiserver-kubelet-client', '/O=system:masters/CN=kube-apiserver-kubelet-client', client),
    openssl(pki, 'genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'sa.key'),
  ]);
  await openssl(pki, 'pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub');
}

/** Extensions of a client certificate (for {@link signCertificate}). */
export const CLIENT_CERTIFICATE_EXTENSIONS =
  'keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n';

/**
 * Writes `<name>.key` and `<name>.crt` into `pki`, signed by the CA there (`ca.crt`, `ca.key`),
 * for `subject` (`/O=group/CN=user`) with the given openssl extensions.
 */
export async function signCertificate(pki: string, name: string, subject: string, extensions: string) {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  fs.writeFileSync(path.join(pki, `${name}.ext`), extensions);
  await openssl(pki, 'req', '-new', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
  // A random serial per certificate: `-CAcreateserial` shares one serial file, and the control
  // plane's certificates are signed side by side ("unable to load number from ca.srl").
  await openssl(
    pki,
    'x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', randomSerial(),
    '-days', '7', '-out', `${name}.crt`, '-extfile', `${name}.ext`,
  ); // prettier-ignore
}

/** A positive 127-bit certificate serial number in openssl's hex notation. */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] & 0x7f) | 0x01;
  return `0x${bytes.toString('hex')}`;
}

/**
 * Writes a kubeconfig for the client certificate `<user>.crt`/`<user>.key` in `pki`.
 * `tlsServerName` is the name the serving certificate is checked against when `server` is an
 * address it does not name (a forwarder's).
 */
export function writeKubeconfig(
  file: string,
  server: string,
  pki: string,
  user: string,
  tlsServerName?: string,
) {
  const b64 = (name: string) => fs.readFileSync(path.join(pki, name)).toString('base64');
  const cluster: Record<string, string> = { server, 'certificate-authority-data': b64('ca.crt') };
  if (tlsServerName) cluster['tls-server-name'] = tlsServerName;
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'keelson-test', cluster }],
    users: [
      {
        name: user,
        user: { 'client-certificate-data': b64(`${user}.crt`), 'client-key-data': b64(`${user}.key`) },
      },
    ],
    contexts: [{ name: 'keelson-test', context: { cluster: 'keelson-test', user } }],
    'current-context': 'keelson-test',
  };
  // JSON is valid YAML, and every kubeconfig reader accepts it.
  fs.writeFileSync(file, JSON.stringify(kubeconfig, null, 2), { mode: 0o600 });
}

function httpGet(url: string, tls?: https.RequestOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const get = url.startsWith('https:') ? https.get : http.get;
    const req = get(url, { ...tls, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () =>
        res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: HTTP ${res.statusCode}: ${body}`)),
      );
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer in 5 s`)));
    req.on('error', reject);
  });
}

async function apiReady(server: string, pki: string): Promise<boolean> {
  const body = await httpGet(`${server}/readyz`, {
    ca: fs.readFileSync(path.join(pki, 'ca.crt')),
    cert: fs.readFileSync(path.join(pki, 'admin.crt')),
    key: fs.readFileSync(path.join(pki, 'admin.key')),
  });
  return body.trim() === 'ok';
}

async function createDefaultStorageClass(kc: k8s.KubeConfig) {
  await kc.makeApiClient(k8s.StorageV1Api).createStorageClass({
    body: {
      metadata: {
        name: DEFAULT_STORAGE_CLASS,
        annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
      },
      provisioner: 'kubernetes.io/host-path',
      reclaimPolicy: 'Delete',
      volumeBindingMode: 'Immediate',
    },
  });
}

async function registerFakeNodes(kc: k8s.KubeConfig, count: number): Promise<string[]> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const names = Array.from({ length: count }, (_, i) => `kwok-node-${i}`);
  const resources = { cpu: '32', memory: '256Gi', pods: '110', 'ephemeral-storage': '1Ti' };
  for (const name of names) {
    await core.createNode({
      body: {
        metadata: {
          name,
          annotations: { [FAKE_NODE_ANNOTATION]: 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
          labels: {
            'kubernetes.io/hostname': name,
            'kubernetes.io/os': 'linux',
            'kubernetes.io/arch': 'amd64',
            type: 'kwok',
          },
        },
        spec: {},
        status: { allocatable: resources, capacity: resources, nodeInfo: fakeNodeInfo() },
      },
    });
  }
  return names;
}

function fakeNodeInfo(): k8s.V1NodeSystemInfo {
  return {
    architecture: 'amd64',
    operatingSystem: 'linux',
    bootID: '',
    containerRuntimeVersion: 'kwok',
    kernelVersion: '',
    kubeProxyVersion: '',
    kubeletVersion: 'kwok',
    machineID: randomBytes(16).toString('hex'),
    osImage: '',
    systemUUID: '',
  };
}
