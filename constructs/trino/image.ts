/**
 * The Trino image keelson references (`docker.io/trinodb/trino:<version>`), built from Trino's
 * server tarball on Maven Central (`io.trino:trino-server:<version>:tar.gz`) in the layout of the
 * upstream image (core/docker in the Trino repository): the server in `/usr/lib/trino` with
 * `bin/launcher`, a default single-node config in `/etc/trino`, data in `/data/trino`, the CLI as
 * `/usr/bin/trino`, user `trino` 1000:1000, `bin/run-trino` as the command and `bin/health-check`.
 *
 * Trino 455 and later need a newer Java than Debian 12 packages: the image carries the JDK 25 of
 * the building machine (`/usr/lib/jvm/temurin-25-jdk-amd64`, copied into its own layer). The base
 * is Debian 12 with bash, curl (the workers' preStop hook and health-check use it) and less.
 * README.md lists every difference from upstream.
 */
import { createReadStream } from 'node:fs';
import * as path from 'node:path';
import { posix } from 'node:path';
import { createGunzip } from 'node:zlib';
import {
  accountsLayer,
  debianLayer,
  fetchMavenArtifact,
  hostJdkFingerprint,
  hostJdkLayer,
  jmxExporterLayer,
  mavenFileName,
  parseMavenCoordinates,
  recipeForVersion,
  type FileTree,
  type ImageRecipe,
  type LayerBuildContext,
  type LayerRecipe,
  type ProductImages,
} from '../../lib/image';
import {
  DEFAULT_RUN_AS_USER,
  JMX_EXPORTER_AGENT,
  JMX_EXPORTER_COORDINATES,
  renderProperties,
} from '../../lib';
import {
  AOT_CACHE_FILE,
  CLASS_PATH_JAR,
  layOutServer,
  serverJarPath,
  serverJars,
  trainAotCache,
  writeClassPathJar,
  type ServerLayout,
} from './aot-cache';
import { TRINO, TRINO_HTTP_PORT, TRINO_JVM_ARGUMENTS } from './trino';

/** The image's own account (upstream's `trino` user and group). */
export const TRINO_IMAGE_ACCOUNT = {
  name: 'trino',
  uid: 1000,
  gid: 1000,
  home: '/home/trino',
  shell: '/bin/bash',
};

/**
 * The account of the uid keelson's pods run as (10001), which upstream's image lacks: Java and
 * Hadoop's login (used by the hive and iceberg connectors' libraries) ask the system for the
 * user's name, and a uid without a passwd entry has none.
 */
export const TRINO_POD_ACCOUNT = { name: 'keelson', uid: DEFAULT_RUN_AS_USER, gid: DEFAULT_RUN_AS_USER };

/** Where the JDK is on the building machine, and where the image has it. */
export const TRINO_HOST_JDK = '/usr/lib/jvm/temurin-25-jdk-amd64';
export const TRINO_JAVA_HOME = '/usr/lib/jvm/temurin-25-jdk-amd64';

export const TRINO_HOME = '/usr/lib/trino';
export const TRINO_ETC = '/etc/trino';
export const TRINO_DATA = '/data/trino';

/**
 * The versions keelson has an image recipe for: the server tarball of that version, and the CLI
 * (`io.trino:trino-cli:<v>:jar:executable`) of `cli` (the repository this was written against
 * serves the CLI of 476 only; a newer CLI talks to older servers).
 */
export const TRINO_IMAGE_VERSIONS: Readonly<Record<string, { readonly cli: string }>> = {
  '470': { cli: '476' },
  '476': { cli: '476' },
};

/** The Debian packages of the base: a shell userland, curl and less (the upstream image has both). */
export const TRINO_BASE_PACKAGES = [
  'base-files',
  'bash',
  'ca-certificates',
  'coreutils',
  'curl',
  'dash',
  'debianutils',
  'findutils',
  'grep',
  'gzip',
  'hostname',
  'less',
  'libc-bin',
  'procps',
  'sed',
  'tar',
  'usr-is-merged',
] as const;

/**
 * keelson's `run-trino`: Trino in the foreground with the config in /etc/trino, the node named
 * after the host unless node.properties names it (what upstream's script does).
 */
export const RUN_TRINO_SCRIPT = `#!/bin/bash
# keelson's run-trino: runs Trino in the foreground with the config in ${TRINO_ETC}.
set -euo pipefail
args=(--etc-dir "${TRINO_ETC}")
if ! grep -qs '^node.id' "${TRINO_ETC}/node.properties"; then
  args+=("-Dnode.id=\${HOSTNAME}")
fi
exec "${TRINO_HOME}/bin/launcher" run "\${args[@]}" "$@"
`;

/** keelson's `health-check`: healthy once the server answers and has finished starting. */
export const HEALTH_CHECK_SCRIPT = `#!/bin/bash
# keelson's health-check: exits 0 when the local server answers /v1/info and is no longer starting.
set -euo pipefail
port=$(sed -n 's/^http-server\\.http\\.port=//p' "${TRINO_ETC}/config.properties" 2>/dev/null | tail -n 1)
curl -sf "http://localhost:\${port:-${TRINO_HTTP_PORT}}/v1/info" | grep -q '"starting":false'
`;

