/**
 * A tar writer whose output depends only on the entries (POSIX ustar, with a PAX record for a path
 * or link target longer than ustar holds), and a streaming tar reader (ustar, PAX and GNU long
 * names, which is what `dpkg-deb --fsys-tarfile` and Maven's assembly tarballs write).
 *
 * Written on node's built-ins rather than the `tar` package: an image layer needs every entry's
 * owner, mode and order chosen by the recipe (not taken from the disk it was staged on), and the
 * two formats involved fit in a page.
 */
import * as fs from 'node:fs';
import type { Readable } from 'node:stream';

/** What an entry is. Hard links are not written: a file tree stores them as copies. */
export type TarEntryType = 'file' | 'directory' | 'symlink';

/** Where a file's bytes come from. */
export type FileContent = { readonly data: Buffer } | { readonly hostPath: string; readonly size: number };

/** One entry of an archive, as the writer takes it. */
export interface TarEntry {
  /** Relative, `/`-separated, without a trailing slash (`usr/bin/java`). */
  readonly path: string;
  readonly type: TarEntryType;
  /** Permission bits, including setuid/setgid/sticky. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** For files. */
  readonly content?: FileContent;
  /** For symlinks. */
  readonly linkTarget?: string;
}

/** The modification time of every entry: the epoch, so that a rebuild gives the same bytes. */
export const TAR_MTIME = 0;

const BLOCK = 512;
const ZERO_BLOCK = Buffer.alloc(BLOCK);

function contentSize(content: FileContent | undefined): number {
  if (!content) return 0;
  return 'data' in content ? content.data.length : content.size;
}

function octal(value: number, width: number): string {
  // width includes the terminating NUL.
  const digits = value.toString(8);
  if (digits.length > width - 1) throw new Error(`tar: ${value} does not fit a ${width}-byte field`);
  return digits.padStart(width - 1, '0') + '\0';
}

function writeField(header: Buffer, offset: number, width: number, text: string): void {
  header.write(text, offset, width, 'utf8');
}

