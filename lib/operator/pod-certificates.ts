/**
 * Who gets a certificate from keelson's Pod Certificate signer, and for which names: pure functions
 * over the JSON of a pod, its owners and its stacklet's Services, so the rules are unit tested
 * without a cluster and the signer (signer.ts) only fetches and writes.
 *
 * A pod is trusted by its owner chain, never by what it says about itself (labels, annotations): its
 * controller is a StatefulSet, or a ReplicaSet whose controller is a Deployment; that workload
 * carries `app.kubernetes.io/managed-by: keelson` and is controlled by a keelson stacklet that exists
 * with the uid the reference names; the pod's labels match the workload's selector (and a
 * StatefulSet's pod is named `<statefulset>-<ordinal>`). Owner references are set by whoever
 * creates an object, so the chain proves no more than the namespace's own access control: someone
 * who may create pods in a stacklet's namespace can make one that looks like the stacklet's.
 */
import { LISTENER_VOLUME, POD_NAME_LABEL } from '../listener/pod-listener';
import { LABEL_INSTANCE, LABEL_MANAGED_BY, MANAGED_BY } from '../stacklet/labels';
import { API_GROUP } from '../stacklet/product';
import { matchesLabelSelector } from '../stacklet/references';
import { CLOCK_SKEW_SECONDS, MAX_BACKDATE_SECONDS, REFRESH_MARGIN_SECONDS } from '../tls/certificates';
import type { KubeObject, OwnerReference } from './informer';

/** The cluster's DNS domain unless told otherwise. */
export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

/** Reason of a Denied request whose pod is not one of a keelson stacklet's. */
export const NOT_KEELSON_MANAGED = 'NotKeelsonManaged';

/** A label selector as workloads and Services hold it. */
type LabelSelector = Parameters<typeof matchesLabelSelector>[0];

/** The pod's stable DNS name (`<hostname>.<subdomain>.<ns>.svc.<domain>`) and its shorter forms. */
export function podDnsNames(pod: KubeObject, clusterDomain = DEFAULT_CLUSTER_DOMAIN): string[] {
  const spec = (pod.spec ?? {}) as { hostname?: string; subdomain?: string };
  if (!spec.subdomain) return [];
  const host = `${spec.hostname ?? pod.metadata.name}.${spec.subdomain}`;
  const ns = pod.metadata.namespace;
  return [`${host}.${ns}.svc.${clusterDomain}`, `${host}.${ns}.svc`, `${host}.${ns}`, host];
}

/** The names a client may use for a Service: `<svc>`, `<svc>.<ns>`, `<svc>.<ns>.svc`, and the full one. */
export function serviceDnsNames(service: KubeObject, clusterDomain = DEFAULT_CLUSTER_DOMAIN): string[] {
  const name = service.metadata.name;
  const ns = service.metadata.namespace;
  return [name, `${name}.${ns}`, `${name}.${ns}.svc`, `${name}.${ns}.svc.${clusterDomain}`];
}

/** What the signer reads to judge a pod (from its caches, or the API where it keeps none). */
export interface PodOwners {
  /** A ReplicaSet (apps/v1), or undefined when there is none of that name. */
  replicaSet(namespace: string, name: string): Promise<KubeObject | undefined>;
  /** A StatefulSet or Deployment (apps/v1), or undefined. */
  workload(
    kind: 'StatefulSet' | 'Deployment',
    namespace: string,
    name: string,
  ): Promise<KubeObject | undefined>;
  /** A keelson stacklet of `kind`, or undefined when there is none or the kind is not keelson's. */
  stacklet(kind: string, namespace: string, name: string): KubeObject | undefined;
  /** keelson's Services in `namespace`. */
  services(namespace: string): Iterable<KubeObject>;
  /** A node's addresses (`status.addresses`), or undefined when the node is not known. */
  nodeAddresses(node: string): readonly { type: string; address: string }[] | undefined;
}

/** The stacklet a trusted pod belongs to. */
export interface PodStacklet {
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
}

