/**
 * How TLS reaches a stacklet's pods, the same way for every product: which TlsClass serves which
 * traffic, the files a product reads, and the volumes that deliver them.
 *
 * Two deliveries, the same files either way:
 * - Pod Certificates (classes `keelsonCa`, `secretCa`): a `podCertificate` projection (the kubelet
 *   makes the key inside the node and asks the class's signer, keelson's operator, for a
 *   certificate carrying the pod's names) and a `clusterTrustBundle` projection (every CA of the
 *   class, two during a CA rotation). The kubelet renews the certificate before it expires and
 *   rewrites the files in place; the key never leaves the node.
 * - A Secret per role group and use (class `certManager`, see cert-manager.ts): cert-manager
 *   writes it, the pods mount it. Works on any Kubernetes version, without keelson's operator.
 */
import { createHash } from 'node:crypto';
import type { IConstruct } from 'constructs';
import type { Volume, VolumeMount } from '../../imports/k8s-wire';
import type { CertManagerIssuerRef } from './spec.generated';
import { TLS_CLASS_NAME, type TlsSpec } from '../spec/common';

/** Where TLS files are mounted: one directory per kind of traffic. */
export const TLS_MOUNT_ROOT = '/keelson/tls';

/** The two kinds of traffic a stacklet may protect with TLS. */
export type TlsUse = 'server' | 'internal';

/** The files of one TLS use, as a product reads them. */
export interface TlsFiles {
  /** The directory holding the files below. */
  readonly dir: string;
  /** The PKCS#8 private key followed by the certificate chain, in one file (read atomically). */
  readonly bundle: string;
  /** The private key alone (PKCS#8 PEM). */
  readonly key: string;
  /** The certificate chain alone, leaf first. */
  readonly certificate: string;
  /** Every CA to trust, PEM (two during a CA rotation). */
  readonly trust: string;
}

/** The TLS a role group's pods speak; a missing member means that traffic is plaintext. */
export interface RoleGroupTls {
  readonly server?: TlsFiles;
  readonly internal?: TlsFiles;
}

/** The TlsClass a stacklet uses for each kind of traffic; a missing member means TLS is off there. */
export interface StackletTls {
  readonly server?: TlsClassInfo;
  readonly internal?: TlsClassInfo;
}

/** What a stacklet needs to know of a TlsClass. */
export interface TlsClassInfo {
  readonly name: string;
  /** The longest lifetime the class issues certificates for, in seconds. @default 86400 */
  readonly certificateLifetimeSeconds?: number;
  /**
   * Set for a `certManager` class: its certificates come from this cert-manager issuer, through one
   * Secret per role group and use, instead of Pod Certificates. @default - Pod Certificates
   */
  readonly certManagerIssuer?: CertManagerIssuerRef;
}

// The TlsClasses of each app, by its root construct: a stacklet looks its classes up here rather
// than walking the whole tree, which would make synth quadratic in the number of stacklets.
const classesByApp = new WeakMap<IConstruct, TlsClassInfo[]>();

/** Called by a TlsClass construct: stacklets defined after it in the same app see the class. */
export function registerTlsClass(scope: IConstruct, info: TlsClassInfo): void {
  const root = scope.node.root;
  classesByApp.set(root, [...(classesByApp.get(root) ?? []), info]);
}

/** The TlsClasses registered in the app `scope` belongs to. */
export function tlsClassesIn(scope: IConstruct): readonly TlsClassInfo[] {
  return classesByApp.get(scope.node.root) ?? [];
}

/** The class a stacklet uses when its spec names none. */
export const DEFAULT_TLS_CLASS = 'tls';

/** Every keelson signer name starts with this; the rest is the TlsClass's name. */
export const TLS_SIGNER_PREFIX = 'keelson.dev/';

const CLASS_NAME = new RegExp(TLS_CLASS_NAME.pattern);

/** True when `name` may name a TlsClass (the rule `TLS_CLASS_NAME` states). */
export function isTlsClassName(name: string): boolean {
  return name.length <= TLS_CLASS_NAME.maxLength && CLASS_NAME.test(name);
}

/** The signer of a class's certificates (`spec.signerName` of its PodCertificateRequests). */
export function tlsSignerName(className: string): string {
  return `${TLS_SIGNER_PREFIX}${className}`;
}

/**
 * The TlsClass a signer name asks for (the inverse of `tlsSignerName`): undefined for another
 * signer's name, `{ invalid }` for a keelson signer name whose rest cannot name a TlsClass.
 */
export function tlsClassOfSigner(signerName: string): { name: string } | { invalid: string } | undefined {
  if (!signerName.startsWith(TLS_SIGNER_PREFIX)) return undefined;
  const name = signerName.slice(TLS_SIGNER_PREFIX.length);
  return isTlsClassName(name) ? { name } : { invalid: name };
}

