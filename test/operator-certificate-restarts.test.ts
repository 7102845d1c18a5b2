/**
 * When the operator restarts a pod whose product does not reload its certificates
 * (lib/operator/certificate-restarts.ts), as pure functions of pods, certificates and an injected
 * `now`, or whose product reads its trust bundle only at start when a CA is published for its class;
 * and which products' roles declare that they reload (RoleDefinition.certificateReload, trustReload).
 */
import { Chart, Testing } from 'cdk8s';
import { KAFKA, KafkaCluster } from '../constructs/kafka';
import { TRINO } from '../constructs/trino';
import { ZOOKEEPER } from '../constructs/zookeeper';
import {
  BLOCKED_RECHECK_MS,
  certificateSources,
  clientTrustSigners,
  loadedCertificate,
  MAX_RECHECK_MS,
  planCertificateRestart,
  restartAt,
  RESTART_MARGIN_FRACTION,
  processesStartedAt,
  restartTrustSigners,
  TRUST_SETTLE_MS,
  trustRestartAt,
  trustSigners,
  type CertificateGroup,
  type CertificatePod,
} from '../lib/operator/certificate-restarts';
import type { KubeObject } from '../lib/operator/informer';
import type { StackletOptions } from '../lib';
import { certificateReloadOf, clientTrustReloadOf, trustReloadOf } from '../lib/stacklet/product';
import { tlsFiles, tlsTrustVolumes, tlsVolumes } from '../lib/tls/pod-tls';
import { find, type Obj } from './support/synth';

const HOUR = 3600_000;
const T0 = Date.parse('2026-12-01T00:00:00Z');
const at = (ms: number) => new Date(T0 + ms);
const day = (startMs: number) => ({ notBefore: at(startMs), notAfter: at(startMs + 24 * HOUR) });

function pod(name: string, extra: Partial<CertificatePod> = {}): CertificatePod {
  return {
    name,
    uid: `uid-${name}`,
    group: name.replace(/-\d+$/, ''),
    ready: true,
    deleting: false,
    certificate: day(0),
    startedAt: at(0),
    ...extra,
  };
}
const group = (name: string, replicas: number, rolling = false): CertificateGroup => ({
  name,
  replicas,
  rolling,
});
const brokers = (n: number, extra: (i: number) => Partial<CertificatePod> = () => ({})) =>
  Array.from({ length: n }, (_, i) => pod(`kafka-brokers-default-${i}`, extra(i)));

describe('restartAt', () => {
  it('is a quarter of the lifetime before notAfter: 6 h of 24 h, 15 min of 1 h', () => {
    expect(RESTART_MARGIN_FRACTION).toBe(0.25);
    expect(restartAt(day(0)).toISOString()).toBe('2026-12-01T18:00:00.000Z');
    expect(restartAt({ notBefore: at(0), notAfter: at(HOUR) }).toISOString()).toBe(
      '2026-12-01T00:45:00.000Z',
    );
  });
});

