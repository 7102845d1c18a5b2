/**
 * ZooKeeper with TLS on the real node: keelson's manifests with a TlsClass, keelson's build of
 * `docker.io/library/zookeeper:3.9.4`, in a namespace enforcing the restricted Pod Security profile.
 * The certificates are the test's own (test-pki.ts, openssl: a server CA, an internal CA, one leaf per pod and
 * use with the pod's DNS names), delivered in Secrets at the paths of keelson's mount contract
 * (`/keelson/tls/server`, `/keelson/tls/internal`) by replacing the projected volumes through
 * podOverrides: the product side is proven here, the operator's signer elsewhere. Each server is a
 * role group of one pod, so each pod gets certificates of its own. Proven:
 * - three servers form a quorum over TLS and become Ready by keelson's probe (srvr over TLS): one
 *   leader, two followers, asked by a client that verifies each server's certificate and name
 *   against the server CA;
 * - the election port (3888) speaks TLS with a certificate of the internal CA for the pod's name
 *   (and not one of the server CA);
 * - a ZooKeeper client trusting the server CA writes a znode through one server and reads it
 *   through another; the same client trusting another CA (the internal one) is refused;
 * - nothing answers plaintext on 2181;
 * - a server whose certificate files are replaced (a leaf of another CA, as the kubelet rewrites a
 *   renewed pod certificate) serves the new certificate to new client connections without a
 *   restart (same container, no restart), and no longer the old one.
 * Each failure prints the servers' logs.
 */
import type * as k8s from '@kubernetes/client-node';
import { Chart, Testing } from 'cdk8s';
import { ZookeeperCluster, zookeeperDistDir } from '../../constructs/zookeeper';
import { zookeeperImageRecipe } from '../../constructs/zookeeper/image';
import { tlsVolumeName } from '../../lib';
import { KubeClient } from '../../lib/operator/client';
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
import { fileSecret, podDnsNames, TestPki } from './test-pki';

jest.setTimeout(30 * 60_000);

const VERSION = '3.9.4';
const GROUPS = ['a', 'b', 'c'];
const SERVERS = GROUPS.map((g) => `zk-servers-${g}-0`);

