/**
 * The objects of a stacklet, as plain Kubernetes JSON. They are built as data (not as cdk8s
 * objects) so that overrides merge onto the wire shape the user knows, and so that the operator
 * and synth mode serialize exactly the same thing.
 */
import { NODE_TOPOLOGY_ANNOTATION } from '../topology/node-topology';
import type {
  ConfigMap,
  DaemonSet,
  Deployment,
  PodTemplateSpec,
  NetworkPolicy,
  NetworkPolicyPeer,
  PodDisruptionBudget,
  Service,
  ServiceAccount,
  StatefulSet,
} from '../../imports/k8s-wire';
import { renderConfigFile, renderYaml } from '../config-files';
import { LOG_AGENT_CONFIG_KEY, logAgentConfig } from '../logging/agent';
import { configHash } from '../hash';
import { volumeClaimTemplates } from '../resources';
import type { CommonClusterConfigSpec } from '../spec/stacklet-spec';
import {
  claimTemplateLabels,
  LABEL_COMPONENT,
  objectLabels,
  selectorLabels,
  type LabelInput,
} from './labels';
import { certManagerCertificates } from '../tls/cert-manager';
import { DEFAULT_LISTENER_CLASSES, DEFAULT_LISTENER_CLASS, type ListenerClassInfo } from '../listener/class';
import {
  classServiceFields,
  LISTENER_ADDRESSES_LABEL,
  LISTENER_ANNOTATION,
  NODE_PORT_RANGE,
  podServiceName,
  POD_NAME_LABEL,
  type ListenerAddressing,
  type RoleGroupListener,
} from '../listener/pod-listener';
import { buildPodTemplate, dropUndefined } from './pod';
import { PROMETHEUS_SCRAPE_ANNOTATION, scrapeAnnotations } from './metrics';
import { monitoringManifests } from './monitoring';
import { activeRoles } from './resolve';
import {
  METRICS_PORT_NAME,
  type PortDefinition,
  type ProductDefinition,
  type ResolvedRoleGroup,
  type RoleDefinition,
  type StackletContext,
} from './product';

/** Any Kubernetes object. */
export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Record<string, string>;
    readonly annotations?: Record<string, string>;
  };
  readonly [field: string]: unknown;
}

/** Inputs shared by every builder below. */
export interface BuildInput {
  readonly product: ProductDefinition;
  readonly stacklet: StackletContext;
  /** The platform the stacklet is part of (`app.kubernetes.io/part-of`). */
  readonly platform: string;
}

function labelInput(input: BuildInput, role?: string, roleGroup?: string): LabelInput {
  return {
    product: input.product.name,
    instance: input.stacklet.name,
    productVersion: input.stacklet.image.productVersion,
    platform: input.platform,
    role,
    roleGroup,
  };
}

function as<T>(manifest: T): Manifest {
  return manifest as unknown as Manifest;
}

/** The ServiceAccount every pod of the stacklet runs as. */
export function serviceAccountName(stacklet: StackletContext): string {
  return stacklet.name;
}

function roleOf(input: BuildInput, name: string): RoleDefinition {
  const role = input.product.roles.find((r) => r.name === name);
  if (!role) throw new Error(`${input.product.kind} has no role ${name}`);
  return role;
}

/** The files whose change must roll the pods: all but those the process reloads or never reads. */
function hashedFiles(files: Record<string, string>, reloaded: readonly string[]): Record<string, string> {
  if (reloaded.length === 0) return files;
  return Object.fromEntries(Object.entries(files).filter(([key]) => !reloaded.includes(key)));
}

