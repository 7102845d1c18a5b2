/**
 * ZooKeeper with TLS delivered through Secrets (lib/tls, a `certManager` TlsClass) on the real
 * node, in a namespace enforcing the restricted Pod Security profile, without the keelson operator
 * and without Pod Certificates. keelson synthesizes a cert-manager `Certificate` per role group
 * and use; here the TEST plays cert-manager: it issues a certificate for exactly the Certificate's
 * `dnsNames` (test-pki.ts) and writes it into the Secret the Certificate names, in the layout
 * cert-manager writes (`kubernetes.io/tls`: tls.crt, tls.key, ca.crt, plus `tls-combined.pem`).
 * The Certificates themselves are not applied (cert-manager is not installed here; see
 * cert-manager-real-node.test.ts for the real controller). Proven:
 * - three servers of one role group, sharing the role group's certificate, form a quorum over
 *   TLS and become Ready by keelson's probe (srvr over TLS): one leader, two followers, asked by a
 *   client that checks each server's certificate and pod name against the CA;
 * - the same certificate answers for the client Service's name (the Certificate names it);
 * - the election port speaks TLS with that certificate;
 * - nothing answers plaintext on 2181.
 * Each failure prints the servers' logs.
 */
import { Chart, Testing } from 'cdk8s';
import { TlsClass } from '../../index';
import { ZookeeperCluster } from '../../constructs/zookeeper';
import { zookeeperImageRecipe } from '../../constructs/zookeeper/image';
import { KubeClient } from '../../lib/operator/client';
import type { CertManagerCertificate } from '../../lib/tls/cert-manager';
import { applyAll, RESTRICTED, type Manifest } from './admission';
import {
  buildImageOnRealNode,
  podsLogs,
  realNode,
  REAL_NODE_PLACEMENT,
  runClientPod,
  waitPodsReady,
} from './real-node-support';
import { adminClients, adminKubeConfig, useTestNamespace } from './support';
import { TestPki } from './test-pki';

jest.setTimeout(30 * 60_000);

const VERSION = '3.9.4';
const SERVERS = [0, 1, 2].map((i) => `zk-servers-default-${i}`);

