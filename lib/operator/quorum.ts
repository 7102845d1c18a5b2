/**
 * Membership changes of a quorum role (`RoleDefinition.quorum`): a role whose pods, across all its
 * role groups, are the voting members of one quorum, each pod's config listing every member.
 *
 * A change of the members (replicas up or down, a role group added, removed or renamed) reaches
 * the pods as a rolling restart, so pods with the old list and pods with the new one run side by
 * side, and either of two things goes wrong:
 * - when a majority of the old list and a majority of the new one can be disjoint (three servers
 *   to five: {1,2} and {3,4,5}), both sides can elect a leader at once and accept writes the other
 *   never sees (split brain);
 * - when they cannot (one server more or fewer), the roll can stop for good: the restarted and new
 *   members need a majority of the new list, the old members do not know the new ones and do not
 *   vote for them, and the rolling update waits for the restarted pod to be Ready before it
 *   restarts an old one. The real node showed this for three servers to four.
 *
 * The operator therefore changes the members of a running quorum never; it applies a change made
 * while the stacklet is stopped (no old list runs), and the stop and the start themselves. Synth
 * output cannot know what runs: there the rule is the user's (see the product READMEs).
 *
 * The same holds for the TLS the members speak to each other (their `internal` TLS): a member
 * restarted with TLS turned on or off, or with certificates of another class, cannot complete a
 * handshake with the members not yet restarted, so a rolling restart loses the quorum and stops.
 * Such a change, too, is applied only while the stacklet is stopped.
 */

/** A role group's StatefulSet and the replicas it runs (its members are `<name>-<ordinal>`). */
export interface MemberWorkload {
  readonly name: string;
  readonly replicas: number;
  /**
   * The TLS its members speak to each other (`tlsOfPodVolumes`).
   * @default - not compared (a role without internal TLS)
   */
  readonly tls?: string;
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

/** Reason of `Degraded` when a quorum role's members would change unsafely. */
export const MEMBERSHIP_CHANGE_UNSAFE = 'MembershipChangeUnsafe';
/** Reason of `Degraded` when the TLS between a running quorum's members would change. */
export const QUORUM_TLS_CHANGE_UNSAFE = 'QuorumTlsChangeUnsafe';

/** What the operator does with a quorum role's desired members. */
export type QuorumVerdict =
  | { readonly kind: 'apply' }
  | {
      readonly kind: 'unsafe';
      readonly reason: typeof MEMBERSHIP_CHANGE_UNSAFE | typeof QUORUM_TLS_CHANGE_UNSAFE;
      readonly message: string;
    };

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
  live: readonly MemberWorkload[],
  desired: readonly MemberWorkload[],
): QuorumVerdict {
  const before = membersOf(live);
  const after = membersOf(desired);
  if (before.size === 0 || after.size === 0) return { kind: 'apply' };
  if (before.size === after.size && [...before].every((m) => after.has(m)))
    return tlsVerdict(role, live, desired);
  const why = majoritiesIntersect(before, after)
    ? 'the restarted and new members would wait for a majority of the new list that the old members, ' +
      'not knowing them, do not give, and the roll would stop'
    : 'a majority of the old members and a majority of the new ones could each elect a leader while ' +
      'the pods roll (split brain)';
  return {
    kind: 'unsafe',
    reason: MEMBERSHIP_CHANGE_UNSAFE,
    message:
      `the members of ${role} change from ${describe(before)} to ${describe(after)} while it runs: ` +
      `${why}, so nothing was applied. Stop the stacklet (clusterOperation.stopped: true), change the ` +
      'members, and start it',
  };
}

/** The TLS values the running workloads of `workloads` speak, in order of first appearance. */
function spokenTls(workloads: readonly MemberWorkload[]): string[] {
  return [...new Set(workloads.filter((w) => w.replicas > 0 && w.tls !== undefined).map((w) => w.tls!))];
}

/** Whether a change that keeps the members of a running quorum keeps the TLS between them too. */
function tlsVerdict(
  role: string,
  live: readonly MemberWorkload[],
  desired: readonly MemberWorkload[],
): QuorumVerdict {
  const before = spokenTls(live);
  const after = spokenTls(desired);
  if (before.length === 0 || after.every((tls) => before.includes(tls))) return { kind: 'apply' };
  return {
    kind: 'unsafe',
    reason: QUORUM_TLS_CHANGE_UNSAFE,
    message:
      `the TLS between the members of ${role} changes from ${before.join(', ')} to ${after.join(', ')} ` +
      'while it runs: the first member restarted with it could not complete a handshake with the ' +
      'others, so the quorum would be lost and the roll would stop; nothing was applied. Stop the ' +
      'stacklet (clusterOperation.stopped: true), change spec.clusterConfig.tls (a TlsClass created ' +
      'or deleted turns TLS on or off as well), and start it',
  };
}