/** The ConfigMap, headless Service and workload of one role group. */
export function roleGroupManifests(input: BuildInput, roleGroup: ResolvedRoleGroup): Manifest[] {
  const { product, stacklet } = input;
  const role = roleOf(input, roleGroup.role);
  const labels = objectLabels(labelInput(input, role.name, roleGroup.roleGroup));
  const selector = selectorLabels({
    product: product.name,
    instance: stacklet.name,
    role: role.name,
    roleGroup: roleGroup.roleGroup,
  });
  const pod = role.pod(stacklet, roleGroup);

  const files: Record<string, string> = {};
  for (const [file, format] of Object.entries(role.configFiles)) {
    files[file] = renderConfigFile(format, pod.configFiles[file] ?? {}, roleGroup.configOverrides[file]);
  }
  for (const [key, content] of Object.entries(pod.extraFiles ?? {})) {
    if (key in files) {
      throw new Error(
        `${product.kind} role ${role.name} renders ${key} both as a config file and an extra file`,
      );
    }
    files[key] = content;
  }
  if (stacklet.logAggregator !== undefined) {
    files[LOG_AGENT_CONFIG_KEY] = renderYaml(
      logAgentConfig({
        product: product.name,
        stacklet: stacklet.name,
        role: role.name,
        roleGroup: roleGroup.roleGroup,
        container: product.name,
        sidecars: pod.loggedSidecars,
      }),
    );
  }
  // The operator fills the topology table (lib/topology); synth mode leaves it empty.
  const topology = pod.nodeTopology;
  if (topology && !(topology.key in files)) files[topology.key] = '';
  const configMap: ConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: roleGroup.names.configMap,
      labels,
      ...(topology ? { annotations: { [NODE_TOPOLOGY_ANNOTATION]: JSON.stringify(topology) } } : {}),
    },
    data: files,
  };

  const headless: Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: roleGroup.names.headlessService, labels },
    spec: {
      clusterIP: 'None',
      // Peers must find each other before they are ready (quorums form that way).
      publishNotReadyAddresses: true,
      selector,
      ports: role.ports.map((p) => ({
        name: p.name,
        port: p.port,
        targetPort: p.port as never,
        protocol: p.protocol ?? 'TCP',
      })),
    },
  };

  const template = buildPodTemplate({
    product,
    stacklet,
    role,
    roleGroup,
    pod,
    labels,
    // The rendered files are all a pod reads from its ConfigMap (less those it reloads by itself);
    // the rest of its config is in the template itself, which rolls the pods when it changes anyway.
    // A per-pod listener's class is read at start too (the address the pod advertises).
    configHash: configHash({
      ...hashedFiles(files, [...(pod.reloadedFiles ?? []), ...(topology ? [topology.key] : [])]),
      ...(roleGroup.listener ? { '(listener)': JSON.stringify(roleGroup.listener) } : {}),
    }),
    serviceAccountName: serviceAccountName(stacklet),
  });
  const replicas = stacklet.spec.clusterOperation?.stopped ? 0 : roleGroup.replicas;

  const workload = workloadManifest(role.workload ?? 'StatefulSet', {
    name: roleGroup.names.workload,
    labels,
    selector,
    template,
    replicas,
    stopped: stacklet.spec.clusterOperation?.stopped === true,
    headlessService: roleGroup.names.headlessService,
    claims: volumeClaimTemplates(
      roleGroup.config.resources.storage,
      claimTemplateLabels({
        product: product.name,
        instance: stacklet.name,
        role: role.name,
        roleGroup: roleGroup.roleGroup,
      }),
    ),
  });
  // A certManager class: the Certificates whose Secrets the pods mount (lib/tls/cert-manager.ts).
  const certificates = certManagerCertificates({
    rgTls: roleGroup.tls,
    tls: stacklet.tls,
    workload: roleGroup.names.workload,
    headlessService: roleGroup.names.headlessService,
    replicas: roleGroup.replicas,
    services: [
      ...(role.ports.some((p) => p.client) ? [clientServiceName(stacklet, role)] : []),
      ...(role.ports.some((p) => p.name === METRICS_PORT_NAME) ? [metricsServiceName(stacklet, role)] : []),
    ],
    namespace: stacklet.namespace ?? 'default',
    clusterDomain: stacklet.clusterDomain,
    labels,
  });
  return [
    as(configMap),
    as(headless),
    dropUndefined(workload),
    ...certificates.map(as),
    ...podListenerManifests(input, role, roleGroup, labels, selector),
  ];
}