export type PodVerdict =
  | {
      readonly allowed: true;
      readonly stacklet: PodStacklet;
      readonly dnsNames: readonly string[];
      /** The addresses outside the cluster the pod is reached at (a per-pod listener's), if any. */
      readonly ipAddresses: readonly string[];
      /**
       * Set when a name the certificate must carry is not known yet (a load balancer without its
       * address): the request waits rather than getting a certificate a client would refuse.
       */
      readonly waitingFor?: string;
    }
  | { readonly allowed: false; readonly reason: string; readonly message: string };

/** What the certificate of a pod with a per-pod listener adds to its cluster names. */
export interface ExternalNames {
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  /** What is not known yet, when something is missing. */
  readonly waitingFor?: string;
}

/** The node address types a client outside the pods' network is told (lib/listener's NodePort). */
const CLIENT_NODE_ADDRESS_TYPES = new Set(['ExternalIP', 'InternalIP']);

/**
 * The names clients outside the cluster use for `pod`, when it has a per-pod listener (it mounts
 * the role group's address ConfigMap, lib/listener/pod-listener.ts): through its own Service (named
 * after the pod) of type NodePort, its node's ExternalIP and InternalIP addresses (the class says
 * which one is advertised; a client told the other must pass the name check too); of type
 * LoadBalancer, the ingress ip or hostname. These are the names the address ConfigMap hands out,
 * read from the same facts, so the certificate never waits for the operator to write that map.
 */
export function externalNames(
  pod: KubeObject,
  services: readonly KubeObject[],
  nodeAddresses: PodOwners['nodeAddresses'],
): ExternalNames {
  const none: ExternalNames = { dnsNames: [], ipAddresses: [] };
  const spec = (pod.spec ?? {}) as { nodeName?: string; volumes?: { name: string }[] };
  if (!(spec.volumes ?? []).some((v) => v.name === LISTENER_VOLUME)) return none;
  const name = pod.metadata.name;
  const own = services.find(
    (s) =>
      s.metadata.name === name &&
      (s.spec as { selector?: Record<string, string> } | undefined)?.selector?.[POD_NAME_LABEL] === name,
  );
  if (!own) return { ...none, waitingFor: `the pod's own Service ${name}` };
  const serviceSpec = own.spec as { type?: string };
  if (serviceSpec.type === 'NodePort') {
    const node = spec.nodeName;
    const addresses = (node ? nodeAddresses(node) : undefined) ?? [];
    const ips = addresses.filter((a) => CLIENT_NODE_ADDRESS_TYPES.has(a.type)).map((a) => a.address);
    if (ips.length === 0)
      return { ...none, waitingFor: `an ExternalIP or InternalIP address of the node ${node}` };
    return { dnsNames: [], ipAddresses: [...new Set(ips)] };
  }
  if (serviceSpec.type === 'LoadBalancer') {
    const ingress =
      (own.status as { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } } | undefined)
        ?.loadBalancer?.ingress ?? [];
    const ipAddresses = ingress.flatMap((i) => (i.ip ? [i.ip] : []));
    const dnsNames = ingress.flatMap((i) => (i.hostname ? [i.hostname.toLowerCase()] : []));
    if (ipAddresses.length + dnsNames.length === 0)
      return { ...none, waitingFor: `the load balancer address of the Service ${name}` };
    return { dnsNames, ipAddresses };
  }
  return none;
}

/** The reference of `object`'s controller, if any. */
export function controllerOf(object: KubeObject): OwnerReference | undefined {
  return (object.metadata.ownerReferences ?? []).find((ref) => ref.controller === true);
}

const isManagedByKeelson = (object: KubeObject) => object.metadata.labels?.[LABEL_MANAGED_BY] === MANAGED_BY;

/**
 * Whether keelson signs for `pod`, and for which names: the pod's own (when it has a subdomain,
 * as a StatefulSet's pods do), those of every Service of its stacklet (same
 * `app.kubernetes.io/instance`, managed by keelson) whose selector picks the pod, and the addresses
 * outside the cluster of its per-pod listener (`externalNames`).
 */
