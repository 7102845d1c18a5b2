/**
 * A Debian root filesystem layer from Debian's own packages: apt resolves the packages' dependency
 * closure as if nothing were installed (on the host's apt sources and lists — Debian 12 bookworm on
 * keelson's machines — or on one other suite of Debian's archive with a private apt configuration:
 * see {@link DebianLayerOptions.suite}), downloads the `.deb`s with apt's signature checks into the cache, and the
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

/** Debian's archive (as the host's sources name it) and the keys its Release files are signed with. */
const DEBIAN_ARCHIVE = 'http://deb.debian.org/debian';
const DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

/**
 * Where apt finds packages: the host's sources and lists, or a suite's private ones (its own
 * sources list, lists and cache folders; the host's apt.conf.d still applies, its proxy settings
 * for one).
 */
interface AptSource {
  /** The suite, or undefined for the host's sources. */
  readonly suite?: string;
  /** apt's options that point it at this source. */
  readonly options: readonly string[];
  /** apt's lists folder (what resolution depends on). */
  readonly listsDir: string;
}

const HOST_APT: AptSource = { options: [], listsDir: '/var/lib/apt/lists' };

/** The folder of a suite's private apt configuration: `<cache>/debian/suites/<suite>`. */
export function debianSuiteDir(cacheDir: string, suite: string): string {
  return path.join(cacheDir, 'debian', 'suites', suite);
}

function suiteAptOptions(dir: string): string[] {
  return [
    '-o',
    `Dir::Etc::SourceList=${path.join(dir, 'sources.list')}`,
    '-o',
    'Dir::Etc::SourceParts=/dev/null',
    '-o',
    'Dir::Etc::Preferences=/dev/null',
    '-o',
    'Dir::Etc::PreferencesParts=/dev/null',
    '-o',
    `Dir::State::Lists=${path.join(dir, 'lists')}`,
    '-o',
    `Dir::Cache=${path.join(dir, 'cache')}`,
    // Resolution needs the package indexes only (not the host's AppStream metadata targets).
    '-o',
    'Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false',
  ];
}

/**
 * The apt configuration of `suite`: on first use its `sources.list` (Debian's archive, main, the
 * Release checked against debian-archive-keyring's keys) and an `apt-get update` into its own lists
 * folder. The lists are kept until the folder is removed, so the packages resolved from them (and
 * the layer) stay the same; a fresh folder is filled beside it and moved in place, so a concurrent
 * build never reads half-written lists.
 */
async function suiteAptSource(suite: string, cacheDir: string): Promise<AptSource> {
  if (!/^[a-z][a-z0-9-]*$/.test(suite))
    throw new Error(`image: ${JSON.stringify(suite)} is not a Debian suite name (sid, trixie, ...)`);
  const dir = debianSuiteDir(cacheDir, suite);
  const source = { suite, options: suiteAptOptions(dir), listsDir: path.join(dir, 'lists') };
  if (fs.existsSync(source.listsDir)) return source;
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const fresh = fs.mkdtempSync(`${dir}.update-`);
  try {
    fs.writeFileSync(
      path.join(fresh, 'sources.list'),
      `deb [signed-by=${DEBIAN_KEYRING}] ${DEBIAN_ARCHIVE} ${suite} main\n`,
    );
    fs.mkdirSync(path.join(fresh, 'lists', 'partial'), { recursive: true });
    fs.mkdirSync(path.join(fresh, 'cache'), { recursive: true });
    try {
      await run('apt-get', ['-qq', ...suiteAptOptions(fresh), '-o', 'Debug::NoLocking=1', 'update'], {
        maxBuffer: 16 << 20,
      });
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? String(error);
      throw new Error(`image: apt-get update of Debian's ${suite} failed:\n${stderr}`);
    }
    if (!fs.readdirSync(path.join(fresh, 'lists')).some((name) => name.endsWith(`_${suite}_InRelease`)))
      throw new Error(`image: apt-get update of Debian's ${suite} left no signed Release in its lists`);
    try {
      fs.renameSync(fresh, dir);
    } catch (error) {
      // Another build moved its lists in first: use those.
      if (!fs.existsSync(source.listsDir)) throw error;
    }
  } finally {
    fs.rmSync(fresh, { recursive: true, force: true });
  }
  return source;
}

