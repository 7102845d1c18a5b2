/**
 * The Kafka image keelson references (`ghcr.io/keelson/kafka:<version>`), built from Kafka's jars
 * on Maven Central on keelson's Debian 12 + OpenJDK 17 base, in the layout of the upstream image
 * (docker/jvm/Dockerfile in the Kafka repository, checked for 3.8–4.1): Kafka in `/opt/kafka` with
 * its jars in `libs/` and config in `config/`, data in `/var/lib/kafka/data`, user `appuser`
 * 1000:1000 with bash. Kafka's release tarball (with `bin/*.sh`) is not on Maven Central and
 * keelson's pods start `java` themselves, so the image has no `bin/`; it adds the Prometheus JMX
 * exporter agent keelson's pods serve their metrics with (see README.md for every difference).
 */
import {
  accountsLayer,
  jmxExporterLayer,
  jre17BaseLayer,
  JAVA_17_HOME,
  parseMavenCoordinates,
  recipeForVersion,
  resolveMavenClasspath,
  type ImageRecipe,
  type LayerRecipe,
  type ProductImages,
} from '../../lib/image';
import { renderConfigFile } from '../../lib';
import { KAFKA, KAFKA_LIBS, KAFKA_MAIN_CLASSES } from './kafka';

/** The Log4j 2 of every image: the one Kafka 4.0 and 4.1 depend on. */
const LOG4J2_VERSION = '2.24.3';
/** Log4j 2 in place of Log4j 1 for Kafka 3: the core, the SLF4J 1.7 binding, the Log4j 1 bridge. */
const LOG4J2_FOR_KAFKA_3 = ['log4j-core', 'log4j-slf4j-impl', 'log4j-1.2-api'].map(
  (artifact) => `org.apache.logging.log4j:${artifact}:${LOG4J2_VERSION}`,
);
/** Log4j 1 (reload4j) and its SLF4J binding, which Kafka 3's POMs bring. */
const LOG4J1 = ['ch.qos.reload4j:reload4j', 'org.slf4j:slf4j-reload4j'];

/**
 * OPA's authorizer plugin (`org.openpolicyagent.kafka.OpaAuthorizer`, what
 * `clusterConfig.authorization.opa` turns on), from Maven Central. Its jar is not shaded: it
 * brings Guava (its POM's one runtime dependency, for its decision cache) and uses the Scala
 * library, scala-logging and Jackson of Kafka's own classpath. Maven's nearest-wins keeps Kafka's
 * versions of those where both name one.
 */
export const OPA_AUTHORIZER = 'org.openpolicyagent.kafka:opa-authorizer:1.5.1';
/**
 * Jackson's Scala module, which the OPA plugin registers to write its request: Kafka 3's POMs
 * bring it, Kafka 4's no longer do, so Kafka 4's images add it at the version of the
 * `jackson-databind` that Kafka depends on.
 */
const jacksonScala = (jackson: string) => `com.fasterxml.jackson.module:jackson-module-scala_2.13:${jackson}`;

/** The image's own account (upstream's `appuser`). */
export const KAFKA_IMAGE_ACCOUNT = { name: 'appuser', uid: 1000, gid: 1000 } as const;

/**
 * The versions keelson builds an image for. Each takes `kafka_2.13`, `kafka-tools` and
 * `kafka-storage` of that version with their runtime dependencies, and every version logs through
 * Log4j 2, so that all of them write keelson's structured file (lib/logging) and re-read their
 * config. Kafka 4 logs through Log4j 2 but its POMs name no SLF4J binding (the release tarball
 * ships `log4j-slf4j-impl`), so its images add the binding at the version of the `log4j-core`
 * Kafka depends on. Kafka 3's POMs bring Log4j 1 (reload4j, whose layouts cannot escape JSON) with
 * its SLF4J binding: its images leave both out and take Log4j 2 with the same binding, and Log4j's
 * `log4j-1.2-api` bridge for the Log4j 1 classes Kafka 3 calls itself (`kafka.utils.Log4jController`,
 * behind the `BROKER_LOGGER` configs of the Admin API). Every image also carries OPA's authorizer
 * plugin ({@link OPA_AUTHORIZER}).
 */
