/**
 * The real node of a jest run, started on first use: the first test (in any worker) that calls
 * `realNode()` starts it beside the run's control plane, the others wait for it and share it, and
 * global-teardown.ts stops it. Runs whose tests never ask for it pay nothing.
 *
 * Against a cluster of your own (`npm run cluster:up -- --real-node`), set
 * KEELSON_TEST_REAL_NODE to the state file it prints.
 */
import { execFile, execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { buildImage, keelsonCacheDir, type BuiltImage, type ImageRecipe } from '../../lib/image';
import { containerSecurityContext, DEFAULT_RUN_AS_USER } from '../../lib/stacklet/security';
import {
  hasImage,
  importImage,
  podLogs,
  realNodeFiles,
  REAL_NODE_PLACEMENT,
  startRealNode,
  type RealNodeState,
} from '../controlplane/real-node';
import type { AuthenticationClassInfo } from '../../lib/authentication/class';
import { buildChildren } from '../../lib/operator/build';
import { KubeClient } from '../../lib/operator/client';
import type { KubeObject } from '../../lib/operator/informer';
import { fillListenerAddresses, type ListenerCaches } from '../../lib/operator/listener-addresses';
import type { ProductDefinition } from '../../lib/stacklet/product';
import type { Manifest } from './admission';
import { manifestsToYaml } from '../../lib/synth';
import { TLS_CLASS_LABEL, type TlsClassInfo } from '../../lib/tls/pod-tls';
import { adminClients, adminKubeConfig, waitFor } from './support';

export {
  REAL_NODE_PLACEMENT,
  REAL_NODE_LABEL,
  REAL_NODE_TAINT,
  realNodeFiles,
} from '../controlplane/real-node';

/**
 * The body of a ZookeeperCluster of keelson's image (built on the node, never pulled) placed on the
 * real node, with TLS from the named classes (a use left unnamed takes the class `tls`, which is off
 * where no such class exists): the spec the operator TLS tests share.
 */
export function tlsZookeeperCluster(options: {
  name: string;
  version: string;
  replicas: number;
  serverTlsClass?: string;
  internalTlsClass?: string;
  /** @default '512Mi' */
  memory?: string;
}) {
  const { name, version, replicas, serverTlsClass, internalTlsClass, memory = '512Mi' } = options;
  return {
    apiVersion: 'keelson.dev/v1alpha1',
    kind: 'ZookeeperCluster',
    metadata: { name },
    spec: {
      image: { productVersion: version, pullPolicy: 'Never' },
      clusterConfig: { tls: { serverTlsClass, internalTlsClass } },
      servers: {
        ...FIRST_TIER_JIT,
        config: { resources: { memory: { limit: memory }, cpu: { min: '100m', max: '1' } } },
        podOverrides: { spec: REAL_NODE_PLACEMENT },
        roleGroups: { default: { replicas } },
      },
    },
  };
}

/**
 * The probe of a test server that touches `file` once its setup is done: a startup probe, asked
 * every 2 s until the file is there, after which the container is Ready for good. Each ask is an
 * exec through the container runtime (far costlier in CPU than the check itself), so none runs
 * after the start.
 */
export function readyFileProbe(file: string) {
  return {
    startupProbe: {
      exec: { command: ['test', '-f', file] },
      periodSeconds: 2,
      // A busy node runs exec probes late; the setup gets 20 minutes.
      timeoutSeconds: 10,
      failureThreshold: 600,
    },
  };
}

/**
 * keelson's container security context with the user its pod context sets, for the test's own
 * client pods: they run under the same restrictions as the products' pods.
 */
export const RESTRICTED_CONTAINER = {
  ...containerSecurityContext(),
  runAsUser: DEFAULT_RUN_AS_USER,
  runAsGroup: DEFAULT_RUN_AS_USER,
};

const START_TIMEOUT_MS = 20 * 60_000; // a cold machine builds kubelet and containerd first

let cached: RealNodeState | undefined;

/** The run's real node: started by the first caller, shared by all. */
export async function realNode(): Promise<RealNodeState> {
  if (cached) return cached;
  const given = process.env.KEELSON_TEST_REAL_NODE;
  if (given) {
    cached = JSON.parse(fs.readFileSync(given, 'utf8')) as RealNodeState;
    return cached;
  }
  const runDir = process.env.KEELSON_TEST_CONTROLPLANE_LOGS;
  const kubeconfigPath = process.env.KEELSON_TEST_KUBECONFIG;
  if (!runDir || !kubeconfigPath) {
    throw new Error(
      'no real node: this run uses a cluster it did not start; start one with ' +
        '`npm run cluster:up -- --real-node` and export the KEELSON_TEST_REAL_NODE it prints',
    );
  }
  const files = realNodeFiles(runDir);
  let starter = false;
  try {
    fs.mkdirSync(files.lock);
    starter = true;
  } catch {
    // another worker starts it
  }
  if (starter) {
    try {
      const server = JSON.parse(fs.readFileSync(kubeconfigPath, 'utf8')).clusters[0].cluster.server as string;
      // Detached: the node outlives this worker; global-teardown.ts stops it.
      const node = await startRealNode({ runDir, kubeconfigPath, server }, { detached: true });
      const { importImage: _import, memoryUsage: _memory, stop: _stop, ...state } = node;
      void _import;
      void _memory;
      void _stop;
      fs.writeFileSync(`${files.state}.tmp`, JSON.stringify(state, null, 2));
      fs.renameSync(`${files.state}.tmp`, files.state);
      cached = state;
      return state;
    } catch (error) {
      fs.writeFileSync(files.error, (error as Error).message);
      throw error;
    }
  }
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (fs.existsSync(files.state)) {
      cached = JSON.parse(fs.readFileSync(files.state, 'utf8')) as RealNodeState;
      return cached;
    }
    if (fs.existsSync(files.error)) {
      throw new Error(
        `the real node did not start (in another worker): ${fs.readFileSync(files.error, 'utf8')}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(
    `timed out after ${START_TIMEOUT_MS / 60_000} min waiting for another worker to start the real node`,
  );
}

/**
 * Imports a built image into the run's real node (starting the node if needed). It imports the
 * cache's archive of exactly this build, not the output folder's copy, which a concurrent run
 * building the same reference may replace between the build and the import.
 */
export async function importImageToRealNode(
  image: Pick<BuiltImage, 'storedArchive' | 'reference' | 'manifest'>,
): Promise<void> {
  const node = await realNode();
  // An earlier suite of the run may have imported this very build: the node keeps its images
  // (image garbage collection is off), so the digest under the name is proof enough.
  if (await hasImage(node, image.reference, image.manifest.digest)) return;
  await importImage(node, image.storedArchive);
}

/** Builds an image (layers from the cache where unchanged) and imports it into the real node. */
export async function buildImageOnRealNode(
  recipe: ImageRecipe,
  log?: (message: string) => void,
): Promise<BuiltImage> {
  const built = await buildImage(recipe, path.join(keelsonCacheDir(), 'images', 'out'), { log });
  await importImageToRealNode(built);
  return built;
}

/**
 * What the real node's NetworkPolicy controller (kube-router's firewall) did, for a failing
 * network check to print: the end of its log and the node's filter rules of its chains.
 */
export async function networkPolicyState(): Promise<string> {
  const node = await realNode();
  const rules = await new Promise<string>((resolve) =>
    execFile(
      'nsenter',
      [`--net=/run/netns/${node.netns}`, '--', 'iptables-save', '-t', 'filter'],
      { maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => resolve(error ? `iptables-save: ${error.message}${stderr}` : stdout),
    ),
  );
  const log = fs.existsSync(node.logs['network-policy'])
    ? fs.readFileSync(node.logs['network-policy'], 'utf8').split('\n').slice(-40).join('\n')
    : '(no log)';
  return (
    `--- kube-router (last lines):\n${log}\n` +
    `--- the node's filter table (KUBE-ROUTER, KUBE-POD-FW, KUBE-NWPLCY):\n` +
    rules
      .split('\n')
      .filter((l) => /KUBE-(ROUTER|POD-FW|NWPLCY)/.test(l))
      .join('\n')
  );
}

/** The container logs of a pod on the real node, for a failing test to print. */
export async function realNodePodLogs(namespace: string, pod: string): Promise<string> {
  return podLogs(await realNode(), namespace, pod);
}

/** What a test's own client pod runs, and with what. */
export interface ClientPodOptions {
  /** The pod's name. */
  readonly name: string;
  /** An image already imported into the real node (pulled `Never`). */
  readonly image: string;
  /** The container's command, e.g. `['/bin/bash', '-c', script]`. */
  readonly command: string[];
  /** @default no labels */
  readonly labels?: Record<string, string>;
  /** @default no variables besides HOME=/tmp */
  readonly env?: k8s.V1EnvVar[];
  /** Memory request and limit. @default '384Mi' */
  readonly memory?: string;
  /** Volumes besides the writable `/tmp`, with where each is mounted. @default none */
  readonly volumes?: { readonly volume: k8s.V1Volume; readonly mountPath: string }[];
}

/**
 * A pod that runs once on the real node under the same restrictions as keelson's pods (restricted
 * Pod Security, uid 10001, read-only root with a writable `/tmp`).
 */
export function clientPod(options: ClientPodOptions): k8s.V1Pod {
  const memory = options.memory ?? '384Mi';
  const extra = options.volumes ?? [];
  return {
    metadata: { name: options.name, labels: options.labels },
    spec: {
      ...REAL_NODE_PLACEMENT,
      restartPolicy: 'Never',
      securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'client',
          image: options.image,
          imagePullPolicy: 'Never',
          command: options.command,
          env: [{ name: 'HOME', value: '/tmp' }, ...(options.env ?? [])],
          securityContext: RESTRICTED_CONTAINER,
          resources: { requests: { cpu: '50m', memory }, limits: { memory } },
          volumeMounts: [
            { name: 'tmp', mountPath: '/tmp' },
            ...extra.map((v) => ({ name: v.volume.name, mountPath: v.mountPath })),
          ],
        },
      ],
      volumes: [{ name: 'tmp', emptyDir: {} }, ...extra.map((v) => v.volume)],
    },
  };
}

