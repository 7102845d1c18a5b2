/**
 * Kafka 3.9.1 in ZooKeeper mode on a ZooKeeper with TLS, on the real node: keelson's manifests of
 * both with one TlsClass (`tls`), in a namespace enforcing the restricted Pod Security profile. The
 * certificates are the test's own, as one class's would be: one CA, a leaf per pod and use with the
 * pod's DNS names and the Services that select it, in Secrets at the paths of keelson's mount
 * contract (replacing the projected volumes through podOverrides). Proven:
 * - ZooKeeper's discovery names its class, and the brokers connect to its TLS-only client port
 *   (Kafka's ZooKeeper client over Netty, trusting the class's CA from Kafka's internal files,
 *   checking the server's name): two brokers register and become Ready;
 * - that client port asks every client for a certificate (a `tls` AuthenticationClass of the class
 *   `tls`), and the brokers show theirs of that class: without it they could not register;
 * - a client trusting the CA creates a topic replicated on both brokers (on the mutual-TLS
 *   internal listener), produces and consumes through the TLS bootstrap;
 * - a client trusting another CA fails the handshake and reads nothing;
 * - a broker writes keelson's structured log file (Kafka 3.x on Log4j 2), its ZooKeeper session in it.
 * Each failure prints the pods' logs.
 */
import type * as k8s from '@kubernetes/client-node';
import { Chart, Testing } from 'cdk8s';
import { KafkaCluster } from '../../constructs/kafka';
import { kafkaImageRecipe } from '../../constructs/kafka/image';
import { ZookeeperCluster } from '../../constructs/zookeeper';
import { zookeeperImageRecipe } from '../../constructs/zookeeper/image';
import { tlsVolumeName } from '../../lib';
import { KubeClient } from '../../lib/operator/client';
import { applyAll, RESTRICTED, type Manifest } from './admission';
import { kafkaJava, produceConsume } from './kafka-client-support';
import {
  FIRST_TIER_JIT,
  buildImageOnRealNode,
  podsLogs,
  realNode,
  REAL_NODE_PLACEMENT,
  runClientPod,
  waitPodsReady,
  HostPathVolumes,
} from './real-node-support';
import { expectSharedRecordShape, readStructuredLog } from './structured-logs';
import { adminClients, adminKubeConfig, useTestNamespace } from './support';
import { fileSecret, podDnsNames, TestPki } from './test-pki';

jest.setTimeout(40 * 60_000);

const KAFKA_VERSION = '3.9.1';
const ZOOKEEPER_VERSION = '3.9.4';
const STORAGE_CLASS = 'keelson-test-hostpath';
const BROKER_GROUPS = ['a', 'b'];

