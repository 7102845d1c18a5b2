/**
 * keelson's Hive metastore image (`ghcr.io/keelson/hive-metastore:<version>`), built from Maven
 * Central on keelson's Debian 12 + OpenJDK 17 base. Upstream's `apache/hive` image carries only
 * Derby's JDBC driver, so it cannot run a metastore on PostgreSQL or MySQL as it is.
 *
 * Layout: `/opt/hive` (`METASTORE_HOME`) holds `lib/` — every jar the metastore and its schema tool
 * run on — and `scripts/` (the schema scripts), both from the standalone metastore's release tarball
 * `org.apache.hive:hive-standalone-metastore-server:<v>:tar.gz:bin`, plus `conf/` from the same
 * tarball for a `docker run` without keelson. Beside the tarball's own jars `lib/` gets:
 * - Hadoop's shaded client (`hadoop-client-api`, `hadoop-client-runtime`): the tarball ships no
 *   Hadoop, and the shaded client keeps Hadoop's own dependencies out of the metastore's way;
 * - `hadoop-hdfs`: the metastore's FileUtils catches `org.apache.hadoop.hdfs.protocol.SnapshotException`
 *   and reads `DFSConfigKeys`, which live there, not in the client (creating a database fails without);
 * - `hadoop-aws` and the AWS SDK bundle of the same Hadoop release, for S3A;
 * - the libraries the metastore uses that Hadoop's unshaded tree would have brought (commons-io,
 *   commons-collections, slf4j-api, servlet-api, gson, httpclient, jettison), at the versions that
 *   Hadoop release uses — found by running the metastore and `jdeps --missing-deps` on its jars;
 * - the JDBC drivers `org.postgresql:postgresql` and `com.mysql:mysql-connector-j`, replacing the
 *   older ones the tarball ships (see README.md for why Connector/J).
 *
 * No `bin/` scripts and no entrypoint of consequence: keelson's pods start `java` themselves.
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import {
  accountsLayer,
  fetchMavenArtifact,
  jmxExporterLayer,
  jre17BaseLayer,
  JAVA_17_HOME,
  mavenFileName,
  parseMavenCoordinates,
  recipeForVersion,
  type ImageRecipe,
  type LayerRecipe,
  type ProductImages,
} from '../../lib/image';
import { DEFAULT_RUN_AS_USER } from '../../lib';
import { HIVE, METASTORE_HOME } from './hive';

/** The image's own account (upstream's `hive` user); keelson's pods run as 10001. */
export const HIVE_IMAGE_ACCOUNT = { name: 'hive', uid: 1000, gid: 1000 } as const;

/**
 * The account of the uid keelson's pods run as. Hadoop's login (UserGroupInformation) asks the
 * operating system for the user's name, and a uid without a passwd entry fails it
 * ("LoginException: invalid null input: name") before HADOOP_USER_NAME is read, so the metastore
 * could not start as 10001 without this entry.
 */
export const KEELSON_POD_ACCOUNT = {
  name: 'keelson',
  uid: DEFAULT_RUN_AS_USER,
  gid: DEFAULT_RUN_AS_USER,
} as const;

/** What one Hive version's image is made of besides the metastore tarball. */
export interface HiveImageVersion {
  /** The Hadoop release the Hive release builds against. */
  readonly hadoop: string;
  /** `com.amazonaws:aws-java-sdk-bundle`'s version that this `hadoop-aws` depends on. */
  readonly awsSdkBundle: string;
  /** Libraries Hadoop's unshaded tree would bring, `group:artifact:version`. */
  readonly hadoopLibraries: readonly string[];
}

/** The versions keelson builds an image for (the versions table of the product lists the same). */
export const HIVE_IMAGE_VERSIONS: Readonly<Record<string, HiveImageVersion>> = {
  '4.0.1': {
    hadoop: '3.3.6',
    awsSdkBundle: '1.12.367',
    hadoopLibraries: [
      'commons-io:commons-io:2.8.0',
      'commons-collections:commons-collections:3.2.2',
      'org.slf4j:slf4j-api:1.7.36',
      'javax.servlet:javax.servlet-api:3.1.0',
      'com.google.code.gson:gson:2.9.0',
      'org.apache.httpcomponents:httpclient:4.5.13',
      'org.codehaus.jettison:jettison:1.5.4',
    ],
  },
};

/** The JDBC drivers every image carries (pinned; the tarball's own are replaced). */
export const HIVE_JDBC_DRIVERS = [
  'org.postgresql:postgresql:42.7.14',
  'com.mysql:mysql-connector-j:8.4.0',
] as const;

