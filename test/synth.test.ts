import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ApiObject, App, Chart, Yaml, YamlOutputType, type AppProps } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { lakehousePlatform } from '../apps/lakehouse';
import { streamingPlatform } from '../apps/streaming';
import { manifestsToYaml, synth } from '../lib';

const tmp: string[] = [];
afterAll(() => tmp.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

function outdir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-synth-'));
  tmp.push(dir);
  return dir;
}

/** Every file under `dir`, relative to it, sorted. */
function files(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => fs.statSync(path.join(dir, f)).isFile())
    .sort();
}

/** The documents of a YAML text as a YAML 1.1 reader (Kubernetes') and a YAML 1.2 reader see them. */
function readBoth(text: string): { v11: unknown[]; v12: unknown[] } {
  const read = (version: '1.1' | '1.2') =>
    parseAllDocuments(text, { version }).map((doc) => {
      expect(doc.errors).toEqual([]);
      return doc.toJSON() as unknown;
    });
  return { v11: read('1.1'), v12: read('1.2') };
}

function examplePlatform(props: AppProps): App {
  const app = new App(props);
  streamingPlatform(app);
  lakehousePlatform(app);
  return app;
}

const tricky = [
  '0',
  '1',
  'true',
  'False',
  'null',
  '~',
  '',
  '1e3',
  '010',
  '0o17',
  '0x1F',
  '1_000',
  '+.5',
  '.inf',
  '.NaN',
  'y',
  'yes',
  'on',
  'OFF',
  '2001-12-14',
  '1:20',
  '*ref',
  '&anchor',
  '!tag',
  '- item',
  '-',
  '#comment',
  'a #b',
  ': x',
  'key: value',
  '? x',
  '|',
  '>',
  '%x',
  '@x',
  '"quoted"',
  "'quoted'",
  '{a}',
  '[a]',
  '---',
  '...',
  ' leading space',
  'trailing space ',
  '\ttab',
  'crlf\r\nline',
  'x'.repeat(300),
  'a long line of words '.repeat(20),
];
const multiLine = {
  'server.properties': 'tickTime=2000\ndataDir=/data\n',
  'trailing-spaces.txt': 'line one  \n  indented line  \nlast',
  'blank-lines.txt': 'first\n\n\nafter blanks\n\n',
  'leading-newlines.txt': '\n\nbody\n',
  'leading-indent.txt': '  starts indented\nthen not\n',
};

/** A chart whose objects hold every tricky value as a value, a key and a list item. */
function trickyChart(app: App): Chart {
  const chart = new Chart(app, 'tricky', { namespace: 'data' });
  const shared = { labels: { 'app.kubernetes.io/name': 'shared' } };
  new ApiObject(chart, 'values', {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'values',
      annotations: Object.fromEntries(tricky.map((v, i) => [`keelson.dev/v${i}`, v])),
    },
    data: { ...Object.fromEntries(tricky.filter((v) => v !== '').map((v) => [v, v])), ...multiLine },
  });
  // The same object twice: a writer keeping references would emit an anchor and an alias.
  for (const name of ['first', 'second']) {
    new ApiObject(chart, name, {
      apiVersion: 'v1',
      kind: 'List',
      metadata: { name, annotations: { list: JSON.stringify(tricky) } },
      items: [shared, shared, tricky],
    } as never);
  }
  return chart;
}