export async function judgePod(
  pod: KubeObject,
  owners: PodOwners,
  clusterDomain = DEFAULT_CLUSTER_DOMAIN,
): Promise<PodVerdict> {
  const namespace = pod.metadata.namespace ?? '';
  const what = `pod ${namespace}/${pod.metadata.name}`;
  const deny = (message: string): PodVerdict => ({
    allowed: false,
    reason: NOT_KEELSON_MANAGED,
    message: `${message}; keelson signs only for the pods of a StatefulSet or Deployment that a keelson stacklet controls`,
  });
  const controller = controllerOf(pod);
  if (!controller) return deny(`${what} has no controller`);

  let workloadRef: OwnerReference;
  if (controller.apiVersion === 'apps/v1' && controller.kind === 'ReplicaSet') {
    const replicaSet = await owners.replicaSet(namespace, controller.name);
    if (!replicaSet || replicaSet.metadata.uid !== controller.uid)
      return deny(`the ReplicaSet ${controller.name} that controls ${what} does not exist`);
    const deployment = controllerOf(replicaSet);
    if (!deployment || deployment.apiVersion !== 'apps/v1' || deployment.kind !== 'Deployment')
      return deny(
        `the ReplicaSet ${controller.name} that controls ${what} is not controlled by a Deployment`,
      );
    workloadRef = deployment;
  } else if (controller.apiVersion === 'apps/v1' && controller.kind === 'StatefulSet') {
    workloadRef = controller;
  } else {
    return deny(`${what} is controlled by ${controller.kind} ${controller.name}`);
  }
  const kind = workloadRef.kind as 'StatefulSet' | 'Deployment';
  const workload = await owners.workload(kind, namespace, workloadRef.name);
  if (!workload || workload.metadata.uid !== workloadRef.uid)
    return deny(`the ${kind} ${workloadRef.name} that controls ${what} does not exist`);
  if (!isManagedByKeelson(workload))
    return deny(`the ${kind} ${workloadRef.name} is not managed by keelson (${LABEL_MANAGED_BY})`);
  const stackletRef = controllerOf(workload);
  if (!stackletRef || !stackletRef.apiVersion.startsWith(`${API_GROUP}/`))
    return deny(`the ${kind} ${workloadRef.name} is not controlled by a keelson stacklet`);
  const stacklet = owners.stacklet(stackletRef.kind, namespace, stackletRef.name);
  if (!stacklet || stacklet.metadata.uid !== stackletRef.uid)
    return deny(
      `the ${stackletRef.kind} ${stackletRef.name} that controls the ${kind} ${workloadRef.name} does not exist`,
    );

  const labels = pod.metadata.labels ?? {};
  const selector = (workload.spec as { selector?: LabelSelector } | undefined)?.selector;
  if (!selector || !matchesLabelSelector(selector, labels))
    return deny(`the labels of ${what} do not match the selector of the ${kind} ${workloadRef.name}`);
  if (kind === 'StatefulSet' && !isOrdinalOf(pod.metadata.name, workloadRef.name))
    return deny(`${what} is not named like a pod of the StatefulSet ${workloadRef.name} (<name>-<ordinal>)`);

  const instance = workload.metadata.labels?.[LABEL_INSTANCE] ?? stackletRef.name;
  const namespaceServices = [...owners.services(namespace)];
  const services = namespaceServices
    .filter(
      (service) =>
        isManagedByKeelson(service) &&
        service.metadata.labels?.[LABEL_INSTANCE] === instance &&
        selectsPod(service, labels),
    )
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  const external = externalNames(pod, namespaceServices, owners.nodeAddresses);
  const dnsNames = [
    ...new Set([
      ...podDnsNames(pod, clusterDomain),
      ...services.flatMap((service) => serviceDnsNames(service, clusterDomain)),
      ...external.dnsNames,
    ]),
  ];
  if (dnsNames.length === 0) {
    return {
      allowed: false,
      reason: 'NoDnsNames',
      message: `${what} has no DNS name: it has no subdomain and no Service of its stacklet selects it`,
    };
  }
  return {
    allowed: true,
    stacklet: { kind: stackletRef.kind, name: stackletRef.name, uid: stackletRef.uid },
    dnsNames,
    ipAddresses: external.ipAddresses,
    ...(external.waitingFor ? { waitingFor: external.waitingFor } : {}),
  };
}

