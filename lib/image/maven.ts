/**
 * Artifacts from Maven Central: one artifact by its coordinates (a release tarball, a JDBC driver),
 * checked against the repository's `.sha1`, and a runtime classpath with its transitive
 * dependencies. Resolution is Maven's own (`mvn dependency:list` with a pinned plugin on a
 * generated POM): parent POMs, imported BOMs, exclusions and nearest-wins are Maven's semantics,
 * which a reimplementation would get subtly wrong. Everything lands in $KEELSON_CACHE/maven in
 * Maven's repository layout, so a second build downloads nothing.
 */
import { execFile } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { inputsKey } from './build';

const run = promisify(execFile);

/** The repository artifacts are fetched from: $KEELSON_MAVEN_REPOSITORY, default Maven Central. */
export function mavenRepository(): string {
  return (process.env.KEELSON_MAVEN_REPOSITORY ?? 'https://repo.maven.apache.org/maven2').replace(/\/$/, '');
}

/** An artifact's coordinates. */
export interface MavenCoordinates {
  readonly groupId: string;
  readonly artifactId: string;
  readonly version: string;
  /** @default 'jar' */
  readonly extension?: string;
  readonly classifier?: string;
}

/** `group:artifact:version[:extension[:classifier]]` → coordinates. */
export function parseMavenCoordinates(text: string): MavenCoordinates {
  const [groupId, artifactId, version, extension, classifier] = text.split(':');
  if (!groupId || !artifactId || version === undefined) {
    throw new Error(
      `image: ${JSON.stringify(text)} is not Maven coordinates (group:artifact:version[:extension[:classifier]])`,
    );
  }
  return { groupId, artifactId, version, extension, classifier };
}

/** The artifact's file name (`zookeeper-3.9.4.jar`, `trino-server-476.tar.gz`). */
export function mavenFileName(c: MavenCoordinates): string {
  return `${c.artifactId}-${c.version}${c.classifier ? `-${c.classifier}` : ''}.${c.extension ?? 'jar'}`;
}

/** The artifact's path in a Maven repository. */
export function mavenArtifactPath(c: MavenCoordinates): string {
  return `${c.groupId.replace(/\./g, '/')}/${c.artifactId}/${c.version}/${mavenFileName(c)}`;
}

async function download(url: string): Promise<Response> {
  const response = await fetch(url);
  if (!response.ok || !response.body)
    throw new Error(`image: GET ${url} answered ${response.status} ${response.statusText}`);
  return response;
}

/**
 * The artifact's file in the cache ($KEELSON_CACHE/maven/<repository path>), downloaded first if
 * missing and checked against the repository's sha1.
 */
