/**
 * The certificates keelson's own CA issues: ECDSA P-256 keys, X.509 v3 certificates, PEM on the
 * outside (PKCS#8 private keys). Only the operator signs (its PodCertificateRequest signer), so the
 * X.509 library is loaded on the first call, not when the framework is loaded: it costs the
 * operator's process ~15 MiB of RSS (see lib/README.md, "Operator memory").
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  verify as verifySignature,
  webcrypto,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import { isIP } from 'node:net';
import type * as X509 from '@peculiar/x509';

/**
 * The shortest certificate keelson issues, in seconds: the API server refuses a pod certificate
 * whose `notAfter - notBefore` is shorter.
 */
export const MIN_CERTIFICATE_LIFETIME_SECONDS = 3600;

/** How far `notBefore` lies before the moment of issue, so that clocks running a little behind accept it. */
export const CLOCK_SKEW_SECONDS = 60;

/**
 * The API server's bounds on an issued pod certificate's `beginRefreshAt`: at least this long after
 * its `notBefore` and before its `notAfter`.
 */
export const REFRESH_MARGIN_SECONDS = 600;

/**
 * The most keelson back-dates a pod certificate's `notBefore`: the API server refuses one 5 minutes
 * or more away from its clock, and a minute is left for the operator's clock to differ from it.
 */
export const MAX_BACKDATE_SECONDS = 240;

/**
 * The earliest a class may ask the kubelet to refresh, after issue: `REFRESH_MARGIN_SECONDS` after a
 * `notBefore` back-dated by `MAX_BACKDATE_SECONDS` (6 minutes).
 */
export const MIN_REFRESH_AFTER_SECONDS = REFRESH_MARGIN_SECONDS - MAX_BACKDATE_SECONDS;

/** A CA certificate and its private key, both PEM. */
export interface CertificateAuthorityKeyPair {
  /** The CA's certificate (`-----BEGIN CERTIFICATE-----`). */
  readonly certificatePem: string;
  /** The CA's private key: PKCS#8, or for a CA the user brings, PKCS#1 (RSA) or SEC1 (EC) as well. */
  readonly privateKeyPem: string;
}