/** The default config of /etc/trino: a single node that is coordinator and worker (as upstream's). */
export const DEFAULT_ETC: Readonly<Record<string, string>> = {
  'config.properties': renderProperties({
    coordinator: 'true',
    'node-scheduler.include-coordinator': 'true',
    'http-server.http.port': String(TRINO_HTTP_PORT),
    'discovery.uri': `http://localhost:${TRINO_HTTP_PORT}`,
  }),
  'node.properties': renderProperties({ 'node.environment': 'docker', 'node.data-dir': TRINO_DATA }),
  'log.properties': renderProperties({ 'io.trino': 'INFO' }),
  'jvm.config': [
    '-XX:InitialRAMPercentage=80',
    '-XX:MaxRAMPercentage=80',
    '-XX:G1HeapRegionSize=32M',
    '-XX:+ExplicitGCInvokesConcurrent',
    '-XX:+HeapDumpOnOutOfMemoryError',
    '-XX:+ExitOnOutOfMemoryError',
    '-XX:-OmitStackTraceInFastThrow',
    '-XX:ReservedCodeCacheSize=256M',
    '-XX:PerMethodRecompilationCutoff=10000',
    '-XX:PerBytecodeRecompilationCutoff=10000',
    '-Djdk.attach.allowAttachSelf=true',
    '-Djdk.nio.maxCachedBufferSize=2000000',
    '',
  ].join('\n'),
  'catalog/jmx.properties': renderProperties({ 'connector.name': 'jmx' }),
  'catalog/memory.properties': renderProperties({ 'connector.name': 'memory' }),
  'catalog/tpcds.properties': renderProperties({ 'connector.name': 'tpcds', 'tpcds.splits-per-node': '4' }),
  'catalog/tpch.properties': renderProperties({ 'connector.name': 'tpch', 'tpch.splits-per-node': '4' }),
};

/** Launchers of other platforms, which an amd64 image never runs (upstream removes them too). */
export function isOtherPlatformLauncher(imagePath: string): boolean {
  return /^usr\/lib\/trino\/bin\/(darwin-[^/]+|linux-(arm64|ppc64le))(\/|$)/.test(imagePath);
}

/**
 * Trino's tarball holds each jar its plugins share once, the other copies as hard links (5,713 of
 * them in 476); written as copies they make a 3.3 GiB layer of an 0.8 GiB tarball. Every copy
 * after the first becomes a relative symlink to it (the JVM loads a jar through a symlink alike).
 */
export function linkDuplicates(tree: FileTree, owner: { uid: number; gid: number }): number {
  const first = new Map<string, string>();
  let linked = 0;
  for (const entry of tree.sortedEntries()) {
    if (entry.type !== 'file' || !entry.content || !('hostPath' in entry.content)) continue;
    const original = first.get(entry.content.hostPath);
    if (original === undefined) {
      first.set(entry.content.hostPath, entry.path);
    } else {
      tree.addSymlink(entry.path, posix.relative(posix.dirname(entry.path), original), owner);
      linked += 1;
    }
  }
  return linked;
}

function baseLayer(): LayerRecipe {
  return debianLayer({
    description: 'Debian 12 with bash, curl and less',
    packages: [...TRINO_BASE_PACKAGES],
    finish: (tree) => {
      // The CLI is an executable jar that starts `java` from the PATH; the image's PATH has it.
      tree.addSymlink('usr/bin/java', `${TRINO_JAVA_HOME}/bin/java`);
    },
  });
}

/**
 * Trino `version`'s server tarball into `tree` at `/usr/lib/trino`, with the jars of `lib/` in
 * `lib/server/` behind one class-path jar (aot-cache.ts says why).
 */
export async function unpackTrinoServer(
  version: string,
  tree: FileTree,
  context: Pick<LayerBuildContext, 'cacheDir' | 'workDir' | 'log'>,
): Promise<void> {
  const server = parseMavenCoordinates(`io.trino:trino-server:${version}:tar.gz`);
  const owner = { uid: TRINO_IMAGE_ACCOUNT.uid, gid: TRINO_IMAGE_ACCOUNT.gid };
  const tarball = await fetchMavenArtifact(server, context.cacheDir);
  context.log(`  unpacking ${mavenFileName(server)}`);
  await tree.addTar(createReadStream(tarball).pipe(createGunzip()), {
    stripComponents: 1,
    prefix: TRINO_HOME,
    ownership: owner,
    exclude: isOtherPlatformLauncher,
    rename: (p) => serverJarPath(TRINO_HOME, p),
  });
  const classPathJar = path.join(context.workDir, 'keelson-class-path.jar');
  await writeClassPathJar(TRINO_HOST_JDK, serverJars(tree, TRINO_HOME), classPathJar);
  tree.addHostFile(`${TRINO_HOME}/${CLASS_PATH_JAR}`, classPathJar, { ...owner, mode: 0o644 });
}