/**
 * A per-pod listener's objects (lib/listener/pod-listener.ts): one Service per pod of the spec's
 * replicas, of the role's class, selecting that pod alone and serving the listener's ports; and the
 * ConfigMap the operator writes the pods' addresses into, empty here (the operator fills it from
 * what the API server allocated and where the pods run).
 */
function podListenerManifests(
  input: BuildInput,
  role: RoleDefinition,
  roleGroup: ResolvedRoleGroup,
  labels: Record<string, string>,
  selector: Record<string, string>,
): Manifest[] {
  const listener = roleGroup.listener;
  if (!listener) return [];
  const listenerClass = input.stacklet.listenerClasses[role.name];
  const workload = roleGroup.names.workload;
  const ownLabels = { ...labels, [LISTENER_ADDRESSES_LABEL]: workload };
  const ports = role.ports.filter((p) => listener.ports.includes(p.name));
  const services = Array.from({ length: roleGroup.replicas }, (_, ordinal) =>
    as<Service>({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: podServiceName(workload, ordinal),
        labels: ownLabels,
        ...serviceAnnotations(listenerClass),
      },
      spec: {
        ...classServiceFields(listenerClass, true),
        selector: { ...selector, [POD_NAME_LABEL]: podServiceName(workload, ordinal) },
        ports: ports.map((p) => ({
          name: p.name,
          port: p.port,
          targetPort: p.port as never,
          protocol: p.protocol ?? 'TCP',
        })),
      },
    }),
  );
  const addressing: ListenerAddressing = {
    serviceType: listener.serviceType,
    ports: listener.ports,
    ...(listener.preferredNodeAddressType
      ? { preferredNodeAddressType: listener.preferredNodeAddressType }
      : {}),
    ...(listener.bindsAdvertisedPort ? { bindsAdvertisedPort: true } : {}),
  };
  const addresses = as<ConfigMap>({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: listener.addressConfigMap,
      labels: ownLabels,
      annotations: { [LISTENER_ANNOTATION]: JSON.stringify(addressing) },
    },
    data: {},
  });
  return [...services, addresses];
}

/** The annotations a class puts on its Services, as metadata fields. */
function serviceAnnotations(listenerClass: ListenerClassInfo): { annotations?: Record<string, string> } {
  const annotations = listenerClass.spec.serviceAnnotations;
  return annotations && Object.keys(annotations).length > 0 ? { annotations: { ...annotations } } : {};
}

/** The listener class of a role, the default one for a stacklet built without them. */
function listenerClassOf(stacklet: StackletContext, role: RoleDefinition): ListenerClassInfo {
  return (
    stacklet.listenerClasses?.[role.name] ?? {
      name: DEFAULT_LISTENER_CLASS,
      spec: DEFAULT_LISTENER_CLASSES[DEFAULT_LISTENER_CLASS],
    }
  );
}

/** The per-pod listeners of a role's groups. */
function listenersOf(stacklet: StackletContext, role: RoleDefinition): RoleGroupListener[] {
  return stacklet.roleGroups.filter((rg) => rg.role === role.name && rg.listener).map((rg) => rg.listener!);
}

/**
 * Label of the node selector a stopped DaemonSet gets: no node carries it, so no pod runs, and
 * everything else about the DaemonSet stays as it was.
 */
export const STOPPED_NODE_LABEL = 'keelson.dev/stopped';

interface WorkloadInput {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly selector: Record<string, string>;
  readonly template: PodTemplateSpec;
  readonly replicas: number;
  readonly stopped: boolean;
  readonly headlessService: string;
  readonly claims: readonly object[];
}

