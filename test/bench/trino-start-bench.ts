/**
 * Trino start benchmark (a script that prints figures, not a test): the server of keelson's image,
 * laid out as the image has it, started as a single node with the JMX agent pods start with, with
 * and without the image's AOT cache, with both JIT tiers and with the first only. Each figure is
 * the CPU-seconds the JVM and its children used, and the wall time, until `SERVER STARTED`.
 *
 *   npm run build && node build/test/bench/trino-start-bench.js [version] [runs]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  layOutServer,
  startServer,
  trainAotCache,
  type ServerLayout,
} from '../../constructs/trino/aot-cache';
import { TRINO_HOME, trinoServerLayout, unpackTrinoServer } from '../../constructs/trino/image';
import { FileTree, keelsonCacheDir } from '../../lib/image';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** The CPU-seconds a process and its waited-for children used, from /proc. */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime, stime, cutime, cstime are fields 14-17 of stat(5); here 0-based after the command.
  return fields.slice(11, 15).reduce((sum, f) => sum + Number(f), 0) / TICKS_PER_SECOND;
}

async function measure(
  layout: ServerLayout,
  scratch: string,
  args: string[],
): Promise<{ cpu: number; wall: number }> {
  const begun = Date.now();
  const server = await startServer(layout, fs.mkdtempSync(path.join(scratch, 'run-')), args);
  try {
    await server.started;
    return { cpu: cpuSeconds(server.pid), wall: (Date.now() - begun) / 1000 };
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const version = process.argv[2] ?? '476';
  const runs = Number(process.argv[3] ?? 3);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-trino-bench-'));
  try {
    const log = (m: string) => process.stderr.write(`${m}\n`);
    const tree = new FileTree(path.join(scratch, 'staged'));
    await unpackTrinoServer(version, tree, { cacheDir: keelsonCacheDir(), workDir: scratch, log });
    const layout = await trinoServerLayout(path.join(scratch, 'root'), keelsonCacheDir());
    layOutServer(tree, layout);
    const cache = await trainAotCache(layout, { workDir: path.join(scratch, 'aot'), log });
    const variants: [string, string[]][] = [
      ['both JIT tiers', []],
      ['both JIT tiers, AOT cache', [`-XX:AOTCache=${cache}`]],
      ['first JIT tier', ['-XX:TieredStopAtLevel=1']],
      ['first JIT tier, AOT cache', ['-XX:TieredStopAtLevel=1', `-XX:AOTCache=${cache}`]],
    ];
    console.log(
      `Trino ${version} from ${TRINO_HOME} laid out as in the image, ${os.cpus().length} CPUs, ${runs} runs each`,
    );
    console.log('| start | CPU-s (median) | wall s (median) |');
    console.log('|---|---|---|');
    for (const [name, args] of variants) {
      const figures = [];
      for (let i = 0; i < runs; i += 1) figures.push(await measure(layout, scratch, args));
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      console.log(
        `| ${name} | ${median(figures.map((f) => f.cpu)).toFixed(1)} | ${median(figures.map((f) => f.wall)).toFixed(1)} |`,
      );
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
