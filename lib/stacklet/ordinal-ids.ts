/**
 * Numeric ids numbered by pod ordinal across role groups, for products whose members need a
 * unique number (an ensemble member id, a node id): a role group's pods get
 * `offset, offset + 1, …` and each role group has its own offset, so several role groups form one
 * cluster and scaling a group never renumbers its existing pods.
 *
 * Without an offset in the spec a group's offset is derived from its role and name alone (not
 * from its position or the other groups), so adding, removing or scaling groups never moves it.
 */
import { createHash } from 'node:crypto';

/** Where default offsets fall: `first + stride * k` for `k` in `[0, slots)`. */
export interface OrdinalIdScheme {
  /** The lowest id. */
  readonly first: number;
  /** Ids reserved per role group by default. */
  readonly stride: number;
  /** How many default offsets there are. */
  readonly slots: number;
  /** The highest id the product accepts. @default - no limit */
  readonly max?: number;
}

/** The default offset of the role group `group` of `role`. */
export function defaultIdOffset(scheme: OrdinalIdScheme, role: string, group: string): number {
  const digest = createHash('sha256').update(`${role}/${group}`).digest();
  return scheme.first + scheme.stride * (digest.readUInt32BE(0) % scheme.slots);
}

/** The ids one role group's pods take. */
export interface OrdinalIdRange {
  /** The spec path of the group's offset field: `spec.servers.roleGroups.a.config.myidOffset`. */
  readonly path: string;
  readonly offset: number;
  readonly replicas: number;
}

function span(r: OrdinalIdRange): string {
  return r.replicas <= 1 ? `${r.offset}` : `${r.offset}-${r.offset + r.replicas - 1}`;
}

/**
 * Problems with `ranges`: ids below `scheme.first` or above `scheme.max`, and every pair of role
 * groups whose ids overlap, telling the user to set the offset field.
 */
export function ordinalIdProblems(scheme: OrdinalIdScheme, ranges: readonly OrdinalIdRange[]): string[] {
  const problems: string[] = [];
  for (const r of ranges) {
    const last = r.offset + Math.max(r.replicas, 1) - 1;
    if (r.offset < scheme.first || (scheme.max !== undefined && last > scheme.max)) {
      problems.push(
        `${r.path}: the ids ${span(r)} must lie within ${scheme.first}-${scheme.max ?? 'any'}; choose another offset`,
      );
    }
  }
  ranges.forEach((a, i) => {
    for (const b of ranges.slice(i + 1)) {
      const aEnd = a.offset + Math.max(a.replicas, 1);
      const bEnd = b.offset + Math.max(b.replicas, 1);
      if (a.offset < bEnd && b.offset < aEnd) {
        problems.push(
          `${b.path}: the ids ${span(b)} overlap the ids ${span(a)} of ${a.path.replace(/\.config\.[^.]+$/, '')}; ` +
            `set ${b.path.slice(b.path.lastIndexOf('.') + 1)} on one of the two role groups so their ids are disjoint`,
        );
      }
    }
  });
  return problems;
}
