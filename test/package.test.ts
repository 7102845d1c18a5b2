/**
 * The npm package is what users get. These tests make it as a publisher does — a clean clone of
 * the repository's committed HEAD, `npm ci`, `npm pack` (whose `prepare` builds) — and use it as a
 * user does: installed into a fresh cdk8s project with the tsconfig `cdk8s init typescript-app`
 * writes (no `skipLibCheck`), imported by name, type-checked, run; and installed from git.
 *
 * Uncommitted changes are not in the package: commit before running this file. npm reads its
 * cache first (`--prefer-offline`), so a warm cache makes this a matter of a few minutes.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';

const root = path.resolve(__dirname, '..');
const run = (command: string, args: string[], cwd: string) =>
  execFileSync(command, args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, npm_config_loglevel: 'error', npm_config_update_notifier: 'false' },
  });
const npm = (args: string[], cwd: string) => run('npm', args, cwd);
const offline = ['--prefer-offline', '--no-audit', '--no-fund'];
/** The versions of cdk8s and constructs keelson is developed with: in the npm cache already. */
const devVersion = (name: string) =>
  (
    JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>;
    }
  ).devDependencies[name];

jest.setTimeout(900_000);

let scratch: string;
let clone: string;
let tarball: string;
let files: string[];

beforeAll(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-package-'));
  clone = path.join(scratch, 'keelson');
  const head = run('git', ['rev-parse', 'HEAD'], root).trim();
  run('git', ['clone', '--quiet', '--no-checkout', root, clone], scratch);
  run('git', ['checkout', '--quiet', '--detach', head], clone);
  // The build is `npm pack`'s job (`prepare`), so the install skips it.
  npm(['ci', '--ignore-scripts', ...offline], clone);
  const [packed] = JSON.parse(npm(['pack', '--json', '--pack-destination', scratch], clone)) as {
    filename: string;
    files: { path: string }[];
  }[];
  tarball = path.join(scratch, packed.filename);
  files = packed.files.map((f) => f.path);
});

afterAll(() => {
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

describe('the npm package packed from a clean clone', () => {
  test('contains the compiled JS and declarations, the bin, the docs and the example programs', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'CHANGELOG.md',
        'LICENSE',
        'lib/README.md',
        'constructs/zookeeper/README.md',
        'constructs/kafka/README.md',
        'constructs/hive/README.md',
        'constructs/trino/README.md',
        'apps/main.ts',
        'apps/streaming.ts',
        'apps/lakehouse.ts',
        'build/index.js',
        'build/index.d.ts',
        'build/framework.js',
        'build/framework.d.ts',
        'build/lib/index.js',
        'build/lib/stacklet/stacklet.js',
        'build/lib/stacklet/stacklet.d.ts',
        'build/constructs/kafka/kafka.js',
        'build/constructs/zookeeper/zookeeper.d.ts',
        'build/imports/k8s.js',
        'build/imports/k8s.d.ts',
        'build/apps/keelson.js',
      ]),
    );
  });

  test('contains no tests, no sources other than the example programs, no manifests or source maps', () => {
    const unwanted = files.filter(
      (f) =>
        f.startsWith('build/test/') ||
        f.startsWith('test/') ||
        f.startsWith('dist/') ||
        f.endsWith('.map') ||
        (f.endsWith('.ts') && !f.endsWith('.d.ts') && !/^apps\/[^/]+\.ts$/.test(f)),
    );
    expect(unwanted).toEqual([]);
  });

  test('every relative link in its Markdown files names a file it ships', () => {
    const shipped = new Set(files);
    const dead: string[] = [];
    for (const doc of files.filter((f) => f.endsWith('.md'))) {
      const text = fs.readFileSync(path.join(clone, doc), 'utf8');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/i.test(target) || target.startsWith('#')) continue;
        const file = path.posix.normalize(path.posix.join(path.posix.dirname(doc), target.split('#')[0]));
        const isFile = shipped.has(file);
        const isFolder = [...shipped].some((f) => f.startsWith(`${file}/`));
        if (!isFile && !isFolder) dead.push(`${doc}: ${target}`);
      }
    }
    expect(dead).toEqual([]);
  });

  test('says where it comes from (so npm and Construct Hub resolve links and find it)', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(clone, 'package.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(manifest.repository).toEqual({ type: 'git', url: 'git+https://github.com/keelson/keelson.git' });
    expect(manifest.homepage).toBe('https://github.com/keelson/keelson#readme');
    expect(manifest.bugs).toEqual({ url: 'https://github.com/keelson/keelson/issues' });
    expect(manifest.keywords).toEqual(expect.arrayContaining(['cdk8s', 'cdk8s-construct']));
  });
});

