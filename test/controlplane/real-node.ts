/**
 * A real node for the test control plane: containerd with runc, a kubelet, kube-proxy,
 * CoreDNS and a NetworkPolicy enforcer (kube-router's firewall), all inside a network namespace
 * this module creates (`keelson-node-<id>`), so that the pod bridge, the iptables rules and all pod
 * traffic live only there and several runs on one machine never share them.
 *
 *   root namespace                          keelson-node-<id>
 *   kube-apiserver 127.0.0.1:<port>         kubelet, kube-proxy (iptables), CoreDNS, containerd,
 *                                           kube-router (NetworkPolicies: iptables + ipset)
 *   socat <hostIp>:6443 -> apiserver  <-->  eth0 <nodeIp>  --  keelson0 bridge 10.245.0.1/24 -- pods
 *
 * The namespace is joined to the root namespace by one veth pair on a /30 of its own; it has no
 * default route, so a pod can reach pods, Services, CoreDNS and the API server (through socat),
 * and nothing else. The API server reaches the kubelet on nodeIp:10250 (logs, exec). The node is
 * tainted and labelled `keelson.dev/real-node=true`, so only pods that tolerate the taint land on
 * it; kwok's fake nodes stay for everything else.
 *
 * NetworkPolicies are enforced, as on a cluster whose CNI implements them: kube-router runs with
 * only its firewall (`--run-firewall`; no routing, no service proxy) and filters the pods'
 * traffic on the bridge (bridge-nf-call-iptables). It was chosen because this kernel has iptables,
 * ipset and the xt matches it uses, but not nft_queue, without which the nftables-based
 * sigs.k8s.io/kube-network-policies cannot run.
 *
 * cgroups: the machine has cgroup v1 and no systemd, so the kubelet runs with `failCgroupV1:
 * false` and the cgroupfs driver under a cgroup root of its own (`/keelson-<id>` in every
 * hierarchy), and containerd (with its shims) runs in `/keelson-<id>/runtime`. Stopping kills
 * every process in that tree, unmounts what containerd and the kubelet mounted under the node's
 * folder, and deletes the namespace (its bridge, veths and iptables rules go with it).
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import {
  CLIENT_CERTIFICATE_EXTENSIONS,
  HOSTPATH_PROVISIONER_ROOT,
  loadKubeConfig,
  POD_CERTIFICATE_FEATURE_GATES,
  memoryUsage,
  runBuildScript,
  SERVICE_CLUSTER_IP_RANGE,
  signCertificate,
  waitFor,
  writeKubeconfig,
  type ControlPlaneState,
} from './cluster';
import { buildNodeImages } from './node-images';

const execFileAsync = promisify(execFile);

/** The real node's name (one per control plane). */
export const REAL_NODE_NAME = 'keelson-real-node';
/** Label and taint key of the real node; pods that want real containers select and tolerate it. */
export const REAL_NODE_LABEL = 'keelson.dev/real-node';
export const REAL_NODE_TAINT = { key: REAL_NODE_LABEL, value: 'true', effect: 'NoSchedule' } as const;
/** What a pod spec adds to run on the real node. */
export const REAL_NODE_PLACEMENT = {
  nodeSelector: { [REAL_NODE_LABEL]: 'true' },
  tolerations: [{ key: REAL_NODE_LABEL, operator: 'Equal', value: 'true', effect: 'NoSchedule' }],
};
/** Pod addresses (inside each node namespace; never routed from the root namespace). */
export const POD_CIDR = '10.245.0.0/24';
export const CLUSTER_DOMAIN = 'cluster.local';
/** The containerd namespace the kubelet's images and containers live in. */
export const CONTAINERD_NAMESPACE = 'k8s.io';

/** Processes, in start order. */
export const NODE_COMPONENTS = [
  'api-forwarder',
  'volume-permissions',
  'containerd',
  'coredns',
  'kubelet',
  'kube-proxy',
  'network-policy',
] as const;
export type NodeComponent = (typeof NODE_COMPONENTS)[number];

/** What stopping the node (also from another process: `npm run cluster:down`) needs. */
export interface RealNodeState {
  readonly id: string;
  /** The network namespace (`ip netns` name). */
  readonly netns: string;
  /** The node's folder (containerd's root and state, the kubelet's root, logs, configs). */
  readonly dir: string;
  readonly nodeName: string;
  /** The node's address inside its namespace (InternalIP, CoreDNS). */
  readonly nodeIp: string;
  /** The root namespace's end of the veth pair (where socat forwards to the API server). */
  readonly hostIp: string;
  /** The veth's name in the root namespace. */
  readonly hostInterface: string;
  /** The cgroup (in every v1 hierarchy) holding the node's containers and containerd. */
  readonly cgroup: string;
  readonly containerdSocket: string;
  /** The containerd client (ctr) and its sandbox image. */
  readonly ctr: string;
  readonly sandboxImage: string;
  /** A busybox image on the node (Debian's busybox-static), for tests that need a shell. */
  readonly busyboxImage: string;
  /** Where the kubelet writes container logs (`<namespace>_<pod>_<uid>/<container>/<n>.log`). */
  readonly podLogsDir: string;
  readonly pids: Partial<Record<NodeComponent, number>>;
  readonly logs: Record<NodeComponent, string>;
  /** The control plane's run folder (gone once it stopped: a node left behind is then swept). */
  readonly controlPlaneRunDir: string;
}

