/**
 * The trust stores an image's TLS clients read, written at build time from the CA certificates of
 * Debian's `ca-certificates` package (what its postinst and `ca-certificates-java`'s would have
 * generated, which keelson does not run): the PEM bundle `/etc/ssl/certs/ca-certificates.crt` for
 * OpenSSL, GnuTLS and curl, and the Java trust store `/etc/ssl/certs/java/cacerts` that Debian's
 * JREs (and a Debian-packaged JDK copied from the host) link their `lib/security/cacerts` to.
 *
 * The Java store is JKS, the format `ca-certificates-java` writes on Debian 12: Java 8 through 25
 * read it as `cacerts` (a PKCS12 default type falls back to JKS by its magic number), and it has
 * no salt or iteration count, so the same certificates and entry date give the same bytes. Every
 * entry's date is the image's fixed timestamp (the epoch); entries are sorted by alias.
 */
import * as crypto from 'node:crypto';
import type { FileTree } from './file-tree';
import { TAR_MTIME } from './tar';

/** Where Debian's `ca-certificates` keeps the certificates it ships (`mozilla/<name>.crt`). */
export const CA_CERTIFICATES_DIR = 'usr/share/ca-certificates';
/** The PEM bundle of every trusted certificate (what `update-ca-certificates` writes). */
export const CA_BUNDLE_PATH = 'etc/ssl/certs/ca-certificates.crt';
/** The Java trust store Debian's JDKs link `lib/security/cacerts` to. */
export const JAVA_CACERTS_PATH = 'etc/ssl/certs/java/cacerts';
/** The password of the Java trust store: the JDK's and Debian's customary one. */
export const JAVA_CACERTS_PASSWORD = 'changeit';
/** Bumped when what {@link addCaTrustStores} writes changes for the same certificates. */
export const TRUST_STORE_FORMAT = 1;

/** A trusted certificate of a Java key store. */
export interface TrustedCertificate {
  /** Lower-case (the JDK lower-cases JKS aliases when it loads them); unique within a store. */
  readonly alias: string;
  /** The certificate's DER encoding. */
  readonly der: Buffer;
}

/** Options of {@link writeJavaKeyStore}. */
export interface JavaKeyStoreOptions {
  /** Protects the store's integrity (not its contents: trusted certificates are public). */
  readonly password: string;
  /** The creation date of every entry, in milliseconds since the epoch. @default 0 */
  readonly entryDate?: number;
}

const JKS_MAGIC = 0xfeedfeed;
const JKS_VERSION = 2;
const JKS_TRUSTED_CERTIFICATE = 2;
/** The text the JKS integrity digest hashes after the password (fixed by the format). */
const JKS_DIGEST_WHITENER = 'Mighty Aphrodite';

/** Java's `DataOutput.writeUTF`: a 2-byte length, then modified UTF-8 (NUL as two bytes, UTF-16 units each encoded alone). */
function javaUtf(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0x01 && unit <= 0x7f) {
      bytes.push(unit);
    } else if (unit <= 0x7ff) {
      bytes.push(0xc0 | (unit >> 6), 0x80 | (unit & 0x3f));
    } else {
      bytes.push(0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f));
    }
  }
  if (bytes.length > 0xffff)
    throw new Error(`image: a key store string of ${bytes.length} bytes is too long`);
  const length = Buffer.alloc(2);
  length.writeUInt16BE(bytes.length);
  return Buffer.concat([length, Buffer.from(bytes)]);
}

function uint32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value);
  return b;
}

/**
 * A JKS key store (version 2) holding `certificates` as trusted-certificate entries, in alias order.
 * Throws when an alias repeats or is not lower-case, or a certificate does not parse as X.509.
 */