function ustarHeader(
  name: string,
  typeflag: string,
  mode: number,
  uid: number,
  gid: number,
  size: number,
  linkname: string,
): Buffer {
  const header = Buffer.alloc(BLOCK);
  writeField(header, 0, 100, name);
  writeField(header, 100, 8, octal(mode & 0o7777, 8));
  writeField(header, 108, 8, octal(uid, 8));
  writeField(header, 116, 8, octal(gid, 8));
  writeField(header, 124, 12, octal(size, 12));
  writeField(header, 136, 12, octal(TAR_MTIME, 12));
  writeField(header, 148, 8, '        ');
  writeField(header, 156, 1, typeflag);
  writeField(header, 157, 100, linkname);
  writeField(header, 257, 6, 'ustar\0');
  writeField(header, 263, 2, '00');
  let sum = 0;
  for (const byte of header) sum += byte;
  writeField(header, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  return header;
}

/** A PAX record `"<len> key=value\n"`, whose length counts its own digits. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length) length += 1;
  return `${length}${body}`;
}

function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return rest === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - rest);
}

function isAscii(text: string): boolean {
  return /^[\x20-\x7e]*$/.test(text);
}

/** The header block(s) of one entry: a PAX header first when a name does not fit ustar. */
export function tarHeaders(entry: TarEntry): Buffer[] {
  const name = entry.type === 'directory' ? `${entry.path}/` : entry.path;
  const link = entry.linkTarget ?? '';
  const size = entry.type === 'file' ? contentSize(entry.content) : 0;
  if (size > 0o77777777777) throw new Error(`tar: ${entry.path} is larger than 8 GiB`);
  const records: string[] = [];
  if (Buffer.byteLength(name) > 100 || !isAscii(name)) records.push(paxRecord('path', name));
  if (Buffer.byteLength(link) > 100 || !isAscii(link)) records.push(paxRecord('linkpath', link));
  const typeflag = entry.type === 'file' ? '0' : entry.type === 'directory' ? '5' : '2';
  const blocks: Buffer[] = [];
  if (records.length > 0) {
    const pax = Buffer.from(records.join(''));
    const paxName = `PaxHeaders/${entry.path.split('/').pop() ?? ''}`.slice(0, 99);
    blocks.push(ustarHeader(paxName, 'x', 0o644, 0, 0, pax.length, ''), pax, padding(pax.length));
  }
  // Names that went into the PAX record still get an ASCII stand-in in the ustar header.
  const shortName = records.length > 0 ? asciiPrefix(name, 100) : name;
  const shortLink = records.length > 0 ? asciiPrefix(link, 100) : link;
  blocks.push(ustarHeader(shortName, typeflag, entry.mode, entry.uid, entry.gid, size, shortLink));
  return blocks;
}

function asciiPrefix(text: string, bytes: number): string {
  return text.replace(/[^\x20-\x7e]/g, '_').slice(0, bytes);
}

/**
 * The archive's bytes, entry by entry in the order given, file contents read from the host as
 * they are reached; ends with the two zero blocks.
 */
export async function* tarStream(entries: Iterable<TarEntry>): AsyncGenerator<Buffer> {
  for (const entry of entries) {
    yield* tarHeaders(entry);
    if (entry.type !== 'file' || !entry.content) continue;
    const size = contentSize(entry.content);
    if ('data' in entry.content) {
      yield entry.content.data;
    } else {
      let read = 0;
      for await (const chunk of fs.createReadStream(entry.content.hostPath, {
        highWaterMark: 1 << 20,
      })) {
        read += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
      if (read !== size) {
        throw new Error(
          `tar: ${entry.content.hostPath} changed while it was archived (${read} ≠ ${size} bytes)`,
        );
      }
    }
    const pad = padding(size);
    if (pad.length > 0) yield pad;
  }
  yield ZERO_BLOCK;
  yield ZERO_BLOCK;
}

/** An entry as the reader found it. */
export interface TarReadEntry {
  /** As stored, without a leading `./` or `/` and without a trailing slash. */
  readonly path: string;
  readonly type: TarEntryType | 'hardlink';
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  /** A symlink's target, or for a hard link the path (normalised like `path`) it links to. */
  readonly linkTarget?: string;
}

function cString(block: Buffer, offset: number, width: number): string {
  const end = block.indexOf(0, offset);
  return block.toString('utf8', offset, end === -1 || end > offset + width ? offset + width : end);
}

function parseNumber(block: Buffer, offset: number, width: number): number {
  if (block[offset] & 0x80) {
    // GNU base-256: big-endian, first byte's top bit set.
    let value = block[offset] & 0x7f;
    for (let i = 1; i < width; i += 1) value = value * 256 + block[offset + i];
    return value;
  }
  const text = cString(block, offset, width).trim();
  return text === '' ? 0 : parseInt(text, 8);
}

function parsePax(data: Buffer): Record<string, string> {
  const records: Record<string, string> = {};
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space === -1) break;
    const length = parseInt(data.toString('utf8', pos, space), 10);
    if (!(length > 0)) break;
    const record = data.toString('utf8', space + 1, pos + length - 1);
    const eq = record.indexOf('=');
    if (eq > 0) records[record.slice(0, eq)] = record.slice(eq + 1);
    pos += length;
  }
  return records;
}

/** `./usr/bin/` → `usr/bin`; refuses paths that climb out of the archive. */
export function normaliseArchivePath(raw: string): string {
  const parts = raw.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) throw new Error(`tar: refusing the path ${JSON.stringify(raw)} (it contains ..)`);
  return parts.join('/');
}

/**
 * Reads a tar stream. `onEntry` is called for each entry; for a file it returns the host path to
 * store the entry's bytes in (or undefined to skip them). Resolves after the end-of-archive blocks.
 */