describe('planCertificateRestart', () => {
  const groups = [group('kafka-brokers-default', 3)];

  it('evicts nothing before the restart is due and looks again when the first one is', () => {
    const pods = brokers(3, (i) => ({ certificate: day(i * HOUR) }));
    const plan = planCertificateRestart(groups, pods, at(17.5 * HOUR));
    expect(plan).toEqual({ action: 'none', recheckAfterMs: 0.5 * HOUR });
  });

  it('looks again at most every hour, and at least a second later', () => {
    expect(planCertificateRestart(groups, brokers(3), at(0))).toEqual({
      action: 'none',
      recheckAfterMs: MAX_RECHECK_MS,
    });
    expect(planCertificateRestart(groups, brokers(3), at(18 * HOUR - 10))).toEqual({
      action: 'none',
      recheckAfterMs: 1000,
    });
  });

  it('has nothing to do, and nothing to look at again, for pods without a certificate to renew', () => {
    const pods = brokers(3, () => ({ certificate: undefined }));
    expect(planCertificateRestart(groups, pods, at(30 * HOUR))).toEqual({ action: 'none' });
  });

  it('evicts the pod whose certificate is due, exactly from the restart time on', () => {
    const pods = brokers(3, (i) => ({ certificate: day(i * HOUR) }));
    expect(planCertificateRestart(groups, pods, at(18 * HOUR - 1)).action).toBe('none');
    const plan = planCertificateRestart(groups, pods, at(18 * HOUR));
    expect(plan).toMatchObject({
      action: 'evict',
      pod: { name: 'kafka-brokers-default-0' },
      restartAt: at(18 * HOUR),
      expiresAt: at(24 * HOUR),
      recheckAfterMs: BLOCKED_RECHECK_MS,
    });
  });

  it('takes the certificate due first, then the pod started first, then the name', () => {
    const dueFirst = brokers(3, (i) => ({ certificate: day((2 - i) * HOUR) }));
    expect(planCertificateRestart(groups, dueFirst, at(30 * HOUR))).toMatchObject({
      pod: { name: 'kafka-brokers-default-2' },
    });
    const startedFirst = brokers(3, (i) => ({ startedAt: at((3 - i) * 1000) }));
    expect(planCertificateRestart(groups, startedFirst, at(30 * HOUR))).toMatchObject({
      pod: { name: 'kafka-brokers-default-2' },
    });
    expect(planCertificateRestart(groups, brokers(3), at(30 * HOUR))).toMatchObject({
      pod: { name: 'kafka-brokers-default-0' },
    });
  });

  it('evicts one pod at a time: none while another pod of the stacklet is not Ready', () => {
    const pods = brokers(3, (i) => ({ ready: i !== 1 }));
    expect(planCertificateRestart(groups, pods, at(20 * HOUR))).toEqual({
      action: 'wait',
      pod: pods[0],
      reason: 'pod kafka-brokers-default-1 is not Ready',
      recheckAfterMs: BLOCKED_RECHECK_MS,
    });
    // ... in another role group of the stacklet too.
    const controllers = [pod('kafka-controllers-default-0', { ready: false, certificate: day(5 * HOUR) })];
    const twoGroups = [...groups, group('kafka-controllers-default', 1)];
    expect(planCertificateRestart(twoGroups, [...brokers(3), ...controllers], at(20 * HOUR))).toMatchObject({
      action: 'wait',
      reason: 'pod kafka-controllers-default-0 is not Ready',
    });
  });

  it('evicts a due pod that is itself not Ready (it serves no one)', () => {
    const pods = brokers(3, (i) => ({ ready: i !== 0 }));
    expect(planCertificateRestart(groups, pods, at(20 * HOUR))).toMatchObject({
      action: 'evict',
      pod: { name: 'kafka-brokers-default-0' },
    });
  });

  it('waits while a pod is being deleted, even one that is not due', () => {
    const pods = brokers(3, (i) => ({ deleting: i === 2, certificate: i === 2 ? day(10 * HOUR) : day(0) }));
    expect(planCertificateRestart(groups, pods, at(20 * HOUR))).toMatchObject({
      action: 'wait',
      pod: { name: 'kafka-brokers-default-0' },
      reason: 'pod kafka-brokers-default-2 is being deleted',
    });
  });

  it('waits while a workload lacks pods (the one just evicted is not back yet)', () => {
    const pods = brokers(3).slice(1);
    expect(planCertificateRestart(groups, pods, at(20 * HOUR))).toMatchObject({
      action: 'wait',
      reason: 'kafka-brokers-default has 2 of 3 pods',
    });
  });

  it('waits while a StatefulSet rolls to a new revision', () => {
    expect(
      planCertificateRestart([group('kafka-brokers-default', 3, true)], brokers(3), at(20 * HOUR)),
    ).toMatchObject({ action: 'wait', reason: 'kafka-brokers-default is rolling to a new revision' });
  });

  it('does not count pods being deleted as due, and restarts pods whose certificate already expired', () => {
    const pods = brokers(3, (i) => ({ certificate: i === 0 ? day(0) : day(20 * HOUR) }));
    const plan = planCertificateRestart(groups, pods, at(25 * HOUR));
    expect(plan).toMatchObject({ action: 'evict', pod: { name: 'kafka-brokers-default-0' } });
  });

  it('rolls a stacklet one pod after the other as time passes, each new pod with a new certificate', () => {
    // Three brokers started together; the roll proceeds as each new pod becomes Ready.
    let pods = brokers(3);
    const evicted: string[] = [];
    let now = 18 * HOUR;
    for (let step = 0; step < 10; step++) {
      const plan = planCertificateRestart(groups, pods, at(now));
      if (plan.action !== 'evict') break;
      evicted.push(plan.pod.name);
      // The StatefulSet makes the pod again; its certificate is issued now.
      pods = pods.map((p) =>
        p.uid === plan.pod.uid
          ? { ...p, uid: `${p.uid}+`, certificate: day(now), startedAt: at(now), ready: false }
          : p,
      );
      // Nothing more while the new pod is not Ready.
      expect(planCertificateRestart(groups, pods, at(now + 1000)).action).not.toBe('evict');
      pods = pods.map((p) => ({ ...p, ready: true }));
      now += 60_000;
    }
    expect(evicted).toEqual([
      'kafka-brokers-default-0',
      'kafka-brokers-default-1',
      'kafka-brokers-default-2',
    ]);
    expect(planCertificateRestart(groups, pods, at(now))).toMatchObject({ action: 'none' });
  });
});

