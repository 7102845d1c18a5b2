/**
 * TLS end to end through the operator on the real node, with both kinds of TlsClass: the quorum
 * (internal TLS) from a class with keelson's own CA, the client port (server TLS) from a `secretCa`
 * class whose CA the user made with openssl and keeps in a Secret of their own namespace (the
 * operator may read it through the Role `keelson deploy --ca-secret` writes). A ZookeeperCluster
 * names both, and keelson's operator (its own ServiceAccount and RBAC) reconciles the stacklet and
 * signs each pod's certificates. Proven:
 * - the three servers start with certificates the operator signed (the kubelet's PodCertificate
 *   requests, two per pod), their client certificates chaining to the user's ca.crt, and form
 *   their quorum over TLS; the stacklet reports Available;
 * - the secretCa class's ClusterTrustBundle holds the user's CA certificate;
 * - a client that trusts only the user's CA certificate checks each server's certificate and name
 *   and asks `srvr`: one leader, two followers; it writes a znode through the client Service's
 *   name and reads it back;
 * - a client trusting another CA fails the handshake;
 * - turning TLS off (`enabled: false`) while the ensemble is stopped brings it back in plaintext
 *   (a running ensemble cannot roll between TLS and plaintext one server at a time).
 * A class named for this test (not the default `tls`) keeps other suites on the shared control
 * plane in plaintext. Failures print the servers' and the operator's logs.
 */
import { PRODUCTS } from '../../apps/keelson';
import { zookeeperDistDir } from '../../constructs/zookeeper';
import { zookeeperImageRecipe } from '../../constructs/zookeeper/image';
import { X509Certificate } from 'node:crypto';
import { tlsSignerName } from '../../lib';
import { KubeClient } from '../../lib/operator/client';
import type { KubeObject } from '../../lib/operator/informer';
import { createTestNamespace } from '../controlplane/cluster';
import { installCrds, RESTRICTED } from './admission';
import {
  KEELSON_BIN,
  operatorIdentity,
  removeOperatorIdentity,
  startOperator,
  tail,
  type OperatorProcess,
} from './operator-support';
import {
  buildImageOnRealNode,
  podsLogs,
  realNode,
  REAL_NODE_PLACEMENT,
  runClientPod,
} from './real-node-support';
import { adminClients, adminKubeConfig, uniqueName, waitFor } from './support';
import { TestPki } from './test-pki';

jest.setTimeout(30 * 60_000);

const VERSION = '3.9.4';
const ZK = '/apis/keelson.dev/v1alpha1';
const SERVERS = [0, 1, 2].map((i) => `zk-servers-default-${i}`);

type Condition = { type: string; status: string; reason: string; message: string };