export interface RealNode extends RealNodeState {
  /** Seconds from the call to `startRealNode` until the Node was Ready (build check included). */
  readonly startSeconds: number;
  /** Imports an OCI or Docker image archive into the node's containerd (namespace k8s.io). */
  importImage(archive: string): Promise<void>;
  /** Resident memory of each component, in MiB (current and peak). */
  memoryUsage(): Record<NodeComponent, { rssMiB: number; peakMiB: number } | undefined>;
  stop(options?: { keepDir?: boolean }): Promise<void>;
}

export interface RealNodeOptions {
  /**
   * Folder under which the node's folder is made; on disk, not tmpfs, since imported images
   * live there.
   * @default $KEELSON_NODE_ROOT, or /var/tmp/keelson
   */
  readonly root?: string;
  /** Leave the processes running when this Node.js process exits. @default false */
  readonly detached?: boolean;
  /** @default 180000 */
  readonly readyTimeoutMs?: number;
  readonly log?: (message: string) => void;
}

/** Starts the real node for a running control plane; resolves once the Node is Ready. */
export async function startRealNode(
  controlPlane: Pick<ControlPlaneState, 'runDir' | 'kubeconfigPath' | 'server'>,
  options: RealNodeOptions = {},
): Promise<RealNode> {
  const started = Date.now();
  const log = options.log ?? ((m: string) => process.stderr.write(`[real node] ${m}\n`));
  const timeoutMs = options.readyTimeoutMs ?? 180_000;
  // The build installs the Debian packages the node needs (as root), so the host is checked after it.
  const binDir = await runBuildScript('node', log);
  checkHost();
  const cniDir = path.join(path.dirname(binDir), 'cni');
  const images = await buildNodeImages(path.join(binDir, 'pause'), log);

  const id = randomBytes(3).toString('hex');
  const root = options.root ?? process.env.KEELSON_NODE_ROOT ?? '/var/tmp/keelson';
  const dir = path.join(root, `node-${id}`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { hostIp, nodeIp } = await pickLinkAddresses();
  const logs = Object.fromEntries(NODE_COMPONENTS.map((c) => [c, path.join(dir, `${c}.log`)])) as Record<
    NodeComponent,
    string
  >;
  const pids: Partial<Record<NodeComponent, number>> = {};
  const state: RealNodeState = {
    id,
    netns: `keelson-node-${id}`,
    dir,
    nodeName: REAL_NODE_NAME,
    nodeIp,
    hostIp,
    hostInterface: `keelson-${id}`,
    cgroup: `keelson-${id}`,
    containerdSocket: path.join(dir, 'run', 'containerd.sock'),
    ctr: path.join(binDir, 'ctr'),
    sandboxImage: images.pause.reference,
    busyboxImage: images.busybox.reference,
    podLogsDir: path.join(dir, 'pod-logs'),
    pids,
    logs,
    controlPlaneRunDir: controlPlane.runDir,
  };
  await sweepLeftovers(root, log);
  log(`node folder ${dir}, network namespace ${state.netns}, node ${nodeIp}, host end ${hostIp}`);
  const exitGuard = () => {
    for (const pid of Object.values(pids)) signalGroup(pid, 'SIGKILL');
  };
  if (!options.detached) process.once('exit', exitGuard);

  try {
    await makeNetwork(state);
    makeCgroups(state);
    const pki = await makeCredentials(state, controlPlane);
    const admin = loadKubeConfig(controlPlane.kubeconfigPath);
    await grantCoreDns(admin);
    await grantNetworkPolicyController(admin);

    const launch = (component: NodeComponent, binary: string, args: string[], inNamespace = true) => {
      pids[component] = launchProcess(state, component, binary, args, inNamespace, options.detached);
    };
    const apiPort = new URL(controlPlane.server).port;
    launch(
      'api-forwarder',
      'socat',
      [`TCP-LISTEN:6443,bind=${hostIp},fork,reuseaddr`, `TCP:127.0.0.1:${apiPort}`],
      false,
    );

    launch('volume-permissions', process.execPath, ['-e', VOLUME_PERMISSIONS_SCRIPT], false);

    writeContainerdConfig(state, binDir, cniDir);
    launch('containerd', path.join(binDir, 'containerd'), ['--config', path.join(dir, 'containerd.toml')]);
    joinCgroup(state, 'runtime', pids.containerd!);
    await waitFor(
      'containerd to answer',
      async () => (await ctr(state, 'version')).includes('Server:'),
      timeoutMs,
      logs.containerd,
      pids,
    );
    for (const image of Object.values(images)) await importImage(state, image.archive);

    writeCoreDnsConfig(state);
    launch('coredns', path.join(binDir, 'coredns'), ['-conf', path.join(dir, 'Corefile')]);

    writeKubeletConfig(state, pki);
    launch('kubelet', path.join(binDir, 'kubelet'), [
      `--config=${path.join(dir, 'kubelet.yaml')}`,
      `--kubeconfig=${path.join(dir, 'kubelet.kubeconfig')}`,
      `--root-dir=${path.join(dir, 'kubelet')}`,
      `--cert-dir=${path.join(dir, 'kubelet', 'pki')}`,
      `--hostname-override=${REAL_NODE_NAME}`,
      `--node-ip=${nodeIp}`,
      `--node-labels=${REAL_NODE_LABEL}=true`,
    ]);

    writeKubeProxyConfig(state);
    launch('kube-proxy', path.join(binDir, 'kube-proxy'), [`--config=${path.join(dir, 'kube-proxy.yaml')}`]);

    const core = admin.makeApiClient(k8s.CoreV1Api);
    await waitFor(
      `node ${REAL_NODE_NAME} to be Ready`,
      async () => {
        const node = await core.readNode({ name: REAL_NODE_NAME });
        return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
      },
      timeoutMs,
      logs.kubelet,
      pids,
      async () => {
        const node = await core.readNode({ name: REAL_NODE_NAME });
        const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
        return `Ready=${ready?.status}: ${ready?.message}`;
      },
    );
    await waitFor(
      'CoreDNS to be ready (its kubernetes plugin has synced)',
      () => httpOk(`http://${nodeIp}:8181/ready`),
      timeoutMs,
      logs.coredns,
      pids,
    );
    // kube-router reads its Node (the address it filters for) at start: once the kubelet registered it.
    launch('network-policy', path.join(binDir, 'kube-router'), [
      `--kubeconfig=${path.join(dir, 'kube-router.kubeconfig')}`,
      `--hostname-override=${REAL_NODE_NAME}`,
      '--run-firewall=true',
      '--run-router=false',
      '--run-service-proxy=false',
      `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
      `--health-port=${NETWORK_POLICY_HEALTH_PORT}`,
      '--metrics-port=0',
    ]);
    await waitFor(
      'the NetworkPolicy controller (kube-router) to be healthy',
      () => httpOk(`http://${nodeIp}:${NETWORK_POLICY_HEALTH_PORT}/healthz`).catch(() => false),
      timeoutMs,
      logs['network-policy'],
      pids,
    );
    await pointKubernetesServiceAtNode(admin, hostIp);

    fs.writeFileSync(path.join(dir, STATE_FILE), JSON.stringify(state, null, 2));
    const startSeconds = (Date.now() - started) / 1000;
    log(`node ${REAL_NODE_NAME} Ready in ${startSeconds.toFixed(1)} s`);
    return {
      ...state,
      startSeconds,
      importImage: (archive: string) => importImage(state, archive),
      memoryUsage: () => nodeMemoryUsage(pids),
      stop: async (stopOptions = {}) => {
        process.removeListener('exit', exitGuard);
        await stopRealNode(state, stopOptions);
      },
    };
  } catch (error) {
    process.removeListener('exit', exitGuard);
    const keep = process.env.KEELSON_KEEP_RUN === '1';
    await stopRealNode(state, { keepDir: true });
    if (!keep) fs.rmSync(dir, { recursive: true, force: true });
    const note = keep ? `logs kept in ${dir}` : `set KEELSON_KEEP_RUN=1 to keep the logs in ${dir}`;
    throw new Error(`real node did not start: ${(error as Error).message}\n(${note})`, { cause: error });
  }
}

/**
 * Stops the node: its processes and every process in its cgroup (containers, shims), its mounts,
 * its network namespace (with the bridge, veths and iptables rules in it), its cgroups and, unless
 * `keepDir`, its folder. Safe to call on a half-started node.
 */
export async function stopRealNode(state: RealNodeState, options: { keepDir?: boolean } = {}) {
  const order: NodeComponent[] = [
    'network-policy',
    'kube-proxy',
    'kubelet',
    'coredns',
    'containerd',
    'volume-permissions',
    'api-forwarder',
  ];
  for (const component of order) await stopGroup(state.pids[component]);
  killCgroupTree(state);
  unmountUnder(state.dir);
  await run('ip', ['netns', 'delete', state.netns]).catch(() => undefined);
  await run('ip', ['link', 'delete', state.hostInterface]).catch(() => undefined);
  removeCgroups(state);
  if (!options.keepDir) fs.rmSync(state.dir, { recursive: true, force: true });
}

const STATE_FILE = 'state.json';

/**
 * The controller-manager's hostpath provisioner makes each volume a folder under
 * /tmp/hostpath_pv with mode 0750, owned by root, and fsGroup does not apply to hostPath volumes:
 * a pod running as uid 10001 (as every keelson pod does) could not write to its claim. On a real
 * cluster the storage driver takes care of that; here a small watcher (a Node.js process beside
 * the node) opens each new volume folder to everyone (0777) as soon as it appears, before a pod
 * can mount it. Volumes are test data on a test machine; the folders are removed with the cluster.
 */
const VOLUME_PERMISSIONS_SCRIPT = `
const fs = require('node:fs');
const path = require('node:path');
const root = ${JSON.stringify(HOSTPATH_PROVISIONER_ROOT)};
fs.mkdirSync(root, { recursive: true });
const open = (name) => {
  try {
    const folder = path.join(root, name);
    const stat = fs.statSync(folder);
    if (stat.isDirectory() && (stat.mode & 0o777) !== 0o777) fs.chmodSync(folder, 0o777);
  } catch {}
};
const scan = () => { for (const name of fs.readdirSync(root)) open(name); };
scan();
fs.watch(root, (event, name) => { if (name) open(name); });
setInterval(scan, 2000);
`;

/**
 * Stops the nodes under `root` that a killed test run left behind: those whose control plane's
 * run folder is gone or whose kubelet no longer runs.
 */
async function sweepLeftovers(root: string, log: (message: string) => void) {
  if (!fs.existsSync(root)) return;
  for (const entry of fs.readdirSync(root)) {
    const file = path.join(root, entry, STATE_FILE);
    if (!entry.startsWith('node-') || !fs.existsSync(file)) continue;
    const state = JSON.parse(fs.readFileSync(file, 'utf8')) as RealNodeState;
    const kubelet = state.pids.kubelet;
    const kubeletRuns = kubelet !== undefined && isAlive(kubelet) && processName(kubelet) === 'kubelet';
    if (fs.existsSync(state.controlPlaneRunDir) && kubeletRuns) continue;
    log(`removing the node left behind in ${state.dir}`);
    const pids = Object.fromEntries(
      Object.entries(state.pids).filter(
        ([component, pid]) => pid !== undefined && processName(pid) === BINARY_OF[component as NodeComponent],
      ),
    );
    await stopRealNode({ ...state, pids });
  }
}

/** The program each component's PID runs (argv[0]'s base name). */
export const BINARY_OF: Record<NodeComponent, string> = {
  'api-forwarder': 'socat',
  'volume-permissions': path.basename(process.execPath),
  containerd: 'containerd',
  coredns: 'coredns',
  kubelet: 'kubelet',
  'kube-proxy': 'kube-proxy',
  'network-policy': 'kube-router',
};

/** The base name of a process's argv[0], or undefined when it is gone. */
export function processName(pid: number): string | undefined {
  try {
    return path.basename(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]);
  } catch {
    return undefined;
  }
}

/**
 * Imports an image archive (OCI layout or `docker save` tar) into a node's containerd, in the
 * namespace the kubelet uses, under the name the archive carries. Pods that use it should say
 * `imagePullPolicy: Never` (no registry is reachable).
 */
export async function importImage(
  state: Pick<RealNodeState, 'ctr' | 'containerdSocket'>,
  archive: string,
): Promise<void> {
  await ctr(state, '-n', CONTAINERD_NAMESPACE, 'images', 'import', archive).catch((error: Error) => {
    throw new Error(`importing ${archive} into the real node's containerd failed: ${error.message}`);
  });
}

/**
 * Whether the node's containerd holds `reference` as exactly the image of manifest `digest`. Suites
 * import the same archives again and again (Trino's is about 1 GB); importing one the node already
 * holds still reads and hashes all of it, about 25 s on the busy 2-core machine.
 */
export async function hasImage(
  state: Pick<RealNodeState, 'ctr' | 'containerdSocket'>,
  reference: string,
  digest: string,
): Promise<boolean> {
  const listed = await ctr(state, '-n', CONTAINERD_NAMESPACE, 'images', 'ls', `name==${reference}`);
  return listed.split('\n').some((line) => line.split(/\s+/)[0] === reference && line.includes(digest));
}

/** The real node of the run, when one was started (KEELSON_TEST_REAL_NODE holds its state file). */
export function realNodeStateFromEnv(): RealNodeState | undefined {
  const file = process.env.KEELSON_TEST_REAL_NODE;
  if (!file || !fs.existsSync(file)) return undefined;
  return JSON.parse(fs.readFileSync(file, 'utf8')) as RealNodeState;
}

/**
 * The log files of a pod's containers on the node (newest file of each container), as
 * `container: text`, for a failing test to print.
 */
export function podLogs(state: Pick<RealNodeState, 'podLogsDir'>, namespace: string, pod: string): string {
  if (!fs.existsSync(state.podLogsDir)) return '(no pod logs folder)';
  const folders = fs.readdirSync(state.podLogsDir).filter((f) => f.startsWith(`${namespace}_${pod}_`));
  const parts: string[] = [];
  for (const folder of folders) {
    for (const container of fs.readdirSync(path.join(state.podLogsDir, folder))) {
      const containerDir = path.join(state.podLogsDir, folder, container);
      for (const file of fs.readdirSync(containerDir).sort()) {
        parts.push(
          `--- ${container} (${file}) ---\n${fs.readFileSync(path.join(containerDir, file), 'utf8')}`,
        );
      }
    }
  }
  return parts.length > 0 ? parts.join('\n') : `(no logs for ${namespace}/${pod})`;
}

// ---------------------------------------------------------------------------------------------

/** Debian packages the node needs, by the command that shows each is there. */
const HOST_COMMANDS: Record<string, string> = {
  iptables: 'iptables',
  'iptables-restore': 'iptables',
  ipset: 'ipset',
  conntrack: 'conntrack',
  socat: 'socat',
  nsenter: 'util-linux',
  ip: 'iproute2',
  mount: 'mount',
};

function checkHost() {
  if (process.getuid?.() !== 0) {
    throw new Error('the real node needs root (network namespaces, mounts, cgroups); run the tests as root');
  }
  const missing = Object.entries(HOST_COMMANDS).filter(([command]) => !findCommand(command));
  if (missing.length > 0) {
    const packages = [...new Set(missing.map(([, pkg]) => pkg))].join(' ');
    throw new Error(
      `the real node needs ${missing.map(([c]) => c).join(', ')}: apt-get install ${packages} ` +
        '(build-binaries.sh node installs them when it runs as root)',
    );
  }
  if (!fs.existsSync('/sys/fs/cgroup/memory') || !fs.existsSync('/sys/fs/cgroup/pids')) {
    throw new Error('the real node expects cgroup v1 hierarchies under /sys/fs/cgroup (memory, pids, ...)');
  }
}

function findCommand(command: string): string | undefined {
  for (const dir of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    const file = path.join(dir, command);
    if (fs.existsSync(file)) return file;
  }
  return undefined;
}

const SEARCH_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

async function run(command: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync(command, args, { env: { ...process.env, PATH: SEARCH_PATH } });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`${command} ${args.join(' ')}: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

function inNamespace(state: Pick<RealNodeState, 'netns'>, command: string, args: string[]) {
  return run('nsenter', [`--net=/run/netns/${state.netns}`, '--', command, ...args]);
}

function ctr(state: Pick<RealNodeState, 'ctr' | 'containerdSocket'>, ...args: string[]) {
  return run(state.ctr, ['--address', state.containerdSocket, ...args]);
}

/**
 * A /30 in 10.200.0.0/16 that no interface of the root namespace uses: .1 is the root end of
 * the veth, .2 the node's address.
 */
async function pickLinkAddresses(): Promise<{ hostIp: string; nodeIp: string }> {
  const used = await run('ip', ['-4', '-o', 'addr', 'show']);
  const routes = await run('ip', ['-4', 'route', 'show']);
  for (let attempt = 0; attempt < 100; attempt++) {
    const [a, b] = randomBytes(2);
    const base = `10.200.${a}.${b & 0xfc}`;
    const hostIp = `10.200.${a}.${(b & 0xfc) + 1}`;
    const nodeIp = `10.200.${a}.${(b & 0xfc) + 2}`;
    if (!used.includes(`10.200.${a}.`) && !routes.includes(base)) return { hostIp, nodeIp };
  }
  throw new Error('found no free /30 in 10.200.0.0/16 for the real node');
}

async function makeNetwork(state: RealNodeState) {
  await run('ip', ['netns', 'add', state.netns]);
  await run('ip', [
    'link',
    'add',
    state.hostInterface,
    'type',
    'veth',
    'peer',
    'name',
    'eth0',
    'netns',
    state.netns,
  ]);
  await run('ip', ['addr', 'add', `${state.hostIp}/30`, 'dev', state.hostInterface]);
  await run('ip', ['link', 'set', state.hostInterface, 'up']);
  const ns = ['-n', state.netns];
  await run('ip', [...ns, 'addr', 'add', `${state.nodeIp}/30`, 'dev', 'eth0']);
  await run('ip', [...ns, 'link', 'set', 'eth0', 'up']);
  await run('ip', [...ns, 'link', 'set', 'lo', 'up']);
  // Forwarding between the pod bridge and eth0, and bridged pod traffic through iptables (for
  // Services between pods on the bridge); both settings are per namespace.
  await inNamespace(state, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
  await inNamespace(state, 'sysctl', ['-q', '-w', 'net.bridge.bridge-nf-call-iptables=1']);
}

/**
 * The hierarchies mounted under /sys/fs/cgroup: the v1 ones (cpu, memory, ..., the named systemd
 * one) and, on a hybrid machine, the v2 one (`unified`), where runc makes a folder as well.
 */
function cgroupHierarchies(): string[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .filter(
      (f) =>
        f.length > 4 &&
        f[4].startsWith('/sys/fs/cgroup/') &&
        (fsType(f) === 'cgroup' || fsType(f) === 'cgroup2'),
    )
    .map((f) => f[4]);
}

/** The file system type of a mountinfo line (the field after the `-` separator). */
function fsType(fields: string[]): string {
  const dash = fields.indexOf('-');
  return dash === -1 ? '' : fields[dash + 1];
}

function makeCgroup(relative: string) {
  for (const hierarchy of cgroupHierarchies()) {
    const dir = path.join(hierarchy, relative);
    fs.mkdirSync(dir, { recursive: true });
    if (fs.existsSync(path.join(hierarchy, 'cpuset.cpus'))) {
      // A new cpuset cgroup has no CPUs or memory nodes until told: take the parent's.
      for (const file of ['cpuset.cpus', 'cpuset.mems']) {
        const parentValue = fs.readFileSync(path.join(path.dirname(dir), file), 'utf8').trim();
        if (fs.readFileSync(path.join(dir, file), 'utf8').trim() === '')
          fs.writeFileSync(path.join(dir, file), parentValue);
      }
    }
  }
}

function makeCgroups(state: RealNodeState) {
  makeCgroup(state.cgroup);
  makeCgroup(path.join(state.cgroup, 'runtime'));
}

function joinCgroup(state: RealNodeState, sub: string, pid: number) {
  for (const hierarchy of cgroupHierarchies()) {
    fs.writeFileSync(path.join(hierarchy, state.cgroup, sub, 'cgroup.procs'), String(pid));
  }
}

/** Every cgroup folder under the node's, deepest first. */
function cgroupTree(hierarchy: string, top: string): string[] {
  const start = path.join(hierarchy, top);
  if (!fs.existsSync(start)) return [];
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(path.join(dir, entry.name));
    }
    out.push(dir);
  };
  walk(start);
  return out;
}

function cgroupPids(state: RealNodeState): number[] {
  const pids = new Set<number>();
  for (const dir of cgroupTree('/sys/fs/cgroup/pids', state.cgroup)) {
    for (const line of fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n')) {
      if (line.trim()) pids.add(Number(line));
    }
  }
  return [...pids];
}

function killCgroupTree(state: RealNodeState) {
  // Freeze first, so nothing forks while the tree is killed; then kill and thaw.
  const freezer = path.join('/sys/fs/cgroup/freezer', state.cgroup);
  const freeze = (value: string) => {
    try {
      fs.writeFileSync(path.join(freezer, 'freezer.state'), value);
    } catch {
      // no freezer hierarchy or the cgroup is gone
    }
  };
  for (let round = 0; round < 20; round++) {
    const pids = cgroupPids(state);
    if (pids.length === 0) return;
    freeze('FROZEN');
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    freeze('THAWED');
    const deadline = Date.now() + 2000;
    while (cgroupPids(state).length > 0 && Date.now() < deadline) sleepSync(50);
  }
}

function removeCgroups(state: RealNodeState) {
  for (const hierarchy of cgroupHierarchies()) {
    for (const dir of cgroupTree(hierarchy, state.cgroup)) {
      try {
        fs.rmdirSync(dir);
      } catch {
        // still busy: left for the next cleanup
      }
    }
  }
}

/** Unmounts every mount point under `dir`, deepest first (detaching busy ones). */
function unmountUnder(dir: string) {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const points = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point): point is string => !!point && (point === dir || point.startsWith(prefix)))
    .map((point) => point.replace(/\\040/g, ' '))
    .sort((a, b) => b.length - a.length);
  for (const point of points) {
    for (const flags of [[], ['-l']]) {
      try {
        execFileSync('umount', [...flags, point], { stdio: 'ignore' });
        break;
      } catch {
        // try a lazy unmount next
      }
    }
  }
}

function sleepSync(ms: number) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

async function makeCredentials(
  state: RealNodeState,
  controlPlane: Pick<ControlPlaneState, 'runDir'>,
): Promise<string> {
  const pki = path.join(controlPlane.runDir, 'pki');
  const client = CLIENT_CERTIFICATE_EXTENSIONS;
  await signCertificate(pki, 'kubelet', `/O=system:nodes/CN=system:node:${REAL_NODE_NAME}`, client);
  await signCertificate(pki, 'kube-proxy', '/CN=system:kube-proxy', client);
  await signCertificate(pki, 'coredns', '/CN=keelson:coredns', client);
  await signCertificate(pki, 'kube-router', `/CN=${NETWORK_POLICY_USER}`, client);
  await signCertificate(
    pki,
    'kubelet-serving',
    `/O=system:nodes/CN=system:node:${REAL_NODE_NAME}`,
    `keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:${state.nodeIp},DNS:${REAL_NODE_NAME}\n`,
  );
  // The API server listens on loopback in the root namespace; the node reaches it through socat
  // on the veth's root end, and checks its certificate by a name the certificate carries.
  const server = `https://${state.hostIp}:6443`;
  for (const user of ['kubelet', 'kube-proxy', 'coredns', 'kube-router']) {
    writeKubeconfig(path.join(state.dir, `${user}.kubeconfig`), server, pki, user, 'localhost');
  }
  return pki;
}

/** Gives the node's component `user` (a client-certificate user) a ClusterRole of `rules`, once. */
async function grantClusterRole(admin: k8s.KubeConfig, user: string, rules: k8s.V1PolicyRule[]) {
  const rbac = admin.makeApiClient(k8s.RbacAuthorizationV1Api);
  await rbac.createClusterRole({ body: { metadata: { name: user }, rules } }).catch(ignoreConflict);
  await rbac
    .createClusterRoleBinding({
      body: {
        metadata: { name: user },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: user },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
      },
    })
    .catch(ignoreConflict);
}

