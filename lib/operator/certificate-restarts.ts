/**
 * Restarts before certificate expiry, for products that do not reload their certificate files.
 *
 * The kubelet renews a pod certificate's files before it expires, but a product that reads them
 * once at start (Kafka, ZooKeeper's quorum: `RoleDefinition.certificateReload`) keeps presenting the
 * certificate it loaded and starts failing handshakes when that one expires. So the operator
 * restarts such a pod before then: through the Eviction API (the PodDisruptionBudget keelson writes
 * for the role is the API server's to enforce; a 429 means wait and look again), one pod of a
 * stacklet at a time, only while every other pod of the stacklet is Ready and no StatefulSet of it
 * is rolling, oldest certificate first. The new pod gets a new certificate from the signer.
 *
 * When: `notAfter - margin`, where `notAfter` is that of the certificate the process loaded (see
 * {@link loadedCertificate}: the earlier of the pod's earliest issued PodCertificateRequest and a
 * bound from the pod's start) and the margin is a quarter of the certificate's lifetime
 * ({@link RESTART_MARGIN_FRACTION}): 6 h of the default 24 h, 15 min of the shortest (1 h). A quarter
 * leaves time to restart every pod of a stacklet one after the other when all started together,
 * to wait out a PodDisruptionBudget that is exhausted for a while, and to survive an operator outage
 * of a few hours at the default lifetime; it comes after the kubelet's own refresh (by default two
 * thirds into the lifetime, or the class's `certificateRefreshAfter`), which is irrelevant here
 * because a new pod asks for a new certificate anyway.
 *
 * A CA change is handled the same way, for products that read their trust bundle (`ca.crt`) only at
 * start (`RoleDefinition.trustReload`, and `clientTrustReload` for their trust of other stacklets'
 * classes as a client): once a CA is published for the class a pod's trust comes from (a new
 * ClusterTrustBundle of its signer), each pod that started before is due {@link TRUST_SETTLE_MS}
 * after the publication ({@link trustRestartAt}), and rolls as above.
 *
 * Level-triggered: {@link planCertificateRestart} is a pure function of the pods, their
 * certificates and `now` that says which pod to evict now (if any) and when to look again;
 * {@link CertificateRestarts} reads the caches, evicts and records Events.
 */
import type { Logger } from 'pino';
import { LABEL_COMPONENT, LABEL_INSTANCE, LABEL_NAME } from '../stacklet/labels';
import {
  certificateReloadOf,
  clientTrustReloadOf,
  trustReloadOf,
  type ProductDefinition,
  type RoleDefinition,
} from '../stacklet/product';
import { CLOCK_SKEW_SECONDS, MAX_BACKDATE_SECONDS } from '../tls/certificates';
import { TLS_TRUST_VOLUME_PREFIX, tlsVolumeName, type TlsUse } from '../tls/pod-tls';
import type { KindCache } from './cache';
import { ApiError, type KubeClient } from './client';
import type { EventRecorder } from './events';
import type { KubeObject } from './informer';
import { controllerOf } from './pod-certificates';

/** The share of a certificate's lifetime before `notAfter` at which its pod is restarted. */
export const RESTART_MARGIN_FRACTION = 0.25;

/** How long a plan waits before looking again at most (a new pod, a resync, an event come sooner). */
export const MAX_RECHECK_MS = 60 * 60_000;

/** How soon to look again while a restart waits for pods to be Ready (pod events usually come sooner). */
export const BLOCKED_RECHECK_MS = 10_000;

/** How soon to look again after an eviction the API server refused with 429 (the budget is spent). */
export const EVICTION_REFUSED_RECHECK_MS = 10_000;

/**
 * How long after a CA's ClusterTrustBundle appeared the pods that started before it are restarted:
 * time for the kubelets to refresh the projected `ca.crt`, so that the new pods' holds the new CA.
 */
export const TRUST_SETTLE_MS = 60_000;

