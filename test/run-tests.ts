/**
 * `npm test`'s jest step: the suites split into shards (default 2, `KEELSON_TEST_SHARDS`), each a
 * jest process of its own with its own control plane and real node, running side by side.
 *
 * Why: the real-node suites spend about half their time waiting (pods starting, rollouts,
 * grace periods) with the CPU idle, and jest runs them one after another on a 2-core machine
 * (one worker). Two processes fill that idle time. They do not share a cluster because several
 * suites change cluster-wide state (TlsClasses, ClusterTrustBundles, an operator watching every
 * namespace) that a suite running beside them in the same cluster would see; the real node's
 * network namespace, addresses and cgroups are per node, so two nodes never meet (see
 * test/controlplane/real-node.ts).
 *
 * test/support/weighted-sequencer.js splits the suites by their measured times. Each line a shard
 * prints carries its `[i/n]` prefix; the last line is the run's total, in the form
 * test/support/summary-reporter.js prints for one process. Measured suite times are written to
 * build/suite-seconds.json, to copy over test/support/suite-seconds.json when the balance drifts.
 *
 * One plain jest process runs instead when arguments are given (`npm test -- <jest args>`, such as
 * one file), when `KEELSON_TEST_SHARDS=1`, or when KEELSON_TEST_KUBECONFIG names a cluster the
 * user started, which shards would share.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';

interface ShardResult {
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
  readonly failedSuites: number;
  readonly suiteSeconds: Record<string, number>;
}

const JEST = require.resolve('jest/bin/jest');
const REPO = path.resolve(__dirname, '..', '..');

function shardCount(args: readonly string[]): number {
  const raw = process.env.KEELSON_TEST_SHARDS ?? '2';
  const count = Number(raw);
  if (!Number.isInteger(count) || count < 1) {
    throw new Error(`KEELSON_TEST_SHARDS must be a whole number of at least 1, not '${raw}'`);
  }
  if (args.length > 0 || process.env.KEELSON_TEST_KUBECONFIG) return 1;
  return count;
}

/** Copies a stream to `out` line by line, each line prefixed, so two shards' lines never mix. */
function prefixLines(
  stream: NodeJS.ReadableStream,
  out: NodeJS.WritableStream,
  prefix: string,
): Promise<void> {
  const lines = readline.createInterface({ input: stream, crlfDelay: Infinity });
  lines.on('line', (line) => out.write(`${prefix}${line}\n`));
  return new Promise((resolve) => lines.on('close', resolve));
}

function exitOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}

async function runOne(args: readonly string[]): Promise<number> {
  const child = spawn(process.execPath, [JEST, ...args], { cwd: REPO, stdio: 'inherit' });
  forwardSignals([child]);
  return exitOf(child);
}

/** Ctrl-C or a CI timeout reaches every shard, so each stops its own cluster. */
function forwardSignals(children: readonly ChildProcess[]): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => children.forEach((child) => child.kill(signal)));
  }
}

async function runShards(count: number): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-shards-'));
  const started = Date.now();
  const shards = Array.from({ length: count }, (_, i) => {
    const label = `${i + 1}/${count}`;
    const resultsFile = path.join(dir, `shard-${i + 1}.json`);
    const child = spawn(process.execPath, [JEST, `--shard=${label}`], {
      cwd: REPO,
      env: { ...process.env, KEELSON_TEST_RESULTS: resultsFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = Promise.all([
      prefixLines(child.stdout!, process.stdout, `[${label}] `),
      prefixLines(child.stderr!, process.stderr, `[${label}] `),
    ]);
    const done = Promise.all([exitOf(child), output]).then(([code]) => ({
      label,
      code,
      seconds: (Date.now() - started) / 1000,
      resultsFile,
    }));
    return { child, done };
  });
  forwardSignals(shards.map((s) => s.child));
  const finished = await Promise.all(shards.map((s) => s.done));

  let exitCode = 0;
  const total = { passed: 0, failed: 0, skipped: 0 };
  const suiteSeconds: Record<string, number> = {};
  for (const shard of finished) {
    process.stdout.write(
      `[${shard.label}] finished in ${shard.seconds.toFixed(0)} s, exit code ${shard.code}\n`,
    );
    if (shard.code !== 0) exitCode = 1;
    if (!fs.existsSync(shard.resultsFile)) {
      process.stdout.write(`[${shard.label}] wrote no results: jest ended before its reporters ran\n`);
      exitCode = 1;
      continue;
    }
    const result = JSON.parse(fs.readFileSync(shard.resultsFile, 'utf8')) as ShardResult;
    total.passed += result.passed;
    total.failed += result.failed;
    total.skipped += result.skipped;
    if (result.failed > 0 || result.failedSuites > 0) exitCode = 1;
    Object.assign(suiteSeconds, result.suiteSeconds);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  writeSuiteSeconds(suiteSeconds);
  process.stdout.write(`tests: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped\n`);
  return exitCode;
}

function writeSuiteSeconds(suiteSeconds: Record<string, number>): void {
  const sorted = Object.fromEntries(Object.entries(suiteSeconds).sort(([a], [b]) => (a < b ? -1 : 1)));
  fs.mkdirSync(path.join(REPO, 'build'), { recursive: true });
  fs.writeFileSync(path.join(REPO, 'build', 'suite-seconds.json'), `${JSON.stringify(sorted, null, 1)}\n`);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const count = shardCount(args);
  process.exitCode = count === 1 ? await runOne(args) : await runShards(count);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
