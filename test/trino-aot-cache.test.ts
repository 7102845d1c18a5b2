import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Chart, Testing } from 'cdk8s';
import { TrinoCluster } from '../constructs/trino';
import {
  classPathManifest,
  serverJarPath,
  serverJars,
  writeClassPathJar,
} from '../constructs/trino/aot-cache';
import { TRINO_HOST_JDK } from '../constructs/trino/image';
import { FileTree } from '../lib/image';
import { find, type Obj } from './support/synth';

/** A manifest's logical lines: continuation lines (a leading space) joined to the line before. */
const unwrap = (manifest: string) => manifest.replace(/\n /g, '').split('\n').filter(Boolean);

describe("the class path of keelson's Trino image", () => {
  test("moves only the jars directly in lib/ to lib/server/ (the launcher's lib/* then holds one jar)", () => {
    expect(serverJarPath('/usr/lib/trino', 'usr/lib/trino/lib/trino-main-476.jar')).toBe(
      'usr/lib/trino/lib/server/trino-main-476.jar',
    );
    expect(serverJarPath('/usr/lib/trino', 'usr/lib/trino/lib/notes.txt')).toBe(
      'usr/lib/trino/lib/notes.txt',
    );
    expect(serverJarPath('/usr/lib/trino', 'usr/lib/trino/plugin/hive/hive.jar')).toBe(
      'usr/lib/trino/plugin/hive/hive.jar',
    );
    expect(serverJarPath('/usr/lib/trino', 'usr/lib/trino/lib/x/y.jar')).toBe('usr/lib/trino/lib/x/y.jar');
  });

  test('lists the server jars in byte order, whatever order they were added in', () => {
    const tree = new FileTree(fs.mkdtempSync(path.join(os.tmpdir(), 'trino-aot-')));
    for (const name of ['zeta.jar', 'Alpha.jar', 'alpha.jar', 'sub/deep.jar', 'readme.txt'])
      tree.addFile(`usr/lib/trino/lib/server/${name}`, 'x');
    expect(serverJars(tree, '/usr/lib/trino')).toEqual(['Alpha.jar', 'alpha.jar', 'zeta.jar']);
  });

  test('writes a manifest whose Class-Path names every jar in order, in lines of at most 72 bytes', () => {
    const jars = Array.from({ length: 40 }, (_, i) => `server/io.trino_trino-module-${i}-476.jar`);
    const manifest = classPathManifest(jars);
    for (const line of manifest.split('\n')) expect(Buffer.byteLength(line)).toBeLessThanOrEqual(72);
    const lines = unwrap(manifest);
    expect(lines[0]).toBe('Manifest-Version: 1.0');
    expect(lines.find((l) => l.startsWith('Class-Path: '))).toBe(`Class-Path: ${jars.join(' ')}`);
    expect(manifest.endsWith('\n\n')).toBe(true);
  });

  test('the JDK reads the class-path jar it writes, and two builds give the same bytes', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trino-aot-jar-'));
    try {
      const jars = [
        'a.jar',
        'b-with-a-long-name-so-that-the-manifest-wraps-its-class-path-line.jar',
        'c.jar',
      ];
      await writeClassPathJar(TRINO_HOST_JDK, jars, path.join(dir, 'one.jar'));
      await new Promise((r) => setTimeout(r, 1100)); // another second on the clock
      await writeClassPathJar(TRINO_HOST_JDK, jars, path.join(dir, 'two.jar'));
      expect(
        fs.readFileSync(path.join(dir, 'one.jar')).equals(fs.readFileSync(path.join(dir, 'two.jar'))),
      ).toBe(true);
      execFileSync(path.join(TRINO_HOST_JDK, 'bin/jar'), ['--extract', '--file', path.join(dir, 'one.jar')], {
        cwd: dir,
      });
      const manifest = fs.readFileSync(path.join(dir, 'META-INF/MANIFEST.MF'), 'utf8').replace(/\r/g, '');
      expect(unwrap(manifest)).toContain(`Class-Path: ${jars.map((j) => `server/${j}`).join(' ')}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("a Trino pod's start command and the image's AOT cache", () => {
  const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
  new TrinoCluster(chart, 'trino', {});
  const objs = Testing.synth(chart) as Obj[];
  const script = (
    find(objs, 'StatefulSet', 'trino-coordinators-default').spec.template.spec.containers[0]
      .command as string[]
  )[2];

  /** Runs the start command with Trino's home in a scratch folder and a launcher that prints its arguments. */
  function start(withCache: boolean): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trino-aot-start-'));
    try {
      fs.mkdirSync(path.join(dir, 'bin'));
      fs.writeFileSync(path.join(dir, 'bin/launcher'), '#!/bin/bash\nprintf "%s\\n" "$@"\n', { mode: 0o755 });
      if (withCache) fs.writeFileSync(path.join(dir, 'keelson.aot'), '');
      return execFileSync('/bin/bash', ['-c', script.replaceAll('/usr/lib/trino', dir)], {
        env: { ...process.env, POD_NAME: 'trino-coordinators-default-0' },
        encoding: 'utf8',
      }).replaceAll(dir, '/usr/lib/trino');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  test('starts with the cache where the image has one', () => {
    expect(start(true).split('\n')).toEqual([
      'run',
      '--etc-dir=/keelson/config',
      '-J-XX:AOTCache=/usr/lib/trino/keelson.aot',
      '-Dnode.id=trino-coordinators-default-0',
      '',
    ]);
  });

  test('starts without it in an image that has none (upstream images, older JDKs)', () => {
    expect(start(false).split('\n')).toEqual([
      'run',
      '--etc-dir=/keelson/config',
      '-Dnode.id=trino-coordinators-default-0',
      '',
    ]);
  });
});
