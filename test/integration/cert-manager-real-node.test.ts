/**
 * cert-manager itself with keelson's Certificates, on the real node. cert-manager's controller is
 * built from the Go module proxy (`build-binaries.sh certmanager`: cert-manager's own controllers,
 * driven by a main of ours; its CRDs from the same module) and runs as a process against the test
 * API server, with a CA Issuer whose CA the test makes, and keelson's operator (the `keelson`
 * command, its own ServiceAccount and RBAC) reconciles a ZooKeeper of a `certManager` TlsClass and
 * a Kafka that is its TLS client. Proven:
 * - before cert-manager's CRDs exist, the ZooKeeper says `Degraded`, reason `CertManagerMissing`,
 *   naming the class and what is missing (and a Warning Event), and nothing of it is applied;
 * - once cert-manager runs, the operator finds it without a restart and applies the Certificates
 *   (owned by the stacklet, the class's label); cert-manager accepts them and writes their Secrets
 *   (`tls.crt`, `tls.key`, `ca.crt`, `tls-combined.pem` = key + chain), with the Certificate's
 *   names, an ECDSA P-256 PKCS#8 key and the class's lifetime; the server mounts them and becomes
 *   Ready by keelson's probe (srvr over TLS);
 * - the operator publishes the issuer's CA as the class's one ClusterTrustBundle; a Kafka in
 *   plaintext that names the ZooKeeper mounts it and becomes Available (a broker opens its
 *   listeners only once registered in the ZooKeeper, over TLS); a client holding only that projection checks the server's certificate and name and gets
 *   an answer;
 * - turning TLS off (stopped) prunes the Certificates;
 * - no issued key, nor the issuer's, is in the operator's log, the Events or the stacklets' statuses.
 * synth mode writes the same Certificates (the same construct; `test/stacklet-tls.test.ts`).
 * Failures print cert-manager's, the products' and the operator's logs.
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
import { parseAllDocuments } from 'yaml';
import { PRODUCTS } from '../../apps/keelson';
import { kafkaImageRecipe } from '../../constructs/kafka/image';
import { tlsTrustFile, tlsTrustVolumes } from '../../lib';
import type { KubeObject } from '../../lib/operator/informer';
import { createTestNamespace } from '../controlplane/cluster';
import { zookeeperImageRecipe } from '../../constructs/zookeeper/image';
import { keelsonCacheDir } from '../../lib/image';
import { KubeClient } from '../../lib/operator/client';
import type { CertManagerCertificate } from '../../lib/tls/cert-manager';
import { runBuildScript } from '../controlplane/cluster';
import {
  KEELSON_BIN,
  noKeyLeaks,
  operatorIdentity,
  privateKeyLeaks,
  removeOperatorIdentity,
  startOperator,
  tail,
  type OperatorProcess,
} from './operator-support';
import { installCrd, installCrds, RESTRICTED } from './admission';
import {
  FIRST_TIER_JIT,
  buildImageOnRealNode,
  HostPathVolumes,
  podsLogs,
  realNode,
  REAL_NODE_PLACEMENT,
  runClientPod,
  tlsZookeeperCluster,
} from './real-node-support';
import { adminClients, adminKubeConfig, uniqueName, waitFor } from './support';
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

let controller: ChildProcess | undefined;
let controllerLog = '';
let started: Promise<string> | undefined;
const controllerTail = () => `--- cert-manager\n${controllerLog.split('\n').slice(-60).join('\n')}\n`;

/**
 * Builds cert-manager (when not cached), installs its CRDs and starts its controller, once for the
 * file; resolves to its folder.
 */
