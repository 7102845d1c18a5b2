/**
 * keelson's Hadoop image (`ghcr.io/keelson/hadoop:<version>`) for HDFS, built from Hadoop's jars on
 * Maven Central on keelson's Debian 12 + OpenJDK 17 base. Hadoop's release tarball (with `bin/`,
 * `sbin/` and `libexec/`) is not on Maven Central, so the image is assembled from what is:
 *
 * - `/opt/hadoop/lib/`: `hadoop-hdfs`, `hadoop-hdfs-client` and `hadoop-common` with their runtime
 *   dependencies as Maven resolves them (hadoop-hdfs declares hadoop-common and its client as
 *   `provided`, so all three are roots), less native jars of other platforms, and with Log4j 2 in
 *   place of Log4j 1: Hadoop's POMs bring reload4j and its SLF4J binding, whose layouts cannot
 *   escape JSON, so the image leaves both out and takes Log4j 2's core, its SLF4J 1.7 binding and
 *   its `log4j-1.2-api` bridge for the Log4j 1 classes Hadoop calls itself (the log level servlet,
 *   the metrics logger) — every JVM then writes keelson's structured log file (lib/logging) and
 *   re-reads its config;
 * - `/opt/hadoop/share/hadoop/hdfs/webapps/`: the web UIs' static files. They live in the release's
 *   `share/hadoop/hdfs`, not in any main jar; the `tests` jar of hadoop-hdfs carries the same
 *   `webapps/` tree (MiniDFSCluster serves it), so only that tree is taken out of it. Hadoop's HTTP
 *   server finds it on the classpath and refuses to start the namenode, datanode or journalnode
 *   without it.
 * - `/opt/hadoop/bin/hdfs`: a small script of keelson's own for people in a pod (`hdfs dfs -ls /`,
 *   `hdfs haadmin -getAllServiceState`, `hdfs fsck /`): it runs the subcommand's main class with
 *   `java` on the image's classpath and `$HADOOP_CONF_DIR`. keelson's pods do not use it: they run
 *   `java` themselves, as for every JVM product, so the JVM arguments a pod runs with are exactly
 *   the role group's (heap from memory, overrides) and nothing in the environment adds to them.
 *
 * Accounts: upstream's `hadoop` (1000) owns the files; keelson's pods run as 10001, which gets a
 * passwd entry because Hadoop's login asks the operating system for the user's name and fails
 * without one ("LoginException: invalid null input: name").
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import {
  accountsLayer,
  fetchMavenArtifact,
  IMAGE_CONSOLE_LOG4J2,
  isOtherPlatformJar,
  javaLauncherScript,
  jmxExporterLayer,
  LOG4J1_EXCLUSIONS,
  LOG4J2_VERSION,
  log4j2Roots,
  jre17BaseLayer,
  JAVA_17_HOME,
  parseMavenCoordinates,
  recipeForVersion,
  resolveMavenClasspath,
  type ImageRecipe,
  type LayerRecipe,
  type ProductImages,
} from '../../lib/image';
import { DEFAULT_RUN_AS_USER, renderConfigFile } from '../../lib';
import {
  HADOOP_CLASSPATH,
  HADOOP_HOME,
  HADOOP_LIB,
  HADOOP_WEBAPPS_ROOT,
  HDFS_IMAGE_REPOSITORY,
  HDFS_IMAGE_TAGS,
  HDFS_MAIN_CLASSES,
} from './distribution';

const run = promisify(execFile);

/** The image's own account (upstream's `hadoop`). */
export const HADOOP_IMAGE_ACCOUNT = { name: 'hadoop', uid: 1000, gid: 1000 } as const;
/** The account of the uid keelson's pods run as (see the file's comment for why it must exist). */
export const KEELSON_POD_ACCOUNT = {
  name: 'keelson',
  uid: DEFAULT_RUN_AS_USER,
  gid: DEFAULT_RUN_AS_USER,
} as const;

/** The Hadoop versions keelson builds an image of (the construct's versions table lists the same). */
export const HDFS_IMAGE_VERSIONS: Readonly<Record<string, Record<string, never>>> = { '3.4.2': {} };

/** The config directory of a `docker run` of the image and of the `hdfs` script by default. */
export const IMAGE_CONF_DIR = `${HADOOP_HOME}/etc/hadoop`;

/** The Log4j 2 of the image (the one keelson's Kafka images run), and the Log4j 1 it leaves out. */
export { LOG4J2_VERSION, LOG4J1_EXCLUSIONS, isOtherPlatformJar };

/** The Maven artifacts whose runtime classpath is the image's `lib/`. */
export function hdfsDistributionRoots(version: string): string[] {
  return [
    ...['hadoop-hdfs', 'hadoop-hdfs-client', 'hadoop-common'].map((a) => `org.apache.hadoop:${a}:${version}`),
    ...log4j2Roots(),
  ];
}