describe('a fresh cdk8s project with the packed keelson installed', () => {
  let project: string;
  const program = `
import { App, Chart } from 'cdk8s';
import { ZookeeperCluster, synth, type ZookeeperClusterProps } from 'keelson';
import { deepMerge } from 'keelson/framework';

const props: ZookeeperClusterProps = { servers: { roleGroups: { default: { replicas: 3 } } } };
const app = new App({ outdir: 'dist' });
const chart = new Chart(app, 'platform', { namespace: 'data' });
new ZookeeperCluster(chart, 'zk', deepMerge(props, { image: { productVersion: '3.9.4' } }));
synth(app);
`;

  beforeAll(() => {
    project = path.join(scratch, 'user-platform');
    fs.mkdirSync(project);
    fs.writeFileSync(
      path.join(project, 'package.json'),
      JSON.stringify({ name: 'user-platform', private: true, main: 'main.js' }),
    );
    // The tsconfig `cdk8s init typescript-app` writes, as cdk8s-cli ships it.
    fs.copyFileSync(
      path.join(root, 'node_modules/cdk8s-cli/templates/typescript-app/tsconfig.json'),
      path.join(project, 'tsconfig.json'),
    );
    fs.writeFileSync(path.join(project, 'main.ts'), program);
    npm(
      [
        'install',
        ...offline,
        tarball,
        `cdk8s@${devVersion('cdk8s')}`,
        `constructs@${devVersion('constructs')}`,
        // What the template's package.json asks for.
        '@types/node@^14',
      ],
      project,
    );
  });

  test('the tsconfig is the stock one: strict, CommonJS, and no skipLibCheck', () => {
    const tsconfig = JSON.parse(fs.readFileSync(path.join(project, 'tsconfig.json'), 'utf8')) as {
      compilerOptions: Record<string, unknown>;
    };
    expect(tsconfig.compilerOptions.strict).toBe(true);
    expect(tsconfig.compilerOptions.module).toBe('CommonJS');
    expect(tsconfig.compilerOptions.skipLibCheck).toBeUndefined();
  });

  test('type-checks a program that imports keelson and keelson/framework, with the stock tsconfig', () => {
    const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
    let output = '';
    try {
      run(process.execPath, [tsc, '-p', 'tsconfig.json', '--noEmit'], project);
    } catch (error) {
      output = String((error as { stdout?: string }).stdout ?? error);
    }
    expect(output).toBe('');
  });

  test('runs the program: synth writes the ZooKeeper StatefulSet', () => {
    const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
    // Emit without the type check above (that is the previous test's claim), then run.
    run(
      process.execPath,
      [tsc, '-p', 'tsconfig.json', '--noEmitOnError', 'false', '--skipLibCheck'],
      project,
    );
    run(process.execPath, ['main.js'], project);
    const objects = parseAllDocuments(
      fs.readFileSync(path.join(project, 'dist/platform.k8s.yaml'), 'utf8'),
    ).map((d) => d.toJS() as { kind: string; metadata: { name: string }; spec?: { replicas?: number } });
    const sts = objects.find((o) => o.kind === 'StatefulSet');
    expect(sts?.metadata.name).toBe('zk-servers-default');
    expect(sts?.spec?.replicas).toBe(3);
  });

  test('exposes the products at the root and keeps framework internals in keelson/framework', () => {
    const probe = `
      const root = require('keelson');
      const framework = require('keelson/framework');
      let deep = '';
      try { require('keelson/build/lib/merge'); } catch (e) { deep = e.code; }
      console.log(JSON.stringify({
        root: ['ZookeeperCluster', 'KafkaCluster', 'HiveCluster', 'TrinoCluster', 'TrinoCatalog',
               'ZookeeperZnode', 'S3Connection', 'Stacklet', 'SpecValidationError', 'synth', 'synthReport']
          .filter((n) => typeof root[n] !== 'function'),
        internalsAtRoot: ['deepMerge', 'renderHadoopXml', 'renderProperties', 'stackletSpecSchema',
                          'defineRule', 'mergePodTemplate', 'kraftClusterId', 'KafkaSpecSchema']
          .filter((n) => n in root),
        framework: ['deepMerge', 'renderHadoopXml', 'stackletSpecSchema', 'defineRule', 'keelsonCli',
                    'OperatorDeployment', 'KAFKA', 'ZookeeperCluster']
          .filter((n) => !(n in framework)),
        deep,
      }));
    `;
    expect(JSON.parse(run(process.execPath, ['-e', probe], project))).toEqual({
      root: [],
      internalsAtRoot: [],
      framework: [],
      deep: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
    });
  });

  test('installs the keelson command', () => {
    const help = run(path.join(project, 'node_modules/.bin/keelson'), ['--help'], project);
    expect(help).toMatch(/operator/);
    expect(help).toMatch(/deploy/);
  });
});

describe('keelson installed from git', () => {
  test('builds on install (prepare) and is imported by name', () => {
    const project = path.join(scratch, 'from-git');
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'from-git', private: true }));
    npm(['install', ...offline, `git+file://${clone}`], project);
    const probe = `
      const { App, Chart } = require('cdk8s');
      const { ZookeeperCluster } = require('keelson');
      const chart = new Chart(new App(), 'platform', { namespace: 'data' });
      new ZookeeperCluster(chart, 'zk', {});
      console.log(chart.toJson().map((o) => o.kind + '/' + o.metadata.name).join('\\n'));
    `;
    expect(run(process.execPath, ['-e', probe], project)).toContain('StatefulSet/zk-servers-default');
  });
});
