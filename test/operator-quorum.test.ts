import {
  isRolledOut,
  majoritiesIntersect,
  membersOf,
  quorumVerdict,
  type LiveWorkload,
} from '../lib/operator/quorum';
import { ZOOKEEPER } from '../constructs/zookeeper/zookeeper';

const group = (replicas: number, name = 'zk-servers-default') => membersOf([{ name, replicas }]);
const live = (replicas: number, rolledOut = true, name = 'zk-servers-default'): LiveWorkload => ({
  name,
  replicas,
  rolledOut,
});

describe('majoritiesIntersect', () => {
  test.each([
    [3, 4],
    [4, 5],
    [5, 4],
    [4, 3],
    [1, 2],
    [2, 1],
    [3, 3],
  ])('holds for %i → %i servers (one server per change)', (from, to) => {
    expect(majoritiesIntersect(group(from), group(to))).toBe(true);
  });

  test.each([
    [3, 5],
    [5, 3],
    [1, 3],
    [3, 1],
    [5, 7],
  ])('fails for %i → %i servers: two disjoint majorities can each elect a leader', (from, to) => {
    expect(majoritiesIntersect(group(from), group(to))).toBe(false);
  });

  test('fails for a renamed role group (no member in common)', () => {
    expect(majoritiesIntersect(group(3, 'zk-servers-a'), group(3, 'zk-servers-b'))).toBe(false);
  });

  test('fails for a server moved between role groups (one removed and one added in one change)', () => {
    const before = membersOf([
      { name: 'zk-servers-a', replicas: 3 },
      { name: 'zk-servers-b', replicas: 2 },
    ]);
    const after = membersOf([
      { name: 'zk-servers-a', replicas: 2 },
      { name: 'zk-servers-b', replicas: 3 },
    ]);
    // An old majority needs 2 of the 4 shared members, a new one 2 as well: they can be disjoint.
    expect(majoritiesIntersect(before, after)).toBe(false);
  });
});

describe('quorumVerdict', () => {
  const wanted = (replicas: number, name = 'zk-servers-default') => [{ name, replicas }];

  test('applies a first creation, a stop, a start, and changes that keep the members', () => {
    expect(quorumVerdict('spec.servers', [], wanted(5))).toEqual({ kind: 'apply' });
    expect(quorumVerdict('spec.servers', [live(3)], wanted(0))).toEqual({ kind: 'apply' });
    expect(quorumVerdict('spec.servers', [live(0)], wanted(5))).toEqual({ kind: 'apply' });
    expect(quorumVerdict('spec.servers', [live(3, false)], wanted(3))).toEqual({ kind: 'apply' });
  });

  test('applies one server more or fewer once the previous change rolled out', () => {
    expect(quorumVerdict('spec.servers', [live(3)], wanted(4))).toEqual({ kind: 'apply' });
    expect(quorumVerdict('spec.servers', [live(4)], wanted(3))).toEqual({ kind: 'apply' });
  });

  test('waits while the previous change rolls out', () => {
    expect(quorumVerdict('spec.servers', [live(4, false)], wanted(5))).toEqual({
      kind: 'wait',
      message: expect.stringMatching(
        /^the members of spec\.servers change from 4 .* to 5 .*; waiting for zk-servers-default to roll out/,
      ),
    });
  });

  test('rejects 3 → 5 at once, naming the members, the reason and what to do', () => {
    const verdict = quorumVerdict('spec.servers', [live(3)], wanted(5));
    expect(verdict.kind).toBe('unsafe');
    expect(verdict).toMatchObject({
      message: expect.stringContaining(
        'the members of spec.servers change from 3 (zk-servers-default-0, zk-servers-default-1, ' +
          'zk-servers-default-2) to 5 (',
      ),
    });
    expect((verdict as { message: string }).message).toMatch(/split brain.*one member per change.*stopped/);
  });

  test('rejects a renamed role group', () => {
    expect(
      quorumVerdict('spec.servers', [live(3, true, 'zk-servers-a')], wanted(3, 'zk-servers-b')).kind,
    ).toBe('unsafe');
  });
});

describe('isRolledOut', () => {
  const sts = (status: Record<string, unknown>, replicas = 3, generation = 2) => ({
    metadata: { generation },
    spec: { replicas },
    status: { observedGeneration: 2, currentRevision: 'a', updateRevision: 'a', ...status },
  });

  test('is true when every pod runs the current template and is Ready', () => {
    expect(isRolledOut(sts({ replicas: 3, readyReplicas: 3, updatedReplicas: 3 }))).toBe(true);
    expect(isRolledOut(sts({}, 0))).toBe(true);
  });

  test('is false while pods roll, start, or the controller has not seen the spec', () => {
    expect(isRolledOut(sts({ replicas: 3, readyReplicas: 3, updatedReplicas: 1, updateRevision: 'b' }))).toBe(
      false,
    );
    expect(isRolledOut(sts({ replicas: 4, readyReplicas: 3, updatedReplicas: 4 }, 4))).toBe(false);
    expect(isRolledOut(sts({ replicas: 3, readyReplicas: 3, updatedReplicas: 3 }, 3, 3))).toBe(false);
  });
});

test("ZooKeeper's servers are a quorum role", () => {
  expect(ZOOKEEPER.roles.find((r) => r.name === 'servers')?.quorum).toBe(true);
});
