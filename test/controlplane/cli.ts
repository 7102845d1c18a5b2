/**
 * `npm run cluster:up` starts a control plane for people and leaves it running;
 * `npm run cluster:down` stops it. The running one is recorded in a state file
 * ($KEELSON_CACHE/run/cluster.json, default ~/.cache/keelson) with the PIDs it started, and
 * `down` ends those process groups only, after checking each PID still runs the binary it started.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { COMPONENTS, startControlPlane, stopControlPlane, type ControlPlaneState } from './cluster';

const stateFile = path.join(
  process.env.KEELSON_CACHE ?? path.join(os.homedir(), '.cache', 'keelson'),
  'run',
  'cluster.json',
);

function readState(): ControlPlaneState | undefined {
  if (!fs.existsSync(stateFile)) return undefined;
  return JSON.parse(fs.readFileSync(stateFile, 'utf8')) as ControlPlaneState;
}

/** True when the PID is alive and still runs the component it was recorded for. */
function stillOurs(pid: number, component: string): boolean {
  try {
    const argv0 = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0];
    return path.basename(argv0) === component;
  } catch {
    return false;
  }
}

async function up() {
  const existing = readState();
  if (existing && COMPONENTS.every((c) => stillOurs(existing.pids[c], c))) {
    console.error(`a control plane is already running at ${existing.server} (state: ${stateFile})`);
    console.log(`export KUBECONFIG=${existing.kubeconfigPath}`);
    return;
  }
  if (existing) await down();
  const controlPlane = await startControlPlane({ detached: true });
  const state: ControlPlaneState = {
    runDir: controlPlane.runDir,
    kubeconfigPath: controlPlane.kubeconfigPath,
    server: controlPlane.server,
    pids: controlPlane.pids,
    logs: controlPlane.logs,
  };
  fs.mkdirSync(path.dirname(stateFile), { recursive: true });
  fs.writeFileSync(stateFile, JSON.stringify(state, null, 2));
  console.error(
    `control plane running at ${state.server}; logs in ${state.runDir}; stop it with npm run cluster:down`,
  );
  console.log(`export KUBECONFIG=${state.kubeconfigPath}`);
}

async function down() {
  const state = readState();
  if (!state) {
    console.error(`no control plane recorded in ${stateFile}`);
    return;
  }
  // Only the recorded PIDs that still run their component: a PID reused since then is left alone.
  const pids = Object.fromEntries(
    COMPONENTS.filter((c) => stillOurs(state.pids[c], c)).map((c) => [c, state.pids[c]]),
  ) as ControlPlaneState['pids'];
  await stopControlPlane({ ...state, pids });
  fs.rmSync(stateFile, { force: true });
  console.error(`stopped the control plane at ${state.server}`);
}

const command = process.argv[2];
const commands: Record<string, () => Promise<void>> = { up, down };
if (!commands[command]) {
  console.error('usage: cli.js up|down');
  process.exit(2);
}
commands[command]().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
