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
export function hostJdkFingerprint(hostDir: string): unknown {
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

/**
 * The Log4j 2 of keelson's JVM images built from Maven (their structured log file, lib/logging,
 * needs Log4j 2's JSON-escaping layouts).
 */
export const LOG4J2_VERSION = '2.24.3';

/**
 * Log4j 2's core, its SLF4J 1.7 binding and its `log4j-1.2-api` bridge (for the Log4j 1 classes
 * Hadoop-based products call themselves), as classpath roots.
 */
export function log4j2Roots(version = LOG4J2_VERSION): string[] {
  return ['log4j-core', 'log4j-slf4j-impl', 'log4j-1.2-api'].map(
    (a) => `org.apache.logging.log4j:${a}:${version}`,
  );
}

/**
 * Log4j 1 (reload4j) and its SLF4J binding, which Hadoop's POMs bring and keelson's images leave out
 * for Log4j 2 (`log4j2Roots`).
 */
export const LOG4J1_EXCLUSIONS: readonly string[] = ['ch.qos.reload4j:reload4j', 'org.slf4j:slf4j-reload4j'];

/** Native-library jars for platforms other than linux x86-64, which an amd64 image never loads. */
export function isOtherPlatformJar(fileName: string): boolean {
  return /-(osx|windows)-[a-z0-9_]+\.jar$|-linux-(aarch_64|riscv64)\.jar$/.test(fileName);
}

/** What a launcher script of a JVM image runs (`javaLauncherScript`). */
export interface JavaLauncher {
  /** The image's product name, in the script's header (`Hadoop`). */
  readonly imageName: string;
  /** The command's name (`hdfs`), in its usage line. */
  readonly command: string;
  /** Subcommand → main class. */
  readonly mainClasses: Readonly<Record<string, string>>;
  /** The variable naming the config directory, put first on the classpath (`HADOOP_CONF_DIR`). */
  readonly confDirVariable: string;
  /** The image's config directory: the default of `confDirVariable`, and second on the classpath. */
  readonly imageConfDir: string;
  /** The image's classpath after the config directories. */
  readonly classpath: string;
  /** The variable with extra JVM options (`HADOOP_CLIENT_OPTS`). */
  readonly optionsVariable: string;
  /** JVM options always given, before `optionsVariable`'s. @default - none */
  readonly fixedOptions?: readonly string[];
}

/**
 * A bash script `<command> <subcommand> args…` that runs the subcommand's main class with `java` on
 * the image's classpath, for people in a pod: products' own launcher scripts are not on Maven
 * Central, and keelson's pods run `java` themselves so that the JVM arguments are exactly the role
 * group's. The image's config directory comes after the chosen one, so a config directory without
 * `log4j2.properties` (a discovery ConfigMap's files) logs to stderr as the image's says.
 */
export function javaLauncherScript(launcher: JavaLauncher): string {
  const { imageName, command, mainClasses, confDirVariable, imageConfDir, classpath, optionsVariable } =
    launcher;
  const cases = Object.entries(mainClasses)
    .map(([sub, main]) => `  ${sub}) main=${main} ;;`)
    .join('\n');
  const fixed = (launcher.fixedOptions ?? []).map((o) => `${o} `).join('');
  return `#!/bin/bash
# keelson's ${imageName} image: the ${command} subcommands, each its main class run with java on the image's
# classpath and $${confDirVariable} (default ${imageConfDir}); ${imageConfDir} follows it, so a
# config directory without log4j2.properties (a discovery ConfigMap's files) logs to stderr at INFO.
# JVM options: $${optionsVariable}.
set -eu
case "\${1:-}" in
${cases}
  *) echo "usage: ${command} {${Object.keys(mainClasses).join('|')}} [arguments]" >&2; exit 2 ;;
esac
shift
exec java ${fixed}\${${optionsVariable}:-} -cp "\${${confDirVariable}:-${imageConfDir}}:${imageConfDir}:${classpath}" "$main" "$@"
`;
}

/**
 * Console logging at INFO on stderr, for a launcher script and a `docker run` of a JVM image:
 * Log4j 2 finds `log4j2.properties` on the classpath, where the launcher puts the image's config
 * directory.
 */
export const IMAGE_CONSOLE_LOG4J2: Readonly<Record<string, string>> = {
  'appender.console.type': 'Console',
  'appender.console.name': 'console',
  'appender.console.target': 'SYSTEM_ERR',
  'appender.console.layout.type': 'PatternLayout',
  'appender.console.layout.pattern': '%d{ISO8601} %p %c: %m%n',
  'rootLogger.level': 'INFO',
  'rootLogger.appenderRef.console.ref': 'console',
};