/** A CA made by `createCertificateAuthority`. */
export interface CertificateAuthority extends CertificateAuthorityKeyPair {
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export interface CreateCertificateAuthorityOptions {
  /** The CA's subject and issuer common name, e.g. `keelson tls`. */
  readonly commonName: string;
  /** `notAfter - notBefore`, in seconds (at least 3600). */
  readonly lifetimeSeconds: number;
  /** @default - the current time */
  readonly now?: Date;
}

export interface IssueCertificateOptions {
  /** The CA that signs. */
  readonly ca: CertificateAuthorityKeyPair;
  /** The subject's public key as a DER SubjectPublicKeyInfo (what `publicKeyOfCertificationRequest` returns). */
  readonly subjectPublicKey: Buffer;
  /** The DNS names clients use; the first that fits in 64 characters is also the subject's common name. */
  readonly dnsNames: readonly string[];
  /**
   * IP addresses clients use (IPv4 or IPv6), such as the node address of a per-pod NodePort listener.
   * @default - none
   */
  readonly ipAddresses?: readonly string[];
  /**
   * `notAfter - notBefore`, in seconds: the lifetime the API server measures (at least 3600). The
   * certificate is valid from `backdateSeconds` (a minute by default) before `now`, so it is usable
   * for that much less.
   */
  readonly lifetimeSeconds: number;
  /** @default - the current time */
  readonly now?: Date;
  /**
   * How far `notBefore` lies before `now`, in whole seconds: more lets a Pod Certificate's refresh
   * begin sooner after issue (the API server measures it from `notBefore`).
   * @default CLOCK_SKEW_SECONDS
   */
  readonly backdateSeconds?: number;
}

/** A certificate made by `issueCertificate`. */
export interface IssuedCertificate {
  /** The leaf certificate, PEM. */
  readonly certificatePem: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

let loaded: typeof X509 | undefined;

/** @peculiar/x509 (and the reflect-metadata polyfill its dependency injection needs), on first use. */
function x509(): typeof X509 {
  if (!loaded) {
    /* eslint-disable @typescript-eslint/no-require-imports */
    require('reflect-metadata');
    loaded = require('@peculiar/x509') as typeof X509;
    /* eslint-enable @typescript-eslint/no-require-imports */
    loaded.cryptoProvider.set(webcrypto as unknown as Parameters<typeof loaded.cryptoProvider.set>[0]);
  }
  return loaded;
}

/** Creates a self-signed CA with a new ECDSA P-256 key. */
export async function createCertificateAuthority(
  options: CreateCertificateAuthorityOptions,
): Promise<CertificateAuthority> {
  const { notBefore, notAfter } = validity(options.now ?? new Date(), options.lifetimeSeconds, 'CA');
  if (options.commonName.length === 0 || options.commonName.length > 64) {
    throw new Error(
      `a CA's common name must have 1 to 64 characters, not ${JSON.stringify(options.commonName)}`,
    );
  }
  const x = x509();
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signingKey = await signingKeyOf(privateKey);
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const certificate = await x.X509CertificateGenerator.create({
    serialNumber: randomSerialNumber(),
    subject: [{ CN: [options.commonName] }],
    issuer: [{ CN: [options.commonName] }],
    notBefore,
    notAfter,
    publicKey: spki,
    signingKey: signingKey.key,
    signingAlgorithm: signingKey.algorithm,
    extensions: [
      new x.BasicConstraintsExtension(true, undefined, true),
      new x.KeyUsagesExtension(x.KeyUsageFlags.keyCertSign | x.KeyUsageFlags.cRLSign, true),
      await x.SubjectKeyIdentifierExtension.create(spki),
    ],
  });
  return {
    certificatePem: certificate.toString('pem') + '\n',
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    notBefore,
    notAfter,
  };
}

/**
 * Issues a TLS certificate (server and client authentication) for `dnsNames`, signed by `ca`. It
 * ends no later than the CA; a CA that ends before the shortest lifetime is refused.
 */
export async function issueCertificate(options: IssueCertificateOptions): Promise<IssuedCertificate> {
  const now = options.now ?? new Date();
  const { notBefore, notAfter: wanted } = validity(
    now,
    options.lifetimeSeconds,
    'certificate',
    options.backdateSeconds,
  );
  const dnsNames = checkedDnsNames(options.dnsNames);
  const ipAddresses = checkedIpAddresses(options.ipAddresses ?? []);
  const subjectKey = parsedPublicKey(options.subjectPublicKey);
  const ca = await parsedCertificateAuthority(options.ca);
  const caNotAfter = new Date(ca.certificate.validTo);
  const notAfter = wanted > caNotAfter ? caNotAfter : wanted;
  if (notAfter.getTime() - notBefore.getTime() < MIN_CERTIFICATE_LIFETIME_SECONDS * 1000) {
    throw new Error(
      `the CA ${ca.certificate.subject.trim()} expires at ${caNotAfter.toISOString()}, too soon to issue a certificate of at least ${MIN_CERTIFICATE_LIFETIME_SECONDS} s; rotate the CA`,
    );
  }

  const x = x509();
  const caCertificate = new x.X509Certificate(ca.certificate.raw);
  const caKeyId = caCertificate.getExtension(x.SubjectKeyIdentifierExtension)?.keyId;
  const spki = subjectKey.export({ type: 'spki', format: 'der' });
  const commonName = dnsNames.find((name) => name.length <= 64);
  const usages =
    subjectKey.asymmetricKeyType === 'rsa'
      ? x.KeyUsageFlags.digitalSignature | x.KeyUsageFlags.keyEncipherment
      : x.KeyUsageFlags.digitalSignature;
  const certificate = await x.X509CertificateGenerator.create({
    serialNumber: randomSerialNumber(),
    subject: commonName ? [{ CN: [commonName] }] : [],
    issuer: caCertificate.subjectName,
    notBefore,
    notAfter,
    publicKey: spki,
    signingKey: ca.signingKey.key,
    signingAlgorithm: ca.signingKey.algorithm,
    extensions: [
      new x.BasicConstraintsExtension(false, undefined, true),
      new x.KeyUsagesExtension(usages, true),
      new x.ExtendedKeyUsageExtension([x.ExtendedKeyUsage.serverAuth, x.ExtendedKeyUsage.clientAuth]),
      // RFC 5280: the names are critical when the subject is empty.
      new x.SubjectAlternativeNameExtension(
        [
          ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
          ...ipAddresses.map((value) => ({ type: 'ip' as const, value })),
        ],
        commonName === undefined,
      ),
      await x.SubjectKeyIdentifierExtension.create(spki),
      caKeyId
        ? new x.AuthorityKeyIdentifierExtension(caKeyId)
        : await x.AuthorityKeyIdentifierExtension.create(
            ca.certificate.publicKey.export({ type: 'spki', format: 'der' }),
          ),
    ],
  });
  return { certificatePem: certificate.toString('pem') + '\n', notBefore, notAfter };
}

/**
 * The public key (DER SubjectPublicKeyInfo) of a PKCS#10 certification request, such as a
 * PodCertificateRequest's `stubPKCS10Request`, after checking that the request is signed by that
 * key (proof that its sender holds the private key).
 */
export function publicKeyOfCertificationRequest(der: Buffer): Buffer {
  const x = x509();
  let request: X509.Pkcs10CertificateRequest;
  try {
    request = new x.Pkcs10CertificateRequest(der);
  } catch (e) {
    throw new Error(`not a PKCS#10 certification request: ${(e as Error).message}`);
  }
  const spki = Buffer.from(request.publicKey.rawData);
  const key = parsedPublicKey(spki);
  // The signed bytes as they came (re-encoding could change them), which the wrapper keeps protected.
  const asn = (request as unknown as { asn: CertificationRequestAsn }).asn;
  const signed = asn.certificationRequestInfoRaw;
  const algorithm = asn.signatureAlgorithm.algorithm;
  const hash = SIGNATURE_HASHES[algorithm];
  if (!signed || hash === undefined) {
    throw new Error(`the certification request's signature algorithm ${algorithm} is not supported`);
  }
  if (!verifySignature(hash, Buffer.from(signed), key, Buffer.from(request.signature))) {
    throw new Error('the certification request is not signed by the key it carries');
  }
  return spki;
}

/** The parts of @peculiar/asn1-csr's CertificationRequest read here. */
interface CertificationRequestAsn {
  readonly certificationRequestInfoRaw?: ArrayBuffer;
  readonly signatureAlgorithm: { readonly algorithm: string };
}

// Signature algorithms of PKCS#10 requests → the digest Node's verify takes (null: none, Ed25519).
const SIGNATURE_HASHES: Readonly<Record<string, string | null>> = {
  '1.2.840.10045.4.3.2': 'sha256', // ecdsa-with-SHA256
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.2.840.113549.1.1.11': 'sha256', // sha256WithRSAEncryption
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.3.101.112': null, // Ed25519
};

function validity(
  now: Date,
  lifetimeSeconds: number,
  what: string,
  backdateSeconds = CLOCK_SKEW_SECONDS,
): { notBefore: Date; notAfter: Date } {
  if (!Number.isFinite(now.getTime())) throw new Error(`now is not a valid date`);
  if (!Number.isInteger(backdateSeconds) || backdateSeconds < 0) {
    throw new Error(`a ${what}'s back-dating must be a whole number of seconds, not ${backdateSeconds}`);
  }
  if (!Number.isInteger(lifetimeSeconds) || lifetimeSeconds < MIN_CERTIFICATE_LIFETIME_SECONDS) {
    throw new Error(
      `a ${what}'s lifetime must be a whole number of seconds, at least ${MIN_CERTIFICATE_LIFETIME_SECONDS} (1h; the API server refuses shorter pod certificates), not ${lifetimeSeconds}`,
    );
  }
  // Whole seconds: X.509 times have no fractions, and callers compare these with the certificate's.
  const notBefore = new Date((Math.floor(now.getTime() / 1000) - backdateSeconds) * 1000);
  return { notBefore, notAfter: new Date(notBefore.getTime() + lifetimeSeconds * 1000) };
}

/** Positive, 16 random bytes: unique and unpredictable, within RFC 5280's 20 octets. */
function randomSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] & 0x7f) | 0x01;
  return bytes.toString('hex');
}

