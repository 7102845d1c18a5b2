/**
 * The operator's own deployment, synthesized by keelson: the CRDs of the registered products and of
 * the framework's own kinds (TlsClass), its
 * Namespace, a ServiceAccount, RBAC with only the kinds and verbs the operator uses (a ClusterRole
 * when it watches every namespace; Roles in the watched namespaces and a ClusterRole for the
 * cluster-scoped kinds otherwise; a Role for its CAs' Secrets in its own namespace, and a Role to
 * read each `secretCa` TlsClass's Secret it is told of), a Deployment whose pod passes the
 * restricted Pod Security profile, a metrics Service keelson's scrape job finds (with a
 * PrometheusRule, ServiceMonitor and Grafana dashboard when `monitoring` asks: `monitoring.ts`),
 * and the admission policy that lets only those who may create pods set privileged fields in a
 * stacklet's podOverrides (`pod-override-policy.ts`), so the operator's rights do not become its
 * users'.
 */
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { nameProblems } from '../naming';
import { productCrd } from '../stacklet/crd';
import { frameworkCrds } from '../tls/class';
import { API_GROUP, type ProductDefinition } from '../stacklet/product';
import {
  CERTIFICATE_REQUEST_RESOURCE,
  CERTIFICATE_RESOURCE,
  CHILD_RESOURCES,
  PROMETHEUS_RULE_RESOURCE,
  SERVICE_MONITOR_RESOURCE,
} from './resources';
import { operatorImageReference } from './image';
import { podOverridePolicy } from './pod-override-policy';
import type { MonitoringSpec } from '../spec/spec.generated';
import {
  OPERATOR_METRICS_PORT,
  OPERATOR_PRODUCT_NAME,
  operatorMetricsService,
  operatorMonitoringManifests,
  operatorMonitoringProblems,
} from './monitoring';

export interface OperatorDeploymentProps {
  /** The products the operator reconciles (their CRDs are included). */
  readonly products: readonly ProductDefinition[];
  /** The operator's image. @default `ghcr.io/keelson/keelson:<this keelson's version>` */
  readonly image?: string;
  /** Where the operator runs (a DNS label). */
  readonly namespace: string;
  /** Name of the ServiceAccount, ClusterRole, binding and Deployment. @default 'keelson-operator' */
  readonly name?: string;
  /** @default 2 (one leads, one stands by) */
  readonly replicas?: number;
  /**
   * Namespaces to watch (DNS labels). The operator then gets a Role in each of them, and its
   * ClusterRole keeps only what is cluster-scoped (reading StorageClasses).
   * @default - all, with a ClusterRole
   */
  readonly watchNamespaces?: readonly string[];
  /**
   * The Secrets of the user's CAs (`secretCa` TlsClasses) the operator may read: a Role and
   * RoleBinding in each Secret's namespace allow `get` on those Secrets by name, and nothing else.
   * @default - none (a `secretCa` class's requests fail with `CaSecretForbidden` until it is granted)
   */
  readonly caSecrets?: readonly CaSecret[];
  /** Include the CRDs. @default true */
  readonly includeCrds?: boolean;
  /**
   * Include the ValidatingAdmissionPolicy (and binding) that refuses privileged podOverrides from
   * users who may not create pods themselves (`pod-override-policy.ts`). Turn it off only where an
   * equivalent guard is in place: without it, whoever may create a stacklet may have the operator
   * create any pod.
   * @default true
   */
  readonly includePodOverridePolicy?: boolean;
  /** Include the operator's Namespace. @default true */
  readonly includeNamespace?: boolean;
  /** @default 'IfNotPresent' */
  readonly imagePullPolicy?: string;
  /**
   * The operator container's memory limit in MiB (its V8 heap limit follows it). Its memory grows
   * with the number of stacklets: ~85 MiB at 200; raise this for thousands.
   * @default 256
   */
  readonly memoryLimitMiB?: number;
  /**
   * The operator's own PrometheusRule (alerts: down, no leader, reconcile errors, a work queue that
   * does not drain, failing watches), ServiceMonitor and Grafana dashboard ConfigMap, the same
   * switches as a stacklet's `clusterConfig.monitoring`. The metrics Service is always there.
   * @default - none of them
   */
  readonly monitoring?: MonitoringSpec;
}