describe('ZooKeeper with TLS on the real node', () => {
  const ns = useTestNamespace('zk-tls', RESTRICTED);
  const client = new KubeClient(adminKubeConfig());
  const { core } = adminClients();
  const serverCa = new TestPki('keelson test server CA');
  const internalCa = new TestPki('keelson test internal CA');
  // The CA of the renewed server certificate (second test).
  const nextServerCa = new TestPki('keelson test next server CA');
  afterAll(() => {
    serverCa.remove();
    internalCa.remove();
    nextServerCa.remove();
  });
  /** The servers' DNS names, by role group; set by the first test. */
  const hostOf: Record<string, string> = {};
  const logs = () => podsLogs(ns.name, SERVERS);

  /** The names the operator's signer gives a server of role group `group`. */
  const dnsNames = (group: string) =>
    podDnsNames(`zk-servers-${group}-0`, `zk-servers-${group}-headless`, ns.name, ['zk-servers']);

  const trust = '/trust';
  const trustVolume = {
    volume: { name: 'trust', secret: { secretName: 'zk-client-trust' } },
    mountPath: trust,
  };
  /** zkCli (ZooKeeperMain) from the image, over TLS, trusting the CA file `ca` of the trust Secret. */
  const cli = (ca: string) =>
    `timeout 60 java -Xmx96m -Dzookeeper.client.secure=true ` +
    '-Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty ' +
    `-Dzookeeper.ssl.trustStore.location=${trust}/${ca} -Dzookeeper.ssl.trustStore.type=PEM ` +
    `-cp '${zookeeperDistDir(VERSION)}/lib/*:/conf' org.apache.zookeeper.ZooKeeperMain`;
  /** A four-letter word over TLS, checking the server's certificate against `ca` and its name. */
  const tlsWord = (host: string, port: number, ca: string, word: string) =>
    `echo ${word} | timeout 10 openssl s_client -quiet -connect ${host}:${port} -CAfile ${trust}/${ca} ` +
    `-verify_return_error -verify_hostname ${host} 2>/tmp/s_client.err`;

  it('forms its quorum over TLS, serves a client that trusts its CA, refuses one that does not, nothing plaintext, and renewed certificates without a restart', async () => {
    await realNode();
    const started = Date.now();
    await buildImageOnRealNode(zookeeperImageRecipe(VERSION));
    const imported = Date.now();

    const chart = new Chart(Testing.app(), 'platform', { namespace: ns.name });
    const tlsVolumes = (group: string) =>
      (['server', 'internal'] as const).map((use) => ({
        name: tlsVolumeName(use),
        secret: { secretName: `zk-${group}-${use}` },
      }));
    const zk = new ZookeeperCluster(
      chart,
      'zk',
      {
        image: { productVersion: VERSION, pullPolicy: 'Never' },
        servers: {
          // Small heaps: three servers and a client share the 2-core test machine.
          config: { resources: { memory: { limit: '512Mi' }, cpu: { min: '100m', max: '1' } } },
          podOverrides: { spec: REAL_NODE_PLACEMENT },
          roleGroups: Object.fromEntries(
            GROUPS.map((g) => [g, { replicas: 1, podOverrides: { spec: { volumes: tlsVolumes(g) } } }]),
          ),
        },
      },
      // The class exists as far as the build is concerned; its certificates are the test's (above).
      { tlsClasses: [{ name: 'tls' }] },
    );
    const hosts = zk.hosts.split(',').map((h) => h.split(':')[0]);
    const secrets: k8s.V1Secret[] = [];
    for (const group of GROUPS) {
      const pod = `zk-servers-${group}-0`;
      const names = dnsNames(group);
      expect(hosts).toContain(names[0]);
      hostOf[group] = names[0];
      secrets.push(fileSecret(`zk-${group}-server`, serverCa.issue(`${pod}-server`, names)));
      secrets.push(fileSecret(`zk-${group}-internal`, internalCa.issue(`${pod}-internal`, names)));
    }
    secrets.push(
      fileSecret('zk-client-trust', {
        'server-ca.crt': serverCa.caPem,
        'internal-ca.crt': internalCa.caPem,
        'next-server-ca.crt': nextServerCa.caPem,
      }),
    );
    const manifests = Testing.synth(chart) as Manifest[];
    expect(find(manifests, 'ConfigMap', 'zk').data).toMatchObject({ ZOOKEEPER_TLS_CLASS: 'tls' });
    for (const body of secrets) await core.createNamespacedSecret({ namespace: ns.name, body });
    expect(await applyAll(client, manifests, ns.name)).toEqual([]);

    await waitPodsReady(ns.name, SERVERS);
    const ready = Date.now();
    process.stdout.write(
      `zookeeper TLS on the real node: image ${((imported - started) / 1000).toFixed(1)} s (build or cache, import), ` +
        `three servers Ready ${((ready - imported) / 1000).toFixed(1)} s after apply\n`,
    );
    for (const name of SERVERS) {
      const pod = await core.readNamespacedPod({ name, namespace: ns.name });
      const mounts = pod.spec?.containers[0].volumeMounts?.map((m) => m.mountPath) ?? [];
      expect(mounts).toEqual(expect.arrayContaining(['/keelson/tls/server', '/keelson/tls/internal']));
    }

    // A server's DNS record may be published a moment after it is Ready: each gets 80 s.
    const srvr = (host: string) =>
      `for i in $(seq 40); do mode=$(${tlsWord(host, 2181, 'server-ca.crt', 'srvr')} | grep '^Mode:' || true); ` +
      `[ -n "$mode" ] && break; sleep 2; done; echo "srvr $mode"; ` +
      `[ -n "$mode" ] || { echo "srvr ${host} failed:"; tail -5 /tmp/s_client.err; getent hosts ${host}; }`;
    // The election port's certificate, checked against a CA and the pod's name; no client
    // certificate, so the server ends the connection once the client has checked its certificate.
    const quorumCert = (host: string, ca: string) =>
      `echo "quorum ${ca} ${host}: $(timeout 10 openssl s_client -brief -connect ${host}:3888 -CAfile ${trust}/${ca} ` +
      `-verify_return_error -verify_hostname ${host} </dev/null 2>&1 | grep -E -o '^Verification: OK|verify error:num=[0-9]+' | head -1)"`;
    const script = [
      'set -u',
      ...hosts.map(srvr),
      ...hosts.map(
        (h) => `echo "plaintext ${h}: $(echo srvr | timeout 10 nc -w 5 ${h} 2181 | grep -c '^Mode:')"`,
      ),
      ...hosts.map((h) => quorumCert(h, 'internal-ca.crt')),
      ...hosts.map((h) => quorumCert(h, 'server-ca.crt')),
      `${cli('server-ca.crt')} -server ${hosts[0]}:2181 create /keelson-tls written-over-tls 2>&1 | grep -v -E ' (INFO|DEBUG) ' || true`,
      `echo "read: $(${cli('server-ca.crt')} -server ${hosts[1]}:2181 get /keelson-tls 2>/dev/null | grep written-over-tls || true)"`,
      `${cli('internal-ca.crt')} -server ${hosts[2]}:2181 get /keelson-tls > /tmp/wrong-ca.log 2>&1 || true`,
      `echo "wrong CA: read=$(grep -c written-over-tls /tmp/wrong-ca.log) ` +
        `handshake=$(grep -c -E 'SSLHandshakeException|PKIX path building failed' /tmp/wrong-ca.log)"`,
    ].join('\n');
    const output = await runClientPod(
      ns.name,
      {
        name: 'client',
        image: zookeeperImageRecipe(VERSION).reference,
        command: ['/bin/bash', '-c', script],
        memory: '384Mi',
        // The stacklet's NetworkPolicy admits its own pods to the quorum ports: with these labels
        // the client stands where a peer would, so it can check the election port's certificate.
        labels: { 'app.kubernetes.io/name': 'zookeeper', 'app.kubernetes.io/instance': 'zk' },
        volumes: [trustVolume],
      },
      logs,
    );
    const report = async (what: string) => `${what}\n--- client\n${output}\n--- servers\n${await logs()}`;
    const lines = output.split('\n');
    process.stdout.write(
      `zookeeper TLS client:\n${lines.filter((l) => /^(srvr|plaintext|quorum|read|wrong CA)/.test(l)).join('\n')}\n`,
    );
    const modes = lines
      .filter((l) => l.startsWith('srvr '))
      .map((l) => l.replace('srvr Mode: ', ''))
      .sort();
    if (modes.join() !== 'follower,follower,leader')
      throw new Error(await report(`modes over TLS: ${modes}`));
    for (const host of hosts) {
      const expected = [`plaintext ${host}: 0`, `quorum internal-ca.crt ${host}: Verification: OK`];
      const missing = expected.filter((l) => !lines.includes(l));
      if (missing.length > 0) throw new Error(await report(`missing: ${missing.join('; ')}`));
      const serverCaOnQuorum = lines.find((l) => l.startsWith(`quorum server-ca.crt ${host}:`));
      if (!serverCaOnQuorum || serverCaOnQuorum.includes('Verification: OK'))
        throw new Error(
          await report(`the election port's certificate passed the server CA: ${serverCaOnQuorum}`),
        );
    }
    if (!lines.includes('read: written-over-tls'))
      throw new Error(await report('the znode was not read over TLS'));
    const wrong = lines.find((l) => l.startsWith('wrong CA: '));
    if (!wrong || !/read=0 handshake=[1-9]/.test(wrong))
      throw new Error(await report(`a client trusting another CA: ${wrong}`));

    await renewal();
  });

  /** A renewed server certificate reaches new client connections without a restart. */
  async function renewal(): Promise<void> {
    const pod = SERVERS[0];
    const host = hostOf.a;
    expect(host).toBeDefined();
    const containerOf = async () =>
      (await core.readNamespacedPod({ name: pod, namespace: ns.name })).status?.containerStatuses?.[0];
    const before = await containerOf();
    // A certificate from another CA, and both CAs in ca.crt, as during a CA rotation: the kubelet
    // rewrites the Secret's files in place, the way it rewrites a renewed pod certificate.
    const renewed = nextServerCa.issue(`${pod}-server-renewed`, dnsNames('a'));
    renewed['ca.crt'] = serverCa.caPem + nextServerCa.caPem;
    await core.replaceNamespacedSecret({
      name: 'zk-a-server',
      namespace: ns.name,
      body: fileSecret('zk-a-server', renewed),
    });
    // The kubelet updates Secret volumes on its sync loop: up to about two minutes.
    const script = [
      'set -u',
      'start=$(date +%s)',
      `for i in $(seq 60); do mode=$(${tlsWord(host, 2181, 'next-server-ca.crt', 'srvr')} | grep '^Mode:' || true); ` +
        '[ -n "$mode" ] && break; sleep 3; done',
      'echo "renewed after $(( $(date +%s) - start )) s: srvr $mode"',
      `echo "old CA: $(${tlsWord(host, 2181, 'server-ca.crt', 'srvr')} | grep -c '^Mode:')"`,
      `echo "read: $(${cli('next-server-ca.crt')} -server ${host}:2181 get /keelson-tls 2>/dev/null | grep written-over-tls || true)"`,
    ].join('\n');
    const output = await runClientPod(
      ns.name,
      {
        name: 'renewed-client',
        image: zookeeperImageRecipe(VERSION).reference,
        command: ['/bin/bash', '-c', script],
        memory: '384Mi',
        volumes: [trustVolume],
      },
      logs,
    );
    process.stdout.write(`zookeeper TLS renewal:\n${output}\n`);
    const after = await containerOf();
    const report = async (what: string) => `${what}\n--- client\n${output}\n--- servers\n${await logs()}`;
    if (!/^renewed after \d+ s: srvr Mode: (leader|follower)$/m.test(output))
      throw new Error(await report('the renewed certificate was not served'));
    if (!output.includes('old CA: 0')) throw new Error(await report('the old certificate is still served'));
    if (!output.includes('read: written-over-tls'))
      throw new Error(await report('zkCli trusting the new CA read nothing'));
    expect({ containerID: after?.containerID, restartCount: after?.restartCount }).toEqual({
      containerID: before?.containerID,
      restartCount: before?.restartCount,
    });
  }
});

function find(manifests: Manifest[], kind: string, name: string): { data: Record<string, string> } {
  const found = manifests.find((m) => m.kind === kind && m.metadata.name === name);
  if (!found)
    throw new Error(`no ${kind}/${name} in ${manifests.map((m) => `${m.kind}/${m.metadata.name}`)}`);
  return found as never;
}