const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;

function checkedDnsNames(names: readonly string[]): string[] {
  if (names.length === 0) throw new Error('a certificate needs at least one DNS name');
  const wrong = names.filter((name) => !DNS_NAME.test(name));
  if (wrong.length > 0) {
    throw new Error(
      `not DNS names (lower case labels of letters, digits and "-", separated by "."): ${wrong.map((n) => JSON.stringify(n)).join(', ')}`,
    );
  }
  return [...new Set(names)];
}

function checkedIpAddresses(addresses: readonly string[]): string[] {
  const wrong = addresses.filter((address) => isIP(address) === 0);
  if (wrong.length > 0)
    throw new Error(`not IP addresses: ${wrong.map((a) => JSON.stringify(a)).join(', ')}`);
  return [...new Set(addresses)];
}

function parsedPublicKey(spki: Buffer): KeyObject {
  try {
    return createPublicKey({ key: spki, format: 'der', type: 'spki' });
  } catch (e) {
    throw new Error(`not a DER SubjectPublicKeyInfo: ${(e as Error).message}`);
  }
}

interface SigningKey {
  readonly key: webcrypto.CryptoKey;
  readonly algorithm: webcrypto.Algorithm | webcrypto.EcdsaParams;
}

/** The WebCrypto form of a private key, and the signature algorithm keelson uses with it. */
async function signingKeyOf(privateKey: KeyObject): Promise<SigningKey> {
  const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'der' });
  const type = privateKey.asymmetricKeyType;
  if (type === 'ec') {
    const curve = privateKey.asymmetricKeyDetails?.namedCurve;
    const webCurve = curve === 'prime256v1' ? 'P-256' : curve === 'secp384r1' ? 'P-384' : undefined;
    if (!webCurve) throw new Error(`a CA key on the curve ${curve} is not supported; use P-256 or P-384`);
    const key = await webcrypto.subtle.importKey(
      'pkcs8',
      pkcs8,
      { name: 'ECDSA', namedCurve: webCurve },
      false,
      ['sign'],
    );
    return {
      key,
      algorithm: {
        name: 'ECDSA',
        hash: webCurve === 'P-256' ? 'SHA-256' : 'SHA-384',
      } as webcrypto.EcdsaParams,
    };
  }
  if (type === 'rsa') {
    const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    const key = await webcrypto.subtle.importKey('pkcs8', pkcs8, algorithm, false, ['sign']);
    return { key, algorithm };
  }
  throw new Error(`a CA key of type ${type} is not supported; use ECDSA (P-256, P-384) or RSA`);
}

interface ParsedCertificateAuthority {
  readonly certificate: X509Certificate;
  readonly signingKey: SigningKey;
}

/** Reads a CA, with errors that say what is wrong with it (it may be one the user brought). */
async function parsedCertificateAuthority(
  ca: CertificateAuthorityKeyPair,
): Promise<ParsedCertificateAuthority> {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(ca.certificatePem);
  } catch (e) {
    throw new Error(`the CA certificate is not a PEM certificate: ${(e as Error).message}`);
  }
  if (!certificate.ca) {
    throw new Error(
      `the certificate ${certificate.subject.trim()} is not a CA (its basicConstraints do not say CA:TRUE)`,
    );
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(ca.privateKeyPem);
  } catch {
    // The key's text stays out of the message: it is secret.
    throw new Error('the CA private key is not a PEM private key (PKCS#8, PKCS#1 or SEC1)');
  }
  const fromKey = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  if (!fromKey.equals(certificate.publicKey.export({ type: 'spki', format: 'der' }))) {
    throw new Error(`the CA private key does not belong to the CA certificate ${certificate.subject.trim()}`);
  }
  return { certificate, signingKey: await signingKeyOf(privateKey) };
}
