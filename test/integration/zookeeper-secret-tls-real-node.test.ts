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
 * - nothing answers plaintext on 2181;
 * - rotation under ONE open client session (ZooKeeper's own client, trusting both CAs, reading a
 *   znode every second and owning an ephemeral one whose `ephemeralOwner` is its session id), with
 *   the test playing cert-manager on the client port's Secret (the quorum's Secret is left alone:
 *   the quorum does not reload, see the ZooKeeper README):
 *   1. renewal, and the start of a CA overlap: a new key and serial from the same CA, `ca.crt`
 *      holding the old CA and its successor. Every server presents the new serial to new
 *      connections, with no restart; clients holding only the old CA still verify it, and
 *      ZooKeeper's client holding only the old CA opens a session and writes;
 *   2. the successor signs: every server presents a certificate of the new CA; a client holding
 *      both CAs verifies it and writes; one holding only the old CA is refused by its own check,
 *      which is the end of the overlap for it (it had the first half to take the new bundle);
 *   the open session keeps its session id, reads every write, sees no disconnection and keeps
 *   the one connection it opened before the renewal (TLS checks certificates at the handshake).
 * Each failure prints the servers' logs (and the open session's).
 */
import { X509Certificate } from 'node:crypto';
import type * as k8s from '@kubernetes/client-node';
import { Chart, Testing } from 'cdk8s';
import { TlsClass } from '../../index';
import { ZookeeperCluster, zookeeperDistDir } from '../../constructs/zookeeper';
import { zookeeperImageRecipe } from '../../constructs/zookeeper/image';
import { KubeClient } from '../../lib/operator/client';
import type { CertManagerCertificate } from '../../lib/tls/cert-manager';
import { applyAll, RESTRICTED, type Manifest } from './admission';
import {
  FIRST_TIER_JIT,
  buildImageOnRealNode,
  clientPod,
  execInPod,
  podsLogs,
  realNode,
  REAL_NODE_PLACEMENT,
  runClientPod,
  waitPodsReady,
} from './real-node-support';
import { adminClients, adminKubeConfig, useTestNamespace, waitFor } from './support';
import { TestPki } from './test-pki';

jest.setTimeout(30 * 60_000);

/** A Secret in the layout cert-manager writes, holding `files` with `caBundle` as its ca.crt. */
function certManagerSecret(name: string, files: Record<string, string>, caBundle: string): k8s.V1Secret {
  return {
    metadata: { name },
    type: 'kubernetes.io/tls',
    stringData: {
      'tls.crt': files['tls.crt'],
      'tls.key': files['tls.key'],
      'ca.crt': caBundle,
      'tls-combined.pem': files['tls.pem'],
    },
  };
}

const VERSION = '3.9.4';
const SERVERS = [0, 1, 2].map((i) => `zk-servers-default-${i}`);
/** The labels of the stacklet's own pods: the NetworkPolicy admits them to every port. */
const CLIENT_LABELS = { 'app.kubernetes.io/name': 'zookeeper', 'app.kubernetes.io/instance': 'zk' };
const SERVER_SECRET = 'zk-servers-default-tls-server';

/** A certificate's serial number, as openssl prints it (upper-case hex) without leading zeros. */
function serialOf(pem: string): string {
  return new X509Certificate(pem).serialNumber.toUpperCase().replace(/^0+/, '');
}

