/**
 * The files of one image layer, assembled in memory (metadata) with contents on the host, then
 * written as a tar in sorted path order. Owners and modes are what the recipe says, never what
 * the staging disk happened to record, so the same recipe gives the same layer on any machine.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { normaliseArchivePath, readTar, type FileContent, type TarEntry } from './tar';

/** Owner and mode of what a tree call adds. */
export interface Ownership {
  /** @default 0 */
  readonly uid?: number;
  /** @default 0 */
  readonly gid?: number;
}

/** Options of {@link FileTree.addHostDirectory}. */
export interface AddDirectoryOptions extends Ownership {
  /** Skips a host path (relative to the directory, `/`-separated) and, for a directory, all below it. */
  readonly exclude?: (relativePath: string) => boolean;
}

/** Options of {@link FileTree.addTar}. */
export interface AddTarOptions {
  /** Prefix every path with this (`apache-zookeeper-3.9.4-bin`). @default '' */
  readonly prefix?: string;
  /** Drop this many leading path components first, as `tar --strip-components`. @default 0 */
  readonly stripComponents?: number;
  /** Owner of every entry; the archive's own owners when unset. */
  readonly ownership?: Ownership;
  /** Skips an entry (its path after strip and prefix). */
  readonly exclude?: (path: string) => boolean;
  /**
   * Where an entry goes, from its path after strip and prefix; undefined skips it. Only entries
   * it places are added (their parents are created as root-owned 0755 directories).
   */
  readonly rename?: (path: string) => string | undefined;
}

function clean(p: string): string {
  return normaliseArchivePath(p);
}

function parentOf(p: string): string | undefined {
  const slash = p.lastIndexOf('/');
  return slash === -1 ? undefined : p.slice(0, slash);
}

/** Permission bits of a host file that a layer keeps: executable or not. */
function hostFileMode(stat: fs.Stats): number {
  return stat.mode & 0o111 ? 0o755 : 0o644;
}

/**
 * A layer's files. Paths are relative to the image root (`usr/bin/java`; a leading `/` is
 * accepted). Adding a path that exists replaces it; missing parent directories are created owned
 * by root with mode 0755.
 */
export class FileTree {
  private readonly entries = new Map<string, TarEntry>();
  private stagedFiles = 0;

  /**
   * @param stagingDir where bodies read from tar streams are kept until the layer is written
   *   (a directory the caller removes afterwards)
   */
  constructor(private readonly stagingDir: string) {}

  /** Every entry, sorted by path (so a directory precedes what it holds). */
  public sortedEntries(): TarEntry[] {
    return [...this.entries.keys()]
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
      .map((key) => this.entries.get(key)!);
  }

  public get(p: string): TarEntry | undefined {
    return this.entries.get(clean(p));
  }

  public has(p: string): boolean {
    return this.entries.has(clean(p));
  }

  /** A directory (and its missing parents). An existing directory gets the new owner and mode. */
  public addDirectory(p: string, options: Ownership & { readonly mode?: number } = {}): void {
    const key = clean(p);
    if (key === '') return;
    this.ensureParents(key);
    this.put({
      path: key,
      type: 'directory',
      mode: options.mode ?? 0o755,
      uid: options.uid ?? 0,
      gid: options.gid ?? 0,
    });
  }

  /** A file with the given bytes. */
  public addFile(
    p: string,
    data: string | Buffer,
    options: Ownership & { readonly mode?: number } = {},
  ): void {
    const key = clean(p);
    this.ensureParents(key);
    this.put({
      path: key,
      type: 'file',
      mode: options.mode ?? 0o644,
      uid: options.uid ?? 0,
      gid: options.gid ?? 0,
      content: { data: typeof data === 'string' ? Buffer.from(data) : data },
    });
  }

  /** A file whose bytes are read from the host when the layer is written. */
  public addHostFile(
    p: string,
    hostPath: string,
    options: Ownership & { readonly mode?: number } = {},
  ): void {
    const key = clean(p);
    const stat = fs.statSync(hostPath);
    this.ensureParents(key);
    this.put({
      path: key,
      type: 'file',
      mode: options.mode ?? hostFileMode(stat),
      uid: options.uid ?? 0,
      gid: options.gid ?? 0,
      content: { hostPath, size: stat.size },
    });
  }

  public addSymlink(p: string, target: string, options: Ownership = {}): void {
    const key = clean(p);
    this.ensureParents(key);
    this.put({
      path: key,
      type: 'symlink',
      mode: 0o777,
      uid: options.uid ?? 0,
      gid: options.gid ?? 0,
      linkTarget: target,
    });
  }