/** The workload of a role group, of the kind its role declares. */
function workloadManifest(kind: 'StatefulSet' | 'Deployment' | 'DaemonSet', w: WorkloadInput): Manifest {
  const metadata = { name: w.name, labels: w.labels };
  const selector = { matchLabels: w.selector };
  switch (kind) {
    case 'StatefulSet':
      return as<StatefulSet>({
        apiVersion: 'apps/v1',
        kind,
        metadata,
        spec: {
          replicas: w.replicas,
          serviceName: w.headlessService,
          podManagementPolicy: 'Parallel',
          selector,
          template: w.template,
          volumeClaimTemplates: w.claims as never,
          // Claims outlive their pods and the stacklet: keelson never deletes data.
          persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
        },
      });
    case 'Deployment':
      return as<Deployment>({
        apiVersion: 'apps/v1',
        kind,
        metadata,
        spec: { replicas: w.replicas, selector, template: w.template },
      });
    case 'DaemonSet': {
      // One pod per node, so there are no replicas to scale to zero: stopping selects no node.
      const template = w.stopped
        ? {
            ...w.template,
            spec: {
              ...w.template.spec!,
              nodeSelector: { ...w.template.spec?.nodeSelector, [STOPPED_NODE_LABEL]: 'true' },
            },
          }
        : w.template;
      return as<DaemonSet>({ apiVersion: 'apps/v1', kind, metadata, spec: { selector, template } });
    }
  }
}

/** The Service clients of a role use (for roles with client ports). */
function clientServiceName(stacklet: StackletContext, role: RoleDefinition): string {
  return `${stacklet.name}-${role.name}`;
}

/** The Service metrics of a role are scraped through (for roles with a metrics port). */
function metricsServiceName(stacklet: StackletContext, role: RoleDefinition): string {
  return `${stacklet.name}-${role.name}-metrics`;
}

/** The client Service, metrics Service and PodDisruptionBudget of one role. */
export function roleManifests(input: BuildInput, role: RoleDefinition): Manifest[] {
  const { product, stacklet } = input;
  const roleSpec = (
    stacklet.spec as Record<
      string,
      | {
          roleConfig?: {
            podDisruptionBudget?: { enabled?: boolean; maxUnavailable?: number };
          };
        }
      | undefined
    >
  )[role.name];
  const labels = objectLabels(labelInput(input, role.name));
  const selector = selectorLabels({ product: product.name, instance: stacklet.name, role: role.name });
  const manifests: Manifest[] = [];

  const clientPorts = role.ports.filter((p) => p.client);
  if (clientPorts.length > 0) {
    // A role with per-pod listeners is reached from outside at its pods' own Services; its client
    // Service serves the cluster (a client outside must be sent to a pod it can reach).
    const listenerClass = role.podListener
      ? { name: DEFAULT_LISTENER_CLASS, spec: DEFAULT_LISTENER_CLASSES[DEFAULT_LISTENER_CLASS] }
      : listenerClassOf(stacklet, role);
    manifests.push(
      as<Service>({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: clientServiceName(stacklet, role), labels, ...serviceAnnotations(listenerClass) },
        spec: {
          ...classServiceFields(listenerClass, false),
          selector,
          ports: clientPorts.map((p) => ({
            name: p.name,
            port: p.port,
            targetPort: p.port as never,
            protocol: p.protocol ?? 'TCP',
          })),
        },
      }),
    );
  }

  const metrics = role.ports.find((p) => p.name === METRICS_PORT_NAME);
  if (metrics) {
    manifests.push(
      as<Service>({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: {
          name: metricsServiceName(stacklet, role),
          labels: { ...labels, [PROMETHEUS_SCRAPE_ANNOTATION]: 'true' },
          annotations: scrapeAnnotations({ port: metrics.port }),
        },
        spec: {
          clusterIP: 'None',
          publishNotReadyAddresses: true,
          selector,
          ports: [
            {
              name: METRICS_PORT_NAME,
              port: metrics.port,
              targetPort: metrics.port as never,
              protocol: 'TCP',
            },
          ],
        },
      }),
    );
  }

  const pdb = roleSpec?.roleConfig?.podDisruptionBudget;
  if (pdb?.enabled !== false) {
    manifests.push(
      as<PodDisruptionBudget>({
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: { name: `${stacklet.name}-${role.name}`, labels },
        spec: {
          maxUnavailable: (pdb?.maxUnavailable ?? role.maxUnavailable ?? 1) as never,
          selector: { matchLabels: selector },
          // Pods that are not ready serve nobody; evicting them must never be blocked.
          unhealthyPodEvictionPolicy: 'AlwaysAllow',
        },
      }),
    );
  }
  return manifests;
}

