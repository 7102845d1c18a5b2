/**
 * What a product declares to the framework: its kind, its roles (with their ports, files,
 * defaults and the pod each role group runs), its images and what it publishes for discovery.
 * Everything else — services, disruption budgets, security, storage, overrides, naming,
 * discovery, network policy, stop — the framework does the same way for every product.
 */
import type { NodeTopology } from '../topology/node-topology';
import type { TObject, TProperties } from '@sinclair/typebox';
import type { Container, EnvVar, Lifecycle, Probe, Volume, VolumeMount } from '../../imports/k8s-wire';
import type { ConfigFileFormat } from '../config-files';
import type { LoggingSpec } from '../spec/common';
import type { Affinity, PodTemplatePatch } from '../spec/kubernetes';
import type { AnyStackletSpec } from '../spec/stacklet-spec';
import type { RoleGroupTls, StackletTls, TlsUse } from '../tls/pod-tls';
import type { ListenerClassInfo } from '../listener/class';
import type { AuthenticationClassInfo, AuthenticationProvider } from '../authentication/class';
import type { RoleGroupListener } from '../listener/pod-listener';
import type { Manifest } from './manifests';
import type { ProductMonitoring } from './monitoring';
import type { ObjectReference, ResolvedReferences } from './references';

/** The API group of every keelson custom resource. */
export const API_GROUP = 'keelson.dev';
/** The version of every keelson custom resource. */
export const API_VERSION = 'v1alpha1';

/** A port a role's pods listen on. */
export interface PortDefinition {
  /** The port's name (an IANA_SVC_NAME: at most 15 characters). `metrics` marks the scrape port. */
  readonly name: string;
  readonly port: number;
  /** @default 'TCP' */
  readonly protocol?: 'TCP' | 'UDP';
  /** Served on the role's client Service (and admitted from declared clients). @default false */
  readonly client?: boolean;
  /**
   * The keelson operator itself reads this port (a role's `scaleDown` hand-over), so its pods are
   * admitted to it when it builds the stacklet. @default false
   */
  readonly readByOperator?: boolean;
}