function aptOptions(statusFile: string, archives: string, source: AptSource): string[] {
  return [
    ...source.options,
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
function aptListsState(lists: string): string[] {
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
 * The `.deb`s that installing `packages` on an empty system takes, sorted by file name: from the
 * host's apt sources, or from Debian's `suite` (see {@link DebianLayerOptions.suite}).
 * Remembered in the cache until apt's package lists change (`apt-get update`).
 * Throws apt's own message when a package is unknown (run `apt-get update` first).
 */
export async function resolveDebianPackages(
  packages: readonly string[],
  workDir: string,
  cacheDir: string,
  suite?: string,
): Promise<ResolvedDebianPackage[]> {
  const source = suite === undefined ? HOST_APT : await suiteAptSource(suite, cacheDir);
  const record = path.join(
    cacheDir,
    'debian',
    'resolved',
    `${inputsKey({ packages: [...packages].sort(), lists: aptListsState(source.listsDir), suite })}.json`,
  );
  if (fs.existsSync(record)) return JSON.parse(fs.readFileSync(record, 'utf8')) as ResolvedDebianPackage[];
  const resolved = await resolveWithApt(packages, workDir, source);
  fs.mkdirSync(path.dirname(record), { recursive: true });
  fs.writeFileSync(record, JSON.stringify(resolved, null, 1));
  return resolved;
}

async function resolveWithApt(
  packages: readonly string[],
  workDir: string,
  source: AptSource,
): Promise<ResolvedDebianPackage[]> {
  const status = path.join(workDir, 'dpkg-status');
  const emptyArchives = path.join(workDir, 'apt-resolve');
  fs.mkdirSync(path.join(emptyArchives, 'partial'), { recursive: true });
  fs.writeFileSync(status, '');
  let stdout: string;
  try {
    ({ stdout } = await run(
      'apt-get',
      ['-qq', ...aptOptions(status, emptyArchives, source), '--print-uris', 'install', ...packages],
      { maxBuffer: 16 << 20 },
    ));
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? String(error);
    const refresh =
      source.suite === undefined
        ? "run 'apt-get update' once"
        : `remove ${path.dirname(source.listsDir)} to fetch ${source.suite}'s lists again`;
    throw new Error(
      `image: apt cannot resolve the Debian packages ${packages.join(' ')} (${refresh} if it says a package is unknown):\n${stderr}`,
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
  source: AptSource,
): Promise<void> {
  const status = path.join(workDir, 'dpkg-status');
  fs.mkdirSync(path.join(archives, 'partial'), { recursive: true });
  fs.writeFileSync(status, '');
  try {
    await run(
      'apt-get',
      ['-qq', '-y', ...aptOptions(status, archives, source), '--download-only', 'install', ...packages],
      { maxBuffer: 16 << 20 },
    );
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? String(error);
    // A suite like sid drops a package's old version from the archive soon after a new one comes.
    const hint =
      source.suite === undefined
        ? ''
        : ` (if the archive no longer has them, remove ${path.dirname(source.listsDir)} to fetch ${source.suite}'s lists again)`;
    throw new Error(
      `image: apt could not download the Debian packages ${packages.join(' ')}${hint}:\n${stderr}`,
    );
  }
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
  /**
   * A suite of Debian's archive (`sid`, `trixie`) that every package of the layer comes from, for
   * a package the host's release does not have (Debian 12 has no MySQL server). apt resolves and
   * downloads with a private configuration under `$KEELSON_CACHE/debian/suites/<suite>`: its own
   * sources list (deb.debian.org, main, the Release's signature checked with
   * debian-archive-keyring's keys), lists and cache; the host's sources, lists and pins are not
   * read. The lists are fetched once and kept (the layer's packages stay the same) until that
   * folder is removed. The layer must not be stacked on one of the host's release: a suite's
   * programs need that suite's libraries.
   * @default the host's apt sources
   */
  readonly suite?: string;
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
      resolved = await resolveDebianPackages(
        options.packages,
        context.workDir,
        context.cacheDir,
        options.suite,
      );
      return {
        packages: [...options.packages].sort(),
        suite: options.suite,
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
        resolved ??
        (await resolveDebianPackages(options.packages, context.workDir, context.cacheDir, options.suite));
      const archives = path.join(context.cacheDir, 'debian', 'archives');
      const missing = packages.filter((p) => !fs.existsSync(path.join(archives, p.file)));
      if (missing.length > 0) {
        context.log(`  downloading ${missing.length} Debian packages`);
        const source =
          options.suite === undefined ? HOST_APT : await suiteAptSource(options.suite, context.cacheDir);
        await downloadDebianPackages(options.packages, context.workDir, archives, source);
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