describe('ZooKeeper with TLS from role-group Secrets on the real node', () => {
  const ns = useTestNamespace('zk-secret-tls', RESTRICTED);
  const client = new KubeClient(adminKubeConfig());
  const { core } = adminClients();
  const ca = new TestPki('keelson test cert-manager CA');
  // The CA that succeeds `ca` in the second test's rotation.
  const nextCa = new TestPki('keelson test cert-manager CA 2');
  afterAll(() => {
    ca.remove();
    nextCa.remove();
  });
  const logs = () => podsLogs(ns.name, SERVERS);
  /** The Certificates' names, by Secret: what a renewed certificate must name again. */
  const dnsNames = new Map<string, string[]>();
  const firstSerials = new Map<string, string>();

  it('forms its quorum over TLS from one certificate per role group, serving the pod and Service names, and rotates it under an open session', async () => {
    await realNode();
    await buildImageOnRealNode(zookeeperImageRecipe(VERSION));
    const started = Date.now();

    const chart = new Chart(Testing.app(), 'platform', { namespace: ns.name });
    new TlsClass(chart, 'tls', { certManager: { issuerRef: { name: 'keelson-test', kind: 'Issuer' } } });
    new ZookeeperCluster(chart, 'zk', {
      image: { productVersion: VERSION, pullPolicy: 'Never' },
      servers: {
        ...FIRST_TIER_JIT,
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
      dnsNames.set(certificate.spec.secretName, [...certificate.spec.dnsNames]);
      const files = ca.issue(certificate.spec.secretName, [...certificate.spec.dnsNames]);
      firstSerials.set(certificate.spec.secretName, serialOf(files['tls.crt']));
      await core.createNamespacedSecret({
        namespace: ns.name,
        body: certManagerSecret(certificate.spec.secretName, files, files['ca.crt']),
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
        labels: CLIENT_LABELS,
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

    await rotateUnderAnOpenSession();
  });

  /**
   * Renews the server certificate in its Secret, then switches it to a new CA, while ONE client
   * session stays open; see the file comment.
   */
  async function rotateUnderAnOpenSession() {
    const began = Date.now();
    const namespace = ns.name;
    const fqdn = (i: number) =>
      `zk-servers-default-${i}.zk-servers-default-headless.${namespace}.svc.cluster.local`;
    const hosts = [0, 1, 2].map(fqdn);
    // The bundle of the overlap: the old CA and its successor.
    const overlapBundle = ca.caPem + nextCa.caPem;
    await core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: 'zk-overlap-trust' }, stringData: { 'ca.crt': overlapBundle } },
    });
    // A client pod trusting the old CA only (/trust) or both (/overlap), to run ZooKeeper's client
    // and openssl in.
    const body = clientPod({
      name: 'session',
      image: zookeeperImageRecipe(VERSION).reference,
      command: ['/bin/bash', '-c', 'sleep 3600'],
      memory: '448Mi',
      labels: CLIENT_LABELS,
      volumes: [
        { volume: { name: 'trust', secret: { secretName: 'zk-client-trust' } }, mountPath: '/trust' },
        { volume: { name: 'overlap', secret: { secretName: 'zk-overlap-trust' } }, mountPath: '/overlap' },
      ],
    });
    body.spec!.terminationGracePeriodSeconds = 0;
    await core.createNamespacedPod({ namespace, body });
    await waitFor(
      'the session pod to run',
      async () => (await core.readNamespacedPod({ namespace, name: 'session' })).status?.phase === 'Running',
      5 * 60_000,
    );
    const exec = (script: string) => execInPod(namespace, 'session', script);
    const sessionLog = () => exec('cat /tmp/session.log');
    const fail = async (what: string) =>
      new Error(
        `${what}\n--- session\n${(await sessionLog().catch(String)).slice(-4000)}\n--- servers\n${await logs()}`,
      );
    const zkCli = (trust: string, args: string) =>
      `java -Xmx64m -Dzookeeper.client.secure=true ` +
      '-Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty ' +
      `-Dzookeeper.ssl.trustStore.location=${trust} -Dzookeeper.ssl.trustStore.type=PEM ` +
      `-cp '${zookeeperDistDir(VERSION)}/lib/*:/conf' org.apache.zookeeper.ZooKeeperMain -server zk-servers:2181 ${args}`;

    // ONE session, opened now and kept: it owns an ephemeral znode (whose ephemeralOwner is the
    // session id) and reads it and /keelson-rotation every second until told to stop.
    const session = [
      '(echo "create -e /keelson-session x"; echo "create /keelson-rotation start"; ',
      'while [ ! -e /tmp/stop ]; do echo "stat /keelson-session"; echo "get /keelson-rotation"; sleep 1; done; ',
      `echo quit) | ${zkCli('/overlap/ca.crt', '')} > /tmp/session.log 2>&1; echo SESSION-ENDED >> /tmp/session.log`,
    ].join('');
    await exec(`nohup bash -c '${session.replace(/'/g, `'"'"'`)}' >/dev/null 2>&1 &`);
    const reads = async (value: string) => {
      const log = await sessionLog();
      return log.split('\n').filter((l) => l === value).length;
    };
    try {
      await waitFor('the session to read its znode', async () => (await reads('start')) > 0, 2 * 60_000);
    } catch (error) {
      throw await fail((error as Error).message);
    }

    // What a new TLS connection to each server's client port is given, checked against `trust`:
    // the certificate's serial and openssl's verification result (0: ok; the first one, as TLS 1.3
    // session tickets repeat it).
    type Presented = Record<string, { serial: string; verify: string }>;
    const handshakes = async (trust: string): Promise<Presented> => {
      const script = hosts
        .map(
          (h) =>
            // Up to three tries: under load a handshake can outlast the timeout after the
            // certificate was printed but before the verification summary.
            `for try in 1 2 3; do o=$(timeout 20 openssl s_client -connect ${h}:2181 -servername ${h} ` +
            `-CAfile ${trust} -verify_hostname ${h} </dev/null 2>/dev/null); ` +
            `echo "$o" | grep -q 'Verify return code' && break; done; ` +
            `echo "${h} $(echo "$o" | openssl x509 -noout -serial 2>/dev/null | sed 's/^serial=0*//') ` +
            `$(echo "$o" | grep -o 'Verify return code: [0-9]*' | grep -o '[0-9]*$' | head -1)"`,
        )
        .join('\n');
      const presented: Presented = {};
      for (const line of (await exec(script)).trim().split('\n')) {
        const [host, serial, verify] = line.split(' ');
        presented[host] = { serial: serial ?? '', verify: verify ?? '' };
      }
      return presented;
    };
    const every = (serial: string, verify: string): Presented =>
      Object.fromEntries(hosts.map((h) => [h, { serial, verify }]));
    /** Replaces the server Secret as cert-manager would, and waits until every server presents it. */
    const deliver = async (what: string, files: Record<string, string>, trust: string) => {
      const serial = serialOf(files['tls.crt']);
      const replaced = Date.now();
      await core.replaceNamespacedSecret({
        name: SERVER_SECRET,
        namespace,
        body: certManagerSecret(SERVER_SECRET, files, overlapBundle),
      });
      let seen: Presented = {};
      try {
        await waitFor(
          `every server to present the ${what} certificate (serial ${serial})`,
          async () => {
            seen = await handshakes(trust);
            return hosts.every((h) => seen[h]?.serial === serial);
          },
          3 * 60_000,
          undefined,
          undefined,
          async () => JSON.stringify(seen),
        );
      } catch (error) {
        throw await fail((error as Error).message);
      }
      return { serial, seconds: (Date.now() - replaced) / 1000 };
    };
    const write = async (trust: string, value: string) => {
      await exec(
        `timeout 60 ${zkCli(trust, `set /keelson-rotation ${value}`)} >/tmp/write.log 2>&1 || (cat /tmp/write.log; exit 1)`,
      );
      try {
        await waitFor(`the open session to read "${value}"`, async () => (await reads(value)) > 0, 60_000);
      } catch (error) {
        throw await fail((error as Error).message);
      }
    };

    // 1. Renewal, and the overlap begins: a new key and serial from the same CA; ca.crt holds the
    //    old CA and its successor. Clients holding only the old CA connect as before.
    const renewed = await deliver(
      'renewed',
      ca.issue(`${SERVER_SECRET}-renewed`, dnsNames.get(SERVER_SECRET)!),
      '/trust/ca.crt',
    );
    expect(renewed.serial).not.toBe(firstSerials.get(SERVER_SECRET));
    expect(await handshakes('/trust/ca.crt')).toEqual(every(renewed.serial, '0'));
    expect(await handshakes('/overlap/ca.crt')).toEqual(every(renewed.serial, '0'));
    // A ZooKeeper client holding only the old CA opens a new session and writes; the open session reads it.
    await write('/trust/ca.crt', 'renewed');

    // 2. The successor signs: the server presents a certificate of the new CA. A client holding
    //    both CAs connects; one still holding only the old CA is refused by its own check (21:
    //    unable to verify the first certificate, whose issuer it does not know) — the end of the
    //    overlap for it, which had the first half of the overlap to take the new bundle.
    const rotated = await deliver(
      'new CA',
      nextCa.issue(`${SERVER_SECRET}-rotated`, dnsNames.get(SERVER_SECRET)!),
      '/overlap/ca.crt',
    );
    expect(await handshakes('/overlap/ca.crt')).toEqual(every(rotated.serial, '0'));
    expect(await handshakes('/trust/ca.crt')).toEqual(every(rotated.serial, '21'));
    await write('/overlap/ca.crt', 'rotated');

    // The open session: one session id throughout, every read answered, one connection (the
    // TLS connection made before the renewal is not re-checked and not dropped).
    await exec('touch /tmp/stop');
    let log = '';
    await waitFor(
      'the session to quit',
      async () => {
        log = await sessionLog();
        return /^SESSION-ENDED$/m.test(log);
      },
      60_000,
    );
    const lines = log.split('\n');
    const owners = [...new Set(lines.flatMap((l) => /^ephemeralOwner = (0x[0-9a-f]+)$/.exec(l)?.[1] ?? []))];
    const values = lines.filter((l) => /^(start|renewed|rotated)$/.test(l));
    const readsOf = (v: string) => values.filter((x) => x === v).length;
    const report = {
      sessions: owners.length,
      readsInOrder:
        values.join(',') === [...values].sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b)).join(','),
      readsOfEach: ORDER.every((v) => readsOf(v) > 0),
      errors: lines.filter((l) =>
        /ConnectionLoss|SessionExpired|state:Disconnected|state:Expired|KeeperErrorCode/.test(l),
      ),
      connections: lines.filter((l) => /state:SyncConnected/.test(l)).length,
    };
    process.stdout.write(
      `zookeeper TLS rotation from Secrets: renewed certificate presented by every server ${renewed.seconds.toFixed(1)} s ` +
        `after the Secret changed, the new CA's ${rotated.seconds.toFixed(1)} s after; the open session ${owners.join()} ` +
        `read ${values.length} times (${ORDER.map((v) => `${v}: ${readsOf(v)}`).join(', ')}); ` +
        `${((Date.now() - began) / 1000).toFixed(1)} s in all\n`,
    );
    if (
      JSON.stringify(report) !==
      JSON.stringify({ sessions: 1, readsInOrder: true, readsOfEach: true, errors: [], connections: 1 })
    )
      throw await fail(`the open session did not keep working: ${JSON.stringify(report)}`);
  }
});

const ORDER = ['start', 'renewed', 'rotated'];