describe('loadedCertificate', () => {
  const sources = [{ use: 'internal' as const, signerName: 'keelson.dev/tls', maxExpirationSeconds: 3600 }];
  const request = (
    uid: string,
    notBefore: string,
    notAfter: string,
    issued = true,
    signer = 'keelson.dev/tls',
  ) =>
    ({
      apiVersion: 'certificates.k8s.io/v1beta1',
      kind: 'PodCertificateRequest',
      metadata: { name: `r-${notAfter}`, namespace: 'data' },
      spec: { podUID: uid, signerName: signer },
      status: {
        conditions: [{ type: issued ? 'Issued' : 'Denied', status: 'True' }],
        notBefore,
        notAfter,
      },
    }) as unknown as KubeObject;

  it('is the earliest-expiring issued certificate of the pod for a signer that needs a restart, when it ends before the start bound', () => {
    // Issued shorter than the volume asks (near its CA's end): the request tells.
    const requests = [
      request('a', '2026-12-01T00:40:00Z', '2026-12-01T01:40:00Z'),
      request('a', '2026-12-01T00:00:00Z', '2026-12-01T00:50:00Z'),
      request('b', '2026-11-30T00:00:00Z', '2026-11-30T01:00:00Z'),
      request('a', '2026-11-30T00:00:00Z', '2026-11-30T01:00:00Z', false),
      request('a', '2026-11-30T00:00:00Z', '2026-11-30T01:00:00Z', true, 'keelson.dev/other'),
    ];
    expect(loadedCertificate('a', at(0), sources, requests)).toEqual({
      notBefore: new Date('2026-12-01T00:00:00Z'),
      notAfter: new Date('2026-12-01T00:50:00Z'),
    });
  });

  it('is bounded by the pod start when only a later refresh is left (the API server deleted the first request)', () => {
    // The pod started at 00:00; the kubelet refreshed at 00:40 and the 00:00 request is gone.
    const requests = [request('a', '2026-12-01T00:40:00Z', '2026-12-01T01:40:00Z')];
    expect(loadedCertificate('a', at(0), sources, requests)).toEqual({
      notBefore: new Date('2026-11-30T23:59:00Z'),
      notAfter: new Date('2026-12-01T00:59:00Z'),
    });
  });

  it('is bounded by the pod start less the back-dating its requests show, for a class that refreshes early', () => {
    // The signer dated the refreshed certificate 4 minutes back (certificateRefreshAfter: 6m).
    const refreshed = request('a', '2026-12-01T00:06:00Z', '2026-12-01T01:06:00Z') as unknown as {
      status: { conditions: Record<string, string>[] };
    };
    refreshed.status.conditions[0].lastTransitionTime = '2026-12-01T00:10:00Z';
    expect(loadedCertificate('a', at(0), sources, [refreshed as unknown as KubeObject])).toEqual({
      notBefore: new Date('2026-11-30T23:56:00Z'),
      notAfter: new Date('2026-12-01T00:56:00Z'),
    });
    // Never more than the signer ever back-dates.
    refreshed.status.conditions[0].lastTransitionTime = '2026-12-01T00:30:00Z';
    expect(loadedCertificate('a', at(0), sources, [refreshed as unknown as KubeObject])?.notBefore).toEqual(
      new Date('2026-11-30T23:56:00Z'),
    );
  });

  it('without a request, is the pod start less the clock-skew allowance plus the shortest lifetime its volumes ask for', () => {
    expect(loadedCertificate('a', at(0), sources, [])).toEqual({
      notBefore: at(-60_000),
      notAfter: at(HOUR - 60_000),
    });
    expect(loadedCertificate('a', undefined, sources, [])).toBeUndefined();
  });

  it('is undefined for a pod with no use that needs a restart', () => {
    expect(
      loadedCertificate('a', at(0), [], [request('a', '2026-12-01T00:00:00Z', '2026-12-01T01:00:00Z')]),
    ).toBe(undefined);
  });
});