/** A pod's certificate validity, as the process that runs in it loaded it. */
export interface Validity {
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** One pod of a stacklet, as the plan sees it. */
export interface CertificatePod {
  readonly name: string;
  readonly uid: string;
  /** The workload (StatefulSet) the pod belongs to. */
  readonly group: string;
  readonly ready: boolean;
  readonly deleting: boolean;
  /** The certificate its process loaded, for pods whose product must be restarted to renew it. */
  readonly certificate?: Validity;
  /** When the pod started (status.startTime, else its creation). */
  readonly startedAt?: Date;
  /**
   * When a pod whose process reads its trust only at start is due because a CA was published
   * after it started ({@link trustRestartAt}); undefined when its trust is current.
   */
  readonly trustRestartAt?: Date;
}

/** One workload of the stacklet: how many pods it should have, and whether it is rolling already. */
export interface CertificateGroup {
  readonly name: string;
  readonly replicas: number;
  /** True while the StatefulSet rolls its pods to a new revision (it restarts them itself). */
  readonly rolling: boolean;
}

export type RestartPlan =
  | {
      readonly action: 'evict';
      readonly pod: CertificatePod;
      /** Why: the certificate it loaded is due, or a CA was published after it started. */
      readonly cause: 'certificate' | 'trust';
      readonly restartAt: Date;
      /** When the certificate it loaded expires (undefined when only its trust is due). */
      readonly expiresAt?: Date;
      readonly recheckAfterMs: number;
    }
  | {
      readonly action: 'wait';
      /** The pod that is due. */
      readonly pod: CertificatePod;
      readonly reason: string;
      readonly recheckAfterMs: number;
    }
  | { readonly action: 'none'; readonly recheckAfterMs?: number };

/** When a pod with `certificate` is due for its restart. */
export function restartAt(certificate: Validity, marginFraction = RESTART_MARGIN_FRACTION): Date {
  const lifetime = certificate.notAfter.getTime() - certificate.notBefore.getTime();
  return new Date(certificate.notAfter.getTime() - Math.floor(lifetime * marginFraction));
}

/**
 * Which pod of one stacklet to evict now for its certificate, or why none, and when to look
 * again. A pod is due at {@link restartAt}; of the due pods, the one whose certificate is due first
 * (then the one started first, then by name) goes, and only when nothing else of the stacklet is
 * in flight: no pod being deleted, every workload with all its pods and none rolling, and every
 * other pod Ready (the due pod itself may be not Ready: restarting it harms no one).
 */
export function planCertificateRestart(
  groups: readonly CertificateGroup[],
  pods: readonly CertificatePod[],
  now: Date,
  marginFraction = RESTART_MARGIN_FRACTION,
): RestartPlan {
  const timed = pods
    .filter((p) => (p.certificate !== undefined || p.trustRestartAt !== undefined) && !p.deleting)
    .map((p) => {
      const certificateAt = p.certificate && restartAt(p.certificate, marginFraction);
      const trust = p.trustRestartAt && (!certificateAt || p.trustRestartAt < certificateAt);
      return {
        pod: p,
        at: trust ? p.trustRestartAt! : certificateAt!,
        cause: trust ? ('trust' as const) : ('certificate' as const),
      };
    });
  const due = timed
    .filter((t) => t.at.getTime() <= now.getTime())
    .sort(
      (a, b) =>
        a.at.getTime() - b.at.getTime() ||
        (a.pod.startedAt?.getTime() ?? 0) - (b.pod.startedAt?.getTime() ?? 0) ||
        a.pod.name.localeCompare(b.pod.name),
    );
  if (due.length === 0) {
    const next = Math.min(...timed.map((t) => t.at.getTime()));
    return Number.isFinite(next)
      ? { action: 'none', recheckAfterMs: Math.min(MAX_RECHECK_MS, Math.max(1000, next - now.getTime())) }
      : { action: 'none' };
  }
  const { pod, at, cause } = due[0];
  const wait = (reason: string): RestartPlan => ({
    action: 'wait',
    pod,
    reason,
    recheckAfterMs: BLOCKED_RECHECK_MS,
  });
  const deleting = pods.find((p) => p.deleting);
  if (deleting) return wait(`pod ${deleting.name} is being deleted`);
  for (const group of groups) {
    if (group.rolling) return wait(`${group.name} is rolling to a new revision`);
    const have = pods.filter((p) => p.group === group.name).length;
    if (have < group.replicas) return wait(`${group.name} has ${have} of ${group.replicas} pods`);
  }
  const notReady = pods.find((p) => p.uid !== pod.uid && !p.ready);
  if (notReady) return wait(`pod ${notReady.name} is not Ready`);
  return {
    action: 'evict',
    pod,
    cause,
    restartAt: at,
    expiresAt: pod.certificate?.notAfter,
    recheckAfterMs: BLOCKED_RECHECK_MS,
  };
}

/** A PodCertificateRequest as the signer's cache holds it. */
interface PodCertificateRequest extends KubeObject {
  spec: { signerName?: string; podName?: string; podUID?: string };
  status?: {
    notBefore?: string;
    notAfter?: string;
    conditions?: { type: string; status: string; lastTransitionTime?: string }[];
  };
}

/** The API server's default `maxExpirationSeconds` of a podCertificate volume source. */
const DEFAULT_MAX_EXPIRATION_SECONDS = 86_400;

/** A podCertificate source of a pod template's TLS volume. */
export interface CertificateSource {
  readonly use: TlsUse;
  readonly signerName: string;
  readonly maxExpirationSeconds: number;
}

/** The podCertificate sources of keelson's TLS volumes (`tls-<use>`) in a pod template. */
export function certificateSources(template: unknown): CertificateSource[] {
  const volumes =
    (
      template as
        { spec?: { volumes?: { name?: string; projected?: { sources?: unknown[] } }[] } } | undefined
    )?.spec?.volumes ?? [];
  const sources: CertificateSource[] = [];
  for (const use of ['server', 'internal'] as const) {
    const volume = volumes.find((v) => v?.name === tlsVolumeName(use));
    for (const source of volume?.projected?.sources ?? []) {
      const pc = (source as { podCertificate?: { signerName?: string; maxExpirationSeconds?: number } })
        ?.podCertificate;
      if (pc?.signerName)
        sources.push({
          use,
          signerName: pc.signerName,
          maxExpirationSeconds: pc.maxExpirationSeconds ?? DEFAULT_MAX_EXPIRATION_SECONDS,
        });
    }
  }
  return sources;
}

type TemplateVolume = { name?: string; projected?: { sources?: unknown[] } };

function templateVolumes(template: unknown): TemplateVolume[] {
  return (template as { spec?: { volumes?: TemplateVolume[] } } | undefined)?.spec?.volumes ?? [];
}

function bundleSigners(volume: TemplateVolume | undefined): string[] {
  return (volume?.projected?.sources ?? []).flatMap((source) => {
    const signerName = (source as { clusterTrustBundle?: { signerName?: string } })?.clusterTrustBundle
      ?.signerName;
    return signerName ? [signerName] : [];
  });
}

/** The signers of the `clusterTrustBundle` sources of keelson's TLS volumes for `uses`. */
export function trustSigners(template: unknown, uses: ReadonlySet<TlsUse>): Set<string> {
  const volumes = templateVolumes(template);
  return new Set(
    [...uses].flatMap((use) => bundleSigners(volumes.find((v) => v?.name === tlsVolumeName(use)))),
  );
}

/**
 * The signers of a pod template's trust of other stacklets' classes: the `clusterTrustBundle`
 * sources of its client trust volumes (`tls-trust-<class>`, lib/tls `tlsTrustVolumes`).
 */
export function clientTrustSigners(template: unknown): Set<string> {
  return new Set(
    templateVolumes(template)
      .filter((v) => v?.name?.startsWith(TLS_TRUST_VOLUME_PREFIX))
      .flatMap(bundleSigners),
  );
}

/**
 * The signers whose new CAs a pod of `role` (its template `template`) is restarted for: those of
 * its own TLS uses whose `trustReload` is `restart`, and those of its trust of other stacklets'
 * classes unless its `clientTrustReload` is `files`.
 */
export function restartTrustSigners(role: RoleDefinition | undefined, template: unknown): Set<string> {
  if (!role) return new Set();
  const uses = new Set((role.tls ?? []).filter((use) => trustReloadOf(role, use) === 'restart'));
  return new Set([
    ...trustSigners(template, uses),
    ...(clientTrustReloadOf(role) === 'restart' ? clientTrustSigners(template) : []),
  ]);
}

/**
 * When a pod that read its trust bundle at `startedAt` is due for a restart because a CA was
 * published for one of `signers` (a ClusterTrustBundle of that signer created) after then:
 * {@link TRUST_SETTLE_MS} after the newest such bundle appeared; undefined when the pod started
 * after every bundle appeared. A pod whose container starts once its certificate is issued starts
 * after a bundle its class published to sign it (a `secretCa` class's first, a lazily made CA's),
 * so the first pods of a class are not restarted. A bundle that goes away (a CA no longer
 * trusted) needs no restart.
 */
export function trustRestartAt(
  startedAt: Date | undefined,
  signers: ReadonlySet<string>,
  bundles: Iterable<KubeObject>,
): Date | undefined {
  if (!startedAt || signers.size === 0) return undefined;
  let newest = Number.NEGATIVE_INFINITY;
  for (const bundle of bundles) {
    const signerName = (bundle.spec as { signerName?: string } | undefined)?.signerName ?? '';
    const created = Date.parse(String(bundle.metadata.creationTimestamp ?? ''));
    if (signers.has(signerName) && Number.isFinite(created)) newest = Math.max(newest, created);
  }
  if (!Number.isFinite(newest) || startedAt.getTime() >= newest) return undefined;
  return new Date(newest + TRUST_SETTLE_MS);
}

/**
 * When the earliest-started of a pod's running containers started (their processes read their
 * trust then), or undefined when none runs.
 */
export function processesStartedAt(
  containerStatuses: readonly { state?: { running?: { startedAt?: string } } }[] | undefined,
): Date | undefined {
  const started = (containerStatuses ?? [])
    .map((c) => Date.parse(c?.state?.running?.startedAt ?? ''))
    .filter((t) => Number.isFinite(t));
  return started.length > 0 ? new Date(Math.min(...started)) : undefined;
}

/**
 * The certificate a pod's process loaded at start, for the `sources` that need a restart, or
 * undefined when no source needs one. It is the earlier-expiring of two:
 * - the earliest-expiring issued request of the pod (by uid) for one of their signers; it is the
 *   loaded one while the API server keeps it, but the API server's cleaner deletes requests 15 min
 *   after they were made, so a pod running for hours may have only the request of the kubelet's
 *   latest refresh left, whose certificate the process never loaded;
 * - a bound from `startedAt`: the loaded certificate was issued after the pod started, backdated by
 *   the signer's clock-skew allowance (or by as much as the pod's requests show: a class with an
 *   early `certificateRefreshAfter` back-dates up to 4 minutes, and its kubelet asks again well
 *   within the 15 minutes a request is kept), for at most the shortest lifetime the sources ask for.
 * The second alone would do when the signer issues the full lifetime; the first catches a
 * certificate issued shorter (near the end of its CA) while its request is still there.
 */
export function loadedCertificate(
  podUid: string,
  startedAt: Date | undefined,
  sources: readonly CertificateSource[],
  requests: Iterable<KubeObject>,
): Validity | undefined {
  if (sources.length === 0) return undefined;
  const signers = new Set(sources.map((s) => s.signerName));
  const candidates: Validity[] = [];
  let backdateMs = CLOCK_SKEW_SECONDS * 1000;
  for (const object of requests) {
    const request = object as PodCertificateRequest;
    if (request.spec?.podUID !== podUid || !signers.has(request.spec.signerName ?? '')) continue;
    const issued = request.status?.conditions?.find((c) => c.type === 'Issued' && c.status === 'True');
    const notBefore = Date.parse(request.status?.notBefore ?? '');
    const notAfter = Date.parse(request.status?.notAfter ?? '');
    if (!issued || !Number.isFinite(notBefore) || !Number.isFinite(notAfter)) continue;
    candidates.push({ notBefore: new Date(notBefore), notAfter: new Date(notAfter) });
    // How far the signer dated this one back (issue to notBefore), within what it ever does.
    const issuedAt = Date.parse(issued.lastTransitionTime ?? '');
    if (Number.isFinite(issuedAt))
      backdateMs = Math.max(backdateMs, Math.min(issuedAt - notBefore, MAX_BACKDATE_SECONDS * 1000));
  }
  if (startedAt) {
    const lifetimeMs = Math.min(...sources.map((s) => s.maxExpirationSeconds)) * 1000;
    const notBefore = new Date(startedAt.getTime() - backdateMs);
    candidates.push({ notBefore, notAfter: new Date(notBefore.getTime() + lifetimeMs) });
  }
  let earliest: Validity | undefined;
  for (const c of candidates) if (!earliest || c.notAfter < earliest.notAfter) earliest = c;
  return earliest;
}

export interface CertificateRestartsOptions {
  readonly product: ProductDefinition;
  readonly client: KubeClient;
  /** The cache of keelson's StatefulSets. */
  readonly statefulSets: () => KindCache | undefined;
  /** The cache of keelson's pods (pod-health.ts's view, with start times). */
  readonly pods: KindCache;
  /** The PodCertificateRequests of `namespace` (the signer's cache), empty without a signer. */
  readonly requests: (namespace: string) => Iterable<KubeObject>;
  /** keelson's ClusterTrustBundles (the signer's cache), empty without a signer. */
  readonly trustBundles: () => Iterable<KubeObject>;
  readonly recorder: EventRecorder;
  /** The operator's clock. */
  readonly now: () => Date;
}

/** Carries out {@link planCertificateRestart} for one stacklet of a product. */
export class CertificateRestarts {
  constructor(private readonly o: CertificateRestartsOptions) {}

