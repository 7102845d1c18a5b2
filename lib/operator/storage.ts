/**
 * Storage changes of a live StatefulSet. Its `volumeClaimTemplates` are immutable (the API server
 * refuses any change to them), so the operator applies every StatefulSet with the claim templates
 * it already has, and carries out what the spec asks of storage on the claims themselves:
 *
 * - a larger `capacity` than a claim holds expands it (`spec.resources.requests.storage`), when its
 *   StorageClass allows expansion (`allowVolumeExpansion: true`); new claims of a later scale-up
 *   come from the old template and are expanded by the next reconcile;
 * - what cannot be done in place — a smaller capacity (Kubernetes cannot shrink a volume), a claim
 *   whose StorageClass does not allow expansion, another `storageClass`, a volume added or removed —
 *   is reported (condition and Event) with what the user can do, and nothing is retried.
 *
 * Claims are never deleted. The pure part (what differs, what to patch, what to report) is here;
 * the reconciler does the reads and writes.
 */
import { parseQuantity } from '../quantity';

/** The part of a claim template or claim this module reads. */
export interface Claim {
  readonly metadata?: { readonly name?: string; readonly labels?: Record<string, string> };
  readonly spec?: {
    readonly storageClassName?: string;
    readonly resources?: { readonly requests?: Record<string, string> };
    readonly volumeName?: string;
  };
  readonly status?: { readonly phase?: string };
}

/** What a StatefulSet's desired claim templates ask beyond its live ones. */
export interface ClaimTemplateChanges {
  /**
   * Volumes the StatefulSet already has, with the capacity the spec asks: their claims are
   * compared with it (a claim may have been grown past its template, so an equal template says
   * nothing about the claims).
   */
  readonly volumes: readonly { readonly volume: string; readonly capacity: string }[];
  /** Changes no write can make, as sentences for the user. */
  readonly problems: readonly string[];
}

function storageOf(claim: Claim): string | undefined {
  return claim.spec?.resources?.requests?.storage;
}

/**
 * Compares the claim templates the spec asks for with those of the live StatefulSet `workload`.
 */
export function claimTemplateChanges(
  workload: string,
  desired: readonly Claim[],
  live: readonly Claim[],
): ClaimTemplateChanges {
  const liveByName = new Map(live.map((c) => [c.metadata?.name ?? '', c]));
  const desiredNames = new Set(desired.map((c) => c.metadata?.name ?? ''));
  const volumes: { volume: string; capacity: string }[] = [];
  const problems: string[] = [];
  for (const want of desired) {
    const volume = want.metadata?.name ?? '';
    const have = liveByName.get(volume);
    if (!have) {
      problems.push(
        `StatefulSet ${workload}: volume "${volume}" is new, and a StatefulSet cannot gain a claim template ` +
          `in place; to add it, delete the StatefulSet without its pods and claims ` +
          `(kubectl delete statefulset ${workload} --cascade=orphan) and keelson recreates it`,
      );
      continue;
    }
    const wantClass = want.spec?.storageClassName;
    const haveClass = have.spec?.storageClassName;
    if (wantClass !== undefined && wantClass !== haveClass) {
      problems.push(
        `StatefulSet ${workload}: volume "${volume}" asks for storageClass "${wantClass}", but its claims ` +
          `were made with ${haveClass === undefined ? 'the cluster default' : `"${haveClass}"`}, and a claim's ` +
          `StorageClass cannot change; to move the data, copy it to claims of the new class yourself, ` +
          `or (losing the data) delete the StatefulSet and its claims ${volume}-${workload}-<ordinal>; ` +
          `keelson never deletes claims`,
      );
    }
    const capacity = storageOf(want);
    if (capacity !== undefined) volumes.push({ volume, capacity });
  }
  for (const volume of liveByName.keys()) {
    if (!desiredNames.has(volume)) {
      problems.push(
        `StatefulSet ${workload}: volume "${volume}" is no longer in the spec, but a StatefulSet cannot drop a ` +
          `claim template in place; its claims are kept; to drop it, delete the StatefulSet without its pods ` +
          `(kubectl delete statefulset ${workload} --cascade=orphan) and keelson recreates it`,
      );
    }
  }
  return { volumes, problems };
}

/** The claims of `volume` in StatefulSet `workload`: `<volume>-<workload>-<ordinal>`. */
export function claimsOf<T extends Claim>(volume: string, workload: string, claims: readonly T[]): T[] {
  const prefix = `${volume}-${workload}-`;
  return claims.filter((c) => {
    const name = c.metadata?.name ?? '';
    return name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length));
  });
}

/** What to do with one claim of a volume. */
export type ClaimAction =
  | { readonly kind: 'none' }
  | { readonly kind: 'expand'; readonly from: string; readonly to: string }
  | { readonly kind: 'problem'; readonly message: string };

/**
 * The action for claim `claim` when its volume should hold `capacity`. `expandable` is the
 * `allowVolumeExpansion` of the claim's StorageClass (undefined: the claim names none, or the
 * class does not exist).
 */
export function claimAction(claim: Claim, capacity: string, expandable: boolean | undefined): ClaimAction {
  const name = claim.metadata?.name ?? '';
  const current = storageOf(claim);
  if (current === undefined) return { kind: 'none' };
  const want = parseQuantity(capacity);
  const have = parseQuantity(current);
  if (want === have) return { kind: 'none' };
  if (want < have) {
    return {
      kind: 'problem',
      message:
        `claim ${name} holds ${current} and the spec asks for ${capacity}: Kubernetes cannot shrink a volume, ` +
        `so the claim keeps ${current}; set capacity to at least ${current}`,
    };
  }
  const storageClass = claim.spec?.storageClassName;
  if (!expandable) {
    return {
      kind: 'problem',
      message:
        `claim ${name} cannot grow from ${current} to ${capacity}: ` +
        (storageClass
          ? `its StorageClass "${storageClass}" does not allow volume expansion (allowVolumeExpansion is not true)`
          : 'it has no StorageClass') +
        '; use a StorageClass that allows expansion, or move the data to larger claims yourself',
    };
  }
  if (claim.status?.phase !== 'Bound') {
    return {
      kind: 'problem',
      message: `claim ${name} is not bound yet; keelson expands it to ${capacity} once it is`,
    };
  }
  return { kind: 'expand', from: current, to: capacity };
}