describe('certificateSources', () => {
  it("reads the signer and lifetime of keelson's TLS volumes from a pod template", () => {
    const { volumes } = tlsVolumes(
      { internal: tlsFiles('internal') },
      { internal: { name: 'tls', certificateLifetimeSeconds: 7200 } },
    );
    expect(certificateSources({ spec: { volumes: [{ name: 'config' }, ...volumes] } })).toEqual([
      { use: 'internal', signerName: 'keelson.dev/tls', maxExpirationSeconds: 7200 },
    ]);
    expect(certificateSources(undefined)).toEqual([]);
  });
});

describe('which roles reload their certificates (RoleDefinition.certificateReload)', () => {
  const reload = (product: typeof KAFKA, role: string) => {
    const definition = product.roles.find((r) => r.name === role)!;
    return Object.fromEntries(
      (definition.tls ?? []).map((use) => [use, certificateReloadOf(definition, use)]),
    );
  };

  it('Kafka restarts every role: it reads its PEM stores only when a listener starts', () => {
    expect(reload(KAFKA, 'brokers')).toEqual({ server: 'restart', internal: 'restart' });
    expect(reload(KAFKA, 'controllers')).toEqual({ internal: 'restart' });
  });

  it("ZooKeeper's client port reloads, its quorum is restarted", () => {
    expect(reload(ZOOKEEPER, 'servers')).toEqual({ server: 'files', internal: 'restart' });
  });

  it('Trino reloads (airlift checks the files every minute)', () => {
    expect(reload(TRINO, 'coordinators')).toEqual({ server: 'files', internal: 'files' });
    expect(reload(TRINO, 'workers')).toEqual({ server: 'files', internal: 'files' });
  });

  it('a role that says nothing is restarted', () => {
    expect(certificateReloadOf({}, 'server')).toBe('restart');
  });
});

