/**
 * keelson's HBase image (`ghcr.io/keelson/hbase:<version>`), built from HBase's jars on Maven Central
 * on keelson's Debian 12 + OpenJDK 17 base. HBase's release tarball (with `bin/hbase` and its
 * scripts) is not on Maven Central, so the image is assembled from what is:
 *
 * - `/opt/hbase/lib/`: the runtime classpath of HBase's server modules, built against Hadoop 3 (the
 *   `-hadoop3` artifacts), and of `hbase-rest`, as Maven resolves them, with Log4j 2 and without
 *   Log4j 1 as in keelson's Hadoop image. Maven Central has `hbase-rest` only as the Hadoop 2 build
 *   of 2.6.1, so the image takes that jar and lets every other module — the `-hadoop3` ones, named
 *   first, so they win Maven's nearest-first choice — and Hadoop 3's client come from the
 *   `-hadoop3` modules; the build fails if any Hadoop 2 artifact or other HBase build slipped in.
 *   The web UIs' static files (`hbase-webapps/`) are inside the server and REST jars.
 * - `/opt/hbase/bin/hbase`: keelson's own script for people in a pod (`hbase version`,
 *   `hbase regionmover -r <host>:16020 -o unload`, `hbase hbck`): the subcommand's main class run
 *   with `java` on the image's classpath and `$HBASE_CONF_DIR`. keelson's pods run `java`
 *   themselves, as for every JVM product.
 *
 * Accounts: `hbase` (1000) owns the files; keelson's pods run as 10001, which gets a passwd entry
 * because Hadoop's login (which HBase uses) asks the operating system for the user's name.
 */
import {
  accountsLayer,
  IMAGE_CONSOLE_LOG4J2,
  isOtherPlatformJar,
  javaLauncherScript,
  jmxExporterLayer,
  jre17BaseLayer,
  JAVA_17_HOME,
  LOG4J1_EXCLUSIONS,
  log4j2Roots,
  parseMavenCoordinates,
  recipeForVersion,
  resolveMavenClasspath,
  type ImageRecipe,
  type LayerRecipe,
  type ProductImages,
} from '../../lib/image';
import { DEFAULT_RUN_AS_USER, renderConfigFile } from '../../lib';
import {
  HBASE_CLASSPATH,
  HBASE_HOME,
  HBASE_IMAGE_CONF_DIR,
  HBASE_IMAGE_REPOSITORY,
  HBASE_IMAGE_TAGS,
  HBASE_JAVA17_OPTIONS,
  HBASE_LIB,
  HBASE_MAIN_CLASSES,
} from './distribution';

/** The image's own account. */
export const HBASE_IMAGE_ACCOUNT = { name: 'hbase', uid: 1000, gid: 1000 } as const;
/** The account of the uid keelson's pods run as (Hadoop's login needs its name). */
export const HBASE_POD_ACCOUNT = {
  name: 'keelson',
  uid: DEFAULT_RUN_AS_USER,
  gid: DEFAULT_RUN_AS_USER,
} as const;

/** What one HBase version's image is made of. */
export interface HbaseImageVersion {
  /** The version of `hbase-rest` on Maven Central (which has no `-hadoop3` build of it). */
  readonly rest: string;
}

/** The HBase versions keelson builds an image of (the construct's versions table lists the same). */
export const HBASE_IMAGE_VERSIONS: Readonly<Record<string, HbaseImageVersion>> = {
  '2.6.1': { rest: '2.6.1' },
};

/** The config directory of a `docker run` of the image and of the `hbase` script by default. */
export const IMAGE_CONF_DIR = HBASE_IMAGE_CONF_DIR;

/** HBase's modules the image takes at their `-hadoop3` build (what hbase-server and hbase-rest use). */
const HADOOP3_MODULES = [
  'hbase-server',
  'hbase-client',
  'hbase-common',
  'hbase-zookeeper',
  'hbase-http',
  'hbase-protocol',
  'hbase-hadoop-compat',
  'hbase-hadoop2-compat',
  'hbase-mapreduce',
];

/** The Maven artifacts whose runtime classpath is the image's `lib/`, in the order that decides. */
export function hbaseDistributionRoots(version: string): string[] {
  const { rest } = recipeForVersion('HBase', HBASE_IMAGE_VERSIONS, version);
  return [
    ...HADOOP3_MODULES.map((a) => `org.apache.hbase:${a}:${version}-hadoop3`),
    `org.apache.hbase:hbase-rest:${rest}`,
    ...log4j2Roots(),
  ];
}

/**
 * Problems of a resolved classpath (`group:artifact:version` each): an HBase module other than
 * hbase-rest not at `<version>-hadoop3`, or a Hadoop 2 artifact (which hbase-rest's own POM asks for).
 */
