/**
 * Reports the memory the control plane (and the real node, when a test started it) holds after
 * the tests ran, then stops them. KEELSON_KEEP_RUN=1 keeps their folders (logs, data) for a look
 * after a failure.
 */
import * as fs from 'node:fs';
import { COMPONENTS } from '../controlplane/cluster';
import {
  NODE_COMPONENTS,
  nodeMemoryUsage,
  realNodeFiles,
  stopRealNode,
  type RealNodeState,
} from '../controlplane/real-node';

export default async function globalTeardown() {
  const controlPlane = globalThis.keelsonControlPlane;
  if (!controlPlane) return;
  globalThis.keelsonControlPlane = undefined;
  const keepRunDir = process.env.KEELSON_KEEP_RUN === '1';

  const usage: Record<string, { rssMiB: number; peakMiB: number } | undefined> = controlPlane.memoryUsage();
  const names: string[] = [...COMPONENTS];
  const nodeFile = realNodeFiles(controlPlane.runDir).state;
  let node: RealNodeState | undefined;
  if (fs.existsSync(nodeFile)) {
    node = JSON.parse(fs.readFileSync(nodeFile, 'utf8')) as RealNodeState;
    const nodeUsage = nodeMemoryUsage(node.pids);
    for (const component of NODE_COMPONENTS) {
      names.push(`node: ${component}`);
      usage[`node: ${component}`] = nodeUsage[component];
    }
  }
  const lines = names.map((c) => {
    const u = usage[c];
    return `  ${c.padEnd(24)} ${u ? `RSS ${u.rssMiB} MiB, peak ${u.peakMiB} MiB` : 'not running'}`;
  });
  const total = names.reduce((sum, c) => sum + (usage[c]?.rssMiB ?? 0), 0);
  process.stderr.write(
    `\n[controlplane] started in ${controlPlane.startSeconds.toFixed(1)} s; memory after the tests:\n` +
      `${lines.join('\n')}\n  total RSS ${total} MiB\n`,
  );
  if (node) {
    await stopRealNode(node, { keepDir: keepRunDir });
    if (keepRunDir) process.stderr.write(`[real node] folder kept: ${node.dir}\n`);
  }
  await controlPlane.stop({ keepRunDir });
  if (keepRunDir) process.stderr.write(`[controlplane] run folder kept: ${controlPlane.runDir}\n`);
}
