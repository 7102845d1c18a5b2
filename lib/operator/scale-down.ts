/**
 * Scale-downs of roles whose pods hand their data over before they go (`RoleDefinition.scaleDown`,
 * HDFS' datanodes). Level-triggered like the rest of the reconcile: every pass compares the desired
 * StatefulSets with the live ones, lets the role prepare the desired objects, and asks the role what
 * the leaving pods still wait for. While something is pending, the StatefulSet keeps its live
 * replicas; once nothing is, the spec's replicas apply. A stop is not a scale-down: every pod comes
 * back on its volume.
 */
import { LABEL_COMPONENT } from '../stacklet/labels';
import type { LiveObject, RoleDefinition, RunningPods } from '../stacklet/product';
import type { Manifest } from './build';
import type { KubeObject } from './informer';

/** How often a stacklet waiting for a hand-over asks again. */
export const HAND_OVER_RETRY_MS = 10_000;

/** A StatefulSet's replicas, as the API server defaults them (1 when unset). */
export function statefulSetReplicas(m: KubeObject): number {
  return (m.spec as { replicas?: number } | undefined)?.replicas ?? 1;
}

/** The pods a desired StatefulSet takes away from its live one: the highest ordinals. */
export function leavingPods(desired: Manifest, live: Manifest | undefined): string[] {
  if (!live) return [];
  const from = statefulSetReplicas(desired);
  return Array.from(
    { length: Math.max(0, statefulSetReplicas(live) - from) },
    (_, i) => `${desired.metadata.name}-${from + i}`,
  );
}

export interface HandOver {
  /** The desired objects, prepared, with the StatefulSets still handing over at their live replicas. */
  readonly manifests: Manifest[];
  /** What is waited for, one message each; empty when every scale-down may apply. */
  readonly pending: string[];
}

/**
 * Prepares `desired` for the scale-downs of `roles` that have a hand-over, and holds back each
 * StatefulSet whose leaving pods are not done. `stopped`: the stacklet is stopped (no scale-down).
 */
export async function handOverScaleDowns(
  roles: readonly RoleDefinition[],
  desired: readonly Manifest[],
  live: LiveObject,
  pods: RunningPods,
  stopped: boolean,
): Promise<HandOver> {
  let manifests = [...desired];
  const pending: string[] = [];
  const held = new Map<string, number>();
  for (const role of roles) {
    if (!role.scaleDown) continue;
    const shrinking = stopped
      ? []
      : manifests
          .filter((m) => m.kind === 'StatefulSet' && m.metadata.labels?.[LABEL_COMPONENT] === role.name)
          .map((m) => ({ manifest: m, leaving: leavingPods(m, live(m)) }))
          .filter((s) => s.leaving.length > 0);
    const leaving = shrinking.flatMap((s) => s.leaving);
    manifests = role.scaleDown.prepare(leaving, manifests, live);
    if (leaving.length === 0) continue;
    const waiting = await role.scaleDown.pending(leaving, pods);
    if (waiting.length === 0) continue;
    pending.push(...waiting);
    for (const s of shrinking) held.set(s.manifest.metadata.name, statefulSetReplicas(live(s.manifest)!));
  }
  manifests = manifests.map((m) =>
    m.kind === 'StatefulSet' && held.has(m.metadata.name)
      ? { ...m, spec: { ...(m.spec as object), replicas: held.get(m.metadata.name) } }
      : m,
  );
  return { manifests, pending };
}
