/**
 * The reconcile of one stacklet, generic over products:
 * cache → paused? → dependencies → build → stamp Secret versions → hold back unsafe quorum
 * membership changes → keep live claim templates and expand claims → apply what differs → prune →
 * status.
 *
 * It is level-triggered and idempotent: it reads the desired state from the custom resource and
 * the live state from the caches, never from the event that queued it, and a second run after a
 * successful one sends nothing. Problems a user can fix (a missing dependency, a spec the build
 * rejects) end up in status conditions and Events, not in retries.
 */
import type { Logger } from 'pino';
import { LABEL_COMPONENT, LABEL_INSTANCE, LABEL_NAME } from '../stacklet/labels';
import type { OperatorPods, ProductDefinition, RoleDefinition, RunningPods } from '../stacklet/product';
import { resolveReferences, type ReferencedObject, type ReferencesHook } from '../stacklet/references';
import { stackletDependencies } from '../stacklet/resolve';
import { SpecValidationError } from '../spec/validate';
import type { AnyStackletSpec } from '../spec/stacklet-spec';
import type { TlsSpec } from '../spec/common';
import { buildChildren, type Manifest } from './build';
import type { CertificateRestarts } from './certificate-restarts';
import type { KindCache } from './cache';
import { ApiError, FIELD_MANAGER, isStatus, type KubeClient } from './client';
import { isUpToDate } from './compare';
import {
  findCondition,
  mergeConditions,
  reconciledConditions,
  statusChanged,
  type ConditionType,
  type StackletStatus,
  type WantedCondition,
} from './conditions';
import type { EventRecorder } from './events';
import type { KubeObject } from './informer';
import type { OperatorMetrics } from './metrics';
import { CONTAINERS_FAILING, podProblems, problemsSignature, type PodProblem } from './pod-health';
import { workloadReadiness, WORKLOAD_KINDS, type WorkloadReadiness } from './readiness';
import { quorumVerdict, type QuorumVerdict } from './quorum';
import { resolveStackletTls, TLS_CLASS_LABEL, tlsOfPodVolumes, type TlsClassInfo } from '../tls/pod-tls';
import { DEFAULT_CLUSTER_DOMAIN } from './pod-certificates';
import type { Volume } from '../../imports/k8s-wire';
import type { ListenerClassInfo } from '../listener/class';
import type { AuthenticationClassInfo } from '../authentication/class';
import {
  fillListenerAddresses,
  fillNodeTopology,
  type ListenerCaches,
  type TopologyCaches,
} from './listener-addresses';
import {
  CERTIFICATE_RESOURCE,
  kindKey,
  objectPath,
  PROMETHEUS_RULE_RESOURCE,
  SERVICE_MONITOR_RESOURCE,
  type ResourceType,
} from './resources';
import { secretsHashOf, withSecretsHashes } from './secret-references';
import { expandClaim, StoragePlanner, volumeChangeProblems, type Claim } from './storage';
import { handOverScaleDowns, HAND_OVER_RETRY_MS, statefulSetReplicas } from './scale-down';
import { classTrust, getPodJson, podDnsName } from './pod-http';

/** How often a stacklet waiting for a dependency looks again (events usually come sooner). */
export const DEPENDENCY_RETRY_MS = 5_000;

/** Reason of `Degraded` when the spec asks a storage change that cannot be made in place. */
export const STORAGE_CHANGE_NOT_APPLIED = 'StorageChangeNotApplied';

/** Reason of `Degraded` when a `certManager` TlsClass serves the stacklet and cert-manager is not installed. */
export const CERT_MANAGER_MISSING = 'CertManagerMissing';

/**
 * Reason of `Progressing` while a role's leaving pods hand their data over and its StatefulSet
 * keeps its replicas (`RoleDefinition.scaleDown`, scale-down.ts).
 */
export const SCALE_DOWN_HANDING_OVER = 'ScaleDownHandingOver';
/** Reason of the Normal Event when no scale-down waits for a hand-over any more. */
export const SCALE_DOWN_HANDED_OVER = 'ScaleDownHandedOver';

/**
 * Reason of `Degraded` when `clusterConfig.monitoring` asks for ServiceMonitors or PrometheusRules and
 * the API server does not serve prometheus-operator's CRDs.
 */
export const PROMETHEUS_OPERATOR_MISSING = 'PrometheusOperatorMissing';

/** How often a stacklet waiting for cert-manager (or prometheus-operator's CRDs) looks again. */
export const CERT_MANAGER_RETRY_MS = 30_000;

export type ReconcileResult = 'success' | 'paused' | 'waiting' | 'invalid' | 'gone';

