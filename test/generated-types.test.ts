/**
 * The committed generated types are what `npm run gen:types` makes from the schemas now: a schema
 * change without a regeneration fails here, so the schema stays the one source of truth. (The
 * generator runs from the build, as prettier, which it formats with, cannot load inside jest.)
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..');
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');

describe('generated types', () => {
  test('every generated file is up to date (run npm run gen:types after changing a schema)', () => {
    const generator = path.join(root, 'build/test/codegen/generate-types.js');
    if (!fs.existsSync(generator)) throw new Error('build/ is missing: run `npm run build` first');
    let output = '';
    try {
      output = execFileSync(process.execPath, [generator, '--check'], { encoding: 'utf8' });
    } catch (e) {
      output = String((e as { stdout?: string }).stdout ?? e);
    }
    expect(output).toBe('');
  }, 300_000);

  test("a spec's parts are named, documented interfaces with @default tags", () => {
    const zookeeper = read('constructs/zookeeper/spec.generated.ts');
    for (const name of [
      'ZookeeperSpec',
      'ZookeeperClusterConfig',
      'ZookeeperServersRole',
      'ZookeeperServersRoleGroup',
      'ZookeeperServersConfig',
      'ZookeeperServersConfigOverrides',
    ]) {
      expect(zookeeper).toContain(`export interface ${name} {`);
    }
    expect(zookeeper).toMatch(
      /\/\*\*\n {3}\* Pods of this role group\.\n {3}\* @default the product's default\n {3}\*\/\n {2}replicas\?: number;/,
    );
    expect(zookeeper).toContain('podOverrides?: PodTemplatePatch;');
    expect(read('lib/spec/spec.generated.ts')).toMatch(
      /\* Scale every role group to zero replicas and keep everything else\.\n {3}\* @default false\n {3}\*\/\n {2}stopped\?: boolean;/,
    );
  });
});
