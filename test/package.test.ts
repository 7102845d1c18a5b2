/**
 * The npm package is what users get: the compiled framework, products and core types with their
 * declarations, README and LICENSE, and nothing else. Needs `npm run build` first (`npm test`
 * builds).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..');
const npm = (args: string[], cwd = root) =>
  execFileSync('npm', args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, npm_config_loglevel: 'error' },
  });

jest.setTimeout(240_000);

describe('the npm package', () => {
  let files: string[];

  beforeAll(() => {
    if (!fs.existsSync(path.join(root, 'build/index.js')))
      throw new Error('build/ is missing: run `npm run build` first');
    const [packed] = JSON.parse(npm(['pack', '--dry-run', '--json', '--ignore-scripts'])) as {
      files: { path: string }[];
    }[];
    files = packed.files.map((f) => f.path);
  });

  test('contains the compiled JS and declarations of lib/, constructs/ and imports/, the bin, README and LICENSE', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'LICENSE',
        'build/index.js',
        'build/index.d.ts',
        'build/lib/index.js',
        'build/lib/index.d.ts',
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

  test('contains no tests, sources, manifests or source maps', () => {
    const unwanted = files.filter(
      (f) =>
        f.startsWith('build/test/') ||
        f.startsWith('test/') ||
        f.startsWith('dist/') ||
        f.endsWith('.map') ||
        (f.endsWith('.ts') && !f.endsWith('.d.ts')),
    );
    expect(unwanted).toEqual([]);
  });

  test('installs from its tarball and is imported by name, as a user does', () => {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-user-'));
    try {
      const [packed] = JSON.parse(
        npm(['pack', '--json', '--ignore-scripts', '--pack-destination', scratch]),
      ) as {
        filename: string;
      }[];
      fs.writeFileSync(
        path.join(scratch, 'package.json'),
        JSON.stringify({ name: 'user-platform', private: true }),
      );
      npm(
        ['install', '--prefer-offline', '--no-audit', '--no-fund', path.join(scratch, packed.filename)],
        scratch,
      );
      const program = `
        const { App, Chart } = require('cdk8s');
        const { ZookeeperCluster, KafkaCluster, SpecValidationError } = require('keelson');
        const chart = new Chart(new App(), 'platform', { namespace: 'data' });
        const zk = new ZookeeperCluster(chart, 'zk', {});
        new KafkaCluster(chart, 'kafka', { image: { productVersion: '3.9.1' }, zookeeper: zk });
        const kinds = chart.toJson().map((o) => o.kind + '/' + o.metadata.name);
        console.log(JSON.stringify({ kinds, error: typeof SpecValidationError }));
      `;
      const out = JSON.parse(
        execFileSync(process.execPath, ['-e', program], { cwd: scratch, encoding: 'utf8' }),
      ) as {
        kinds: string[];
        error: string;
      };
      expect(out.kinds).toEqual(
        expect.arrayContaining(['StatefulSet/zk-servers-default', 'StatefulSet/kafka-brokers-default']),
      );
      expect(out.error).toBe('function');
      const bin = execFileSync(path.join(scratch, 'node_modules/.bin/keelson'), ['--help'], {
        encoding: 'utf8',
      });
      expect(bin).toMatch(/operator/);
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  });
});
