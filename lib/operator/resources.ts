/**
 * Where each kind the operator touches lives in the REST API. The child kinds are fixed (they are
 * what the framework's builder emits); the stacklet kinds come from the registered products.
 */
import { API_GROUP, API_VERSION, type ProductDefinition } from '../stacklet/product';

export interface ResourceType {
  /** `apps/v1`, `v1`, `keelson.dev/v1alpha1`. */
  readonly apiVersion: string;
  readonly kind: string;
  /** The lower-case plural in the URL (`statefulsets`). */
  readonly plural: string;
}

/**
 * ConfigMaps in general, which the operator also watches as metadata only (beside its own in full)
 * so that a dependency ConfigMap made by hand requeues its dependents when it changes; keelson's
 * own are also among its children.
 */
export const CONFIG_MAP_RESOURCE: ResourceType = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  plural: 'configmaps',
};

/** The kinds a stacklet's build emits, which the operator caches, applies and prunes. */
export const CHILD_RESOURCES: readonly ResourceType[] = [
  CONFIG_MAP_RESOURCE,
  { apiVersion: 'v1', kind: 'Service', plural: 'services' },
  { apiVersion: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts' },
  { apiVersion: 'apps/v1', kind: 'StatefulSet', plural: 'statefulsets' },
  { apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments' },
  { apiVersion: 'apps/v1', kind: 'DaemonSet', plural: 'daemonsets' },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', plural: 'poddisruptionbudgets' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', plural: 'networkpolicies' },
  // For products whose pods read ConfigMaps (ProductDefinition.readsConfigMaps).
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', plural: 'roles' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', plural: 'rolebindings' },
];

/**
 * cert-manager's Certificates, which a stacklet's build emits for a `certManager` TlsClass. A child
 * kind like those above, but optional: cert-manager's CRDs may not be installed, so the operator
 * caches them only once the API server serves them (see `Operator.childKind`).
 */
export const CERTIFICATE_RESOURCE: ResourceType = {
  apiVersion: 'cert-manager.io/v1',
  kind: 'Certificate',
  plural: 'certificates',
};

/**
 * prometheus-operator's ServiceMonitors and PrometheusRules, which a stacklet's build emits when
 * `clusterConfig.monitoring` asks for them. Optional like cert-manager's Certificates: the operator
 * caches them only once the API server serves them.
 */
export const SERVICE_MONITOR_RESOURCE: ResourceType = {
  apiVersion: 'monitoring.coreos.com/v1',
  kind: 'ServiceMonitor',
  plural: 'servicemonitors',
};
export const PROMETHEUS_RULE_RESOURCE: ResourceType = {
  apiVersion: 'monitoring.coreos.com/v1',
  kind: 'PrometheusRule',
  plural: 'prometheusrules',
};

/** The child kinds whose CRDs may be missing: applied and pruned once the API server serves them. */
export const OPTIONAL_CHILD_RESOURCES: readonly ResourceType[] = [
  CERTIFICATE_RESOURCE,
  SERVICE_MONITOR_RESOURCE,
  PROMETHEUS_RULE_RESOURCE,
];

/**
 * cert-manager's CertificateRequests, which the operator reads (never writes) for the CA that
 * signed a `certManager` class's certificates (`status.ca`), to publish it for the class's clients.
 */
export const CERTIFICATE_REQUEST_RESOURCE: ResourceType = {
  apiVersion: 'cert-manager.io/v1',
  kind: 'CertificateRequest',
  plural: 'certificaterequests',
};

/**
 * Secrets, which the operator watches (metadata only, never data) to roll the pods that read one
 * when it changes; it never writes them.
 */
export const SECRET_RESOURCE: ResourceType = { apiVersion: 'v1', kind: 'Secret', plural: 'secrets' };

/**
 * Pods, which the operator watches (keelson's own, status only) to tell in a stacklet's status why
 * its pods are not Ready; it never writes them.
 */
export const POD_RESOURCE: ResourceType = { apiVersion: 'v1', kind: 'Pod', plural: 'pods' };

/**
 * TlsClasses (cluster-scoped), which say where a stacklet's certificates come from: whether one
 * exists decides whether a stacklet speaks TLS, so a change to them requeues every stacklet.
 */
export const TLS_CLASS_RESOURCE: ResourceType = {
  apiVersion: `${API_GROUP}/${API_VERSION}`,
  kind: 'TlsClass',
  plural: 'tlsclasses',
};

/**
 * ListenerClasses (cluster-scoped), which decide the type and settings of the stacklets' Services:
 * a change to one requeues every stacklet.
 */
export const LISTENER_CLASS_RESOURCE: ResourceType = {
  apiVersion: `${API_GROUP}/${API_VERSION}`,
  kind: 'ListenerClass',
  plural: 'listenerclasses',
};

/**
 * AuthenticationClasses (cluster-scoped), which say how a stacklet's users log in: one appearing,
 * going or changing changes the products' config, so every stacklet requeues.
 */
export const AUTHENTICATION_CLASS_RESOURCE: ResourceType = {
  apiVersion: `${API_GROUP}/${API_VERSION}`,
  kind: 'AuthenticationClass',
  plural: 'authenticationclasses',
};

/**
 * Nodes, addresses only: a per-pod listener of a NodePort class advertises its node's address
 * (listener-addresses.ts). Read, never written.
 */
export const NODE_RESOURCE: ResourceType = { apiVersion: 'v1', kind: 'Node', plural: 'nodes' };

/** The resource of a product's custom resource. */
export function stackletResource(product: ProductDefinition): ResourceType {
  return { apiVersion: `${API_GROUP}/${API_VERSION}`, kind: product.kind, plural: product.plural };
}

/** `apiVersion/kind`, the key kinds are looked up by. */
export function kindKey(apiVersion: string, kind: string): string {
  return `${apiVersion}/${kind}`;
}

/**
 * The collection URL of a resource: in one namespace, or across all namespaces when `namespace`
 * is undefined.
 */
export function collectionPath(resource: ResourceType, namespace?: string): string {
  const base = resource.apiVersion.includes('/')
    ? `/apis/${resource.apiVersion}`
    : `/api/${resource.apiVersion}`;
  return namespace === undefined
    ? `${base}/${resource.plural}`
    : `${base}/namespaces/${namespace}/${resource.plural}`;
}

/** The URL of one namespaced object. */
export function objectPath(resource: ResourceType, namespace: string, name: string): string {
  return `${collectionPath(resource, namespace)}/${encodeURIComponent(name)}`;
}
