/**
 * The CA of a `secretCa` TlsClass: one the user keeps in a Secret, which keelson's signer reads
 * each time it signs (signing is rare, so there is no cache to go stale) and never writes or
 * deletes.
 *
 * Which keys of the Secret hold the CA:
 * - `ca.crt` and `ca.key` (PEM), keelson's own layout; or, when the Secret has no `ca.key`,
 * - `tls.crt` and `tls.key`: a `kubernetes.io/tls` Secret as `kubectl create secret tls` writes it,
 *   or a CA Certificate cert-manager issued (`isCA: true`), whose `ca.crt` then holds the CA that
 *   issued it and is trusted too.
 * The CA that signs is the certificate of that file whose public key is the private key's; every
 * certificate of the file(s) is trusted (the class's ClusterTrustBundle), so a user who replaces a
 * CA can keep the old certificate beside the new one until the old CA's certificates have expired.
 * When the signing CA is not self-signed (an intermediate), issued chains carry it after the leaf,
 * so that clients trusting only the root verify them.
 *
 * Anything wrong is a `SecretCaProblem` with a reason and a message naming the Secret and the
 * rule, which the signer writes into the request's `Failed` condition. No message ever holds any of
 * the key's text.
 */
import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import {
  CLOCK_SKEW_SECONDS,
  MIN_CERTIFICATE_LIFETIME_SECONDS,
  type CertificateAuthorityKeyPair,
} from '../tls/certificates';
import { isStatus, type KubeClient } from './client';
import type { KubeObject } from './informer';

/** Where a `secretCa` class's CA lives. */
export interface SecretCaReference {
  readonly secretName: string;
  readonly secretNamespace: string;
}

/** A CA read from the user's Secret, checked and ready to sign. */
export interface SecretCa {
  /** The certificate that signs and its private key. */
  readonly signing: CertificateAuthorityKeyPair;
  /** PEM certificates to put after the leaf in an issued chain: the signing CA when it is not self-signed. */
  readonly intermediatePem: string;
  /** Every CA certificate of the Secret, PEM, each once, in the Secret's order: the class's trust bundle. */
  readonly trustBundlePem: string;
  /** The Secret's keys the signing CA came from, e.g. `['ca.crt', 'ca.key']`. */
  readonly keys: readonly [certificate: string, key: string];
  /** When the signing CA expires. */
  readonly notAfter: Date;
}

/** Reasons of a `Failed` request whose class's Secret cannot sign. */
export const SECRET_CA_REASONS = {
  notFound: 'CaSecretNotFound',
  forbidden: 'CaSecretForbidden',
  incomplete: 'CaSecretIncomplete',
  invalidCertificate: 'InvalidCaCertificate',
  invalidKey: 'InvalidCaKey',
  unsupportedKey: 'UnsupportedCaKey',
  keyMismatch: 'CaKeyMismatch',
  notCa: 'NotACertificateAuthority',
  notYetValid: 'CaNotYetValid',
  expired: 'CaExpired',
} as const;

/** Why a `secretCa` class cannot sign: a reason for the request's `Failed` condition and a message. */
export class SecretCaProblem extends Error {
  constructor(
    public readonly reason: (typeof SECRET_CA_REASONS)[keyof typeof SECRET_CA_REASONS],
    message: string,
  ) {
    super(message);
    this.name = 'SecretCaProblem';
  }
}

/**
 * Reads the Secret and checks its CA. Throws a `SecretCaProblem` for what the user must fix (the
 * Secret is missing, unreadable by the operator's RBAC, or holds no usable CA); other errors (the
 * API server unreachable) are thrown as they are, for a retry.
 */