export async function fetchMavenArtifact(c: MavenCoordinates, cacheDir: string): Promise<string> {
  const relative = mavenArtifactPath(c);
  const file = path.join(cacheDir, 'maven', relative);
  if (fs.existsSync(file)) return file;
  const url = `${mavenRepository()}/${relative}`;
  const expected = (await (await download(`${url}.sha1`)).text()).trim().split(/\s+/)[0].toLowerCase();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.partial-${process.pid}`;
  const hash = crypto.createHash('sha1');
  try {
    const body = Readable.fromWeb((await download(url)).body as never);
    body.on('data', (chunk: Buffer) => hash.update(chunk));
    await pipeline(body, fs.createWriteStream(temporary));
    const actual = hash.digest('hex');
    if (actual !== expected)
      throw new Error(`image: ${url} has the sha1 ${actual}, the repository says ${expected}`);
    fs.renameSync(temporary, file);
  } finally {
    fs.rmSync(temporary, { force: true });
  }
  return file;
}

/** One artifact of a resolved classpath. */
export interface ResolvedArtifact {
  readonly coordinates: string;
  /** `artifactId-version[-classifier].jar`, the name Maven's assemblies give it. */
  readonly fileName: string;
  /** The file in the cache. */
  readonly file: string;
}

/** Options of {@link resolveMavenClasspath}. */
export interface ResolveOptions {
  /** `group:artifact` pairs left out with everything only they bring in. */
  readonly exclusions?: readonly string[];
  /**
   * POMs whose `dependencyManagement` is imported (a product's parent POM), so that roots may leave
   * their version to it: `{ groupId, artifactId }` of a root with `version: ''` takes the managed one.
   */
  readonly boms?: readonly MavenCoordinates[];
}

/** The maven-dependency-plugin version used to list a classpath. */
export const MAVEN_DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function pom(
  roots: readonly MavenCoordinates[],
  exclusions: readonly string[],
  boms: readonly MavenCoordinates[],
): string {
  const exclusionXml = exclusions
    .map((e) => {
      const [groupId, artifactId] = e.split(':');
      return `<exclusion><groupId>${escapeXml(groupId)}</groupId><artifactId>${escapeXml(artifactId)}</artifactId></exclusion>`;
    })
    .join('');
  const dependencies = roots
    .map(
      (c) =>
        `<dependency><groupId>${escapeXml(c.groupId)}</groupId><artifactId>${escapeXml(c.artifactId)}</artifactId>` +
        `${c.version ? `<version>${escapeXml(c.version)}</version>` : ''}${c.classifier ? `<classifier>${escapeXml(c.classifier)}</classifier>` : ''}` +
        `${c.extension && c.extension !== 'jar' ? `<type>${escapeXml(c.extension)}</type>` : ''}` +
        `<exclusions>${exclusionXml}</exclusions></dependency>`,
    )
    .join('\n    ');
  return `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.keelson.image</groupId>
  <artifactId>classpath</artifactId>
  <version>0</version>
  <packaging>pom</packaging>
  <dependencyManagement>
    <dependencies>
      ${boms
        .map(
          (b) =>
            `<dependency><groupId>${escapeXml(b.groupId)}</groupId><artifactId>${escapeXml(b.artifactId)}</artifactId>` +
            `<version>${escapeXml(b.version)}</version><type>pom</type><scope>import</scope></dependency>`,
        )
        .join('\n      ')}
    </dependencies>
  </dependencyManagement>
  <dependencies>
    ${dependencies}
  </dependencies>
</project>
`;
}

/**
 * The runtime classpath of `roots` (compile and runtime scope, optional dependencies left out), in
 * a stable order, resolved once per distinct input and remembered in the cache.
 */
export async function resolveMavenClasspath(
  roots: readonly MavenCoordinates[],
  cacheDir: string,
  options: ResolveOptions = {},
): Promise<ResolvedArtifact[]> {
  const exclusions = [...(options.exclusions ?? [])].sort();
  const boms = options.boms ?? [];
  const key = inputsKey({ roots, exclusions, boms, plugin: MAVEN_DEPENDENCY_PLUGIN });
  const repository = path.join(cacheDir, 'maven');
  const record = path.join(cacheDir, 'maven-classpaths', `${key}.json`);
  if (fs.existsSync(record)) {
    const artifacts = JSON.parse(fs.readFileSync(record, 'utf8')) as {
      coordinates: string;
      fileName: string;
      relative: string;
    }[];
    const resolved = artifacts.map((a) => ({
      coordinates: a.coordinates,
      fileName: a.fileName,
      file: path.join(repository, a.relative),
    }));
    if (resolved.every((a) => fs.existsSync(a.file))) return resolved;
  }
  const work = fs.mkdtempSync(path.join(cacheDir, 'maven-classpaths-work-'));
  try {
    fs.writeFileSync(path.join(work, 'pom.xml'), pom(roots, exclusions, boms));
    const listing = path.join(work, 'classpath.txt');
    try {
      await run(
        'mvn',
        [
          '-B',
          '-q',
          `-Dmaven.repo.local=${repository}`,
          `${MAVEN_DEPENDENCY_PLUGIN}:list`,
          '-DincludeScope=runtime',
          '-DoutputAbsoluteArtifactFilename=true',
          '-DexcludeTransitive=false',
          `-DoutputFile=${listing}`,
        ],
        { cwd: work, maxBuffer: 64 << 20 },
      );
    } catch (error) {
      const output = `${(error as { stdout?: string }).stdout ?? ''}${(error as { stderr?: string }).stderr ?? String(error)}`;
      throw new Error(
        `image: Maven could not resolve ${roots.map(mavenFileName).join(', ')}:\n${output.slice(-4000)}`,
      );
    }
    const artifacts: { coordinates: string; fileName: string; relative: string }[] = [];
    for (const line of fs.readFileSync(listing, 'utf8').split('\n')) {
      // group:artifact:type[:classifier]:version:scope:/abs/path[ -- module …]
      const match =
        /^\s+([^\s:]+):([^\s:]+):([^\s:]+)(?::([^\s:]+))?:([^\s:]+):(compile|runtime):(\/\S+)/.exec(line);
      if (!match) continue;
      const [, groupId, artifactId, type, classifier, version, , file] = match;
      const coordinates: MavenCoordinates = { groupId, artifactId, version, extension: type, classifier };
      artifacts.push({
        coordinates: `${groupId}:${artifactId}:${version}${classifier ? `:${type}:${classifier}` : ''}`,
        fileName: mavenFileName(coordinates),
        relative: path.relative(repository, file),
      });
    }
    if (artifacts.length === 0)
      throw new Error(`image: Maven listed no artifacts for ${roots.map(mavenFileName).join(', ')}`);
    artifacts.sort((a, b) => (a.fileName < b.fileName ? -1 : a.fileName > b.fileName ? 1 : 0));
    fs.mkdirSync(path.dirname(record), { recursive: true });
    fs.writeFileSync(record, JSON.stringify(artifacts, null, 1));
    return artifacts.map((a) => ({
      coordinates: a.coordinates,
      fileName: a.fileName,
      file: path.join(repository, a.relative),
    }));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