export function hbaseClasspathProblems(version: string, coordinates: readonly string[]): string[] {
  const { rest } = recipeForVersion('HBase', HBASE_IMAGE_VERSIONS, version);
  return coordinates.flatMap((c) => {
    const [group, artifact, v] = c.split(':');
    if (group === 'org.apache.hbase') {
      const wanted = artifact === 'hbase-rest' ? rest : `${version}-hadoop3`;
      return v === wanted ? [] : [`${c}: expected ${group}:${artifact}:${wanted}`];
    }
    if (group === 'org.apache.hadoop' && /^2\./.test(v)) return [`${c}: a Hadoop 2 artifact`];
    return [];
  });
}

/** The `hbase` script: `hbase <subcommand> args…` runs the subcommand's main class. */
export function hbaseScript(): string {
  return javaLauncherScript({
    imageName: 'HBase',
    command: 'hbase',
    mainClasses: HBASE_MAIN_CLASSES,
    confDirVariable: 'HBASE_CONF_DIR',
    imageConfDir: IMAGE_CONF_DIR,
    classpath: HBASE_CLASSPATH,
    optionsVariable: 'HBASE_CLIENT_OPTS',
    fixedOptions: HBASE_JAVA17_OPTIONS,
  });
}

function distributionLayer(version: string): LayerRecipe {
  const roots = hbaseDistributionRoots(version).map(parseMavenCoordinates);
  const owner = { uid: HBASE_IMAGE_ACCOUNT.uid, gid: HBASE_IMAGE_ACCOUNT.gid };
  const script = hbaseScript();
  const log4j2 = renderConfigFile('properties', IMAGE_CONSOLE_LOG4J2);
  const resolve = async (cacheDir: string) => {
    const jars = await resolveMavenClasspath(roots, cacheDir, { exclusions: LOG4J1_EXCLUSIONS });
    const problems = hbaseClasspathProblems(
      version,
      jars.map((j) => j.coordinates),
    );
    if (problems.length > 0)
      throw new Error(`image: HBase ${version}'s classpath mixes builds:\n  ${problems.join('\n  ')}`);
    return jars;
  };
  return {
    description: `HBase ${version} (Hadoop 3 build) from Maven Central`,
    inputs: async (context) => ({
      jars: (await resolve(context.cacheDir)).map((a) => a.coordinates),
      // Bumped when the layout below changes.
      layout: 1,
      script,
      log4j2,
    }),
    build: async (tree, context) => {
      for (const dir of [HBASE_HOME, HBASE_LIB, IMAGE_CONF_DIR, `${HBASE_HOME}/bin`])
        tree.addDirectory(dir, owner);
      for (const jar of await resolve(context.cacheDir)) {
        if (!isOtherPlatformJar(jar.fileName))
          tree.addHostFile(`${HBASE_LIB}/${jar.fileName}`, jar.file, { ...owner, mode: 0o644 });
      }
      tree.addFile(`${IMAGE_CONF_DIR}/log4j2.properties`, log4j2, owner);
      tree.addFile(`${HBASE_HOME}/bin/hbase`, script, { ...owner, mode: 0o755 });
    },
  };
}

/** The recipe of HBase `version`'s image, named as keelson's versions table names it. */
export function hbaseImageRecipe(version: string, repository = HBASE_IMAGE_REPOSITORY): ImageRecipe {
  recipeForVersion('HBase', HBASE_IMAGE_VERSIONS, version);
  return {
    reference: `${repository}:${HBASE_IMAGE_TAGS[version] ?? version}`,
    layers: [
      jre17BaseLayer(),
      accountsLayer([{ ...HBASE_IMAGE_ACCOUNT, home: '/home/hbase', shell: '/bin/bash' }, HBASE_POD_ACCOUNT]),
      distributionLayer(version),
      jmxExporterLayer(),
    ],
    config: {
      user: `${HBASE_IMAGE_ACCOUNT.uid}:${HBASE_IMAGE_ACCOUNT.gid}`,
      env: {
        PATH: `${HBASE_HOME}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
        JAVA_HOME: JAVA_17_HOME,
        LANG: 'C.UTF-8',
        HBASE_HOME,
        HBASE_CONF_DIR: IMAGE_CONF_DIR,
      },
      workingDir: HBASE_HOME,
      cmd: [`${HBASE_HOME}/bin/hbase`, 'version'],
    },
  };
}

/** HBase's images, for `keelson image build hbase <version>`. */
export const HBASE_IMAGES: ProductImages = {
  product: 'hbase',
  versions: Object.keys(HBASE_IMAGE_VERSIONS),
  recipe: (version) => hbaseImageRecipe(version),
};
