/**
 * `npm run cluster:up [-- --real-node]` starts a control plane (and, with `--real-node`, a real
 * kubelet node beside kwok's fake ones: see real-node.ts) for people and leaves it running;
 * `npm run cluster:down` stops it all. The running one is recorded in a state file
 * ($KEELSON_CACHE/run/cluster.json, default ~/.cache/keelson) with the PIDs it started, and
 * `down` ends those process groups only, after checking each PID still runs the binary it started;
 * the real node's network namespace, cgroups and mounts are removed by their recorded names.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { COMPONENTS, startControlPlane, stopControlPlane, type ControlPlaneState } from './cluster';
import { BINARY_OF, NODE_COMPONENTS, startRealNode, stopRealNode, type RealNodeState } from './real-node';

const stateFile = path.join(
  process.env.KEELSON_CACHE ?? path.join(os.homedir(), '.cache', 'keelson'),
  'run',
  'cluster.json',
);
/** The real node's state alone, in the form KEELSON_TEST_REAL_NODE points tests at. */
const realNodeStateFile = path.join(path.dirname(stateFile), 'real-node.json');

type ClusterState = ControlPlaneState & { realNode?: RealNodeState };

function readState(): ClusterState | undefined {
  if (!fs.existsSync(stateFile)) return undefined;
  return JSON.parse(fs.readFileSync(stateFile, 'utf8')) as ClusterState;
}

/** True when the PID is alive and still runs the program it was recorded for. */
function stillOurs(pid: number | undefined, program: string): boolean {
  if (pid === undefined) return false;
  try {
    const argv0 = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0];
    return path.basename(argv0) === program;
  } catch {
    return false;
  }
}

async function up(args: string[]) {
  const wantRealNode = args.includes('--real-node');
  const unknown = args.filter((a) => a !== '--real-node');
  if (unknown.length > 0)
    throw new Error(`cluster:up: unknown option ${unknown.join(' ')} (known: --real-node)`);
  const existing = readState();
  if (
    existing &&
    COMPONENTS.every((c) => stillOurs(existing.pids[c], c)) &&
    (!wantRealNode || existing.realNode)
  ) {
    console.error(`a control plane is already running at ${existing.server} (state: ${stateFile})`);
    printExports(existing);
    return;
  }
  if (existing) await down();
  const controlPlane = await startControlPlane({ detached: true });
  const state: ClusterState = {
    runDir: controlPlane.runDir,
    kubeconfigPath: controlPlane.kubeconfigPath,
    server: controlPlane.server,
    pids: controlPlane.pids,
    logs: controlPlane.logs,
  };
  fs.mkdirSync(path.dirname(stateFile), { recursive: true });
  fs.writeFileSync(stateFile, JSON.stringify(state, null, 2));
  if (wantRealNode) {
    try {
      const node = await startRealNode(controlPlane, { detached: true });
      const nodeState: RealNodeState = { ...node };
      state.realNode = JSON.parse(JSON.stringify(nodeState)) as RealNodeState;
      fs.writeFileSync(stateFile, JSON.stringify(state, null, 2));
      fs.writeFileSync(realNodeStateFile, JSON.stringify(state.realNode, null, 2));
      console.error(
        `real node ${node.nodeName} Ready in ${node.startSeconds.toFixed(1)} s; logs in ${node.dir}`,
      );
    } catch (error) {
      await down();
      throw error;
    }
  }
  console.error(
    `control plane running at ${state.server}; logs in ${state.runDir}; stop it with npm run cluster:down`,
  );
  printExports(state);
}

function printExports(state: ClusterState) {
  console.log(`export KUBECONFIG=${state.kubeconfigPath}`);
  if (state.realNode) {
    // For running the integration tests against this cluster.
    console.log(`export KEELSON_TEST_KUBECONFIG=${state.kubeconfigPath}`);
    console.log(`export KEELSON_TEST_REAL_NODE=${realNodeStateFile}`);
  }
}

async function down() {
  const state = readState();
  if (!state) {
    console.error(`no control plane recorded in ${stateFile}`);
    return;
  }
  if (state.realNode) {
    const node = state.realNode;
    // Only the recorded PIDs that still run their program: a PID reused since then is left alone.
    const pids = Object.fromEntries(
      NODE_COMPONENTS.filter((c) => stillOurs(node.pids[c], BINARY_OF[c])).map((c) => [c, node.pids[c]]),
    );
    await stopRealNode({ ...node, pids });
    fs.rmSync(realNodeStateFile, { force: true });
    console.error(`stopped the real node ${node.nodeName} (network namespace ${node.netns})`);
  }
  const pids = Object.fromEntries(
    COMPONENTS.filter((c) => stillOurs(state.pids[c], c)).map((c) => [c, state.pids[c]]),
  ) as ControlPlaneState['pids'];
  await stopControlPlane({ ...state, pids });
  fs.rmSync(stateFile, { force: true });
  console.error(`stopped the control plane at ${state.server}`);
}

const [command, ...rest] = process.argv.slice(2);
const commands: Record<string, () => Promise<void>> = { up: () => up(rest), down };
if (!commands[command]) {
  console.error('usage: cli.js up [--real-node] | down');
  process.exit(2);
}
commands[command]().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