export interface ReconcilerOptions {
  readonly product: ProductDefinition;
  readonly resource: ResourceType;
  readonly client: KubeClient;
  readonly stacklets: KindCache;
  /** Caches of the child kinds, by `apiVersion/kind`. */
  readonly children: ReadonlyMap<string, { cache: KindCache; resource: ResourceType }>;
  /** The metadata-only cache of Secrets: the versions of the Secrets pods read. */
  readonly secrets: KindCache;
  /**
   * The metadata-only cache of every ConfigMap: which dependencies exist, including those keelson
   * did not make (whose data the children's ConfigMap cache does not hold).
   */
  readonly configMaps: KindCache;
  /** The cache of keelson's pods (their status only, see pod-health.ts). */
  readonly pods: KindCache;
  readonly recorder: EventRecorder;
  readonly metrics: OperatorMetrics;
  readonly log: Logger;
  /** Told which ConfigMaps a stacklet depends on, so their changes requeue it. */
  readonly onDependencies: (namespace: string, name: string, configMaps: readonly string[]) => void;
  /** The keelson objects of `kind` in `namespace` (from the operator's caches), for references. */
  readonly objects: (namespace: string, kind: string) => readonly ReferencedObject[];
  /** Told which kinds a stacklet refers to, so that changes to objects of them requeue it. */
  readonly onReferences: (namespace: string, name: string, kinds: readonly string[]) => void;
  /** Told which Secrets a stacklet's pods read, so that changes to them requeue it. */
  readonly onSecrets: (namespace: string, name: string, secrets: readonly string[]) => void;
  /**
   * Makes the operator cache a kind a build emitted that is not among the fixed child kinds
   * (cert-manager's Certificates, once the API server serves them); false when it cannot.
   * @default - no other kinds
   */
  readonly childKind?: (apiVersion: string, kind: string) => Promise<boolean>;
  /** The cluster's TlsClasses (from the operator's cache). */
  readonly tlsClasses: () => readonly TlsClassInfo[];
  /** The cluster's ListenerClasses (from the operator's cache). @default - none: the built-in ones */
  readonly listenerClasses?: () => readonly ListenerClassInfo[];
  /** The cluster's AuthenticationClasses (from the operator's cache). @default - none */
  readonly authenticationClasses?: () => readonly AuthenticationClassInfo[];
  /** What per-pod listener addresses are read from (listener-addresses.ts). @default - none written */
  readonly listenerCaches?: ListenerCaches;
  /** Pods and node labels, for node topology tables (lib/topology). @default - tables stay empty */
  readonly topologyCaches?: TopologyCaches;
  /**
   * Restarts of pods whose product does not reload its certificates (certificate-restarts.ts), run
   * after every successful reconcile.
   */
  readonly certificateRestarts?: CertificateRestarts;
  /** The operator's own pods, admitted to the ports it reads (a scale-down hand-over). @default - none */
  readonly operatorPods?: OperatorPods;
  /**
   * The TlsClasses' ClusterTrustBundles the operator published (the signer's cache): the CAs a
   * pod's HTTPS answer is checked against. @default - none: HTTPS reads of pods fail, saying why
   */
  readonly trustBundles?: () => Iterable<KubeObject>;
  /** The cluster's DNS domain, in pods' DNS names. @default 'cluster.local' */
  readonly clusterDomain?: string;
}

export class Reconciler {
  /**
   * The failing containers each stacklet was last warned about (`namespace/name` → signature), so
   * that a crash loop records one Event, not one per crash (the log tail in the message changes).
   */
  private readonly warnedFailures = new Map<string, string>();

  constructor(private readonly o: ReconcilerOptions) {}

