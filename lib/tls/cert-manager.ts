/**
 * The cert-manager delivery of a `certManager` TlsClass: one cert-manager `Certificate` per role
 * group and TLS use, whose Secret the role group's pods mount (`tlsVolumes`, pod-tls.ts).
 *
 * A certificate is per role group, not per pod: every pod of the group shares one key and one
 * certificate, which names every pod of the group (the replica count is in the spec) and the
 * Services that select them. Scaling a role group changes the names, so the Certificate's
 * `dnsNames`; cert-manager then issues a new certificate into the same Secret, and the kubelet
 * rewrites the mounted files of the running pods (its sync period, about a minute). cert-manager
 * renews the certificate when two thirds of its lifetime have passed, with the same effect. Whether
 * a product picks up rewritten files without a restart is the product's matter (see each product's
 * README); restarting pods before their certificate expires is not done here.
 */
import { TLS_CLASS_LABEL, tlsSecretName, type RoleGroupTls, type StackletTls, type TlsUse } from './pod-tls';
import type { CertManagerIssuerRef } from './spec.generated';

/** cert-manager's API version of `Certificate`. */
export const CERT_MANAGER_API_VERSION = 'cert-manager.io/v1';

/**
 * The fields of a cert-manager `Certificate` (cert-manager.io/v1) keelson writes. Hand-written
 * from cert-manager's CRD (`deploy/crds/cert-manager.io_certificates.yaml` of
 * github.com/cert-manager/cert-manager v1.21.2): only what keelson sets.
 */
export interface CertManagerCertificate {
  readonly apiVersion: typeof CERT_MANAGER_API_VERSION;
  readonly kind: 'Certificate';
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Record<string, string>;
  };
  readonly spec: {
    /** The Secret cert-manager writes `tls.crt`, `tls.key`, `ca.crt` (and additional formats) into. */
    readonly secretName: string;
    /** Labels and annotations cert-manager puts on that Secret. */
    readonly secretTemplate?: { readonly labels?: Record<string, string> };
    readonly commonName?: string;
    readonly dnsNames: readonly string[];
    /** A Go duration (`24h`). */
    readonly duration?: string;
    readonly privateKey?: {
      readonly algorithm?: 'RSA' | 'ECDSA' | 'Ed25519';
      readonly size?: number;
      readonly encoding?: 'PKCS1' | 'PKCS8';
      readonly rotationPolicy?: 'Never' | 'Always';
    };
    readonly usages?: readonly string[];
    /** How many CertificateRequests cert-manager keeps per Certificate (its default: 1). */
    readonly revisionHistoryLimit?: number;
    readonly issuerRef: { readonly name: string; readonly kind?: string; readonly group?: string };
    readonly additionalOutputFormats?: readonly { readonly type: 'CombinedPEM' | 'DER' }[];
  };
}

/** cert-manager's own API group, the issuers' default. */
export const CERT_MANAGER_GROUP = 'cert-manager.io';

