/**
 * A Debian root filesystem layer from Debian's own packages: apt resolves the packages' dependency
 * closure as if nothing were installed (on the host's apt sources and lists — Debian 12 bookworm on
 * keelson's machines), downloads the `.deb`s with apt's signature checks into the cache, and the
 * contents of each (`dpkg-deb --fsys-tarfile`) go into the layer with the owners and modes Debian
 * gave them. Maintainer scripts are not run; what they would have done that an image needs is
 * done here (accounts, `ld.so` search path — glibc's built-in one covers the multiarch folders,
 * the CA bundle and Java trust store of `ca-certificates`: see trust-store.ts).
 * Like `debian:bookworm-slim`, documentation, man pages and translations are left out (copyright
 * files stay).
 */
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { FileTree } from './file-tree';
import { inputsKey, type LayerBuildContext, type LayerRecipe } from './build';
import { addCaTrustStores, TRUST_STORE_FORMAT } from './trust-store';

const run = promisify(execFile);

/** A `.deb` apt chose: its file name (package_version_arch.deb), size and apt's checksum. */
export interface ResolvedDebianPackage {
  readonly file: string;
  readonly size: number;
  readonly checksum: string;
}

/** Paths a slim image leaves out, as debian:bookworm-slim's dpkg excludes do. */
export function isSlimExcluded(p: string): boolean {
  if (/^usr\/share\/doc\/[^/]+\/copyright$/.test(p)) return false;
  return /^usr\/share\/(doc|man|info|locale|lintian|linda|groff)(\/|$)/.test(p);
}

function aptOptions(statusFile: string, archives: string): string[] {
  return [
    '-o',
    `Dir::State::status=${statusFile}`,
    '-o',
    `Dir::Cache::archives=${archives}`,
    '-o',
    'Debug::NoLocking=1',
    '-o',
    'APT::Install-Recommends=false',
    '-o',
    'APT::Install-Suggests=false',
  ];
}

/** What apt resolves against: the name, size and mtime of each file of its package lists. */
function aptListsState(): string[] {
  const lists = '/var/lib/apt/lists';
  if (!fs.existsSync(lists)) return [];
  return fs
    .readdirSync(lists)
    .sort()
    .map((name) => {
      const stat = fs.statSync(path.join(lists, name));
      return stat.isFile() ? `${name}:${stat.size}:${stat.mtimeMs}` : '';
    })
    .filter(Boolean);
}

/**
 * The `.deb`s that installing `packages` on an empty system takes, sorted by file name.
 * Remembered in the cache until apt's package lists change (`apt-get update`).
 * Throws apt's own message when a package is unknown (run `apt-get update` first).
 */
export async function resolveDebianPackages(
  packages: readonly string[],
  workDir: string,
  cacheDir: string,
): Promise<ResolvedDebianPackage[]> {
  const record = path.join(
    cacheDir,
    'debian',
    'resolved',
    `${inputsKey({ packages: [...packages].sort(), lists: aptListsState() })}.json`,
  );
  if (fs.existsSync(record)) return JSON.parse(fs.readFileSync(record, 'utf8')) as ResolvedDebianPackage[];
  const resolved = await resolveWithApt(packages, workDir);
  fs.mkdirSync(path.dirname(record), { recursive: true });
  fs.writeFileSync(record, JSON.stringify(resolved, null, 1));
  return resolved;
}

async function resolveWithApt(
  packages: readonly string[],
  workDir: string,
): Promise<ResolvedDebianPackage[]> {
  const status = path.join(workDir, 'dpkg-status');
  const emptyArchives = path.join(workDir, 'apt-resolve');
  fs.mkdirSync(path.join(emptyArchives, 'partial'), { recursive: true });
  fs.writeFileSync(status, '');
  let stdout: string;
  try {
    ({ stdout } = await run(
      'apt-get',
      ['-qq', ...aptOptions(status, emptyArchives), '--print-uris', 'install', ...packages],
      { maxBuffer: 16 << 20 },
    ));
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? String(error);
    throw new Error(
      `image: apt cannot resolve the Debian packages ${packages.join(' ')} (run 'apt-get update' once if it says a package is unknown):\n${stderr}`,
    );
  }
  const resolved = stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line): ResolvedDebianPackage => {
      const [, file, size, checksum] = line.split(' ');
      return { file, size: Number(size), checksum };
    });
  return resolved.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

/** Downloads the packages (apt checks them against the signed archive index) into `archives`. */
async function downloadDebianPackages(
  packages: readonly string[],
  workDir: string,
  archives: string,
): Promise<void> {
  const status = path.join(workDir, 'dpkg-status');
  fs.mkdirSync(path.join(archives, 'partial'), { recursive: true });
  fs.writeFileSync(status, '');
  await run(
    'apt-get',
    ['-qq', '-y', ...aptOptions(status, archives), '--download-only', 'install', ...packages],
    {
      maxBuffer: 16 << 20,
    },
  );
}

