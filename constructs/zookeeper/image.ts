/**
 * The ZooKeeper image keelson references (`docker.io/library/zookeeper:<version>`), built from
 * ZooKeeper's jars on Maven Central on keelson's Debian 12 + OpenJDK 17 base, in the layout of the
 * Docker Official Image (github.com/31z4/zookeeper-docker): the distribution in
 * `/apache-zookeeper-<version>-bin` with its `lib/` and `bin/` (on the PATH), config in
 * `ZOOCFGDIR=/conf`, data in `/data` and `/datalog`, logs in `/logs`, user `zookeeper` 1000:1000.
 * ZooKeeper's release tarball (with its `bin/*.sh` scripts) is not on Maven Central; `bin/` holds
 * keelson's own small `zkServer.sh` (start-foreground) and `zkCli.sh`, and keelson's pods start
 * `java` themselves (see README.md for every difference from upstream).
 */
import {
  accountsLayer,
  jre17BaseLayer,
  JAVA_17_HOME,
  parseMavenCoordinates,
  recipeForVersion,
  resolveMavenClasspath,
  type ImageRecipe,
  type LayerRecipe,
  type ProductImages,
} from '../../lib/image';
import { renderLogbackXml } from '../../lib';
import { ZOOKEEPER, ZOOKEEPER_SERVER_MAIN, zookeeperDistDir } from './zookeeper';

/** The image's own account (upstream's `zookeeper` user and group). */
export const ZOOKEEPER_IMAGE_ACCOUNT = { name: 'zookeeper', uid: 1000, gid: 1000 } as const;

/**
 * The versions keelson builds an image for. Each takes `org.apache.zookeeper:zookeeper` and
 * `zookeeper-prometheus-metrics` of that version, with the libraries the release tarball adds
 * (logback, Jetty for the admin server and metrics, jline, commons-cli, Jackson, metrics-core,
 * snappy) at the versions ZooKeeper's parent POM of that release manages.
 */
export const ZOOKEEPER_IMAGE_VERSIONS: Readonly<Record<string, { readonly parentPom: string }>> = {
  '3.9.3': { parentPom: 'org.apache.zookeeper:parent:3.9.3' },
  '3.9.4': { parentPom: 'org.apache.zookeeper:parent:3.9.4' },
};

/** Libraries the release tarball ships that ZooKeeper's POM declares `provided` or optional. */
const TARBALL_EXTRAS = [
  'ch.qos.logback:logback-classic:',
  'org.eclipse.jetty:jetty-server:',
  'org.eclipse.jetty:jetty-servlet:',
  'org.eclipse.jetty:jetty-client:',
  'commons-cli:commons-cli:',
  'com.fasterxml.jackson.core:jackson-databind:',
  'jline:jline:',
  'io.dropwizard.metrics:metrics-core:',
  'org.xerial.snappy:snappy-java:',
];

/** Native-library jars for platforms other than linux x86-64, which an amd64 image never loads. */
function isOtherPlatformJar(fileName: string): boolean {
  return /-(osx|windows)-[a-z0-9_]+\.jar$|-linux-aarch_64\.jar$/.test(fileName);
}

const SERVER_SCRIPT = `#!/bin/bash
# keelson's zkServer.sh: runs a ZooKeeper server in the foreground (the only mode a container
# needs). Config: $ZOOCFGDIR/zoo.cfg (or the file given); JVM flags: $SERVER_JVMFLAGS $JVMFLAGS.
set -eu
case "\${1:-start-foreground}" in
  start-foreground) ;;
  *) echo "usage: zkServer.sh start-foreground [config file]" >&2; exit 2 ;;
esac
home="$(cd "$(dirname "$0")/.." && pwd)"
conf="\${ZOOCFGDIR:-/conf}"
# shellcheck disable=SC2086
exec java \${SERVER_JVMFLAGS:-} \${JVMFLAGS:-} -cp "$home/lib/*:$conf" \\
  ${ZOOKEEPER_SERVER_MAIN} "\${2:-$conf/zoo.cfg}"
`;

const CLI_SCRIPT = `#!/bin/bash
# keelson's zkCli.sh: ZooKeeper's command-line client (zkCli.sh -server host:2181 [command]).
set -eu
home="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck disable=SC2086
exec java \${CLIENT_JVMFLAGS:-} \${JVMFLAGS:-} -cp "$home/lib/*:\${ZOOCFGDIR:-/conf}" \\
  org.apache.zookeeper.ZooKeeperMain "$@"
`;

