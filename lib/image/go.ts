/**
 * Go programs built for images. No release download is reachable, so every Go program keelson
 * ships is compiled here, in one of two forms:
 *
 * - a released main package (OPA's server, `GoProgram`): a small wrapper module of keelson's own
 *   requires the release and `go get` resolves it through the module proxy (GOPROXY as the
 *   environment sets it);
 * - a module of keelson's own in its repository (the log agent, `GoModuleSource`): its `go.mod`
 *   and `go.sum` pin every dependency, and it is built where it lies.
 *
 * Both are linked the same way (`goBuild`): a static binary (CGO_ENABLED=0, or cgo linked
 * statically for a program that needs C, such as SQLite), trimmed paths, no symbol table. The
 * binary is kept under `$KEELSON_CACHE/go/` and built only when missing; Go's own build cache makes
 * a rebuild with another link step quick. Its folder is keyed by what the binary is a function of
 * (a module's files; a release's module, package and build options), so a change is never served an
 * old binary.
 */
import { execFile } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LayerBuildContext, LayerRecipe } from './build';

/** How a Go binary is linked, beside the defaults every build has. */
interface GoLinkOptions {
  /** `-X` settings and other linker flags beside `-s -w`. @default none */
  readonly ldflags?: string;
  /** `go build -tags`. @default none */
  readonly tags?: readonly string[];
  /**
   * Compile with cgo (a program whose storage is SQLite), linked statically against the build
   * host's C library so the binary needs none in the image. @default false (CGO_ENABLED=0)
   */
  readonly cgo?: boolean;
}

/** A Go program to build from a module release. */
export interface GoProgram extends GoLinkOptions {
  /** The binary's name (`opa`). */
  readonly name: string;
  /** The module that holds it (`github.com/open-policy-agent/opa`). */
  readonly module: string;
  /** The release (`v1.22.3`). */
  readonly version: string;
  /** The main package. @default the module's root */
  readonly package?: string;
  /**
   * `replace` directives of the release's own go.mod, repeated in the wrapper module: `go get`
   * ignores a dependency's replacements, and a release that builds only with them fails without.
   * @default none
   */
  readonly replace?: Readonly<Record<string, string>>;
}

/** A main package of keelson's own: a module folder (go.mod, go.sum, its .go files) in keelson's repository. */
export interface GoModuleSource extends GoLinkOptions {
  /** The binary's name (`keelson-log-agent`). */
  readonly name: string;
  /** The module's folder. */
  readonly dir: string;
  /** The version of what it builds, for the cache folder's name (`0.165.0`). */
  readonly version: string;
}

function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(command, [...args], { cwd, env, maxBuffer: 64 * 1024 * 1024 }, (error, _stdout, stderr) =>
      error
        ? reject(new Error(`image: ${command} ${args.join(' ')} failed: ${stderr || error.message}`))
        : resolve(),
    );
  });
}

/** The environment of every Go step: static binaries, the machine's own toolchain, go.mod may be completed. */
function goEnv(cgo = false): NodeJS.ProcessEnv {
  return {
    ...process.env,
    CGO_ENABLED: cgo ? '1' : '0',
    GOTOOLCHAIN: process.env.GOTOOLCHAIN ?? 'local',
    GOFLAGS: '-mod=mod',
  };
}

/**
 * Links `pkg` (in the module at `cwd`) into `binary`. The binary appears whole or not at all: it is
 * written beside and renamed, so a build that fails or runs twice at once leaves no half file.
 */
async function goBuild(cwd: string, pkg: string, binary: string, link: GoLinkOptions): Promise<void> {
  fs.mkdirSync(path.dirname(binary), { recursive: true });
  const tmp = `${binary}.${process.pid}.tmp`;
  await run(
    'go',
    [
      'build',
      '-trimpath',
      ...(link.tags?.length ? ['-tags', link.tags.join(',')] : []),
      '-ldflags',
      `-s -w ${link.cgo ? "-linkmode external -extldflags '-static' " : ''}${link.ldflags ?? ''}`.trim(),
      '-o',
      tmp,
      pkg,
    ],
    cwd,
    goEnv(link.cgo),
  );
  fs.renameSync(tmp, binary);
}