describe('synth(app)', () => {
  test('writes the example platform to the files app.synth() writes, each reading back as chart.toJson()', () => {
    const mine = examplePlatform({ outdir: outdir() });
    const theirs = examplePlatform({ outdir: outdir() });
    synth(mine);
    theirs.synth();

    expect(files(mine.outdir)).toEqual(['lakehouse.k8s.yaml', 'streaming.k8s.yaml']);
    expect(files(mine.outdir)).toEqual(files(theirs.outdir));
    for (const chart of mine.charts) {
      const text = fs.readFileSync(path.join(mine.outdir, `${chart.node.id}.k8s.yaml`), 'utf8');
      expect(text).toBe(manifestsToYaml(chart.toJson()));
      const { v11, v12 } = readBoth(text);
      expect(v11).toEqual(chart.toJson());
      expect(v12).toEqual(chart.toJson());
    }
  });

  test('writes tricky strings so that YAML 1.1 and 1.2 readers read them back unchanged', () => {
    const app = new App({ outdir: outdir() });
    const chart = trickyChart(app);
    synth(app);

    const text = fs.readFileSync(path.join(app.outdir, 'tricky.k8s.yaml'), 'utf8');
    const { v11, v12 } = readBoth(text);
    expect(v11).toEqual(chart.toJson());
    expect(v12).toEqual(chart.toJson());
    // No anchors or aliases, no folded long lines, and config files as literal block scalars.
    expect(text).not.toMatch(/(^|[\s:-])[&*]ref_\d/m);
    const lines = text.split('\n');
    for (const long of ['x'.repeat(300), 'a long line of words '.repeat(20)]) {
      const line = lines.find((l) => l.trimStart().startsWith(`keelson.dev/v${tricky.indexOf(long)}: `));
      expect(line).toContain(long.trim());
    }
    expect(text).toContain('server.properties: |\n    tickTime=2000\n    dataDir=/data\n');
    expect(text).toContain('trailing-spaces.txt: |-\n    line one  \n      indented line  \n    last\n');
  });

  test.each([
    ['file per chart', { yamlOutputType: YamlOutputType.FILE_PER_CHART }],
    ['file per app', { yamlOutputType: YamlOutputType.FILE_PER_APP }],
    ['file per resource', { yamlOutputType: YamlOutputType.FILE_PER_RESOURCE }],
    ['folder per chart', { yamlOutputType: YamlOutputType.FOLDER_PER_CHART_FILE_PER_RESOURCE }],
    ['another extension', { outputFileExtension: '.yml' }],
    ['construct metadata', { recordConstructMetadata: true }],
  ])('names files as app.synth() does: %s', (_, props: AppProps) => {
    const build = () => {
      const app = new App({ ...props, outdir: outdir() });
      trickyChart(app);
      streamingPlatform(app);
      return app;
    };
    const mine = build();
    const theirs = build();
    synth(mine);
    theirs.synth();

    expect(files(mine.outdir).length).toBeGreaterThan(0);
    expect(files(mine.outdir)).toEqual(files(theirs.outdir));
    for (const f of files(mine.outdir).filter((x) => !x.endsWith('.json'))) {
      const read = (dir: string) => readBoth(fs.readFileSync(path.join(dir, f), 'utf8')).v11;
      expect(read(mine.outdir)).toEqual(read(theirs.outdir));
    }
  });

  test('numbers chart files as app.synth() does when charts depend on each other', () => {
    const build = () => {
      const app = new App({ outdir: outdir() });
      const streaming = streamingPlatform(app);
      trickyChart(app).addDependency(streaming);
      return app;
    };
    const mine = build();
    const theirs = build();
    synth(mine);
    theirs.synth();

    expect(files(mine.outdir)).toEqual(['0000-streaming.k8s.yaml', '0001-tricky.k8s.yaml']);
    expect(files(mine.outdir)).toEqual(files(theirs.outdir));
  });

  test("leaves cdk8s' own writer in place afterwards, also when validation fails", () => {
    const save = Yaml.save;
    const app = new App({ outdir: outdir() });
    const chart = new Chart(app, 'broken');
    chart.node.addValidation({ validate: () => ['always broken'] });
    expect(() => synth(app)).toThrow(/always broken/);
    expect(Yaml.save).toBe(save);
  });
});

describe('manifestsToYaml', () => {
  test('writes an object met twice in full both times, with no anchor or alias', () => {
    const shared = { labels: { 'app.kubernetes.io/name': 'shared' } };
    const docs = [{ kind: 'List', items: [shared, shared] }, shared];
    const text = manifestsToYaml(docs);
    expect(text).not.toMatch(/[&*]ref/);
    expect(readBoth(text).v11).toEqual(docs);
  });

  test('separates documents as cdk8s does and writes an undefined one as an empty document', () => {
    expect(manifestsToYaml([{ a: 1 }, undefined, { b: '2' }])).toBe('a: 1\n---\n\n---\nb: "2"\n');
    expect(manifestsToYaml([])).toBe('');
  });
});
