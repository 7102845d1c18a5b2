/**
 * Kubernetes Pod Certificates on the real node, the delivery keelson's TLS builds on:
 * - the test control plane serves `certificates.k8s.io/v1beta1` (podcertificaterequests,
 *   clustertrustbundles) with the features on, and the real node's kubelet, for a pod that mounts
 *   a `podCertificate` projection, creates a PodCertificateRequest naming that pod, its node, the
 *   signer and a PKCS#10 request, and holds the pod's start until a signer answers;
 * - keelson's operator, running as its own ServiceAccount with the RBAC `keelson deploy` gives it
 *   (watching one namespace, its CA Secret in another), signs for `keelson.dev/<TlsClass>`: the
 *   pods of a keelson stacklet (a StatefulSet's and, through its ReplicaSet, a Deployment's) start
 *   with a key, a certificate for their stable name and their stacklet's Services that select them
 *   (and no other Service's), issued by the CA the class's ClusterTrustBundle publishes and the pod
 *   mounts; the CA's key stays in its Secret. A class whose CA (in the Secret layout keelson wrote
 *   before it rotated CAs) nears its end is rotated: the successor is made and published beside it,
 *   so a pod's `ca.crt` holds both; the old CA signs on (its certificates clipped to its end) until
 *   the successor has been published for half the overlap — the test moves the publication time
 *   back in the Secret rather than waiting — then the successor signs; once the Secret says the old
 *   CA has expired, it is dropped and its bundle deleted. A pod that is not a keelson stacklet's asking the
 *   same signer — even one carrying keelson's labels — is Denied with the reason, and its volume
 *   never gets a certificate (its container never starts). No private key appears in the
 *   operator's log, any Event or any status.
 * Failures print the operator's log, the pods' state and the kubelet's log.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { KubeClient } from '../../lib/operator/client';
import { NEXT_CA_PUBLISHED_ANNOTATION, splitPem } from '../../lib/operator/ca-rotation';
import { caSecretName, trustBundleName } from '../../lib/operator/signer';
import { createCertificateAuthority } from '../../lib/tls/certificates';
import { createTestNamespace } from '../controlplane/cluster';
import { BEACON } from '../example-product/beacon';
import { installCrds, RESTRICTED } from './admission';
import {
  beacons,
  createCertificateBeacon,
  TLS_SERVER_DIR,
  noKeyLeaks,
  operatorIdentity,
  privateKeyLeaks,
  removeOperatorIdentity,
  startOperator,
  tail,
  type OperatorProcess,
} from './operator-support';
import { clientPod, execInPod, realNode, waitPodsReady } from './real-node-support';
import { adminClients, adminKubeConfig, uniqueName, useTestNamespace, waitFor } from './support';

jest.setTimeout(30 * 60_000);

const CERTIFICATES = '/apis/certificates.k8s.io/v1beta1';

interface PodCertificateRequest {
  metadata: { name: string; namespace: string; uid: string; creationTimestamp: string };
  spec: {
    signerName: string;
    podName: string;
    podUID: string;
    nodeName: string;
    serviceAccountName: string;
    maxExpirationSeconds: number;
    stubPKCS10Request?: string;
  };
  status?: { conditions?: { type: string; status: string; reason: string; message: string }[] };
}

/** The projected volume of keelson's mount contract (TLS.md): key, chain, bundle and trust. */
function tlsVolume(signerName: string, withTrust = true): k8s.V1Volume {
  return {
    name: 'tls-server',
    projected: {
      sources: [
        {
          podCertificate: {
            signerName,
            keyType: 'ECDSAP256',
            credentialBundlePath: 'tls.pem',
            keyPath: 'tls.key',
            certificateChainPath: 'tls.crt',
            maxExpirationSeconds: 86_400,
          },
        },
        ...(withTrust ? [{ clusterTrustBundle: { signerName, labelSelector: {}, path: 'ca.crt' } }] : []),
      ],
    },
  };
}

/** A shell pod on the real node whose `/keelson/tls/server` is a podCertificate projection. */
function podWithCertificate(
  name: string,
  image: string,
  signerName: string,
  labels?: Record<string, string>,
): k8s.V1Pod {
  const pod = clientPod({
    name,
    image,
    labels,
    command: ['/bin/sh', '-c', 'sleep 86400'],
    volumes: [{ volume: tlsVolume(signerName, false), mountPath: TLS_SERVER_DIR }],
  });
  pod.spec!.terminationGracePeriodSeconds = 0;
  return pod;
}

