/**
 * cert-manager itself with keelson's Certificates, on the real node. cert-manager's controller is
 * built from the Go module proxy (`build-binaries.sh certmanager`: cert-manager's own controllers,
 * driven by a main of ours; its CRDs from the same module) and runs as a process against the test
 * API server, with a CA Issuer whose CA the test makes. Proven:
 * - cert-manager accepts the Certificates keelson synthesizes for a `certManager` TlsClass and
 *   writes their Secrets (`tls.crt`, `tls.key`, `ca.crt`, `tls-combined.pem`), Ready, with the
 *   Certificate's names, an ECDSA P-256 key and the class's lifetime;
 * - a ZooKeeper server mounts them at keelson's contract paths and becomes Ready by keelson's
 *   probe (srvr over TLS); a client checking the CA and the pod's name gets an answer over TLS.
 * Failures print cert-manager's and ZooKeeper's logs.
 *
 * Building cert-manager takes about 11 minutes on a fresh 2-core machine, more than a test may add
 * to CI, and `npm test`'s prepare step does not build it. So this test runs when the controller is
 * already built (`bash test/controlplane/build-binaries.sh certmanager`) or when
 * `KEELSON_TEST_CERT_MANAGER=1` asks for it (it then builds it first); otherwise it is skipped and
 * says why.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Chart, Testing } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { TlsClass } from '../../index';
import { ZookeeperCluster } from '../../constructs/zookeeper';
import { zookeeperImageRecipe } from '../../constructs/zookeeper/image';
import { keelsonCacheDir } from '../../lib/image';
import { KubeClient } from '../../lib/operator/client';
import type { CertManagerCertificate } from '../../lib/tls/cert-manager';
import { runBuildScript } from '../controlplane/cluster';
import { applyAll, installCrd, RESTRICTED, type Manifest } from './admission';
import {
  buildImageOnRealNode,
  podsLogs,
  realNode,
  REAL_NODE_PLACEMENT,
  runClientPod,
  waitPodsReady,
} from './real-node-support';
import { adminClients, adminKubeConfig, useTestNamespace, waitFor } from './support';
import { TestPki } from './test-pki';

jest.setTimeout(30 * 60_000);

/** The controller binary build-binaries.sh makes, at the version the script pins. */
function builtController(): string {
  const script = fs.readFileSync(path.join(__dirname, '..', 'controlplane', 'build-binaries.sh'), 'utf8');
  const version = /CERT_MANAGER_VERSION:-(v[0-9.]+)/.exec(script)?.[1];
  if (!version) throw new Error('build-binaries.sh pins no CERT_MANAGER_VERSION');
  return path.join(
    keelsonCacheDir(),
    'certmanager',
    `cert-manager-${version}`,
    'bin',
    'cert-manager-controller',
  );
}
const RUN = process.env.KEELSON_TEST_CERT_MANAGER === '1' || fs.existsSync(builtController());
if (!RUN) {
  process.stderr.write(
    'cert-manager-real-node: skipped, cert-manager is not built; build it with ' +
      '`bash test/controlplane/build-binaries.sh certmanager` or set KEELSON_TEST_CERT_MANAGER=1\n',
  );
}

const VERSION = '3.9.4';
const SERVER = 'zk-servers-default-0';