/** Adds the files of one `.deb` to the tree. */
export async function addDebianPackage(
  tree: FileTree,
  debFile: string,
  exclude: (p: string) => boolean,
): Promise<void> {
  const child = spawn('dpkg-deb', ['--fsys-tarfile', debFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1)));
  await tree.addTar(child.stdout, { exclude });
  const code = await exited;
  if (code !== 0) throw new Error(`image: dpkg-deb could not read ${debFile}: ${stderr}`);
}

/** Options of {@link debianLayer}. */
export interface DebianLayerOptions {
  /** What the layer is, for logs and the image history. */
  readonly description: string;
  /** Packages to install with their dependencies (not their recommendations). */
  readonly packages: readonly string[];
  /** Changes after the packages are in (what maintainer scripts would have done). */
  readonly finish?: (tree: FileTree) => void;
  /** Part of the inputs when `finish` changes: bump it to rebuild. @default 1 */
  readonly finishVersion?: number;
}

/** The accounts of a minimal image: root and nobody (Debian's ids). */
export const BASE_ACCOUNTS = {
  passwd: ['root:x:0:0:root:/root:/bin/bash', 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin'],
  group: ['root:x:0:', 'nogroup:x:65534:'],
} as const;

/** A layer holding `packages` and their dependencies, from Debian's archive. */
export function debianLayer(options: DebianLayerOptions): LayerRecipe {
  let resolved: ResolvedDebianPackage[] | undefined;
  return {
    description: options.description,
    inputs: async (context: LayerBuildContext) => {
      resolved = await resolveDebianPackages(options.packages, context.workDir, context.cacheDir);
      return {
        packages: [...options.packages].sort(),
        resolved,
        slim: 1,
        finish: options.finishVersion ?? 1,
        // Only layers with Debian's CA certificates get trust stores (and rebuild when they change).
        trustStores: resolved.some((p) => p.file.startsWith('ca-certificates_'))
          ? TRUST_STORE_FORMAT
          : undefined,
      };
    },
    build: async (tree, context) => {
      const packages =
        resolved ?? (await resolveDebianPackages(options.packages, context.workDir, context.cacheDir));
      const archives = path.join(context.cacheDir, 'debian', 'archives');
      const missing = packages.filter((p) => !fs.existsSync(path.join(archives, p.file)));
      if (missing.length > 0) {
        context.log(`  downloading ${missing.length} Debian packages`);
        await downloadDebianPackages(options.packages, context.workDir, archives);
      }
      for (const p of packages) {
        const deb = path.join(archives, p.file);
        if (!fs.existsSync(deb)) throw new Error(`image: apt did not download ${p.file}`);
        if (fs.statSync(deb).size !== p.size)
          throw new Error(`image: ${deb} is not the ${p.size} bytes apt announced`);
        await addDebianPackage(tree, deb, isSlimExcluded);
      }
      tree.addFile('etc/passwd', `${BASE_ACCOUNTS.passwd.join('\n')}\n`);
      tree.addFile('etc/group', `${BASE_ACCOUNTS.group.join('\n')}\n`);
      // What ca-certificates' and ca-certificates-java's maintainer scripts would have generated.
      addCaTrustStores(tree);
      options.finish?.(tree);
    },
  };
}

/** An account an image adds to `/etc/passwd` and `/etc/group`. */
export interface ImageAccount {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  /** @default the account's name */
  readonly group?: string;
  /** @default '/nonexistent' */
  readonly home?: string;
  /** @default '/usr/sbin/nologin' */
  readonly shell?: string;
}

/**
 * A layer that writes `/etc/passwd` and `/etc/group` with {@link BASE_ACCOUNTS} and `accounts`,
 * and creates each home folder that is not `/nonexistent` (owned by the account).
 */
export function accountsLayer(accounts: readonly ImageAccount[]): LayerRecipe {
  return {
    description: `accounts ${accounts.map((a) => `${a.name}(${a.uid})`).join(' ')}`,
    inputs: () => ({ accounts, base: BASE_ACCOUNTS }),
    build: async (tree) => {
      const passwd: string[] = [...BASE_ACCOUNTS.passwd];
      const groups = new Map<string, number>();
      for (const a of accounts) {
        passwd.push(
          `${a.name}:x:${a.uid}:${a.gid}::${a.home ?? '/nonexistent'}:${a.shell ?? '/usr/sbin/nologin'}`,
        );
        groups.set(a.group ?? a.name, a.gid);
        if (a.home && a.home !== '/nonexistent') tree.addDirectory(a.home, { uid: a.uid, gid: a.gid });
      }
      const group: string[] = [
        ...BASE_ACCOUNTS.group,
        ...[...groups].map(([name, gid]) => `${name}:x:${gid}:`),
      ];
      tree.addFile('etc/passwd', `${passwd.join('\n')}\n`);
      tree.addFile('etc/group', `${group.join('\n')}\n`);
    },
  };
}