export async function readTar(
  stream: Readable,
  onEntry: (entry: TarReadEntry) => string | undefined,
): Promise<void> {
  let buffered: Buffer = Buffer.alloc(0);
  let remaining = 0; // body bytes still to route
  let bodyPadding = 0;
  let bodyFd: number | undefined;
  let pendingBody: ((data: Buffer) => void) | undefined; // collects a PAX/GNU header's body
  let pendingData: Buffer[] = [];
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  let ended = false;

  const startEntry = (block: Buffer): void => {
    const typeflag = String.fromCharCode(block[156] || 0x30);
    const size = parseNumber(block, 124, 12);
    const prefix = cString(block, 345, 155);
    const baseName = cString(block, 0, 100);
    const headerName = prefix ? `${prefix}/${baseName}` : baseName;
    remaining = size;
    bodyPadding = size % BLOCK === 0 ? 0 : BLOCK - (size % BLOCK);
    if (typeflag === 'x' || typeflag === 'g' || typeflag === 'L' || typeflag === 'K') {
      pendingData = [];
      pendingBody = (data) => {
        if (typeflag === 'x') pax = { ...pax, ...parsePax(data) };
        else if (typeflag === 'L') longName = cString(data, 0, data.length);
        else if (typeflag === 'K') longLink = cString(data, 0, data.length);
      };
      if (size === 0) finishBody();
      return;
    }
    const rawPath = pax.path ?? longName ?? headerName;
    const rawLink = pax.linkpath ?? longLink ?? cString(block, 157, 100);
    const mode = parseNumber(block, 100, 8);
    const uid = pax.uid !== undefined ? Number(pax.uid) : parseNumber(block, 108, 8);
    const gid = pax.gid !== undefined ? Number(pax.gid) : parseNumber(block, 116, 8);
    const realSize = pax.size !== undefined ? Number(pax.size) : size;
    pax = {};
    longName = undefined;
    longLink = undefined;
    remaining = realSize;
    bodyPadding = realSize % BLOCK === 0 ? 0 : BLOCK - (realSize % BLOCK);
    const path = normaliseArchivePath(rawPath);
    let entry: TarReadEntry | undefined;
    if (typeflag === '0' || typeflag === '7') {
      entry = { path, type: 'file', mode, uid, gid, size: realSize };
    } else if (typeflag === '5') {
      entry = { path, type: 'directory', mode, uid, gid, size: 0 };
    } else if (typeflag === '2') {
      entry = { path, type: 'symlink', mode, uid, gid, size: 0, linkTarget: rawLink };
    } else if (typeflag === '1') {
      entry = { path, type: 'hardlink', mode, uid, gid, size: 0, linkTarget: normaliseArchivePath(rawLink) };
    } else {
      throw new Error(
        `tar: ${path} is of type ${JSON.stringify(typeflag)}, which an image layer cannot hold`,
      );
    }
    if (path === '') {
      // The archive's root (`./`) carries nothing a tree needs.
      if (remaining === 0) return;
    }
    const target = path === '' ? undefined : onEntry(entry);
    if (entry.type === 'file' && target !== undefined) bodyFd = fs.openSync(target, 'w');
    if (remaining === 0) finishBody();
  };

  const finishBody = (): void => {
    if (bodyFd !== undefined) {
      fs.closeSync(bodyFd);
      bodyFd = undefined;
    }
    if (pendingBody) {
      pendingBody(Buffer.concat(pendingData));
      pendingBody = undefined;
      pendingData = [];
    }
  };

  for await (const chunk of stream) {
    if (ended) continue;
    buffered = buffered.length === 0 ? (chunk as Buffer) : Buffer.concat([buffered, chunk as Buffer]);
    let pos = 0;
    while (!ended) {
      if (remaining > 0) {
        const take = Math.min(remaining, buffered.length - pos);
        if (take === 0) break;
        const piece = buffered.subarray(pos, pos + take);
        if (bodyFd !== undefined) fs.writeSync(bodyFd, piece);
        else if (pendingBody) pendingData.push(Buffer.from(piece));
        pos += take;
        remaining -= take;
        if (remaining === 0) finishBody();
        continue;
      }
      if (bodyPadding > 0) {
        const take = Math.min(bodyPadding, buffered.length - pos);
        if (take === 0) break;
        pos += take;
        bodyPadding -= take;
        continue;
      }
      if (buffered.length - pos < BLOCK) break;
      const block = buffered.subarray(pos, pos + BLOCK);
      pos += BLOCK;
      if (block.every((byte) => byte === 0)) {
        ended = true;
        break;
      }
      startEntry(block);
    }
    buffered = buffered.subarray(pos);
  }
  if (remaining > 0 || bodyFd !== undefined) throw new Error('tar: the archive ends inside an entry');
}
