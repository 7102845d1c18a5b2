/**
 * keelson's declarations compile in a project made by `cdk8s init typescript-app` — its tsconfig
 * (strict, no skipLibCheck, lib es2016, CommonJS) is read from the cdk8s-cli package — so a user's
 * first `npm run build` shows no errors from inside keelson or its dependencies.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..');

/** Type-checks `files` in a fresh project with cdk8s' stock tsconfig; returns tsc's output. */
function compileConsumer(files: Record<string, string>): { ok: boolean; output: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-consumer-'));
  try {
    fs.copyFileSync(
      path.join(root, 'node_modules/cdk8s-cli/templates/typescript-app/tsconfig.json'),
      path.join(dir, 'tsconfig.json'),
    );
    const modules = path.join(dir, 'node_modules');
    fs.mkdirSync(modules);
    fs.symlinkSync(root, path.join(modules, 'keelson'));
    for (const m of ['cdk8s', 'constructs', '@types']) {
      fs.symlinkSync(path.join(root, 'node_modules', m), path.join(modules, m));
    }
    for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
    try {
      const output = execFileSync(
        process.execPath,
        [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', dir, '--noEmit'],
        { encoding: 'utf8' },
      );
      return { ok: true, output };
    } catch (e) {
      return { ok: false, output: String((e as { stdout?: string }).stdout ?? e) };
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('the public declarations', () => {
  beforeAll(() => {
    if (!fs.existsSync(path.join(root, 'build/index.d.ts')))
      throw new Error('build/ is missing: run `npm run build` first');
  });

  test("compile under cdk8s' stock typescript-app tsconfig, and podOverrides and affinity are typed", () => {
    const result = compileConsumer({
      'main.ts': `
import { App, Chart } from 'cdk8s';
import { KafkaCluster, ZookeeperCluster, synth } from 'keelson';

const app = new App();
const chart = new Chart(app, 'platform', { namespace: 'data' });
const zk = new ZookeeperCluster(chart, 'zk', { servers: { roleGroups: { default: { replicas: 3 } } } });
new KafkaCluster(chart, 'kafka', {
  zookeeper: zk,
  brokers: {
    config: { affinity: { nodeAffinity: {} } },
    podOverrides: { spec: { containers: [{ name: 'kafka', resources: { limits: { cpu: '2' } } }] } },
  },
});
// @ts-expect-error: podOverrides is a pod template patch, not anything
new KafkaCluster(chart, 'a', { zookeeper: zk, brokers: { podOverrides: 42 } });
// @ts-expect-error: a misspelled pod field
new KafkaCluster(chart, 'b', { zookeeper: zk, brokers: { podOverrides: { spec: { containers: [{ name: 'kafka', resourcse: {} }] } } } });
// @ts-expect-error: affinity is a Kubernetes Affinity
new KafkaCluster(chart, 'c', { zookeeper: zk, brokers: { config: { affinity: 'spread' } } });
synth(app);
`,
    });
    expect(result.output).toBe('');
    expect(result.ok).toBe(true);
  }, 300_000);

  test('a type error names the interfaces (ZookeeperServersRoleGroup), not a long anonymous type', () => {
    const result = compileConsumer({
      'main.ts': `
import { App, Chart } from 'cdk8s';
import { ZookeeperCluster } from 'keelson';
new ZookeeperCluster(new Chart(new App(), 'p', { namespace: 'data' }), 'zk', {
  servers: { roleGroups: { default: { replicas: 3, replica: 1 } } },
});
`,
    });
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/'replica' does not exist in type 'ZookeeperServersRoleGroup'/);
    expect(result.output.length).toBeLessThan(600);
  }, 300_000);
});