/**
 * The discovery ConfigMap, ServiceAccount and NetworkPolicy of the whole stacklet. A stacklet that
 * runs no role has no pods, so it gets only its discovery ConfigMap.
 */
export function stackletManifests(
  input: BuildInput,
  discoveryData: Readonly<Record<string, string>>,
): Manifest[] {
  const { product, stacklet } = input;
  const labels = objectLabels(labelInput(input));
  const roles = activeRoles(product, stacklet.spec);
  const discovery = as<ConfigMap>({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: stacklet.name, labels },
    data: { ...discoveryData },
  });
  // Without roles and without discovery data (an object other stacklets only refer to), nothing.
  if (roles.length === 0) return product.discovery ? [dropUndefined(discovery)] : [];
  const manifests: Manifest[] = [
    as<ServiceAccount>({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: serviceAccountName(stacklet), labels },
      automountServiceAccountToken: false,
    }),
    discovery,
    ...(product.readsConfigMaps ? configMapReaderManifests(stacklet, labels) : []),
  ];

  const policy = (stacklet.spec.clusterConfig as CommonClusterConfigSpec | undefined)?.networkPolicy;
  if (policy?.enabled !== false) manifests.push(...networkPolicies(input, labels, roles, policy));
  manifests.push(...monitoringManifests(product, stacklet, roles, labelInput(input)).map((m) => as(m)));
  return manifests.map(dropUndefined);
}

/**
 * A Role that may read the ConfigMaps of the stacklet's namespace and its binding to the
 * stacklet's ServiceAccount (ProductDefinition.readsConfigMaps). Named like the ServiceAccount.
 */
function configMapReaderManifests(stacklet: StackletContext, labels: Record<string, string>): Manifest[] {
  const name = serviceAccountName(stacklet);
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name, labels },
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [
        { kind: 'ServiceAccount', name, ...(stacklet.namespace ? { namespace: stacklet.namespace } : {}) },
      ],
    },
  ] as unknown as Manifest[];
}

/**
 * The stacklet's NetworkPolicies. Policies add up (a pod is admitted by any policy that selects
 * it), so a role without client ports gets a policy of its own, `<stacklet>-<role>`, that admits
 * only the stacklet's own pods and metrics scrapers: the stacklet's policy (named after it, the one
 * `addAllowedClient` extends) selects only the roles that serve clients. Otherwise a port number a
 * client role serves clients on (Trino's coordinator, 8080) would be open on an internal role that
 * listens on the same number (Trino's workers, reached only by their coordinator).
 */