/** How keelson's image runs the server (its JDK, home, JMX agent, JVM arguments), laid out under `root`. */
export async function trinoServerLayout(root: string, cacheDir: string): Promise<ServerLayout> {
  return {
    jdk: TRINO_HOST_JDK,
    home: TRINO_HOME,
    agent: {
      hostPath: await fetchMavenArtifact(parseMavenCoordinates(JMX_EXPORTER_COORDINATES), cacheDir),
      imagePath: JMX_EXPORTER_AGENT,
    },
    jvmArguments: TRINO_JVM_ARGUMENTS,
    root,
  };
}

function serverLayer(version: string): LayerRecipe {
  const server = parseMavenCoordinates(`io.trino:trino-server:${version}:tar.gz`);
  const owner = { uid: TRINO_IMAGE_ACCOUNT.uid, gid: TRINO_IMAGE_ACCOUNT.gid };
  return {
    description: `Trino ${version} server from Maven Central`,
    inputs: () => ({
      server: mavenFileName(server),
      scripts: [RUN_TRINO_SCRIPT, HEALTH_CHECK_SCRIPT],
      etc: DEFAULT_ETC,
      exclude: 1,
      links: 'symlinks',
      // The AOT cache fits one JVM build, the agent pods start with and their JVM arguments.
      aot: {
        classPathJar: CLASS_PATH_JAR,
        cache: AOT_CACHE_FILE,
        jdk: hostJdkFingerprint(TRINO_HOST_JDK),
        agent: JMX_EXPORTER_COORDINATES,
        jvmArguments: TRINO_JVM_ARGUMENTS,
      },
    }),
    build: async (tree, context) => {
      await unpackTrinoServer(version, tree, context);
      const layout = await trinoServerLayout(path.join(context.workDir, 'aot', 'root'), context.cacheDir);
      layOutServer(tree, layout);
      const cache = await trainAotCache(layout, {
        workDir: path.join(context.workDir, 'aot'),
        log: context.log,
      });
      tree.addHostFile(`${TRINO_HOME}/${AOT_CACHE_FILE}`, cache, { ...owner, mode: 0o644 });
      linkDuplicates(tree, owner);
      if (!tree.has(`${TRINO_HOME}/bin/launcher`) || !tree.has(`${TRINO_HOME}/bin/linux-amd64/launcher`)) {
        throw new Error(
          `image: Trino ${version}'s tarball has no native launcher (bin/linux-amd64/launcher); ` +
            "keelson's image has no Python for the older launcher.py",
        );
      }
      tree.addDirectory(TRINO_HOME, owner);
      tree.addFile(`${TRINO_HOME}/bin/run-trino`, RUN_TRINO_SCRIPT, { ...owner, mode: 0o755 });
      tree.addFile(`${TRINO_HOME}/bin/health-check`, HEALTH_CHECK_SCRIPT, { ...owner, mode: 0o755 });
      tree.addDirectory(TRINO_ETC, owner);
      tree.addDirectory(`${TRINO_ETC}/catalog`, owner);
      for (const [file, text] of Object.entries(DEFAULT_ETC))
        tree.addFile(`${TRINO_ETC}/${file}`, text, owner);
      tree.addDirectory(TRINO_DATA, owner);
    },
  };
}

function cliLayer(cliVersion: string): LayerRecipe {
  const cli = parseMavenCoordinates(`io.trino:trino-cli:${cliVersion}:jar:executable`);
  return {
    description: `Trino CLI ${cliVersion} from Maven Central`,
    inputs: () => ({ cli: mavenFileName(cli) }),
    build: async (tree, context) => {
      tree.addHostFile('usr/bin/trino', await fetchMavenArtifact(cli, context.cacheDir), { mode: 0o755 });
    },
  };
}

/** The recipe of Trino `version`'s image, named as keelson's versions table names it. */
export function trinoImageRecipe(version: string, repository = TRINO.images!.repository): ImageRecipe {
  const { cli } = recipeForVersion('Trino', TRINO_IMAGE_VERSIONS, version);
  return {
    reference: `${repository}:${TRINO.images!.versions[version] ?? version}`,
    layers: [
      baseLayer(),
      hostJdkLayer(TRINO_HOST_JDK, TRINO_JAVA_HOME),
      accountsLayer([TRINO_IMAGE_ACCOUNT, TRINO_POD_ACCOUNT]),
      cliLayer(cli),
      serverLayer(version),
      jmxExporterLayer(),
    ],
    config: {
      user: `${TRINO_IMAGE_ACCOUNT.uid}:${TRINO_IMAGE_ACCOUNT.gid}`,
      env: {
        PATH: `/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${TRINO_JAVA_HOME}/bin`,
        JAVA_HOME: TRINO_JAVA_HOME,
        LANG: 'C.UTF-8',
      },
      cmd: [`${TRINO_HOME}/bin/run-trino`],
      exposedPorts: [TRINO_HTTP_PORT],
    },
  };
}

/** Trino's images, for `keelson image build trino <version>`. */
export const TRINO_IMAGES: ProductImages = {
  product: 'trino',
  versions: Object.keys(TRINO_IMAGE_VERSIONS),
  recipe: (version) => trinoImageRecipe(version),
};
