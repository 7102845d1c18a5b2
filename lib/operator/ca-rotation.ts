/**
 * The rotation of a `keelsonCa` TlsClass's CA, as pure functions of (the CA Secret's contents, the
 * class's spec, now): the signer (signer.ts) reads the Secret, asks `planCa` what the Secret should
 * hold, which CA signs and which CAs are trusted, makes a CA when told to, writes the Secret when it
 * differs and requeues the class for `nextTransitionAt`. Level-triggered: whatever the Secret holds
 * and however late the operator comes, the plan says the same thing for the same inputs.
 *
 * A CA's life, with `caLifetime` L and `caRotationOverlap` O (the class's rules keep O <= L / 2):
 * - it signs alone until O before its end; then its successor is made and published as a second
 *   ClusterTrustBundle, so pods' `ca.crt` trusts both;
 * - signing switches to the successor O / 2 after it was published (the kubelets have long refreshed
 *   every pod's projected trust bundle by then, and processes that read their trust only at start
 *   had half the overlap to be restarted), or as soon as the old CA has less than an hour left (the
 *   API server refuses pod certificates shorter than an hour), whichever comes first;
 * - every certificate ends no later than the CA that signs it (issueCertificate clips it), so
 *   certificates of the old CA are gone when it expires; then it is dropped from the Secret and its
 *   bundle is deleted.
 *
 * The Secret (`keelson-tls-ca-<class>`), compatible with the one keelson wrote before rotation (only
 * `ca.crt` and `ca.key`), which reads as a CA signing alone:
 *   ca.crt, ca.key          the CA that signs now
 *   next.crt, next.key      its successor, trusted but not yet signing (during the overlap)
 *   previous.crt            CAs that no longer sign but are trusted until they expire (PEM, no key)
 *   annotation keelson.dev/next-ca-published  when the successor was made and published (RFC 3339)
 * Private keys pass through here as opaque text: no error or result of this module quotes one.
 */
import { X509Certificate } from 'node:crypto';
import { MIN_CERTIFICATE_LIFETIME_SECONDS } from '../tls/certificates';

export const CA_SECRET_KEYS = {
  certificate: 'ca.crt',
  key: 'ca.key',
  nextCertificate: 'next.crt',
  nextKey: 'next.key',
  previous: 'previous.crt',
} as const;

/** The annotation on the CA Secret: when the successor CA was made and published. */
export const NEXT_CA_PUBLISHED_ANNOTATION = 'keelson.dev/next-ca-published';

/** A CA certificate the class trusts, with its end. */
export interface TrustedCa {
  readonly certificatePem: string;
  readonly notAfter: Date;
}

/** A CA that signs (or will): its certificate, key and end. */
export interface SigningCa extends TrustedCa {
  readonly privateKeyPem: string;
}

/** What a class's CA Secret holds. */
export interface CaSecretContents {
  /** The CA that signs; undefined before the first is made. */
  readonly current?: SigningCa;
  /** The successor during the overlap, and when it was published. */
  readonly next?: SigningCa & { readonly publishedAt: Date };
  /** CAs that no longer sign, trusted until they expire. */
  readonly previous: readonly TrustedCa[];
}

/** The durations of a `keelsonCa` class that rotation depends on. */
export interface CaRotationSpec {
  readonly caLifetimeSeconds: number;
  readonly caRotationOverlapSeconds: number;
}

/** What the class's CA should be now. */
export interface CaPlan {
  /** What the Secret should hold (before `create`, if any, is done). */
  readonly state: CaSecretContents;
  /** A CA to make now: the first (`current`) or the successor (`next`); then plan again. */
  readonly create?: 'current' | 'next';
  /** The CA that signs now (undefined while `create` is set). */
  readonly signing?: SigningCa;
  /** The CA certificates to publish, each as a ClusterTrustBundle, oldest first. */
  readonly trusted: readonly string[];
  /** When the plan changes next (a switch, a successor due, a CA expiring); undefined with `create`. */
  readonly nextTransitionAt?: Date;
}

/** A CA Secret that cannot be read; its message names keys, never their values. */
export class CaSecretError extends Error {}

/** How long after a successor is published it starts signing: half the overlap. */
export function switchDelaySeconds(spec: CaRotationSpec): number {
  return Math.floor(spec.caRotationOverlapSeconds / 2);
}

const MIN_LEAF_MS = MIN_CERTIFICATE_LIFETIME_SECONDS * 1000;

/**
 * Reads the CA Secret's data (values decoded to text) and annotations (a successor without its
 * publication time counts as published `now`). Throws CaSecretError for a
 * Secret that lacks the current CA or holds a half successor or a certificate that is none.
 */
