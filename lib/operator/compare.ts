/**
 * Whether the live object already holds what the operator would apply — so a steady-state
 * reconcile sends nothing.
 *
 * Two checks, because each misses what the other sees:
 * - the live object must contain every field of the desired one (a subset test: the API server adds
 *   defaults and status, other controllers add annotations, and none of that is ours), with
 *   quantities compared by value because the server canonicalises them (`1024Mi` is stored as
 *   `1Gi`, `0.5` as `500m`) — this catches a hand edit of a field keelson manages;
 * - the live object must carry the hash of the desired object that was last applied
 *   ({@link APPLIED_HASH_ANNOTATION}) — this catches a field keelson stopped setting, which a subset
 *   test cannot see.
 */
import { configHash } from '../hash';
import { tryParseQuantity } from '../quantity';

/** Annotation holding the hash of the desired object as last applied. */
export const APPLIED_HASH_ANNOTATION = 'keelson.dev/applied-hash';

/** Keys whose string values are resource quantities. */
const QUANTITY_PARENTS = new Set(['limits', 'requests', 'capacity', 'hard', 'allocatable']);
const QUANTITY_KEYS = new Set(['sizeLimit', 'storage']);

type Json = unknown;

function isObject(value: Json): value is Record<string, Json> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** An empty map or list, or null: the API server drops these, so "absent" matches them. */
function isEmpty(value: Json): boolean {
  return (
    value === null ||
    (Array.isArray(value) && value.length === 0) ||
    (isObject(value) && Object.keys(value).length === 0)
  );
}

/**
 * True when `live` holds every field of `desired` with an equal value. Lists must have the same
 * length and match element by element (a shorter desired list is a change).
 */
export function containsDesired(desired: Json, live: Json, key = '', parent = ''): boolean {
  if (isObject(desired)) {
    if (live === undefined || live === null) return isEmpty(desired);
    if (!isObject(live)) return false;
    return Object.entries(desired).every(([k, v]) =>
      live[k] === undefined ? isEmpty(v) : containsDesired(v, live[k], k, key),
    );
  }
  if (Array.isArray(desired)) {
    if (live === undefined || live === null) return desired.length === 0;
    if (!Array.isArray(live) || live.length !== desired.length) return false;
    return desired.every((item, i) => containsDesired(item, live[i], key, parent));
  }
  if (desired === live) return true;
  if (
    typeof desired === 'string' &&
    typeof live === 'string' &&
    (QUANTITY_PARENTS.has(parent) || QUANTITY_KEYS.has(key))
  ) {
    const a = tryParseQuantity(desired);
    return a !== undefined && a === tryParseQuantity(live);
  }
  // int-or-string fields (targetPort, maxUnavailable) may come back as the other type.
  if (
    (typeof desired === 'number' && typeof live === 'string') ||
    (typeof desired === 'string' && typeof live === 'number')
  ) {
    return String(desired) === String(live);
  }
  return false;
}

/** The part of an object's metadata the comparison reads (the rest passes through). */
interface StampedMetadata {
  readonly name?: string;
  readonly annotations?: Record<string, string>;
  readonly [field: string]: unknown;
}

/** Stamps the desired object with the hash of its own content (before the stamp). */
export function withAppliedHash<T extends { metadata: StampedMetadata }>(desired: T): T {
  const hash = configHash(desired).slice(0, 16);
  return {
    ...desired,
    metadata: {
      ...desired.metadata,
      annotations: { ...desired.metadata.annotations, [APPLIED_HASH_ANNOTATION]: hash },
    },
  };
}

/** True when applying `desired` (already stamped) to `live` would change nothing keelson manages. */
export function isUpToDate(
  desired: { metadata: StampedMetadata },
  live: { metadata?: StampedMetadata; readonly [field: string]: unknown } | undefined,
): boolean {
  if (!live) return false;
  if (
    live.metadata?.annotations?.[APPLIED_HASH_ANNOTATION] !==
    desired.metadata.annotations?.[APPLIED_HASH_ANNOTATION]
  ) {
    return false;
  }
  return containsDesired(desired, live);
}
