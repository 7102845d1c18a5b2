/**
 * Membership changes of a quorum role (`RoleDefinition.quorum`): a role whose pods, across all its
 * role groups, are the voting members of one quorum, each pod's config listing every member.
 *
 * A change of the members (replicas up or down, a role group added, removed or renamed) rolls
 * every pod with the new list, one pod at a time, so pods with the old list and pods with the new
 * one run side by side. Each side elects a leader from a majority of the list it holds; when a
 * majority of the old list and a majority of the new one can be disjoint, both sides can elect a
 * leader at once and accept writes the other never sees. Three servers scaled to five in one step
 * are such a change: the old list's majority is two of {1,2,3}, the new list's three of {1,…,5},
 * so {1,2} and {3,4,5} each elect a leader while server 3 restarts with the new list.
 *
 * The operator therefore applies a change of the members only when every majority of the running
 * members shares a member with every majority of the new ones — one server added or removed per
 * change always does — and only once the previous change has rolled out; a change made while the
 * stacklet is stopped (no old list runs) or that starts or stops it is always safe. Synth output
 * cannot know what runs: there the rule is the user's (see the product READMEs).
 */

/** A role group's StatefulSet and the replicas it runs (its members are `<name>-<ordinal>`). */
export interface MemberWorkload {
  readonly name: string;
  readonly replicas: number;
}

/** The members (pod names) of workloads. */
export function membersOf(workloads: readonly MemberWorkload[]): Set<string> {
  const members = new Set<string>();
  for (const w of workloads) for (let i = 0; i < w.replicas; i++) members.add(`${w.name}-${i}`);
  return members;
}

/** The smallest majority of `n` members. */
export function majority(n: number): number {
  return Math.floor(n / 2) + 1;
}

/**
 * Whether every majority of `before` shares a member with every majority of `after`. A majority
 * of `before` avoids as many shared members as it can by taking the members only `before` has;
 * what it still needs must come from the shared ones, and likewise for `after`. The two can be
 * disjoint exactly when those needs fit into the shared members together.
 */
export function majoritiesIntersect(before: ReadonlySet<string>, after: ReadonlySet<string>): boolean {
  if (before.size === 0 || after.size === 0) return true;
  const shared = [...before].filter((m) => after.has(m)).length;
  const needBefore = Math.max(0, majority(before.size) - (before.size - shared));
  const needAfter = Math.max(0, majority(after.size) - (after.size - shared));
  return needBefore + needAfter > shared;
}

/** The part of a live StatefulSet whose rollout this module checks. */
export interface LiveWorkload extends MemberWorkload {
  /** Whether its pods all run its current template and are Ready. */
  readonly rolledOut: boolean;
}

/** What the operator does with a quorum role's desired members. */
export type QuorumVerdict =
  | { readonly kind: 'apply' }
  | { readonly kind: 'wait'; readonly message: string }
  | { readonly kind: 'unsafe'; readonly message: string };

function describe(members: ReadonlySet<string>): string {
  return members.size === 0 ? 'none' : `${members.size} (${[...members].sort().join(', ')})`;
}

/**
 * Whether the desired workloads of quorum role `role` may be applied over the live ones.
 * `live` are the role's StatefulSets that exist; `desired` those the spec asks for (replicas 0
 * when stopped).
 */
export function quorumVerdict(
  role: string,
  live: readonly LiveWorkload[],
  desired: readonly MemberWorkload[],
): QuorumVerdict {
  const before = membersOf(live);
  const after = membersOf(desired);
  if (before.size === 0 || after.size === 0) return { kind: 'apply' };
  if (before.size === after.size && [...before].every((m) => after.has(m))) return { kind: 'apply' };
  const change = `the members of ${role} change from ${describe(before)} to ${describe(after)}`;
  if (!majoritiesIntersect(before, after)) {
    return {
      kind: 'unsafe',
      message:
        `${change}: a majority of the old members and a majority of the new ones could each elect a ` +
        'leader while the pods roll (split brain), so nothing was applied. Add or remove one member per ' +
        'change and let each roll out, or stop the stacklet (clusterOperation.stopped), change it, and start it',
    };
  }
  const rolling = live.filter((w) => !w.rolledOut).map((w) => w.name);
  if (rolling.length > 0) {
    return {
      kind: 'wait',
      message: `${change}; waiting for ${rolling.join(', ')} to roll out the previous change first`,
    };
  }
  return { kind: 'apply' };
}

/** The part of a live StatefulSet's status a rollout shows in. */
export interface StatefulSetState {
  readonly metadata: { readonly generation?: number };
  readonly spec?: { readonly replicas?: number };
  readonly status?: {
    readonly observedGeneration?: number;
    readonly replicas?: number;
    readonly readyReplicas?: number;
    readonly updatedReplicas?: number;
    readonly currentRevision?: string;
    readonly updateRevision?: string;
  };
}

/** Whether a StatefulSet's pods all run its current template and are Ready. */
export function isRolledOut(sts: StatefulSetState): boolean {
  const replicas = sts.spec?.replicas ?? 1;
  const s = sts.status;
  if (!s || (s.observedGeneration ?? 0) < (sts.metadata.generation ?? 0)) return false;
  return (
    (s.replicas ?? 0) === replicas &&
    (s.readyReplicas ?? 0) === replicas &&
    (s.updatedReplicas ?? 0) === replicas &&
    s.currentRevision === s.updateRevision
  );
}
