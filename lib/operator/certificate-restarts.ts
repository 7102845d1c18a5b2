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
 * of a few hours at the default lifetime; it comes after the kubelet's own refresh (two thirds into
 * the lifetime), which is irrelevant here because a new pod asks for a new certificate anyway.
 *
 * Level-triggered: {@link planCertificateRestart} is a pure function of the pods, their
 * certificates and `now` that says which pod to evict now (if any) and when to look again;
 * {@link CertificateRestarts} reads the caches, evicts and records Events.
 */
import type { Logger } from 'pino';
import { LABEL_COMPONENT, LABEL_INSTANCE, LABEL_NAME } from '../stacklet/labels';
import { certificateReloadOf, type ProductDefinition } from '../stacklet/product';
import { CLOCK_SKEW_SECONDS } from '../tls/certificates';
import { tlsVolumeName, type TlsUse } from '../tls/pod-tls';
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
      readonly restartAt: Date;
      readonly expiresAt: Date;
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
    .filter((p) => p.certificate !== undefined && !p.deleting)
    .map((p) => ({ pod: p, at: restartAt(p.certificate!, marginFraction) }));
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
  const { pod, at } = due[0];
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
    restartAt: at,
    expiresAt: pod.certificate!.notAfter,
    recheckAfterMs: BLOCKED_RECHECK_MS,
  };
}

/** A PodCertificateRequest as the signer's cache holds it. */
interface PodCertificateRequest extends KubeObject {
  spec: { signerName?: string; podName?: string; podUID?: string };
  status?: {
    notBefore?: string;
    notAfter?: string;
    conditions?: { type: string; status: string }[];
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

/**
 * The certificate a pod's process loaded at start, for the `sources` that need a restart, or
 * undefined when no source needs one. It is the earlier-expiring of two:
 * - the earliest-expiring issued request of the pod (by uid) for one of their signers; it is the
 *   loaded one while the API server keeps it, but the API server's cleaner deletes requests 15 min
 *   after they were made, so a pod running for hours may have only the request of the kubelet's
 *   latest refresh left, whose certificate the process never loaded;
 * - a bound from `startedAt`: the loaded certificate was issued after the pod started, backdated by
 *   the signer's clock-skew allowance, for at most the shortest lifetime the sources ask for.
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
  for (const object of requests) {
    const request = object as PodCertificateRequest;
    if (request.spec?.podUID !== podUid || !signers.has(request.spec.signerName ?? '')) continue;
    const issued = request.status?.conditions?.some((c) => c.type === 'Issued' && c.status === 'True');
    const notBefore = Date.parse(request.status?.notBefore ?? '');
    const notAfter = Date.parse(request.status?.notAfter ?? '');
    if (!issued || !Number.isFinite(notBefore) || !Number.isFinite(notAfter)) continue;
    candidates.push({ notBefore: new Date(notBefore), notAfter: new Date(notAfter) });
  }
  if (startedAt) {
    const lifetimeMs = Math.min(...sources.map((s) => s.maxExpirationSeconds)) * 1000;
    const notBefore = new Date(startedAt.getTime() - CLOCK_SKEW_SECONDS * 1000);
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
  readonly recorder: EventRecorder;
  /** The operator's clock. */
  readonly now: () => Date;
}

/** Carries out {@link planCertificateRestart} for one stacklet of a product. */
export class CertificateRestarts {
  constructor(private readonly o: CertificateRestartsOptions) {}

  /** The product's roles that need a restart for some TLS use, by name. */
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
      const uses = this.restartUses(statefulSet.metadata.labels?.[LABEL_COMPONENT] ?? '');
      const sources = certificateSources(spec.template).filter((s) => uses.has(s.use));
      if (sources.length > 0) anyRestartUse = true;
      for (const pod of this.o.pods.list(namespace)) {
        const controller = controllerOf(pod);
        if (controller?.kind !== 'StatefulSet' || controller.uid !== statefulSet.metadata.uid) continue;
        const podStatus = (pod.status ?? {}) as {
          startTime?: string;
          conditions?: { type?: string; status?: string }[];
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
    const late = plan.expiresAt.getTime() <= now.getTime();
    const message =
      `evicted pod ${pod.name} to renew its certificate: ${this.o.product.name} does not reload ` +
      `certificate files, and the one it loaded ${late ? 'expired' : 'expires'} at ${plan.expiresAt.toISOString()} ` +
      `(restart due at ${plan.restartAt.toISOString()}, a quarter of its lifetime before)`;
    log.info(
      { pod: pod.name, expiresAt: plan.expiresAt, restartAt: plan.restartAt, now },
      'pod evicted to renew its certificate',
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
