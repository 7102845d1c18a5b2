/**
 * Java runtimes for images: Debian's OpenJDK 17 JRE on a minimal Debian 12 base (one layer that
 * every JVM product image shares, so it is built and stored once), and a JDK copied from the host
 * for a Java version Debian 12 does not package (Java 25).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { JMX_EXPORTER_AGENT, JMX_EXPORTER_COORDINATES } from '../stacklet/metrics';
import type { LayerRecipe } from './build';
import { debianLayer } from './debian';
import { fetchMavenArtifact, parseMavenCoordinates } from './maven';

/** Where Debian's OpenJDK 17 lives in the image. */
export const JAVA_17_HOME = '/usr/lib/jvm/java-17-openjdk-amd64';

/**
 * The packages of the shared JVM base: the essential userland the products' start scripts use
 * (bash, coreutils, grep, sed, gawk-compatible mawk, findutils, gzip, tar, hostname), `ps` and
 * `nc` for probes and diagnostics, CA certificates, and the headless JRE 17. `usr-is-merged`
 * stands in for `usrmerge` (which would pull in Perl to convert a running system).
 */
export const JRE_17_BASE_PACKAGES = [
  'base-files',
  'bash',
  'ca-certificates',
  'coreutils',
  'dash',
  'debianutils',
  'diffutils',
  'findutils',
  'grep',
  'gzip',
  'hostname',
  'libc-bin',
  'mawk',
  'netcat-openbsd',
  'openjdk-17-jre-headless',
  'procps',
  'sed',
  'tar',
  'usr-is-merged',
] as const;

/**
 * Debian 12 with the OpenJDK 17 JRE, `java` on /usr/bin and `nc` (what update-alternatives would link),
 * plus `extraPackages` (which make it a different, unshared layer).
 */
export function jre17BaseLayer(extraPackages: readonly string[] = []): LayerRecipe {
  return debianLayer({
    description: `Debian 12 with OpenJDK 17 JRE${extraPackages.length ? ` and ${extraPackages.join(', ')}` : ''}`,
    packages: [...JRE_17_BASE_PACKAGES, ...extraPackages],
    finishVersion: 2,
    finish: (tree) => {
      // What update-alternatives would link: nc → netcat-openbsd, the JRE's tools → /usr/bin.
      if (tree.has('bin/nc.openbsd')) tree.addSymlink('bin/nc', 'nc.openbsd');
      for (const tool of ['java', 'keytool', 'jfr', 'jrunscript', 'rmiregistry']) {
        if (tree.has(`${JAVA_17_HOME}/bin/${tool}`))
          tree.addSymlink(`usr/bin/${tool}`, `${JAVA_17_HOME}/bin/${tool}`);
      }
    },
  });
}

/**
 * The Prometheus JMX exporter java agent (`JMX_EXPORTER_COORDINATES`, from Maven Central) at
 * `JMX_EXPORTER_AGENT`: one small layer every JVM image that serves metrics through it shares.
 */
export function jmxExporterLayer(): LayerRecipe {
  const agent = parseMavenCoordinates(JMX_EXPORTER_COORDINATES);
  return {
    description: `the Prometheus JMX exporter java agent (${JMX_EXPORTER_COORDINATES})`,
    inputs: async () => ({ agent: JMX_EXPORTER_COORDINATES, path: JMX_EXPORTER_AGENT }),
    build: async (tree, context) => {
      tree.addDirectory(path.posix.dirname(JMX_EXPORTER_AGENT));
      tree.addHostFile(JMX_EXPORTER_AGENT, await fetchMavenArtifact(agent, context.cacheDir), {
        mode: 0o644,
      });
    },
  };
}

/** What identifies a host JDK: its `release` file and the size of every file in it. */
function hostJdkFingerprint(hostDir: string): unknown {
  const files: string[] = [];
  const walk = (relative: string): void => {
    const full = path.join(hostDir, relative);
    const stat = fs.lstatSync(full);
    if (stat.isDirectory()) {
      for (const name of fs.readdirSync(full).sort()) walk(relative ? `${relative}/${name}` : name);
    } else {
      files.push(`${relative}:${stat.isSymbolicLink() ? `->${fs.readlinkSync(full)}` : stat.size}`);
    }
  };
  walk('');
  return { release: fs.readFileSync(path.join(hostDir, 'release'), 'utf8'), files };
}

/**
 * A JDK from the host (`/usr/lib/jvm/temurin-25-jdk-amd64`) at `imagePath`, owned by root. Its
 * `release` file and file sizes are the layer's inputs.
 */
export function hostJdkLayer(hostDir: string, imagePath: string): LayerRecipe {
  return {
    description: `JDK from ${hostDir} at ${imagePath}`,
    inputs: () => {
      if (!fs.existsSync(path.join(hostDir, 'release'))) {
        throw new Error(`image: no JDK at ${hostDir} (its release file is missing)`);
      }
      return { imagePath, jdk: hostJdkFingerprint(hostDir) };
    },
    build: async (tree) => {
      tree.addHostDirectory(imagePath, hostDir, { exclude: (p) => p === 'src.zip' || p === 'lib/src.zip' });
    },
  };
}