  /** The TLS uses of a role whose certificates need a restart to change. */
  private restartUses(role: string): ReadonlySet<TlsUse> {
    const definition = this.o.product.roles.find((r) => r.name === role);
    if (!definition) return new Set();
    return new Set(
      (definition.tls ?? []).filter((use) => certificateReloadOf(definition, use) === 'restart'),
    );
  }

  /**
   * Evicts the stacklet's pod whose certificate is due, when it may go; returns when to look
   * again. Only pods whose controller is one of the stacklet's StatefulSets (by uid) count.
   */
  public async reconcile(stacklet: KubeObject, log: Logger): Promise<{ requeueAfterMs?: number }> {
    const { namespace, name, uid } = stacklet.metadata;
    if (!namespace) return {};
    const ofStacklet = (o: KubeObject) =>
      o.metadata.labels?.[LABEL_INSTANCE] === name && o.metadata.labels?.[LABEL_NAME] === this.o.product.name;
    const statefulSets = [...(this.o.statefulSets()?.list(namespace) ?? [])].filter(
      (s) => ofStacklet(s) && controllerOf(s)?.uid === uid,
    );
    const groups: CertificateGroup[] = [];
    const pods: CertificatePod[] = [];
    const requests = [...this.o.requests(namespace)];
    const bundles = [...this.o.trustBundles()];
    let anyRestartUse = false;
    for (const statefulSet of statefulSets) {
      const spec = (statefulSet.spec ?? {}) as { replicas?: number; template?: unknown };
      const status = (statefulSet.status ?? {}) as { currentRevision?: string; updateRevision?: string };
      groups.push({
        name: statefulSet.metadata.name,
        replicas: spec.replicas ?? 1,
        rolling:
          status.updateRevision !== undefined &&
          status.currentRevision !== undefined &&
          status.updateRevision !== status.currentRevision,
      });
      const role = statefulSet.metadata.labels?.[LABEL_COMPONENT] ?? '';
      const uses = this.restartUses(role);
      const sources = certificateSources(spec.template).filter((s) => uses.has(s.use));
      const signers = restartTrustSigners(
        this.o.product.roles.find((r) => r.name === role),
        spec.template,
      );
      if (sources.length > 0 || signers.size > 0) anyRestartUse = true;
      for (const pod of this.o.pods.list(namespace)) {
        const controller = controllerOf(pod);
        if (controller?.kind !== 'StatefulSet' || controller.uid !== statefulSet.metadata.uid) continue;
        const podStatus = (pod.status ?? {}) as {
          startTime?: string;
          conditions?: { type?: string; status?: string }[];
          containerStatuses?: { state?: { running?: { startedAt?: string } } }[];
        };
        const started = Date.parse(podStatus.startTime ?? String(pod.metadata.creationTimestamp ?? ''));
        const startedAt = Number.isFinite(started) ? new Date(started) : undefined;
        pods.push({
          name: pod.metadata.name,
          uid: pod.metadata.uid ?? '',
          group: statefulSet.metadata.name,
          ready: (podStatus.conditions ?? []).some((c) => c?.type === 'Ready' && c.status === 'True'),
          deleting: Boolean(pod.metadata.deletionTimestamp),
          startedAt,
          certificate: loadedCertificate(pod.metadata.uid ?? '', startedAt, sources, requests),
          trustRestartAt: trustRestartAt(
            processesStartedAt(podStatus.containerStatuses) ?? startedAt,
            signers,
            bundles,
          ),
        });
      }
    }
    if (!anyRestartUse) return {};
    const now = this.o.now();
    const plan = planCertificateRestart(groups, pods, now);
    if (plan.action === 'none') return { requeueAfterMs: plan.recheckAfterMs };
    if (plan.action === 'wait') {
      log.debug({ pod: plan.pod.name, reason: plan.reason }, 'certificate restart waits');
      return { requeueAfterMs: plan.recheckAfterMs };
    }
    const pod = plan.pod;
    try {
      await this.o.client.request(
        'create',
        'POST',
        `/api/v1/namespaces/${namespace}/pods/${pod.name}/eviction`,
        'pods/eviction',
        {
          body: {
            apiVersion: 'policy/v1',
            kind: 'Eviction',
            metadata: { name: pod.name, namespace },
            deleteOptions: { preconditions: { uid: pod.uid } },
          },
        },
      );
    } catch (error) {
      if (error instanceof ApiError && error.status === 429) {
        log.info(
          { pod: pod.name, err: error.message },
          'certificate restart waits: the PodDisruptionBudget allows no eviction now',
        );
        return { requeueAfterMs: EVICTION_REFUSED_RECHECK_MS };
      }
      // Gone already, or another pod of the same name: the next pass sees what is there.
      if (error instanceof ApiError && (error.status === 404 || error.status === 409))
        return { requeueAfterMs: BLOCKED_RECHECK_MS };
      throw error;
    }
    const late = plan.expiresAt !== undefined && plan.expiresAt.getTime() <= now.getTime();
    const message =
      plan.cause === 'trust' || !plan.expiresAt
        ? `evicted pod ${pod.name} to load its new trust bundle: ${this.o.product.name} reads its CAs only ` +
          `at start, and a CA was published for its TLS class after the pod started ` +
          `(restart due at ${plan.restartAt.toISOString()})`
        : `evicted pod ${pod.name} to renew its certificate: ${this.o.product.name} does not reload ` +
          `certificate files, and the one it loaded ${late ? 'expired' : 'expires'} at ${plan.expiresAt.toISOString()} ` +
          `(restart due at ${plan.restartAt.toISOString()}, a quarter of its lifetime before)`;
    log.info(
      { pod: pod.name, cause: plan.cause, expiresAt: plan.expiresAt, restartAt: plan.restartAt, now },
      plan.cause === 'trust'
        ? 'pod evicted to load a new trust bundle'
        : 'pod evicted to renew its certificate',
    );
    const podObject = this.o.pods.get(namespace, pod.name) ?? {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: pod.name, namespace, uid: pod.uid },
    };
    for (const object of [stacklet, podObject]) {
      await this.o.recorder
        .record(object, late ? 'Warning' : 'Normal', 'CertificateRestart', message)
        .catch((e: unknown) => log.warn({ err: String(e) }, 'could not record an event'));
    }
    return { requeueAfterMs: plan.recheckAfterMs };
  }
}