  public async reconcile(
    namespace: string,
    name: string,
  ): Promise<{ result: ReconcileResult; requeueAfterMs?: number }> {
    const resource = this.o.stacklets.get(namespace, name);
    if (!resource || resource.metadata.deletionTimestamp) {
      this.warnedFailures.delete(`${namespace}/${name}`);
      return { result: 'gone' };
    }
    const log = this.o.log.child({ kind: this.o.product.kind, namespace, name });
    const spec = (resource.spec ?? {}) as AnyStackletSpec;
    const generation = resource.metadata.generation;

    if (spec.clusterOperation?.reconciliationPaused) {
      await this.writeStatus(resource, {
        ReconciliationPaused: {
          status: 'True',
          reason: 'ReconciliationPaused',
          message:
            'spec.clusterOperation.reconciliationPaused is true: keelson changes nothing of this stacklet',
        },
      });
      return { result: 'paused' };
    }
    const active: Partial<Record<ConditionType, WantedCondition>> = {
      ReconciliationPaused: {
        status: 'False',
        reason: 'ReconciliationActive',
        message: 'keelson reconciles this stacklet',
      },
    };

    // References: other keelson objects named or selected by label (looked up in the caches).
    const kinds = new Set<string>();
    const objects: ReferencedObject[] = [];
    const resolution = resolveReferences(
      this.o.product.references?.bind(this.o.product) as ReferencesHook | undefined,
      spec,
      (kind) => {
        const found = this.o.objects(namespace, kind);
        if (!kinds.has(kind)) objects.push(...found);
        kinds.add(kind);
        return found;
      },
    );
    this.o.onReferences(namespace, name, [...kinds]);

    // Dependencies: discovery ConfigMaps of other stacklets (or made by hand).
    const wanted = stackletDependencies(this.o.product, spec, resolution.references);
    this.o.onDependencies(namespace, name, Object.values(wanted));
    const dependencies: Record<string, Record<string, string>> = {};
    const missing: string[] = [...resolution.missing];
    for (const [path, configMap] of Object.entries(wanted)) {
      const data = await this.dependencyData(namespace, configMap);
      if (data) dependencies[configMap] = data;
      else missing.push(`ConfigMap "${configMap}" (named by ${path})`);
    }
    if (missing.length > 0) {
      const message = `waiting for ${missing.join(', ')} in namespace ${namespace}`;
      await this.writeStatus(resource, {
        ...active,
        Available: { status: 'False', reason: 'DependencyMissing', message },
        Progressing: { status: 'True', reason: 'DependencyMissing', message },
        Degraded: { status: 'False', reason: 'DependencyMissing', message },
      });
      log.info({ missing }, 'waiting for dependencies');
      return { result: 'waiting', requeueAfterMs: DEPENDENCY_RETRY_MS };
    }

    let desired: Manifest[];
    try {
      const listenerCaches = this.o.listenerCaches;
      desired = buildChildren(this.o.product, resource, dependencies, objects, this.o.tlsClasses(), {
        listenerClasses: this.o.listenerClasses?.() ?? [],
        authenticationClasses: this.o.authenticationClasses?.() ?? [],
        operatorPods: this.o.operatorPods,
        fill: (built) => {
          const addressed = listenerCaches ? fillListenerAddresses(built, namespace, listenerCaches) : built;
          const topologyCaches = this.o.topologyCaches;
          return topologyCaches ? fillNodeTopology(addressed, namespace, topologyCaches) : addressed;
        },
      });
    } catch (error) {
      if (!SpecValidationError.isSpecValidationError(error)) throw error;
      const message = error.problems.join('; ');
      const invalid = 'the spec is invalid; see the Degraded condition';
      await this.refuse(resource, active, 'InvalidSpec', message, invalid);
      log.warn({ problems: error.problems }, 'invalid spec; nothing applied');
      return { result: 'invalid' };
    }

    // cert-manager's Certificates (a `certManager` TlsClass) need cert-manager's CRDs: without them
    // nothing is applied, and the user is told which class needs what.
    const certManagerClasses = await this.certManagerClassesWithoutCertManager(desired);
    if (certManagerClasses.length > 0) {
      const several = certManagerClasses.length > 1;
      const message =
        `the TlsClass${several ? 'es' : ''} ${certManagerClasses.map((c) => `"${c}"`).join(', ')} ` +
        `issue${several ? '' : 's'} certificates through cert-manager, but the API server does not serve cert-manager.io/v1 ` +
        'Certificates: install cert-manager (its CRDs and controller) or name a keelsonCa or secretCa class in ' +
        'spec.clusterConfig.tls; nothing applied';
      await this.refuse(resource, active, CERT_MANAGER_MISSING, message);
      log.warn({ tlsClasses: certManagerClasses }, 'cert-manager is not installed; nothing applied');
      return { result: 'waiting', requeueAfterMs: CERT_MANAGER_RETRY_MS };
    }

    // ServiceMonitors and PrometheusRules need prometheus-operator's CRDs: without them nothing is
    // applied, and the user is told which setting asks for what.
    const monitoringKinds = await this.monitoringKindsNotServed(desired);
    if (monitoringKinds.length > 0) {
      const fields = monitoringKinds.map((k) =>
        k === 'ServiceMonitor' ? 'serviceMonitors' : 'prometheusRules',
      );
      const message =
        `spec.clusterConfig.monitoring asks for ${monitoringKinds.join(' and ')} objects ` +
        `(${fields.join(', ')}), but the API server does not serve monitoring.coreos.com/v1 ` +
        `${monitoringKinds.map((k) => `${k}s`).join(' or ')}: install prometheus-operator's CRDs or set ` +
        `${fields.join(' and ')} to false; nothing applied`;
      await this.refuse(resource, active, PROMETHEUS_OPERATOR_MISSING, message);
      log.warn({ kinds: monitoringKinds }, "prometheus-operator's CRDs are not installed; nothing applied");
      return { result: 'waiting', requeueAfterMs: CERT_MANAGER_RETRY_MS };
    }

    // The Secrets the pods read: a change to one requeues this stacklet, and the new version in
    // the pod template rolls the pods (env from a Secret is read only at container start).
    const secrets = withSecretsHashes(
      desired,
      (secret) => this.o.secrets.get(namespace, secret)?.metadata,
      (workload) => secretsHashOf(this.live(workload)),
    );
    desired = secrets.manifests;
    this.o.onSecrets(namespace, name, secrets.referenced);

    // A running quorum's members never change in a rolling restart (lib/operator/quorum.ts).
    const quorum = this.quorumVerdicts(resource, desired);
    const unsafe = quorum.filter((v): v is Extract<QuorumVerdict, { kind: 'unsafe' }> => v.kind === 'unsafe');
    if (unsafe.length > 0) {
      const message = unsafe.map((v) => v.message).join('; ');
      const reason = unsafe[0].reason;
      await this.writeStatusWithWarning(
        resource,
        {
          ...active,
          Degraded: { status: 'True', reason, message },
          Progressing: { status: 'False', reason, message },
        },
        'Degraded',
      );
      log.warn(
        { problems: unsafe.map((v) => v.message) },
        'unsafe change of a running quorum; nothing applied',
      );
      return { result: 'invalid' };
    }
    // A role whose pods hand their data over before they go: prepared, and shrunk once they are done.
    const handOver = await handOverScaleDowns(
      this.o.product.roles,
      desired,
      (m) => this.live(m) as Manifest | undefined,
      this.runningPods(
        namespace,
        name,
        resolveStackletTls((spec.clusterConfig as { tls?: TlsSpec } | undefined)?.tls, this.o.tlsClasses())
          .tls.server,
      ),
      spec.clusterOperation?.stopped === true,
    );
    desired = handOver.manifests;
    // Claim templates are immutable: keep the live ones, and grow the claims themselves.
    const storage = await this.reconcileStorage(resource, desired, log);
    desired = storage.manifests;

    const applied = new Set<string>();
    for (const manifest of desired) {
      applied.add(childKey(manifest));
      await this.apply(manifest, log);
    }
    await this.prune(resource, applied, log);

    const problems = this.podProblems(namespace, name);
    const conditions = reconciledConditions({
      generation,
      namespace,
      stopped: spec.clusterOperation?.stopped === true,
      workloads: this.workloadReadiness(desired),
      missingSecrets: secrets.missing,
      podProblems: problems,
    });
    // A hand-over's start and end are Events too: `kubectl describe` shows why replicas waited.
    const handingOver = findCondition(resource.status as StackletStatus | undefined, 'Progressing')?.reason;
    if (handOver.pending.length > 0) {
      const message = `a scale-down waits until the leaving pods handed their data over: ${handOver.pending.join('; ')}`;
      conditions.Progressing = { status: 'True', reason: SCALE_DOWN_HANDING_OVER, message };
      log.info(
        { pending: handOver.pending },
        'scale-down held until the leaving pods handed their data over',
      );
      if (handingOver !== SCALE_DOWN_HANDING_OVER)
        await this.recordEvent(resource, 'Normal', SCALE_DOWN_HANDING_OVER, message);
    } else if (handingOver === SCALE_DOWN_HANDING_OVER) {
      await this.recordEvent(
        resource,
        'Normal',
        SCALE_DOWN_HANDED_OVER,
        'no scale-down waits any more: the StatefulSets have the replicas the spec asks for',
      );
    }
    if (storage.problems.length > 0) {
      const message = `storage changes not applied: ${storage.problems.join('; ')}`;
      await this.writeStatusWithWarning(
        resource,
        {
          ...active,
          ...conditions,
          Degraded: { status: 'True', reason: STORAGE_CHANGE_NOT_APPLIED, message },
        },
        'Degraded',
      );
    } else if (conditions.Degraded?.reason === CONTAINERS_FAILING) {
      await this.writeStatus(resource, { ...active, ...conditions });
      await this.warnOfFailures(
        resource,
        conditions.Degraded.message,
        problems.filter((p) => !p.waiting),
      );
    } else if (conditions.Progressing?.reason === 'SecretMissing') {
      await this.writeStatusWithWarning(resource, { ...active, ...conditions }, 'Progressing');
    } else await this.writeStatus(resource, { ...active, ...conditions });
    if (conditions.Degraded?.reason !== CONTAINERS_FAILING)
      this.warnedFailures.delete(`${namespace}/${name}`);
    const restarts = await this.o.certificateRestarts?.reconcile(resource, log);
    const requeues = [restarts?.requeueAfterMs, handOver.pending.length > 0 ? HAND_OVER_RETRY_MS : undefined];
    const soonest = requeues.filter((ms): ms is number => ms !== undefined);
    return { result: 'success', requeueAfterMs: soonest.length > 0 ? Math.min(...soonest) : undefined };
  }

