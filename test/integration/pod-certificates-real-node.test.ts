/**
 * Kubernetes Pod Certificates on the real node, the delivery keelson's TLS builds on:
 * - the test control plane serves `certificates.k8s.io/v1beta1` (podcertificaterequests,
 *   clustertrustbundles) with the features on, and the real node's kubelet, for a pod that mounts
 *   a `podCertificate` projection, creates a PodCertificateRequest naming that pod, its node, the
 *   signer and a PKCS#10 request, and holds the pod's start until a signer answers.
 */
import type * as k8s from '@kubernetes/client-node';
import { KubeClient } from '../../lib/operator/client';
import { RESTRICTED } from './admission';
import { clientPod, realNode } from './real-node-support';
import { adminClients, adminKubeConfig, useTestNamespace, waitFor } from './support';

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

/** A shell pod on the real node whose `/keelson/tls/server` is a podCertificate projection. */
function podWithCertificate(name: string, image: string, signerName: string): k8s.V1Pod {
  const pod = clientPod({
    name,
    image,
    command: ['/bin/sh', '-c', 'sleep 86400'],
    volumes: [
      {
        volume: {
          name: 'tls',
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
            ],
          },
        },
        mountPath: '/keelson/tls/server',
      },
    ],
  });
  pod.spec!.terminationGracePeriodSeconds = 0;
  return pod;
}

describe('Pod Certificates on the real node', () => {
  const ns = useTestNamespace('pod-certs', RESTRICTED);
  const { core } = adminClients();
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