/** A Secret holding a user's CA, which a `secretCa` TlsClass names. */
export interface CaSecret {
  readonly namespace: string;
  readonly name: string;
}

/** The operator container's memory limit unless told otherwise, in MiB. */
export const DEFAULT_OPERATOR_MEMORY_MIB = 256;

/**
 * Node options for an operator with `memoryLimitMiB` of memory. V8 sizes its heap for throughput
 * on a large machine: semi-spaces of up to 16 MiB, and an old generation that may grow up to
 * fourfold between collections. A reconcile's garbage is small and short-lived, so 1 MiB
 * semi-spaces cost no measurable convergence time; and an old-generation limit of three quarters
 * of the container's memory both makes V8 collect before the kernel would kill the container and
 * makes it grow the heap in smaller steps. Together they take the operator's peak memory at 200
 * stacklets from ~115 to ~85 MiB (`npm run bench:operator`). V8 reads them only at start-up,
 * hence an environment variable rather than code.
 */
export function operatorNodeOptions(memoryLimitMiB: number = DEFAULT_OPERATOR_MEMORY_MIB): string {
  return `--max-semi-space-size=1 --max-old-space-size=${Math.floor(memoryLimitMiB * 0.75)}`;
}

/**
/**
 * What the Pod Certificate signer needs across the cluster: to sign and to publish trust bundles
 * for keelson's own signer names only (`signers` is checked by the API server on a request's
 * status and on a bundle's signer name), and its ClusterTrustBundles (cluster-scoped; the
 * `attest` check keeps it to keelson's signers).
 */
const POD_CERTIFICATE_SIGNER_RULES = [
  {
    apiGroups: ['certificates.k8s.io'],
    resources: ['signers'],
    resourceNames: [`${API_GROUP}/*`],
    verbs: ['sign', 'attest'],
  },
  {
    apiGroups: ['certificates.k8s.io'],
    resources: ['clustertrustbundles'],
    verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'],
  },
];

/**
 * The CA Secrets (`keelson-tls-ca-<class>`), in the operator's own namespace only: read when
 * signing, created once per class, updated when its CA is rotated. Nothing else of the operator's
 * reads a Secret's data.
 */
const CA_SECRET_RULE = { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'create', 'update'] };

/**
 * What the operator needs across the cluster, whichever namespaces it watches: StorageClasses
 * (cluster-scoped), to tell whether a claim can grow before asking; TlsClasses, which decide
 * whether a stacklet speaks TLS and how the signer signs; ListenerClasses, which decide the
 * stacklets' Services; AuthenticationClasses, which decide how their users log in; Nodes, read for their addresses (a per-pod listener of a NodePort class
 * advertises its node's); and the Pod Certificate signer's cluster-scoped kinds. It knows its
 * kinds from its products and reads no CRD.
 */
