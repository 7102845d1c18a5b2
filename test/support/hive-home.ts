/**
 * METASTORE_HOME as keelson's Hive image lays it out (the release tarball's lib/ and scripts/ and
 * the jars image.ts adds), in a folder on this machine, for tests that run the metastore's jars
 * outside a container. Built once per version in $KEELSON_CACHE/hive-test-home.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { hiveImageJars, hiveMetastoreTarball, isReplacedTarballJar } from '../../constructs/hive/image';
import { fetchMavenArtifact, keelsonCacheDir, mavenFileName, parseMavenCoordinates } from '../../lib/image';

export async function hiveTestHome(version: string): Promise<string> {
  const cache = keelsonCacheDir();
  const home = path.join(cache, 'hive-test-home', version);
  if (fs.existsSync(path.join(home, '.complete'))) return home;
  fs.rmSync(home, { recursive: true, force: true });
  fs.mkdirSync(home, { recursive: true });
  const tarball = await fetchMavenArtifact(parseMavenCoordinates(hiveMetastoreTarball(version)), cache);
  const untar = spawnSync(
    'tar',
    ['-xzf', tarball, '-C', home, '--strip-components=1', '--wildcards', '*/lib/*', '*/scripts/*'],
    { encoding: 'utf8' },
  );
  if (untar.status !== 0) throw new Error(`tar -xzf ${tarball} failed: ${untar.stderr}`);
  for (const jar of fs.readdirSync(path.join(home, 'lib'))) {
    if (isReplacedTarballJar(jar)) fs.rmSync(path.join(home, 'lib', jar));
  }
  for (const coordinates of hiveImageJars(version)) {
    const c = parseMavenCoordinates(coordinates);
    fs.copyFileSync(await fetchMavenArtifact(c, cache), path.join(home, 'lib', mavenFileName(c)));
  }
  fs.writeFileSync(path.join(home, '.complete'), '');
  return home;
}

/** Compiles test/support/MetastoreProbe.java against the metastore's jars into `outDir`. */
export function compileMetastoreProbe(home: string, outDir: string): void {
  const javac = spawnSync(
    'javac',
    ['-d', outDir, '-cp', `${path.join(home, 'lib')}/*`, path.join(__dirname, 'MetastoreProbe.java')],
    { encoding: 'utf8' },
  );
  if (javac.status !== 0)
    throw new Error(`javac MetastoreProbe.java failed:\n${javac.stdout}${javac.stderr}`);
}