  /**
   * A host directory's contents under `p`: directories 0755, files 0755 when executable on the
   * host else 0644, symlinks as they are; all owned as given.
   */
  public addHostDirectory(p: string, hostDir: string, options: AddDirectoryOptions = {}): void {
    const ownership = { uid: options.uid ?? 0, gid: options.gid ?? 0 };
    const walk = (relative: string): void => {
      const hostPath = relative === '' ? hostDir : path.join(hostDir, relative);
      const dest = relative === '' ? p : `${p}/${relative}`;
      const stat = fs.lstatSync(hostPath);
      if (stat.isDirectory()) {
        this.addDirectory(dest, ownership);
        for (const name of fs.readdirSync(hostPath).sort()) {
          const child = relative === '' ? name : `${relative}/${name}`;
          if (!options.exclude?.(child)) walk(child);
        }
      } else if (stat.isSymbolicLink()) {
        this.addSymlink(dest, fs.readlinkSync(hostPath), ownership);
      } else if (stat.isFile()) {
        this.addHostFile(dest, hostPath, ownership);
      } else {
        throw new Error(`image: ${hostPath} is neither a file, a directory nor a symlink`);
      }
    };
    walk('');
  }

  /**
   * The entries of a tar stream (uncompressed: pipe a `.tar.gz` through `zlib.createGunzip()`).
   * Modes are kept; owners are the archive's unless `ownership` is given; hard links become copies.
   */
  public async addTar(stream: Readable, options: AddTarOptions = {}): Promise<void> {
    fs.mkdirSync(this.stagingDir, { recursive: true });
    const strip = options.stripComponents ?? 0;
    const place = (archivePath: string): string | undefined => {
      const parts = archivePath.split('/').filter(Boolean);
      if (parts.length <= strip) return undefined;
      const rest = parts.slice(strip).join('/');
      const placed = options.prefix ? clean(`${options.prefix}/${rest}`) : rest;
      if (!options.rename) return placed;
      const renamed = options.rename(placed);
      return renamed === undefined ? undefined : clean(renamed);
    };
    const links: { path: string; target: string; uid: number; gid: number; mode: number }[] = [];
    await readTar(stream, (entry) => {
      const dest = place(entry.path);
      if (dest === undefined || dest === '' || options.exclude?.(dest)) return undefined;
      const uid = options.ownership?.uid ?? entry.uid;
      const gid = options.ownership?.gid ?? entry.gid;
      const mode = entry.mode & 0o7777;
      if (entry.type === 'directory') {
        this.addDirectory(dest, { uid, gid, mode });
        return undefined;
      }
      if (entry.type === 'symlink') {
        this.addSymlink(dest, entry.linkTarget ?? '', { uid, gid });
        return undefined;
      }
      if (entry.type === 'hardlink') {
        const target = place(entry.linkTarget ?? '');
        if (target !== undefined) links.push({ path: dest, target, uid, gid, mode });
        return undefined;
      }
      const staged = path.join(this.stagingDir, String((this.stagedFiles += 1)));
      this.ensureParents(dest);
      this.put({ path: dest, type: 'file', mode, uid, gid, content: { hostPath: staged, size: entry.size } });
      return staged;
    });
    for (const link of links) {
      const target = this.entries.get(link.target);
      if (!target || target.type !== 'file') {
        throw new Error(
          `image: the hard link ${link.path} points at ${link.target}, which is not a file of the archive`,
        );
      }
      this.ensureParents(link.path);
      this.put({
        path: link.path,
        type: 'file',
        mode: link.mode,
        uid: link.uid,
        gid: link.gid,
        content: target.content,
      });
    }
  }

  /** Changes the owner of `p` and, recursively, of everything below it. */
  public chown(p: string, uid: number, gid: number): void {
    const key = clean(p);
    for (const [entryPath, entry] of this.entries) {
      if (key === '' || entryPath === key || entryPath.startsWith(`${key}/`)) {
        this.entries.set(entryPath, { ...entry, uid, gid });
      }
    }
  }

  /** Removes `p` and everything below it. */
  public remove(p: string): void {
    const key = clean(p);
    for (const entryPath of [...this.entries.keys()]) {
      if (entryPath === key || entryPath.startsWith(`${key}/`)) this.entries.delete(entryPath);
    }
  }

  /** The bytes of a file of the tree (from memory or the host). */
  public read(p: string): Buffer {
    const entry = this.entries.get(clean(p));
    if (!entry || entry.type !== 'file' || !entry.content)
      throw new Error(`image: ${p} is not a file of the layer`);
    return readContent(entry.content);
  }

  private ensureParents(key: string): void {
    const missing: string[] = [];
    for (let parent = parentOf(key); parent !== undefined; parent = parentOf(parent)) {
      const existing = this.entries.get(parent);
      if (existing) {
        if (existing.type !== 'directory') {
          throw new Error(`image: cannot add ${key}: ${parent} is a ${existing.type}, not a directory`);
        }
        break;
      }
      missing.push(parent);
    }
    for (const dir of missing.reverse())
      this.entries.set(dir, { path: dir, type: 'directory', mode: 0o755, uid: 0, gid: 0 });
  }

  private put(entry: TarEntry): void {
    const existing = this.entries.get(entry.path);
    if (existing?.type === 'directory' && entry.type !== 'directory') this.remove(entry.path);
    this.entries.set(entry.path, entry);
  }
}

/** The bytes of a file's content. */
export function readContent(content: FileContent): Buffer {
  return 'data' in content ? content.data : fs.readFileSync(content.hostPath);
}