const client = new KubeClient(adminKubeConfig());

const requestsIn = async (namespace: string) =>
  (
    await client.request<{ items: PodCertificateRequest[] }>(
      'list',
      'GET',
      `${CERTIFICATES}/namespaces/${namespace}/podcertificaterequests`,
      'podcertificaterequests',
    )
  ).items;

describe('Pod Certificates on the real node', () => {
  const ns = useTestNamespace('pod-certs', RESTRICTED);
  const { core } = adminClients();

  it('serves the Pod Certificate API, and the kubelet asks for the certificate of a pod that mounts one', async () => {
    const resources = await client.request<{ resources: { name: string }[] }>(
      'get',
      'GET',
      CERTIFICATES,
      'discovery',
    );
    expect(resources.resources.map((r) => r.name)).toEqual(
      expect.arrayContaining([
        'podcertificaterequests',
        'podcertificaterequests/status',
        'clustertrustbundles',
      ]),
    );

    const node = await realNode();
    const signerName = 'keelson.dev/nobody-signs';
    const created = Date.now();
    const pod = await core.createNamespacedPod({
      namespace: ns.name,
      body: podWithCertificate('asks', node.busyboxImage, signerName),
    });
    let request: PodCertificateRequest | undefined;
    await waitFor(
      `the kubelet to create a PodCertificateRequest for ${ns.name}/asks`,
      async () => {
        request = (await requestsIn(ns.name)).find((r) => r.spec.podName === 'asks');
        return request !== undefined;
      },
      5 * 60_000,
      node.logs.kubelet,
      undefined,
      async () => JSON.stringify((await core.readNamespacedPod({ name: 'asks', namespace: ns.name })).status),
    );
    process.stdout.write(
      `PodCertificateRequest ${request!.metadata.name} ${((Date.now() - created) / 1000).toFixed(1)} s after the pod\n`,
    );
    expect(request!.spec).toMatchObject({
      signerName,
      podUID: pod.metadata!.uid,
      nodeName: node.nodeName,
      serviceAccountName: 'default',
      maxExpirationSeconds: 86_400,
    });
    // The request carries the key the kubelet made for the pod, as a PKCS#10 request (DER, base64).
    expect(Buffer.from(request!.spec.stubPKCS10Request ?? '', 'base64').length).toBeGreaterThan(100);
    expect(request!.status?.conditions ?? []).toEqual([]);
    // Nobody signs for this signer: the pod's volume cannot be set up, so its container never starts.
    const read = await core.readNamespacedPod({ name: 'asks', namespace: ns.name });
    expect(read.status?.phase).toBe('Pending');
  });
});

interface ClusterTrustBundle {
  metadata: { name: string; labels?: Record<string, string> };
  spec: { signerName: string; trustBundle: string };
}

const log = (message: string) => process.stdout.write(`keelson as the Pod Certificate signer: ${message}\n`);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