  /**
   * The TlsClasses (by the class label keelson puts on its Certificates) of the cert-manager
   * Certificates in `desired` the operator cannot apply because cert-manager's CRDs are not served.
   */
  private async certManagerClassesWithoutCertManager(desired: readonly Manifest[]): Promise<string[]> {
    const classes = new Set<string>();
    for (const manifest of desired) {
      if (
        manifest.apiVersion !== CERTIFICATE_RESOURCE.apiVersion ||
        manifest.kind !== CERTIFICATE_RESOURCE.kind
      )
        continue;
      if (this.o.children.has(kindKey(manifest.apiVersion, manifest.kind))) return [];
      if (await this.o.childKind?.(manifest.apiVersion, manifest.kind)) return [];
      classes.add(manifest.metadata.labels?.[TLS_CLASS_LABEL] ?? '(unknown)');
    }
    return [...classes].sort();
  }

  /** The prometheus-operator kinds in `desired` the operator cannot apply because their CRDs are not served. */
  private async monitoringKindsNotServed(desired: readonly Manifest[]): Promise<string[]> {
    const kinds = new Set<string>();
    for (const resource of [SERVICE_MONITOR_RESOURCE, PROMETHEUS_RULE_RESOURCE]) {
      if (!desired.some((m) => m.apiVersion === resource.apiVersion && m.kind === resource.kind)) continue;
      if (this.o.children.has(kindKey(resource.apiVersion, resource.kind))) continue;
      if (await this.o.childKind?.(resource.apiVersion, resource.kind)) continue;
      kinds.add(resource.kind);
    }
    return [...kinds];
  }

