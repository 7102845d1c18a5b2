import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  HBASE_IMAGES,
  hbaseClasspathProblems,
  hbaseDistributionRoots,
  hbaseImageRecipe,
  hbaseScript,
} from '../constructs/hbase/image';
import { HBASE_CLASSPATH, HBASE_MAIN_CLASSES } from '../constructs/hbase/distribution';

describe('HBase image recipe', () => {
  test('is named ghcr.io/keelson/hbase:<version> and built for 2.6.1', () => {
    expect(HBASE_IMAGES.versions).toEqual(['2.6.1']);
    expect(hbaseImageRecipe('2.6.1').reference).toBe('ghcr.io/keelson/hbase:2.6.1');
  });

  test('takes the -hadoop3 server modules first, then hbase-rest (Maven Central has no -hadoop3 build of it), with Log4j 2', () => {
    const roots = hbaseDistributionRoots('2.6.1');
    expect(roots[0]).toBe('org.apache.hbase:hbase-server:2.6.1-hadoop3');
    expect(roots).toContain('org.apache.hbase:hbase-client:2.6.1-hadoop3');
    const rest = roots.indexOf('org.apache.hbase:hbase-rest:2.6.1');
    expect(rest).toBeGreaterThan(0);
    expect(roots.slice(0, rest).every((r) => r.endsWith(':2.6.1-hadoop3'))).toBe(true);
    expect(roots).toContain('org.apache.logging.log4j:log4j-core:2.24.3');
  });

  test('refuses a classpath with another HBase build or Hadoop 2 in it', () => {
    expect(
      hbaseClasspathProblems('2.6.1', [
        'org.apache.hbase:hbase-server:2.6.1-hadoop3',
        'org.apache.hbase:hbase-rest:2.6.1',
        'org.apache.hadoop:hadoop-common:3.3.5',
      ]),
    ).toEqual([]);
    expect(
      hbaseClasspathProblems('2.6.1', [
        'org.apache.hbase:hbase-common:2.6.1',
        'org.apache.hadoop:hadoop-common:2.10.2',
      ]),
    ).toEqual([
      'org.apache.hbase:hbase-common:2.6.1: expected org.apache.hbase:hbase-common:2.6.1-hadoop3',
      'org.apache.hadoop:hadoop-common:2.10.2: a Hadoop 2 artifact',
    ]);
  });

  test('has a passwd entry for uid 10001, without which Hadoop’s login fails as keelson’s pod user', async () => {
    const inputs = (await hbaseImageRecipe('2.6.1').layers[1].inputs({
      workDir: '/nonexistent',
      cacheDir: '/nonexistent',
      log: () => undefined,
    })) as { accounts: { name: string; uid: number }[] };
    expect(inputs.accounts).toContainEqual(expect.objectContaining({ uid: 10001 }));
  });

  test('its hbase script runs each subcommand’s main class with Java 17’s options, and refuses others', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbase-script-'));
    try {
      const script = path.join(dir, 'hbase');
      fs.writeFileSync(script, hbaseScript(), { mode: 0o755 });
      // A `java` that prints its arguments stands in for the JVM.
      fs.writeFileSync(path.join(dir, 'java'), '#!/bin/sh\necho "$@"\n', { mode: 0o755 });
      const env = { ...process.env, PATH: `${dir}:${process.env.PATH}`, HBASE_CONF_DIR: '/conf' };
      const out = execFileSync(script, ['regionmover', '-r', 'rs:16020', '-o', 'unload'], {
        env,
        encoding: 'utf8',
      }).trim();
      expect(out).toContain('--add-opens=java.base/java.nio=ALL-UNNAMED');
      expect(out).toMatch(
        new RegExp(
          ` -cp /conf:/opt/hbase/conf:${HBASE_CLASSPATH.replace(/[*/.]/g, '\\$&')} ${HBASE_MAIN_CLASSES.regionmover.replace(/\./g, '\\.')} -r rs:16020 -o unload$`,
        ),
      );
      expect(() => execFileSync(script, ['shell'], { env, stdio: 'pipe' })).toThrow(/usage: hbase/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('rejects a version without a recipe, naming the versions it has', () => {
    expect(() => HBASE_IMAGES.recipe('2.5.10')).toThrow(
      'image: keelson has no HBase image recipe for version "2.5.10"; it has 2.6.1',
    );
  });
});
