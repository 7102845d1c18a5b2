/**
 * The AOT cache of keelson's Trino image (JDK 24+, JEPs 483 and 515): the server's classes loaded,
 * linked and profiled by a training start at build time, so that each start of a pod maps them
 * instead of reading ~15,000 classes from jars. On the 2-core test machine a coordinator with the
 * JMX agent started in 12 CPU-seconds instead of 21 with the cache (first JIT tier; 25 instead of
 * 42 with both tiers).
 *
 * The JVM uses a cache only when the application class path is the one of the training run, in
 * the same order. Trino's launcher passes `lib/*`, which the JVM expands in directory order: that
 * order is the node's filesystem's, not the image's. So the image keeps the server's jars in
 * `lib/server/` and puts one jar in `lib/`, whose manifest's `Class-Path` names them in a fixed
 * order. A cache that does not fit (another JDK, a jar added to `lib/`) is logged by the JVM and
 * left unused; Trino starts as without it.
 */
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { FileTree } from '../../lib/image';

/** Where the image keeps the server's jars (upstream has them in `lib/`). */
export const SERVER_JARS_DIR = 'lib/server';
/** The server jars' folder as the class-path jar in `lib/` names it. */
const SERVER_JARS_FROM_LIB = SERVER_JARS_DIR.slice('lib/'.length);
/** Trino's home as a path of the image's tree (no leading slash). */
const treePath = (home: string) => home.replace(/^\//, '');
/** The one jar in `lib/`: its manifest names the server's jars. */
export const CLASS_PATH_JAR = 'lib/keelson-class-path.jar';
/** The AOT cache, relative to Trino's home. */
export const AOT_CACHE_FILE = 'keelson.aot';

const run = promisify(execFile);
const TRAINING_TIMEOUT_MS = 10 * 60_000;

/** A jar name of upstream's `lib/` moved to `lib/server/`; other paths as they are. */
export function serverJarPath(home: string, imagePath: string): string {
  const lib = `${treePath(home)}/lib/`;
  if (!imagePath.startsWith(lib)) return imagePath;
  const name = imagePath.slice(lib.length);
  return !name.includes('/') && name.endsWith('.jar') ? `${lib}${SERVER_JARS_FROM_LIB}/${name}` : imagePath;
}

/**
 * A jar manifest whose `Class-Path` lists `jars` (paths relative to the manifest's jar) in the
 * given order, wrapped as the JAR specification asks: lines of at most 72 bytes, each continuation
 * starting with one space.
 */
export function classPathManifest(jars: readonly string[]): string {
  const header = `Class-Path: ${jars.join(' ')}`;
  const lines: string[] = [];
  let rest = Buffer.from(header);
  let width = 72;
  while (rest.length > 0) {
    lines.push(`${lines.length === 0 ? '' : ' '}${rest.subarray(0, width).toString()}`);
    rest = rest.subarray(width);
    width = 71;
  }
  return ['Manifest-Version: 1.0', 'Created-By: keelson', ...lines, '', ''].join('\n');
}

/** The server's jars under `home/lib/server/`, by name in byte order (the class path's order). */
export function serverJars(tree: FileTree, home: string): string[] {
  const dir = `${treePath(home)}/${SERVER_JARS_DIR}/`;
  return tree
    .sortedEntries()
    .filter(
      (e) => e.path.startsWith(dir) && !e.path.slice(dir.length).includes('/') && e.path.endsWith('.jar'),
    )
    .map((e) => e.path.slice(dir.length));
}

/** Writes the class-path jar with the JDK's `jar` tool, with fixed entry times (the same bytes each build). */
export async function writeClassPathJar(jdk: string, jars: readonly string[], out: string): Promise<void> {
  const manifest = `${out}.MF`;
  fs.writeFileSync(manifest, classPathManifest(jars.map((j) => `${SERVER_JARS_FROM_LIB}/${j}`)));
  await run(path.join(jdk, 'bin/jar'), [
    '--create',
    '--date=1980-01-01T00:00:02Z',
    '--file',
    out,
    '--manifest',
    manifest,
  ]);
}

/** Where a server laid out as in the image is, and what it starts with. */
export interface ServerLayout {
  /** The JDK the image carries (the cache fits only that JVM build). */
  readonly jdk: string;
  /** Trino's home in the image (`/usr/lib/trino`). */
  readonly home: string;
  /** The JMX exporter agent on the host, and where the image has it (pods start with it). */
  readonly agent: { readonly hostPath: string; readonly imagePath: string };
  /** The JVM arguments pods start with that change what the cache holds (modules, agents). */
  readonly jvmArguments: readonly string[];
  /** The scratch root the image's paths are laid out under. */
  readonly root: string;
}

/**
 * Lays out the server's jars, the tpch plugin and the JMX agent of `tree` under `layout.root` at
 * their image paths, with the image's file times (the epoch): the JVM checks each class-path jar's
 * size and time against the cache, and takes a cache made under another root when the paths below
 * it are the image's.
 */
export function layOutServer(tree: FileTree, layout: ServerLayout): void {
  const homeRel = treePath(layout.home);
  const place = (imagePath: string, write: (dest: string) => void) => {
    const dest = path.join(layout.root, imagePath);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    write(dest);
    fs.utimesSync(dest, 0, 0);
  };
  for (const entry of tree.sortedEntries()) {
    const inLib = entry.path.startsWith(`${homeRel}/lib/`);
    const inTpch = entry.path.startsWith(`${homeRel}/plugin/tpch/`);
    if ((!inLib && !inTpch) || entry.type !== 'file' || !entry.content) continue;
    const content = entry.content;
    place(entry.path, (dest) =>
      'hostPath' in content ? fs.copyFileSync(content.hostPath, dest) : fs.writeFileSync(dest, content.data),
    );
  }
  place(treePath(layout.agent.imagePath), (dest) => fs.copyFileSync(layout.agent.hostPath, dest));
}

/** A server started by {@link startServer}. */
export interface StartedServer {
  readonly pid: number;
  /** Its HTTP address on loopback. */
  readonly url: string;
  /** Resolves once it logged `SERVER STARTED`; rejects if it exits first. */
  readonly started: Promise<void>;
  /** Stops it (SIGTERM, as the kubelet does) and resolves with its exit code. */
  stop(): Promise<number | null>;
  /** Kills it at once if it still runs (SIGKILL). */
  kill(): void;
  /** The end of its output. */
  output(): string;
}

/**
 * Starts the server laid out by {@link layOutServer} as a single node with the tpch catalog, in
 * `workDir` (its data directory and working directory, as the launcher makes it), with the JMX
 * agent and `extraArguments` after the layout's JVM arguments.
 */
export async function startServer(
  layout: ServerLayout,
  workDir: string,
  extraArguments: readonly string[] = [],
): Promise<StartedServer> {
  const homeRel = treePath(layout.home);
  const port = await freePort();
  const agentPort = await freePort();
  const etc = path.join(workDir, 'etc');
  const data = path.join(workDir, 'data');
  fs.mkdirSync(path.join(etc, 'catalog'), { recursive: true });
  fs.mkdirSync(data, { recursive: true });
  fs.writeFileSync(
    path.join(etc, 'config.properties'),
    [
      'coordinator=true',
      'node-scheduler.include-coordinator=true',
      `http-server.http.port=${port}`,
      `discovery.uri=http://127.0.0.1:${port}`,
      `plugin.dir=${path.join(layout.root, homeRel, 'plugin')}`,
      `catalog.config-dir=${path.join(etc, 'catalog')}`,
      '',
    ].join('\n'),
  );
  fs.writeFileSync(path.join(etc, 'catalog/tpch.properties'), 'connector.name=tpch\n');
  fs.writeFileSync(path.join(etc, 'exporter.yaml'), 'rules:\n  - pattern: ".*"\n');
  const args = [
    ...layout.jvmArguments,
    '-Xmx1G',
    ...extraArguments,
    `-javaagent:${path.join(layout.root, layout.agent.imagePath)}=${agentPort}:${path.join(etc, 'exporter.yaml')}`,
    '-cp',
    path.join(layout.root, homeRel, CLASS_PATH_JAR),
    `-Dconfig=${path.join(etc, 'config.properties')}`,
    '-Dnode.environment=keelson_aot',
    `-Dnode.data-dir=${data}`,
    '-Dnode.id=keelson-aot',
    'io.trino.server.TrinoServer',
  ];
  // Trino writes its HTTP request log under the working directory.
  const child = spawn(path.join(layout.jdk, 'bin/java'), args, {
    cwd: data,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const started = new Promise<void>((resolve, reject) => {
    const watch = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-20_000);
      if (output.includes('SERVER STARTED')) resolve();
    };
    child.stdout.on('data', watch);
    child.stderr.on('data', watch);
    void exited.then((code) => reject(new Error(`Trino exited (${code}) before it started`)));
  });
  started.catch(() => undefined); // a caller that only stops it need not await the start
  return {
    pid: child.pid!,
    url: `http://127.0.0.1:${port}`,
    started,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
    output: () => output,
  };
}

/**
 * Starts the server laid out by {@link layOutServer} once, runs one query, stops it and returns
 * the AOT cache the JVM wrote at exit (in `workDir`).
 */
export async function trainAotCache(
  layout: ServerLayout,
  options: { readonly workDir: string; readonly log: (message: string) => void },
): Promise<string> {
  const cache = path.join(options.workDir, AOT_CACHE_FILE);
  const begun = Date.now();
  const server = await startServer(layout, path.join(options.workDir, 'training'), [
    `-XX:AOTCacheOutput=${cache}`,
  ]);
  const fail = (why: string) =>
    new Error(`image: Trino's AOT training start ${why}; its last output:\n${server.output().slice(-4000)}`);
  const deadline = setTimeout(() => server.kill(), TRAINING_TIMEOUT_MS);
  try {
    await server.started.catch((error: Error) => {
      throw fail(error.message);
    });
    // The query path's classes (planner, operators, the tpch connector's pages) go into the cache too.
    await runQueryOnceNodeActive(server.url, 'SELECT count(*) FROM tpch.tiny.nation');
    const code = await server.stop();
    if (!fs.existsSync(cache)) throw fail(`ended (${code}) without writing ${AOT_CACHE_FILE}`);
  } finally {
    clearTimeout(deadline);
    server.kill();
  }
  options.log(
    `  Trino AOT cache: ${(fs.statSync(cache).size / 2 ** 20).toFixed(0)} MiB, trained in ${((Date.now() - begun) / 1000).toFixed(1)} s`,
  );
  return cache;
}

/**
 * Runs `sql` (runQuery), tried again every second for up to a minute while Trino answers "No nodes
 * available": the server says SERVER STARTED before it has announced itself to its own discovery,
 * and a cold build on a loaded machine asked in that gap and failed.
 */
async function runQueryOnceNodeActive(server: string, sql: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await runQuery(server, sql);
    } catch (error) {
      if (attempt >= 60 || !/No nodes available/.test((error as Error).message)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

/** Runs `sql` through Trino's client protocol, following `nextUri` to the end; fails on a query error. */
async function runQuery(server: string, sql: string): Promise<void> {
  type Page = { nextUri?: string; error?: { message: string } };
  const headers = { 'X-Trino-User': 'keelson' };
  let response = await fetch(`${server}/v1/statement`, { method: 'POST', headers, body: sql });
  for (;;) {
    const page = (await response.json()) as Page;
    if (page.error) throw new Error(`image: Trino's AOT training query failed: ${page.error.message}`);
    if (!page.nextUri) return;
    response = await fetch(page.nextUri, { headers });
  }
}

/** A TCP port on loopback that nothing listens on now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