describe('ZooKeeper with TLS from role-group Secrets on the real node', () => {
  const ns = useTestNamespace('zk-secret-tls', RESTRICTED);
  const client = new KubeClient(adminKubeConfig());
  const { core } = adminClients();
  const ca = new TestPki('keelson test cert-manager CA');
  afterAll(() => ca.remove());
  const logs = () => podsLogs(ns.name, SERVERS);

  it('forms its quorum over TLS from one certificate per role group, serving the pod and Service names', async () => {
    await realNode();
    await buildImageOnRealNode(zookeeperImageRecipe(VERSION));
    const started = Date.now();

    const chart = new Chart(Testing.app(), 'platform', { namespace: ns.name });
    new TlsClass(chart, 'tls', { certManager: { issuerRef: { name: 'keelson-test', kind: 'Issuer' } } });
    new ZookeeperCluster(chart, 'zk', {
      image: { productVersion: VERSION, pullPolicy: 'Never' },
      servers: {
        config: { resources: { memory: { limit: '512Mi' }, cpu: { min: '100m', max: '1' } } },
        podOverrides: { spec: REAL_NODE_PLACEMENT },
        roleGroups: { default: { replicas: 3 } },
      },
    });
    const manifests = Testing.synth(chart) as Manifest[];
    const certificates = manifests.filter(
      (m) => m.kind === 'Certificate',
    ) as unknown as CertManagerCertificate[];
    expect(certificates.map((c) => c.spec.secretName)).toEqual([
      'zk-servers-default-tls-server',
      'zk-servers-default-tls-internal',
    ]);
    const fqdn = (i: number) =>
      `zk-servers-default-${i}.zk-servers-default-headless.${ns.name}.svc.cluster.local`;
    for (const certificate of certificates) {
      expect(certificate.spec.dnsNames).toEqual(
        expect.arrayContaining([fqdn(0), fqdn(1), fqdn(2), 'zk-servers']),
      );
      // What cert-manager would write into the Secret, for exactly the Certificate's names.
      const files = ca.issue(certificate.spec.secretName, [...certificate.spec.dnsNames]);
      await core.createNamespacedSecret({
        namespace: ns.name,
        body: {
          metadata: { name: certificate.spec.secretName },
          type: 'kubernetes.io/tls',
          stringData: {
            'tls.crt': files['tls.crt'],
            'tls.key': files['tls.key'],
            'ca.crt': files['ca.crt'],
            'tls-combined.pem': files['tls.pem'],
          },
        },
      });
    }
    await core.createNamespacedSecret({
      namespace: ns.name,
      body: { metadata: { name: 'zk-client-trust' }, stringData: { 'ca.crt': ca.caPem } },
    });
    const applied = manifests.filter((m) => m.kind !== 'Certificate' && m.kind !== 'TlsClass');
    expect(await applyAll(client, applied, ns.name)).toEqual([]);
    await waitPodsReady(ns.name, SERVERS);
    const ready = Date.now();

    const word = (host: string, port: number, w: string, name = host) =>
      `echo ${w} | timeout 10 openssl s_client -quiet -connect ${host}:${port} -CAfile /trust/ca.crt ` +
      `-verify_return_error -verify_hostname ${name} 2>/tmp/s_client.err`;
    const hosts = [0, 1, 2].map(fqdn);
    const script = [
      'set -u',
      ...hosts.map(
        (h) =>
          `for i in $(seq 40); do mode=$(${word(h, 2181, 'srvr')} | grep '^Mode:' || true); ` +
          `[ -n "$mode" ] && break; sleep 2; done; echo "srvr $mode"`,
      ),
      `echo "service: $(${word('zk-servers', 2181, 'srvr')} | grep -c '^Zookeeper version')"`,
      ...hosts.map(
        (h) =>
          `echo "quorum ${h}: $(timeout 10 openssl s_client -brief -connect ${h}:3888 -CAfile /trust/ca.crt ` +
          `-verify_return_error -verify_hostname ${h} </dev/null 2>&1 | grep -E -o '^Verification: OK|verify error:num=[0-9]+' | head -1)"`,
      ),
      ...hosts.map(
        (h) => `echo "plaintext ${h}: $(echo srvr | timeout 10 nc -w 5 ${h} 2181 | grep -c '^Mode:')"`,
      ),
    ].join('\n');
    const output = await runClientPod(
      ns.name,
      {
        name: 'client',
        image: zookeeperImageRecipe(VERSION).reference,
        command: ['/bin/bash', '-c', script],
        memory: '128Mi',
        // Stands where a peer would, so the NetworkPolicy lets it reach the election port.
        labels: { 'app.kubernetes.io/name': 'zookeeper', 'app.kubernetes.io/instance': 'zk' },
        volumes: [
          { volume: { name: 'trust', secret: { secretName: 'zk-client-trust' } }, mountPath: '/trust' },
        ],
      },
      logs,
    );
    process.stdout.write(
      `zookeeper TLS from Secrets: three servers Ready ${((ready - started) / 1000).toFixed(1)} s after ` +
        `the Secrets and apply; client:\n${output}\n`,
    );
    const report = async (what: string) => `${what}\n--- client\n${output}\n--- servers\n${await logs()}`;
    const lines = output.split('\n');
    const modes = lines
      .filter((l) => l.startsWith('srvr '))
      .map((l) => l.replace('srvr Mode: ', ''))
      .sort();
    if (modes.join() !== 'follower,follower,leader')
      throw new Error(await report(`modes over TLS: ${modes}`));
    const expected = [
      'service: 1',
      ...hosts.map((h) => `quorum ${h}: Verification: OK`),
      ...hosts.map((h) => `plaintext ${h}: 0`),
    ];
    const missing = expected.filter((l) => !lines.includes(l));
    if (missing.length > 0) throw new Error(await report(`missing: ${missing.join('; ')}`));
    // The pods read the Secret through the mount contract, with no podCertificate volume.
    const pod = await core.readNamespacedPod({ name: SERVERS[0], namespace: ns.name });
    const tlsVolume = pod.spec?.volumes?.find((v) => v.name === 'tls-server');
    expect(tlsVolume?.secret?.secretName).toBe('zk-servers-default-tls-server');
    expect(tlsVolume?.projected).toBeUndefined();
  });
});