function isOrdinalOf(podName: string, statefulSet: string): boolean {
  return (
    podName.startsWith(`${statefulSet}-`) && /^(0|[1-9][0-9]*)$/.test(podName.slice(statefulSet.length + 1))
  );
}

/** A Service selects the pod when it has a selector and every entry of it is among the pod's labels. */
function selectsPod(service: KubeObject, labels: Readonly<Record<string, string>>): boolean {
  const selector = (service.spec as { selector?: Record<string, string> } | undefined)?.selector ?? {};
  return Object.keys(selector).length > 0 && matchesLabelSelector({ matchLabels: selector }, labels);
}

/** A metav1.Time: RFC 3339 in whole seconds, as the API server writes it. */
export function apiTime(date: Date): string {
  return new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

/**
 * How far a certificate's `notBefore` lies before its issue: the usual minute of clock skew, or
 * more when the class asks for a refresh sooner than `REFRESH_MARGIN_SECONDS` after issue (never
 * more than `MAX_BACKDATE_SECONDS`).
 */
export function backdateSeconds(refreshAfterSeconds?: number): number {
  if (refreshAfterSeconds === undefined) return CLOCK_SKEW_SECONDS;
  return Math.min(
    MAX_BACKDATE_SECONDS,
    Math.max(CLOCK_SKEW_SECONDS, REFRESH_MARGIN_SECONDS - refreshAfterSeconds),
  );
}

/**
 * When the kubelet should ask for the next certificate: `refreshAfter.seconds` after the issue, when
 * the class says so, otherwise two thirds into the lifetime; kept within what the API server accepts
 * (at least 10 minutes after `notBefore` and before `notAfter`). The kubelet adds up to 5 minutes of
 * its own jitter and looks every one to two minutes.
 */
export function beginRefreshAt(
  notBefore: Date,
  notAfter: Date,
  refreshAfter?: { readonly issuedAt: Date; readonly seconds: number },
): Date {
  const margin = REFRESH_MARGIN_SECONDS * 1000;
  const lifetime = notAfter.getTime() - notBefore.getTime();
  const at = refreshAfter
    ? Math.floor(refreshAfter.issuedAt.getTime() / 1000) * 1000 + refreshAfter.seconds * 1000
    : notBefore.getTime() + Math.floor((lifetime * 2) / 3 / 1000) * 1000;
  return new Date(Math.min(Math.max(at, notBefore.getTime() + margin), notAfter.getTime() - margin));
}

/**
 * A PodCertificateRequest's status once keelson issued `certificatePem` at `now`, the refresh
 * `refreshAfterSeconds` after it (or two thirds into the lifetime).
 */
export function issuedStatus(
  certificate: { certificatePem: string; notBefore: Date; notAfter: Date },
  message: string,
  now: Date = new Date(),
  refreshAfterSeconds?: number,
): Record<string, unknown> {
  const refreshAfter =
    refreshAfterSeconds === undefined ? undefined : { issuedAt: now, seconds: refreshAfterSeconds };
  return {
    conditions: [
      { type: 'Issued', status: 'True', reason: 'Issued', message, lastTransitionTime: apiTime(now) },
    ],
    certificateChain: certificate.certificatePem,
    notBefore: apiTime(certificate.notBefore),
    notAfter: apiTime(certificate.notAfter),
    beginRefreshAt: apiTime(beginRefreshAt(certificate.notBefore, certificate.notAfter, refreshAfter)),
  };
}

/** A PodCertificateRequest's status when keelson refuses it (`Denied`) or cannot sign it (`Failed`). */
export function refusedStatus(
  type: 'Denied' | 'Failed',
  reason: string,
  message: string,
  now: Date = new Date(),
): Record<string, unknown> {
  return {
    conditions: [
      { type, status: 'True', reason, message: message.slice(0, 32_768), lastTransitionTime: apiTime(now) },
    ],
  };
}

/** True once a request is Issued, Denied or Failed (its status can no longer change). */
export function isSettled(request: KubeObject): boolean {
  const conditions = (request.status as { conditions?: { type: string; status: string }[] } | undefined)
    ?.conditions;
  return (conditions ?? []).some(
    (c) => ['Issued', 'Denied', 'Failed'].includes(c.type) && c.status === 'True',
  );
}