describe('restarts for a new CA (RoleDefinition.trustReload)', () => {
  const SIGNER = 'keelson.dev/tls';
  const bundle = (fingerprint: string, createdMs: number, signerName = SIGNER) =>
    ({
      apiVersion: 'certificates.k8s.io/v1beta1',
      kind: 'ClusterTrustBundle',
      metadata: {
        name: `${signerName.replace('/', ':')}:${fingerprint}`,
        creationTimestamp: at(createdMs).toISOString(),
      },
      spec: {
        signerName,
        trustBundle: `-----BEGIN CERTIFICATE-----\n${fingerprint}\n-----END CERTIFICATE-----\n`,
      },
    }) as unknown as KubeObject;
  const signers = new Set([SIGNER]);
  // The class's first CA, published before anything started.
  const first = bundle('first', -HOUR);

  it('is not due for pods that started after every CA of their class was published', () => {
    expect(trustRestartAt(at(0), signers, [first])).toBeUndefined();
    expect(trustRestartAt(at(0), signers, [])).toBeUndefined();
    expect(trustRestartAt(undefined, signers, [first, bundle('next', HOUR)])).toBeUndefined();
    expect(trustRestartAt(at(0), new Set(), [first, bundle('next', HOUR)])).toBeUndefined();
  });

  it('is due a settling time after a CA is published, for every pod that started before it was', () => {
    expect(TRUST_SETTLE_MS).toBe(60_000);
    const next = bundle('next', 10 * HOUR);
    expect(trustRestartAt(at(0), signers, [first, next])).toEqual(at(10 * HOUR + TRUST_SETTLE_MS));
    expect(trustRestartAt(at(10 * HOUR - 1), signers, [first, next])).toEqual(
      at(10 * HOUR + TRUST_SETTLE_MS),
    );
    // Started after it appeared (a pod whose certificate the new CA's publication came before):
    // its ca.crt holds the new CA.
    expect(trustRestartAt(at(10 * HOUR), signers, [first, next])).toBeUndefined();
    expect(trustRestartAt(at(10 * HOUR + 2000), signers, [first, next])).toBeUndefined();
    // The newest bundle counts; another class's bundle does not; an old CA going away needs nothing.
    expect(trustRestartAt(at(0), signers, [first, next, bundle('third', 11 * HOUR)])).toEqual(
      at(11 * HOUR + TRUST_SETTLE_MS),
    );
    expect(
      trustRestartAt(at(0), signers, [first, bundle('x', 10 * HOUR, 'keelson.dev/other')]),
    ).toBeUndefined();
    expect(trustRestartAt(at(0), signers, [next])).toEqual(at(10 * HOUR + TRUST_SETTLE_MS));
  });

  it('dates what a pod trusts from when its earliest running container started, not from the pod', () => {
    // A pod taken on before its class's first CA existed, whose container started after it.
    const running = (startedAt: string) => ({ state: { running: { startedAt } } });
    expect(
      processesStartedAt([running('2026-12-01T00:02:00Z'), running('2026-12-01T00:01:00Z'), { state: {} }]),
    ).toEqual(new Date('2026-12-01T00:01:00Z'));
    expect(processesStartedAt([{ state: {} }])).toBeUndefined();
    expect(processesStartedAt(undefined)).toBeUndefined();
  });

  it("reads the trust bundles' signers of the uses asked for from a pod template", () => {
    const { volumes } = tlsVolumes(
      { server: tlsFiles('server'), internal: tlsFiles('internal') },
      { server: { name: 'public' }, internal: { name: 'tls' } },
    );
    const template = { spec: { volumes: [{ name: 'config' }, ...volumes] } };
    expect([...trustSigners(template, new Set(['internal']))]).toEqual(['keelson.dev/tls']);
    expect([...trustSigners(template, new Set(['server', 'internal']))].sort()).toEqual([
      'keelson.dev/public',
      'keelson.dev/tls',
    ]);
    expect([...trustSigners(template, new Set())]).toEqual([]);
    expect([...trustSigners(undefined, new Set(['server']))]).toEqual([]);
  });

  it('rolls a Trino (a coordinator, two workers) one pod at a time once a new CA is published, and not again', () => {
    // Trino reloads its certificate files (no certificate restart) but not its trust.
    const groups = [group('trino-coordinators-default', 1), group('trino-workers-default', 2)];
    const names = ['trino-coordinators-default-0', 'trino-workers-default-0', 'trino-workers-default-1'];
    const published = 5 * HOUR;
    let bundles = [first];
    let pods: CertificatePod[] = names.map((name, i) =>
      pod(name, { certificate: undefined, startedAt: at(i * 60_000) }),
    );
    const withTrust = (list: CertificatePod[]) =>
      list.map((p) => ({ ...p, trustRestartAt: trustRestartAt(p.startedAt, signers, bundles) }));

    // Before the new CA: nothing to do, nothing to look at again.
    expect(planCertificateRestart(groups, withTrust(pods), at(published - 1000))).toEqual({ action: 'none' });
    // Published, not settled: nothing yet; look again when it has.
    bundles = [first, bundle('next', published)];
    const settled = published + TRUST_SETTLE_MS;
    expect(planCertificateRestart(groups, withTrust(pods), at(published + 1000))).toEqual({
      action: 'none',
      recheckAfterMs: TRUST_SETTLE_MS - 1000,
    });

    const evicted: string[] = [];
    let now = settled;
    for (let step = 0; step < 10; step++) {
      const plan = planCertificateRestart(groups, withTrust(pods), at(now));
      if (plan.action !== 'evict') break;
      expect(plan).toMatchObject({ cause: 'trust', restartAt: at(settled), expiresAt: undefined });
      evicted.push(plan.pod.name);
      pods = pods.map((p) =>
        p.uid === plan.pod.uid ? { ...p, uid: `${p.uid}+`, startedAt: at(now + 5000), ready: false } : p,
      );
      // None while the new pod is not Ready (it is not due itself: it started after the CA settled).
      const next = planCertificateRestart(groups, withTrust(pods), at(now + 10_000));
      expect(next).toMatchObject(
        evicted.length < names.length
          ? { action: 'wait', reason: `pod ${plan.pod.name} is not Ready` }
          : { action: 'none' },
      );
      pods = pods.map((p) => ({ ...p, ready: true }));
      now += 60_000;
    }
    // Oldest first: the pods started one minute apart.
    expect(evicted).toEqual(names);
    expect(planCertificateRestart(groups, withTrust(pods), at(now))).toEqual({ action: 'none' });
  });

  it('takes whichever is due first of a certificate restart and a trust restart', () => {
    const groups = [group('kafka-brokers-default', 1)];
    const trustFirst = pod('kafka-brokers-default-0', { trustRestartAt: at(2 * HOUR) });
    expect(planCertificateRestart(groups, [trustFirst], at(2 * HOUR))).toMatchObject({
      action: 'evict',
      cause: 'trust',
    });
    const certificateFirst = pod('kafka-brokers-default-0', { trustRestartAt: at(20 * HOUR) });
    expect(planCertificateRestart(groups, [certificateFirst], at(18 * HOUR))).toMatchObject({
      action: 'evict',
      cause: 'certificate',
      expiresAt: at(24 * HOUR),
    });
  });

  it('Trino restarts for a new CA; a role that says nothing does what it does for certificates', () => {
    const trust = (product: typeof KAFKA, role: string) => {
      const definition = product.roles.find((r) => r.name === role)!;
      return Object.fromEntries((definition.tls ?? []).map((use) => [use, trustReloadOf(definition, use)]));
    };
    expect(trust(TRINO, 'coordinators')).toEqual({ server: 'restart', internal: 'restart' });
    expect(trust(TRINO, 'workers')).toEqual({ server: 'restart', internal: 'restart' });
    expect(trust(KAFKA, 'brokers')).toEqual({ server: 'restart', internal: 'restart' });
    expect(trust(ZOOKEEPER, 'servers')).toEqual({ server: 'files', internal: 'restart' });
    expect(trustReloadOf({ certificateReload: { server: 'files' } }, 'server')).toBe('files');
    expect(trustReloadOf({}, 'server')).toBe('restart');
  });
});