/** CoreDNS's kubernetes plugin reads Services, EndpointSlices, Namespaces and Pods. */
function grantCoreDns(admin: k8s.KubeConfig) {
  return grantClusterRole(admin, 'keelson:coredns', [
    { apiGroups: [''], resources: ['services', 'namespaces', 'pods', 'endpoints'], verbs: ['list', 'watch'] },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
  ]);
}

/** kube-router's user; it reads what its informers list (it starts them all, whatever runs). */
const NETWORK_POLICY_USER = 'keelson:kube-router';
/** kube-router's health endpoint, in the node's namespace (its default, 20244, stated). */
const NETWORK_POLICY_HEALTH_PORT = 20244;

function grantNetworkPolicyController(admin: k8s.KubeConfig) {
  return grantClusterRole(admin, NETWORK_POLICY_USER, [
    {
      apiGroups: [''],
      resources: ['pods', 'namespaces', 'nodes', 'services', 'endpoints'],
      verbs: ['get', 'list', 'watch'],
    },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
    { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['list', 'watch'] },
  ]);
}

function ignoreConflict(error: unknown) {
  if ((error as { code?: number }).code !== 409) throw error;
}

/**
 * The control plane runs with `--endpoint-reconciler-type=none`, so the `kubernetes` Service
 * has no endpoints; with a real node, point it at the socat forwarder so pods reach the API
 * server at 10.96.0.1:443 like on any cluster (its certificate names that address).
 */
