/**
 * Status conditions (metav1.Condition) of a stacklet. The reconciler computes the conditions it
 * wants; merging keeps `lastTransitionTime` when a condition's status did not change, and the
 * comparison tells whether the status subresource needs a write at all (steady state: it does not).
 */
import { CONTAINERS_FAILING, describeProblems, type PodProblem } from './pod-health';

export const CONDITION_TYPES = [
  'Available',
  'Progressing',
  'Degraded',
  'Stopped',
  'ReconciliationPaused',
] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime?: string;
}

export interface StackletStatus {
  observedGeneration?: number;
  conditions?: Condition[];
}

/** A wanted condition: status, reason (CamelCase) and message. */
export type WantedCondition = Pick<Condition, 'status' | 'reason' | 'message'>;

/**
 * The new condition list: `wanted` replaces those types (keeping `lastTransitionTime` when the
 * status is unchanged), other existing conditions stay as they are.
 */
export function mergeConditions(
  existing: readonly Condition[] | undefined,
  wanted: Partial<Record<ConditionType, WantedCondition>>,
  generation: number | undefined,
  now: string,
): Condition[] {
  const byType = new Map((existing ?? []).map((c) => [c.type, c]));
  for (const [type, want] of Object.entries(wanted) as [ConditionType, WantedCondition][]) {
    const before = byType.get(type);
    byType.set(type, {
      type,
      status: want.status,
      reason: want.reason,
      message: want.message.slice(0, 32_000),
      observedGeneration: generation,
      lastTransitionTime: before && before.status === want.status ? before.lastTransitionTime : now,
    });
  }
  const order = (t: string) => {
    const i = (CONDITION_TYPES as readonly string[]).indexOf(t);
    return i < 0 ? CONDITION_TYPES.length : i;
  };
  return [...byType.values()].sort((a, b) => order(a.type) - order(b.type) || a.type.localeCompare(b.type));
}

/** True when two statuses differ in anything but the order of conditions. */
export function statusChanged(before: StackletStatus | undefined, after: StackletStatus): boolean {
  if ((before?.observedGeneration ?? undefined) !== after.observedGeneration) return true;
  const a = before?.conditions ?? [];
  const b = after.conditions ?? [];
  if (a.length !== b.length) return true;
  const key = (c: Condition) =>
    JSON.stringify([
      c.type,
      c.status,
      c.reason,
      c.message,
      c.observedGeneration ?? null,
      c.lastTransitionTime ?? null,
    ]);
  const left = new Set(a.map(key));
  return b.some((c) => !left.has(key(c)));
}

/** The condition of `type`, if present. */
export function findCondition(
  status: StackletStatus | undefined,
  type: ConditionType,
): Condition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

/** What a completed reconcile found, for {@link reconciledConditions}. */
export interface ReconciledState {
  readonly generation: number | undefined;
  readonly namespace: string;
  /** `spec.clusterOperation.stopped`. */
  readonly stopped: boolean;
  /** The readiness of every workload the stacklet wants. */
  readonly workloads: readonly { readonly ready: boolean; readonly text: string }[];
  /** Secrets the pods need that do not exist. */
  readonly missingSecrets: readonly string[];
  /** Why pods are not Ready (see pod-health.ts). @default - none */
  readonly podProblems?: readonly PodProblem[];
}

/**
 * The conditions after all children were applied. A stopped stacklet runs no pods, so a missing
 * Secret holds nothing up and is not reported; otherwise it keeps `Progressing` until it exists.
 * Containers that fail (crash, cannot start) make it `Degraded`, naming the pod, the container,
 * how it ended and the end of what it logged; a pod waiting for a node is named in `Available`.
 */
export function reconciledConditions(
  state: ReconciledState,
): Partial<Record<ConditionType, WantedCondition>> {
  const generationNote = `generation ${state.generation}`;
  const notReady = state.workloads.filter((w) => !w.ready).map((w) => w.text);
  const missing = state.stopped ? [] : state.missingSecrets;
  const waitingForSecrets = `waiting for ${missing.map((s) => `Secret "${s}"`).join(', ')} in namespace ${state.namespace}, which the pods read`;
  const secretsNote = missing.length > 0 ? `; ${waitingForSecrets}` : '';
  const problems = state.stopped ? [] : (state.podProblems ?? []);
  const failing = problems.filter((p) => !p.waiting);
  const waiting = problems.filter((p) => p.waiting);
  const failingNote =
    (waiting.length > 0 ? `; waiting: ${describeProblems(waiting)}` : '') +
    (failing.length > 0 ? '; containers are failing, see the Degraded condition' : '');
  return {
    Degraded:
      failing.length > 0
        ? { status: 'True', reason: CONTAINERS_FAILING, message: describeProblems(failing) }
        : { status: 'False', reason: 'Reconciled', message: `all objects applied (${generationNote})` },
    Stopped: state.stopped
      ? {
          status: 'True',
          reason: 'Stopped',
          message: 'spec.clusterOperation.stopped is true: every workload has 0 replicas',
        }
      : { status: 'False', reason: 'Running', message: 'the stacklet is not stopped' },
    Available: state.stopped
      ? { status: 'False', reason: 'Stopped', message: 'the stacklet is stopped' }
      : notReady.length === 0
        ? {
            status: 'True',
            reason: 'AllReplicasReady',
            message: `all ${state.workloads.length} workloads are ready${secretsNote}`,
          }
        : {
            status: 'False',
            reason: 'ReplicasNotReady',
            message: `not ready: ${notReady.join(', ')}${secretsNote}${failingNote}`,
          },
    Progressing:
      missing.length > 0
        ? { status: 'True', reason: 'SecretMissing', message: waitingForSecrets }
        : notReady.length === 0
          ? { status: 'False', reason: 'Reconciled', message: `all workloads match ${generationNote}` }
          : { status: 'True', reason: 'RollingOut', message: `rolling out: ${notReady.join(', ')}` },
  };
}
