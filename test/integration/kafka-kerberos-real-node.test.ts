/**
 * Kafka with Kerberos on the real node, against a real KDC (kerberos-kdc.ts: Debian's MIT Kerberos
 * as a pod under the restricted Pod Security profile), its admin principal allowed to add, inquire
 * and re-key `kafka/*` principals only. keelson's manifests (synth mode) of a KRaft Kafka
 * (one controller, one broker, server and internal TLS from the test's own CAs) run in keelson's images. Proven, on one running stacklet:
 * - without an AuthenticationClass, a TLS client produces and consumes;
 * - adding the `kerberos` class to the running stacklet rolls the broker, whose init container
 *   (keelson's krb5-tools image) creates its principal `kafka/<pod DNS name>@REALM` at the KDC and
 *   writes its keytab into memory; the client listener then speaks SASL_SSL with GSSAPI;
 * - a client with alice's keytab produces and consumes (and reads what was written before);
 * - a client without a keytab, one with a stale keytab (mallory's keys changed since), and a
 *   client with TLS but no SASL read nothing;
 * - the admin password is in no ConfigMap, StatefulSet, pod log, Event or synthesized manifest,
 *   and keelson wrote no Secret (the keytab is only in the broker's memory);
 * - the brokers' class set to `external-unstable` (applied as the operator builds it) rolls the
 *   broker, whose keytab then also holds `kafka/<node IP>@REALM`; a client on the host, outside every
 *   pod's network, with alice's keytab and the KDC through a NodePort, produces and consumes over
 *   SASL_SSL at the broker's node address (its certificate names that IP), and one without a keytab
 *   is refused there.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Chart, Testing } from 'cdk8s';
import { KAFKA, KafkaCluster, type KafkaClusterProps } from '../../constructs/kafka';
import { kafkaImageRecipe } from '../../constructs/kafka/image';
import { KRB5_TOOLS_IMAGE, tlsVolumeName, type StackletOptions } from '../../lib';
import { krb5ToolsImageRecipe } from '../../lib/authentication/krb5-tools-image';
import { KubeClient } from '../../lib/operator/client';
import { applyAll, RESTRICTED, type Manifest } from './admission';
import { hostClientPlace, kafkaJava, produceConsume, runOnHost } from './kafka-client-support';
import {
  clientKrb5Conf,
  createKerberosAdminSecret,
  KDC_ADMIN_PASSWORD as ADMIN_PASSWORD,
  kdcKeytab,
  kerberosClass,
  REALM,
  startKdc,
} from './kerberos-kdc';
import {
  FIRST_TIER_JIT,
  buildImageOnRealNode,
  HostPathVolumes,
  operatorBuildOnRealNode,
  podsLogs,
  realNode,
  REAL_NODE_PLACEMENT,
  runClientPod,
  waitPodsReady,
} from './real-node-support';
import { adminClients, adminKubeConfig, useTestNamespace, waitFor } from './support';
import { fileSecret, podDnsNames, TestPki } from './test-pki';

jest.setTimeout(40 * 60_000);

const VERSION = '4.1.0';
const STORAGE_CLASS = 'keelson-test-hostpath';
const BROKER = 'kafka-brokers-default-0';
const CONTROLLER = 'kafka-controllers-default-0';

describe(`Kafka ${VERSION} with Kerberos against a real MIT KDC, on the real node`, () => {
  const ns = useTestNamespace('kafka-krb', RESTRICTED);
  const { core } = adminClients();
  const client = new KubeClient(adminKubeConfig());
  const volumes = new HostPathVolumes('kafka-krb');
  const serverCa = new TestPki('keelson test server CA');
  const internalCa = new TestPki('keelson test internal CA');

  afterAll(async () => {
    await volumes.removeAll();
    serverCa.remove();
    internalCa.remove();
  });

  it('adds a kerberos class to a running Kafka: a client with a keytab produces and consumes, one without or with a stale one is refused', async () => {
    const node = await realNode();
    const started = Date.now();
    await Promise.all([
      buildImageOnRealNode(kafkaImageRecipe(VERSION)),
      buildImageOnRealNode(krb5ToolsImageRecipe()),
    ]);
    // The admin may add, inquire and re-key kafka/* principals only.
    const kdcHost = await startKdc(ns.name, ['aci kafka/*']);
    const kdcReady = Date.now();
    for (const i of [0, 1]) await volumes.add(`${ns.name}-${i}`, STORAGE_CLASS);

    const config = {
      resources: {
        memory: { limit: '512Mi' },
        cpu: { min: '100m', max: '1' },
        storage: { 'log-dirs': { capacity: '1Gi', storageClass: STORAGE_CLASS } },
      },
    };
    // Server and internal TLS with the test's own certificates, at keelson's mount paths (as in
    // kafka-tls-real-node): with server TLS on, the kerberos class makes the client listener SASL_SSL.
    const tlsVolumes = (role: string, uses: readonly ('server' | 'internal')[]) =>
      uses.map((use) => ({ name: tlsVolumeName(use), secret: { secretName: `${role}-${use}` } }));
    for (const role of ['controllers', 'brokers']) {
      const pod = `kafka-${role}-default-0`;
      const headless = `kafka-${role}-default-headless`;
      const names = podDnsNames(pod, headless, ns.name, role === 'brokers' ? ['kafka-brokers'] : []);
      // The broker is reached at its node's address too (step 3): its server certificate names it.
      if (role === 'brokers') names.push(node.nodeIp);
      const secrets = [fileSecret(`${role}-internal`, internalCa.issue(`${pod}-internal`, names))];
      if (role === 'brokers')
        secrets.push(fileSecret(`${role}-server`, serverCa.issue(`${pod}-server`, names)));
      for (const body of secrets) await core.createNamespacedSecret({ namespace: ns.name, body });
    }
    const kafkaProps = (kerberos: boolean, listenerClass?: string): KafkaClusterProps => ({
      image: { productVersion: VERSION, pullPolicy: 'Never' },
      ...(kerberos ? { clusterConfig: { authentication: [{ authenticationClass: 'realm' }] } } : {}),
      controllers: {
        ...FIRST_TIER_JIT,
        podOverrides: {
          spec: { ...REAL_NODE_PLACEMENT, volumes: tlsVolumes('controllers', ['internal']) },
        },
        roleGroups: { default: { replicas: 1, config } },
      },
      brokers: {
        ...FIRST_TIER_JIT,
        ...(listenerClass ? { roleConfig: { listenerClass } } : {}),
        podOverrides: {
          spec: { ...REAL_NODE_PLACEMENT, volumes: tlsVolumes('brokers', ['server', 'internal']) },
        },
        roleGroups: { default: { replicas: 1, config } },
      },
    });
    const options: StackletOptions = {
      tlsClasses: [{ name: 'tls' }],
      authenticationClasses: [kerberosClass('realm', kdcHost, 'kerberos-admin')],
    };
    const synth = (kerberos: boolean): Manifest[] => {
      const chart = new Chart(Testing.app(), 'platform', { namespace: ns.name });
      new KafkaCluster(chart, 'kafka', kafkaProps(kerberos), options);
      return Testing.synth(chart) as Manifest[];
    };

    // The stacklet's copy of the admin credentials, and the clients' keytabs read from the KDC.
    await createKerberosAdminSecret(ns.name, 'kerberos-admin');
    const keytab = (file: string) => kdcKeytab(ns.name, file);
    const broker = `${BROKER}.kafka-brokers-default-headless.${ns.name}.svc.cluster.local:9092`;
    const trust = 'ssl.truststore.type=PEM\nssl.truststore.location=/k/server-ca.crt\n';
    const sasl = (jaas: string) =>
      `security.protocol=SASL_SSL\n${trust}sasl.mechanism=GSSAPI\nsasl.kerberos.service.name=kafka\n` +
      `sasl.jaas.config=com.sun.security.auth.module.Krb5LoginModule required ${jaas};\n` +
      'request.timeout.ms=10000\ndefault.api.timeout.ms=30000\n';
    const keyTabLogin = (principal: string, file: string) =>
      `useKeyTab=true storeKey=true doNotPrompt=true keyTab="/k/${file}" principal="${principal}@${REALM}"`;
    await core.createNamespacedSecret({
      namespace: ns.name,
      body: {
        metadata: { name: 'client-kerberos' },
        data: {
          'alice.keytab': await keytab('alice.keytab'),
          'mallory-stale.keytab': await keytab('mallory-stale.keytab'),
        },
        stringData: {
          'krb5.conf': clientKrb5Conf(kdcHost),
          'alice.properties': sasl(keyTabLogin('alice', 'alice.keytab')),
          'no-keytab.properties': sasl('useTicketCache=false doNotPrompt=true'),
          'stale-keytab.properties': sasl(keyTabLogin('mallory', 'mallory-stale.keytab')),
          'server-ca.crt': serverCa.caPem,
          'tls-only.properties': `security.protocol=SSL\n${trust}request.timeout.ms=10000\ndefault.api.timeout.ms=30000\n`,
        },
      },
    });
    const clientPod = (name: string, script: string) =>
      runClientPod(
        ns.name,
        {
          name,
          image: kafkaImageRecipe(VERSION).reference,
          command: ['/bin/bash', '-c', script],
          env: [{ name: 'JAVA_TOOL_OPTIONS', value: '-Djava.security.krb5.conf=/k/krb5.conf' }],
          volumes: [{ volume: { name: 'k', secret: { secretName: 'client-kerberos' } }, mountPath: '/k' }],
        },
        logs,
        10 * 60_000,
      );
    const pods = [CONTROLLER, BROKER];
    const logs = () => podsLogs(ns.name, [...pods, 'kdc']);

    // 1. A running Kafka without authentication.
    const plain = synth(false);
    expect(await applyAll(client, plain, ns.name)).toEqual([]);
    await waitPodsReady(ns.name, pods, 15 * 60_000);
    const before = await clientPod(
      'before',
      produceConsume(VERSION, broker, 'orders', {
        rf: 1,
        messages: ['before-kerberos'],
        expect: 1,
        config: '/k/tls-only.properties',
      }),
    );
    expect(before.split('\n')).toContain('consumed: before-kerberos');
    const brokerUid = (await core.readNamespacedPod({ name: BROKER, namespace: ns.name })).metadata?.uid;
    const plainReady = Date.now();

    // 2. The kerberos class added to the running stacklet: the broker rolls with its keytab.
    const manifests = synth(true);
    expect(await applyAll(client, manifests, ns.name)).toEqual([]);
    const applied = Date.now();
    let rolled = false;
    for (const deadline = Date.now() + 10 * 60_000; !rolled && Date.now() < deadline;) {
      const pod = await core.readNamespacedPod({ name: BROKER, namespace: ns.name }).catch(() => undefined);
      rolled = pod?.metadata?.uid !== undefined && pod.metadata.uid !== brokerUid;
      if (!rolled) await new Promise((r) => setTimeout(r, 2000));
    }
    expect(rolled).toBe(true);
    await waitPodsReady(ns.name, [BROKER], 15 * 60_000);
    const kerberosReady = Date.now();
    const brokerPod = await core.readNamespacedPod({ name: BROKER, namespace: ns.name });
    expect(brokerPod.spec?.initContainers?.map((c) => c.image)).toContain(KRB5_TOOLS_IMAGE);
    expect(brokerPod.spec?.volumes?.find((v) => v.name === 'kerberos-keytab')?.emptyDir?.medium).toBe(
      'Memory',
    );

    const topics = (properties: string) =>
      `timeout 90 ${kafkaJava(VERSION, 'org.apache.kafka.tools.TopicCommand', `--bootstrap-server ${broker} --command-config /k/${properties} --list`)}`;
    const script = [
      produceConsume(VERSION, broker, 'orders', {
        messages: ['with-kerberos'],
        expect: 2,
        config: '/k/alice.properties',
      }),
      'set +e',
      ...['no-keytab', 'stale-keytab', 'tls-only'].map(
        (what) =>
          `${topics(`${what}.properties`)} > /tmp/${what}.log 2>&1; ` +
          `echo "${what}: status=$? listed=$(grep -c '^orders$' /tmp/${what}.log) ` +
          `refused=$(grep -c -i -E 'LoginException|Pre-authentication|Unable to obtain password|GSSException|Authentication failed|disconnected|timed out|TimeoutException' /tmp/${what}.log)"`,
      ),
      'tail -3 /tmp/no-keytab.log /tmp/stale-keytab.log /tmp/tls-only.log',
      'true',
    ].join('\n');
    const output = await clientPod('kerberos', script);
    const done = Date.now();
    const lines = output.split('\n');
    const report = async (what: string) => `${what}\n--- client\n${output}\n--- pods\n${await logs()}`;
    process.stdout.write(
      `kafka kerberos on the real node: images and KDC ${((kdcReady - started) / 1000).toFixed(1)} s, ` +
        `plain Kafka Ready and used ${((plainReady - kdcReady) / 1000).toFixed(1)} s, broker rolled and Ready with ` +
        `its keytab ${((kerberosReady - applied) / 1000).toFixed(1)} s after the class was added, clients ` +
        `${((done - kerberosReady) / 1000).toFixed(1)} s\n` +
        `${lines.filter((l) => /^(consumed|no-keytab|stale-keytab|tls-only)/.test(l)).join('\n')}\n`,
    );
    for (const message of ['before-kerberos', 'with-kerberos']) {
      if (!lines.includes(`consumed: ${message}`))
        throw new Error(await report(`${message} not consumed by alice over GSSAPI`));
    }
    for (const what of ['no-keytab', 'stale-keytab', 'tls-only']) {
      const line = lines.find((l) => l.startsWith(`${what}: `));
      if (!line || !/status=[1-9]\d* listed=0 /.test(line)) throw new Error(await report(`${what}: ${line}`));
    }

    // The broker's own log names its principal; the admin password is nowhere keelson or the pods wrote.
    const podLogs = await podsLogs(ns.name, pods);
    expect(podLogs).toContain(
      `wrote the keytab of kafka/${BROKER}.kafka-brokers-default-headless.${ns.name}.svc.cluster.local@${REALM}`,
    );
    expect(JSON.stringify(manifests)).not.toContain(ADMIN_PASSWORD);
    expect(manifests.filter((m) => m.kind === 'Secret')).toEqual([]);
    expect(podLogs).not.toContain(ADMIN_PASSWORD);
    const inCluster = [
      await core.listNamespacedConfigMap({ namespace: ns.name }),
      await core.listNamespacedEvent({ namespace: ns.name }),
      await adminClients().apps.listNamespacedStatefulSet({ namespace: ns.name }),
      await core.listNamespacedPod({ namespace: ns.name }),
    ];
    expect(JSON.stringify(inCluster)).not.toContain(ADMIN_PASSWORD);

    // 3. Reached from outside: the brokers' class becomes external-unstable (a NodePort per broker),
    // applied as the operator builds it. The broker rolls; its init container waits for the node
    // address the operator writes and adds kafka/<node IP>@REALM to the keytab, and the EXTERNAL
    // listener speaks SASL_SSL as that principal. A client on the host, outside every pod's network,
    // with alice's keytab and the KDC through a NodePort of its own, produces and consumes at the
    // broker's node address; one without a keytab is refused there.
    const outsideStarted = Date.now();
    const outsideUid = (await core.readNamespacedPod({ name: BROKER, namespace: ns.name })).metadata?.uid;
    const build = () =>
      operatorBuildOnRealNode(
        KAFKA,
        {
          kind: 'KafkaCluster',
          name: 'kafka',
          namespace: ns.name,
          spec: kafkaProps(true, 'external-unstable'),
        },
        {},
        options,
      );
    let entry: Record<string, string> = {};
    await waitFor(
      `the operator's build to write ${BROKER}'s outside address`,
      async () => {
        expect(await applyAll(client, await build(), ns.name)).toEqual([]);
        entry =
          (
            await core.readNamespacedConfigMap({
              name: 'kafka-brokers-default-listeners',
              namespace: ns.name,
            })
          ).data ?? {};
        return entry[`${BROKER}.port.external`] !== undefined;
      },
      5 * 60_000,
      undefined,
      undefined,
      async () => JSON.stringify(entry),
    );
    const nodeIp = entry[`${BROKER}.host`];
    expect(nodeIp).toBe(node.nodeIp);
    const bootstrap = `${nodeIp}:${entry[`${BROKER}.port.external`]}`;
    await waitFor(
      `${BROKER} to roll onto the outside listener`,
      async () =>
        (await core.readNamespacedPod({ name: BROKER, namespace: ns.name }).catch(() => undefined))?.metadata
          ?.uid !== outsideUid,
      10 * 60_000,
    );
    await waitPodsReady(ns.name, [BROKER], 15 * 60_000);
    const outsideReady = Date.now();
    const externalPrincipal = `kafka/${nodeIp}@${REALM}`;
    expect(await podsLogs(ns.name, [BROKER])).toContain(`wrote the keytab of ${externalPrincipal}`);

    // The KDC through a NodePort, for the host; the host client's files in a scratch directory.
    const kdcOutside = await core.createNamespacedService({
      namespace: ns.name,
      body: {
        metadata: { name: 'kdc-outside' },
        spec: {
          type: 'NodePort',
          selector: { app: 'kdc' },
          ports: [{ name: 'kdc', port: 88, targetPort: 'kdc' }],
        },
      },
    });
    const place = await hostClientPlace(VERSION);
    const file = (name: string, text: string | Buffer) => {
      fs.writeFileSync(path.join(place.tmp, name), text);
      return path.join(place.tmp, name);
    };
    const krb5 = file('krb5.conf', clientKrb5Conf(nodeIp, kdcOutside.spec!.ports![0].nodePort));
    const ca = file('server-ca.crt', serverCa.caPem);
    const aliceKeytab = file('alice.keytab', Buffer.from(await keytab('alice.keytab'), 'base64'));
    const hostSasl = (jaas: string) =>
      `security.protocol=SASL_SSL\nssl.truststore.type=PEM\nssl.truststore.location=${ca}\nsasl.mechanism=GSSAPI\n` +
      `sasl.kerberos.service.name=kafka\nsasl.jaas.config=com.sun.security.auth.module.Krb5LoginModule required ${jaas};\n` +
      'request.timeout.ms=10000\ndefault.api.timeout.ms=30000\n';
    const aliceOutside = file(
      'alice.properties',
      hostSasl(
        `useKeyTab=true storeKey=true doNotPrompt=true keyTab="${aliceKeytab}" principal="alice@${REALM}"`,
      ),
    );
    const noKeytab = file('no-keytab.properties', hostSasl('useTicketCache=false doNotPrompt=true'));
    const env = `export JAVA_TOOL_OPTIONS='-Djava.security.krb5.conf=${krb5}'`;
    const hostScript = [
      env,
      produceConsume(VERSION, bootstrap, 'orders', {
        messages: ['from-outside'],
        expect: 3,
        config: aliceOutside,
        place,
      }),
      'set +e',
      `timeout 90 ${kafkaJava(VERSION, 'org.apache.kafka.tools.TopicCommand', `--bootstrap-server ${bootstrap} --command-config ${noKeytab} --list`, place)} > ${place.tmp}/no-keytab.log 2>&1`,
      `echo "no-keytab outside: status=$? listed=$(grep -c '^orders$' ${place.tmp}/no-keytab.log)"`,
      `tail -3 ${place.tmp}/no-keytab.log`,
      'true',
    ].join('\n');
    const outside = await runOnHost(hostScript, 10 * 60_000).catch(async (error: Error) => {
      throw new Error(`${error.message}\n--- pods\n${await logs()}`);
    });
    const outsideDone = Date.now();
    process.stdout.write(
      `kafka kerberos from outside: broker rolled and Ready on external-unstable ` +
        `${((outsideReady - outsideStarted) / 1000).toFixed(1)} s after the change, the host client with ` +
        `alice's keytab at ${bootstrap} ${((outsideDone - outsideReady) / 1000).toFixed(1)} s\n` +
        `${outside
          .split('\n')
          .filter((l) => /^(consumed|no-keytab)/.test(l))
          .join('\n')}\n`,
    );
    const outsideLines = outside.split('\n');
    for (const message of ['before-kerberos', 'with-kerberos', 'from-outside'])
      expect(outsideLines).toContain(`consumed: ${message}`);
    expect(outsideLines.find((l) => l.startsWith('no-keytab outside: '))).toMatch(
      /status=[1-9]\d* listed=0$/,
    );
  });
});