describe('TLS through the operator on the real node', () => {
  const kc = adminKubeConfig();
  const { core } = adminClients();
  const client = new KubeClient(kc);
  const className = uniqueName('zk-tls');
  /** The class of the client port: the user's own CA, in a Secret of their namespace. */
  const userClassName = uniqueName('zk-byo');
  const userCa = new TestPki('Corp Root CA');
  let operatorNamespace = '';
  let namespace = '';
  let caNamespace = '';
  let operator: OperatorProcess | undefined;

  beforeAll(async () => {
    await realNode();
    await installCrds(PRODUCTS, kc);
    operatorNamespace = await createTestNamespace(kc, uniqueName('tls-op'));
    namespace = await createTestNamespace(kc, uniqueName('tls-e2e'), RESTRICTED);
    caNamespace = await createTestNamespace(kc, uniqueName('tls-ca'));
    await core.createNamespacedSecret({
      namespace: caNamespace,
      body: {
        metadata: { name: 'corp-ca' },
        stringData: { 'ca.crt': userCa.caPem, 'ca.key': userCa.caKeyPem },
      },
    });
    // What a client is given: the user's CA certificate, nothing of keelson's.
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'corp-ca' }, data: { 'ca.crt': userCa.caPem } },
    });
    const kubeconfig = await operatorIdentity(
      operatorNamespace,
      kc,
      PRODUCTS,
      [namespace],
      [{ namespace: caNamespace, name: 'corp-ca' }],
    );
    operator = await startOperator({
      namespaces: [namespace],
      kubeconfig,
      entry: KEELSON_BIN,
      env: { POD_NAMESPACE: operatorNamespace },
    });
  });

  afterAll(async () => {
    await operator?.stop();
    for (const name of [className, userClassName])
      await client
        .request('delete', 'DELETE', `${ZK}/tlsclasses/${name}`, 'tlsclasses')
        .catch(() => undefined);
    userCa.remove();
    if (operatorNamespace) await removeOperatorIdentity(operatorNamespace, kc);
    for (const name of [namespace, operatorNamespace, caNamespace].filter(Boolean))
      await core.deleteNamespace({ name }).catch(() => undefined);
  });

  const zkPath = (name = '') => `${ZK}/namespaces/${namespace}/zookeeperclusters${name ? `/${name}` : ''}`;
  const logs = async () =>
    `${await podsLogs(namespace, SERVERS)}\n--- operator\n${operator ? tail(operator.logFile, 60) : ''}`;

  async function waitAvailable(what: string, done: (zk: KubeObject) => boolean): Promise<void> {
    try {
      await waitFor(
        what,
        async () => {
          const zk = await client.request<KubeObject>('get', 'GET', zkPath('zk'), 'zookeeperclusters');
          const conditions = (zk.status as { conditions?: Condition[] } | undefined)?.conditions ?? [];
          const available = conditions.find((c) => c.type === 'Available');
          return available?.status === 'True' && done(zk);
        },
        15 * 60_000,
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${await logs()}`);
    }
  }

  /** Runs `script` in a ZooKeeper-image pod; `user` gives it the user's CA certificate at /trust/ca.crt. */
  const clientRun = (name: string, script: string, trust: 'user' | 'system') =>
    runClientPod(
      namespace,
      {
        name,
        image: zookeeperImageRecipe(VERSION).reference,
        command: ['/bin/bash', '-c', script],
        memory: '384Mi',
        volumes:
          trust === 'user'
            ? [{ volume: { name: 'trust', configMap: { name: 'corp-ca' } }, mountPath: '/trust' }]
            : [],
      },
      logs,
    );

  const hosts = () =>
    SERVERS.map((pod) => `${pod}.zk-servers-default-headless.${namespace}.svc.cluster.local`);
  const service = () => `zk-servers.${namespace}.svc.cluster.local`;
  const cli = (trustFile: string) =>
    `timeout 60 java -Xmx96m -Dzookeeper.client.secure=true ` +
    '-Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty ' +
    `-Dzookeeper.ssl.trustStore.location=${trustFile} -Dzookeeper.ssl.trustStore.type=PEM ` +
    `-cp '${zookeeperDistDir(VERSION)}/lib/*:/conf' org.apache.zookeeper.ZooKeeperMain`;

  it("signs every server's certificates (the client port's from the user's CA), forms the quorum over TLS and serves only clients that trust the user's CA", async () => {
    const started = Date.now();
    await buildImageOnRealNode(zookeeperImageRecipe(VERSION));
    await client.request('create', 'POST', `${ZK}/tlsclasses`, 'tlsclasses', {
      body: {
        apiVersion: 'keelson.dev/v1alpha1',
        kind: 'TlsClass',
        metadata: { name: className },
        spec: { keelsonCa: { certificateLifetime: '1h' } },
      },
    });
    await client.request('create', 'POST', `${ZK}/tlsclasses`, 'tlsclasses', {
      body: {
        apiVersion: 'keelson.dev/v1alpha1',
        kind: 'TlsClass',
        metadata: { name: userClassName },
        spec: {
          secretCa: { secretName: 'corp-ca', secretNamespace: caNamespace, certificateLifetime: '1h' },
        },
      },
    });
    await client.request('create', 'POST', zkPath(), 'zookeeperclusters', {
      body: {
        apiVersion: 'keelson.dev/v1alpha1',
        kind: 'ZookeeperCluster',
        metadata: { name: 'zk' },
        spec: {
          image: { productVersion: VERSION, pullPolicy: 'Never' },
          clusterConfig: { tls: { serverTlsClass: userClassName, internalTlsClass: className } },
          servers: {
            config: { resources: { memory: { limit: '512Mi' }, cpu: { min: '100m', max: '1' } } },
            podOverrides: { spec: REAL_NODE_PLACEMENT },
            roleGroups: { default: { replicas: 3 } },
          },
        },
      },
    });
    const applied = Date.now();
    await waitAvailable('the ZookeeperCluster to be Available over TLS', () => true);
    process.stdout.write(
      `TLS through the operator: three servers Available ${((Date.now() - applied) / 1000).toFixed(0)} s after ` +
        `the stacklet was created (image ${((applied - started) / 1000).toFixed(0)} s)\n`,
    );

    // Each server's certificates came from PodCertificateRequests the operator issued: the client
    // port's from the user's CA.
    const requests = await client.request<{
      items: { spec: { podName: string; signerName: string }; status?: { certificateChain?: string } }[];
    }>(
      'list',
      'GET',
      `/apis/certificates.k8s.io/v1beta1/namespaces/${namespace}/podcertificaterequests`,
      'podcertificaterequests',
    );
    const corp = new X509Certificate(userCa.caPem);
    for (const pod of SERVERS) {
      const issued = (signer: string) =>
        requests.items.filter(
          (r) => r.spec.podName === pod && r.spec.signerName === signer && r.status?.certificateChain,
        );
      expect({ pod, issued: issued(tlsSignerName(className)).length > 0 }).toEqual({ pod, issued: true });
      const server = issued(tlsSignerName(userClassName));
      expect({ pod, issued: server.length > 0 }).toEqual({ pod, issued: true });
      for (const r of server) {
        const leaf = new X509Certificate(r.status!.certificateChain!);
        expect({ pod, byUserCa: leaf.checkIssued(corp) && leaf.verify(corp.publicKey) }).toEqual({
          pod,
          byUserCa: true,
        });
      }
    }
    // The secretCa class's trust bundle is the user's CA certificate.
    const bundles = await client.request<{ items: { spec: { trustBundle: string } }[] }>(
      'list',
      'GET',
      '/apis/certificates.k8s.io/v1beta1/clustertrustbundles',
      'clustertrustbundles',
      { query: { labelSelector: `keelson.dev/tls-class=${userClassName}` } },
    );
    expect(bundles.items.map((b) => new X509Certificate(b.spec.trustBundle).fingerprint256)).toEqual([
      corp.fingerprint256,
    ]);

    const tlsWord = (host: string, word: string) =>
      `echo ${word} | timeout 10 openssl s_client -quiet -connect ${host}:2181 -CAfile /trust/ca.crt ` +
      `-verify_return_error -verify_hostname ${host} 2>/tmp/s_client.err`;
    const script = [
      'set -u',
      ...hosts().map(
        (h) =>
          `for i in $(seq 40); do mode=$(${tlsWord(h, 'srvr')} | grep '^Mode:' || true); ` +
          `[ -n "$mode" ] && break; sleep 2; done; echo "srvr $mode"; [ -n "$mode" ] || tail -5 /tmp/s_client.err`,
      ),
      `${cli('/trust/ca.crt')} -server ${service()}:2181 create /keelson-e2e signed-by-the-operator 2>&1 | grep -v -E ' (INFO|DEBUG) ' || true`,
      `echo "read: $(${cli('/trust/ca.crt')} -server ${service()}:2181 get /keelson-e2e 2>/dev/null | grep signed-by-the-operator || true)"`,
    ].join('\n');
    const output = await clientRun('trusting', script, 'user');
    const lines = output.split('\n');
    const modes = lines
      .filter((l) => l.startsWith('srvr '))
      .map((l) => l.replace('srvr Mode: ', ''))
      .sort();
    if (modes.join() !== 'follower,follower,leader')
      throw new Error(`modes over TLS: ${modes}\n--- client\n${output}\n${await logs()}`);
    if (!lines.includes('read: signed-by-the-operator'))
      throw new Error(`the znode was not read back over TLS\n--- client\n${output}\n${await logs()}`);

    const stranger = await clientRun(
      'stranger',
      // A CA of its own, which signed nothing the servers present.
      'openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /tmp/other.key ' +
        '-out /tmp/other.crt -subj /CN=other -days 1 2>/dev/null; ' +
        `${cli('/tmp/other.crt')} -server ${service()}:2181 get /keelson-e2e > /tmp/out.log 2>&1 || true; ` +
        `echo "stranger: read=$(grep -c signed-by-the-operator /tmp/out.log) ` +
        `handshake=$(grep -c -E 'SSLHandshakeException|PKIX path building failed|unable to find valid certification path' /tmp/out.log)"`,
      'system',
    );
    expect(stranger).toMatch(/stranger: read=0 handshake=[1-9]/);
  });

  it('turns TLS off the way the quorum rule asks (stop, change, start): the servers come back in plaintext', async () => {
    // A quorum cannot roll from TLS to plaintext one server at a time: the first server rolled
    // speaks plaintext to peers that speak TLS and never rejoins (seen on this node). So, like a
    // membership change, the switch is made while the ensemble is stopped.
    const patch = (spec: object) =>
      client.request('patch', 'PATCH', zkPath('zk'), 'zookeeperclusters', {
        body: { spec },
        contentType: 'application/merge-patch+json',
      });
    const generation = async () =>
      (await client.request<KubeObject>('get', 'GET', zkPath('zk'), 'zookeeperclusters')).metadata
        .generation!;
    await patch({ clusterOperation: { stopped: true } });
    const stopped = await generation();
    await waitFor('the servers to be gone', async () => {
      const pods = await core.listNamespacedPod({
        namespace,
        labelSelector: 'app.kubernetes.io/instance=zk',
      });
      return pods.items.length === 0;
    });
    await patch({ clusterOperation: { stopped: false }, clusterConfig: { tls: { enabled: false } } });
    await waitAvailable(
      'the ZookeeperCluster to be Available again in plaintext',
      (zk) => (zk.status as { observedGeneration?: number }).observedGeneration! > stopped,
    );
    const output = await clientRun(
      'plaintext',
      hosts()
        .map(
          (h) =>
            `for i in $(seq 60); do mode=$(echo srvr | timeout 10 nc -w 5 ${h} 2181 | grep '^Mode:' || true); ` +
            `[ -n "$mode" ] && break; sleep 3; done; echo "plain $mode"`,
        )
        .join('\n'),
      'system',
    );
    const modes = output
      .split('\n')
      .filter((l) => l.startsWith('plain '))
      .map((l) => l.replace('plain Mode: ', ''))
      .sort();
    if (modes.join() !== 'follower,follower,leader')
      throw new Error(`modes in plaintext after TLS was turned off: ${modes}\n${output}\n${await logs()}`);
  });
});
