/**
 * Storage changes of a live StatefulSet. Its `volumeClaimTemplates` are immutable (the API server
 * refuses any change to them; Kubernetes 1.36 has no feature gate that lifts this), so what the
 * spec asks of storage is carried out on the claims themselves:
 *
 * - a larger `capacity` than a claim holds expands it (`spec.resources.requests.storage`), when its
 *   StorageClass allows expansion (`allowVolumeExpansion: true`); claims a later scale-up makes
 *   from an older, smaller template are expanded the next time the storage is planned;
 * - what cannot be done in place — a smaller capacity (Kubernetes cannot shrink a volume), a claim
 *   whose StorageClass does not allow expansion, another `storageClass` — is reported with what the
 *   user can do, and nothing is retried.
 *
 * Two callers share this: the operator keeps each StatefulSet's live claim templates and reports
 * an added or removed volume as well; `keelson storage apply` (lib/cli/storage-command.ts) replaces
 * the StatefulSet without its pods so that it takes the new templates. Claims are never deleted.
 * The pure part (what differs, what to patch, what to report) comes first; {@link StoragePlanner}
 * does the reads, and {@link expandClaim} the one write, for both.
 */
import { parseQuantity } from '../quantity';
import { containsDesired } from './compare';
import { isStatus, type KubeClient } from './client';

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
  /** Volumes the desired templates add, and those they drop: only a new StatefulSet can take them. */
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /**
   * True when the desired templates differ from the live ones in anything the API server would
   * refuse to change (a field, a label, a volume); false when the live ones hold them as they are.
   */
  readonly templatesChanged: boolean;
  /** Changes no write can make (another StorageClass), as sentences for the user. */
  readonly problems: readonly string[];
}

function storageOf(claim: Claim): string | undefined {
  return claim.spec?.resources?.requests?.storage;
}

/** True when the live template holds the desired one: its spec as a subset, its metadata as is. */
function templateHolds(desired: Claim, live: Claim): boolean {
  const { status: _status, ...want } = desired;
  const same = (a: Record<string, string> = {}, b: Record<string, string> = {}) =>
    Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v);
  const wantMeta = desired.metadata as {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  const liveMeta = live.metadata as { labels?: Record<string, string>; annotations?: Record<string, string> };
  return (
    containsDesired(want, live) &&
    same(wantMeta?.labels, liveMeta?.labels) &&
    same(wantMeta?.annotations, liveMeta?.annotations)
  );
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
  const added: string[] = [];
  const problems: string[] = [];
  let templatesChanged = false;
  for (const want of desired) {
    const volume = want.metadata?.name ?? '';
    const have = liveByName.get(volume);
    if (!have) {
      added.push(volume);
      templatesChanged = true;
      continue;
    }
    if (!templateHolds(want, have)) templatesChanged = true;
    const wantClass = want.spec?.storageClassName;
    const haveClass = have.spec?.storageClassName;
    if (wantClass !== undefined && wantClass !== haveClass) {
      problems.push(
        `StatefulSet ${workload}: volume "${volume}" asks for storageClass "${wantClass}", but its claims ` +
          `were made with ${haveClass === undefined ? 'the cluster default' : `"${haveClass}"`}, and a claim's ` +
          `StorageClass cannot change, so no data can move with it; to move the data, copy it to claims of the ` +
          `new class yourself, or (losing the data) delete the StatefulSet and its claims ${volume}-${workload}-<ordinal>; ` +
          `keelson never deletes claims`,
      );
    }
    const capacity = storageOf(want);
    if (capacity !== undefined) volumes.push({ volume, capacity });
  }
  const removed = [...liveByName.keys()].filter((volume) => !desiredNames.has(volume));
  if (removed.length > 0) templatesChanged = true;
  return { volumes, added, removed, templatesChanged, problems };
}

/**
 * What the operator says of volumes added to or removed from a live StatefulSet: it keeps the live
 * claim templates, so only a StatefulSet deleted without its pods (and recreated) takes them.
 */
export function volumeChangeProblems(workload: string, changes: ClaimTemplateChanges): string[] {
  return [
    ...changes.added.map(
      (volume) =>
        `StatefulSet ${workload}: volume "${volume}" is new, and a StatefulSet cannot gain a claim template ` +
        `in place; to add it, delete the StatefulSet without its pods and claims ` +
        `(kubectl delete statefulset ${workload} --cascade=orphan) and keelson recreates it`,
    ),
    ...changes.removed.map(
      (volume) =>
        `StatefulSet ${workload}: volume "${volume}" is no longer in the spec, but a StatefulSet cannot drop a ` +
        `claim template in place; its claims are kept; to drop it, delete the StatefulSet without its pods ` +
        `(kubectl delete statefulset ${workload} --cascade=orphan) and keelson recreates it`,
    ),
  ];
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
      message: `claim ${name} is not bound yet, and only a bound claim can grow; it grows to ${capacity} once it is`,
    };
  }
  return { kind: 'expand', from: current, to: capacity };
}