/** The label that marks a class's ClusterTrustBundles. */
export const TLS_CLASS_LABEL = 'keelson.dev/tls-class';

/** The files of `use`, at the paths every product reads them from. */
export function tlsFiles(use: TlsUse): TlsFiles {
  const dir = `${TLS_MOUNT_ROOT}/${use}`;
  return {
    dir,
    bundle: `${dir}/tls.pem`,
    key: `${dir}/tls.key`,
    certificate: `${dir}/tls.crt`,
    trust: `${dir}/ca.crt`,
  };
}

/**
 * Which class serves which traffic: none when `tls.enabled` is false; otherwise each use's class
 * (the default `tls` where unnamed) when it exists. A class named explicitly that does not exist
 * is a problem (a typo must not turn TLS off); the default class missing just means no TLS.
 */
export function resolveStackletTls(
  spec: TlsSpec | undefined,
  classes: readonly TlsClassInfo[],
): { tls: StackletTls; problems: string[] } {
  if (spec?.enabled === false) return { tls: {}, problems: [] };
  const problems: string[] = [];
  const pick = (field: 'serverTlsClass' | 'internalTlsClass'): TlsClassInfo | undefined => {
    const named = spec?.[field];
    const found = classes.find((c) => c.name === (named ?? DEFAULT_TLS_CLASS));
    if (named !== undefined && !found) {
      problems.push(
        `spec.clusterConfig.tls.${field}: the TlsClass "${named}" does not exist; create it (operator mode), ` +
          'define a TlsClass construct of that name before this stacklet (synth mode), or set ' +
          'spec.clusterConfig.tls.enabled to false',
      );
    }
    return found;
  };
  return { tls: { server: pick('serverTlsClass'), internal: pick('internalTlsClass') }, problems };
}

/** The files a role group's pods get, given the uses its role speaks and the stacklet's classes. */
export function roleGroupTls(uses: readonly TlsUse[], tls: StackletTls): RoleGroupTls {
  const on = (use: TlsUse) => uses.includes(use) && tls[use] !== undefined;
  return {
    server: on('server') ? tlsFiles('server') : undefined,
    internal: on('internal') ? tlsFiles('internal') : undefined,
  };
}

/** The volume name of a TLS use. */
export function tlsVolumeName(use: TlsUse): string {
  return `tls-${use}`;
}

/**
 * The Secret that holds a role group's certificate for `use` when its class delivers through
 * Secrets (`certManager`): `<workload>-tls-<use>`, named after the role group's workload so that it
 * belongs to the stacklet (and to no other stacklet of the namespace).
 */
export function tlsSecretName(workload: string, use: TlsUse): string {
  return `${workload}-tls-${use}`;
}

/**
 * The Secret keys a Secret-delivered certificate is read from, by file of the mount contract:
 * the `kubernetes.io/tls` layout (`tls.crt`, `tls.key`) plus `ca.crt`, and `tls-combined.pem`
 * (the key, then the chain: what cert-manager writes for `additionalOutputFormats: CombinedPEM`)
 * for `tls.pem`, so that no container has to concatenate files.
 */
export const TLS_SECRET_KEYS = {
  bundle: 'tls-combined.pem',
  key: 'tls.key',
  certificate: 'tls.crt',
  trust: 'ca.crt',
} as const;

/**
 * The volumes and mounts that deliver a role group's TLS files. For a Pod Certificates class: a
 * projected volume with the pod's own certificate from the class's signer and the class's trust
 * bundle. For a `certManager` class: the role group's Secret (`tlsSecretName(workload, use)`),
 * its keys mapped onto the file names of the contract.
 */
export function tlsVolumes(
  rgTls: RoleGroupTls,
  tls: StackletTls,
  workload?: string,
): { volumes: Volume[]; mounts: VolumeMount[] } {
  const volumes: Volume[] = [];
  const mounts: VolumeMount[] = [];
  for (const use of ['server', 'internal'] as const) {
    const files = rgTls[use];
    const tlsClass = tls[use];
    if (!files || !tlsClass) continue;
    mounts.push({ name: tlsVolumeName(use), mountPath: files.dir, readOnly: true });
    if (tlsClass.certManagerIssuer) {
      if (workload === undefined) throw new Error(`the TlsClass "${tlsClass.name}" needs the workload name`);
      volumes.push({
        name: tlsVolumeName(use),
        secret: {
          secretName: tlsSecretName(workload, use),
          // Owner (root) and the pod's fsGroup may read; the key is not world-readable.
          defaultMode: 0o440,
          items: (['bundle', 'key', 'certificate', 'trust'] as const).map((file) => ({
            key: TLS_SECRET_KEYS[file],
            path: basename(files[file]),
          })),
        },
      });
      continue;
    }
    const signerName = tlsSignerName(tlsClass.name);
    volumes.push({
      name: tlsVolumeName(use),
      projected: {
        sources: [
          {
            podCertificate: {
              signerName,
              keyType: 'ECDSAP256',
              credentialBundlePath: basename(files.bundle),
              keyPath: basename(files.key),
              certificateChainPath: basename(files.certificate),
              maxExpirationSeconds: tlsClass.certificateLifetimeSeconds,
            },
          },
          {
            clusterTrustBundle: {
              signerName,
              labelSelector: { matchLabels: { [TLS_CLASS_LABEL]: tlsClass.name } },
              path: basename(files.trust),
            },
          },
        ],
      },
    });
  }
  return { volumes, mounts };
}