async function pointKubernetesServiceAtNode(admin: k8s.KubeConfig, hostIp: string) {
  const discovery = admin.makeApiClient(k8s.DiscoveryV1Api);
  await discovery
    .createNamespacedEndpointSlice({
      namespace: 'default',
      body: {
        metadata: {
          name: 'kubernetes-real-node',
          labels: {
            'kubernetes.io/service-name': 'kubernetes',
            'endpointslice.kubernetes.io/managed-by': 'keelson-real-node',
          },
        },
        addressType: 'IPv4',
        endpoints: [{ addresses: [hostIp], conditions: { ready: true } }],
        ports: [{ name: 'https', port: 6443, protocol: 'TCP' }],
      },
    })
    .catch(ignoreConflict);
}

function writeContainerdConfig(state: RealNodeState, binDir: string, cniDir: string) {
  const dir = state.dir;
  const confDir = path.join(dir, 'cni', 'net.d');
  fs.mkdirSync(confDir, { recursive: true });
  fs.mkdirSync(path.dirname(state.containerdSocket), { recursive: true });
  const runc = path.join(binDir, 'runc');
  const q = JSON.stringify;
  fs.writeFileSync(
    path.join(dir, 'containerd.toml'),
    `version = 3
root = ${q(path.join(dir, 'containerd', 'root'))}
state = ${q(path.join(dir, 'containerd', 'state'))}
# NRI would open a socket at a fixed path shared by every containerd on the machine; the others
# are not needed by the kubelet.
disabled_plugins = [
  "io.containerd.nri.v1.nri",
  "io.containerd.snapshotter.v1.blockfile",
  "io.containerd.snapshotter.v1.native",
  "io.containerd.snapshotter.v1.erofs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]

[grpc]
  address = ${q(state.containerdSocket)}

[ttrpc]
  address = ${q(`${state.containerdSocket}.ttrpc`)}

[debug]
  address = ""

[metrics]
  address = ""

[plugins]
  [plugins.'io.containerd.internal.v1.opt']
    path = ${q(path.join(dir, 'containerd', 'opt'))}

  [plugins.'io.containerd.cri.v1.images']
    snapshotter = 'overlayfs'
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = ${q(state.sandboxImage)}

  [plugins.'io.containerd.cri.v1.runtime']
    netns_mounts_under_state_dir = true
    # The machines' bounding set lacks CAP_SYS_RESOURCE, so no process may lower its OOM score
    # below containerd's own (the kubelet asks -998 for sandboxes): clamp instead of failing.
    restrict_oom_score_adj = true
    enable_unprivileged_ports = true
    enable_unprivileged_icmp = true
    cdi_spec_dirs = []
    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = 'runc'
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
        runtime_type = 'io.containerd.runc.v2'
        runtime_path = ${q(path.join(binDir, 'containerd-shim-runc-v2'))}
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
          BinaryName = ${q(runc)}
          Root = ${q(path.join(dir, 'containerd', 'runc'))}
          SystemdCgroup = false
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = [${q(cniDir)}]
      conf_dir = ${q(confDir)}
      max_conf_num = 1

  [plugins.'io.containerd.grpc.v1.cri']
    disable_tcp_service = true
    stream_server_address = '127.0.0.1'
    stream_server_port = '0'
`,
  );
  const gateway = POD_CIDR.replace(/0\/24$/, '1');
  fs.writeFileSync(
    path.join(confDir, '10-keelson.conflist'),
    JSON.stringify(
      {
        cniVersion: '1.0.0',
        name: 'keelson',
        plugins: [
          {
            type: 'bridge',
            bridge: 'keelson0',
            isGateway: true,
            ipMasq: true,
            hairpinMode: true,
            ipam: {
              type: 'host-local',
              ranges: [[{ subnet: POD_CIDR, gateway }]],
              routes: [{ dst: '0.0.0.0/0' }],
              dataDir: path.join(dir, 'cni', 'ipam'),
            },
          },
          { type: 'portmap', capabilities: { portMappings: true }, snat: true },
        ],
      },
      null,
      2,
    ),
  );
}

