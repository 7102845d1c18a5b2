import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  HDFS_IMAGES,
  hdfsDistributionRoots,
  hdfsImageRecipe,
  hdfsScript,
  hdfsWebappsJar,
  isOtherPlatformJar,
  LOG4J1_EXCLUSIONS,
} from '../constructs/hdfs/image';
import { HADOOP_CLASSPATH, HDFS_MAIN_CLASSES } from '../constructs/hdfs/distribution';

describe('Hadoop (HDFS) image recipe', () => {
  test('is named ghcr.io/keelson/hadoop:<version> and built for 3.4.2', () => {
    expect(HDFS_IMAGES.versions).toEqual(['3.4.2']);
    expect(hdfsImageRecipe('3.4.2').reference).toBe('ghcr.io/keelson/hadoop:3.4.2');
  });

  test('takes hadoop-hdfs, its client and hadoop-common as roots (hadoop-hdfs declares both provided), with Log4j 2', () => {
    expect(hdfsDistributionRoots('3.4.2')).toEqual([
      'org.apache.hadoop:hadoop-hdfs:3.4.2',
      'org.apache.hadoop:hadoop-hdfs-client:3.4.2',
      'org.apache.hadoop:hadoop-common:3.4.2',
      'org.apache.logging.log4j:log4j-core:2.24.3',
      'org.apache.logging.log4j:log4j-slf4j-impl:2.24.3',
      'org.apache.logging.log4j:log4j-1.2-api:2.24.3',
    ]);
    // Log4j 2 in place of Log4j 1, whose layouts cannot write keelson's structured file.
    expect(LOG4J1_EXCLUSIONS).toEqual(['ch.qos.reload4j:reload4j', 'org.slf4j:slf4j-reload4j']);
    expect(hdfsWebappsJar('3.4.2')).toBe('org.apache.hadoop:hadoop-hdfs:3.4.2:jar:tests');
  });

  test('leaves out native jars of other platforms and keeps linux x86-64', () => {
    expect(isOtherPlatformJar('netty-transport-native-epoll-4.1.118.Final-linux-aarch_64.jar')).toBe(true);
    expect(isOtherPlatformJar('netty-transport-native-epoll-4.1.118.Final-linux-riscv64.jar')).toBe(true);
    expect(isOtherPlatformJar('netty-resolver-dns-native-macos-4.1.118.Final-osx-x86_64.jar')).toBe(true);
    expect(isOtherPlatformJar('netty-transport-native-epoll-4.1.118.Final-linux-x86_64.jar')).toBe(false);
    expect(isOtherPlatformJar('hadoop-hdfs-3.4.2.jar')).toBe(false);
  });

  test('has a passwd entry for uid 10001, without which Hadoop’s login fails as keelson’s pod user', async () => {
    const inputs = (await hdfsImageRecipe('3.4.2').layers[1].inputs({
      workDir: '/nonexistent',
      cacheDir: '/nonexistent',
      log: () => undefined,
    })) as { accounts: { name: string; uid: number }[] };
    expect(inputs.accounts).toContainEqual(expect.objectContaining({ uid: 10001 }));
    expect(inputs.accounts).toContainEqual(expect.objectContaining({ name: 'hadoop', uid: 1000 }));
  });

  test('its hdfs script runs each subcommand’s main class on the image’s classpath, and refuses others', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hdfs-script-'));
    try {
      const script = path.join(dir, 'hdfs');
      fs.writeFileSync(script, hdfsScript(), { mode: 0o755 });
      // A `java` that prints its arguments stands in for the JVM.
      fs.writeFileSync(path.join(dir, 'java'), '#!/bin/sh\necho "$@"\n', { mode: 0o755 });
      const env = { ...process.env, PATH: `${dir}:${process.env.PATH}`, HADOOP_CONF_DIR: '/conf' };
      const out = execFileSync(script, ['dfs', '-ls', '/'], { env, encoding: 'utf8' }).trim();
      expect(out).toBe(`-cp /conf:/opt/hadoop/etc/hadoop:${HADOOP_CLASSPATH} ${HDFS_MAIN_CLASSES.dfs} -ls /`);
      expect(() => execFileSync(script, ['nonsense'], { env, stdio: 'pipe' })).toThrow(/usage: hdfs/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('rejects a version without a recipe, naming the versions it has', () => {
    expect(() => HDFS_IMAGES.recipe('3.3.6')).toThrow(
      'image: keelson has no Hadoop image recipe for version "3.3.6"; it has 3.4.2',
    );
  });
});
