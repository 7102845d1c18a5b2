/**
 * Whom keelson's Pod Certificate signer trusts and for which names (lib/operator/pod-certificates.ts):
 * a pod by its owner chain up to a keelson stacklet, never by its labels; its stable DNS name and
 * those of its stacklet's Services that select it; the status the API server accepts.
 */
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import type { KubeObject } from '../lib/operator/informer';
import {
  backdateSeconds,
  beginRefreshAt,
  issuedStatus,
  isSettled,
  judgePod,
  NOT_KEELSON_MANAGED,
  refusedStatus,
  type PodOwners,
} from '../lib/operator/pod-certificates';
import { LISTENER_VOLUME, POD_NAME_LABEL } from '../lib/listener/pod-listener';
import { tlsClassOfSigner, tlsSignerName } from '../lib/tls/pod-tls';
import { caSecretName, trustBundleName } from '../lib/operator/signer';
import { createCertificateAuthority, issueCertificate } from '../lib/tls/certificates';

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
    nodeAddresses: (node) =>
      node === 'node-a'
        ? [
            { type: 'InternalIP', address: '10.0.0.7' },
            { type: 'ExternalIP', address: '203.0.113.7' },
            { type: 'Hostname', address: 'node-a' },
          ]
        : node === 'node-b'
          ? [{ type: 'Hostname', address: 'node-b' }]
          : undefined,
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
      ipAddresses: [],
    });
  });

  describe('a pod with a per-pod listener (it mounts its address ConfigMap)', () => {
    const name = 'zk-servers-default-0';
    const listenerPod = (nodeName: string) => {
      const pod = serverPod();
      // The StatefulSet controller labels each pod with its name, which its own Service selects.
      return {
        ...pod,
        metadata: { ...pod.metadata, labels: { ...podLabels, [POD_NAME_LABEL]: name } },
        spec: { ...(pod.spec as object), nodeName, volumes: [{ name: LISTENER_VOLUME }] },
      } as KubeObject;
    };
    const ownService = (type: string, status?: unknown) =>
      object('Service', name, {
        metadata: { labels: managed },
        spec: { type, selector: { [POD_NAME_LABEL]: name } },
        ...(status ? { status } : {}),
      });
    const judge = (pod: KubeObject, own?: KubeObject) =>
      judgePod(pod, owners([stacklet, statefulSet, ...services, ...(own ? [own] : [])]));

    it("is signed for its NodePort node's ExternalIP and InternalIP, beside its own Service's names", async () => {
      const verdict = await judge(listenerPod('node-a'), ownService('NodePort'));
      expect(verdict).toMatchObject({ allowed: true, ipAddresses: ['10.0.0.7', '203.0.113.7'] });
      expect(verdict.allowed && verdict.dnsNames).toContain(`${name}.data.svc.cluster.local`);
      expect(verdict.allowed && verdict.waitingFor).toBeUndefined();
    });

    it("is signed for its load balancer's ingress ip and hostname", async () => {
      const ingress = {
        loadBalancer: { ingress: [{ ip: '198.51.100.4' }, { hostname: 'ZK-0.LB.Example.com' }] },
      };
      const verdict = await judge(listenerPod('node-a'), ownService('LoadBalancer', ingress));
      expect(verdict).toMatchObject({ allowed: true, ipAddresses: ['198.51.100.4'] });
      expect(verdict.allowed && verdict.dnsNames).toContain('zk-0.lb.example.com');
    });

    it.each([
      [
        'a load balancer without an address',
        'node-a',
        ownService('LoadBalancer'),
        `the load balancer address of the Service ${name}`,
      ],
      [
        'a node without an ExternalIP or InternalIP',
        'node-b',
        ownService('NodePort'),
        'an ExternalIP or InternalIP address of the node node-b',
      ],
      ['its own Service not seen yet', 'node-a', undefined, `the pod's own Service ${name}`],
    ])(
      'waits, rather than be signed without a name clients use, for %s',
      async (_what, node, own, waitingFor) => {
        const verdict = await judge(listenerPod(node), own);
        expect(verdict).toMatchObject({ allowed: true, ipAddresses: [], waitingFor });
      },
    );

    it('gets no external names through a ClusterIP Service of its own, nor without the address ConfigMap', async () => {
      for (const verdict of [
        await judge(listenerPod('node-a'), ownService('ClusterIP')),
        await judge(serverPod(), ownService('NodePort')),
      ]) {
        expect(verdict).toMatchObject({ allowed: true, ipAddresses: [] });
        expect(verdict).not.toHaveProperty('waitingFor');
      }
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

  it("asks for a refresh the class's certificateRefreshAfter after issue, back-dating notBefore so the API server accepts it", async () => {
    const issuedAt = new Date('2026-12-01T10:00:00.750Z');
    // Ten minutes or more after issue: the usual minute of back-dating.
    expect(backdateSeconds(undefined)).toBe(60);
    expect(backdateSeconds(600)).toBe(60);
    expect(backdateSeconds(3600)).toBe(60);
    // Sooner: notBefore moves back so that the refresh is 10 minutes after it, at most 4 minutes.
    expect(backdateSeconds(480)).toBe(120);
    expect(backdateSeconds(360)).toBe(240);
    expect(backdateSeconds(60)).toBe(240);

    const ca = await createCertificateAuthority({ commonName: 'test', lifetimeSeconds: 7200, now: issuedAt });
    const leaf = await issueCertificate({
      ca,
      subjectPublicKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
        type: 'spki',
        format: 'der',
      }),
      dnsNames: ['a.example'],
      lifetimeSeconds: 3600,
      now: issuedAt,
      backdateSeconds: backdateSeconds(360),
    });
    expect(leaf.notBefore.toISOString()).toBe('2026-12-01T09:56:00.000Z');
    expect(leaf.notAfter.toISOString()).toBe('2026-12-01T10:56:00.000Z');
    const status = issuedStatus(leaf, 'ok', issuedAt, 360);
    // What the API server asks: notBefore within 5 minutes of now, the refresh 10 minutes from either end.
    expect(status).toMatchObject({
      notBefore: '2026-12-01T09:56:00Z',
      notAfter: '2026-12-01T10:56:00Z',
      beginRefreshAt: '2026-12-01T10:06:00Z',
    });
    // A refresh asked for too late for a clipped certificate is kept 10 minutes before its end.
    expect(beginRefreshAt(leaf.notBefore, leaf.notAfter, { issuedAt, seconds: 3000 }).toISOString()).toBe(
      '2026-12-01T10:46:00.000Z',
    );
    expect(beginRefreshAt(leaf.notBefore, leaf.notAfter, { issuedAt, seconds: 1200 }).toISOString()).toBe(
      '2026-12-01T10:20:00.000Z',
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
