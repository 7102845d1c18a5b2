/**
 * The real node of a jest run, started on first use: the first test (in any worker) that calls
 * `realNode()` starts it beside the run's control plane, the others wait for it and share it, and
 * global-teardown.ts stops it. Runs whose tests never ask for it pay nothing.
 *
 * Against a cluster of your own (`npm run cluster:up -- --real-node`), set
 * KEELSON_TEST_REAL_NODE to the state file it prints.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { containerSecurityContext, DEFAULT_RUN_AS_USER } from '../../lib/stacklet/security';
import {
  importImage,
  podLogs,
  REAL_NODE_PLACEMENT,
  startRealNode,
  type RealNodeState,
} from '../controlplane/real-node';
import { loadKubeConfig, waitFor } from '../controlplane/cluster';

export { REAL_NODE_PLACEMENT, REAL_NODE_LABEL, REAL_NODE_TAINT } from '../controlplane/real-node';

/**
 * keelson's container security context with the user its pod context sets, for the test's own
 * client pods: they run under the same restrictions as the products' pods.
 */
export const RESTRICTED_CONTAINER = {
  ...containerSecurityContext(),
  runAsUser: DEFAULT_RUN_AS_USER,
  runAsGroup: DEFAULT_RUN_AS_USER,
};

/** Files in the control plane's run folder that coordinate the workers. */
export function realNodeFiles(runDir: string) {
  return {
    state: path.join(runDir, 'real-node.json'),
    error: path.join(runDir, 'real-node.error'),
    lock: path.join(runDir, 'real-node.lock'),
  };
}

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

/** Imports an image archive into the run's real node (starting the node if needed). */
export async function importImageToRealNode(archive: string): Promise<void> {
  await importImage(await realNode(), archive);
}

/** The container logs of a pod on the real node, for a failing test to print. */
export async function realNodePodLogs(namespace: string, pod: string): Promise<string> {
  return podLogs(await realNode(), namespace, pod);
}

/**
 * The admin's core API client. (Not support.ts's: global-teardown.ts loads this module outside a
 * test file, where support.ts's jest calls fail.)
 */
function coreApi(): k8s.CoreV1Api {
  return loadKubeConfig(process.env.KEELSON_TEST_KUBECONFIG!).makeApiClient(k8s.CoreV1Api);
}

/**
 * Gives the volumes of `claims` (in `namespace`, created here before the StatefulSet adopts them
 * by name) to uid/gid 10001. The test cluster's host-path provisioner makes root-owned 0750
 * folders and, like every hostPath volume, ignores the pod's `fsGroup`, which a real storage
 * driver applies; without this a keelson pod cannot write to its claim.
 */
export async function claimsWritableByFsGroup(
  namespace: string,
  claims: readonly string[],
  storage = '2Gi',
): Promise<void> {
  const core = coreApi();
  for (const name of claims) {
    await core.createNamespacedPersistentVolumeClaim({
      namespace,
      body: {
        metadata: { name },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage } } },
      },
    });
  }
  for (const name of claims) {
    let volume = '';
    await waitFor(
      `claim ${name} to be bound`,
      async () => {
        const claim = await core.readNamespacedPersistentVolumeClaim({ name, namespace });
        volume = claim.spec?.volumeName ?? '';
        return claim.status?.phase === 'Bound';
      },
      60_000,
    );
    const hostPath = (await core.readPersistentVolume({ name: volume })).spec?.hostPath?.path;
    if (!hostPath) throw new Error(`the volume ${volume} of ${name} is not a hostPath volume`);
    fs.chownSync(hostPath, 10001, 10001);
  }
}

/**
 * Starts a long-running busybox pod on the real node (restricted, uid 10001) with `labels`, for a
 * test to run commands in with `execInPod`; resolves once it runs.
 */
export async function startShellPod(
  namespace: string,
  name: string,
  labels: Record<string, string>,
): Promise<k8s.V1Pod> {
  const node = await realNode();
  const core = coreApi();
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name, labels },
      spec: {
        ...REAL_NODE_PLACEMENT,
        restartPolicy: 'Never',
        terminationGracePeriodSeconds: 0,
        securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [
          {
            name: 'shell',
            image: node.busyboxImage,
            imagePullPolicy: 'Never',
            command: ['/bin/sh', '-c', 'sleep 86400'],
            securityContext: RESTRICTED_CONTAINER,
          },
        ],
      },
    },
  });
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
 * (`kubectl exec`), as a person would; resolves with its output, rejects when it exits non-zero.
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
      { timeout: 120_000 },
      (error, stdout, stderr) =>
        error
          ? reject(new Error(`kubectl exec ${namespace}/${pod}: ${error.message}\n${stdout}${stderr}`))
          : resolve(stdout),
    ),
  );
}
