/**
 * Whether a workload has rolled out and all its pods are ready, read from the live object's
 * status the way the workload controllers write it. A status older than the object's generation
 * says nothing yet.
 */
import type { KubeObject } from './informer';

/** Kinds whose readiness feeds a stacklet's `Available` condition. */
export const WORKLOAD_KINDS: ReadonlySet<string> = new Set(['StatefulSet', 'Deployment', 'DaemonSet']);

export interface WorkloadReadiness {
  readonly ready: boolean;
  /** `StatefulSet kafka-brokers-default 2/3 ready`, for condition messages. */
  readonly text: string;
}

interface WorkloadStatus {
  readonly observedGeneration?: number;
  readonly readyReplicas?: number;
  readonly updatedReplicas?: number;
  readonly replicas?: number;
  readonly desiredNumberScheduled?: number;
  readonly numberReady?: number;
  readonly updatedNumberScheduled?: number;
}

/** The readiness of the workload `desired` describes, given its live state (undefined: not created yet). */
export function workloadReadiness(desired: KubeObject, live: KubeObject | undefined): WorkloadReadiness {
  const status = (live?.status ?? {}) as WorkloadStatus;
  const observed = live !== undefined && (status.observedGeneration ?? 0) >= (live.metadata.generation ?? 0);
  const name = `${desired.kind} ${desired.metadata.name}`;
  if (desired.kind === 'DaemonSet') {
    // A DaemonSet wants one pod per eligible node, a number only its controller knows.
    const want = status.desiredNumberScheduled ?? 0;
    const ready =
      observed && (status.numberReady ?? 0) === want && (status.updatedNumberScheduled ?? 0) === want;
    return { ready, text: `${name} ${status.numberReady ?? 0}/${want} ready` };
  }
  const want = (desired.spec as { replicas?: number } | undefined)?.replicas ?? 1;
  const ready =
    observed &&
    (status.readyReplicas ?? 0) === want &&
    (status.updatedReplicas ?? 0) === want &&
    (status.replicas ?? 0) === want;
  return { ready, text: `${name} ${status.readyReplicas ?? 0}/${want} ready` };
}
