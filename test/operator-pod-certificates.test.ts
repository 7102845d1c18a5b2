/**
 * Whom keelson's Pod Certificate signer trusts and for which names (lib/operator/pod-certificates.ts):
 * a pod by its owner chain up to a keelson stacklet, never by its labels; its stable DNS name and
 * those of its stacklet's Services that select it; the status the API server accepts.
 */
import { X509Certificate } from 'node:crypto';
import type { KubeObject } from '../lib/operator/informer';
import {
  beginRefreshAt,
  issuedStatus,
  isSettled,
  judgePod,
  NOT_KEELSON_MANAGED,
  refusedStatus,
  type PodOwners,
} from '../lib/operator/pod-certificates';
import { tlsClassOfSigner, tlsSignerName } from '../lib/tls/pod-tls';
import { caSecretName, trustBundleName } from '../lib/operator/signer';
import { createCertificateAuthority } from '../lib/tls/certificates';

const NS = 'data';
const managed = { 'app.kubernetes.io/managed-by': 'keelson', 'app.kubernetes.io/instance': 'zk' };
const podLabels = {
  ...managed,
  'app.kubernetes.io/name': 'zookeeper',
  'app.kubernetes.io/component': 'servers',
};

function object(
  kind: string,
  name: string,
  extra: { metadata?: Record<string, unknown>; spec?: unknown; status?: unknown } = {},
): KubeObject {
  const { metadata, ...rest } = extra;
  return {
    apiVersion:
      kind === 'ZookeeperCluster'
        ? 'keelson.dev/v1alpha1'
        : kind === 'Service' || kind === 'Pod'
          ? 'v1'
          : 'apps/v1',
    kind,
    metadata: { name, namespace: NS, uid: `uid-${kind}-${name}`, ...metadata },
    ...rest,
  } as KubeObject;
}

const controlledBy = (owner: KubeObject) => ({
  ownerReferences: [
    {
      apiVersion: owner.apiVersion!,
      kind: owner.kind!,
      name: owner.metadata.name,
      uid: owner.metadata.uid!,
      controller: true,
    },
  ],
});

const stacklet = object('ZookeeperCluster', 'zk');
const statefulSet = object('StatefulSet', 'zk-servers-default', {
  metadata: { labels: { ...managed }, ...controlledBy(stacklet) },
  spec: {
    selector: {
      matchLabels: { 'app.kubernetes.io/instance': 'zk', 'app.kubernetes.io/component': 'servers' },
    },
  },
});
const service = (name: string, selector: Record<string, string>, labels: Record<string, string> = managed) =>
  object('Service', name, { metadata: { labels }, spec: { selector } });
const services = [
  service('zk-servers-default-headless', {
    'app.kubernetes.io/instance': 'zk',
    'app.kubernetes.io/component': 'servers',
  }),
  service('zk', { 'app.kubernetes.io/instance': 'zk' }),
  // another role's Service, a Service of someone else selecting the pod, one with no selector
  service('zk-gateways', { 'app.kubernetes.io/instance': 'zk', 'app.kubernetes.io/component': 'gateways' }),
  service('sneaky', { 'app.kubernetes.io/instance': 'zk' }, { 'app.kubernetes.io/instance': 'zk' }),
  service('zk-external', {}),
];
const serverPod = (
  name = 'zk-servers-default-0',
  extra: { labels?: Record<string, string>; owner?: KubeObject } = {},
) =>
  object('Pod', name, {
    metadata: { labels: extra.labels ?? podLabels, ...controlledBy(extra.owner ?? statefulSet) },
    spec: { hostname: name, subdomain: 'zk-servers-default-headless' },
  });

/** A StatefulSet the stacklet's owner reference names but that lacks keelson's managed-by label. */
const unmanaged = object('StatefulSet', 'x', { metadata: controlledBy(stacklet) });

function owners(objects: KubeObject[] = [stacklet, statefulSet, unmanaged, ...services]): PodOwners {
  const find = (kind: string, name: string) =>
    objects.find((o) => o.kind === kind && o.metadata.name === name);
  return {
    replicaSet: async (_ns, name) => find('ReplicaSet', name),
    workload: async (kind, _ns, name) => find(kind, name),
    stacklet: (kind, _ns, name) => find(kind, name),
    services: () => objects.filter((o) => o.kind === 'Service'),
  };
}