/** One claim to grow. */
export interface ClaimExpansion {
  readonly claim: string;
  readonly from: string;
  readonly to: string;
}

/** What storage asks of one live StatefulSet. */
export interface WorkloadStoragePlan {
  readonly workload: string;
  readonly changes: ClaimTemplateChanges;
  /** Claims to grow, whose StorageClass allows it. */
  readonly expansions: readonly ClaimExpansion[];
  /** What cannot be done (another StorageClass, shrinking, no expansion, an unbound claim). */
  readonly problems: readonly string[];
}

/** The field of a StatefulSet that holds a volume's capacity, for messages. */
export function capacityField(workload: string, volume: string): string {
  return `StatefulSet ${workload} spec.volumeClaimTemplates[name=${volume}].spec.resources.requests.storage`;
}

/**
 * Plans the storage of live StatefulSets in one namespace: which claims grow and what cannot be
 * done. The claims are listed once (on first need) and each StorageClass read once per planner,
 * so make one per pass.
 */
export class StoragePlanner {
  private claims?: Promise<Claim[]>;
  private readonly expandable = new Map<string, Promise<boolean | undefined>>();

  /**
   * @param labelSelector narrows the claims listed (the operator: the stacklet's own); all of the
   * namespace's claims when undefined
   */
  constructor(
    private readonly client: KubeClient,
    private readonly namespace: string,
    private readonly labelSelector?: string,
  ) {}

  /** The plan for StatefulSet `workload`, from its desired and live claim templates. */
  public async plan(
    workload: string,
    desired: readonly Claim[],
    live: readonly Claim[],
  ): Promise<WorkloadStoragePlan> {
    const changes = claimTemplateChanges(workload, desired, live);
    const problems = [...changes.problems];
    const expansions: ClaimExpansion[] = [];
    for (const { volume, capacity } of changes.volumes) {
      for (const claim of claimsOf(volume, workload, await this.listClaims())) {
        const storageClass = claim.spec?.storageClassName;
        const action = claimAction(
          claim,
          capacity,
          storageClass ? await this.allowsExpansion(storageClass) : undefined,
        );
        if (action.kind === 'problem') {
          problems.push(`${capacityField(workload, volume)} is ${capacity}: ${action.message}`);
        }
        if (action.kind === 'expand') {
          expansions.push({ claim: claim.metadata!.name!, from: action.from, to: action.to });
        }
      }
    }
    return { workload, changes, expansions, problems };
  }

  private listClaims(): Promise<Claim[]> {
    this.claims ??= this.client
      .request<{ items?: Claim[] }>(
        'list',
        'GET',
        `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/persistentvolumeclaims`,
        'persistentvolumeclaims',
        { query: { labelSelector: this.labelSelector } },
      )
      .then((list) => list.items ?? []);
    return this.claims;
  }

  /** `allowVolumeExpansion` of a StorageClass; undefined when it does not exist. */
  private allowsExpansion(storageClass: string): Promise<boolean | undefined> {
    let known = this.expandable.get(storageClass);
    if (!known) {
      known = this.client
        .request<{ allowVolumeExpansion?: boolean }>(
          'get',
          'GET',
          `/apis/storage.k8s.io/v1/storageclasses/${encodeURIComponent(storageClass)}`,
          'storageclasses',
        )
        .then(
          (sc) => sc.allowVolumeExpansion === true,
          (error: unknown) => {
            if (isStatus(error, 404)) return undefined;
            throw error;
          },
        );
      this.expandable.set(storageClass, known);
    }
    return known;
  }
}

/** Grows claim `claim` of `namespace` to `to` (the storage driver then resizes its volume). */
export async function expandClaim(
  client: KubeClient,
  namespace: string,
  claim: string,
  to: string,
): Promise<void> {
  await client.request(
    'patch',
    'PATCH',
    `/api/v1/namespaces/${encodeURIComponent(namespace)}/persistentvolumeclaims/${encodeURIComponent(claim)}`,
    'persistentvolumeclaims',
    {
      body: { spec: { resources: { requests: { storage: to } } } },
      contentType: 'application/merge-patch+json',
    },
  );
}