export function readCaSecret(
  data: Readonly<Record<string, string>>,
  annotations: Readonly<Record<string, string>>,
  now: Date,
): CaSecretContents {
  const K = CA_SECRET_KEYS;
  const pair = (certKey: string, keyKey: string): SigningCa | undefined => {
    const certificatePem = data[certKey];
    const privateKeyPem = data[keyKey];
    if (!certificatePem && !privateKeyPem) return undefined;
    if (!certificatePem || !privateKeyPem) {
      throw new CaSecretError(
        `holds ${certificatePem ? certKey : keyKey} without ${certificatePem ? keyKey : certKey}`,
      );
    }
    return { certificatePem, privateKeyPem, notAfter: notAfterOf(certificatePem, certKey) };
  };
  const current = pair(K.certificate, K.key);
  if (!current) throw new CaSecretError(`lacks ${K.certificate} and ${K.key}`);
  const next = pair(K.nextCertificate, K.nextKey);
  let nextState: CaSecretContents['next'];
  if (next) {
    const published = Date.parse(annotations[NEXT_CA_PUBLISHED_ANNOTATION] ?? '');
    // A successor without a readable time counts as published now: the switch waits its delay.
    nextState = { ...next, publishedAt: Number.isFinite(published) ? new Date(published) : now };
  }
  const previous = splitPem(data[K.previous] ?? '').map((certificatePem) => ({
    certificatePem,
    notAfter: notAfterOf(certificatePem, K.previous),
  }));
  return { current, next: nextState, previous };
}

/** The Secret's data (text values) and annotations that hold `state`. */
export function caSecretContents(state: CaSecretContents): {
  data: Record<string, string>;
  annotations: Record<string, string>;
} {
  const K = CA_SECRET_KEYS;
  const data: Record<string, string> = {};
  const annotations: Record<string, string> = {};
  if (state.current) {
    data[K.certificate] = state.current.certificatePem;
    data[K.key] = state.current.privateKeyPem;
  }
  if (state.next) {
    data[K.nextCertificate] = state.next.certificatePem;
    data[K.nextKey] = state.next.privateKeyPem;
    annotations[NEXT_CA_PUBLISHED_ANNOTATION] = state.next.publishedAt.toISOString();
  }
  if (state.previous.length > 0) data[K.previous] = state.previous.map((p) => p.certificatePem).join('');
  return { data, annotations };
}

/** `state` with a CA just made, as `planCa` asked: the first, or the successor published `now`. */
export function withNewCa(
  state: CaSecretContents,
  created: 'current' | 'next',
  ca: SigningCa,
  now: Date,
): CaSecretContents {
  const made: SigningCa = {
    certificatePem: ca.certificatePem,
    privateKeyPem: ca.privateKeyPem,
    notAfter: ca.notAfter,
  };
  return created === 'current'
    ? { ...state, current: made, next: undefined }
    : { ...state, next: { ...made, publishedAt: now } };
}

/** What the class's CA should be at `now`, from what its Secret holds (undefined: no Secret yet). */
export function planCa(stored: CaSecretContents | undefined, spec: CaRotationSpec, now: Date): CaPlan {
  const t = now.getTime();
  const overlapMs = spec.caRotationOverlapSeconds * 1000;
  const delayMs = switchDelaySeconds(spec) * 1000;
  let current = stored?.current;
  let next = stored?.next;
  let previous = [...(stored?.previous ?? [])];

  // The successor takes over once published long enough, or when the old CA can no longer sign an
  // hour-long certificate.
  if (
    next &&
    (!current || t >= next.publishedAt.getTime() + delayMs || remaining(current, t) <= MIN_LEAF_MS)
  ) {
    if (current) previous.push(trustedOf(current));
    current = {
      certificatePem: next.certificatePem,
      privateKeyPem: next.privateKeyPem,
      notAfter: next.notAfter,
    };
    next = undefined;
  }
  // An expired CA is trusted by no one: dropped.
  previous = previous.filter((p) => p.notAfter.getTime() > t);
  if (current && current.notAfter.getTime() <= t) current = undefined;
  const state: CaSecretContents = { current, next, previous };
  if (!current) return { state, create: 'current', trusted: previous.map((p) => p.certificatePem) };
  if (!next && remaining(current, t) <= overlapMs) {
    return { state, create: 'next', trusted: [...previous, current].map((p) => p.certificatePem) };
  }

  const transitions = [
    ...previous.map((p) => p.notAfter.getTime()),
    current.notAfter.getTime(),
    ...(next
      ? [next.publishedAt.getTime() + delayMs, current.notAfter.getTime() - MIN_LEAF_MS]
      : [current.notAfter.getTime() - overlapMs]),
  ].filter((at) => at > t);
  return {
    state,
    signing: current,
    trusted: [...previous, current, ...(next ? [next] : [])].map((p) => p.certificatePem),
    nextTransitionAt: new Date(Math.min(...transitions)),
  };
}

function remaining(ca: TrustedCa, t: number): number {
  return ca.notAfter.getTime() - t;
}

function trustedOf(ca: TrustedCa): TrustedCa {
  // As previous.crt reads back, so that the Secret is written once.
  return { certificatePem: splitPem(ca.certificatePem)[0] ?? ca.certificatePem, notAfter: ca.notAfter };
}

function notAfterOf(pem: string, key: string): Date {
  try {
    return new Date(new X509Certificate(pem).validTo);
  } catch {
    throw new CaSecretError(`holds in ${key} something that is not a PEM certificate`);
  }
}

/** The PEM certificates in a text, each ending in a newline. */
export function splitPem(text: string): string[] {
  return (text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []).map(
    (block) => `${block}\n`,
  );
}
