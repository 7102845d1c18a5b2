/**
 * `npm run test:prepare` (run by `npm test` before jest): builds what the integration tests need
 * and a fresh machine lacks — the control plane's and the real node's binaries, the node's own
 * images, Prometheus (for the metrics checks), cert-manager (for its TLS test), and every image
 * keelson has a recipe for — and prints how long each took. Everything is cached, so a second run
 * only checks (seconds).
 *
 * The tests would build the same on first use; doing it here first keeps a cold machine's builds
 * (tens of minutes) out of the tests' time limits, and lets the Go builds (both cores) overlap
 * the image builds (mostly downloads and gzip).
 */
import * as path from 'node:path';
import { IMAGES } from '../../apps/keelson';
import { buildImage, keelsonCacheDir } from '../../lib/image';
import { runBuildScript } from './cluster';
import { buildNodeImages } from './node-images';

interface Step {
  readonly what: string;
  readonly seconds: number;
}

const log = (message: string) => process.stderr.write(`[test:prepare] ${message}\n`);

async function timed(steps: Step[], what: string, work: () => Promise<unknown>): Promise<void> {
  const started = Date.now();
  await work();
  steps.push({ what, seconds: (Date.now() - started) / 1000 });
}

/** The Go builds, one after another (build-binaries.sh serialises them on a lock anyway). */
async function buildBinaries(steps: Step[]): Promise<void> {
  await timed(steps, 'control plane binaries', () => runBuildScript('controlplane', log));
  let nodeBin = '';
  await timed(steps, 'real node binaries', async () => (nodeBin = await runBuildScript('node', log)));
  await timed(steps, 'real node images', () => buildNodeImages(path.join(nodeBin, 'pause'), log));
  // Last: only the metrics checks need it, and it is the longest single build.
  await timed(steps, 'Prometheus and promtool', () => runBuildScript('prometheus', log));
}

/** Every product image of every version keelson has a recipe for, one after another. */
async function buildProductImages(steps: Step[]): Promise<void> {
  const out = path.join(keelsonCacheDir(), 'images', 'out');
  for (const product of IMAGES) {
    for (const version of product.versions) {
      const recipe = product.recipe(version);
      await timed(steps, `image ${recipe.reference}`, () => buildImage(recipe, out, { log }));
    }
  }
}

/**
 * The images, then cert-manager (for its TLS test): on a cold machine this chain ends many minutes
 * before the Go chain (measured: 844 s against 1639 s), so cert-manager's build fits in that gap.
 */
async function buildImagesThenCertManager(steps: Step[]): Promise<void> {
  await buildProductImages(steps);
  await timed(steps, 'cert-manager controller', () => runBuildScript('certmanager', log));
}

async function main(): Promise<void> {
  const started = Date.now();
  const steps: Step[] = [];
  const results = await Promise.allSettled([buildBinaries(steps), buildImagesThenCertManager(steps)]);
  for (const step of steps) log(`${step.seconds.toFixed(1).padStart(7)} s  ${step.what}`);
  log(
    `${((Date.now() - started) / 1000).toFixed(1).padStart(7)} s  in all (the two chains run side by side)`,
  );
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failures.length > 0) {
    throw new Error(failures.map((f) => (f.reason as Error).message).join('\n'));
  }
}

main().catch((error: unknown) => {
  log(`failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