function networkPolicies(
  input: BuildInput,
  labels: Record<string, string>,
  roles: readonly RoleDefinition[],
  policy: CommonClusterConfigSpec['networkPolicy'],
): Manifest[] {
  const { product, stacklet } = input;
  const own = selectorLabels({ product: product.name, instance: stacklet.name });
  const ports = (of: readonly RoleDefinition[], filter: (p: PortDefinition) => boolean) =>
    of.flatMap((r) => r.ports.filter(filter).map((p) => ({ port: p.port, protocol: p.protocol ?? 'TCP' })));
  const isClient = (p: { client?: boolean }) => p.client === true;
  const isMetrics = (p: { name: string }) => p.name === METRICS_PORT_NAME;
  const clientRoles = roles.filter((r) => r.ports.some(isClient));
  const internalRoles = clientRoles.length > 0 ? roles.filter((r) => !r.ports.some(isClient)) : [];
  const served = internalRoles.length > 0 ? clientRoles : roles;
  const clientPorts = ports(served, isClient);
  const clients = (policy?.allowedClients ?? []) as NetworkPolicyPeer[];
  const make = (name: string, podSelector: object, ingress: object[]) =>
    as<NetworkPolicy>({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name, labels },
      spec: {
        podSelector,
        policyTypes: ['Ingress'],
        // Untyped: the client library's model names the wire field `from` as `_from`.
        ingress: ingress as never,
      },
    });
  // The stacklet's own pods talk to each other on every port (peer, controller, internal).
  const ownPods = { from: [{ podSelector: { matchLabels: own } }] };
  // Metrics are scraped from wherever Prometheus runs.
  const scrapers = (of: readonly RoleDefinition[]) => {
    const metricsPorts = ports(of, isMetrics);
    return metricsPorts.length > 0 ? [{ from: [{ namespaceSelector: {} }], ports: metricsPorts }] : [];
  };
  // The keelson operator reads some ports itself (a scale-down hand-over); only its own pods get in.
  const operator = (of: readonly RoleDefinition[]) => {
    const read = ports(of, (p) => p.readByOperator === true);
    const pods = stacklet.operatorPods;
    if (read.length === 0 || !pods) return [];
    const namespaceSelector = { matchLabels: { 'kubernetes.io/metadata.name': pods.namespace } };
    return [{ from: [{ namespaceSelector, podSelector: { matchLabels: { ...pods.labels } } }], ports: read }];
  };
  const main = make(
    stacklet.name,
    internalRoles.length > 0
      ? {
          matchLabels: own,
          matchExpressions: [{ key: LABEL_COMPONENT, operator: 'In', values: served.map((r) => r.name) }],
        }
      : { matchLabels: own },
    [
      ownPods,
      // Client ports: applications in the same namespace (a namespace is the usual trust
      // boundary, and a data service nobody can reach is no use), plus declared clients.
      ...(clientPorts.length > 0 && policy?.allowSameNamespace !== false
        ? [{ from: [{ podSelector: {} }], ports: clientPorts }]
        : []),
      ...(clients.length > 0 && clientPorts.length > 0 ? [{ from: clients, ports: clientPorts }] : []),
      ...scrapers(served),
      ...operator(served),
    ],
  );
  // Per-pod listeners of an external class: clients outside the cluster connect to these ports, from
  // addresses no pod or namespace selector names.
  // A role reached through an external class at its client Service: its client ports, for the same
  // reason (behind a NodePort or LoadBalancer the source is a client outside, or a node).
  const outside = roles.flatMap((role) => {
    const names = new Set(listenersOf(stacklet, role).flatMap((l) => l.ports));
    const externalService =
      !role.podListener && listenerClassOf(stacklet, role).spec.serviceType !== 'ClusterIP';
    const open = role.ports.filter((p) => names.has(p.name) || (externalService && p.client === true));
    if (open.length === 0) return [];
    // A pod that listens on its nodePort's number (bindsAdvertisedPort) is reached at a port of the
    // nodePort range, not at the role's.
    const bound = listenersOf(stacklet, role).some((l) => l.bindsAdvertisedPort)
      ? [{ port: NODE_PORT_RANGE.from, endPort: NODE_PORT_RANGE.to, protocol: 'TCP' }]
      : [];
    return [
      make(
        `${stacklet.name}-${role.name}-listener`,
        { matchLabels: selectorLabels({ product: product.name, instance: stacklet.name, role: role.name }) },
        [{ ports: [...open.map((p) => ({ port: p.port, protocol: p.protocol ?? 'TCP' })), ...bound] }],
      ),
    ];
  });
  return [
    main,
    ...outside,
    ...internalRoles.map((role) =>
      make(
        `${stacklet.name}-${role.name}`,
        { matchLabels: selectorLabels({ product: product.name, instance: stacklet.name, role: role.name }) },
        [ownPods, ...scrapers([role]), ...operator([role])],
      ),
    ),
  ];
}
