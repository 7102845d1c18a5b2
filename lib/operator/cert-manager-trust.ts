/**
 * The CAs of a `certManager` TlsClass, for the clients of its stacklets.
 *
 * A stacklet that connects to another one over TLS trusts the other's class through a
 * `clusterTrustBundle` projection (lib/tls `tlsTrustVolumes`, signer `keelson.dev/<class>`). For a
 * `keelsonCa` or `secretCa` class the operator knows the CA and publishes it; for a `certManager`
 * class the CA is cert-manager's issuer's, which keelson learns from what cert-manager says it
 * signed with: `status.ca` of the CertificateRequests of keelson's Certificates of the class. The
 * operator publishes each distinct CA as a ClusterTrustBundle of the class (signer.ts), so the same
 * projection serves every class and no product knows the difference.
 *
 * Why the CertificateRequests and not the issued Secrets' `ca.crt`: reading those Secrets would put
 * every stacklet's private key in the operator's memory, and anyone who may edit a Secret in one
 * namespace could put a CA of theirs into the trust of every client of the class in the cluster.
 * `status.ca` is written by cert-manager through the status subresource, after it signed. A request
 * counts when it is Ready, carries the class's label (cert-manager copies a Certificate's labels to
 * its requests), is controlled by a Certificate a keelson stacklet controls, and names the class's
 * issuer. keelson's Certificates keep one request each (`revisionHistoryLimit: 1`), so after an
 * issuer changes its CA the old CA stays trusted until every Certificate has been issued again.
 */
import { LABEL_MANAGED_BY, MANAGED_BY } from '../stacklet/labels';
import { API_GROUP } from '../stacklet/product';
import { CERT_MANAGER_GROUP } from '../tls/cert-manager';
import { TLS_CLASS_LABEL } from '../tls/pod-tls';
import type { CertManagerIssuerRef } from '../tls/spec.generated';
import type { KindCache } from './cache';
import { isStatus, type KubeClient } from './client';
import type { KubeObject } from './informer';
import { CERTIFICATE_REQUEST_RESOURCE, collectionPath } from './resources';

/** The fields of a cert-manager CertificateRequest keelson reads. */
export interface CertificateRequest extends KubeObject {
  spec?: { issuerRef?: { name?: string; kind?: string; group?: string } };
  status?: { ca?: string; conditions?: { type: string; status: string }[] };
}

/** True when `request`'s issuer is the class's (`group` defaults to cert-manager's, `kind` to Issuer). */
function sameIssuer(request: CertificateRequest, issuer: CertManagerIssuerRef): boolean {
  const ref = request.spec?.issuerRef ?? {};
  return (
    ref.name === issuer.name &&
    (ref.kind ?? 'Issuer') === issuer.kind &&
    (ref.group || CERT_MANAGER_GROUP) === (issuer.group || CERT_MANAGER_GROUP)
  );
}

/**
 * The CAs (PEM, sorted, each once) cert-manager signed the class's certificates with, from the
 * Ready CertificateRequests of keelson's Certificates of the class in `namespaces` (all when
 * undefined). `certificates` is the operator's cache of Certificates (keelson's); a request whose
 * Certificate it does not hold, or holds without a keelson stacklet as controller, is left out.
 * An API server that does not serve CertificateRequests (cert-manager not installed) has none.
 */
export async function certManagerCas(
  client: KubeClient,
  className: string,
  issuer: CertManagerIssuerRef,
  certificates: KindCache | undefined,
  namespaces: readonly string[] | undefined,
): Promise<string[]> {
  if (!certificates) return [];
  const selector = `${TLS_CLASS_LABEL}=${className},${LABEL_MANAGED_BY}=${MANAGED_BY}`;
  const requests: CertificateRequest[] = [];
  for (const namespace of namespaces?.length ? namespaces : [undefined]) {
    try {
      const list = await client.request<{ items?: CertificateRequest[] }>(
        'list',
        'GET',
        collectionPath(CERTIFICATE_REQUEST_RESOURCE, namespace),
        CERTIFICATE_REQUEST_RESOURCE.plural,
        { query: { labelSelector: selector } },
      );
      requests.push(...(list.items ?? []));
    } catch (error) {
      if (isStatus(error, 404)) return [];
      throw error;
    }
  }
  return trustedCas(requests, className, issuer, (namespace, name) => certificates.get(namespace, name));
}

/**
 * The pure half of {@link certManagerCas}: the CAs (PEM, sorted, each once) of those `requests`
 * that are Ready, name the class's issuer and are controlled by a Certificate of the class (as
 * `certificate` finds it, same uid) that a keelson stacklet controls.
 */
export function trustedCas(
  requests: readonly CertificateRequest[],
  className: string,
  issuer: CertManagerIssuerRef,
  certificate: (namespace: string, name: string) => KubeObject | undefined,
): string[] {
  const cas = new Set<string>();
  for (const request of requests) {
    const ready = request.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    if (!ready || !request.status?.ca || !sameIssuer(request, issuer)) continue;
    const owner = request.metadata.ownerReferences?.find((r) => r.controller && r.kind === 'Certificate');
    const owning = owner && certificate(request.metadata.namespace ?? '', owner.name);
    if (!owning || owning.metadata.uid !== owner.uid) continue;
    if (owning.metadata.labels?.[TLS_CLASS_LABEL] !== className) continue;
    const stacklet = owning.metadata.ownerReferences?.some(
      (r) => r.controller && r.apiVersion.startsWith(`${API_GROUP}/`),
    );
    if (!stacklet) continue;
    const pem = Buffer.from(request.status.ca, 'base64').toString().trim();
    if (pem.startsWith('-----BEGIN CERTIFICATE-----')) cas.add(`${pem}\n`);
  }
  return [...cas].sort();
}
