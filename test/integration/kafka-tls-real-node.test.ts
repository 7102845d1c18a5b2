/**
 * Kafka in KRaft mode with TLS on the real node: keelson's manifests with a TlsClass, keelson's
 * Kafka image, in a namespace enforcing the restricted Pod Security profile. The certificates are
 * the test's own (openssl: a server CA, an internal CA, one leaf per pod and use with the pod's DNS
 * names and the Services that select it), delivered in Secrets at the paths of keelson's mount
 * contract (`/keelson/tls/server`, `/keelson/tls/internal`) by replacing the projected volumes
 * through podOverrides: the product side is proven here, the operator's signer elsewhere. Each role
 * group has one pod, so each pod gets certificates of its own. Proven:
 * - a controller and two brokers become Ready by keelson's probes, with the quorum and replication
 *   on mutual-TLS listeners of the internal CA (there is no plaintext listener they could use);
 * - the brokers authenticate clients by certificate (a `tls` AuthenticationClass whose TlsClass,
 *   `clients`, has a CA of its own): a client with a certificate of that CA, trusting the server CA,
 *   creates a topic replicated on both brokers, produces and consumes through the bootstrap
 *   Service, checking the names in the certificates of the bootstrap Service and of each broker it
 *   is sent to (`https` endpoint identification);
 * - a client without a certificate, and one whose certificate another CA signed, read nothing;
 * - a client trusting another CA (the internal one) fails the handshake and reads nothing;
 * - a plaintext client reaches nothing: not the bootstrap (9092), not a broker's internal
 *   listener (9094), not the controller (9093).
 * Then OPA authorizes (an OpaCluster built here, a Rego policy in a labelled ConfigMap, keelson's
 * Kafka image carrying OPA's authorizer plugin from Maven Central):
 * - `clusterConfig.authorization.opa` added to the running Kafka rolls brokers and controller; alice
 *   (her certificate's CN) then writes topic `allowed` and is refused `denied`, while replication and
 *   the quorum keep working (brokers and controller are the super user on the internal listeners);
 * - the policy's ConfigMap changes (alice may write `denied`): it applies with no pod of Kafka or OPA
 *   replaced or restarted; the time from the apply to alice's first write is printed; OPA's stdout
 *   holds the Kafka decisions;
 * - `authorization.opa` removed rolls them again, and alice writes a topic the policy never allowed.
 * Each failure prints the pods' logs.
 */
import type * as k8s from '@kubernetes/client-node';
import { ApiObject, Chart, Testing } from 'cdk8s';
import { INTERNAL_PRINCIPAL, KafkaCluster } from '../../constructs/kafka';
import { kafkaImageRecipe } from '../../constructs/kafka/image';
import { OPA_POLICY_LABEL, OpaCluster } from '../../constructs/opa';
import { opaImageRecipe } from '../../constructs/opa/image';
import { tlsTrustVolumeName, tlsVolumeName } from '../../lib';
import { KubeClient } from '../../lib/operator/client';
import { applyAll, RESTRICTED, type Manifest } from './admission';
import { kafkaJava, PRELUDE, produceConsume, producerClass } from './kafka-client-support';
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
  HostPathVolumes,
} from './real-node-support';
import { adminClients, adminKubeConfig, useTestNamespace, waitFor } from './support';
import { fileSecret, podDnsNames, TestPki } from './test-pki';

jest.setTimeout(40 * 60_000);

const VERSION = '4.1.0';
const STORAGE_CLASS = 'keelson-test-hostpath';
const CONTROLLER_GROUPS = ['a'];
const BROKER_GROUPS = ['a', 'b'];
/** Where client pods mount the test's certificates and client configs. */
const trust = '/trust';
const log = (message: string) => process.stdout.write(`kafka TLS and OPA on the real node: ${message}\n`);
const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

/**
 * The Kafka policy: `user` may do anything to the cluster and to groups, and to the topics
 * `writable`; nobody else may do anything (brokers and controllers are super users, which the
 * authorizer lets through without asking).
 */
function kafkaPolicy(user: string, writable: readonly string[]): string {
  return [
    'package kafka.authz',
    '',
    'default allow := false',
    '',
    `writable := {${writable.map((t) => `"${t}"`).join(', ')}}`,
    '',
    'allow if {',
    `\tinput.requestContext.principal.name == "${user}"`,
    '\tinput.action.resourcePattern.resourceType in {"CLUSTER", "GROUP"}',
    '}',
    '',
    'allow if {',
    `\tinput.requestContext.principal.name == "${user}"`,
    '\tinput.action.resourcePattern.resourceType == "TOPIC"',
    '\tinput.action.resourcePattern.name in writable',
    '}',
    '',
  ].join('\n');
}