export const KAFKA_IMAGE_VERSIONS: Readonly<
  Record<string, { readonly extras: readonly string[]; readonly exclusions?: readonly string[] }>
> = {
  '3.8.1': { extras: [...LOG4J2_FOR_KAFKA_3, OPA_AUTHORIZER], exclusions: LOG4J1 },
  '3.9.1': { extras: [...LOG4J2_FOR_KAFKA_3, OPA_AUTHORIZER], exclusions: LOG4J1 },
  '4.0.0': {
    extras: [
      `org.apache.logging.log4j:log4j-slf4j-impl:${LOG4J2_VERSION}`,
      OPA_AUTHORIZER,
      jacksonScala('2.16.2'),
    ],
  },
  '4.1.0': {
    extras: [
      `org.apache.logging.log4j:log4j-slf4j-impl:${LOG4J2_VERSION}`,
      OPA_AUTHORIZER,
      jacksonScala('2.19.0'),
    ],
  },
};

/** Native-library jars for platforms other than linux x86-64, which an amd64 image never loads. */
function isOtherPlatformJar(fileName: string): boolean {
  return /-(osx|windows)-[a-z0-9_]+\.jar$|-linux-aarch_64\.jar$/.test(fileName);
}

/**
 * A single-node (combined broker and controller) config for `docker run` of the image without
 * keelson: the image's default command formats it once and starts Kafka on it.
 */
const STANDALONE_CONFIG = {
  'process.roles': 'broker,controller',
  'node.id': '1',
  'controller.quorum.voters': '1@localhost:9093',
  listeners: 'PLAINTEXT://:9092,CONTROLLER://:9093',
  'advertised.listeners': 'PLAINTEXT://localhost:9092',
  'controller.listener.names': 'CONTROLLER',
  'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
  'log.dirs': '/var/lib/kafka/data',
  'offsets.topic.replication.factor': '1',
  'transaction.state.log.replication.factor': '1',
  'transaction.state.log.min.isr': '1',
};

/** Console logging for `docker run` of the image (Log4j 2, in every version). */
const STANDALONE_LOG4J2 = {
  'appender.console.type': 'Console',
  'appender.console.name': 'console',
  'appender.console.layout.type': 'PatternLayout',
  'appender.console.layout.pattern': '[%d] %p %m (%c)%n',
  'rootLogger.level': 'INFO',
  'rootLogger.appenderRef.console.ref': 'console',
};

/** The image's default command (keelson's pods run their own): a standalone node on the config above. */
function standaloneScript(): string {
  const log4j = '-Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties';
  return `#!/bin/bash
# keelson's Kafka image: a single combined broker and controller on /opt/kafka/config/server.properties.
set -eu
cp="${KAFKA_LIBS}/*"
java ${log4j} -cp "$cp" ${KAFKA_MAIN_CLASSES.storageTool} format --ignore-formatted \\
  -t "$(java -cp "$cp" ${KAFKA_MAIN_CLASSES.storageTool} random-uuid)" -c /opt/kafka/config/server.properties
exec java \${KAFKA_HEAP_OPTS:--Xmx1g} ${log4j} -cp "$cp" ${KAFKA_MAIN_CLASSES.server} /opt/kafka/config/server.properties
`;
}

/** The Maven artifacts whose classpath is a Kafka version's `/opt/kafka/libs`. */
function distributionRoots(version: string, extras: readonly string[]) {
  return [
    `org.apache.kafka:kafka_2.13:${version}`,
    `org.apache.kafka:kafka-tools:${version}`,
    `org.apache.kafka:kafka-storage:${version}`,
    ...extras,
  ].map(parseMavenCoordinates);
}

/**
 * The jars of the image's `/opt/kafka/libs` for `version`, as files in keelson's cache (resolved
 * from Maven Central once): Kafka's own tools run with them outside any container.
 */
