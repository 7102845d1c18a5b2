/**
 * Synth benchmark (a script that prints figures, not a test): N example stacklets synthesized by
 * keelson, against plain cdk8s building the same objects from ready-made JSON and writing them with
 * `app.synth()`. keelson is measured writing YAML both ways, with cdk8s' `app.synth()` and with
 * keelson's `synth(app)`. Each measurement runs in a fresh Node process so that peak memory (max
 * RSS) belongs to it alone.
 *
 *   npm run build && node build/test/bench/synth-bench.js [N ...]
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ApiObject, App, Chart } from 'cdk8s';
import { synth } from '../../lib';
import { BeaconCluster } from '../example-product/beacon';

type Mode = 'keelson' | 'plain';
/**
 * `yaml`: build, then write YAML with cdk8s' `app.synth()`; `synth`: the same with keelson's
 * `synth(app)`; `json`: build and serialize to JSON, as the operator does.
 */
type Output = 'yaml' | 'synth' | 'json';
const outputs: readonly Output[] = ['yaml', 'synth', 'json'];
const outputLabels: Record<Output, string> = { yaml: 'app.synth()', synth: 'synth(app)', json: 'toJson()' };
interface Figures {
  readonly mode: Mode;
  readonly output: Output;
  readonly n: number;
  readonly objects: number;
  readonly ms: number;
  readonly maxRssMiB: number;
}

function stackletName(i: number): string {
  return `beacon-${i}`;
}

/** Builds and synthesizes N stacklets into a temporary folder, as `cdk8s synth` does. */
function run(mode: Mode, output: Output, n: number): Figures {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-bench-'));
  // The plain run gets its JSON before the clock starts: it measures cdk8s alone.
  const template = mode === 'plain' ? templateObjects() : [];
  const start = process.hrtime.bigint();
  const app = new App({ outdir });
  const chart = new Chart(app, 'platform', { namespace: 'bench' });
  for (let i = 0; i < n; i++) {
    const name = stackletName(i);
    if (mode === 'keelson') {
      new BeaconCluster(chart, name, {});
    } else {
      for (const object of template) {
        const json = JSON.parse(JSON.stringify(object).replaceAll('demo', name)) as {
          kind: string;
          metadata: { name: string };
        };
        new ApiObject(chart, `${name}/${json.kind}/${json.metadata.name}`, json as never);
      }
    }
  }
  if (output === 'yaml') app.synth();
  else if (output === 'synth') synth(app);
  else chart.toJson();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const objects = chart.node.findAll().filter((c) => c instanceof ApiObject).length;
  fs.rmSync(outdir, { recursive: true, force: true });
  return { mode, output, n, objects, ms, maxRssMiB: process.resourceUsage().maxRSS / 1024 };
}

/** One keelson stacklet's objects, named `demo`, as the plain run's template. */
function templateObjects(): unknown[] {
  const chart = new Chart(new App(), 'platform', { namespace: 'bench' });
  new BeaconCluster(chart, 'demo', {});
  return chart.toJson();
}

function main() {
  const [mode, output, n] = process.argv.slice(2);
  if ((mode === 'keelson' || mode === 'plain') && outputs.includes(output as Output)) {
    process.stdout.write(JSON.stringify(run(mode, output as Output, Number(n))));
    return;
  }
  // A child run is called with (mode, output, N); anything else is the parent's list of sizes.
  const sizes = process.argv
    .slice(2)
    .map(Number)
    .filter((x) => x > 0);
  const ns = sizes.length > 0 ? sizes : [10, 100, 1000];
  console.log(`synth benchmark on ${os.cpus().length} cores, Node ${process.version}`);
  console.log(
    'keelson output  N      objects   keelson ms   plain ms   ratio   keelson RSS MiB   plain RSS MiB',
  );
  const measure = (m: Mode, output: Output, size: number) =>
    JSON.parse(
      execFileSync(process.execPath, [__filename, m, output, String(size)], { encoding: 'utf8' }),
    ) as Figures;
  // Plain cdk8s writes YAML one way, so both keelson YAML rows compare with the same run.
  const plainYaml = new Map<number, Figures>();
  const plain = (output: Output, size: number): Figures => {
    if (output === 'json') return measure('plain', 'json', size);
    let figures = plainYaml.get(size);
    if (!figures) {
      figures = measure('plain', 'yaml', size);
      plainYaml.set(size, figures);
    }
    return figures;
  };
  for (const output of outputs) {
    for (const size of ns) {
      const k = measure('keelson', output, size);
      const p = plain(output, size);
      console.log(
        [
          outputLabels[output].padEnd(14),
          String(size).padEnd(6),
          String(k.objects).padStart(7),
          k.ms.toFixed(0).padStart(12),
          p.ms.toFixed(0).padStart(10),
          (k.ms / p.ms).toFixed(2).padStart(7),
          k.maxRssMiB.toFixed(0).padStart(17),
          p.maxRssMiB.toFixed(0).padStart(15),
        ].join(' '),
      );
    }
  }
}

main();