/** The hadoop-hdfs `tests` jar, which carries the release's `webapps/` tree. */
export function hdfsWebappsJar(version: string): string {
  return `org.apache.hadoop:hadoop-hdfs:${version}:jar:tests`;
}

/** The `hdfs` script: `hdfs <subcommand> args…` runs the subcommand's main class. */
export function hdfsScript(): string {
  return javaLauncherScript({
    imageName: 'Hadoop',
    command: 'hdfs',
    mainClasses: { ...HDFS_MAIN_CLASSES, version: 'org.apache.hadoop.util.VersionInfo' },
    confDirVariable: 'HADOOP_CONF_DIR',
    imageConfDir: IMAGE_CONF_DIR,
    classpath: HADOOP_CLASSPATH,
    optionsVariable: 'HADOOP_CLIENT_OPTS',
  });
}

function distributionLayer(version: string): LayerRecipe {
  const roots = hdfsDistributionRoots(version).map(parseMavenCoordinates);
  const webapps = parseMavenCoordinates(hdfsWebappsJar(version));
  const owner = { uid: HADOOP_IMAGE_ACCOUNT.uid, gid: HADOOP_IMAGE_ACCOUNT.gid };
  const script = hdfsScript();
  const log4j2 = renderConfigFile('properties', IMAGE_CONSOLE_LOG4J2);
  return {
    description: `Hadoop ${version} (HDFS) from Maven Central`,
    inputs: async (context) => ({
      jars: (await resolveMavenClasspath(roots, context.cacheDir, { exclusions: LOG4J1_EXCLUSIONS })).map(
        (a) => a.coordinates,
      ),
      webapps: hdfsWebappsJar(version),
      // Bumped when the layout below changes.
      layout: 2,
      script,
      log4j2,
    }),
    build: async (tree, context) => {
      const jars = await resolveMavenClasspath(roots, context.cacheDir, { exclusions: LOG4J1_EXCLUSIONS });
      for (const dir of [HADOOP_HOME, HADOOP_LIB, `${HADOOP_HOME}/share`, `${HADOOP_HOME}/share/hadoop`])
        tree.addDirectory(dir, owner);
      for (const jar of jars) {
        if (!isOtherPlatformJar(jar.fileName))
          tree.addHostFile(`${HADOOP_LIB}/${jar.fileName}`, jar.file, { ...owner, mode: 0o644 });
      }
      // Only webapps/ of the tests jar (`jar` comes with the JDK that Maven's resolution needs).
      await run('jar', ['xf', await fetchMavenArtifact(webapps, context.cacheDir), 'webapps/'], {
        cwd: context.workDir,
      });
      tree.addHostDirectory(HADOOP_WEBAPPS_ROOT, path.join(context.workDir), {
        ...owner,
        exclude: (p) => !p.startsWith('webapps'),
      });
      tree.addDirectory(`${HADOOP_HOME}/etc`, owner);
      tree.addDirectory(IMAGE_CONF_DIR, owner);
      tree.addFile(`${IMAGE_CONF_DIR}/log4j2.properties`, log4j2, owner);
      tree.addDirectory(`${HADOOP_HOME}/bin`, owner);
      tree.addFile(`${HADOOP_HOME}/bin/hdfs`, script, { ...owner, mode: 0o755 });
    },
  };
}

/** The recipe of Hadoop `version`'s image, named as keelson's versions table names it. */
export function hdfsImageRecipe(version: string, repository = HDFS_IMAGE_REPOSITORY): ImageRecipe {
  recipeForVersion('Hadoop', HDFS_IMAGE_VERSIONS, version);
  return {
    reference: `${repository}:${HDFS_IMAGE_TAGS[version] ?? version}`,
    layers: [
      jre17BaseLayer(),
      accountsLayer([
        { ...HADOOP_IMAGE_ACCOUNT, home: '/home/hadoop', shell: '/bin/bash' },
        KEELSON_POD_ACCOUNT,
      ]),
      distributionLayer(version),
      jmxExporterLayer(),
    ],
    config: {
      user: `${HADOOP_IMAGE_ACCOUNT.uid}:${HADOOP_IMAGE_ACCOUNT.gid}`,
      env: {
        PATH: `${HADOOP_HOME}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
        JAVA_HOME: JAVA_17_HOME,
        LANG: 'C.UTF-8',
        HADOOP_HOME,
        HADOOP_CONF_DIR: IMAGE_CONF_DIR,
      },
      workingDir: HADOOP_HOME,
      cmd: [`${HADOOP_HOME}/bin/hdfs`, 'version'],
    },
  };
}

/** Hadoop's images, for `keelson image build hdfs <version>`. */
export const HDFS_IMAGES: ProductImages = {
  product: 'hdfs',
  versions: Object.keys(HDFS_IMAGE_VERSIONS),
  recipe: (version) => hdfsImageRecipe(version),
};
