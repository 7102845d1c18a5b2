/**
 * Status conditions (metav1.Condition) of a stacklet. The reconciler computes the conditions it
 * wants; merging keeps `lastTransitionTime` when a condition's status did not change, and the
 * comparison tells whether the status subresource needs a write at all (steady state: it does not).
 */

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