/**
 * The JVM options of a short-lived client (a CLI, a console producer): a small heap, and only the
 * first JIT tier and the serial collector, which spend a fraction of the CPU the server defaults
 * spend on a program that runs for seconds. The suites run on two shared cores, where every
 * client's compile threads slow the products under test.
 */
export const CLIENT_JVM_OPTIONS = '-Xmx128m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC';

/**
 * `jvmArgumentOverrides` for a Trino role in a suite that does not test Trino's JVM: the first JIT
 * tier only. A Trino node's start spends most of its CPU compiling with the second tier, and the
 * suites share two cores. trino-real-node and operator-real-node keep keelson's own arguments.
 */
export const FIRST_TIER_JIT = { jvmArgumentOverrides: { add: ['-XX:TieredStopAtLevel=1'] } };

/** The logs of `pods` on the real node, one section each, for a failure's message. */
export async function podsLogs(namespace: string, pods: string[]): Promise<string> {
  const sections = await Promise.all(
    pods.map(
      async (pod) =>
        `=== ${pod}\n${await realNodePodLogs(namespace, pod).catch((e: Error) => `(no logs: ${e.message})`)}`,
    ),
  );
  return sections.join('\n');
}

/** What a failing wait adds to its message: the products' logs, by default. */
type Diagnostics = () => Promise<string>;