describe('the Pod Certificate signer', () => {
  it('takes the TlsClass from keelson.dev/<class> and leaves other signers alone', () => {
    expect(tlsClassOfSigner('keelson.dev/tls')).toEqual({ name: 'tls' });
    expect(tlsClassOfSigner('keelson.dev/internal.tls')).toEqual({ invalid: 'internal.tls' });
    expect(tlsClassOfSigner(tlsSignerName('internal-tls'))).toEqual({ name: 'internal-tls' });
    expect(tlsClassOfSigner(`keelson.dev/${'a'.repeat(64)}`)).toEqual({ invalid: 'a'.repeat(64) });
    expect(tlsClassOfSigner('example.com/tls')).toBeUndefined();
    expect(tlsClassOfSigner('kubernetes.io/kube-apiserver-client-pod')).toBeUndefined();
    expect(tlsClassOfSigner('keelson.dev/a/b')).toEqual({ invalid: 'a/b' });
    expect(tlsClassOfSigner('keelson.dev/Upper')).toEqual({ invalid: 'Upper' });
  });

  it("signs a StatefulSet pod of a keelson stacklet for its stable name and its stacklet's Services that select it", async () => {
    const verdict = await judgePod(serverPod(), owners());
    expect(verdict).toEqual({
      allowed: true,
      stacklet: { kind: 'ZookeeperCluster', name: 'zk', uid: 'uid-ZookeeperCluster-zk' },
      dnsNames: [
        'zk-servers-default-0.zk-servers-default-headless.data.svc.cluster.local',
        'zk-servers-default-0.zk-servers-default-headless.data.svc',
        'zk-servers-default-0.zk-servers-default-headless.data',
        'zk-servers-default-0.zk-servers-default-headless',
        'zk',
        'zk.data',
        'zk.data.svc',
        'zk.data.svc.cluster.local',
        'zk-servers-default-headless',
        'zk-servers-default-headless.data',
        'zk-servers-default-headless.data.svc',
        'zk-servers-default-headless.data.svc.cluster.local',
      ],
    });
  });

  it('uses the cluster domain it is given', async () => {
    const verdict = await judgePod(serverPod(), owners(), 'example.internal');
    expect(verdict.allowed && verdict.dnsNames[0]).toBe(
      'zk-servers-default-0.zk-servers-default-headless.data.svc.example.internal',
    );
  });

  it('signs a Deployment pod through its ReplicaSet, for the Services that select it', async () => {
    const deployment = object('Deployment', 'zk-gateways-default', {
      metadata: { labels: { ...managed }, ...controlledBy(stacklet) },
      spec: { selector: { matchLabels: { 'app.kubernetes.io/component': 'gateways' } } },
    });
    const replicaSet = object('ReplicaSet', 'zk-gateways-default-5d4f', {
      metadata: controlledBy(deployment),
    });
    const pod = object('Pod', 'zk-gateways-default-5d4f-x2x9z', {
      metadata: {
        labels: { ...managed, 'app.kubernetes.io/component': 'gateways' },
        ...controlledBy(replicaSet),
      },
      spec: {},
    });
    const verdict = await judgePod(pod, owners([stacklet, deployment, replicaSet, ...services]));
    expect(verdict).toMatchObject({
      allowed: true,
      dnsNames: [
        'zk',
        'zk.data',
        'zk.data.svc',
        'zk.data.svc.cluster.local',
        'zk-gateways',
        'zk-gateways.data',
        'zk-gateways.data.svc',
        'zk-gateways.data.svc.cluster.local',
      ],
    });
  });

  it.each([
    [
      'a pod with no controller, however it is labelled',
      () => object('Pod', 'zk-servers-default-0', { metadata: { labels: podLabels } }),
      'has no controller',
    ],
    [
      'a pod of a Job',
      () => serverPod('zk-servers-default-0', { owner: object('Job', 'zk-job') }),
      'is controlled by Job zk-job',
    ],
    [
      'a pod whose StatefulSet is not keelson-managed',
      () => serverPod('x-0', { owner: unmanaged }),
      'not managed by keelson',
    ],
    [
      'a pod whose owner reference names a StatefulSet that is gone (another uid)',
      () =>
        serverPod('zk-servers-default-0', {
          owner: { ...statefulSet, metadata: { ...statefulSet.metadata, uid: 'old' } },
        }),
      'does not exist',
    ],
    [
      "a pod whose labels do not match its StatefulSet's selector",
      () => serverPod('zk-servers-default-0', { labels: { ...managed } }),
      'do not match the selector',
    ],
    [
      "a pod named unlike the StatefulSet's pods",
      () => serverPod('zk-servers-default-extra'),
      'not named like a pod',
    ],
  ])('denies %s', async (_what, pod, says) => {
    const verdict = await judgePod(pod(), owners());
    expect(verdict).toMatchObject({
      allowed: false,
      reason: NOT_KEELSON_MANAGED,
      message: expect.stringContaining(says),
    });
  });

  it('denies a pod whose StatefulSet is controlled by something other than a keelson stacklet, or by a stacklet that is gone', async () => {
    const foreign = object('StatefulSet', 'zk-servers-default', {
      metadata: { labels: managed, ...controlledBy(object('Application', 'x')) },
      spec: statefulSet.spec,
    });
    expect(await judgePod(serverPod(), owners([stacklet, foreign]))).toMatchObject({
      allowed: false,
      message: expect.stringContaining('not controlled by a keelson stacklet'),
    });
    expect(await judgePod(serverPod(), owners([statefulSet]))).toMatchObject({
      allowed: false,
      message: expect.stringContaining(
        'ZookeeperCluster zk that controls the StatefulSet zk-servers-default does not exist',
      ),
    });
  });

  it('asks for a refresh two thirds into the lifetime, within what the API server accepts', () => {
    const notBefore = new Date('2026-12-01T00:00:00Z');
    const day = new Date('2026-12-02T00:00:00Z');
    expect(beginRefreshAt(notBefore, day).toISOString()).toBe('2026-12-01T16:00:00.000Z');
    // An hour: 40 minutes in, which is at least 10 minutes from either end.
    expect(beginRefreshAt(notBefore, new Date('2026-12-01T01:00:00Z')).toISOString()).toBe(
      '2026-12-01T00:40:00.000Z',
    );
  });

  it('writes an Issued status in whole seconds, and a Denied or Failed one with conditions alone', async () => {
    const now = new Date('2026-12-01T10:00:00.750Z');
    const ca = await createCertificateAuthority({ commonName: 'test', lifetimeSeconds: 7200, now });
    const status = issuedStatus(
      { certificatePem: ca.certificatePem, notBefore: ca.notBefore, notAfter: ca.notAfter },
      'ok',
      now,
    );
    expect(status).toEqual({
      conditions: [
        {
          type: 'Issued',
          status: 'True',
          reason: 'Issued',
          message: 'ok',
          lastTransitionTime: '2026-12-01T10:00:00Z',
        },
      ],
      certificateChain: ca.certificatePem,
      notBefore: '2026-12-01T09:59:00Z',
      notAfter: '2026-12-01T11:59:00Z',
      beginRefreshAt: '2026-12-01T11:19:00Z',
    });
    expect(new X509Certificate(ca.certificatePem).validFrom).toBe('Dec  1 09:59:00 2026 GMT');
    expect(refusedStatus('Denied', 'NotKeelsonManaged', 'no', now)).toEqual({
      conditions: [
        {
          type: 'Denied',
          status: 'True',
          reason: 'NotKeelsonManaged',
          message: 'no',
          lastTransitionTime: '2026-12-01T10:00:00Z',
        },
      ],
    });
    expect(isSettled(object('PodCertificateRequest', 'r', { status: status }))).toBe(true);
    expect(isSettled(object('PodCertificateRequest', 'r', { status: {} }))).toBe(false);
  });

  it("names the CA Secret and the ClusterTrustBundle as the API server requires of a signer's bundle", async () => {
    const ca = await createCertificateAuthority({ commonName: 'test', lifetimeSeconds: 7200 });
    expect(caSecretName('tls')).toBe('keelson-tls-ca-tls');
    expect(trustBundleName('tls', ca.certificatePem)).toMatch(/^keelson\.dev:tls:[0-9a-f]{16}$/);
    expect(trustBundleName('tls', ca.certificatePem)).toBe(trustBundleName('tls', `${ca.certificatePem}\n`));
  });
});