describe(`Kafka ${VERSION} KRaft with TLS on the real node`, () => {
  const ns = useTestNamespace('kafka-tls', RESTRICTED);
  const { core } = adminClients();
  const client = new KubeClient(adminKubeConfig());
  const volumes = new HostPathVolumes('kafka-tls');
  const serverCa = new TestPki('keelson test server CA');
  const internalCa = new TestPki('keelson test internal CA');
  const clientsCa = new TestPki('keelson test clients CA');

  afterAll(async () => {
    await volumes.removeAll();
    serverCa.remove();
    internalCa.remove();
    clientsCa.remove();
  });

  /**
   * The program: an OpaCluster with the policy (alice may write the topics `writable`) and the
   * Kafka, authorized by it when `withOpa`.
   */
  function program(withOpa: boolean, writable: readonly string[]) {
    const chart = new Chart(Testing.app(), 'platform', { namespace: ns.name });
    const opa = new OpaCluster(chart, 'opa', {
      image: { pullPolicy: 'Never' },
      servers: { roleGroups: { default: { replicas: 1 } }, podOverrides: { spec: REAL_NODE_PLACEMENT } },
    });
    new ApiObject(chart, 'policy', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'kafka-policy', labels: { [OPA_POLICY_LABEL]: 'opa' } },
      data: { 'kafka.rego': kafkaPolicy('alice', writable) },
    });
    const config = {
      resources: {
        memory: { limit: '512Mi' },
        cpu: { min: '100m', max: '1' },
        storage: { 'log-dirs': { capacity: '1Gi', storageClass: STORAGE_CLASS } },
      },
    };
    // The clients class's CA reaches the brokers from a Secret too, in place of its ClusterTrustBundle.
    const secretVolumes = (role: string, group: string, uses: readonly ('server' | 'internal')[]) => [
      ...uses.map((use) => ({ name: tlsVolumeName(use), secret: { secretName: `${role}-${group}-${use}` } })),
      ...(uses.includes('server')
        ? [{ name: tlsTrustVolumeName('clients'), secret: { secretName: 'clients-ca' } }]
        : []),
    ];
    const groups = (role: string, names: string[], uses: readonly ('server' | 'internal')[]) =>
      Object.fromEntries(
        names.map((g) => [
          g,
          { replicas: 1, config, podOverrides: { spec: { volumes: secretVolumes(role, g, uses) } } },
        ]),
      );
    const kafka = new KafkaCluster(
      chart,
      'kafka',
      {
        image: { productVersion: VERSION, pullPolicy: 'Never' },
        clusterConfig: { authentication: [{ authenticationClass: 'mtls' }] },
        // Decisions kept 2 s, so that a policy change shows within seconds.
        ...(withOpa
          ? { opa: { cluster: opa, package: 'kafka.authz', cache: { entryTimeToLive: '2s' } } }
          : {}),
        controllers: {
          ...FIRST_TIER_JIT,
          podOverrides: { spec: REAL_NODE_PLACEMENT },
          roleGroups: groups('controllers', CONTROLLER_GROUPS, ['internal']),
        },
        brokers: {
          ...FIRST_TIER_JIT,
          podOverrides: { spec: REAL_NODE_PLACEMENT },
          roleGroups: groups('brokers', BROKER_GROUPS, ['server', 'internal']),
        },
      },
      // The classes exist as far as the build is concerned; their certificates are the test's (above).
      {
        tlsClasses: [{ name: 'tls' }, { name: 'clients' }],
        authenticationClasses: [{ name: 'mtls', provider: 'tls', spec: { tls: { tlsClass: 'clients' } } }],
      },
    );
    return { manifests: Testing.synth(chart) as Manifest[], kafka };
  }

  it('serves clients over mutual TLS with names checked, refuses clients without a certificate of the class, of another CA and anything plaintext; authorizes them by OPA', async () => {
    await realNode();
    const started = Date.now();
    await buildImageOnRealNode(kafkaImageRecipe(VERSION));
    await buildImageOnRealNode(opaImageRecipe('1.22.3'));
    const imported = Date.now();
    for (const i of [0, 1, 2]) await volumes.add(`${ns.name}-${i}`, STORAGE_CLASS);

    const { manifests, kafka } = program(false, ['orders', 'allowed']);
    const discovery = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === 'kafka') as
      { data?: Record<string, string> } | undefined;
    expect(discovery?.data).toMatchObject({ KAFKA_TLS_CLASS: 'tls', KAFKA: kafka.bootstrapServers });

    const secrets: k8s.V1Secret[] = [];
    const address = (role: string, group: string) => {
      const pod = `kafka-${role}-${group}-0`;
      const headless = `kafka-${role}-${group}-headless`;
      return { pod, headless, fqdn: `${pod}.${headless}.${ns.name}.svc.cluster.local` };
    };
    for (const group of CONTROLLER_GROUPS) {
      const { pod, headless } = address('controllers', group);
      const names = podDnsNames(pod, headless, ns.name, []);
      secrets.push(fileSecret(`controllers-${group}-internal`, internalCa.issue(`${pod}-internal`, names)));
    }
    for (const group of BROKER_GROUPS) {
      const { pod, headless } = address('brokers', group);
      const names = podDnsNames(pod, headless, ns.name, ['kafka-brokers']);
      secrets.push(fileSecret(`brokers-${group}-server`, serverCa.issue(`${pod}-server`, names)));
      secrets.push(fileSecret(`brokers-${group}-internal`, internalCa.issue(`${pod}-internal`, names)));
    }
    secrets.push(fileSecret('clients-ca', { 'ca.crt': clientsCa.caPem }));
    const keystore = (file: string) => `ssl.keystore.type=PEM\nssl.keystore.location=${trust}/${file}\n`;
    const serverTrust = `security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.location=${trust}/server-ca.crt\n`;
    const refused = 'request.timeout.ms=10000\ndefault.api.timeout.ms=30000\n';
    secrets.push(
      fileSecret('client-trust', {
        'server-ca.crt': serverCa.caPem,
        'internal-ca.crt': internalCa.caPem,
        'alice.pem': clientsCa.issue('alice', ['alice'])['tls.pem'],
        'mallory.pem': internalCa.issue('mallory', ['mallory'])['tls.pem'],
        // The clients' own CA signed a certificate with the brokers' reserved name.
        'impostor.pem': clientsCa.issue(INTERNAL_PRINCIPAL, [INTERNAL_PRINCIPAL])['tls.pem'],
        'impostor.properties': serverTrust + keystore('impostor.pem'),
        'tls.properties': serverTrust + keystore('alice.pem'),
        'no-certificate.properties': serverTrust + refused,
        'other-ca-certificate.properties': serverTrust + keystore('mallory.pem') + refused,
        'wrong-ca.properties':
          'security.protocol=SSL\nssl.truststore.type=PEM\n' +
          `ssl.truststore.location=${trust}/internal-ca.crt\nrequest.timeout.ms=10000\ndefault.api.timeout.ms=30000\n`,
        'plaintext.properties':
          'security.protocol=PLAINTEXT\nrequest.timeout.ms=10000\ndefault.api.timeout.ms=30000\n',
      }),
    );
    for (const body of secrets) await core.createNamespacedSecret({ namespace: ns.name, body });
    expect(await applyAll(client, manifests, ns.name)).toEqual([]);

    const controllers = CONTROLLER_GROUPS.map((g) => address('controllers', g).pod);
    const brokers = BROKER_GROUPS.map((g) => address('brokers', g).pod);
    const pods = [...controllers, ...brokers];
    const logs = () => podsLogs(ns.name, pods);
    await waitPodsReady(ns.name, pods, 15 * 60_000);
    const ready = Date.now();
    process.stdout.write(
      `kafka TLS on the real node: image ${((imported - started) / 1000).toFixed(1)} s (build or cache, import), ` +
        `controller and two brokers Ready ${((ready - imported) / 1000).toFixed(1)} s after apply\n`,
    );
    for (const name of pods) {
      const pod = await core.readNamespacedPod({ name, namespace: ns.name });
      const mounts = pod.spec?.containers[0].volumeMounts?.map((m) => m.mountPath) ?? [];
      expect(mounts).toContain('/keelson/tls/internal');
      if (name.includes('-brokers-')) expect(mounts).toContain('/keelson/tls/server');
    }

    const bootstrap = kafka.bootstrapServers;
    const broker = address('brokers', BROKER_GROUPS[0]).fqdn;
    const controller = address('controllers', CONTROLLER_GROUPS[0]).fqdn;
    const topics = (server: string, properties: string) =>
      `timeout 90 ${kafkaJava(VERSION, 'org.apache.kafka.tools.TopicCommand', `--bootstrap-server ${server} --command-config ${trust}/${properties} --list`)}`;
    const script = [
      produceConsume(VERSION, bootstrap, 'orders', {
        rf: 2,
        messages: ['keelson-tls-1', 'keelson-tls-2'],
        expect: 2,
        config: `${trust}/tls.properties`,
      }),
      'set +e',
      `${topics(bootstrap, 'wrong-ca.properties')} > /tmp/wrong-ca.log 2>&1; status=$?`,
      `echo "wrong CA: status=$status listed=$(grep -c '^orders$' /tmp/wrong-ca.log) ` +
        `handshake=$(grep -c -i -E 'SSL handshake failed|SSLHandshakeException|PKIX path' /tmp/wrong-ca.log)"`,
      ...['no-certificate', 'other-ca-certificate'].map(
        (what) =>
          `${topics(bootstrap, `${what}.properties`)} > /tmp/${what}.log 2>&1; ` +
          `echo "${what}: status=$? listed=$(grep -c '^orders$' /tmp/${what}.log) ` +
          `refused=$(grep -c -i -E 'SSL handshake failed|SslAuthenticationException|bad_certificate|certificate_required|Failed authentication' /tmp/${what}.log)"`,
      ),
      ...[
        ['bootstrap', bootstrap],
        ['broker-internal', `${broker}:9094`],
      ].map(
        ([what, server]) =>
          `${topics(server, 'plaintext.properties')} > /tmp/plain.log 2>&1; ` +
          `echo "plaintext ${what}: status=$? listed=$(grep -c '^orders$' /tmp/plain.log)"`,
      ),
      `timeout 90 ${kafkaJava(VERSION, 'org.apache.kafka.tools.MetadataQuorumCommand', `--bootstrap-controller ${controller}:9093 --command-config ${trust}/plaintext.properties describe --status`)} > /tmp/quorum.log 2>&1; ` +
        `echo "plaintext controller: status=$? leader=$(grep -c '^LeaderId' /tmp/quorum.log)"`,
      'tail -3 /tmp/wrong-ca.log /tmp/no-certificate.log /tmp/other-ca-certificate.log /tmp/plain.log /tmp/quorum.log',
      'true',
    ].join('\n');
    expect(script.startsWith(PRELUDE)).toBe(true);
    const output = await runClientPod(
      ns.name,
      {
        name: 'client',
        image: kafkaImageRecipe(VERSION).reference,
        command: ['/bin/bash', '-c', script],
        // The stacklet's NetworkPolicy admits its own pods to the internal and controller ports:
        // with these labels the client stands where a broker would, so the plaintext checks reach them.
        labels: { 'app.kubernetes.io/name': 'kafka', 'app.kubernetes.io/instance': 'kafka' },
        volumes: [{ volume: { name: 'trust', secret: { secretName: 'client-trust' } }, mountPath: trust }],
      },
      logs,
      10 * 60_000,
    );
    const report = async (what: string) => `${what}\n--- client\n${output}\n--- pods\n${await logs()}`;
    const lines = output.split('\n');
    process.stdout.write(
      `kafka TLS client:\n${lines.filter((l) => /^(consumed|wrong CA|no-certificate|other-ca|plaintext)/.test(l)).join('\n')}\n`,
    );
    for (const message of ['keelson-tls-1', 'keelson-tls-2']) {
      if (!lines.includes(`consumed: ${message}`))
        throw new Error(await report(`${message} not consumed over TLS`));
    }
    const wrong = lines.find((l) => l.startsWith('wrong CA: '));
    if (!wrong || !/status=[1-9]\d* listed=0 handshake=[1-9]/.test(wrong))
      throw new Error(await report(`a client trusting another CA: ${wrong}`));
    for (const what of ['no-certificate', 'other-ca-certificate']) {
      const line = lines.find((l) => l.startsWith(`${what}: `));
      if (!line || !/status=[1-9]\d* listed=0 refused=[1-9]/.test(line))
        throw new Error(await report(`a client with ${what}: ${line}`));
    }
    for (const what of ['bootstrap', 'broker-internal']) {
      const line = lines.find((l) => l.startsWith(`plaintext ${what}: `));
      if (!line || !/status=[1-9]\d* listed=0$/.test(line))
        throw new Error(await report(`a plaintext client on ${what}: ${line}`));
    }
    const quorum = lines.find((l) => l.startsWith('plaintext controller: '));
    if (!quorum || !/status=[1-9]\d* leader=0$/.test(quorum))
      throw new Error(await report(`a plaintext client on the controller: ${quorum}`));

    await authorizesWithOpa();
  });
  /** uid and restart counts of the named pods (absent ones left out). */
  async function podIdentities(names: readonly string[]): Promise<Record<string, string>> {
    const pods = (await core.listNamespacedPod({ namespace: ns.name })).items.filter((p) =>
      names.includes(p.metadata!.name!),
    );
    return Object.fromEntries(
      pods.map((p) => [
        p.metadata!.name!,
        `${p.metadata!.uid} restarts=${(p.status?.containerStatuses ?? []).map((c) => c.restartCount).join(',')}`,
      ]),
    );
  }

  /** Waits until every pod of `before` was replaced (a new uid) and is Ready: the StatefulSets rolled. */
  async function waitRolled(before: Record<string, string>, diagnostics: () => Promise<string>) {
    const names = Object.keys(before);
    const uid = (identity: string | undefined) => identity?.split(' ')[0];
    await waitFor(
      `${names.join(', ')} to be replaced`,
      async () => {
        const now = await podIdentities(names);
        return names.every((n) => now[n] !== undefined && uid(now[n]) !== uid(before[n]));
      },
      15 * 60_000,
    );
    await waitPodsReady(ns.name, names, 15 * 60_000, diagnostics);
  }

  /**
   * OPA turned on, a policy change, OPA turned off, on the Kafka the test above deployed (in its
   * namespace, which lives for one test).
   */
  async function authorizesWithOpa(): Promise<void> {
    const controllers = CONTROLLER_GROUPS.map((g) => `kafka-controllers-${g}-0`);
    const brokers = BROKER_GROUPS.map((g) => `kafka-brokers-${g}-0`);
    const kafkaPods = [...controllers, ...brokers];
    const opaPods = async () =>
      (
        await core.listNamespacedPod({ namespace: ns.name, labelSelector: 'app.kubernetes.io/instance=opa' })
      ).items
        .filter((p) => !p.metadata!.deletionTimestamp)
        .map((p) => p.metadata!.name!);
    const everything = async () => podsLogs(ns.name, [...kafkaPods, ...(await opaPods())]);
    await waitPodsReady(ns.name, await opaPods(), 5 * 60_000, everything);

    // A client that stays, as alice (tls.properties), where a broker would stand (see above).
    const body = clientPod({
      name: 'opa-client',
      image: kafkaImageRecipe(VERSION).reference,
      command: ['/bin/bash', '-c', 'sleep 86400'],
      labels: { 'app.kubernetes.io/name': 'kafka', 'app.kubernetes.io/instance': 'kafka' },
      volumes: [{ volume: { name: 'trust', secret: { secretName: 'client-trust' } }, mountPath: trust }],
    });
    body.spec!.terminationGracePeriodSeconds = 0;
    await core.createNamespacedPod({ namespace: ns.name, body });
    await waitPodsReady(ns.name, ['opa-client'], 5 * 60_000, everything);
    const bootstrap = `kafka-brokers.${ns.name}.svc.cluster.local:9092`;
    const config = `${trust}/tls.properties`;
    const tool = (mainClass: string, args: string) => kafkaJava(VERSION, mainClass, args);
    const producer = tool(
      producerClass(VERSION),
      `--bootstrap-server ${bootstrap} --producer-property acks=all --producer-property max.block.ms=20000`,
    );
    // `produce TOPIC`: one message as alice, then `TOPIC: written`, `refused` (not authorized) or `error`.
    const produce = [
      PRELUDE,
      'produce() {',
      `  echo "$1-$(date +%s%N)" | timeout 80 ${producer} --topic "$1" --producer.config "\${CONFIG:-${config}}" > /tmp/produce.log 2>&1 || true`,
      '  if grep -q -i -E \'not authorized|AuthorizationException\' /tmp/produce.log; then echo "$1: refused"',
      '  elif grep -q -E \'ERROR|Exception\' /tmp/produce.log; then echo "$1: error"; tail -5 /tmp/produce.log',
      '  else echo "$1: written"; fi',
      '}',
    ].join('\n');
    const exec = (script: string) => execInPod(ns.name, 'opa-client', script);
    const attempt = async (topic: string) => (await exec(`${produce}\nproduce ${topic}`)).trim();
    /** Produces until the answer is no transient error (a broker just rolled, a leader moves). */
    const settled = async (topic: string) => {
      let answer = '';
      await waitFor(
        `a settled answer for ${topic}`,
        async () => !/: error/.test((answer = await attempt(topic))),
        5 * 60_000,
        undefined,
        undefined,
        async () => answer,
      );
      return answer.split('\n').find((l) => l.startsWith(`${topic}: `));
    };

    // Without an authorizer alice creates the topics and may write all of them.
    await exec(
      [
        PRELUDE,
        ...['allowed', 'denied', 'forbidden'].map(
          (t) =>
            `retry ${tool('org.apache.kafka.tools.TopicCommand', `--bootstrap-server ${bootstrap} --command-config ${config} --create --if-not-exists --topic ${t} --partitions 1 --replication-factor 2`)}`,
        ),
      ].join('\n'),
    );
    expect(await settled('denied')).toBe('denied: written');

    // Turning OPA on rolls brokers and controllers onto the authorizer.
    let started = Date.now();
    let before = await podIdentities(kafkaPods);
    expect(await applyAll(client, program(true, ['orders', 'allowed']).manifests, ns.name)).toEqual([]);
    await waitRolled(before, everything);
    log(
      `authorization.opa turned on: brokers and controller rolled and Ready ${seconds(started)} after apply`,
    );
    expect(await settled('allowed')).toBe('allowed: written');
    expect(await settled('denied')).toBe('denied: refused');
    log('alice writes allowed, is refused denied');

    // The policy changes (alice may write denied too): no pod restarts, and it applies within the cache's 2 s.
    before = await podIdentities([...kafkaPods, ...(await opaPods())]);
    const changedAt = Date.now();
    expect(await applyAll(client, program(true, ['orders', 'allowed', 'denied']).manifests, ns.name)).toEqual(
      [],
    );
    const loop = [
      produce,
      'deadline=$(( $(date +%s) + 100 ))',
      'until [ "$(produce denied | head -1)" = "denied: written" ]; do',
      '  [ "$(date +%s)" -gt "$deadline" ] && { echo TIMEOUT; exit 1; }',
      'done',
      'echo "written at $(date +%s%3N)"',
    ].join('\n');
    const flipped = await exec(loop).catch(async (e: Error) => {
      throw new Error(`${e.message}\n${await everything()}`);
    });
    const writtenAt = Number(/written at (\d+)/.exec(flipped)?.[1]);
    expect(writtenAt).toBeGreaterThan(0);
    log(
      `policy change took effect ${((writtenAt - changedAt) / 1000).toFixed(1)} s after the ConfigMap was applied ` +
        "(the end of alice's first successful write to denied, a producer JVM each try)",
    );
    expect(await podIdentities([...kafkaPods, ...(await opaPods())])).toEqual(before);
    log(`no pod replaced or restarted: ${JSON.stringify(before)}`);
    expect(await settled('forbidden')).toBe('forbidden: refused');
    // A certificate of the clients' class naming the brokers' reserved principal is no super user.
    expect(
      (await exec(`${produce}\nCONFIG=${trust}/impostor.properties produce forbidden`)).trim().split('\n')[0],
    ).toBe('forbidden: refused');
    log(`a client certificate with CN=${INTERNAL_PRINCIPAL} is refused what alice is refused`);
    const [opa] = await opaPods();
    const decisions = (await core.readNamespacedPodLog({ name: opa, namespace: ns.name, container: 'opa' }))
      .split('\n')
      .filter((l) => l.includes('"msg":"Decision Log"') && l.includes('"path":"kafka/authz/allow"'));
    expect(decisions.some((l) => l.includes('"name":"alice"') && l.includes('"result":false'))).toBe(true);
    expect(decisions.some((l) => l.includes('"name":"alice"') && l.includes('"result":true'))).toBe(true);
    log(`${decisions.length} Kafka decision log lines in OPA's stdout`);

    // Turning OPA off rolls again, and nothing asks OPA: alice writes forbidden.
    started = Date.now();
    before = await podIdentities(kafkaPods);
    expect(await applyAll(client, program(false, ['orders', 'allowed']).manifests, ns.name)).toEqual([]);
    await waitRolled(before, everything);
    log(`authorization.opa turned off: rolled and Ready ${seconds(started)} after apply`);
    expect(await settled('forbidden')).toBe('forbidden: written');
  }
});