function writeCoreDnsConfig(state: RealNodeState) {
  fs.writeFileSync(
    path.join(state.dir, 'Corefile'),
    `.:53 {
    bind ${state.nodeIp}
    errors
    health 127.0.0.1:8080
    ready ${state.nodeIp}:8181
    kubernetes ${CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {
        kubeconfig ${path.join(state.dir, 'coredns.kubeconfig')} keelson-test
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }
    cache 5
}
`,
  );
}

function writeKubeletConfig(state: RealNodeState, pki: string) {
  const resolvConf = path.join(state.dir, 'resolv.conf');
  // For pods with dnsPolicy Default: the node's own resolver is CoreDNS, with no upstream.
  fs.writeFileSync(resolvConf, `nameserver ${state.nodeIp}\n`);
  fs.mkdirSync(state.podLogsDir, { recursive: true });
  const config = {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    // cgroup v1 (hybrid) and no systemd on these machines
    failCgroupV1: false,
    cgroupDriver: 'cgroupfs',
    // podCertificate and clusterTrustBundle projected volumes (beta, off by default on v1.36)
    featureGates: POD_CERTIFICATE_FEATURE_GATES,
    cgroupRoot: `/${state.cgroup}`,
    containerRuntimeEndpoint: `unix://${state.containerdSocket}`,
    address: state.nodeIp,
    port: 10250,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: 10248,
    tlsCertFile: path.join(pki, 'kubelet-serving.crt'),
    tlsPrivateKeyFile: path.join(pki, 'kubelet-serving.key'),
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true },
      x509: { clientCAFile: path.join(pki, 'ca.crt') },
    },
    authorization: { mode: 'Webhook' },
    clusterDomain: CLUSTER_DOMAIN,
    clusterDNS: [state.nodeIp],
    resolvConf,
    podLogsDir: state.podLogsDir,
    registerWithTaints: [REAL_NODE_TAINT],
    failSwapOn: false,
    // The disk is shared with everything else on the machine: evict only when it is really full,
    // and never collect images (imported ones cannot be pulled again).
    evictionHard: {
      'memory.available': '100Mi',
      'nodefs.available': '1%',
      'nodefs.inodesFree': '1%',
      'imagefs.available': '1%',
    },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    serializeImagePulls: false,
    maxPods: 110,
    rotateCertificates: false,
    serverTLSBootstrap: false,
    staticPodPath: '',
    nodeStatusReportFrequency: '10s',
    nodeStatusUpdateFrequency: '5s',
    syncFrequency: '10s',
    fileCheckFrequency: '10s',
    shutdownGracePeriod: '0s',
    // Above the default 10Mi: Hive's schema tool prints ~33 MB of sqlline warnings on MySQL, and a
    // rotation just before its last line left the tests an empty current log to read.
    containerLogMaxSize: '64Mi',
  };
  fs.writeFileSync(path.join(state.dir, 'kubelet.yaml'), JSON.stringify(config, null, 2));
}