function startCertManager(): Promise<string> {
  started ??= (async () => {
    const dir = await runBuildScript('certmanager', (m) => process.stderr.write(`${m}\n`));
    for (const file of fs.readdirSync(path.join(dir, 'crds'))) {
      const text = fs.readFileSync(path.join(dir, 'crds', file), 'utf8');
      for (const doc of parseAllDocuments(text)) {
        const crd = doc.toJS() as Record<string, unknown> | null;
        if (crd) await installCrd(crd);
      }
    }
    controller = spawn(
      path.join(dir, 'bin', 'cert-manager-controller'),
      ['--kubeconfig', process.env.KEELSON_TEST_KUBECONFIG!, '--cluster-resource-namespace', 'default'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const keep = (chunk: Buffer) => (controllerLog = (controllerLog + chunk.toString()).slice(-200_000));
    controller.stdout!.on('data', keep);
    controller.stderr!.on('data', keep);
    return dir;
  })();
  return started;
}

afterAll(async () => {
  if (controller && controller.exitCode === null) {
    controller.kill('SIGTERM');
    await new Promise((resolve) => controller!.once('exit', resolve));
  }
});

const KAFKA_VERSION = '3.9.1';
const STORAGE_CLASS = 'keelson-test-hostpath';
const KEELSON = '/apis/keelson.dev/v1alpha1';

type Condition = { type: string; status: string; reason: string; message: string };

/**
 * Through keelson's operator (its own ServiceAccount and RBAC): a ZooKeeper served by a
 * `certManager` class and a Kafka (plaintext itself) that is its TLS client. First without
 * cert-manager's CRDs (the stacklet says which class needs what; nothing is applied), then with
 * cert-manager: the operator applies the Certificates, the servers mount the Secrets, the operator
 * publishes the issuer's CA as the class's ClusterTrustBundle, the brokers trust the ZooKeeper
 * through it, and a client holding only that projection verifies the server's certificate and name.
 * Last, turning TLS off prunes the Certificates.
 */
(RUN ? describe : describe.skip)('a certManager TlsClass through the operator on the real node', () => {
  const kc = adminKubeConfig();
  const { core } = adminClients();
  const client = new KubeClient(kc);
  const className = uniqueName('cm');
  const issuerCa = new TestPki('keelson test cert-manager issuer CA (operator)');
  const volumes = new HostPathVolumes('cm-operator');
  let operatorNamespace = '';
  let namespace = '';
  let operator: OperatorProcess | undefined;

  beforeAll(async () => {
    await realNode();
    await installCrds(PRODUCTS, kc);
    operatorNamespace = await createTestNamespace(kc, uniqueName('cm-op'));
    namespace = await createTestNamespace(kc, uniqueName('cm-e2e'), RESTRICTED);
    const kubeconfig = await operatorIdentity(operatorNamespace, kc, PRODUCTS, [namespace]);
    operator = await startOperator({
      namespaces: [namespace],
      kubeconfig,
      entry: KEELSON_BIN,
      env: { POD_NAMESPACE: operatorNamespace },
    });
  });

  afterAll(async () => {
    await operator?.stop();
    await client
      .request('delete', 'DELETE', `${KEELSON}/tlsclasses/${className}`, 'tlsclasses')
      .catch(() => undefined);
    issuerCa.remove();
    if (operatorNamespace) await removeOperatorIdentity(operatorNamespace, kc);
    for (const name of [namespace, operatorNamespace].filter(Boolean))
      await core.deleteNamespace({ name }).catch(() => undefined);
    await volumes.removeAll();
  });

  const logs = async () =>
    `${controllerTail()}--- pods\n${await podsLogs(namespace, [SERVER, 'kafka-brokers-default-0'])}\n` +
    `--- operator\n${operator ? tail(operator.logFile, 80) : ''}`;
  const stackletPath = (plural: string, name = '') =>
    `${KEELSON}/namespaces/${namespace}/${plural}${name ? `/${name}` : ''}`;
  const conditions = async (plural: string, name: string) =>
    (
      (await client.request<KubeObject>('get', 'GET', stackletPath(plural, name), plural)).status as
        { conditions?: Condition[] } | undefined
    )?.conditions ?? [];
  const certificatePath = (name = '') =>
    `/apis/cert-manager.io/v1/namespaces/${namespace}/certificates${name ? `/${name}` : ''}`;
  const waitOrLogs = async (what: string, check: () => Promise<boolean>, timeoutMs: number) => {
    try {
      await waitFor(what, check, timeoutMs);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${await logs()}`);
    }
  };

  it('reports a missing cert-manager, then applies its Certificates, serves TLS from them and gives the Kafka client the issuer CA', async () => {
    const t0 = Date.now();
    await buildImageOnRealNode(zookeeperImageRecipe(VERSION));
    await buildImageOnRealNode(kafkaImageRecipe(KAFKA_VERSION));
    await volumes.add(`${namespace}-0`, STORAGE_CLASS);
    const discovery = await client
      .request<{ resources?: { name: string }[] }>('get', 'GET', '/apis/cert-manager.io/v1', 'discovery')
      .catch(() => ({ resources: [] }));
    // This file installs cert-manager's CRDs; on the fresh control plane of a run they are absent here.
    expect(discovery.resources?.map((r) => r.name) ?? []).not.toContain('certificates');

    await client.request('create', 'POST', `${KEELSON}/tlsclasses`, 'tlsclasses', {
      body: {
        apiVersion: 'keelson.dev/v1alpha1',
        kind: 'TlsClass',
        metadata: { name: className },
        spec: { certManager: { issuerRef: { name: 'test-ca', kind: 'Issuer' }, certificateLifetime: '2h' } },
      },
    });
    await client.request('create', 'POST', stackletPath('zookeeperclusters'), 'zookeeperclusters', {
      body: tlsZookeeperCluster({
        name: 'zk',
        version: VERSION,
        replicas: 1,
        serverTlsClass: className,
        internalTlsClass: className,
        memory: '384Mi',
      }),
    });

    // Without cert-manager: a condition and an Event naming the class and what is missing.
    let degraded: Condition | undefined;
    await waitOrLogs(
      'the ZookeeperCluster to say cert-manager is missing',
      async () => {
        degraded = (await conditions('zookeeperclusters', 'zk')).find((c) => c.type === 'Degraded');
        return degraded?.reason === 'CertManagerMissing';
      },
      60_000,
    );
    expect(degraded).toMatchObject({ status: 'True' });
    expect(degraded!.message).toContain(`"${className}"`);
    expect(degraded!.message).toContain('cert-manager.io/v1 Certificates');
    const events = await client.request<{ items: { reason: string; type: string; message: string }[] }>(
      'list',
      'GET',
      `/api/v1/namespaces/${namespace}/events`,
      'events',
      { query: { fieldSelector: 'involvedObject.name=zk' } },
    );
    expect(events.items).toContainEqual(
      expect.objectContaining({ type: 'Warning', reason: 'CertManagerMissing', message: degraded!.message }),
    );
    const sts = await client
      .request(
        'get',
        'GET',
        `/apis/apps/v1/namespaces/${namespace}/statefulsets/zk-servers-default`,
        'statefulsets',
      )
      .catch((e: unknown) => e);
    expect(sts).toBeInstanceOf(Error); // nothing applied

    // cert-manager arrives: the operator finds it without a restart.
    await startCertManager();
    await core.createNamespacedSecret({
      namespace,
      body: {
        metadata: { name: 'test-ca' },
        type: 'kubernetes.io/tls',
        stringData: { 'tls.crt': issuerCa.caPem, 'tls.key': issuerCa.caKeyPem },
      },
    });
    await client.request(
      'apply',
      'PATCH',
      `/apis/cert-manager.io/v1/namespaces/${namespace}/issuers/test-ca`,
      'issuers',
      {
        query: { fieldManager: 'keelson-test', force: true },
        contentType: 'application/apply-patch+yaml',
        body: {
          apiVersion: 'cert-manager.io/v1',
          kind: 'Issuer',
          metadata: { name: 'test-ca', namespace },
          spec: { ca: { secretName: 'test-ca' } },
        },
      },
    );
    const crdsAt = Date.now();
    const available = async (plural: string, name: string) =>
      (await conditions(plural, name)).some((c) => c.type === 'Available' && c.status === 'True');
    await waitOrLogs(
      'the ZookeeperCluster to be Available',
      () => available('zookeeperclusters', 'zk'),
      10 * 60_000,
    );
    const zkAt = Date.now();

    // The Certificates are the operator's: owned by the stacklet, of the class, Ready.
    const issuedKeys: string[] = [];
    const certificates = await client.request<{ items: KubeObject[] }>(
      'list',
      'GET',
      certificatePath(),
      'certificates',
    );
    expect(certificates.items.map((c) => c.metadata.name).sort()).toEqual([
      'zk-servers-default-tls-internal',
      'zk-servers-default-tls-server',
    ]);
    for (const certificate of certificates.items) {
      expect(certificate.metadata.ownerReferences).toContainEqual(
        expect.objectContaining({ kind: 'ZookeeperCluster', name: 'zk', controller: true }),
      );
      expect(certificate.metadata.labels?.['keelson.dev/tls-class']).toBe(className);
      // cert-manager's Secret for it: the contract's files, the names, the class's key and lifetime.
      const spec = certificate.spec as CertManagerCertificate['spec'];
      const secret = await core.readNamespacedSecret({ name: spec.secretName, namespace });
      const data = (key: string) => Buffer.from(secret.data?.[key] ?? '', 'base64').toString();
      expect(Object.keys(secret.data ?? {}).sort()).toEqual([
        'ca.crt',
        'tls-combined.pem',
        'tls.crt',
        'tls.key',
      ]);
      expect(secret.metadata?.labels).toMatchObject({
        'app.kubernetes.io/instance': 'zk',
        'keelson.dev/tls-class': className,
      });
      const leaf = new X509Certificate(data('tls.crt'));
      expect(leaf.verify(new X509Certificate(issuerCa.caPem).publicKey)).toBe(true);
      expect(leaf.subjectAltName?.split(', ').map((n) => n.replace(/^DNS:/, ''))).toEqual(
        expect.arrayContaining([...spec.dnsNames]),
      );
      const lifetime = (Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)) / 1000;
      expect(Math.abs(lifetime - 7200)).toBeLessThanOrEqual(1);
      expect(data('tls.key')).toContain('-----BEGIN PRIVATE KEY-----'); // PKCS#8
      issuedKeys.push(data('tls.key'));
      expect(createPrivateKey(data('tls.key')).asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
      // The combined PEM is the key, then the chain: the contract's tls.pem.
      expect(data('tls-combined.pem').replace(/\s+/g, '')).toBe(
        (data('tls.key') + data('tls.crt')).replace(/\s+/g, ''),
      );
    }
    // The issuer's CA, published for the class's clients.
    const bundles = await client.request<{ items: { spec: { signerName: string; trustBundle: string } }[] }>(
      'list',
      'GET',
      '/apis/certificates.k8s.io/v1beta1/clustertrustbundles',
      'clustertrustbundles',
      { query: { labelSelector: `keelson.dev/tls-class=${className}` } },
    );
    expect(bundles.items.map((b) => [b.spec.signerName, b.spec.trustBundle.trim()])).toEqual([
      [`keelson.dev/${className}`, issuerCa.caPem.trim()],
    ]);
    // A Kafka (made once the ZooKeeper serves, so that its first broker does not wait out a
    // ZooKeeper still starting) trusts it through that bundle: it speaks no TLS of its own.
    await client.request('create', 'POST', stackletPath('kafkaclusters'), 'kafkaclusters', {
      body: {
        apiVersion: 'keelson.dev/v1alpha1',
        kind: 'KafkaCluster',
        metadata: { name: 'kafka' },
        spec: {
          image: { productVersion: KAFKA_VERSION, pullPolicy: 'Never' },
          // Kafka itself in plaintext: its trust in the ZooKeeper comes from the class's bundle alone.
          clusterConfig: { zookeeperConfigMapName: 'zk', tls: { enabled: false } },
          brokers: {
            ...FIRST_TIER_JIT,
            config: {
              resources: {
                memory: { limit: '512Mi' },
                cpu: { min: '100m', max: '1' },
                storage: { 'log-dirs': { capacity: '1Gi', storageClass: STORAGE_CLASS } },
              },
            },
            podOverrides: { spec: REAL_NODE_PLACEMENT },
            roleGroups: { default: { replicas: 1 } },
          },
        },
      },
    });
    await waitOrLogs(
      'the KafkaCluster to be Available',
      () => available('kafkaclusters', 'kafka'),
      10 * 60_000,
    );
    const kafkaAt = Date.now();
    const brokers = await client.request<KubeObject>(
      'get',
      'GET',
      `/apis/apps/v1/namespaces/${namespace}/statefulsets/kafka-brokers-default`,
      'statefulsets',
    );
    const brokerVolumes = (brokers.spec as { template: { spec: { volumes: { name: string }[] } } }).template
      .spec.volumes;
    expect(brokerVolumes.map((v) => v.name)).toContain(tlsTrustVolumes([className]).volumes[0].name);

    // A client with only the class's trust projection verifies the issued certificate and its name.
    const host = `${SERVER}.zk-servers-default-headless.${namespace}.svc.cluster.local`;
    const trust = tlsTrustVolumes([className]);
    const output = await runClientPod(
      namespace,
      {
        name: 'client',
        image: zookeeperImageRecipe(VERSION).reference,
        command: [
          '/bin/bash',
          '-c',
          `for i in $(seq 20); do mode=$(echo srvr | timeout 10 openssl s_client -quiet -connect ${host}:2181 ` +
            `-CAfile ${tlsTrustFile(className)} -verify_return_error -verify_hostname ${host} 2>/dev/null | grep '^Mode:' || true); ` +
            `[ -n "$mode" ] && break; sleep 2; done; echo "srvr $mode"`,
        ],
        memory: '128Mi',
        volumes: [{ volume: trust.volumes[0] as never, mountPath: trust.mounts[0].mountPath }],
      },
      logs,
    );
    if (!/^srvr Mode: standalone$/m.test(output)) throw new Error(`client: ${output}\n${await logs()}`);

    // TLS off (stopped first: a running server cannot roll between TLS and plaintext): pruned.
    await client.request('patch', 'PATCH', stackletPath('zookeeperclusters', 'zk'), 'zookeeperclusters', {
      contentType: 'application/merge-patch+json',
      body: { spec: { clusterOperation: { stopped: true }, clusterConfig: { tls: { enabled: false } } } },
    });
    await waitOrLogs(
      'the Certificates to be pruned',
      async () =>
        (await client.request<{ items: unknown[] }>('list', 'GET', certificatePath(), 'certificates')).items
          .length === 0,
      60_000,
    );
    // The operator never reads a key (it publishes the issuer's CA from cert-manager's requests, not
    // from the Secrets): none in its log, Events or the stacklets' statuses.
    const eventsIn = async (ns: string) =>
      JSON.stringify((await core.listNamespacedEvent({ namespace: ns })).items);
    const stacklet = async (plural: string, name: string) =>
      JSON.stringify(await client.request<KubeObject>('get', 'GET', stackletPath(plural, name), plural));
    const texts: [string, string][] = [
      ['the operator log', fs.readFileSync(operator!.logFile, 'utf8')],
      [`Events in ${namespace}`, await eventsIn(namespace)],
      [`Events in ${operatorNamespace}`, await eventsIn(operatorNamespace)],
      ['the ZookeeperCluster', await stacklet('zookeeperclusters', 'zk')],
      ['the KafkaCluster', await stacklet('kafkaclusters', 'kafka')],
      ['the trust bundles', JSON.stringify(bundles)],
    ];
    expect(texts[0][1]).toContain('cert-manager is not installed');
    expect(issuedKeys.length).toBe(2);
    expect(privateKeyLeaks([...issuedKeys, issuerCa.caKeyPem], texts)).toEqual(noKeyLeaks(texts));
    process.stdout.write(
      `certManager through the operator: CertManagerMissing reported; ZooKeeper Available ` +
        `${((zkAt - crdsAt) / 1000).toFixed(1)} s after cert-manager started, Kafka ` +
        `${((kafkaAt - zkAt) / 1000).toFixed(1)} s after it was made; whole test ` +
        `${((Date.now() - t0) / 1000).toFixed(1)} s; client: ${output.trim()}\n`,
    );
  });
});