/** A standalone server's config, for `docker run` of the image without keelson's /conf. */
const STANDALONE_ZOO_CFG = `tickTime=2000
dataDir=/data
dataLogDir=/datalog
clientPort=2181
initLimit=5
syncLimit=2
admin.enableServer=false
`;

function distributionLayer(version: string, parentPom: string): LayerRecipe {
  const roots = [
    `org.apache.zookeeper:zookeeper:${version}`,
    `org.apache.zookeeper:zookeeper-prometheus-metrics:${version}`,
    ...TARBALL_EXTRAS,
  ].map(parseMavenCoordinates);
  const boms = [parseMavenCoordinates(parentPom)];
  const owner = { uid: ZOOKEEPER_IMAGE_ACCOUNT.uid, gid: ZOOKEEPER_IMAGE_ACCOUNT.gid };
  const dist = zookeeperDistDir(version);
  return {
    description: `ZooKeeper ${version} from Maven Central`,
    inputs: async (context) => ({
      jars: (await resolveMavenClasspath(roots, context.cacheDir, { boms })).map((a) => a.coordinates),
      scripts: [SERVER_SCRIPT, CLI_SCRIPT],
      conf: [STANDALONE_ZOO_CFG, renderLogbackXml({})],
    }),
    build: async (tree, context) => {
      const jars = await resolveMavenClasspath(roots, context.cacheDir, { boms });
      tree.addDirectory(dist, owner);
      for (const jar of jars) {
        if (!isOtherPlatformJar(jar.fileName))
          tree.addHostFile(`${dist}/lib/${jar.fileName}`, jar.file, { ...owner, mode: 0o644 });
      }
      tree.addFile(`${dist}/bin/zkServer.sh`, SERVER_SCRIPT, { ...owner, mode: 0o755 });
      tree.addFile(`${dist}/bin/zkCli.sh`, CLI_SCRIPT, { ...owner, mode: 0o755 });
      for (const dir of ['/conf', '/data', '/datalog', '/logs']) tree.addDirectory(dir, owner);
      tree.addFile('/conf/zoo.cfg', STANDALONE_ZOO_CFG, owner);
      tree.addFile('/conf/logback.xml', renderLogbackXml({}), owner);
    },
  };
}

/** The recipe of ZooKeeper `version`'s image, named as keelson's versions table names it. */
export function zookeeperImageRecipe(
  version: string,
  repository = ZOOKEEPER.images!.repository,
): ImageRecipe {
  const { parentPom } = recipeForVersion('ZooKeeper', ZOOKEEPER_IMAGE_VERSIONS, version);
  const dist = zookeeperDistDir(version);
  return {
    reference: `${repository}:${ZOOKEEPER.images!.versions[version] ?? version}`,
    layers: [
      jre17BaseLayer(),
      accountsLayer([ZOOKEEPER_IMAGE_ACCOUNT]),
      distributionLayer(version, parentPom),
    ],
    config: {
      user: `${ZOOKEEPER_IMAGE_ACCOUNT.uid}:${ZOOKEEPER_IMAGE_ACCOUNT.gid}`,
      env: {
        PATH: `/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${dist}/bin`,
        JAVA_HOME: JAVA_17_HOME,
        LANG: 'C.UTF-8',
        ZOO_CONF_DIR: '/conf',
        ZOO_DATA_DIR: '/data',
        ZOO_DATA_LOG_DIR: '/datalog',
        ZOO_LOG_DIR: '/logs',
        ZOOCFGDIR: '/conf',
      },
      workingDir: dist,
      cmd: ['zkServer.sh', 'start-foreground'],
      exposedPorts: [2181, 2888, 3888, 8080],
      volumes: ['/data', '/datalog', '/logs'],
    },
  };
}

/** ZooKeeper's images, for `keelson image build zookeeper <version>`. */
export const ZOOKEEPER_IMAGES: ProductImages = {
  product: 'zookeeper',
  versions: Object.keys(ZOOKEEPER_IMAGE_VERSIONS),
  recipe: (version) => zookeeperImageRecipe(version),
};