/**
 * The TLS a pod template speaks on `use` traffic, read back from its volumes (so StatefulSets
 * written before this function existed answer too): `off`, `TlsClass <name>` for a Pod
 * Certificates class, or `Secret <name>` for a Secret-delivered one. Pods whose answers differ may
 * fail each other's handshakes on that traffic.
 */
export function tlsOfPodVolumes(volumes: readonly Volume[] | undefined, use: TlsUse): string {
  const volume = volumes?.find((v) => v.name === tlsVolumeName(use));
  if (!volume) return 'off';
  const signerName = volume.projected?.sources?.find((s) => s.podCertificate)?.podCertificate?.signerName;
  if (signerName !== undefined) {
    const tlsClass = tlsClassOfSigner(signerName);
    return tlsClass && 'name' in tlsClass ? `TlsClass ${tlsClass.name}` : `signer ${signerName}`;
  }
  return volume.secret ? `Secret ${volume.secret.secretName}` : 'on';
}

/** Where a client pod finds the CAs of the classes it trusts (see {@link tlsTrustVolumes}). */
export const TLS_TRUST_ROOT = `${TLS_MOUNT_ROOT}/trust`;

/**
 * The CA bundle (PEM, every CA of the class) of the TlsClass `className` in a pod that mounts it
 * as a client with {@link tlsTrustVolumes}: `/keelson/tls/trust/<class>/ca.crt`.
 */
export function tlsTrustFile(className: string): string {
  return `${TLS_TRUST_ROOT}/${className}/ca.crt`;
}

/**
 * The volume name of a client trust bundle: `tls-trust-<class>`, or, for a class name too long for
 * a volume name (63 characters), its start and a hash of the whole name.
 */
/** The name every client trust volume ({@link tlsTrustVolumeName}) starts with. */
export const TLS_TRUST_VOLUME_PREFIX = 'tls-trust-';

export function tlsTrustVolumeName(className: string): string {
  const name = `${TLS_TRUST_VOLUME_PREFIX}${className}`;
  if (name.length <= 63) return name;
  const hash = createHash('sha256').update(className).digest('hex').slice(0, 10);
  return `${name.slice(0, 52).replace(/-+$/, '')}-${hash}`;
}

/**
 * The volumes and read-only mounts that give a pod, as a client, the CAs of other stacklets'
 * TlsClasses: for each class in `classNames` (duplicates folded) a projected `clusterTrustBundle`
 * (signer `keelson.dev/<class>`, label `keelson.dev/tls-class=<class>`) at {@link tlsTrustFile}.
 * A role whose pods connect to a stacklet that speaks TLS (its discovery ConfigMap names the class,
 * like `HIVE_TLS_CLASS` or `ZOOKEEPER_TLS_CLASS`) adds them to its pod's `volumes` and its
 * container's `volumeMounts`, whether or not the role speaks TLS itself; the kubelet keeps the file
 * current (both CAs during a CA rotation). Only the CAs: no certificate is issued for the pod.
 */
export function tlsTrustVolumes(classNames: readonly string[]): { volumes: Volume[]; mounts: VolumeMount[] } {
  const volumes: Volume[] = [];
  const mounts: VolumeMount[] = [];
  for (const className of [...new Set(classNames)].sort()) {
    const file = tlsTrustFile(className);
    volumes.push({
      name: tlsTrustVolumeName(className),
      projected: {
        sources: [
          {
            clusterTrustBundle: {
              signerName: tlsSignerName(className),
              labelSelector: { matchLabels: { [TLS_CLASS_LABEL]: className } },
              path: basename(file),
            },
          },
        ],
      },
    });
    mounts.push({
      name: tlsTrustVolumeName(className),
      mountPath: file.slice(0, file.lastIndexOf('/')),
      readOnly: true,
    });
  }
  return { volumes, mounts };
}

function basename(file: string): string {
  return file.slice(file.lastIndexOf('/') + 1);
}