/** The start of the sha256 of what `program`'s binary is a function of: module, package and how it is built. */
function goProgramKey(program: GoProgram): string {
  const { module, package: pkg, ldflags, tags, cgo, replace } = program;
  return crypto
    .createHash('sha256')
    .update(JSON.stringify({ module, pkg, ldflags, tags, cgo, replace }))
    .digest('hex')
    .slice(0, 12);
}

/**
 * Where `program`'s binary is kept in the cache: keyed like a module of keelson's own, so a changed
 * build option (`ldflags`, `replace`, `cgo`) builds a new binary instead of serving the old one.
 */
export function goProgramPath(program: GoProgram, cacheDir: string): string {
  return path.join(
    cacheDir,
    'go',
    `${program.name}-${program.version}-${goProgramKey(program)}`,
    program.name,
  );
}

/** Builds `program` unless its binary is in the cache already; returns the binary's path. */
export async function buildGoProgram(program: GoProgram, context: LayerBuildContext): Promise<string> {
  const binary = goProgramPath(program, context.cacheDir);
  if (fs.existsSync(binary)) return binary;
  const dir = path.join(context.workDir, `go-${program.name}`);
  fs.mkdirSync(dir, { recursive: true });
  const replace = Object.entries(program.replace ?? {}).map(([from, to]) => `replace ${from} => ${to}\n`);
  fs.writeFileSync(
    path.join(dir, 'go.mod'),
    `module keelson.image/${program.name}\n\ngo 1.22\n${replace.join('')}`,
  );
  const pkg = program.package ?? program.module;
  context.log(`  building ${pkg}@${program.version} with go (minutes on 2 cores when Go's cache is cold)`);
  await run('go', ['get', `${pkg}@${program.version}`], dir, goEnv(program.cgo));
  await goBuild(dir, pkg, binary, program);
  return binary;
}

/** The files that make a module of keelson's own: go.mod, go.sum and its .go files, sorted. */
function moduleFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f === 'go.mod' || f === 'go.sum' || f.endsWith('.go'))
    .sort();
}

/** The start of the sha256 of a module's files (names and contents): what its binary is a function of. */
export function goModuleKey(source: GoModuleSource): string {
  const hash = crypto.createHash('sha256');
  for (const file of moduleFiles(source.dir)) {
    hash.update(`${file}\0`);
    hash.update(fs.readFileSync(path.join(source.dir, file)));
  }
  return hash.digest('hex').slice(0, 12);
}

/** Where the binary of a module of keelson's own is kept in the cache. */
export function goModulePath(source: GoModuleSource, cacheDir: string): string {
  return path.join(cacheDir, 'go', `${source.name}-${source.version}-${goModuleKey(source)}`, source.name);
}

/** Builds `source` unless its binary is in the cache already; returns the binary's path. */
export async function buildGoModule(source: GoModuleSource, context: LayerBuildContext): Promise<string> {
  const binary = goModulePath(source, context.cacheDir);
  if (fs.existsSync(binary)) return binary;
  context.log(
    `  building ${source.name} ${source.version} with go (minutes on 2 cores when Go's cache is cold)`,
  );
  await goBuild(source.dir, '.', binary, source);
  return binary;
}

/** A layer holding the binary `build` returns at `destination`, owned by root, executable by everyone. */
function goBinaryLayer(
  description: string,
  inputs: () => unknown,
  destination: string,
  build: (context: LayerBuildContext) => Promise<string>,
): LayerRecipe {
  return {
    description,
    inputs: () => ({ inputs: inputs(), destination }),
    build: async (tree, context) => {
      tree.addHostFile(destination, await build(context), { mode: 0o755 });
    },
  };
}

/** A layer holding `program`'s binary at `destination`. */
export function goProgramLayer(program: GoProgram, destination: string): LayerRecipe {
  return goBinaryLayer(
    `${program.name} ${program.version} built from the Go module proxy`,
    () => program,
    destination,
    (context) => buildGoProgram(program, context),
  );
}

/** A layer holding the binary of a module of keelson's own at `destination`. */
export function goModuleLayer(source: GoModuleSource, destination: string, description: string): LayerRecipe {
  return goBinaryLayer(
    description,
    () => ({
      name: source.name,
      version: source.version,
      key: goModuleKey(source),
      link: [source.ldflags, source.tags],
    }),
    destination,
    (context) => buildGoModule(source, context),
  );
}
