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
 * - a tls AuthenticationClass (its TlsClass the server class) added to the running servers: they
 *   roll one at a time (quorum and data kept), the probes show the pod's own certificate; a client
 *   with a certificate of the class reads and writes, one without and one of another CA are
 *   refused; removed again, a client without a certificate reads.
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
  FIRST_TIER_JIT,
  buildImageOnRealNode,
  isReady,
  podsLogs,
  realNode,
  REAL_NODE_PLACEMENT,
  runClientPod,
  waitPodsReady,
} from './real-node-support';
import { adminClients, adminKubeConfig, useTestNamespace, waitFor } from './support';
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
  // The CA of a client certificate the tls AuthenticationClass does not accept (third step).
  const otherCa = new TestPki('keelson test other CA');
  afterAll(() => {
    otherCa.remove();
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

  /**
   * keelson's manifests for the servers, with the tls AuthenticationClass `mtls` (whose TlsClass is
   * the server class, `tls`) named when `mtls`. Each role group's TLS volumes are replaced by the
   * test's Secrets.
   */
  function build(mtls: boolean): { zk: ZookeeperCluster; manifests: Manifest[] } {
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
        ...(mtls ? { clusterConfig: { authentication: [{ authenticationClass: 'mtls' }] } } : {}),
        servers: {
          ...FIRST_TIER_JIT,
          // Small heaps: three servers and a client share the 2-core test machine.
          config: { resources: { memory: { limit: '512Mi' }, cpu: { min: '100m', max: '1' } } },
          podOverrides: { spec: REAL_NODE_PLACEMENT },
          roleGroups: Object.fromEntries(
            GROUPS.map((g) => [g, { replicas: 1, podOverrides: { spec: { volumes: tlsVolumes(g) } } }]),
          ),
        },
      },
      // The classes exist as far as the build is concerned; their certificates are the test's (above).
      {
        tlsClasses: [{ name: 'tls' }],
        authenticationClasses: [{ name: 'mtls', provider: 'tls', spec: { tls: { tlsClass: 'tls' } } }],
      },
    );
    return { zk, manifests: Testing.synth(chart) as Manifest[] };
  }

  it('forms its quorum over TLS, serves a client that trusts its CA, refuses one that does not, nothing plaintext, and renewed certificates without a restart', async () => {
    await realNode();
    const started = Date.now();
    await buildImageOnRealNode(zookeeperImageRecipe(VERSION));
    const imported = Date.now();

    const { zk, manifests } = build(false);
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
        // Server a serves a certificate of the next CA after the renewal (second step), the others the first's.
        'server-cas.crt': serverCa.caPem + nextServerCa.caPem,
      }),
    );
    // Client certificates: one of the server class's CA (the tls AuthenticationClass's TlsClass
    // in the third step), one of another CA.
    secrets.push(
      fileSecret('zk-client-certs', {
        'alice.pem': serverCa.issue('alice', ['alice'])['tls.pem'],
        'mallory.pem': otherCa.issue('mallory', ['mallory'])['tls.pem'],
      }),
    );
    expect(find(manifests, 'ConfigMap', 'zk').data).toMatchObject({ ZOOKEEPER_TLS_CLASS: 'tls' });
    expect(find(manifests, 'ConfigMap', 'zk').data.ZOOKEEPER_CLIENT_CERTIFICATE_CLASS).toBeUndefined();
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
    await mutualTls(hosts);
  });

  /**
   * Applies `manifests` to the running servers as the operator rolls them: everything but the
   * StatefulSets, then one StatefulSet at a time, each pod replaced and Ready before the next, so
   * two of three servers keep the quorum throughout. Returns the seconds each roll took.
   */
  async function rollTo(manifests: Manifest[]): Promise<number[]> {
    const sets = manifests.filter((m) => m.kind === 'StatefulSet');
    expect(sets.map((m) => m.metadata.name).sort()).toEqual(GROUPS.map((g) => `zk-servers-${g}`));
    expect(
      await applyAll(
        client,
        manifests.filter((m) => m.kind !== 'StatefulSet'),
        ns.name,
      ),
    ).toEqual([]);
    const seconds: number[] = [];
    for (const set of sets) {
      const name = `${set.metadata.name}-0`;
      const read = () => core.readNamespacedPod({ name, namespace: ns.name }).catch(() => undefined);
      const before = (await read())?.metadata?.uid;
      const start = Date.now();
      expect(await applyAll(client, [set], ns.name)).toEqual([]);
      await waitFor(
        `${name} replaced and Ready`,
        async () => {
          const pod = await read();
          return pod?.metadata?.uid !== before && isReady(pod);
        },
        5 * 60_000,
        undefined,
        undefined,
        logs,
      );
      seconds.push((Date.now() - start) / 1000);
    }
    return seconds;
  }

  /**
   * A tls AuthenticationClass added to the running servers: they roll one at a time, keep their
   * quorum and data, and ask every client for a certificate of the class; removing it lets a
   * client without one in again.
   */
  async function mutualTls(hosts: string[]): Promise<void> {
    const withClass = build(true).manifests;
    expect(find(withClass, 'ConfigMap', 'zk').data).toMatchObject({
      ZOOKEEPER_TLS_CLASS: 'tls',
      ZOOKEEPER_CLIENT_CERTIFICATE_CLASS: 'tls',
    });
    const added = await rollTo(withClass);
    const certs = '/certs';
    const volumes = [
      trustVolume,
      { volume: { name: 'certs', secret: { secretName: 'zk-client-certs' } }, mountPath: certs },
    ];
    /** zkCli trusting both server CAs, showing the certificate `pem` (key and chain) when given. */
    const cliAs = (pem?: string) =>
      cli('server-cas.crt').replace(
        ' -cp ',
        pem
          ? ` -Dzookeeper.ssl.keyStore.location=${certs}/${pem} -Dzookeeper.ssl.keyStore.type=PEM -cp `
          : ' -cp ',
      );
    /** srvr over TLS, showing `pem` when given: prints the Mode line, or nothing when refused. */
    const srvrAs = (host: string, pem?: string) =>
      `echo srvr | timeout 10 openssl s_client -quiet -connect ${host}:2181 -CAfile ${trust}/server-cas.crt ` +
      `-verify_return_error${pem ? ` -cert ${certs}/${pem} -key ${certs}/${pem}` : ''} 2>/dev/null | grep '^Mode:'`;
    /**
     * srvr on each host until it answers (a server serves once it is in the quorum again after the
     * last roll: each gets 40 s), printed as `<label> srvr <host>: <Mode line>`.
     */
    const modesScript = (label: string, pem?: string) =>
      hosts.map(
        (h) =>
          `for i in $(seq 20); do mode=$(${srvrAs(h, pem)} || true); [ -n "$mode" ] && break; sleep 2; done; ` +
          `echo "${label} srvr ${h}: $mode"`,
      );
    /** The modes `modesScript(label)` printed, sorted: `follower,follower,leader` for a whole quorum. */
    const modesOf = (output: string, label: string) =>
      output
        .split('\n')
        .filter((l) => l.startsWith(`${label} srvr `))
        .map((l) => l.replace(new RegExp(`^${label} srvr [^:]+: (Mode: )?`), ''))
        .sort()
        .join();
    const script = [
      'set -u',
      // A client without a certificate, in the background: zkCli retries until its timeout.
      `(${cliAs()} -server ${hosts[1]}:2181 get /keelson-tls > /tmp/none.log 2>&1 || true) &`,
      ...modesScript('alice', 'alice.pem'),
      ...hosts.map((h) => `echo "none srvr ${h}: $(${srvrAs(h)} | grep -c Mode)"`),
      ...hosts.map((h) => `echo "mallory srvr ${h}: $(${srvrAs(h, 'mallory.pem')} | grep -c Mode)"`),
      `${cliAs('alice.pem')} -server ${hosts[0]}:2181 create /keelson-mtls written-with-a-certificate 2>&1 | grep -v -E ' (INFO|DEBUG) ' || true`,
      `echo "alice read: $(${cliAs('alice.pem')} -server ${hosts[2]}:2181 get /keelson-mtls 2>/dev/null | grep written-with-a-certificate || true)"`,
      `echo "alice old: $(${cliAs('alice.pem')} -server ${hosts[1]}:2181 get /keelson-tls 2>/dev/null | grep written-over-tls || true)"`,
      `${cliAs('mallory.pem')} -server ${hosts[2]}:2181 get /keelson-tls > /tmp/mallory.log 2>&1 || true`,
      'wait',
      `echo "mallory zkCli: read=$(grep -c written-over-tls /tmp/mallory.log) connected=$(grep -c 'SyncConnected' /tmp/mallory.log)"`,
      `echo "none zkCli: read=$(grep -c written-over-tls /tmp/none.log) connected=$(grep -c 'SyncConnected' /tmp/none.log)"`,
    ].join('\n');
    const output = await runClientPod(
      ns.name,
      {
        name: 'mtls-client',
        image: zookeeperImageRecipe(VERSION).reference,
        command: ['/bin/bash', '-c', script],
        memory: '384Mi',
        volumes,
      },
      logs,
    );
    const report = async (what: string, out: string) =>
      `${what}\n--- client\n${out}\n--- servers\n${await logs()}`;
    process.stdout.write(
      `zookeeper mTLS: class added, rolled one server at a time in ${added.map((s) => s.toFixed(1)).join(' + ')} s\n` +
        `${output}\n`,
    );
    const lines = output.split('\n');
    const modes = modesOf(output, 'alice');
    if (modes !== 'follower,follower,leader')
      throw new Error(await report(`modes asked with a certificate of the class: ${modes}`, output));
    for (const host of hosts) {
      const expected = [`none srvr ${host}: 0`, `mallory srvr ${host}: 0`];
      const missing = expected.filter((l) => !lines.includes(l));
      if (missing.length > 0) throw new Error(await report(`missing: ${missing.join('; ')}`, output));
    }
    for (const expected of [
      'alice read: written-with-a-certificate',
      'alice old: written-over-tls',
      'mallory zkCli: read=0 connected=0',
      'none zkCli: read=0 connected=0',
    ]) {
      if (!lines.includes(expected)) throw new Error(await report(`missing: ${expected}`, output));
    }

    // Removed again: the servers roll back to server TLS only, and a client without a certificate reads.
    const without = build(false).manifests;
    expect(find(without, 'ConfigMap', 'zk').data.ZOOKEEPER_CLIENT_CERTIFICATE_CLASS).toBeUndefined();
    const removed = await rollTo(without);
    const after = await runClientPod(
      ns.name,
      {
        name: 'server-tls-client',
        image: zookeeperImageRecipe(VERSION).reference,
        command: [
          '/bin/bash',
          '-c',
          [
            ...modesScript('none'),
            `echo "read: $(${cliAs()} -server ${hosts[1]}:2181 get /keelson-mtls 2>/dev/null | grep written-with-a-certificate || true)"`,
          ].join('\n'),
        ],
        memory: '384Mi',
        volumes,
      },
      logs,
    );
    process.stdout.write(
      `zookeeper mTLS: class removed, rolled in ${removed.map((s) => s.toFixed(1)).join(' + ')} s\n${after}\n`,
    );
    if (
      modesOf(after, 'none') !== 'follower,follower,leader' ||
      !after.includes('read: written-with-a-certificate')
    )
      throw new Error(await report('a client without a certificate after the class was removed', after));
  }

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