describe('restarts for a new CA of a class a role trusts as a client (RoleDefinition.clientTrustReload)', () => {
  /** The brokers' pod template of a Kafka in ZooKeeper mode whose ZooKeeper speaks TLS of `zkClass`. */
  const brokersOnZookeeper = (zkClass: string, options: StackletOptions) => {
    const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
    new KafkaCluster(
      chart,
      'kafka',
      { clusterConfig: { zookeeperConfigMapName: 'zk' } },
      {
        ...options,
        dependencies: {
          zk: { ZOOKEEPER: 'zk-servers.data.svc.cluster.local:2181', ZOOKEEPER_TLS_CLASS: zkClass },
        },
      },
    );
    return find(Testing.synth(chart) as Obj[], 'StatefulSet', 'kafka-brokers-default').spec.template;
  };
  const brokers = KAFKA.roles.find((r) => r.name === 'brokers')!;

  it("reads the signers of a pod template's client trust volumes, not those of its own uses", () => {
    const own = tlsVolumes({ server: tlsFiles('server') }, { server: { name: 'tls' } }).volumes;
    const clients = tlsTrustVolumes(['zk-tls', 'meta']).volumes;
    const template = { spec: { volumes: [{ name: 'config' }, ...own, ...clients] } };
    expect([...clientTrustSigners(template)].sort()).toEqual(['keelson.dev/meta', 'keelson.dev/zk-tls']);
    expect([...clientTrustSigners({ spec: { volumes: own } })]).toEqual([]);
    expect([...clientTrustSigners(undefined)]).toEqual([]);
  });

  // Kafka's brokers reload their ZooKeeper trust (a new TLS context per connection): a role that
  // restarts for its client trust is the brokers' definition with `clientTrustReload: 'restart'`.
  const restarting = { ...brokers, clientTrustReload: 'restart' as const };

  it('restarts the pods of a role that reads its trust of a dependency only at start, for a new CA of its class', () => {
    const template = brokersOnZookeeper('zk-tls', {});
    expect([...restartTrustSigners(restarting, template)]).toEqual(['keelson.dev/zk-tls']);
    // Once published, a pod that started before is due like any pod of a use that restarts.
    const bundle = {
      metadata: { name: 'keelson.dev:zk-tls:next', creationTimestamp: at(HOUR).toISOString() },
      spec: { signerName: 'keelson.dev/zk-tls' },
    } as unknown as KubeObject;
    expect(trustRestartAt(at(0), restartTrustSigners(restarting, template), [bundle])).toEqual(
      at(HOUR + TRUST_SETTLE_MS),
    );
    // A client that reads the bundle again by itself (Kafka's brokers) is left running.
    expect([...restartTrustSigners(brokers, template)]).toEqual([]);
  });

  it("adds a client trust to a role's own uses, and none where the dependency's class is the role's own", () => {
    const tlsOn: StackletOptions = { tlsClasses: [{ name: 'tls' }] };
    expect([...restartTrustSigners(restarting, brokersOnZookeeper('zk-tls', tlsOn))].sort()).toEqual([
      'keelson.dev/tls',
      'keelson.dev/zk-tls',
    ]);
    expect([...restartTrustSigners(brokers, brokersOnZookeeper('zk-tls', tlsOn))]).toEqual([
      'keelson.dev/tls',
    ]);
    expect([...restartTrustSigners(restarting, brokersOnZookeeper('tls', tlsOn))]).toEqual([
      'keelson.dev/tls',
    ]);
    expect([...restartTrustSigners(undefined, brokersOnZookeeper('zk-tls', tlsOn))]).toEqual([]);
  });

  it("Trino's nodes restart for their metastore's new CA, Kafka's brokers reload their ZooKeeper's; a role that says nothing restarts", () => {
    expect(clientTrustReloadOf(brokers)).toBe('files');
    for (const role of TRINO.roles)
      expect({ role: role.name, reload: clientTrustReloadOf(role) }).toEqual({
        role: role.name,
        reload: 'restart',
      });
    expect(clientTrustReloadOf({})).toBe('restart');
    expect(clientTrustReloadOf({ clientTrustReload: 'files' })).toBe('files');
  });
});