const CLUSTER_SCOPED_RULES = [
  { apiGroups: ['storage.k8s.io'], resources: ['storageclasses'], verbs: ['get'] },
  {
    apiGroups: [API_GROUP],
    resources: ['authenticationclasses', 'listenerclasses', 'tlsclasses'],
    verbs: ['get', 'list', 'watch'],
  },
  { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
  ...POD_CERTIFICATE_SIGNER_RULES,
];

/** What the operator needs for leader election, in the namespace of its Lease. */
const LEASE_RULE = {
  apiGroups: ['coordination.k8s.io'],
  resources: ['leases'],
  verbs: ['get', 'create', 'update'],
};

/**
 * The RBAC rules the operator needs in a namespace it watches, for `products`: its kinds (read,
 * and status written), the children it applies and prunes, Secrets' metadata, pods' status,
 * Events, and the claims it grows.
 */
export function watchedNamespaceRules(products: readonly ProductDefinition[]): Record<string, unknown>[] {
  const byGroup = new Map<string, string[]>();
  for (const r of CHILD_RESOURCES) {
    const group = r.apiVersion.includes('/') ? r.apiVersion.split('/')[0] : '';
    byGroup.set(group, [...(byGroup.get(group) ?? []), r.plural]);
  }
  const plurals = products.map((p) => p.plural).sort();
  return [
    { apiGroups: [API_GROUP], resources: plurals, verbs: ['get', 'list', 'watch'] },
    { apiGroups: [API_GROUP], resources: plurals.map((p) => `${p}/status`), verbs: ['patch'] },
    ...[...byGroup].map(([group, resources]) => ({
      apiGroups: [group],
      resources: resources.sort(),
      // Server-side apply updates through `patch`; creating through it needs `create` too.
      verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'],
    })),
    // cert-manager's Certificates, for `certManager` TlsClasses: applied and pruned like the
    // children above (once cert-manager's CRDs are served); their CertificateRequests listed for the
    // CA cert-manager signed with, published for the class's clients (cert-manager-trust.ts).
    {
      apiGroups: [CERTIFICATE_RESOURCE.apiVersion.split('/')[0]],
      resources: [CERTIFICATE_RESOURCE.plural],
      verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'],
    },
    // prometheus-operator's ServiceMonitors and PrometheusRules, when clusterConfig.monitoring asks
    // for them: applied and pruned like the children above (once their CRDs are served).
    {
      apiGroups: [SERVICE_MONITOR_RESOURCE.apiVersion.split('/')[0]],
      resources: [PROMETHEUS_RULE_RESOURCE.plural, SERVICE_MONITOR_RESOURCE.plural],
      verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'],
    },
    {
      apiGroups: [CERTIFICATE_REQUEST_RESOURCE.apiVersion.split('/')[0]],
      resources: [CERTIFICATE_REQUEST_RESOURCE.plural],
      verbs: ['list'],
    },
    // Secrets: list and watch only, for the metadata-only cache that rolls pods when a Secret they
    // read changes. No get and no writes: the operator asks for metadata and never reads a value.
    { apiGroups: [''], resources: ['secrets'], verbs: ['list', 'watch'] },
    { apiGroups: [''], resources: ['events'], verbs: ['create'] },
    // Pods: list and watch for the status-only cache that tells why a stacklet's pods are not Ready
    // (a crash loop, the end of the product's log); get for the one pod a certificate request
    // names, to judge it by its owners. Never written or deleted (evicted, below).
    { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
    // Evictions, to restart a pod whose product does not reload its certificate before that
    // expires (certificate-restarts.ts): the API server holds them to the PodDisruptionBudget.
    { apiGroups: [''], resources: ['pods/eviction'], verbs: ['create'] },
    // The Pod Certificate signer: the requests of the watched namespaces, answered through their
    // status; ReplicaSets read to follow a pod's owner chain to its Deployment.
    {
      apiGroups: ['certificates.k8s.io'],
      resources: ['podcertificaterequests'],
      verbs: ['get', 'list', 'watch'],
    },
    { apiGroups: ['certificates.k8s.io'], resources: ['podcertificaterequests/status'], verbs: ['update'] },
    { apiGroups: ['apps'], resources: ['replicasets'], verbs: ['get'] },
    // Claims: listed and grown (spec.resources.requests.storage) when a volume's capacity grows;
    // never created (StatefulSets make them) and never deleted.
    { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['list', 'patch'] },
  ];
}

/**
 * The RBAC rules of the operator's ClusterRole when it watches every namespace, for `products`:
 * what it needs in each namespace, StorageClasses, and its Lease. Nothing more.
 */
export function operatorRules(products: readonly ProductDefinition[]): Record<string, unknown>[] {
  return [...watchedNamespaceRules(products), ...CLUSTER_SCOPED_RULES, LEASE_RULE];
}

/**
 * Problems with the names of the operator's namespace and the namespaces it watches, each naming
 * the setting and the rule; empty when they are valid.
 */
export function operatorNamespaceProblems(
  namespace: string,
  watchNamespaces: readonly string[] = [],
  settings: { namespace: string; watchNamespaces: string } = {
    namespace: 'namespace',
    watchNamespaces: 'watchNamespaces',
  },
): string[] {
  return [
    ...nameProblems(namespace, 'dns-label', `${settings.namespace}: namespace`),
    ...watchNamespaces.flatMap((ns) =>
      nameProblems(ns, 'dns-label', `${settings.watchNamespaces}: namespace`),
    ),
  ];
}

export class OperatorDeployment extends Construct {
  /** The ServiceAccount the operator runs as. */
  public readonly serviceAccountName: string;
  /**
   * The ClusterRole holding the operator's rules: all of them when it watches every namespace, only
   * the cluster-scoped reads (StorageClasses) when it watches some.
   */
  public readonly clusterRoleName: string;

  constructor(scope: Construct, id: string, props: OperatorDeploymentProps) {
    super(scope, id);
    const name = props.name ?? 'keelson-operator';
    const namespace = props.namespace;
    const labels = { 'app.kubernetes.io/name': OPERATOR_PRODUCT_NAME, 'app.kubernetes.io/instance': name };
    const watchNamespaces = [...new Set(props.watchNamespaces ?? [])];
    const caSecrets = props.caSecrets ?? [];
    const problems = [
      ...operatorNamespaceProblems(namespace, watchNamespaces),
      ...operatorMonitoringProblems(props.monitoring),
      ...caSecrets.flatMap((secret) => [
        ...nameProblems(secret.namespace, 'dns-label', 'caSecrets: namespace'),
        ...nameProblems(secret.name, 'dns-subdomain', 'caSecrets: Secret name'),
      ]),
    ];
    if (problems.length > 0)
      throw new Error(`OperatorDeployment "${id}" is invalid:\n  - ${problems.join('\n  - ')}`);
    this.serviceAccountName = name;

    if (props.includeCrds ?? true) {
      for (const product of props.products) {
        const crd = productCrd(product) as { apiVersion: string; kind: string; metadata: { name: string } };
        new ApiObject(this, `crd-${product.plural}`, crd);
      }
      // The framework's own kinds (TlsClass, ListenerClass), whatever the products.
      for (const crd of frameworkCrds() as {
        apiVersion: string;
        kind: string;
        metadata: { name: string };
      }[]) {
        new ApiObject(this, `crd-${crd.metadata.name.split('.')[0]}`, crd);
      }
    }
    if (props.includeNamespace ?? true) {
      new ApiObject(this, 'namespace', {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: namespace, labels },
      });
    }
    new ApiObject(this, 'service-account', {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name, namespace, labels },
    });
    const subjects = [{ kind: 'ServiceAccount', name, namespace }];
    const rbac = 'rbac.authorization.k8s.io';
    // Watching every namespace, one ClusterRole holds every rule. Watching some, the ClusterRole
    // keeps only what is cluster-scoped (StorageClasses, read); everything else the operator reads
    // and writes lives in the namespaces it watches, granted there by a Role, and its Lease in its
    // own namespace.
    this.clusterRoleName = name;
    new ApiObject(this, 'cluster-role', {
      apiVersion: `${rbac}/v1`,
      kind: 'ClusterRole',
      metadata: { name, labels },
      rules: watchNamespaces.length === 0 ? operatorRules(props.products) : CLUSTER_SCOPED_RULES,
    });
    new ApiObject(this, 'cluster-role-binding', {
      apiVersion: `${rbac}/v1`,
      kind: 'ClusterRoleBinding',
      metadata: { name, labels },
      roleRef: { apiGroup: rbac, kind: 'ClusterRole', name },
      subjects,
    });
    const namespaced = (id: string, ns: string, roleName: string, rules: Record<string, unknown>[]) => {
      new ApiObject(this, `role-${id}`, {
        apiVersion: `${rbac}/v1`,
        kind: 'Role',
        metadata: { name: roleName, namespace: ns, labels },
        rules,
      });
      new ApiObject(this, `role-binding-${id}`, {
        apiVersion: `${rbac}/v1`,
        kind: 'RoleBinding',
        metadata: { name: roleName, namespace: ns, labels },
        roleRef: { apiGroup: rbac, kind: 'Role', name: roleName },
        subjects,
      });
    };
    if (watchNamespaces.length > 0) {
      for (const ns of watchNamespaces)
        namespaced(`watch-${ns}`, ns, name, watchedNamespaceRules(props.products));
      namespaced('leader-election', namespace, `${name}-leader-election`, [LEASE_RULE]);
    }
    // The CAs' Secrets, in the operator's namespace only, whichever namespaces it watches.
    namespaced('tls-ca', namespace, `${name}-tls-ca`, [CA_SECRET_RULE]);
    // The user's CAs: read by name, in their own namespaces; never listed, watched or written.
    const byNamespace = new Map<string, Set<string>>();
    for (const secret of caSecrets)
      byNamespace.set(secret.namespace, (byNamespace.get(secret.namespace) ?? new Set()).add(secret.name));
    for (const [ns, names] of [...byNamespace].sort(([a], [b]) => a.localeCompare(b))) {
      namespaced(`ca-secrets-${ns}`, ns, `${name}-ca-secrets`, [
        { apiGroups: [''], resources: ['secrets'], resourceNames: [...names].sort(), verbs: ['get'] },
      ]);
    }
    const memoryLimitMiB = props.memoryLimitMiB ?? DEFAULT_OPERATOR_MEMORY_MIB;
    if (!Number.isInteger(memoryLimitMiB) || memoryLimitMiB < 128) {
      throw new Error(`memoryLimitMiB: must be a whole number of MiB >= 128, got ${memoryLimitMiB}`);
    }
    const args = ['operator', '--metrics-address', `0.0.0.0:${OPERATOR_METRICS_PORT}`, '--leader-election'];
    if (watchNamespaces.length > 0) args.push('--watch-namespaces', watchNamespaces.join(','));
    new ApiObject(this, 'deployment', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace, labels },
      spec: {
        replicas: props.replicas ?? 2,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: name,
            securityContext: {
              runAsNonRoot: true,
              runAsUser: 10001,
              runAsGroup: 10001,
              seccompProfile: { type: 'RuntimeDefault' },
            },
            containers: [
              {
                name: 'operator',
                image: props.image ?? operatorImageReference(),
                imagePullPolicy: props.imagePullPolicy ?? 'IfNotPresent',
                args,
                env: [
                  { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                  { name: 'NODE_OPTIONS', value: operatorNodeOptions(memoryLimitMiB) },
                ],
                ports: [{ name: 'metrics', containerPort: OPERATOR_METRICS_PORT }],
                livenessProbe: { httpGet: { path: '/healthz', port: 'metrics' }, periodSeconds: 10 },
                readinessProbe: { httpGet: { path: '/readyz', port: 'metrics' }, periodSeconds: 5 },
                resources: {
                  requests: { cpu: '100m', memory: '128Mi' },
                  limits: { cpu: '1', memory: `${memoryLimitMiB}Mi` },
                },
                securityContext: {
                  allowPrivilegeEscalation: false,
                  capabilities: { drop: ['ALL'] },
                  readOnlyRootFilesystem: true,
                  runAsNonRoot: true,
                  seccompProfile: { type: 'RuntimeDefault' },
                },
              },
            ],
          },
        },
      },
    });
    if (props.includePodOverridePolicy ?? true) {
      podOverridePolicy(props.products, name, labels).forEach((object) => {
        new ApiObject(this, `pod-override-${String(object.kind).toLowerCase()}`, object as never);
      });
    }
    new ApiObject(this, 'metrics-service', operatorMetricsService(namespace, name, labels) as never);
    operatorMonitoringManifests(namespace, name, labels, props.monitoring).forEach((object) => {
      new ApiObject(this, `monitoring-${String(object.kind).toLowerCase()}`, object as never);
    });
  }
}
