/**
 * Which CAs the operator publishes for a `certManager` class (lib/operator/cert-manager-trust.ts):
 * only what cert-manager says it signed keelson's Certificates of the class with.
 */
import { trustedCas, type CertificateRequest } from '../lib/operator/cert-manager-trust';
import type { KubeObject } from '../lib/operator/informer';

const pem = (n: string) => `-----BEGIN CERTIFICATE-----\n${n}\n-----END CERTIFICATE-----`;
const b64 = (s: string) => Buffer.from(s).toString('base64');
const ISSUER = { name: 'corp', kind: 'ClusterIssuer' as const };

const certificate = (name: string, over: Partial<KubeObject['metadata']> = {}): KubeObject => ({
  metadata: {
    name,
    namespace: 'ops',
    uid: `uid-${name}`,
    labels: { 'keelson.dev/tls-class': 'cm' },
    ownerReferences: [
      {
        apiVersion: 'keelson.dev/v1alpha1',
        kind: 'ZookeeperCluster',
        name: 'zk',
        uid: 'zk',
        controller: true,
      },
    ],
    ...over,
  },
});

function request(
  certificateName: string,
  ca: string,
  over: { ready?: boolean; issuer?: CertificateRequest['spec']; uid?: string } = {},
): CertificateRequest {
  return {
    metadata: {
      name: `${certificateName}-1`,
      namespace: 'ops',
      ownerReferences: [
        {
          apiVersion: 'cert-manager.io/v1',
          kind: 'Certificate',
          name: certificateName,
          uid: over.uid ?? `uid-${certificateName}`,
          controller: true,
        },
      ],
    },
    spec: over.issuer ?? { issuerRef: { name: 'corp', kind: 'ClusterIssuer', group: 'cert-manager.io' } },
    status: {
      ca: b64(ca),
      conditions: [{ type: 'Ready', status: over.ready === false ? 'False' : 'True' }],
    },
  };
}

describe('the CAs of a certManager class', () => {
  test('are the distinct status.ca of the Ready requests of its keelson Certificates, sorted', () => {
    const certificates = new Map([
      ['a', certificate('a')],
      ['b', certificate('b')],
      ['c', certificate('c')],
    ]);
    const cas = trustedCas(
      [request('a', pem('BBB')), request('b', pem('AAA')), request('c', `${pem('BBB')}\n`)],
      'cm',
      ISSUER,
      (_ns, name) => certificates.get(name),
    );
    expect(cas).toEqual([`${pem('AAA')}\n`, `${pem('BBB')}\n`]);
  });

  test('leave out requests that are not Ready, of another issuer, or not of a keelson Certificate of the class', () => {
    const certificates = new Map([
      ['mine', certificate('mine')],
      ['other-class', certificate('other-class', { labels: { 'keelson.dev/tls-class': 'other' } })],
      ['users', certificate('users', { ownerReferences: [] })],
    ]);
    const cas = trustedCas(
      [
        request('mine', pem('NOTREADY'), { ready: false }),
        request('mine', pem('ISSUER'), { issuer: { issuerRef: { name: 'corp', kind: 'Issuer' } } }),
        request('mine', pem('GROUP'), {
          issuer: { issuerRef: { name: 'corp', kind: 'ClusterIssuer', group: 'example.com' } },
        }),
        request('mine', pem('OLDUID'), { uid: 'uid-gone' }),
        request('gone', pem('GONE')),
        request('other-class', pem('OTHER')),
        request('users', pem('USERS')),
        request('mine', 'not a certificate'),
      ],
      'cm',
      ISSUER,
      (_ns, name) => certificates.get(name),
    );
    expect(cas).toEqual([]);
    // The same request of the right issuer counts (group cert-manager.io by default).
    expect(
      trustedCas(
        [request('mine', pem('OK'), { issuer: { issuerRef: { name: 'corp', kind: 'ClusterIssuer' } } })],
        'cm',
        ISSUER,
        (_ns, name) => certificates.get(name),
      ),
    ).toEqual([`${pem('OK')}\n`]);
  });
});