export function writeJavaKeyStore(
  certificates: readonly TrustedCertificate[],
  options: JavaKeyStoreOptions,
): Buffer {
  const sorted = [...certificates].sort((a, b) => Buffer.compare(Buffer.from(a.alias), Buffer.from(b.alias)));
  const parts: Buffer[] = [uint32(JKS_MAGIC), uint32(JKS_VERSION), uint32(sorted.length)];
  const date = Buffer.alloc(8);
  date.writeBigInt64BE(BigInt(options.entryDate ?? 0));
  sorted.forEach((certificate, i) => {
    if (certificate.alias === '' || certificate.alias !== certificate.alias.toLowerCase()) {
      throw new Error(`image: the key store alias '${certificate.alias}' must be non-empty and lower-case`);
    }
    if (i > 0 && sorted[i - 1].alias === certificate.alias) {
      throw new Error(`image: the key store alias '${certificate.alias}' is given twice`);
    }
    try {
      new crypto.X509Certificate(certificate.der);
    } catch (error) {
      throw new Error(`image: the certificate of '${certificate.alias}' is not X.509 DER: ${String(error)}`);
    }
    parts.push(
      uint32(JKS_TRUSTED_CERTIFICATE),
      javaUtf(certificate.alias),
      date,
      javaUtf('X.509'),
      uint32(certificate.der.length),
      certificate.der,
    );
  });
  const body = Buffer.concat(parts);
  const password = Buffer.alloc(options.password.length * 2);
  for (let i = 0; i < options.password.length; i++)
    password.writeUInt16BE(options.password.charCodeAt(i), i * 2);
  const digest = crypto
    .createHash('sha1')
    .update(password)
    .update(Buffer.from(JKS_DIGEST_WHITENER, 'utf8'))
    .update(body)
    .digest();
  return Buffer.concat([body, digest]);
}

/** The DER of each `CERTIFICATE` block of a PEM text, in order. Throws when there is none. */
export function pemCertificates(pem: string, source: string): Buffer[] {
  const blocks = [...pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)];
  if (blocks.length === 0) throw new Error(`image: ${source} holds no PEM certificate`);
  return blocks.map((block) => Buffer.from(block[1].replace(/\s+/g, ''), 'base64'));
}

/**
 * The name `update-ca-certificates` links a certificate under in /etc/ssl/certs, which
 * `ca-certificates-java` takes (prefixed `debian:`, lower-cased) as its alias in the Java store.
 */
export function debianCertificateName(crtPath: string): string {
  const base = crtPath.slice(crtPath.lastIndexOf('/') + 1).replace(/\.crt$/, '');
  return `${base.replace(/ /g, '_').replace(/[()]/g, '=').replace(/,/g, '_')}.pem`;
}

/** What {@link addCaTrustStores} wrote. */
export interface CaTrustStores {
  /** The certificates trusted, in bundle order (paths below {@link CA_CERTIFICATES_DIR}). */
  readonly certificates: readonly string[];
}

/**
 * Writes the PEM bundle and the Java trust store from every `*.crt` below
 * `usr/share/ca-certificates` in the tree (the package enables all of them by default), as
 * root-owned 0644 files. Returns undefined and writes nothing when the tree has none (no
 * `ca-certificates` package). The bundle concatenates the files in byte order of their paths,
 * each ending in a newline, as `update-ca-certificates` does.
 */
export function addCaTrustStores(tree: FileTree): CaTrustStores | undefined {
  const prefix = `${CA_CERTIFICATES_DIR}/`;
  const files = tree
    .sortedEntries()
    .filter((e) => e.type === 'file' && e.path.startsWith(prefix) && e.path.endsWith('.crt'))
    .map((e) => e.path);
  if (files.length === 0) return undefined;
  const bundle: Buffer[] = [];
  const trusted: TrustedCertificate[] = [];
  for (const file of files) {
    const bytes = tree.read(file);
    bundle.push(bytes);
    if (bytes.length > 0 && bytes[bytes.length - 1] !== 0x0a) bundle.push(Buffer.from('\n'));
    const ders = pemCertificates(bytes.toString('latin1'), file);
    const alias = `debian:${debianCertificateName(file)}`.toLowerCase();
    ders.forEach((der, i) => trusted.push({ alias: ders.length === 1 ? alias : `${alias}:${i + 1}`, der }));
  }
  tree.addFile(CA_BUNDLE_PATH, Buffer.concat(bundle));
  tree.addFile(
    JAVA_CACERTS_PATH,
    writeJavaKeyStore(trusted, {
      password: JAVA_CACERTS_PASSWORD,
      entryDate: TAR_MTIME * 1000,
    }),
  );
  return { certificates: files.map((f) => f.slice(prefix.length)) };
}