  /** The stacklet's pods, from the pod cache. */
  private stackletPods(namespace: string, name: string): KubeObject[] {
    return [...this.o.pods.list(namespace)].filter(
      (p) =>
        p.metadata.labels?.[LABEL_INSTANCE] === name &&
        p.metadata.labels?.[LABEL_NAME] === this.o.product.name,
    );
  }

  /** Why the stacklet's pods are not Ready, from the pod cache. */
  private podProblems(namespace: string, name: string): PodProblem[] {
    return podProblems(this.stackletPods(namespace, name));
  }

  /**
   * A Warning Event for failing containers when the set of them (pod, container, reason, exit
   * code) is new. After a restart of the operator, a `Degraded` condition that already said
   * ContainersFailing counts as warned.
   */
  private async warnOfFailures(resource: KubeObject, message: string, problems: PodProblem[]): Promise<void> {
    const key = `${resource.metadata.namespace}/${resource.metadata.name}`;
    const signature = problemsSignature(problems);
    const before = this.warnedFailures.get(key);
    this.warnedFailures.set(key, signature);
    if (before === signature) return;
    if (before === undefined) {
      const condition = findCondition(resource.status as StackletStatus | undefined, 'Degraded');
      if (condition?.reason === CONTAINERS_FAILING && condition.message === message) return;
    }
    await this.o.recorder.record(resource, 'Warning', CONTAINERS_FAILING, message).catch((e: unknown) => {
      this.o.log.warn(
        { namespace: resource.metadata.namespace, name: resource.metadata.name, err: String(e) },
        'could not record an event',
      );
    });
  }

