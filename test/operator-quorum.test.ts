import { Chart, Testing } from 'cdk8s';
import {
  majoritiesIntersect,
  membersOf,
  MEMBERSHIP_CHANGE_UNSAFE,
  QUORUM_TLS_CHANGE_UNSAFE,
  quorumVerdict,
  type MemberWorkload,
} from '../lib/operator/quorum';
import { tlsOfPodVolumes, type TlsClassInfo } from '../lib/tls/pod-tls';
import { KAFKA } from '../constructs/kafka/kafka';
import { ZOOKEEPER, ZookeeperCluster, type ZookeeperClusterProps } from '../constructs/zookeeper';
import { find, type Obj } from './support/synth';

const group = (replicas: number, name = 'zk-servers-default') => membersOf([{ name, replicas }]);
const live = (replicas: number, name = 'zk-servers-default'): MemberWorkload => ({ name, replicas });

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
    expect(quorumVerdict('spec.servers', [live(3)], wanted(3))).toEqual({ kind: 'apply' });
  });

  test('refuses one server more or fewer while it runs: the roll would stop', () => {
    for (const [from, to] of [
      [3, 4],
      [4, 3],
    ]) {
      const verdict = quorumVerdict('spec.servers', [live(from)], wanted(to));
      expect(verdict).toMatchObject({
        kind: 'unsafe',
        message: expect.stringMatching(
          new RegExp(
            `^the members of spec\\.servers change from ${from} .* to ${to} .* while it runs: .*roll would stop.*clusterOperation\\.stopped`,
          ),
        ),
      });
    }
  });

  test('refuses 3 → 5 at once, naming the members, the reason and what to do', () => {
    const verdict = quorumVerdict('spec.servers', [live(3)], wanted(5));
    expect(verdict.kind).toBe('unsafe');
    expect(verdict).toMatchObject({
      message: expect.stringContaining(
        'the members of spec.servers change from 3 (zk-servers-default-0, zk-servers-default-1, ' +
          'zk-servers-default-2) to 5 (',
      ),
    });
    expect((verdict as { message: string }).message).toMatch(/split brain.*stopped/);
  });

  test('refuses a renamed role group', () => {
    expect(quorumVerdict('spec.servers', [live(3, 'zk-servers-a')], wanted(3, 'zk-servers-b')).kind).toBe(
      'unsafe',
    );
  });
});

test("Kafka's KRaft controllers are a quorum role, its brokers are not", () => {
  expect(KAFKA.roles.find((r) => r.name === 'controllers')?.quorum).toBe(true);
  expect(KAFKA.roles.find((r) => r.name === 'brokers')?.quorum).toBeFalsy();
});

test("ZooKeeper's servers are a quorum role", () => {
  expect(ZOOKEEPER.roles.find((r) => r.name === 'servers')?.quorum).toBe(true);
});

describe('the TLS between the members of a running quorum', () => {
  const at = (tls: string, replicas = 3): MemberWorkload => ({ name: 'zk-servers-default', replicas, tls });

  test('a change that keeps it applies; turning it on, off or to another class does not', () => {
    expect(quorumVerdict('spec.servers', [at('off')], [at('off')])).toEqual({ kind: 'apply' });
    expect(quorumVerdict('spec.servers', [at('TlsClass tls')], [at('TlsClass tls')])).toEqual({
      kind: 'apply',
    });
    for (const [from, to] of [
      ['off', 'TlsClass tls'],
      ['TlsClass tls', 'off'],
      ['TlsClass tls', 'TlsClass corp'],
      ['TlsClass tls', 'Secret zk-servers-default-tls-internal'],
    ]) {
      const verdict = quorumVerdict('spec.servers', [at(from)], [at(to)]);
      expect(verdict).toMatchObject({ kind: 'unsafe', reason: QUORUM_TLS_CHANGE_UNSAFE });
      expect((verdict as { message: string }).message).toMatch(
        new RegExp(
          `^the TLS between the members of spec\\.servers changes from ${from} to ${to} while it runs: .*` +
            'quorum would be lost.*clusterOperation\\.stopped: true.*spec\\.clusterConfig\\.tls',
        ),
      );
    }
  });

  test('a stopped quorum, its stop and its start take any TLS', () => {
    expect(quorumVerdict('spec.servers', [at('off', 0)], [at('TlsClass tls')])).toEqual({ kind: 'apply' });
    expect(quorumVerdict('spec.servers', [at('off')], [at('TlsClass tls', 0)])).toEqual({ kind: 'apply' });
    expect(quorumVerdict('spec.servers', [], [at('TlsClass tls')])).toEqual({ kind: 'apply' });
  });

  test('a change of the members is named first when both change', () => {
    const verdict = quorumVerdict('spec.servers', [at('off')], [at('TlsClass tls', 5)]);
    expect(verdict).toMatchObject({ kind: 'unsafe', reason: MEMBERSHIP_CHANGE_UNSAFE });
  });

  /** ZooKeeper's server StatefulSet as synth builds it with `classes` in the app. */
  const servers = (props: ZookeeperClusterProps, classes: TlsClassInfo[]) => {
    const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
    new ZookeeperCluster(chart, 'zk', props, { tlsClasses: classes });
    return find(Testing.synth(chart) as Obj[], 'StatefulSet', 'zk-servers-default');
  };
  const internalTls = (sts: Obj) => tlsOfPodVolumes(sts.spec.template.spec.volumes, 'internal');

  test("is read back from ZooKeeper's pod template, whatever delivers the certificates", () => {
    expect(internalTls(servers({}, []))).toBe('off');
    expect(internalTls(servers({ clusterConfig: { tls: { enabled: false } } }, [{ name: 'tls' }]))).toBe(
      'off',
    );
    expect(internalTls(servers({}, [{ name: 'tls' }]))).toBe('TlsClass tls');
    expect(
      internalTls(
        servers({ clusterConfig: { tls: { internalTlsClass: 'peers' } } }, [
          { name: 'tls' },
          { name: 'peers' },
        ]),
      ),
    ).toBe('TlsClass peers');
    const certManager = { name: 'tls', certManagerIssuer: { name: 'corp', kind: 'ClusterIssuer' as const } };
    expect(internalTls(servers({}, [certManager]))).toBe('Secret zk-servers-default-tls-internal');
    // The client port's class is not the members'.
    expect(
      internalTls(
        servers({ clusterConfig: { tls: { serverTlsClass: 'corp' } } }, [{ name: 'tls' }, { name: 'corp' }]),
      ),
    ).toBe('TlsClass tls');
  });
});
