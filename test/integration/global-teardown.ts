/**
 * Reports the memory the control plane holds after the tests ran, then stops it.
 * KEELSON_KEEP_RUN=1 keeps its run folder (logs, data) for a look after a failure.
 */
import { COMPONENTS } from '../controlplane/cluster';

export default async function globalTeardown() {
  const controlPlane = globalThis.keelsonControlPlane;
  if (!controlPlane) return;
  globalThis.keelsonControlPlane = undefined;
  const usage = controlPlane.memoryUsage();
  const lines = COMPONENTS.map((c) => {
    const u = usage[c];
    return `  ${c.padEnd(24)} ${u ? `RSS ${u.rssMiB} MiB, peak ${u.peakMiB} MiB` : 'not running'}`;
  });
  const total = COMPONENTS.reduce((sum, c) => sum + (usage[c]?.rssMiB ?? 0), 0);
  process.stderr.write(
    `\n[controlplane] started in ${controlPlane.startSeconds.toFixed(1)} s; memory after the tests:\n` +
      `${lines.join('\n')}\n  total RSS ${total} MiB\n`,
  );
  const keepRunDir = process.env.KEELSON_KEEP_RUN === '1';
  await controlPlane.stop({ keepRunDir });
  if (keepRunDir) process.stderr.write(`[controlplane] run folder kept: ${controlPlane.runDir}\n`);
}