  /**
   * Gives each StatefulSet that already exists the claim templates it has (the API server refuses
   * any change to them), and carries out on its claims what the spec asks of storage: expands
   * claims whose StorageClass allows it, and returns as problems what cannot be done in place
   * (see storage.ts). The stacklet's claims are listed once per reconcile that has a live
   * StatefulSet with claim templates: a claim grown past its template, or a scale-up's claim still
   * at the template's size, shows only there.
   */
  private async reconcileStorage(
    resource: KubeObject,
    desired: readonly Manifest[],
    log: Logger,
  ): Promise<{ manifests: Manifest[]; problems: string[] }> {
    const namespace = resource.metadata.namespace!;
    const problems: string[] = [];
    const manifests: Manifest[] = [];
    const planner = new StoragePlanner(
      this.o.client,
      namespace,
      `${LABEL_NAME}=${this.o.product.name},${LABEL_INSTANCE}=${resource.metadata.name}`,
    );
    for (const manifest of desired) {
      const live = manifest.kind === 'StatefulSet' ? this.live(manifest) : undefined;
      if (!live) {
        manifests.push(manifest);
        continue;
      }
      const workload = manifest.metadata.name;
      const spec = (manifest.spec ?? {}) as { volumeClaimTemplates?: Claim[] };
      const want = spec.volumeClaimTemplates ?? [];
      const have = ((live.spec as { volumeClaimTemplates?: Claim[] } | undefined)?.volumeClaimTemplates ??
        []) as Claim[];
      manifests.push(
        want.length === 0 && have.length === 0
          ? manifest
          : {
              ...manifest,
              spec: { ...spec, volumeClaimTemplates: have.map(({ status: _, ...template }) => template) },
            },
      );
      if (want.length === 0 && have.length === 0) continue;
      const plan = await planner.plan(workload, want, have);
      problems.push(...plan.problems, ...volumeChangeProblems(workload, plan.changes));
      for (const { claim, from, to } of plan.expansions) {
        try {
          await expandClaim(this.o.client, namespace, claim, to);
        } catch (error) {
          // A refusal (admission, validation) is the user's to fix; anything else is retried.
          if (!(error instanceof ApiError) || error.status >= 500 || error.status === 429) throw error;
          problems.push(`claim ${claim} could not grow to ${to}: ${error.message}`);
          continue;
        }
        log.info({ claim, from, to }, 'expanding claim');
        await this.o.recorder
          .record(resource, 'Normal', 'ExpandingVolume', `expanding claim ${claim} from ${from} to ${to}`)
          .catch((e: unknown) => log.warn({ err: String(e) }, 'could not record an event'));
      }
    }
    return { manifests, problems };
  }

  /**
   * The verdict on each quorum role (`RoleDefinition.quorum`) whose members `desired` changes:
   * its StatefulSets as they are (from the cache) against those the spec asks for.
   */
  private quorumVerdicts(resource: KubeObject, desired: readonly Manifest[]) {
    const { namespace, name, uid } = resource.metadata;
    const statefulSets = this.o.children.get(kindKey('apps/v1', 'StatefulSet'))?.cache;
    // The TLS the members speak to each other, read from the pod template's volumes.
    const internalTls = (m: KubeObject, role: RoleDefinition) =>
      role.tls?.includes('internal')
        ? tlsOfPodVolumes(
            (m.spec as { template?: { spec?: { volumes?: Volume[] } } } | undefined)?.template?.spec?.volumes,
            'internal',
          )
        : undefined;
    return this.o.product.roles
      .filter((role) => role.quorum)
      .map((role) => {
        const ofRole = (m: { metadata: { labels?: Record<string, string> } }) =>
          m.metadata.labels?.[LABEL_COMPONENT] === role.name;
        const live = [...(statefulSets?.list(namespace) ?? [])]
          .filter(
            (o) =>
              ofRole(o) &&
              o.metadata.labels?.[LABEL_INSTANCE] === name &&
              o.metadata.labels?.[LABEL_NAME] === this.o.product.name &&
              o.metadata.ownerReferences?.some((ref) => ref.uid === uid),
          )
          .map((o) => ({
            name: o.metadata.name,
            replicas: statefulSetReplicas(o),
            tls: internalTls(o, role),
          }));
        const wanted = desired
          .filter((m) => m.kind === 'StatefulSet' && ofRole(m))
          .map((m) => ({
            name: m.metadata.name,
            replicas: statefulSetReplicas(m),
            tls: internalTls(m, role),
          }));
        return quorumVerdict(`spec.${role.name}`, live, wanted);
      });
  }