(RUN ? describe : describe.skip)('cert-manager issuing keelson Certificates on the real node', () => {
  const ns = useTestNamespace('zk-cert-manager', RESTRICTED);
  const client = new KubeClient(adminKubeConfig());
  const { core } = adminClients();
  const ca = new TestPki('keelson test cert-manager issuer CA');
  let controller: ChildProcess | undefined;
  let controllerLog = '';
  afterAll(async () => {
    ca.remove();
    if (controller && controller.exitCode === null) {
      controller.kill('SIGTERM');
      await new Promise((resolve) => controller!.once('exit', resolve));
    }
  });
  const logs = async () =>
    `--- cert-manager\n${controllerLog.split('\n').slice(-60).join('\n')}\n` +
    `--- zookeeper\n${await podsLogs(ns.name, [SERVER])}`;

  /** Server-side applies a cert-manager object (its REST path is not among keelson's kinds). */
  const applyCertManager = (plural: string, body: Manifest) =>
    client.request(
      'apply',
      'PATCH',
      `/apis/cert-manager.io/v1/namespaces/${ns.name}/${plural}/${body.metadata.name}`,
      plural,
      {
        query: { fieldManager: 'keelson-test', force: true },
        body: { ...body, metadata: { ...body.metadata, namespace: ns.name } },
        contentType: 'application/apply-patch+yaml',
      },
    );

  it("turns keelson's Certificates into Secrets a ZooKeeper server serves TLS from", async () => {
    await realNode();
    await buildImageOnRealNode(zookeeperImageRecipe(VERSION));
    const dir = await runBuildScript('certmanager', (m) => process.stderr.write(`${m}\n`));
    const started = Date.now();
    for (const file of fs.readdirSync(path.join(dir, 'crds'))) {
      const text = fs.readFileSync(path.join(dir, 'crds', file), 'utf8');
      for (const doc of parseAllDocuments(text)) {
        const crd = doc.toJS() as Record<string, unknown> | null;
        if (crd) await installCrd(crd);
      }
    }
    const kubeconfig = process.env.KEELSON_TEST_KUBECONFIG!;
    controller = spawn(
      path.join(dir, 'bin', 'cert-manager-controller'),
      ['--kubeconfig', kubeconfig, '--cluster-resource-namespace', ns.name],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const keep = (chunk: Buffer) => (controllerLog = (controllerLog + chunk.toString()).slice(-200_000));
    controller.stdout!.on('data', keep);
    controller.stderr!.on('data', keep);

    await core.createNamespacedSecret({
      namespace: ns.name,
      body: {
        metadata: { name: 'test-ca' },
        type: 'kubernetes.io/tls',
        stringData: { 'tls.crt': ca.caPem, 'tls.key': ca.caKeyPem },
      },
    });
    await core.createNamespacedSecret({
      namespace: ns.name,
      body: { metadata: { name: 'zk-client-trust' }, stringData: { 'ca.crt': ca.caPem } },
    });
    await applyCertManager('issuers', {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Issuer',
      metadata: { name: 'test-ca' },
      spec: { ca: { secretName: 'test-ca' } },
    } as Manifest);

    const chart = new Chart(Testing.app(), 'platform', { namespace: ns.name });
    new TlsClass(chart, 'tls', {
      certManager: { issuerRef: { name: 'test-ca', kind: 'Issuer' }, certificateLifetime: '2h' },
    });
    new ZookeeperCluster(chart, 'zk', {
      image: { productVersion: VERSION, pullPolicy: 'Never' },
      servers: {
        config: { resources: { memory: { limit: '512Mi' }, cpu: { min: '100m', max: '1' } } },
        podOverrides: { spec: REAL_NODE_PLACEMENT },
        roleGroups: { default: { replicas: 1 } },
      },
    });
    const manifests = Testing.synth(chart) as Manifest[];
    const certificates = manifests.filter((m) => m.kind === 'Certificate');
    expect(certificates).toHaveLength(2);
    for (const certificate of certificates) await applyCertManager('certificates', certificate);

    // cert-manager makes a key, a CertificateRequest, approves and signs it, and writes the Secret.
    for (const certificate of certificates as unknown as CertManagerCertificate[]) {
      const name = certificate.spec.secretName;
      try {
        await waitFor(
          `cert-manager to issue ${name}`,
          async () => {
            const live = await client.request<{
              status?: { conditions?: { type: string; status: string }[] };
            }>(
              'get',
              'GET',
              `/apis/cert-manager.io/v1/namespaces/${ns.name}/certificates/${name}`,
              'certificates',
            );
            return live.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
          },
          120_000,
        );
      } catch (error) {
        throw new Error(`${(error as Error).message}\n${await logs()}`);
      }
      const secret = await core.readNamespacedSecret({ name, namespace: ns.name });
      const data = (key: string) => Buffer.from(secret.data?.[key] ?? '', 'base64').toString();
      expect(Object.keys(secret.data ?? {}).sort()).toEqual([
        'ca.crt',
        'tls-combined.pem',
        'tls.crt',
        'tls.key',
      ]);
      expect(secret.metadata?.labels).toMatchObject({ 'app.kubernetes.io/instance': 'zk' });
      const leaf = new X509Certificate(data('tls.crt'));
      expect(leaf.verify(new X509Certificate(ca.caPem).publicKey)).toBe(true);
      expect(leaf.subjectAltName?.split(', ').map((n) => n.replace(/^DNS:/, ''))).toEqual(
        expect.arrayContaining([...certificate.spec.dnsNames]),
      );
      const lifetime = (Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)) / 1000;
      expect(Math.abs(lifetime - 7200)).toBeLessThanOrEqual(1);
      expect(data('tls.key')).toContain('-----BEGIN PRIVATE KEY-----'); // PKCS#8
      const key = createPrivateKey(data('tls.key'));
      expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
      // The combined PEM is the key, then the chain: the contract's tls.pem.
      expect(data('tls-combined.pem').replace(/\s+/g, '')).toBe(
        (data('tls.key') + data('tls.crt')).replace(/\s+/g, ''),
      );
    }
    const issued = Date.now();

    const applied = manifests.filter((m) => m.kind !== 'Certificate' && m.kind !== 'TlsClass');
    expect(await applyAll(client, applied, ns.name)).toEqual([]);
    await waitPodsReady(ns.name, [SERVER], 10 * 60_000, logs);
    const ready = Date.now();
    const host = `${SERVER}.zk-servers-default-headless.${ns.name}.svc.cluster.local`;
    const output = await runClientPod(
      ns.name,
      {
        name: 'client',
        image: zookeeperImageRecipe(VERSION).reference,
        command: [
          '/bin/bash',
          '-c',
          `for i in $(seq 40); do mode=$(echo srvr | timeout 10 openssl s_client -quiet -connect ${host}:2181 ` +
            `-CAfile /trust/ca.crt -verify_return_error -verify_hostname ${host} 2>/dev/null | grep '^Mode:' || true); ` +
            `[ -n "$mode" ] && break; sleep 2; done; echo "srvr $mode"`,
        ],
        memory: '128Mi',
        volumes: [
          { volume: { name: 'trust', secret: { secretName: 'zk-client-trust' } }, mountPath: '/trust' },
        ],
      },
      logs,
    );
    process.stdout.write(
      `cert-manager: CRDs, controller, Issuer and two Certificates issued in ${((issued - started) / 1000).toFixed(1)} s; ` +
        `ZooKeeper Ready ${((ready - issued) / 1000).toFixed(1)} s after apply; client: ${output}\n`,
    );
    if (!/^srvr Mode: (standalone|leader)$/m.test(output))
      throw new Error(`client: ${output}\n${await logs()}`);
  });
});