/** A Go duration for cert-manager: whole hours, minutes or seconds. */
export function goDuration(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/** The four names of a Service a client may use: `<svc>`, `<svc>.<ns>`, `<svc>.<ns>.svc`, the FQDN. */
function serviceNames(service: string, namespace: string, clusterDomain: string): string[] {
  return [
    service,
    `${service}.${namespace}`,
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.${clusterDomain}`,
  ];
}

/** What `certManagerCertificates` needs to know of a role group. */
export interface RoleGroupCertificateInput {
  readonly rgTls: RoleGroupTls;
  readonly tls: StackletTls;
  /** The workload's name (a StatefulSet's pods are `<workload>-<i>`). */
  readonly workload: string;
  /** The headless Service its pods' stable names are under. */
  readonly headlessService: string;
  /** Pod count the names are made for (the spec's replicas, also while stopped). */
  readonly replicas: number;
  /** Every other Service of the stacklet that selects these pods (client, metrics). */
  readonly services: readonly string[];
  readonly namespace: string;
  readonly clusterDomain: string;
  /** The labels of the role group's objects; the Certificate and its Secret carry them. */
  readonly labels: Record<string, string>;
}

/**
 * The DNS names of a role group's certificate: each pod's stable name in its four forms (the same
 * names keelson's Pod Certificate signer gives a pod), then the headless Service and every other
 * Service that selects the pods, each in its four forms. The first is pod 0's FQDN.
 */
export function roleGroupDnsNames(
  input: Omit<RoleGroupCertificateInput, 'rgTls' | 'tls' | 'labels'>,
): string[] {
  const { namespace, clusterDomain, headlessService } = input;
  const names: string[] = [];
  for (let i = 0; i < input.replicas; i++) {
    const pod = `${input.workload}-${i}.${headlessService}`;
    names.push(
      `${pod}.${namespace}.svc.${clusterDomain}`,
      `${pod}.${namespace}.svc`,
      `${pod}.${namespace}`,
      pod,
    );
  }
  for (const service of [headlessService, ...input.services]) {
    names.push(...serviceNames(service, namespace, clusterDomain));
  }
  return [...new Set(names)];
}

/** The cert-manager Certificates of a role group: one per TLS use whose class is `certManager`. */
export function certManagerCertificates(input: RoleGroupCertificateInput): CertManagerCertificate[] {
  const certificates: CertManagerCertificate[] = [];
  const uses: readonly TlsUse[] = ['server', 'internal'];
  for (const use of uses) {
    const tlsClass = input.tls[use];
    if (!input.rgTls[use] || !tlsClass?.certManagerIssuer) continue;
    const name = tlsSecretName(input.workload, use);
    certificates.push(
      certManagerCertificate({
        name,
        // The class label lets the operator find a class's certificates (and so its CAs, which it
        // publishes for the class's clients: lib/operator/cert-manager-trust.ts).
        labels: { ...input.labels, [TLS_CLASS_LABEL]: tlsClass.name },
        dnsNames: roleGroupDnsNames(input),
        lifetimeSeconds: tlsClass.certificateLifetimeSeconds ?? 86_400,
        issuer: tlsClass.certManagerIssuer,
      }),
    );
  }
  return certificates;
}

function certManagerCertificate(c: {
  name: string;
  labels: Record<string, string>;
  dnsNames: string[];
  lifetimeSeconds: number;
  issuer: CertManagerIssuerRef;
}): CertManagerCertificate {
  return {
    apiVersion: CERT_MANAGER_API_VERSION,
    kind: 'Certificate',
    metadata: { name: c.name, labels: c.labels },
    spec: {
      secretName: c.name,
      secretTemplate: { labels: c.labels },
      // A common name is at most 64 characters; the names are in the SANs either way.
      commonName: c.dnsNames.find((n) => n.length <= 64),
      dnsNames: c.dnsNames,
      duration: goDuration(c.lifetimeSeconds),
      // As Pod Certificates: ECDSA P-256; PKCS#8, the key format of the mount contract; a new key
      // with each certificate.
      privateKey: { algorithm: 'ECDSA', size: 256, encoding: 'PKCS8', rotationPolicy: 'Always' },
      // Server and client: internal traffic (quorum, inter-broker) authenticates both ends.
      usages: ['digital signature', 'server auth', 'client auth'],
      // The latest CertificateRequest only: its status.ca is the CA the operator publishes for the
      // class's clients (cert-manager's default, stated so that it holds).
      revisionHistoryLimit: 1,
      issuerRef: { name: c.issuer.name, kind: c.issuer.kind, group: c.issuer.group ?? CERT_MANAGER_GROUP },
      // `tls-combined.pem` (key, then chain) becomes the contract's tls.pem.
      additionalOutputFormats: [{ type: 'CombinedPEM' }],
    },
  };
}