  /**
   * The stacklet's pods in the operator's cache, for a role's scale-down hand-over; `serverTls` the
   * stacklet's server TlsClass, whose CAs its pods' HTTPS answers are checked against.
   */
  private runningPods(namespace: string, name: string, serverTls: TlsClassInfo | undefined): RunningPods {
    const running = () => this.stackletPods(namespace, name).filter((p) => !p.metadata.deletionTimestamp);
    const ipOf = (p: KubeObject) => (p.status as { podIP?: string } | undefined)?.podIP;
    return {
      of: (role) =>
        running()
          .filter((p) => p.metadata.labels?.[LABEL_COMPONENT] === role)
          .flatMap((p) => {
            const ip = ipOf(p);
            return ip ? [{ name: p.metadata.name, ip }] : [];
          }),
      serverTls: serverTls !== undefined,
      getJson: async (url) => {
        if (!url.startsWith('https:')) return getPodJson(url);
        if (!serverTls)
          throw new Error(
            `GET ${url}: the stacklet has no server TlsClass to check the pod's certificate against`,
          );
        const ca = classTrust(this.o.trustBundles?.() ?? [], serverTls.name);
        if (!ca) {
          throw new Error(
            `GET ${url}: the keelson operator knows no CA of the TlsClass "${serverTls.name}" yet ` +
              "(it publishes each class's CAs as ClusterTrustBundles, which needs Kubernetes 1.35 or later with " +
              'certificates.k8s.io/v1beta1 served)',
          );
        }
        const host = new URL(url).hostname;
        const pod = running().find((p) => ipOf(p) === host);
        const serverName = pod && podDnsName(pod, this.o.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN);
        if (!serverName)
          throw new Error(`GET ${url}: no pod of the stacklet with a DNS name has the IP ${host}`);
        return getPodJson(url, { ca, serverName });
      },
    };
  }

  /**
   * Tells the user a reconcile failed (an API server refused a write, say), as `Degraded=True`
   * with reason `ReconcileError` and a Warning Event when the message is new. Best effort: the
   * queue retries the reconcile with backoff whatever happens here.
   */
  public async reportFailure(namespace: string, name: string, error: unknown): Promise<void> {
    const resource = this.o.stacklets.get(namespace, name);
    if (!resource || resource.metadata.deletionTimestamp) return;
    const message = `reconcile failed, retrying: ${(error instanceof Error ? error.message : String(error)).slice(0, 1024)}`;
    try {
      await this.writeStatusWithWarning(
        resource,
        { Degraded: { status: 'True', reason: 'ReconcileError', message } },
        'Degraded',
      );
    } catch (e) {
      this.o.log.warn({ namespace, name, err: String(e) }, 'could not report a failed reconcile');
    }
  }

  /**
   * The data of a dependency ConfigMap, or undefined while it does not exist: from the children's
   * cache when keelson made it; else, when the metadata cache knows it, from one GET (the data of
   * ConfigMaps keelson did not make is not cached, but their changes requeue dependents all the
   * same through the metadata cache).
   */
  private async dependencyData(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    const cached = this.o.children.get(kindKey('v1', 'ConfigMap'))?.cache.get(namespace, name);
    if (cached) return (cached.data as Record<string, string> | undefined) ?? {};
    if (!this.o.configMaps.get(namespace, name)) return undefined;
    try {
      const live = await this.o.client.request<KubeObject>(
        'get',
        'GET',
        `/api/v1/namespaces/${namespace}/configmaps/${encodeURIComponent(name)}`,
        'configmaps',
      );
      return (live.data as Record<string, string> | undefined) ?? {};
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw error;
    }
  }

  /** Server-side applies `manifest` unless the cache shows it is already in place. */
  private async apply(manifest: Manifest, log: Logger): Promise<void> {
    const child = this.o.children.get(kindKey(manifest.apiVersion, manifest.kind));
    if (!child)
      throw new Error(`${this.o.product.kind} built a ${manifest.kind}, which the operator does not manage`);
    const namespace = manifest.metadata.namespace!;
    if (isUpToDate(manifest, child.cache.get(namespace, manifest.metadata.name))) {
      this.o.metrics.objectsApplied.inc({ kind: manifest.kind, action: 'skipped' });
      return;
    }
    const live = await this.o.client.request<KubeObject>(
      'apply',
      'PATCH',
      objectPath(child.resource, namespace, manifest.metadata.name),
      child.resource.plural,
      {
        query: { fieldManager: FIELD_MANAGER, force: true },
        body: manifest,
        contentType: 'application/apply-patch+yaml',
      },
    );
    child.cache.remember(live);
    this.o.metrics.objectsApplied.inc({ kind: manifest.kind, action: 'applied' });
    log.debug({ object: `${manifest.kind}/${manifest.metadata.name}` }, 'applied');
  }