/** Where the keelson operator's pods run, for the NetworkPolicies of the ports it reads. */
export interface OperatorPods {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** The name of the port Prometheus scrapes. */
export const METRICS_PORT_NAME = 'metrics';

/** Config fields every role has after defaults are merged in. */
export interface ResolvedCommonConfig {
  readonly resources: {
    readonly cpu: { readonly min: string; readonly max: string };
    readonly memory: { readonly limit: string };
    readonly storage: Readonly<Record<string, { readonly capacity: string; readonly storageClass?: string }>>;
  };
  readonly logging: LoggingSpec;
  readonly affinity?: Affinity;
  readonly gracefulShutdownTimeout: string;
}

/** The image a role group runs, after the versions table was consulted. */
export interface ResolvedImage {
  readonly image: string;
  readonly productVersion: string;
  readonly pullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  readonly pullSecrets: readonly { readonly name: string }[];
}

/** The stacklet as a product's hooks see it. */
export interface StackletContext<Spec extends AnyStackletSpec = AnyStackletSpec> {
  /** The stacklet's name (`metadata.name` of the custom resource). */
  readonly name: string;
  /** The namespace its objects live in; undefined in synth mode without a namespaced chart. */
  readonly namespace?: string;
  /** The spec as the user wrote it. */
  readonly spec: Spec;
  readonly image: ResolvedImage;
  /** The cluster-internal DNS domain used in generated addresses. @default 'cluster.local' */
  readonly clusterDomain: string;
  /** Contents of the discovery ConfigMaps the spec depends on, by ConfigMap name. */
  readonly dependencies: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Other keelson objects the spec refers to (see `ProductDefinition.references`), by spec path. */
  readonly references: ResolvedReferences;
  /** Role groups by role, resolved (config merged, replicas known). */
  readonly roleGroups: readonly ResolvedRoleGroup[];
  /** The TlsClass serving each kind of traffic; a missing member means that traffic is plaintext. */
  readonly tls: StackletTls;
  /**
   * The ListenerClass of each role the stacklet runs, by role name (`roleConfig.listenerClass`,
   * `cluster-internal` where unnamed; lib/listener).
   */
  readonly listenerClasses: Readonly<Record<string, ListenerClassInfo>>;
  /**
   * The AuthenticationClasses `clusterConfig.authentication` names, in its order, each of a provider
   * the product supports (lib/authentication); empty when it names none.
   */
  readonly authentication: readonly AuthenticationClassInfo[];
  /**
   * Every AuthenticationClass that exists (operator mode: in the cluster; synth mode: those passed
   * or defined in the app), for a class that a dependency's discovery names rather than the spec:
   * a client of a Kerberos service takes its realm and keytab from the service's class.
   */
  readonly authenticationClasses: readonly AuthenticationClassInfo[];
  /**
   * The OTLP/HTTP base URL of the log aggregator `clusterConfig.logging.aggregatorConfigMapName`
   * names; set, every pod runs the log agent. @default - none: no agent
   */
  readonly logAggregator?: string;
  /**
   * True when the keelson operator builds the stacklet, so it fills in what it finds in the cluster
   * (per-pod listener addresses, node topology tables); false in synth mode.
   */
  readonly builtByOperator: boolean;
  /** The keelson operator's pods, when it builds the stacklet. @default - none (synth mode) */
  readonly operatorPods?: OperatorPods;
}

/** A role group after the merge of product defaults ← role ← role group. */
export interface ResolvedRoleGroup<Config extends ResolvedCommonConfig = ResolvedCommonConfig> {
  readonly role: string;
  readonly roleGroup: string;
  /** Replicas wanted by the spec (what the workload runs unless the stacklet is stopped). */
  readonly replicas: number;
  readonly config: Config;
  readonly configOverrides: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly envOverrides: Readonly<Record<string, string>>;
  readonly cliOverrides: readonly string[];
  readonly podOverrides: readonly PodTemplatePatch[];
  /** Final JVM arguments (heap from memory, product defaults, overrides); empty for non-JVM roles. */
  readonly jvmArguments: readonly string[];
  /** Names of the role group's objects. */
  readonly names: {
    readonly workload: string;
    readonly headlessService: string;
    readonly configMap: string;
  };
  /** Pods' stable DNS names, in ordinal order (`<pod>.<headless>.<ns>.svc.<domain>`). */
  readonly podAddresses: readonly string[];
  /**
   * The TLS files the pods read, for each use the role speaks whose class is on (lib/tls says how
   * they are delivered); a missing member means that traffic is plaintext.
   */
  readonly tls: RoleGroupTls;
  /**
   * The pods' own reachable addresses, for a role with a `podListener` whose class is not ClusterIP
   * (lib/listener/pod-listener.ts): the start script runs `listenerAddressScript(listener)`.
   * @default - none: the pods are reached at `podAddresses`
   */
  readonly listener?: RoleGroupListener;
}

/** What a product says about one role group's pods. */
export interface RoleGroupPod {
  /** The main container (security context, resources, mounts and overrides are the framework's). */
  readonly container: {
    readonly command?: readonly string[];
    readonly args?: readonly string[];
    readonly env?: readonly EnvVar[];
    readonly readinessProbe?: Probe;
    readonly livenessProbe?: Probe;
    readonly startupProbe?: Probe;
    readonly workingDir?: string;
    readonly volumeMounts?: readonly VolumeMount[];
    /** Hooks such as a preStop that drains the process before it is stopped. */
    readonly lifecycle?: Lifecycle;
  };
  /** Default content of each config file, before `configOverrides`. */
  readonly configFiles: Readonly<Record<string, object>>;
  /**
   * Files whose names depend on the spec (one per catalog, say), already rendered, by ConfigMap key.
   * They go into the role group's ConfigMap beside the config files and count towards its config
   * hash, so a change rolls the pods; the product mounts them where it wants them.
   * @default - none
   */
  readonly extraFiles?: Readonly<Record<string, string>>;
  /**
   * Keys of the role group's ConfigMap (config files or extra files) that the process reads again
   * by itself when the kubelet updates the mounted ConfigMap, or never reads (a log framework's
   * periodic scan of its config file; the config of a framework this version does not use). They
   * are left out of the config hash, so a change to them alone does not roll the pods.
   * @default - none: every file's change rolls the pods
   */
  readonly reloadedFiles?: readonly string[];
  /**
   * A key of the role group's ConfigMap the keelson operator fills with the node topology of a
   * role's pods (`<pod IP> /<node label value>…` a line; lib/topology). Empty in synth mode; left
   * out of the config hash (the process reads it again by itself).
   * @default - none
   */
  readonly nodeTopology?: NodeTopology;
  /** Extra containers, init containers and volumes (security contexts are added by the framework). */
  readonly initContainers?: readonly Container[];
  readonly sidecars?: readonly Container[];
  /**
   * Names of `sidecars` that write a structured log file of their own (`<name>.json` in the log
   * folder, lib/logging), a second JVM beside the product say: the log agent ships their records
   * too, each naming its container.
   * @default - none: the agent ships the main container's file only
   */
  readonly loggedSidecars?: readonly string[];
  readonly volumes?: readonly Volume[];
}

/**
 * How a role's process takes up renewed certificate files: by itself (`files`), or only when it
 * starts again (`restart`). See `RoleDefinition.certificateReload`.
 */
export type CertificateReload = 'files' | 'restart';

/** What a role does with renewed certificates of `use`: `restart` unless it declares otherwise. */
export function certificateReloadOf(
  role: Pick<RoleDefinition, 'certificateReload'>,
  use: TlsUse,
): CertificateReload {
  return role.certificateReload?.[use] ?? 'restart';
}

/**
 * What a role does with renewed certificates of `use` when its CAs change (a CA published for the
 * use's class, as a `keelsonCa` rotation or a `secretCa` switch does): `trustReload` for the use,
 * else what it does with its certificates (`certificateReloadOf`): a process that reads its
 * certificate only at start is assumed to read its trust only then too.
 */
export function trustReloadOf(
  role: Pick<RoleDefinition, 'certificateReload' | 'trustReload'>,
  use: TlsUse,
): CertificateReload {
  return role.trustReload?.[use] ?? certificateReloadOf(role, use);
}

/**
 * What a role does when a CA is published for a class it trusts as a client of another stacklet
 * (`clientTrustReload`): `restart` unless it declares otherwise.
 */
export function clientTrustReloadOf(role: Pick<RoleDefinition, 'clientTrustReload'>): CertificateReload {
  return role.clientTrustReload ?? 'restart';
}

/** The live object of a desired one, from the operator's caches, if it exists. */
export type LiveObject = (manifest: Manifest) => Manifest | undefined;

/** A pod of the stacklet, as the operator's cache has it. */
export interface RunningPod {
  readonly name: string;
  /** Its IP; pods without one are left out. */
  readonly ip: string;
}

/** What the operator lets a product ask of the stacklet's running pods. */
export interface RunningPods {
  /** The stacklet's pods of `role` that have an IP. */
  readonly of: (role: string) => readonly RunningPod[];
  /**
   * Whether the stacklet serves its clients with TLS (a server TlsClass is on): a role whose HTTP
   * port then speaks HTTPS is read with `https:` URLs.
   */
  readonly serverTls: boolean;
  /**
   * The JSON a pod serves at `url` (a pod IP, a port of the role), within a few seconds; rejects with
   * a message that names the URL. An `https:` URL is answered only by a certificate of the stacklet's
   * server TlsClass that names the pod dialled (lib/operator/pod-http.ts).
   */
  readonly getJson: (url: string) => Promise<unknown>;
}

/** A role's hand-over before a scale-down (`RoleDefinition.scaleDown`). */
export interface ScaleDownHandOver {
  /**
   * The desired objects with the `leaving` pods (the highest ordinals of a shrinking StatefulSet)
   * told to hand their data over. Asked at every reconcile, also with no pod leaving, so that what
   * an earlier scale-down put in place can be kept from the `live` objects.
   */
  readonly prepare: (
    leaving: readonly string[],
    desired: readonly Manifest[],
    live: LiveObject,
  ) => Manifest[];
  /** What the `leaving` pods still wait for, one message each; empty once they may go. */
  readonly pending: (leaving: readonly string[], pods: RunningPods) => Promise<string[]>;
}

/** One role of a product. */
export interface RoleDefinition<Config extends ResolvedCommonConfig = ResolvedCommonConfig> {
  /** The role's name as it appears in the spec (`servers`, `brokers`). */
  readonly name: string;
  /** The product's own config fields of the role (TypeBox properties, all optional). */
  readonly config: TProperties;
  /**
   * Complete defaults of the config of the role group `roleGroup` (most are the same for every group;
   * some, such as ids, depend on the group); role and role-group config are merged onto them.
   */
  readonly defaults: (stacklet: StackletContext, roleGroup: string) => Config;
  /** @default 1 */
  readonly defaultReplicas?: number;
  readonly ports: readonly PortDefinition[];
  /** The role's config files and their formats; the framework renders them into a ConfigMap. */
  readonly configFiles: Readonly<Record<string, ConfigFileFormat>>;
  /** Where the config files are mounted in the main container. */
  readonly configMountPath: string;
  /** Mount paths of the persistent volumes named in `config.resources.storage`. */
  readonly storageMounts?: Readonly<Record<string, string>>;
  /**
   * Directories the product writes to; each gets an emptyDir, because the root filesystem is
   * read-only.
   * @default ['/tmp']
   */
  readonly writableDirs?: readonly string[];
  /**
   * The kinds of traffic the role can protect with TLS: `server` for its client ports, `internal`
   * for traffic between the stacklet's own pods. The framework mounts the certificates of each use
   * whose class is on and hands their paths to `pod` (`roleGroup.tls`); the product configures
   * its ports from them.
   * @default - none: the role speaks plaintext whatever the spec's TLS settings
   */
  readonly tls?: readonly TlsUse[];
  /**
   * How the role's process takes up a renewed certificate, per TLS use. The kubelet rewrites a pod
   * certificate's files before it expires; `files`: the product reads the files again by itself
   * (a new TLS context per connection, or a reload when they change), so the pod keeps running;
   * `restart`: the product keeps what it loaded at start, so the operator restarts the pod
   * (an eviction, within the role's PodDisruptionBudget, one pod of the stacklet at a time) before
   * the certificate it started with expires (lib/operator/certificate-restarts.ts).
   * @default - `restart` for every use not listed: a product not known to reload is restarted
   */
  readonly certificateReload?: Readonly<Partial<Record<TlsUse, CertificateReload>>>;
  /**
   * How the role's process takes up a changed trust bundle (`ca.crt`: a new CA of the use's class),
   * per TLS use. `files`: it reads the bundle again by itself; `restart`: it keeps the CAs it read at
   * start, so once a new CA is published for the class the operator restarts each pod that started
   * before (evictions within the role's PodDisruptionBudget, one pod of the stacklet at a time, as
   * for `certificateReload`), and the pods trust the new CA before certificates signed by it reach
   * them (a `keelsonCa` rotation signs with the new CA only half its overlap later).
   * @default - the use's `certificateReload`
   */
  readonly trustReload?: Readonly<Partial<Record<TlsUse, CertificateReload>>>;
  /**
   * How the role's process takes up a changed trust of the stacklets it is a client of (the CAs of
   * their classes, which it mounts with lib/tls `tlsTrustVolumes`: Kafka's of its ZooKeeper,
   * Trino's of its metastore). `restart`: once a CA is published for such a class, the operator
   * restarts each pod that started before, as for `trustReload`; `files`: the client reads the
   * bundle again by itself.
   * @default 'restart': a client not known to reload is restarted
   */
  readonly clientTrustReload?: CertificateReload;
  /**
   * The role's clients must reach each pod at an address of its own (a Kafka broker, which clients
   * are sent to by partition). When the role's ListenerClass is not ClusterIP, every pod gets a
   * Service of its own of that class serving `ports` (port names of `ports` above), the keelson
   * operator writes each pod's reachable address into a ConfigMap the pod mounts
   * (`ResolvedRoleGroup.listener`), and the role's client Service stays ClusterIP (a client outside
   * must be sent to a pod it can reach, so it starts from the pods' addresses). lib/listener.
   * `bindsAdvertisedPort`: the process cannot advertise a port other than the one it listens on
   * (an HDFS datanode registers its bound ports with the namenodes): for a NodePort class, each pod's
   * Service forwards its nodePort to the same port number in the pod (`targetPort` = `nodePort`,
   * which the operator sets once the API server allocated it), and the pod listens on the port its
   * address entry names.
   * @default - none: the role's client Service is of the role's class
   */
  readonly podListener?: { readonly ports: readonly string[]; readonly bindsAdvertisedPort?: boolean };
  /** JVM roles: default JVM arguments beside the heap, which the framework derives from memory. */
  readonly jvm?: { readonly arguments: readonly string[]; readonly heapFraction?: number };
  /** @default 1 */
  readonly maxUnavailable?: number;
  /**
   * The role's pods, across all its role groups, are the voting members of one quorum, and each
   * pod's config lists every member (static membership). A change of the members rolls every pod
   * while old and new lists run side by side, so the operator never changes the members of a
   * running quorum: it applies such a change only while the stacklet is stopped (changes that keep
   * the members, such as a version upgrade or a config override, roll as usual); see
   * lib/operator/quorum.ts. Needs StatefulSets.
   * @default false
   */
  readonly quorum?: boolean;
  /**
   * How the role's running pods hand their data over before a scale-down takes them away (HDFS:
   * datanodes decommission). The keelson operator applies what `prepare` makes of the desired
   * objects, keeps a shrinking StatefulSet's live replicas while `pending` names something to wait
   * for, and lowers them once it names nothing. Synth output cannot know what runs: there the
   * product documents the steps.
   * @default - a scale-down applies at once
   */
  readonly scaleDown?: ScaleDownHandOver;
  /**
   * StatefulSet for pods with identity or storage, Deployment for interchangeable ones, DaemonSet
   * for one pod per node (replicas do not apply; storage must be empty).
   * @default 'StatefulSet'
   */
  readonly workload?: 'StatefulSet' | 'Deployment' | 'DaemonSet';
  /**
   * Whether a spec runs this role at all (a product mode may do without it). A role that is not
   * run gets no role groups and no objects, and its section in the spec is the product's to reject.
   * @default - the role always runs
   */
  readonly enabled?: (spec: AnyStackletSpec) => boolean;
  /** The pod of a role group. */
  readonly pod: (stacklet: StackletContext, roleGroup: ResolvedRoleGroup<Config>) => RoleGroupPod;
}

/** A product's image table: versions it supports and where their images come from. */
export interface ProductImages {
  readonly repository: string;
  /** Supported product versions → image tag. */
  readonly versions: Readonly<Record<string, string>>;
  readonly defaultVersion: string;
}

/**
 * Everything the framework needs to build, validate and reconcile one product.
 * (Hooks are methods so that a product typed with its own spec is usable wherever any product is.)
 */
export interface ProductDefinition<Spec extends AnyStackletSpec = AnyStackletSpec> {
  /** The product's name (`app.kubernetes.io/name`): `zookeeper`, `kafka`. */
  readonly name: string;
  /** The custom resource kind: `ZookeeperCluster`. */
  readonly kind: string;
  readonly plural: string;
  readonly shortNames?: readonly string[];
  readonly description: string;
  /** The whole spec schema, from `stackletSpecSchema`. */
  readonly specSchema: TObject;
  /** The roles; a product without roles runs no pods and publishes only its discovery ConfigMap. */
  readonly roles: readonly RoleDefinition[];
  /**
   * The AuthenticationClass providers the product maps onto its own settings (lib/authentication).
   * A stacklet naming a class of another provider is refused, at synth and by the operator
   * (`Degraded`, `InvalidSpec`, and a Warning Event), with a message naming the class, its provider
   * and the providers the product supports; the product gets the classes it supports in
   * `StackletContext.authentication`.
   * @default - none: a stacklet naming any class is refused
   */
  readonly authenticationProviders?: readonly AuthenticationProvider[];
  /** @default - none: only a product without roles may have no images */
  readonly images?: ProductImages;
  /** The pod user; must be above 10000 to pass keelson's security rules. @default 10001 */
  readonly runAsUser?: number;
  /**
   * The stacklet's pods read the ConfigMaps of their namespace through the Kubernetes API (OPA's
   * policy step lists the ConfigMaps its label selects): the build adds a Role that may get, list
   * and watch ConfigMaps and binds it to the stacklet's ServiceAccount. The pods still get no
   * token by default: the container that reads mounts one with `apiTokenVolume` (lib/stacklet/api-token.ts).
   * @default false
   */
  readonly readsConfigMaps?: boolean;
  /**
   * The discovery ConfigMaps (in the stacklet's namespace) the spec depends on, by the spec path
   * that names each: `{ 'spec.clusterConfig.zookeeperConfigMapName': 'zk' }`. The build gets their
   * contents in `StackletContext.dependencies`; the operator waits until they exist.
   * @default - none
   */
  dependencies?(spec: Spec, references: ResolvedReferences): Readonly<Record<string, string>>;
  /**
   * Other keelson objects the spec refers to, by the spec path that names or selects them:
   * `{ 'spec.clusterConfig.s3.reference': { kind: 'S3Connection', name: 'minio' } }` or
   * `{ 'spec.clusterConfig.catalogLabelSelector': { kind: 'TrinoCatalog', labelSelector: {...} } }`.
   * The hook is called again with what was resolved so far, so referenced objects can refer further.
   * The build gets the objects in `StackletContext.references`; the operator waits for named ones and
   * reconciles the stacklet again when a referenced or selectable object of those kinds changes.
   * @default - none
   */
  references?(spec: Spec, resolved: ResolvedReferences): Readonly<Record<string, ObjectReference>>;
  /**
   * Problems that need the resolved stacklet (across role groups, between settings and the
   * version), one line each starting with the spec path; they are reported with the schema's.
   * @default - none
   */
  validate?(stacklet: StackletContext<Spec>): readonly string[];
  /** Connection details published in the stacklet's discovery ConfigMap. */
  discovery?(stacklet: StackletContext<Spec>): Readonly<Record<string, string>>;
  /**
   * The product's recording and alerting rules and dashboard panels, built from the metric names
   * its metrics port serves (`clusterConfig.monitoring` decides which objects carry them).
   * @default - only the rules and panels every product shares
   */
  readonly monitoring?: ProductMonitoring;
}

/**
 * Declares a role with its own config type. A product's roles differ in config type, and a role
 * both produces its config (defaults) and consumes it (pod), so the list of roles is typed with
 * the shared config only; this is the one place that widens it.
 */
export function defineRole<Config extends ResolvedCommonConfig>(
  role: RoleDefinition<Config>,
): RoleDefinition {
  return role as unknown as RoleDefinition;
}
