/**
 * Programs built from the Go module proxy for an image (OPA's server). No release download is
 * reachable, so the program is compiled here: a small wrapper module of keelson's own requires the
 * release, `go get` resolves it through the proxy (GOPROXY as the environment sets it), and
 * `go build` links a static binary (CGO_ENABLED=0). The binary is kept under
 * `$KEELSON_CACHE/go/<name>-<version>/` and built only when missing; Go's own build cache makes a
 * rebuild with another link step quick.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LayerBuildContext, LayerRecipe } from './build';

/** A Go program to build from a module release. */
export interface GoProgram {
  /** The binary's name (`opa`). */
  readonly name: string;
  /** The module that holds it (`github.com/open-policy-agent/opa`). */
  readonly module: string;
  /** The release (`v1.22.3`). */
  readonly version: string;
  /** The main package. @default the module's root */
  readonly package?: string;
  /** `-X` settings and other linker flags beside `-s -w`. @default none */
  readonly ldflags?: string;
  /** `go build -tags`. @default none */
  readonly tags?: readonly string[];
  /**
   * `replace` directives of the release's own go.mod, repeated in the wrapper module: `go get`
   * ignores a dependency's replacements, and a release that builds only with them fails without.
   * @default none
   */
  readonly replace?: Readonly<Record<string, string>>;
  /**
   * Compile with cgo (a program whose storage is SQLite), linked statically against the build
   * host's C library so the binary needs none in the image. @default false (CGO_ENABLED=0)
   */
  readonly cgo?: boolean;
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

/** Where `program`'s binary is kept in the cache. */
export function goProgramPath(program: GoProgram, cacheDir: string): string {
  return path.join(cacheDir, 'go', `${program.name}-${program.version}`, program.name);
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
  const env = {
    ...process.env,
    CGO_ENABLED: program.cgo ? '1' : '0',
    GOTOOLCHAIN: process.env.GOTOOLCHAIN ?? 'local',
    GOFLAGS: '-mod=mod',
  };
  const pkg = program.package ?? program.module;
  context.log(`  building ${pkg}@${program.version} with go (minutes on 2 cores when Go's cache is cold)`);
  await run('go', ['get', `${pkg}@${program.version}`], dir, env);
  fs.mkdirSync(path.dirname(binary), { recursive: true });
  const tmp = `${binary}.${process.pid}.tmp`;
  await run(
    'go',
    [
      'build',
      '-trimpath',
      ...(program.tags?.length ? ['-tags', program.tags.join(',')] : []),
      '-ldflags',
      `-s -w ${program.cgo ? "-linkmode external -extldflags '-static' " : ''}${program.ldflags ?? ''}`.trim(),
      '-o',
      tmp,
      pkg,
    ],
    dir,
    env,
  );
  fs.renameSync(tmp, binary);
  return binary;
}

/** A layer holding `program`'s binary at `destination`, owned by root, executable by everyone. */
export function goProgramLayer(program: GoProgram, destination: string): LayerRecipe {
  return {
    description: `${program.name} ${program.version} built from the Go module proxy`,
    inputs: () => ({ ...program, destination }),
    build: async (tree, context) => {
      tree.addHostFile(destination, await buildGoProgram(program, context), { mode: 0o755 });
    },
  };
}