  /**
   * Deletes children this stacklet made earlier and no longer wants: carrying its instance and
   * product labels AND an owner reference to its UID. PersistentVolumeClaims are never cached, so
   * never pruned: data outlives a removed role group.
   */
  private async prune(resource: KubeObject, applied: ReadonlySet<string>, log: Logger): Promise<void> {
    const { namespace, name, uid } = resource.metadata;
    for (const { cache, resource: type } of this.o.children.values()) {
      for (const object of [...cache.list(namespace)]) {
        const labels = object.metadata.labels ?? {};
        if (labels[LABEL_INSTANCE] !== name || labels[LABEL_NAME] !== this.o.product.name) continue;
        if (!object.metadata.ownerReferences?.some((ref) => ref.uid === uid)) continue;
        if (
          applied.has(childKey({ apiVersion: type.apiVersion, kind: type.kind, metadata: object.metadata }))
        )
          continue;
        if (object.metadata.deletionTimestamp) continue;
        try {
          await this.o.client.request(
            'delete',
            'DELETE',
            objectPath(type, namespace!, object.metadata.name),
            type.plural,
            {
              body: {
                kind: 'DeleteOptions',
                apiVersion: 'v1',
                propagationPolicy: 'Background',
                preconditions: { uid: object.metadata.uid },
              },
            },
          );
          log.info({ object: `${type.kind}/${object.metadata.name}` }, 'pruned');
        } catch (error) {
          if (!isStatus(error, 404, 409)) throw error;
        }
      }
    }
  }

  /** Readiness of each workload the stacklet wants, from the cache. */
  private workloadReadiness(desired: readonly Manifest[]): WorkloadReadiness[] {
    return desired.filter((m) => WORKLOAD_KINDS.has(m.kind)).map((m) => workloadReadiness(m, this.live(m)));
  }

  /** The cached live object `manifest` describes, if it exists. */
  private live(manifest: Manifest): KubeObject | undefined {
    return this.o.children
      .get(kindKey(manifest.apiVersion, manifest.kind))
      ?.cache.get(manifest.metadata.namespace!, manifest.metadata.name);
  }

  /**
   * Writes `wanted` (see writeStatus) where condition `problem` reports a problem, and records a
   * Warning Event with its reason and message when they are new, so that a problem shows up once
   * in `kubectl get events`, not once per reconcile.
   */
  /**
   * Records that this pass applied nothing and why: `Degraded` (with a Warning Event) and, as
   * nothing moves until the cause goes away, `Available` and `Progressing` false for the same
   * reason; `summary` is what those two say (by default the message itself).
   */
  private async refuse(
    resource: KubeObject,
    active: Partial<Record<ConditionType, WantedCondition>>,
    reason: string,
    message: string,
    summary: string = message,
  ): Promise<void> {
    await this.writeStatusWithWarning(
      resource,
      {
        ...active,
        Degraded: { status: 'True', reason, message },
        Available: { status: 'False', reason, message: summary },
        Progressing: { status: 'False', reason, message: summary },
      },
      'Degraded',
    );
  }

  private async writeStatusWithWarning(
    resource: KubeObject,
    wanted: Partial<Record<ConditionType, WantedCondition>>,
    problem: ConditionType,
  ): Promise<void> {
    const before = findCondition(resource.status as StackletStatus | undefined, problem);
    await this.writeStatus(resource, wanted);
    const now = wanted[problem]!;
    if (before?.reason === now.reason && before.message === now.message) return;
    await this.recordEvent(resource, 'Warning', now.reason, now.message);
  }

  /** Records an Event on the stacklet; best effort (a failure is logged). */
  private async recordEvent(
    resource: KubeObject,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void> {
    await this.o.recorder.record(resource, type, reason, message).catch((e: unknown) => {
      this.o.log.warn(
        { namespace: resource.metadata.namespace, name: resource.metadata.name, err: String(e) },
        'could not record an event',
      );
    });
  }

  /** Merges `wanted` into the status and writes it through the status subresource if it changed. */
  private async writeStatus(
    resource: KubeObject,
    wanted: Partial<Record<ConditionType, WantedCondition>>,
  ): Promise<void> {
    const before = resource.status as StackletStatus | undefined;
    const after: StackletStatus = {
      observedGeneration: resource.metadata.generation,
      conditions: mergeConditions(
        before?.conditions,
        wanted,
        resource.metadata.generation,
        new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      ),
    };
    if (!statusChanged(before, after)) return;
    this.o.log.debug(
      { namespace: resource.metadata.namespace, name: resource.metadata.name, before, after },
      'writing status',
    );
    const updated = await this.o.client.request<KubeObject>(
      'patch',
      'PATCH',
      `${objectPath(this.o.resource, resource.metadata.namespace!, resource.metadata.name)}/status`,
      this.o.resource.plural,
      { body: { status: after }, contentType: 'application/merge-patch+json' },
    );
    this.o.stacklets.remember(updated);
  }
}

function childKey(m: { apiVersion?: string; kind?: string; metadata: { name: string } }): string {
  return `${m.apiVersion}/${m.kind}/${m.metadata.name}`;
}