describe(`Kafka ${KAFKA_VERSION} on ZooKeeper ${ZOOKEEPER_VERSION}, both with TLS, on the real node`, () => {
  const ns = useTestNamespace('kafka-zk-tls', RESTRICTED);
  const { core } = adminClients();
  const client = new KubeClient(adminKubeConfig());
  const volumes = new HostPathVolumes('kafka-zk-tls');
  const ca = new TestPki('keelson test CA of class tls');
  const otherCa = new TestPki('keelson test other CA');

  afterAll(async () => {
    await volumes.removeAll();
    ca.remove();
    otherCa.remove();
  });

  it('registers its brokers in a TLS ZooKeeper and serves clients over TLS', async () => {
    await realNode();
    const started = Date.now();
    await buildImageOnRealNode(zookeeperImageRecipe(ZOOKEEPER_VERSION));
    await buildImageOnRealNode(kafkaImageRecipe(KAFKA_VERSION));
    const imported = Date.now();
    for (const i of [0, 1]) await volumes.add(`${ns.name}-${i}`, STORAGE_CLASS);

    const chart = new Chart(Testing.app(), 'platform', { namespace: ns.name });
    const options = {
      tlsClasses: [{ name: 'tls' }],
      authenticationClasses: [
        { name: 'zk-clients', provider: 'tls' as const, spec: { tls: { tlsClass: 'tls' } } },
      ],
    };
    const secretVolumes = (prefix: string) =>
      (['server', 'internal'] as const).map((use) => ({
        name: tlsVolumeName(use),
        secret: { secretName: `${prefix}-${use}` },
      }));
    const zk = new ZookeeperCluster(
      chart,
      'zk',
      {
        image: { productVersion: ZOOKEEPER_VERSION, pullPolicy: 'Never' },
        clusterConfig: { authentication: [{ authenticationClass: 'zk-clients' }] },
        servers: {
          config: { resources: { memory: { limit: '384Mi' }, cpu: { min: '100m', max: '1' } } },
          podOverrides: { spec: REAL_NODE_PLACEMENT },
          roleGroups: { a: { replicas: 1, podOverrides: { spec: { volumes: secretVolumes('zk-a') } } } },
        },
      },
      options,
    );
    const config = {
      resources: {
        memory: { limit: '512Mi' },
        cpu: { min: '100m', max: '1' },
        storage: { 'log-dirs': { capacity: '1Gi', storageClass: STORAGE_CLASS } },
      },
    };
    const kafka = new KafkaCluster(
      chart,
      'kafka',
      {
        image: { productVersion: KAFKA_VERSION, pullPolicy: 'Never' },
        zookeeper: zk,
        brokers: {
          ...FIRST_TIER_JIT,
          podOverrides: { spec: REAL_NODE_PLACEMENT },
          roleGroups: Object.fromEntries(
            BROKER_GROUPS.map((g) => [
              g,
              { replicas: 1, config, podOverrides: { spec: { volumes: secretVolumes(`brokers-${g}`) } } },
            ]),
          ),
        },
      },
      options,
    );
    expect(zk.discoveryData.ZOOKEEPER_TLS_CLASS).toBe('tls');
    expect(zk.discoveryData.ZOOKEEPER_CLIENT_CERTIFICATE_CLASS).toBe('tls');
    const manifests = Testing.synth(chart) as Manifest[];
    const brokerConfig = manifests.find(
      (m) => m.kind === 'ConfigMap' && m.metadata.name === `kafka-brokers-${BROKER_GROUPS[0]}`,
    ) as unknown as { data: Record<string, string> };
    expect(brokerConfig.data['broker.properties']).toContain('zookeeper.ssl.client.enable=true');
    expect(brokerConfig.data['broker.properties']).toMatch(/^zookeeper\.ssl\.keystore\.location=\S+$/m);
    const zkConfig = manifests.find(
      (m) => m.kind === 'ConfigMap' && m.metadata.name === 'zk-servers-a',
    ) as unknown as {
      data: Record<string, string>;
    };
    expect(zkConfig.data['zoo.cfg']).toContain('ssl.clientAuth=need');

    const secrets: k8s.V1Secret[] = [];
    const zkNames = podDnsNames('zk-servers-a-0', 'zk-servers-a-headless', ns.name, ['zk-servers']);
    for (const use of ['server', 'internal']) {
      secrets.push(fileSecret(`zk-a-${use}`, ca.issue(`zk-a-${use}`, zkNames)));
    }
    for (const g of BROKER_GROUPS) {
      const names = podDnsNames(`kafka-brokers-${g}-0`, `kafka-brokers-${g}-headless`, ns.name, [
        'kafka-brokers',
      ]);
      for (const use of ['server', 'internal']) {
        secrets.push(fileSecret(`brokers-${g}-${use}`, ca.issue(`brokers-${g}-${use}`, names)));
      }
    }
    const trust = '/trust';
    secrets.push(
      fileSecret('client-trust', {
        'ca.crt': ca.caPem,
        'other-ca.crt': otherCa.caPem,
        'tls.properties': `security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.location=${trust}/ca.crt\n`,
        'wrong-ca.properties':
          'security.protocol=SSL\nssl.truststore.type=PEM\n' +
          `ssl.truststore.location=${trust}/other-ca.crt\nrequest.timeout.ms=10000\ndefault.api.timeout.ms=30000\n`,
      }),
    );
    for (const body of secrets) await core.createNamespacedSecret({ namespace: ns.name, body });
    expect(await applyAll(client, manifests, ns.name)).toEqual([]);

    const brokers = BROKER_GROUPS.map((g) => `kafka-brokers-${g}-0`);
    const pods = ['zk-servers-a-0', ...brokers];
    const logs = () => podsLogs(ns.name, pods);
    await waitPodsReady(ns.name, pods, 15 * 60_000);
    const ready = Date.now();
    process.stdout.write(
      `kafka on zookeeper, TLS, on the real node: images ${((imported - started) / 1000).toFixed(1)} s, ` +
        `ZooKeeper and two brokers Ready ${((ready - imported) / 1000).toFixed(1)} s after apply\n`,
    );

    // Kafka 3.x in ZooKeeper mode writes keelson's structured file too (Log4j 2 through the Log4j 1
    // bridge, as in KRaft mode): the same record shape, the broker's start, its ZooKeeper session.
    const records = await readStructuredLog(ns.name, brokers[0], 'kafka');
    expectSharedRecordShape(records);
    expect(records).toContainEqual(
      expect.objectContaining({
        level: 'INFO',
        logger: 'kafka.server.KafkaServer',
        message: expect.stringMatching(/\bstarted$/),
      }),
    );
    expect(records).toContainEqual(
      expect.objectContaining({
        logger: 'kafka.zookeeper.ZooKeeperClient',
        message: expect.stringMatching(/Connected/),
      }),
    );

    const bootstrap = kafka.bootstrapServers;
    const script = [
      produceConsume(KAFKA_VERSION, bootstrap, 'orders', {
        rf: 2,
        messages: ['keelson-zk-tls-1'],
        expect: 1,
        config: `${trust}/tls.properties`,
      }),
      'set +e',
      `timeout 90 ${kafkaJava(KAFKA_VERSION, 'org.apache.kafka.tools.TopicCommand', `--bootstrap-server ${bootstrap} --command-config ${trust}/wrong-ca.properties --list`)} > /tmp/wrong-ca.log 2>&1; status=$?`,
      `echo "wrong CA: status=$status listed=$(grep -c '^orders$' /tmp/wrong-ca.log) ` +
        `handshake=$(grep -c -i -E 'SSL handshake failed|SSLHandshakeException|PKIX path' /tmp/wrong-ca.log)"`,
      'tail -3 /tmp/wrong-ca.log',
      'true',
    ].join('\n');
    const output = await runClientPod(
      ns.name,
      {
        name: 'client',
        image: kafkaImageRecipe(KAFKA_VERSION).reference,
        command: ['/bin/bash', '-c', script],
        labels: { 'app.kubernetes.io/name': 'kafka', 'app.kubernetes.io/instance': 'kafka' },
        volumes: [{ volume: { name: 'trust', secret: { secretName: 'client-trust' } }, mountPath: trust }],
      },
      logs,
      10 * 60_000,
    );
    const report = async (what: string) => `${what}\n--- client\n${output}\n--- pods\n${await logs()}`;
    const lines = output.split('\n');
    process.stdout.write(
      `kafka on zookeeper TLS client:\n${lines.filter((l) => /^(consumed|wrong CA|Topic:)/.test(l)).join('\n')}\n`,
    );
    if (!lines.includes('consumed: keelson-zk-tls-1'))
      throw new Error(await report('the message was not consumed over TLS'));
    const wrong = lines.find((l) => l.startsWith('wrong CA: '));
    if (!wrong || !/status=[1-9]\d* listed=0 handshake=[1-9]/.test(wrong))
      throw new Error(await report(`a client trusting another CA: ${wrong}`));
    // The brokers reached ZooKeeper over TLS: their logs say so, and ZooKeeper has no plaintext port.
    const brokerLogs = await podsLogs(ns.name, brokers);
    if (!/ClientCnxnSocketNetty|SSL handler added|zookeeper\.ssl\.client\.enable = true/i.test(brokerLogs))
      throw new Error(await report('no sign of a TLS ZooKeeper client in the brokers’ logs'));
  });
});
