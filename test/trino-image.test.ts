import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TRINO } from '../constructs/trino';
import {
  DEFAULT_ETC,
  HEALTH_CHECK_SCRIPT,
  isOtherPlatformLauncher,
  linkDuplicates,
  RUN_TRINO_SCRIPT,
  TRINO_IMAGES,
  trinoImageRecipe,
} from '../constructs/trino/image';
import { FileTree } from '../lib/image';

describe('Trino image recipes', () => {
  test.each(Object.entries(TRINO.images!.versions))(
    'version %s of the versions table has an image recipe named as keelson references it',
    (version, tag) => {
      expect(TRINO_IMAGES.versions).toContain(version);
      expect(TRINO_IMAGES.recipe(version).reference).toBe(`docker.io/trinodb/trino:${tag}`);
    },
  );

  test("reproduces upstream's runtime: user trino 1000, run-trino, port 8080, Java 25 on the PATH", () => {
    const { config, layers } = trinoImageRecipe('476');
    expect(config.user).toBe('1000:1000');
    expect(config.cmd).toEqual(['/usr/lib/trino/bin/run-trino']);
    expect(config.exposedPorts).toEqual([8080]);
    expect(config.env?.JAVA_HOME).toBe('/usr/lib/jvm/temurin-25-jdk-amd64');
    expect(config.env?.PATH).toMatch(/:\/usr\/lib\/jvm\/temurin-25-jdk-amd64\/bin$/);
    expect(layers.map((l) => l.description)).toEqual([
      'Debian 12 with bash, curl and less',
      'JDK from /usr/lib/jvm/temurin-25-jdk-amd64 at /usr/lib/jvm/temurin-25-jdk-amd64',
      'accounts trino(1000) keelson(10001)',
      'Trino CLI 476 from Maven Central',
      'Trino 476 server from Maven Central',
      'the Prometheus JMX exporter java agent (io.prometheus.jmx:jmx_prometheus_javaagent:1.0.1)',
    ]);
  });

  test('rejects a version without a recipe, naming the versions it has', () => {
    expect(() => TRINO_IMAGES.recipe('400')).toThrow(
      'image: keelson has no Trino image recipe for version "400"; it has 470, 476',
    );
  });

  test('run-trino names the node after the host unless node.properties does, and runs the launcher', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trino-image-test-'));
    try {
      // The script with its paths moved into a scratch folder and a launcher that prints its arguments.
      fs.mkdirSync(path.join(dir, 'etc'));
      fs.mkdirSync(path.join(dir, 'bin'));
      fs.writeFileSync(path.join(dir, 'bin', 'launcher'), '#!/bin/bash\necho "$@"\n', { mode: 0o755 });
      const script = RUN_TRINO_SCRIPT.replaceAll('/etc/trino', `${dir}/etc`).replaceAll(
        '/usr/lib/trino',
        dir,
      );
      fs.writeFileSync(path.join(dir, 'run-trino'), script, { mode: 0o755 });
      const run = () =>
        execFileSync(path.join(dir, 'run-trino'), ['-Dx=y'], {
          env: { HOSTNAME: 'trino-0', PATH: process.env.PATH },
        })
          .toString()
          .trim();
      fs.writeFileSync(path.join(dir, 'etc', 'node.properties'), DEFAULT_ETC['node.properties']);
      expect(run()).toBe(`run --etc-dir ${dir}/etc -Dnode.id=trino-0 -Dx=y`);
      fs.appendFileSync(path.join(dir, 'etc', 'node.properties'), 'node.id=fixed\n');
      expect(run()).toBe(`run --etc-dir ${dir}/etc -Dx=y`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('health-check asks the local server whether it has finished starting', () => {
    expect(HEALTH_CHECK_SCRIPT).toContain('/v1/info');
    expect(HEALTH_CHECK_SCRIPT).toContain(`grep -q '"starting":false'`);
  });

  test('keeps only the linux-amd64 launcher', () => {
    expect(isOtherPlatformLauncher('usr/lib/trino/bin/darwin-arm64/launcher')).toBe(true);
    expect(isOtherPlatformLauncher('usr/lib/trino/bin/linux-ppc64le')).toBe(true);
    expect(isOtherPlatformLauncher('usr/lib/trino/bin/linux-arm64/libprocname.so')).toBe(true);
    expect(isOtherPlatformLauncher('usr/lib/trino/bin/linux-amd64/launcher')).toBe(false);
    expect(isOtherPlatformLauncher('usr/lib/trino/bin/launcher')).toBe(false);
  });

  test("the tarball's hard-linked copies of shared jars become relative symlinks to the first", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trino-image-test-'));
    try {
      // A tarball shaped like Trino's: one jar in lib/, hard links to it in two plugins.
      const src = path.join(dir, 'src', 'trino-server-1');
      for (const d of ['lib', 'plugin/hive', 'plugin/iceberg'])
        fs.mkdirSync(path.join(src, d), { recursive: true });
      fs.writeFileSync(path.join(src, 'lib', 'shared.jar'), 'jar');
      fs.writeFileSync(path.join(src, 'plugin', 'hive', 'own.jar'), 'own');
      fs.linkSync(path.join(src, 'lib', 'shared.jar'), path.join(src, 'plugin', 'hive', 'shared.jar'));
      fs.linkSync(path.join(src, 'lib', 'shared.jar'), path.join(src, 'plugin', 'iceberg', 'shared.jar'));
      const tarball = path.join(dir, 'server.tar');
      execFileSync('tar', ['-cf', tarball, '-C', path.join(dir, 'src'), 'trino-server-1']);
      const tree = new FileTree(path.join(dir, 'staged'));
      await tree.addTar(fs.createReadStream(tarball), { stripComponents: 1, prefix: '/usr/lib/trino' });
      expect(linkDuplicates(tree, { uid: 1000, gid: 1000 })).toBe(2);
      expect(tree.get('usr/lib/trino/lib/shared.jar')?.type).toBe('file');
      expect(tree.get('usr/lib/trino/plugin/hive/shared.jar')).toMatchObject({
        type: 'symlink',
        linkTarget: '../../lib/shared.jar',
        uid: 1000,
      });
      expect(tree.get('usr/lib/trino/plugin/iceberg/shared.jar')?.linkTarget).toBe('../../lib/shared.jar');
      expect(tree.get('usr/lib/trino/plugin/hive/own.jar')?.type).toBe('file');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
