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
 * - keelson's CA of the quorum's class rotates with its overlap (the test puts the successor in the
 *   CA Secret, the state the operator writes when the CA has the overlap left, and later moves its
 *   publication back by half the overlap, rather than wait a year and 84 h): the successor is
 *   published beside the old CA; a minute after its bundle appeared the operator restarts the three
 *   servers, which read their quorum trust only at start, one eviction at a time within the budget
 *   and with no resync to prompt it (the operator runs with `--resync 0`); each new server trusts
 *   both CAs and still gets the old CA's certificate; once the successor signs, a server restarted
 *   gets the new CA's certificate and its peers take it back into the quorum;
 * - turning TLS off (`enabled: false`) while the ensemble is stopped brings it back in plaintext
 *   (a running ensemble cannot roll between TLS and plaintext one server at a time);
 * - turning it back on with each use moved to the other class, also while stopped, brings the
 *   quorum up on the user's CA and the client port on keelson's (a client trusting only the user's
 *   CA is refused there now).
 * A class named for this test (not the default `tls`) keeps other suites on the shared control
 * plane in plaintext. Failures print the servers' and the operator's logs.
 */
import { PRODUCTS } from '../../apps/keelson';
import { zookeeperDistDir } from '../../constructs/zookeeper';
import { zookeeperImageRecipe } from '../../constructs/zookeeper/image';
import { X509Certificate } from 'node:crypto';
import { tlsSignerName, TLS_CLASS_LABEL } from '../../lib';
import { NEXT_CA_PUBLISHED_ANNOTATION, splitPem } from '../../lib/operator/ca-rotation';
import { KubeClient } from '../../lib/operator/client';
import { caSecretName } from '../../lib/operator/signer';
import { createCertificateAuthority } from '../../lib/tls/certificates';
import type * as k8s from '@kubernetes/client-node';
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
  classCas,
  execInPod,
  isReady,
  podsLogs,
  realNode,
  rollWatch,
  runClientPod,
  tlsZookeeperCluster,
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
      // No periodic resync: whatever the operator does here, an event made it do.
      args: ['--resync', '0'],
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

  /**
   * Runs `script` in a ZooKeeper-image pod. At /trust/ca.crt, `user` gives it the user's CA
   * certificate; `keelson` the CAs of keelson's class, as a pod mounts them (its ClusterTrustBundle).
   */
  const clientRun = (name: string, script: string, trust: 'user' | 'keelson' | 'system') =>
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
            : trust === 'keelson'
              ? [{ volume: trustOf(className), mountPath: '/trust' }]
              : [],
      },
      logs,
    );
  /** A projected volume of `tlsClass`'s CAs at `ca.crt`. */
  const trustOf = (tlsClass: string) => ({
    name: 'trust',
    projected: {
      sources: [
        {
          clusterTrustBundle: {
            signerName: tlsSignerName(tlsClass),
            labelSelector: { matchLabels: { [TLS_CLASS_LABEL]: tlsClass } },
            path: 'ca.crt',
          },
        },
      ],
    },
  });

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
      body: tlsZookeeperCluster({
        name: 'zk',
        version: VERSION,
        replicas: 3,
        serverTlsClass: userClassName,
        internalTlsClass: className,
      }),
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
    expect((await classCas(userClassName)).map((ca) => ca.fingerprint256)).toEqual([corp.fingerprint256]);

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

  it("rotates keelson's CA of the quorum's class with its overlap: the servers restart to trust the successor while the old CA signs, then a server of the new CA's certificate rejoins", async () => {
    // The successor, in the class's CA Secret as the operator puts it there when the CA has the
    // overlap left (a year away by default): the test writes that state rather than wait for it.
    const secretPath = `/api/v1/namespaces/${operatorNamespace}/secrets/${caSecretName(className)}`;
    const readSecret = async () => {
      const secret = await client.request<KubeObject>('get', 'GET', secretPath, 'secrets');
      const data = Object.fromEntries(
        Object.entries((secret as unknown as { data: Record<string, string> }).data).map(([k, v]) => [
          k,
          Buffer.from(v, 'base64').toString(),
        ]),
      );
      return { data, annotations: secret.metadata.annotations ?? {} };
    };
    const before = await readSecret();
    expect(Object.keys(before.data).sort()).toEqual(['ca.crt', 'ca.key']);
    const oldCa = new X509Certificate(before.data['ca.crt']);
    const successor = await createCertificateAuthority({
      commonName: `keelson ${className} successor`,
      lifetimeSeconds: 8760 * 3600,
    });
    const nextCa = new X509Certificate(successor.certificatePem);
    const b64 = (text: string) => Buffer.from(text).toString('base64');
    const patchSecret = (body: object) =>
      client.request('patch', 'PATCH', secretPath, 'secrets', {
        body,
        contentType: 'application/merge-patch+json',
      });
    await patchSecret({
      metadata: { annotations: { [NEXT_CA_PUBLISHED_ANNOTATION]: new Date().toISOString() } },
      data: { 'next.crt': b64(successor.certificatePem), 'next.key': b64(successor.privateKeyPem) },
    });
    // The signer looks at the class when one of its bundles changes: it publishes the successor.
    const bundlesPath = '/apis/certificates.k8s.io/v1beta1/clustertrustbundles';
    const bundlesOfClass = async () =>
      (
        await client.request<{ items: KubeObject[] }>('list', 'GET', bundlesPath, 'clustertrustbundles', {
          query: { labelSelector: `${TLS_CLASS_LABEL}=${className}` },
        })
      ).items;
    const [first] = await bundlesOfClass();
    await client.request('patch', 'PATCH', `${bundlesPath}/${first.metadata.name}`, 'clustertrustbundles', {
      body: { metadata: { annotations: { 'keelson.dev/test': 'look' } } },
      contentType: 'application/merge-patch+json',
    });
    const fingerprintOf = (b: KubeObject) =>
      new X509Certificate((b.spec as { trustBundle: string }).trustBundle).fingerprint256;
    let published: KubeObject | undefined;
    await waitFor('the successor to be published', async () => {
      published = (await bundlesOfClass()).find((b) => fingerprintOf(b) === nextCa.fingerprint256);
      return published !== undefined;
    });
    const publishedAt = Date.parse(String(published!.metadata.creationTimestamp));
    expect((await bundlesOfClass()).map(fingerprintOf).sort()).toEqual(
      [oldCa.fingerprint256, nextCa.fingerprint256].sort(),
    );

    // ZooKeeper's quorum reads its trust only at start: the operator restarts each server, a
    // minute after the bundle appeared, one at a time within the budget, without a resync.
    const serverPods = async () =>
      (await core.listNamespacedPod({ namespace, labelSelector: 'app.kubernetes.io/instance=zk' })).items;
    const uids = new Map((await serverPods()).map((p) => [p.metadata!.name!, p.metadata!.uid!]));
    expect([...uids.keys()].sort()).toEqual(SERVERS);
    const watch = rollWatch(SERVERS, uids);
    let worst = 0;
    let replaced: string[] = [];
    try {
      await waitFor(
        'every server to be restarted for the new CA and Ready',
        async () => {
          const pods = await serverPods();
          worst = Math.max(worst, watch(pods));
          replaced = pods
            .filter((p) => p.metadata!.uid !== uids.get(p.metadata!.name!) && isReady(p))
            .map((p) => p.metadata!.name!);
          return replaced.length === SERVERS.length && pods.every((p) => !p.metadata!.deletionTimestamp);
        },
        10 * 60_000,
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}; replaced: ${replaced}\n${await logs()}`);
    }
    const rolled = Date.now();
    expect(worst).toBe(1);
    const restarts = (await core.listNamespacedEvent({ namespace })).items.filter(
      (e) => e.reason === 'CertificateRestart' && e.involvedObject.kind === 'ZookeeperCluster',
    );
    expect(restarts.map((e) => e.message).filter((m) => /new trust bundle/.test(m ?? ''))).toHaveLength(3);
    const firstEviction = Math.min(
      ...restarts.map((e) => Date.parse(String(e.firstTimestamp ?? e.eventTime))),
    );

    // The window: each new server trusts both CAs, and its certificates still come from the old CA.
    const requestsOf = async (signer: string) =>
      (
        await client.request<{
          items: { spec: { podUID: string; signerName: string }; status?: { certificateChain?: string } }[];
        }>(
          'list',
          'GET',
          `/apis/certificates.k8s.io/v1beta1/namespaces/${namespace}/podcertificaterequests`,
          'podcertificaterequests',
        )
      ).items.filter((r) => r.spec.signerName === signer && r.status?.certificateChain);
    const leafOf = async (pod: k8s.V1Pod) =>
      (await requestsOf(tlsSignerName(className)))
        .filter((r) => r.spec.podUID === pod.metadata!.uid)
        .map((r) => new X509Certificate(r.status!.certificateChain!));
    for (const pod of await serverPods()) {
      const trusted = splitPem(
        await execInPod(namespace, pod.metadata!.name!, 'cat /keelson/tls/internal/ca.crt'),
      );
      const leaves = await leafOf(pod);
      expect({
        pod: pod.metadata!.name,
        trusted: trusted.map((c) => new X509Certificate(c).fingerprint256).sort(),
        byOldCa: leaves.map((l) => l.checkIssued(oldCa) && l.verify(oldCa.publicKey)),
      }).toEqual({
        pod: pod.metadata!.name,
        trusted: [oldCa.fingerprint256, nextCa.fingerprint256].sort(),
        byOldCa: [true],
      });
    }

    // Half the overlap later (the test moves the publication back rather than wait 84 h) the
    // successor signs: a server restarted now gets the new CA's certificate, and its peers, which
    // trust both since their restart, take it back into the quorum.
    await patchSecret({
      metadata: {
        annotations: {
          [NEXT_CA_PUBLISHED_ANNOTATION]: new Date(Date.now() - (84 * 60 + 1) * 60_000).toISOString(),
        },
      },
    });
    const again = 'zk-servers-default-0';
    const oldUid = (await core.readNamespacedPod({ namespace, name: again })).metadata!.uid;
    await core.deleteNamespacedPod({ namespace, name: again });
    await waitAvailable('the ZookeeperCluster to be Available with a server of the new CA', () => true);
    try {
      await waitFor(
        `${again} to be back in the quorum`,
        async () => {
          const pod = await core.readNamespacedPod({ namespace, name: again }).catch(() => undefined);
          return pod !== undefined && pod.metadata!.uid !== oldUid && isReady(pod);
        },
        10 * 60_000,
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${await logs()}`);
    }
    const switched = await readSecret();
    expect(switched.data['ca.crt']).toBe(successor.certificatePem);
    expect(
      splitPem(switched.data['previous.crt'] ?? '').map((c) => new X509Certificate(c).fingerprint256),
    ).toEqual([oldCa.fingerprint256]);
    const leaves = await leafOf(await core.readNamespacedPod({ namespace, name: again }));
    expect(
      leaves.map((l) => [l.checkIssued(nextCa) && l.verify(nextCa.publicKey), l.verify(oldCa.publicKey)]),
    ).toEqual([[true, false]]);
    // Ready means `srvr` reports a Mode: it is in the quorum. The ensemble, as a client sees it:
    const modes = (
      await clientRun(
        'after-rotation',
        hosts()
          .map(
            (h) =>
              `for i in $(seq 40); do mode=$(echo srvr | timeout 10 openssl s_client -quiet -connect ${h}:2181 ` +
              `-CAfile /trust/ca.crt -verify_return_error -verify_hostname ${h} 2>/dev/null | grep '^Mode:' || true); ` +
              `[ -n "$mode" ] && break; sleep 2; done; echo "srvr $mode"`,
          )
          .join('\n'),
        'user',
      )
    )
      .split('\n')
      .filter((l) => l.startsWith('srvr '))
      .map((l) => l.replace('srvr Mode: ', ''))
      .sort();
    expect(modes).toEqual(['follower', 'follower', 'leader']);
    process.stdout.write(
      `TLS through the operator: CA rotation — first restart for the new CA ${((firstEviction - publishedAt) / 1000).toFixed(0)} s ` +
        `after its bundle appeared, three servers restarted ${((rolled - publishedAt) / 1000).toFixed(0)} s after it, ` +
        `at most ${worst} away; a server of the new CA back in the quorum ${((Date.now() - rolled) / 1000).toFixed(0)} s later\n`,
    );
  });

  const patch = (spec: object) =>
    client.request('patch', 'PATCH', zkPath('zk'), 'zookeeperclusters', {
      body: { spec },
      contentType: 'application/merge-patch+json',
    });
  /**
   * Changes the ensemble's TLS the way the quorum rule asks: stop, change while stopped, start;
   * resolves once it is Available again on the new spec.
   */
  async function switchWhileStopped(tls: object, what: string): Promise<void> {
    await patch({ clusterOperation: { stopped: true } });
    const stopped = (await client.request<KubeObject>('get', 'GET', zkPath('zk'), 'zookeeperclusters'))
      .metadata.generation!;
    await waitFor('the servers to be gone', async () => {
      const pods = await core.listNamespacedPod({
        namespace,
        labelSelector: 'app.kubernetes.io/instance=zk',
      });
      return pods.items.length === 0;
    });
    const switched = Date.now();
    await patch({ clusterOperation: { stopped: false }, clusterConfig: { tls } });
    await waitAvailable(
      `the ZookeeperCluster to be Available again ${what}`,
      (zk) => (zk.status as { observedGeneration?: number }).observedGeneration! > stopped,
    );
    process.stdout.write(
      `TLS through the operator: started ${what}, Available ${((Date.now() - switched) / 1000).toFixed(0)} s later\n`,
    );
  }

  it('turns TLS off the way the quorum rule asks (stop, change, start): the servers come back in plaintext', async () => {
    // A quorum cannot roll from TLS to plaintext one server at a time: the first server rolled
    // speaks plaintext to peers that speak TLS and never rejoins (seen on this node). So, like a
    // membership change, the switch is made while the ensemble is stopped.
    await switchWhileStopped({ enabled: false }, 'in plaintext');
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

  it("turns TLS back on, each use moved to the other class, while stopped: the quorum over the user's CA, clients served with keelson's", async () => {
    // Off again (`enabled` removed: on wherever the classes exist), and a class change for both uses.
    const started = Date.now();
    await switchWhileStopped(
      { enabled: null, serverTlsClass: className, internalTlsClass: userClassName },
      'with TLS on, the classes swapped',
    );
    // The new servers' certificates: the quorum's from the user's CA, the client port's from
    // keelson's class (its CA, which the class's ClusterTrustBundle publishes).
    const pods = (await core.listNamespacedPod({ namespace, labelSelector: 'app.kubernetes.io/instance=zk' }))
      .items;
    const uids = new Map(pods.map((p) => [p.metadata!.name!, p.metadata!.uid!]));
    expect([...uids.keys()].sort()).toEqual(SERVERS);
    const requests = await client.request<{
      items: {
        spec: { podName: string; podUID: string; signerName: string };
        status?: { certificateChain?: string };
      }[];
    }>(
      'list',
      'GET',
      `/apis/certificates.k8s.io/v1beta1/namespaces/${namespace}/podcertificaterequests`,
      'podcertificaterequests',
    );
    const keelsonCas = await classCas(className);
    const corp = new X509Certificate(userCa.caPem);
    const by = (leaf: X509Certificate, cas: X509Certificate[]) =>
      cas.some((ca) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey));
    for (const pod of SERVERS) {
      const issued = requests.items
        .filter((r) => r.spec.podUID === uids.get(pod) && r.status?.certificateChain)
        .map((r) => ({ signer: r.spec.signerName, leaf: new X509Certificate(r.status!.certificateChain!) }));
      expect({
        pod,
        internal: issued
          .filter((i) => i.signer === tlsSignerName(userClassName))
          .map((i) => by(i.leaf, [corp])),
        server: issued
          .filter((i) => i.signer === tlsSignerName(className))
          .map((i) => by(i.leaf, keelsonCas)),
      }).toEqual({ pod, internal: [true], server: [true] });
    }

    // A client trusting keelson's class (as a pod mounts it) checks each server's certificate and
    // name and asks `srvr`: the quorum formed over the user's CA; one trusting only the user's CA
    // is now refused on the client port.
    const srvr = (prefix: string) =>
      hosts()
        .map(
          (h) =>
            `for i in $(seq 40); do mode=$(echo srvr | timeout 10 openssl s_client -quiet -connect ${h}:2181 ` +
            `-CAfile /trust/ca.crt -verify_return_error -verify_hostname ${h} 2>/tmp/s_client.err | grep '^Mode:' || true); ` +
            `[ -n "$mode" ] && break; sleep 2; done; echo "${prefix} $mode"; [ -n "$mode" ] || tail -3 /tmp/s_client.err`,
        )
        .join('\n');
    const output = await clientRun('keelson-trusting', srvr('srvr'), 'keelson');
    const modes = output
      .split('\n')
      .filter((l) => l.startsWith('srvr '))
      .map((l) => l.replace('srvr Mode: ', ''))
      .sort();
    if (modes.join() !== 'follower,follower,leader')
      throw new Error(`modes over TLS after the class change: ${modes}\n${output}\n${await logs()}`);
    const refused = await clientRun(
      'user-trusting',
      `echo srvr | timeout 10 openssl s_client -quiet -connect ${hosts()[0]}:2181 -CAfile /trust/ca.crt ` +
        '-verify_return_error > /tmp/out 2> /tmp/err; echo "exit=$? modes=$(grep -c ^Mode: /tmp/out)"; ' +
        "grep -o 'verify error:num=[0-9]*' /tmp/err | head -1",
      'user',
    );
    expect(refused).toMatch(/exit=[1-9]\d* modes=0\nverify error:num=(20|21)/);
    process.stdout.write(
      `TLS through the operator: TLS back on with the classes swapped, checked ${((Date.now() - started) / 1000).toFixed(0)} s after the stop\n`,
    );
  });
});
