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
import { LABEL_INSTANCE, LABEL_MANAGED_BY, MANAGED_BY } from '../stacklet/labels';
import { API_GROUP } from '../stacklet/product';
import { matchesLabelSelector } from '../stacklet/references';
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
}

/** The stacklet a trusted pod belongs to. */
export interface PodStacklet {
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
}

export type PodVerdict =
  | { readonly allowed: true; readonly stacklet: PodStacklet; readonly dnsNames: readonly string[] }
  | { readonly allowed: false; readonly reason: string; readonly message: string };

/** The reference of `object`'s controller, if any. */
export function controllerOf(object: KubeObject): OwnerReference | undefined {
  return (object.metadata.ownerReferences ?? []).find((ref) => ref.controller === true);
}

const isManagedByKeelson = (object: KubeObject) => object.metadata.labels?.[LABEL_MANAGED_BY] === MANAGED_BY;

/**
 * Whether keelson signs for `pod`, and for which names: the pod's own (when it has a subdomain,
 * as a StatefulSet's pods do) and those of every Service of its stacklet (same
 * `app.kubernetes.io/instance`, managed by keelson) whose selector picks the pod.
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
  const services = [...owners.services(namespace)]
    .filter(
      (service) =>
        isManagedByKeelson(service) &&
        service.metadata.labels?.[LABEL_INSTANCE] === instance &&
        selectsPod(service, labels),
    )
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  const dnsNames = [
    ...new Set([
      ...podDnsNames(pod, clusterDomain),
      ...services.flatMap((service) => serviceDnsNames(service, clusterDomain)),
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
 * When the kubelet should ask for the next certificate: two thirds into the lifetime, kept within
 * what the API server accepts (at least 10 minutes after `notBefore` and before `notAfter`).
 */
export function beginRefreshAt(notBefore: Date, notAfter: Date): Date {
  const margin = 10 * 60_000;
  const lifetime = notAfter.getTime() - notBefore.getTime();
  const at = notBefore.getTime() + Math.floor((lifetime * 2) / 3 / 1000) * 1000;
  return new Date(Math.min(Math.max(at, notBefore.getTime() + margin), notAfter.getTime() - margin));
}

/** A PodCertificateRequest's status once keelson issued `certificatePem`. */
export function issuedStatus(
  certificate: { certificatePem: string; notBefore: Date; notAfter: Date },
  message: string,
  now: Date = new Date(),
): Record<string, unknown> {
  return {
    conditions: [
      { type: 'Issued', status: 'True', reason: 'Issued', message, lastTransitionTime: apiTime(now) },
    ],
    certificateChain: certificate.certificatePem,
    notBefore: apiTime(certificate.notBefore),
    notAfter: apiTime(certificate.notAfter),
    beginRefreshAt: apiTime(beginRefreshAt(certificate.notBefore, certificate.notAfter)),
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