describe("keelson's operator as the Pod Certificate signer, on the real node", () => {
  const kc = adminKubeConfig();
  const { core } = adminClients();
  const className = uniqueName('signer');
  const signerName = `keelson.dev/${className}`;
  let operatorNamespace = '';
  let namespace = '';
  let operator: OperatorProcess | undefined;
  /** The pods' private keys, read from their volumes, and the rotated class's CA keys, for the scan. */
  const podKeys: string[] = [];
  const rotationClass = uniqueName('rotating');

  beforeAll(async () => {
    await realNode();
    await installCrds([BEACON], kc);
    operatorNamespace = await createTestNamespace(kc, uniqueName('signer-op'));
    namespace = await createTestNamespace(kc, uniqueName('signer'), RESTRICTED);
    // The operator's own identity, watching `namespace` only: what it does, its RBAC allows.
    const kubeconfig = await operatorIdentity(operatorNamespace, kc, [BEACON], [namespace]);
    operator = await startOperator({
      namespaces: [namespace],
      kubeconfig,
      env: { POD_NAMESPACE: operatorNamespace },
    });
    await client.request('create', 'POST', '/apis/keelson.dev/v1alpha1/tlsclasses', 'tlsclasses', {
      body: {
        apiVersion: 'keelson.dev/v1alpha1',
        kind: 'TlsClass',
        metadata: { name: className },
        spec: { keelsonCa: { certificateLifetime: '2h' } },
      },
    });
  });

  afterAll(async () => {
    await operator?.stop();
    for (const name of [className, rotationClass])
      await client
        .request('delete', 'DELETE', `/apis/keelson.dev/v1alpha1/tlsclasses/${name}`, 'tlsclasses')
        .catch(() => undefined);
    if (operatorNamespace) await removeOperatorIdentity(operatorNamespace, kc);
    for (const name of [namespace, operatorNamespace].filter(Boolean))
      await core.deleteNamespace({ name }).catch(() => undefined);
  });

  /** What a failure prints: the operator's log, the requests, the pods and the kubelet's log. */
  async function diagnostics(): Promise<string> {
    const node = await realNode();
    const requests = await requestsIn(namespace).catch((e: Error) => e.message);
    const pods = await core
      .listNamespacedPod({ namespace })
      .then((l) =>
        l.items.map(
          (p) => `${p.metadata?.name}: ${JSON.stringify(p.status?.containerStatuses ?? p.status?.phase)}`,
        ),
      )
      .catch((e: Error) => [e.message]);
    const stacklet = await beacons(kc)
      .get(namespace, 'sig')
      .then((b) => JSON.stringify(b.status?.conditions ?? 'no status'))
      .catch((e: Error) => e.message);
    return [
      `--- BeaconCluster sig: ${stacklet}`,
      `--- operator log (${operator?.logFile}):\n${tail(operator?.logFile ?? '', 60)}`,
      `--- requests:\n${
        typeof requests === 'string'
          ? requests
          : JSON.stringify(
              requests.map((r) => ({ name: r.metadata.name, pod: r.spec.podName, status: r.status })),
              null,
              1,
            )
      }`,
      `--- pods:\n${pods.join('\n')}`,
      `--- kubelet (last lines):\n${tail(node.logs.kubelet, 30)}`,
    ].join('\n');
  }

  async function explained<T>(step: Promise<T>): Promise<T> {
    try {
      return await step;
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${await diagnostics()}`, { cause: error });
    }
  }

  it("signs a keelson stacklet's pods for their names, from the CA its ClusterTrustBundle publishes", async () => {
    const node = await realNode();
    // Beacon, the framework's example product, with a shell for its process and the class's
    // certificate and trust in keelson's mount contract.
    await createCertificateBeacon(kc, namespace, 'sig', {
      image: node.busyboxImage,
      volume: tlsVolume(signerName),
      gateways: 1,
    });

    // The pods, once they exist (the gateway's name has its ReplicaSet's hash).
    const server = 'sig-servers-default-0';
    let gateway = '';
    await explained(
      waitFor(
        "the stacklet's pods to exist",
        async () => {
          const pods = (await core.listNamespacedPod({ namespace })).items.map((p) => p.metadata!.name!);
          gateway = pods.find((p) => p.startsWith('sig-gateways-default-')) ?? '';
          return pods.includes(server) && gateway !== '';
        },
        5 * 60_000,
      ),
    );
    await explained(waitPodsReady(namespace, [server, gateway], 5 * 60_000, diagnostics));

    // How long from the pod's creation to its certificate: the request, the answer, the mount.
    const requests = await requestsIn(namespace);
    for (const pod of [server, gateway]) {
      const read = await core.readNamespacedPod({ name: pod, namespace });
      const created = new Date(read.metadata!.creationTimestamp!).getTime();
      const request = requests.find((r) => r.spec.podName === pod);
      const issued = request?.status?.conditions?.find((c) => c.type === 'Issued') as
        { lastTransitionTime?: string } | undefined;
      const started = (read.status?.containerStatuses ?? [])[0]?.state?.running?.startedAt;
      expect({ pod, request: request?.status }).toMatchObject({
        request: { conditions: [{ type: 'Issued', status: 'True', reason: 'Issued' }] },
      });
      log(
        `${pod}: request ${seconds(new Date(request!.metadata.creationTimestamp).getTime() - created)}, ` +
          `issued ${seconds(new Date(issued!.lastTransitionTime!).getTime() - created)}, ` +
          `container started (certificate mounted) ${seconds(new Date(started!).getTime() - created)} after the pod's creation`,
      );
    }

    // The class's trust bundle: named as the API server requires, labelled, the operator's CA.
    const bundles = (
      await client.request<{ items: ClusterTrustBundle[] }>(
        'list',
        'GET',
        `${CERTIFICATES}/clustertrustbundles`,
        'clustertrustbundles',
        { query: { labelSelector: `keelson.dev/tls-class=${className}` } },
      )
    ).items;
    expect(bundles.map((b) => b.spec.signerName)).toEqual([signerName]);
    const [bundle] = bundles;
    expect(bundle.metadata.name).toBe(trustBundleName(className, bundle.spec.trustBundle));
    const ca = new X509Certificate(bundle.spec.trustBundle);
    expect(ca.ca).toBe(true);
    // The CA's key lives in its Secret, in the operator's namespace, owned by the class.
    const secret = await core.readNamespacedSecret({
      name: caSecretName(className),
      namespace: operatorNamespace,
    });
    expect(secret.metadata?.ownerReferences?.map((r) => `${r.kind}/${r.name}`)).toEqual([
      `TlsClass/${className}`,
    ]);
    expect(Buffer.from(secret.data!['ca.crt'], 'base64').toString()).toBe(bundle.spec.trustBundle);

    const services = (await core.listNamespacedService({ namespace })).items;
    const selects = (svc: k8s.V1Service, labels: Record<string, string>) =>
      Object.keys(svc.spec?.selector ?? {}).length > 0 &&
      Object.entries(svc.spec!.selector!).every(([k, v]) => labels[k] === v);
    const checks: [string, string | undefined][] = [
      [server, `${server}.sig-servers-default-headless.${namespace}.svc.cluster.local`],
      [gateway, undefined],
    ];
    for (const [pod, stableName] of checks) {
      const files = await explained(
        execInPod(
          namespace,
          pod,
          `cat ${TLS_SERVER_DIR}/tls.crt; echo ===; cat ${TLS_SERVER_DIR}/ca.crt; echo ===; cat ${TLS_SERVER_DIR}/tls.key; echo ===; cat ${TLS_SERVER_DIR}/tls.pem`,
        ),
      );
      const [chain, trust, key, bundleFile] = files.split('===\n');
      podKeys.push(key);
      const leaf = new X509Certificate(chain);
      // Issued by the class's CA, which the pod's ca.crt and the ClusterTrustBundle both hold.
      expect(new X509Certificate(trust).fingerprint256).toBe(ca.fingerprint256);
      expect(leaf.checkIssued(ca)).toBe(true);
      expect(leaf.verify(ca.publicKey)).toBe(true);
      // For the key the kubelet made for the pod (and only the pod holds).
      expect(createPublicKey(createPrivateKey(key)).export({ type: 'spki', format: 'der' })).toEqual(
        leaf.publicKey.export({ type: 'spki', format: 'der' }),
      );
      expect(bundleFile).toContain('PRIVATE KEY');
      expect(bundleFile).toContain(chain.trim());
      // Lifetime of the class (2h), in force now.
      expect(new Date(leaf.validTo).getTime() - new Date(leaf.validFrom).getTime()).toBe(2 * 3600_000);
      // The pod's stable name, and every name of each of its stacklet's Services that selects it.
      const read = await core.readNamespacedPod({ name: pod, namespace });
      const labels = read.metadata!.labels!;
      const mine = services.filter((svc) => selects(svc, labels)).map((svc) => svc.metadata!.name!);
      const others = services.filter((svc) => !selects(svc, labels)).map((svc) => svc.metadata!.name!);
      expect({ pod, mine: mine.length }).toEqual({ pod, mine: expect.any(Number) });
      expect(mine.length).toBeGreaterThan(0);
      if (stableName) expect(leaf.checkHost(stableName)).toBe(stableName);
      for (const svc of mine) {
        for (const name of [
          svc,
          `${svc}.${namespace}`,
          `${svc}.${namespace}.svc`,
          `${svc}.${namespace}.svc.cluster.local`,
        ])
          expect({ pod, name, host: leaf.checkHost(name) }).toEqual({ pod, name, host: name });
      }
      // ...and not the other role's Services.
      expect(others.length).toBeGreaterThan(0);
      for (const svc of others)
        expect({ pod, svc, host: leaf.checkHost(svc) }).toEqual({ pod, svc, host: undefined });
      log(`${pod}: ${leaf.subjectAltName}`);
    }
  });

  it("denies a pod that is not a keelson stacklet's, even one with keelson's labels, and its volume never gets a certificate", async () => {
    const node = await realNode();
    // The labels of the stacklet's server pod, copied: labels are not what keelson trusts.
    const labels = {
      'app.kubernetes.io/name': 'beacon',
      'app.kubernetes.io/instance': 'sig',
      'app.kubernetes.io/component': 'servers',
      'app.kubernetes.io/role-group': 'default',
      'app.kubernetes.io/managed-by': 'keelson',
    };
    await core.createNamespacedPod({
      namespace,
      body: podWithCertificate('stranger', node.busyboxImage, signerName, labels),
    });
    let request: PodCertificateRequest | undefined;
    await explained(
      waitFor(
        'the request of pod stranger to be answered',
        async () => {
          request = (await requestsIn(namespace)).find((r) => r.spec.podName === 'stranger');
          return (request?.status?.conditions ?? []).length > 0;
        },
        5 * 60_000,
      ),
    );
    expect(request!.status!.conditions).toEqual([
      expect.objectContaining({ type: 'Denied', status: 'True', reason: 'NotKeelsonManaged' }),
    ]);
    expect(request!.status!.conditions![0].message).toContain(`pod ${namespace}/stranger has no controller`);
    expect(request!.status).not.toHaveProperty('certificateChain');
    // The kubelet tells the pod's Events, and the pod's container never starts.
    await explained(
      waitFor(
        'the kubelet to record the denial on the pod',
        async () => {
          const events = await core.listNamespacedEvent({
            namespace,
            fieldSelector: 'involvedObject.name=stranger',
          });
          return events.items.some((e) => e.reason === 'Denied');
        },
        2 * 60_000,
      ),
    );
    const pod = await core.readNamespacedPod({ name: 'stranger', namespace });
    expect(pod.status?.phase).toBe('Pending');
    expect(pod.status?.containerStatuses?.[0]?.state?.running).toBeUndefined();
    expect(pod.status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe('ContainerCreating');
  });

  it('rotates a CA near its end: both CAs trusted, the old one signing until the switch, then the new one; the expired one dropped', async () => {
    const node = await realNode();
    const started = Date.now();
    const rotationSigner = `keelson.dev/${rotationClass}`;
    // Successor due 2h before a CA's end, signing 1h after it is published (half the overlap).
    await client.request('create', 'POST', '/apis/keelson.dev/v1alpha1/tlsclasses', 'tlsclasses', {
      body: {
        apiVersion: 'keelson.dev/v1alpha1',
        kind: 'TlsClass',
        metadata: { name: rotationClass },
        spec: { keelsonCa: { certificateLifetime: '2h', caLifetime: '4h', caRotationOverlap: '2h' } },
      },
    });
    const tlsClass = await client.request<{ metadata: { uid: string } }>(
      'get',
      'GET',
      `/apis/keelson.dev/v1alpha1/tlsclasses/${rotationClass}`,
      'tlsclasses',
    );
    // A CA with 100 minutes left, in the Secret as keelson wrote it before rotation.
    const old = await createCertificateAuthority({
      commonName: 'keelson old',
      lifetimeSeconds: 4 * 3600,
      now: new Date(Date.now() - (4 * 60 - 100) * 60_000),
    });
    const secretName = caSecretName(rotationClass);
    await core.createNamespacedSecret({
      namespace: operatorNamespace,
      body: {
        metadata: {
          name: secretName,
          ownerReferences: [
            {
              apiVersion: 'keelson.dev/v1alpha1',
              kind: 'TlsClass',
              name: rotationClass,
              uid: tlsClass.metadata.uid,
            },
          ],
        },
        data: {
          'ca.crt': Buffer.from(old.certificatePem).toString('base64'),
          'ca.key': Buffer.from(old.privateKeyPem).toString('base64'),
        },
      },
    });
    const oldCa = new X509Certificate(old.certificatePem);

    await createCertificateBeacon(kc, namespace, 'rot', {
      image: node.busyboxImage,
      volume: tlsVolume(rotationSigner),
    });
    const pod = 'rot-servers-default-0';

    const bundlesOfClass = async () =>
      (
        await client.request<{ items: ClusterTrustBundle[] }>(
          'list',
          'GET',
          `${CERTIFICATES}/clustertrustbundles`,
          'clustertrustbundles',
          { query: { labelSelector: `keelson.dev/tls-class=${rotationClass}` } },
        )
      ).items;
    const readSecret = async () => {
      const secret = await core.readNamespacedSecret({ name: secretName, namespace: operatorNamespace });
      const data = Object.fromEntries(
        Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
      );
      return { secret, data };
    };
    /** The pod's leaf and the CAs of its projected ca.crt. */
    const podFiles = async (uid?: string) => {
      await explained(
        waitFor(
          `${pod} to run${uid ? ' again' : ''}`,
          async () => {
            const read = await core.readNamespacedPod({ name: pod, namespace }).catch(() => undefined);
            return (
              read !== undefined &&
              read.metadata!.uid !== uid &&
              (read.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
            );
          },
          5 * 60_000,
        ),
      );
      // Both bundles exist before the certificate is issued; should the kubelet have projected
      // the trust before it saw the second, its next sync of the volume brings it.
      let [chain, trust] = ['', ''];
      await explained(
        waitFor(
          `${pod}'s ca.crt to hold both CAs`,
          async () => {
            const files = await execInPod(
              namespace,
              pod,
              `cat ${TLS_SERVER_DIR}/tls.crt; echo ===; cat ${TLS_SERVER_DIR}/ca.crt`,
            );
            [chain, trust] = files.split('===\n');
            return splitPem(trust).length === 2;
          },
          3 * 60_000,
        ),
      );
      const read = await core.readNamespacedPod({ name: pod, namespace });
      return {
        uid: read.metadata!.uid!,
        leaf: new X509Certificate(chain),
        trusted: splitPem(trust).map((c) => new X509Certificate(c)),
      };
    };
    /** True when `leaf` chains to one of `trusted` (its issuer, by name and signature). */
    const validates = (leaf: X509Certificate, trusted: X509Certificate[]) =>
      trusted.some((ca) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey));

    // The overlap: the successor is made, kept beside the old CA and published; the old CA signs.
    const first = await podFiles();
    const during = await readSecret();
    expect(Object.keys(during.data).sort()).toEqual(['ca.crt', 'ca.key', 'next.crt', 'next.key']);
    expect(during.data['ca.crt']).toBe(old.certificatePem);
    expect(during.secret.metadata?.annotations?.[NEXT_CA_PUBLISHED_ANNOTATION]).toBeDefined();
    const next = new X509Certificate(during.data['next.crt']);
    podKeys.push(old.privateKeyPem, during.data['next.key']);
    const bundles = await bundlesOfClass();
    expect(bundles.map((b) => b.spec.signerName)).toEqual([rotationSigner, rotationSigner]);
    expect(bundles.map((b) => new X509Certificate(b.spec.trustBundle).fingerprint256).sort()).toEqual(
      [oldCa.fingerprint256, next.fingerprint256].sort(),
    );
    // The pod's ca.crt holds both CAs; its certificate is the old CA's, clipped to the old CA's end.
    expect(first.trusted.map((c) => c.fingerprint256).sort()).toEqual(
      [oldCa.fingerprint256, next.fingerprint256].sort(),
    );
    expect(validates(first.leaf, first.trusted)).toBe(true);
    expect(first.leaf.checkIssued(oldCa)).toBe(true);
    expect(first.leaf.verify(oldCa.publicKey)).toBe(true);
    expect(first.leaf.validTo).toBe(oldCa.validTo);
    log(
      `rotation: successor published, old CA signing, pod running ${seconds(Date.now() - started)} after the class`,
    );

    // The successor published 61 minutes ago (the test moves the time back rather than waiting):
    // the pod's next certificate comes from the successor.
    const publishedLongAgo = new Date(Date.now() - 61 * 60_000).toISOString();
    await core.patchNamespacedSecret(
      {
        name: secretName,
        namespace: operatorNamespace,
        body: [
          {
            op: 'replace',
            path: `/metadata/annotations/${NEXT_CA_PUBLISHED_ANNOTATION.replace('/', '~1')}`,
            value: publishedLongAgo,
          },
        ],
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
    );
    await core.deleteNamespacedPod({ name: pod, namespace, gracePeriodSeconds: 0 });
    const second = await podFiles(first.uid);
    expect(validates(second.leaf, second.trusted)).toBe(true);
    expect(second.leaf.checkIssued(next)).toBe(true);
    expect(second.leaf.verify(next.publicKey)).toBe(true);
    expect(second.leaf.verify(oldCa.publicKey)).toBe(false);
    expect(second.trusted.map((c) => c.fingerprint256).sort()).toEqual(
      [oldCa.fingerprint256, next.fingerprint256].sort(),
    );
    const after = await readSecret();
    expect(after.data).toEqual({
      'ca.crt': during.data['next.crt'],
      'ca.key': during.data['next.key'],
      'previous.crt': splitPem(old.certificatePem)[0],
    });
    expect(after.secret.metadata?.annotations?.[NEXT_CA_PUBLISHED_ANNOTATION]).toBeUndefined();
    expect((await bundlesOfClass()).length).toBe(2);
    log(`rotation: switched to the successor ${seconds(Date.now() - started)} after the class`);

    // The Secret says the old CA has expired (an expired one in its place, rather than waiting):
    // the next look at the class (a change to one of its bundles makes one) drops it and its bundle.
    const expired = await createCertificateAuthority({
      commonName: 'keelson old',
      lifetimeSeconds: 3600,
      now: new Date(Date.now() - 2 * 3600_000),
    });
    await core.patchNamespacedSecret(
      {
        name: secretName,
        namespace: operatorNamespace,
        body: [
          {
            op: 'replace',
            path: '/data/previous.crt',
            value: Buffer.from(expired.certificatePem).toString('base64'),
          },
        ],
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
    );
    const oldBundle = trustBundleName(rotationClass, old.certificatePem);
    await client.request(
      'patch',
      'PATCH',
      `${CERTIFICATES}/clustertrustbundles/${oldBundle}`,
      'clustertrustbundles',
      {
        contentType: 'application/merge-patch+json',
        body: { metadata: { annotations: { 'keelson.dev/test': 'touched' } } },
      },
    );
    await explained(
      waitFor(
        "the expired CA's bundle to be deleted",
        async () =>
          (await bundlesOfClass()).map((b) => b.metadata.name).join() ===
          trustBundleName(rotationClass, during.data['next.crt']),
        2 * 60_000,
      ),
    );
    expect(Object.keys((await readSecret()).data).sort()).toEqual(['ca.crt', 'ca.key']);
    log(`rotation: expired CA dropped ${seconds(Date.now() - started)} after the class`);
  });

  it("keeps every private key out of the operator's log, Events and statuses", async () => {
    const secret = await core.readNamespacedSecret({
      name: caSecretName(className),
      namespace: operatorNamespace,
    });
    const caKey = Buffer.from(secret.data!['ca.key'], 'base64').toString();
    // The two pods' keys and the rotated class's two CA keys.
    expect(podKeys.length).toBe(4);
    const events = async (ns: string) =>
      JSON.stringify((await core.listNamespacedEvent({ namespace: ns })).items);
    const texts: [string, string][] = [
      ['the operator log', fs.readFileSync(operator!.logFile, 'utf8')],
      [`Events in ${namespace}`, await events(namespace)],
      [`Events in ${operatorNamespace}`, await events(operatorNamespace)],
      ['the requests', JSON.stringify(await requestsIn(namespace))],
      ['the BeaconCluster', JSON.stringify(await beacons(kc).get(namespace, 'sig'))],
      [
        'the TlsClass',
        JSON.stringify(
          await client.request(
            'get',
            'GET',
            `/apis/keelson.dev/v1alpha1/tlsclasses/${className}`,
            'tlsclasses',
          ),
        ),
      ],
      [
        'the trust bundles',
        JSON.stringify(
          await client.request('list', 'GET', `${CERTIFICATES}/clustertrustbundles`, 'clustertrustbundles', {
            query: { labelSelector: `keelson.dev/tls-class=${className}` },
          }),
        ),
      ],
    ];
    // The scan looks at something: the operator logged its work.
    expect(texts[0][1]).toContain('pod certificate issued');
    expect(texts[0][1]).toContain('pod certificate denied');
    expect(privateKeyLeaks([caKey, ...podKeys], texts)).toEqual(noKeyLeaks(texts));
  });
});