/**
 * Runs a client pod to completion and returns its log. A failed pod, or one that does not finish
 * within `timeoutMs`, throws with its log and what `diagnostics` adds.
 */
export async function runClientPod(
  namespace: string,
  options: ClientPodOptions,
  diagnostics: Diagnostics = async () => '',
  timeoutMs = 5 * 60_000,
): Promise<string> {
  const { core } = adminClients();
  const name = options.name;
  await core.createNamespacedPod({ namespace, body: clientPod(options) });
  let phase: string | undefined;
  try {
    await waitFor(
      `client pod ${name} to finish`,
      async () => {
        phase = (await core.readNamespacedPod({ name, namespace })).status?.phase;
        return phase === 'Succeeded' || phase === 'Failed';
      },
      timeoutMs,
    );
  } catch (error) {
    throw new Error(
      `${(error as Error).message}\n${await podsLogs(namespace, [name])}\n${await diagnostics()}`,
    );
  }
  const log = await core.readNamespacedPodLog({ name, namespace });
  if (phase !== 'Succeeded') {
    throw new Error(`the client pod ${name} failed:\n${log}\n${await diagnostics()}`);
  }
  return log;
}

/** Whether a pod's Ready condition is True. */
export function isReady(pod: k8s.V1Pod | undefined): boolean {
  return pod?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/**
 * When each of `pods` turned Ready, in seconds after `since` (its Ready condition's last transition),
 * as `<pod> <n> s, …` for a test's printed start times.
 */
export async function podsReadySeconds(
  namespace: string,
  pods: readonly string[],
  since: number,
): Promise<string> {
  const { core } = adminClients();
  const out: string[] = [];
  for (const name of pods) {
    const pod = await core.readNamespacedPod({ name, namespace });
    const ready = pod.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True');
    const at = ready?.lastTransitionTime ? new Date(ready.lastTransitionTime).getTime() : NaN;
    out.push(`${name} ${((at - since) / 1000).toFixed(0)} s`);
  }
  return out.join(', ');
}

/** Each pod's restarts: the sum of its containers' restart counts (init containers included). */
export async function restartCounts(
  namespace: string,
  pods: readonly string[],
): Promise<Record<string, number>> {
  const { core } = adminClients();
  const out: Record<string, number> = {};
  for (const name of pods) {
    const status = (await core.readNamespacedPod({ name, namespace })).status;
    out[name] = [...(status?.initContainerStatuses ?? []), ...(status?.containerStatuses ?? [])].reduce(
      (sum, c) => sum + c.restartCount,
      0,
    );
  }
  return out;
}

/**
 * Watches a roll of the pods `names` (their uids before it in `uids`): each call with the pods seen
 * now says how many the roll has taken away and not yet given back — missing, being deleted, or
 * replaced (a new uid) and not yet seen Ready. A pod not yet replaced counts as up even when it is
 * not Ready: on a loaded machine probes time out, which is not the roll's doing (the operator
 * evicts only while its own view has every other pod Ready: unit-tested).
 */
export function rollWatch(
  names: readonly string[],
  uids: ReadonlyMap<string, string>,
): (pods: k8s.V1Pod[]) => number {
  const seenReady = new Set<string>();
  return (pods) => {
    let down = 0;
    for (const name of names) {
      const pod = pods.find((p) => p.metadata!.name === name);
      const uid = pod?.metadata!.uid ?? '';
      if (pod && isReady(pod) && !pod.metadata!.deletionTimestamp) seenReady.add(uid);
      const up = pod && !pod.metadata!.deletionTimestamp && (uid === uids.get(name) || seenReady.has(uid));
      if (!up) down++;
    }
    return down;
  };
}

/**
 * Waits until every pod of `pods` exists and is Ready; a timeout throws with the pods' statuses
 * and logs.
 */
export async function waitPodsReady(
  namespace: string,
  pods: string[],
  timeoutMs = 10 * 60_000,
  diagnostics: Diagnostics = () => podsLogs(namespace, pods),
): Promise<void> {
  const { core } = adminClients();
  const read = (name: string) => core.readNamespacedPod({ name, namespace }).catch(() => undefined);
  try {
    await waitFor(
      `${pods.join(', ')} to be Ready`,
      async () => (await Promise.all(pods.map(read))).every(isReady),
      timeoutMs,
      undefined,
      undefined,
      async () => {
        const states = await Promise.all(
          pods.map(
            async (p) => `${p}: ${JSON.stringify((await read(p))?.status?.containerStatuses ?? 'absent')}`,
          ),
        );
        return states.join('\n');
      },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${await diagnostics()}`);
  }
}

/**
 * The objects of the stacklet `resource` as the keelson operator builds them, with the per-pod
 * listeners filled in from the cluster as the operator's caches would have them (the pods' own
 * Services with their nodePorts, the pods' nodes, the nodes' addresses): one reconcile, done by a
 * test whose stacklet otherwise runs in synth mode, because a per-pod NodePort class needs the
 * operator. PrometheusRules are left out (no prometheus-operator on the test cluster).
 */
export async function operatorBuildOnRealNode(
  product: ProductDefinition,
  resource: { kind: string; name: string; namespace: string; spec: object },
  dependencies: Record<string, Record<string, string>> = {},
  classes: {
    tlsClasses?: readonly TlsClassInfo[];
    authenticationClasses?: readonly AuthenticationClassInfo[];
  } = {},
): Promise<Manifest[]> {
  const { core } = adminClients();
  const namespace = resource.namespace;
  const services = (await core.listNamespacedService({ namespace })).items.map((s) => ({
    ...s,
    apiVersion: 'v1',
    kind: 'Service',
  }));
  const pods = (await core.listNamespacedPod({ namespace })).items;
  const nodes = (await core.listNode()).items;
  const caches: ListenerCaches = {
    services: () => services as unknown as KubeObject[],
    podNode: (_ns, pod) => pods.find((p) => p.metadata?.name === pod)?.spec?.nodeName,
    nodeAddresses: (node) => nodes.find((n) => n.metadata?.name === node)?.status?.addresses,
  };
  const object: KubeObject = {
    apiVersion: 'keelson.dev/v1alpha1',
    kind: resource.kind,
    metadata: {
      name: resource.name,
      namespace,
      uid: 'none',
      labels: { 'app.kubernetes.io/part-of': 'platform' },
    },
    spec: resource.spec as never,
  };
  return buildChildren(product, object, dependencies, [], classes.tlsClasses ?? [], {
    authenticationClasses: classes.authenticationClasses ?? [],
    fill: (built) => fillListenerAddresses(built, namespace, caches),
  })
    .filter((o) => o.kind !== 'PrometheusRule')
    .map(({ metadata: { ownerReferences: _, ...metadata }, ...rest }) => ({ ...rest, metadata }) as Manifest);
}

/** `manifests` with the pods of every Deployment among them placed on the real node. */
export function deploymentsOnRealNode<M extends { kind: string; spec?: unknown }>(
  manifests: readonly M[],
): M[] {
  return manifests.map((m) => {
    if (m.kind !== 'Deployment') return m;
    const spec = m.spec as { template: { spec: object } };
    return {
      ...m,
      spec: {
        ...spec,
        template: { ...spec.template, spec: { ...spec.template.spec, ...REAL_NODE_PLACEMENT } },
      },
    };
  });
}

/**
 * Applies `manifests` with `kubectl apply --server-side`: CRDs and cluster RBAC (`keelson deploy`'s)
 * are not children the test client knows.
 */
export function kubectlApply(manifests: readonly object[]): void {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-apply-')), 'manifests.yaml');
  fs.writeFileSync(file, manifestsToYaml(manifests));
  execFileSync(
    process.env.KUBECTL ?? 'kubectl',
    ['apply', '--server-side', '--force-conflicts', '-f', file],
    {
      env: { ...process.env, KUBECONFIG: process.env.KEELSON_TEST_KUBECONFIG },
      stdio: 'pipe',
    },
  );
}

/**
 * Waits until the StatefulSet `name` has rolled out its current template to `replicas` pods, all
 * Ready: the controller saw the latest spec, every pod carries the update revision, and the
 * current revision is the update revision. A timeout throws with the StatefulSet's status.
 */
export async function statefulSetRolledOut(
  namespace: string,
  name: string,
  replicas: number,
  timeoutMs = 15 * 60_000,
): Promise<void> {
  const { core, apps } = adminClients();
  await waitFor(
    `StatefulSet ${name} to roll out to ${replicas} Ready pods`,
    async () => {
      const sts = await apps.readNamespacedStatefulSet({ name, namespace });
      const status = sts.status;
      if (!status || (status.observedGeneration ?? 0) < (sts.metadata!.generation ?? 0)) return false;
      if (status.updateRevision !== status.currentRevision) return false;
      if ((status.updatedReplicas ?? 0) !== replicas && replicas > 0) return false;
      const pods = (
        await core.listNamespacedPod({
          namespace,
          labelSelector: Object.entries(sts.spec!.selector.matchLabels ?? {})
            .map(([k, v]) => `${k}=${v}`)
            .join(','),
        })
      ).items.filter((p) => p.metadata!.name!.startsWith(`${name}-`));
      return (
        pods.length === replicas &&
        pods.every(
          (p) =>
            p.metadata!.labels?.['controller-revision-hash'] === status.updateRevision &&
            !p.metadata!.deletionTimestamp &&
            isReady(p),
        )
      );
    },
    timeoutMs,
    undefined,
    undefined,
    async () => JSON.stringify((await apps.readNamespacedStatefulSet({ name, namespace })).status),
  );
}

/**
 * Starts a long-running busybox pod on the real node (a `clientPod`: restricted, uid 10001) with
 * `labels`, for a test to run commands in with `execInPod`; resolves once it runs.
 */
export async function startShellPod(
  namespace: string,
  name: string,
  labels: Record<string, string>,
): Promise<k8s.V1Pod> {
  const node = await realNode();
  const { core } = adminClients();
  const body = clientPod({
    name,
    image: node.busyboxImage,
    command: ['/bin/sh', '-c', 'sleep 86400'],
    labels,
  });
  body.spec!.terminationGracePeriodSeconds = 0;
  await core.createNamespacedPod({ namespace, body });
  let pod: k8s.V1Pod | undefined;
  await waitFor(
    `pod ${namespace}/${name} to run`,
    async () => {
      pod = await core.readNamespacedPod({ name, namespace });
      if (pod.status?.phase === 'Failed') throw new Error(`pod ${namespace}/${name} failed`);
      return pod.status?.phase === 'Running';
    },
    5 * 60_000,
    undefined,
    undefined,
    async () => JSON.stringify((await core.readNamespacedPod({ name, namespace })).status),
  );
  return pod!;
}

/**
 * Runs `script` with `sh -c` in a pod's first container through the API server and the kubelet
 * (`kubectl exec`, as a person would); resolves with its output, rejects when it exits non-zero.
 */
export function execInPod(namespace: string, pod: string, script: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(
      process.env.KUBECTL ?? 'kubectl',
      [
        '--kubeconfig',
        process.env.KEELSON_TEST_KUBECONFIG!,
        'exec',
        '-n',
        namespace,
        pod,
        '--',
        'sh',
        '-c',
        script,
      ],
      // A product's log file grows to 10 MiB before it rolls (LOG_FILE_MAX_MIB): far above
      // execFile's 1 MiB default, which cut a DEBUG-level broker's `cat` short and failed it.
      { timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) =>
        error
          ? reject(
              new Error(
                `kubectl exec ${namespace}/${pod}: ${error.message}\n${stdout.slice(-4000)}${stderr}`,
              ),
            )
          : resolve(stdout),
    ),
  );
}

/**
 * hostPath PersistentVolumes in world-writable folders of this machine (the real node's), for the
 * claims of keelson's StatefulSets: uid 10001 writes into them, and a test reads what the product
 * wrote there. `removeAll()` deletes the volumes and their folders.
 */
export class HostPathVolumes {
  private readonly names: string[] = [];
  private readonly root: string;

  constructor(prefix: string) {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), `keelson-${prefix}-`));
  }

  /** Makes the volume `name` of `storageClass`, `capacity` big; returns its folder. */
  public async add(name: string, storageClass: string, capacity = '1Gi'): Promise<string> {
    const dir = path.join(this.root, name);
    fs.mkdirSync(dir);
    fs.chmodSync(dir, 0o777);
    await adminClients().core.createPersistentVolume({
      body: {
        metadata: { name },
        spec: {
          capacity: { storage: capacity },
          accessModes: ['ReadWriteOnce'],
          storageClassName: storageClass,
          persistentVolumeReclaimPolicy: 'Retain',
          hostPath: { path: dir, type: 'Directory' },
        },
      },
    });
    this.names.push(name);
    return dir;
  }

  public async removeAll(): Promise<void> {
    const { core } = adminClients();
    for (const name of this.names.splice(0))
      await core.deletePersistentVolume({ name }).catch(() => undefined);
    // A container the namespace's deletion has not stopped yet may still write here (a broker's
    // log segment), which makes one removal pass fail with ENOTEMPTY; a folder left in the
    // temporary directory is not worth failing a suite over.
    try {
      fs.rmSync(this.root, { recursive: true, force: true, maxRetries: 10, retryDelay: 500 });
    } catch (error) {
      console.warn(`left ${this.root} behind: ${(error as Error).message}`);
    }
  }
}

/** The CAs a TlsClass publishes now, each from its ClusterTrustBundle (keelson's label names the class). */
export async function classCas(className: string): Promise<X509Certificate[]> {
  const bundles = await new KubeClient(adminKubeConfig()).request<{
    items: { spec: { trustBundle: string } }[];
  }>('list', 'GET', '/apis/certificates.k8s.io/v1beta1/clustertrustbundles', 'clustertrustbundles', {
    query: { labelSelector: `${TLS_CLASS_LABEL}=${className}` },
  });
  return bundles.items.map((b) => new X509Certificate(b.spec.trustBundle));
}
