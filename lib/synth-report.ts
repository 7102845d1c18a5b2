/**
 * What a synth wrote, for people: the files in the output folder and the objects of each chart by
 * kind. Counted from the construct tree, so reporting costs nothing beside the synth itself.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ApiObject, Chart, type App } from 'cdk8s';

/** Lines describing the synthesized output of `app` (call after `synth(app)` or `app.synth()`). */
export function synthReport(app: App): string[] {
  const lines: string[] = [];
  const files = fs.existsSync(app.outdir) ? fs.readdirSync(app.outdir).sort() : [];
  lines.push(`keelson wrote ${files.length} file(s) to ${path.relative(process.cwd(), app.outdir) || '.'}/`);
  for (const chart of app.node.children.filter((c): c is Chart => c instanceof Chart)) {
    const kinds = new Map<string, number>();
    for (const o of chart.node.findAll()) {
      if (o instanceof ApiObject) kinds.set(o.kind, (kinds.get(o.kind) ?? 0) + 1);
    }
    const total = [...kinds.values()].reduce((a, b) => a + b, 0);
    const byKind = [...kinds.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([kind, n]) => `${n} ${kind}`)
      .join(', ');
    const namespace = chart.namespace ? ` (namespace ${chart.namespace})` : '';
    lines.push(`  chart ${chart.node.id}${namespace}: ${total} objects: ${byKind}`);
  }
  for (const f of files) lines.push(`  ${path.join(path.relative(process.cwd(), app.outdir), f)}`);
  return lines;
}