/** The standalone metastore's release tarball of `version`. */
export function hiveMetastoreTarball(version: string): string {
  return `org.apache.hive:hive-standalone-metastore-server:${version}:tar.gz:bin`;
}

/** Every jar the image adds to the tarball's `lib/`, `group:artifact:version`. */
export function hiveImageJars(version: string): string[] {
  const v = recipeForVersion('Hive', HIVE_IMAGE_VERSIONS, version);
  return [
    `org.apache.hadoop:hadoop-client-api:${v.hadoop}`,
    `org.apache.hadoop:hadoop-client-runtime:${v.hadoop}`,
    `org.apache.hadoop:hadoop-hdfs:${v.hadoop}`,
    `org.apache.hadoop:hadoop-aws:${v.hadoop}`,
    `com.amazonaws:aws-java-sdk-bundle:${v.awsSdkBundle}`,
    ...v.hadoopLibraries,
    ...HIVE_JDBC_DRIVERS,
  ];
}

/** The tarball's jars the image leaves out: its JDBC drivers, which keelson pins newer. */
export function isReplacedTarballJar(fileName: string): boolean {
  return /^(postgresql|mysql-connector-j|mysql-connector-java)-[^/]*\.jar$/.test(fileName);
}

/** What the image keeps of the tarball (paths inside it): `lib/`, `scripts/` and `conf/`, not `bin/`. */
function keepFromTarball(relative: string): boolean {
  const [top, ...rest] = relative.split('/');
  if (top === 'lib') return rest.length === 0 || !isReplacedTarballJar(rest[rest.length - 1]);
  return top === 'scripts' || top === 'conf';
}

function metastoreLayer(version: string): LayerRecipe {
  const tarball = parseMavenCoordinates(hiveMetastoreTarball(version));
  const jars = hiveImageJars(version).map(parseMavenCoordinates);
  const owner = { uid: HIVE_IMAGE_ACCOUNT.uid, gid: HIVE_IMAGE_ACCOUNT.gid };
  const home = METASTORE_HOME.replace(/^\//, '');
  return {
    description: `Hive standalone metastore ${version} with Hadoop's client, S3A and JDBC drivers, from Maven Central`,
    inputs: () => ({ tarball: hiveMetastoreTarball(version), jars: hiveImageJars(version), home }),
    build: async (tree, context) => {
      const archive = await fetchMavenArtifact(tarball, context.cacheDir);
      tree.addDirectory(home, owner);
      await tree.addTar(fs.createReadStream(archive).pipe(zlib.createGunzip()), {
        stripComponents: 1,
        prefix: home,
        ownership: owner,
        exclude: (p) => !keepFromTarball(p.slice(home.length + 1)),
      });
      for (const jar of jars) {
        const file = await fetchMavenArtifact(jar, context.cacheDir);
        tree.addHostFile(`${home}/lib/${mavenFileName(jar)}`, file, { ...owner, mode: 0o644 });
      }
    },
  };
}

/** The recipe of Hive `version`'s metastore image, named as keelson's versions table names it. */
export function hiveImageRecipe(version: string, repository = HIVE.images!.repository): ImageRecipe {
  recipeForVersion('Hive', HIVE_IMAGE_VERSIONS, version);
  return {
    reference: `${repository}:${HIVE.images!.versions[version] ?? version}`,
    layers: [
      jre17BaseLayer(),
      accountsLayer([HIVE_IMAGE_ACCOUNT, KEELSON_POD_ACCOUNT]),
      metastoreLayer(version),
      jmxExporterLayer(),
    ],
    config: {
      user: `${HIVE_IMAGE_ACCOUNT.uid}:${HIVE_IMAGE_ACCOUNT.gid}`,
      env: {
        PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        JAVA_HOME: JAVA_17_HOME,
        LANG: 'C.UTF-8',
        METASTORE_HOME,
      },
      workingDir: METASTORE_HOME,
      // Without keelson: the tarball's conf/ (embedded Derby); keelson's pods set their own command.
      cmd: [
        'java',
        '-cp',
        `${METASTORE_HOME}/conf:${METASTORE_HOME}/lib/*`,
        'org.apache.hadoop.hive.metastore.HiveMetaStore',
      ],
      exposedPorts: [9083],
    },
  };
}

/** Hive's images, for `keelson image build hive <version>`. */
export const HIVE_IMAGES: ProductImages = {
  product: 'hive',
  versions: Object.keys(HIVE_IMAGE_VERSIONS),
  recipe: (version) => hiveImageRecipe(version),
};