function writeKubeProxyConfig(state: RealNodeState) {
  const config = {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    clientConnection: { kubeconfig: path.join(state.dir, 'kube-proxy.kubeconfig') },
    mode: 'iptables',
    clusterCIDR: POD_CIDR,
    hostnameOverride: REAL_NODE_NAME,
    bindAddress: state.nodeIp,
    healthzBindAddress: '127.0.0.1:10256',
    metricsBindAddress: '127.0.0.1:10249',
    // conntrack limits are machine-wide (read-only outside the root namespace): leave them.
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
    iptables: { syncPeriod: '10s', minSyncPeriod: '1s' },
    // Lowering it needs CAP_SYS_RESOURCE, which these machines do not grant.
    oomScoreAdj: 0,
  };
  fs.writeFileSync(path.join(state.dir, 'kube-proxy.yaml'), JSON.stringify(config, null, 2));
}

/** Starts a process (in the node's namespace unless told) in its own process group. */
function launchProcess(
  state: RealNodeState,
  component: NodeComponent,
  binary: string,
  args: string[],
  inNamespace: boolean,
  detached = false,
): number {
  const out = fs.openSync(state.logs[component], 'a');
  const command = inNamespace ? 'nsenter' : binary;
  const fullArgs = inNamespace ? [`--net=/run/netns/${state.netns}`, '--', binary, ...args] : args;
  fs.writeSync(out, `# ${command} ${fullArgs.join(' ')}\n`);
  const child = spawn(command, fullArgs, {
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, PATH: `${path.dirname(binary)}:${SEARCH_PATH}` },
  });
  fs.closeSync(out);
  if (child.pid === undefined) throw new Error(`could not start ${binary}; see ${state.logs[component]}`);
  if (detached) child.unref();
  return child.pid;
}

function httpOk(url: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer in 2 s`)));
    req.on('error', reject);
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
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

async function stopGroup(pid: number | undefined) {
  if (pid === undefined) return;
  signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + 10_000;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (isAlive(pid)) signalGroup(pid, 'SIGKILL');
}

/** Resident memory of the node's processes, in MiB (current and peak). */
export function nodeMemoryUsage(
  pids: Partial<Record<NodeComponent, number>>,
): Record<NodeComponent, { rssMiB: number; peakMiB: number } | undefined> {
  return memoryUsage(NODE_COMPONENTS, pids);
}

/**
 * Files in a control plane's run folder through which the jest workers of one run share its real
 * node (test/integration/real-node-support.ts starts it; global-teardown.ts stops it).
 */
export function realNodeFiles(runDir: string) {
  return {
    state: path.join(runDir, 'real-node.json'),
    error: path.join(runDir, 'real-node.error'),
    lock: path.join(runDir, 'real-node.lock'),
  };
}
