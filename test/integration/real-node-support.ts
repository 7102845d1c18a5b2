/**
 * The real node of a jest run, started on first use: the first test (in any worker) that calls
 * `realNode()` starts it beside the run's control plane, the others wait for it and share it, and
 * global-teardown.ts stops it. Runs whose tests never ask for it pay nothing.
 *
 * Against a cluster of your own (`npm run cluster:up -- --real-node`), set
 * KEELSON_TEST_REAL_NODE to the state file it prints.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { containerSecurityContext, DEFAULT_RUN_AS_USER } from '../../lib/stacklet/security';
import { importImage, podLogs, startRealNode, type RealNodeState } from '../controlplane/real-node';

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