export async function readSecretCa(
  client: KubeClient,
  ref: SecretCaReference,
  now: Date = new Date(),
): Promise<SecretCa> {
  const where = `${ref.secretNamespace}/${ref.secretName}`;
  let secret: KubeObject;
  try {
    secret = await client.request<KubeObject>(
      'get',
      'GET',
      `/api/v1/namespaces/${ref.secretNamespace}/secrets/${ref.secretName}`,
      'secrets',
    );
  } catch (error) {
    if (isStatus(error, 404)) {
      throw new SecretCaProblem(
        SECRET_CA_REASONS.notFound,
        `the CA Secret ${where} (spec.secretCa) does not exist: create it with the CA's certificate in ca.crt and its private key in ca.key (PEM)`,
      );
    }
    if (isStatus(error, 403)) {
      throw new SecretCaProblem(
        SECRET_CA_REASONS.forbidden,
        `the operator may not read the CA Secret ${where} (forbidden): grant the operator's ServiceAccount get on ` +
          `secrets/${ref.secretName} in ${ref.secretNamespace} (\`keelson deploy --ca-secret ${where}\` writes that Role ` +
          `and RoleBinding); the API server said: ${(error as Error).message}`,
      );
    }
    throw error;
  }
  return secretCaOf(ref, (secret.data ?? {}) as Record<string, string>, now);
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** Checks the CA in a Secret's `data` (base64 values, as the API returns them). */
export function secretCaOf(
  ref: SecretCaReference,
  data: Readonly<Record<string, string>>,
  now: Date = new Date(),
): SecretCa {
  const where = `the CA Secret ${ref.secretNamespace}/${ref.secretName}`;
  const text = (key: string) => (data[key] ? Buffer.from(data[key], 'base64').toString('utf8') : undefined);
  const keys: [string, string] = data['ca.key'] ? ['ca.crt', 'ca.key'] : ['tls.crt', 'tls.key'];
  const [certificateKey, privateKeyKey] = keys;
  const certificateText = text(certificateKey);
  const keyText = text(privateKeyKey);
  if (!keyText) {
    throw new SecretCaProblem(
      SECRET_CA_REASONS.incomplete,
      `${where} has no CA private key: keelson reads ca.crt and ca.key, or tls.crt and tls.key (a kubernetes.io/tls Secret), all PEM`,
    );
  }
  if (!certificateText) {
    throw new SecretCaProblem(
      SECRET_CA_REASONS.incomplete,
      `${where} has ${privateKeyKey} but no ${certificateKey}: the CA's certificate (PEM) goes there`,
    );
  }
  const certificates = parseCertificates(certificateText, `${where} key ${certificateKey}`);
  // A cert-manager CA Certificate keeps the CA that issued it in ca.crt: trusted as well.
  const issuers =
    certificateKey === 'tls.crt' && text('ca.crt')
      ? parseCertificates(text('ca.crt')!, `${where} key ca.crt`)
      : [];

  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(keyText);
  } catch {
    // The key's text, and the parser's words about it, stay out of the message: it is secret.
    throw new SecretCaProblem(
      SECRET_CA_REASONS.invalidKey,
      `${where} key ${privateKeyKey} is not an unencrypted PEM private key (PKCS#8, PKCS#1 or SEC1)`,
    );
  }
  const type = privateKey.asymmetricKeyType;
  const curve = privateKey.asymmetricKeyDetails?.namedCurve;
  if (!(type === 'rsa' || (type === 'ec' && (curve === 'prime256v1' || curve === 'secp384r1')))) {
    throw new SecretCaProblem(
      SECRET_CA_REASONS.unsupportedKey,
      `${where} key ${privateKeyKey} is a ${type}${curve ? ` ${curve}` : ''} key; keelson signs with ECDSA P-256 or P-384 and RSA keys`,
    );
  }
  const publicKey = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const signing = certificates.find((c) =>
    publicKey.equals(c.publicKey.export({ type: 'spki', format: 'der' })),
  );
  if (!signing) {
    throw new SecretCaProblem(
      SECRET_CA_REASONS.keyMismatch,
      `${where}: the private key in ${privateKeyKey} does not belong to any certificate in ${certificateKey} ` +
        `(${certificates.map((c) => subjectOf(c)).join('; ')}); put the CA's certificate and its own key in the Secret`,
    );
  }
  const name = `the certificate ${subjectOf(signing)} in ${where} key ${certificateKey}`;
  if (!signing.ca) {
    throw new SecretCaProblem(
      SECRET_CA_REASONS.notCa,
      `${name} is not a CA (its basicConstraints do not say CA:TRUE); keelson signs only with a CA certificate`,
    );
  }
  const notBefore = new Date(signing.validFrom);
  const notAfter = new Date(signing.validTo);
  if (notBefore.getTime() > now.getTime()) {
    throw new SecretCaProblem(
      SECRET_CA_REASONS.notYetValid,
      `${name} is not valid before ${notBefore.toISOString()}; keelson signs only with a CA valid now`,
    );
  }
  // issueCertificate's rule: a certificate starts a little before now, ends no later than its CA,
  // and lives at least the shortest lifetime the API server accepts.
  const lastUseful = notAfter.getTime() - (MIN_CERTIFICATE_LIFETIME_SECONDS - CLOCK_SKEW_SECONDS) * 1000;
  if (lastUseful < now.getTime()) {
    throw new SecretCaProblem(
      SECRET_CA_REASONS.expired,
      `${name} ${notAfter.getTime() <= now.getTime() ? 'expired' : 'expires'} at ${notAfter.toISOString()}; ` +
        `keelson signs only with a CA valid for at least ${MIN_CERTIFICATE_LIFETIME_SECONDS / 3600}h more: put a new CA in the Secret`,
    );
  }

  const trusted: X509Certificate[] = [];
  for (const c of [...certificates, ...issuers]) {
    if (c.ca && !trusted.some((t) => t.fingerprint256 === c.fingerprint256)) trusted.push(c);
  }
  return {
    signing: { certificatePem: pemOf(signing), privateKeyPem: keyText },
    intermediatePem: signing.subject === signing.issuer ? '' : pemOf(signing),
    trustBundlePem: trusted.map(pemOf).join(''),
    keys,
    notAfter,
  };
}

function parseCertificates(pem: string, where: string): X509Certificate[] {
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) {
    throw new SecretCaProblem(
      SECRET_CA_REASONS.invalidCertificate,
      `${where} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
    );
  }
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw new SecretCaProblem(
        SECRET_CA_REASONS.invalidCertificate,
        `${where}: certificate ${i + 1} is not a valid X.509 certificate: ${(error as Error).message}`,
      );
    }
  });
}

function subjectOf(certificate: X509Certificate): string {
  return certificate.subject.trim().replace(/\n/g, ', ');
}

/** A certificate as one PEM block with a final newline (the form a ClusterTrustBundle holds). */
function pemOf(certificate: X509Certificate): string {
  return certificate.toString().trim() + '\n';
}