export async function kafkaDistributionJars(version: string, cacheDir: string): Promise<string[]> {
  const { extras, exclusions = [] } = recipeForVersion('Kafka', KAFKA_IMAGE_VERSIONS, version);
  const jars = await resolveMavenClasspath(distributionRoots(version, extras), cacheDir, { exclusions });
  return jars.filter((jar) => !isOtherPlatformJar(jar.fileName)).map((jar) => jar.file);
}

function distributionLayer(
  version: string,
  extras: readonly string[],
  exclusions: readonly string[],
): LayerRecipe {
  const roots = distributionRoots(version, extras);
  const owner = { uid: KAFKA_IMAGE_ACCOUNT.uid, gid: KAFKA_IMAGE_ACCOUNT.gid };
  const files = {
    'server.properties': renderConfigFile('properties', STANDALONE_CONFIG),
    'log4j2.properties': renderConfigFile('properties', STANDALONE_LOG4J2),
  };
  const script = standaloneScript();
  return {
    description: `Kafka ${version} from Maven Central`,
    inputs: async (context) => ({
      jars: (await resolveMavenClasspath(roots, context.cacheDir, { exclusions })).map((a) => a.coordinates),
      // Bumped when the layout below changes.
      layout: 4,
      files,
      script,
    }),
    build: async (tree, context) => {
      const jars = await resolveMavenClasspath(roots, context.cacheDir, { exclusions });
      tree.addDirectory('/opt/kafka', owner);
      tree.addDirectory(KAFKA_LIBS, owner);
      tree.addDirectory('/opt/kafka/config', owner);
      for (const jar of jars) {
        if (!isOtherPlatformJar(jar.fileName))
          tree.addHostFile(`${KAFKA_LIBS}/${jar.fileName}`, jar.file, { ...owner, mode: 0o644 });
      }
      for (const [name, text] of Object.entries(files))
        tree.addFile(`/opt/kafka/config/${name}`, text, owner);
      tree.addFile('/etc/kafka/docker/run', script, { mode: 0o755 });
      // As upstream: data and secrets owned by appuser with group root, the rest by appuser.
      for (const dir of ['/var/lib/kafka/data', '/etc/kafka/secrets'])
        tree.addDirectory(dir, { uid: KAFKA_IMAGE_ACCOUNT.uid, gid: 0, mode: 0o775 });
      for (const dir of ['/usr/logs', '/mnt/shared/config']) tree.addDirectory(dir, owner);
    },
  };
}

/** The recipe of Kafka `version`'s image, named as keelson's versions table names it. */
export function kafkaImageRecipe(version: string, repository = KAFKA.images!.repository): ImageRecipe {
  const { extras, exclusions = [] } = recipeForVersion('Kafka', KAFKA_IMAGE_VERSIONS, version);
  return {
    reference: `${repository}:${KAFKA.images!.versions[version] ?? version}`,
    layers: [
      jre17BaseLayer(),
      accountsLayer([{ ...KAFKA_IMAGE_ACCOUNT, home: '/home/appuser', shell: '/bin/bash' }]),
      distributionLayer(version, extras, exclusions),
      jmxExporterLayer(),
    ],
    config: {
      user: `${KAFKA_IMAGE_ACCOUNT.uid}:${KAFKA_IMAGE_ACCOUNT.gid}`,
      env: {
        PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        JAVA_HOME: JAVA_17_HOME,
        LANG: 'C.UTF-8',
      },
      workingDir: '/',
      cmd: ['/etc/kafka/docker/run'],
      exposedPorts: [9092],
      volumes: ['/etc/kafka/secrets', '/var/lib/kafka/data', '/mnt/shared/config'],
    },
  };
}

/** Kafka's images, for `keelson image build kafka <version>`. */
export const KAFKA_IMAGES: ProductImages = {
  product: 'kafka',
  versions: Object.keys(KAFKA_IMAGE_VERSIONS),
  recipe: (version) => kafkaImageRecipe(version),
};
