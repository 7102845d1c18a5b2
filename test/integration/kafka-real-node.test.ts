/**
 * Kafka in KRaft mode from keelson's manifests on the real node (real containers, keelson's image
 * built here and imported into the node's containerd), in a namespace enforcing the restricted Pod
 * Security profile:
 * - one controller and three brokers become Ready (keelson's probes);
 * - a client pod running the same image's classes creates a topic with replication factor 3,
 *   produces a message through the bootstrap Service and consumes it;
 * - a broker serves Prometheus text at :9404/metrics;
 * - applying the manifests for four brokers keeps the three running pods (same node ids, no
 *   restart) and the fourth joins the quorum as an observer with the next node id;
 * - every pod runs as uid 10001 with a read-only root (the restricted profile admits nothing else).
 * The node has no storage provisioner: the test creates hostPath PersistentVolumes of a class of its
 * own, which the claims of keelson's StatefulSets bind to. Each failure prints the pods' logs.
 */
import { Chart, Testing } from 'cdk8s';
import { KafkaCluster } from '../../constructs/kafka';
import { kafkaImageRecipe } from '../../constructs/kafka/image';
import { KubeClient } from '../../lib/operator/client';
import { applyAll, RESTRICTED, type Manifest } from './admission';
import {
  buildImageOnRealNode,
  podsLogs,
  realNode,
  REAL_NODE_PLACEMENT,
  runClientPod,
  waitPodsReady,
  HostPathVolumes,
} from './real-node-support';
import { adminClients, adminKubeConfig, useTestNamespace } from './support';

jest.setTimeout(40 * 60_000);

const VERSION = '4.1.0';
const STORAGE_CLASS = 'keelson-test-hostpath';

describe(`Kafka ${VERSION} KRaft on the real node`, () => {
  const ns = useTestNamespace('kafka-real', RESTRICTED);
  const { core } = adminClients();
  const client = new KubeClient(adminKubeConfig());
  const volumes = new HostPathVolumes('kafka-node');

  afterAll(async () => {
    await volumes.removeAll();
  });

  function manifests(brokers: number): Manifest[] {
    const chart = new Chart(Testing.app(), 'platform', { namespace: ns.name });
    const config = (capacity: string) => ({
      resources: {
        memory: { limit: '512Mi' },
        cpu: { min: '100m', max: '1' },
        storage: { 'log-dirs': { capacity, storageClass: STORAGE_CLASS } },
      },
    });
    new KafkaCluster(chart, 'kafka', {
      image: { productVersion: VERSION, pullPolicy: 'Never' },
      controllers: {
        podOverrides: { spec: REAL_NODE_PLACEMENT },
        roleGroups: { default: { replicas: 1, config: config('1Gi') } },
      },
      brokers: {
        podOverrides: { spec: REAL_NODE_PLACEMENT },
        roleGroups: { default: { replicas: brokers, config: config('1Gi') } },
      },
    });
    return Testing.synth(chart) as Manifest[];
  }

  /** A client pod running one of Kafka's classes from keelson's image; returns its output. */
  const tool = (name: string, script: string, pods: string[]) =>
    runClientPod(
      ns.name,
      {
        name,
        image: kafkaImageRecipe(VERSION).reference,
        command: ['/bin/bash', '-c', script],
        labels: { 'app.kubernetes.io/name': 'kafka', 'app.kubernetes.io/instance': 'kafka' },
      },
      () => podsLogs(ns.name, pods),
    );
  const waitReady = (pods: string[]) => waitPodsReady(ns.name, pods, 15 * 60_000);

  const java = (mainClass: string, args: string) =>
    `java -Xmx128m -Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties -cp '/opt/kafka/libs/*' ${mainClass} ${args}`;

  it('runs a controller and three brokers, replicates, serves metrics, and scales brokers 3 → 4', async () => {
    await realNode();
    await buildImageOnRealNode(kafkaImageRecipe(VERSION));
    for (const i of [0, 1, 2, 3, 4]) await volumes.add(`${ns.name}-${i}`, STORAGE_CLASS);

    const controllers = ['kafka-controllers-default-0'];
    const three = ['kafka-brokers-default-0', 'kafka-brokers-default-1', 'kafka-brokers-default-2'];
    expect(await applyAll(client, manifests(3), ns.name)).toEqual([]);
    await waitReady([...controllers, ...three]);

    for (const name of [...controllers, ...three]) {
      const pod = await core.readNamespacedPod({ name, namespace: ns.name });
      expect(pod.spec?.containers[0].securityContext).toMatchObject({ readOnlyRootFilesystem: true });
      expect(pod.spec?.securityContext).toMatchObject({ runAsUser: 10001 });
    }

    const bootstrap = `kafka-brokers.${ns.name}.svc.cluster.local:9092`;
    const out = await tool(
      'client-produce-consume',
      [
        'set -eu',
        java(
          'org.apache.kafka.tools.TopicCommand',
          `--bootstrap-server ${bootstrap} --create --topic orders --partitions 3 --replication-factor 3`,
        ),
        java(
          'org.apache.kafka.tools.TopicCommand',
          `--bootstrap-server ${bootstrap} --describe --topic orders`,
        ),
        `echo keelson-order-1 | ${java('org.apache.kafka.tools.ConsoleProducer', `--bootstrap-server ${bootstrap} --topic orders`)}`,
        java(
          'org.apache.kafka.tools.consumer.ConsoleConsumer',
          `--bootstrap-server ${bootstrap} --topic orders --from-beginning --max-messages 1 --timeout-ms 60000`,
        ),
        // The metrics endpoint of the first broker, in Prometheus text.
        `exec 3<>/dev/tcp/kafka-brokers-default-0.kafka-brokers-default-headless.${ns.name}.svc.cluster.local/9404`,
        "printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' >&3",
        'grep -aiE "^(content-type|kafka_server_replicamanager_partitioncount|jvm_memory_used_bytes)" <&3',
      ].join('\n'),
      [...controllers, ...three],
    );
    expect(out).toMatch(/ReplicationFactor: 3/);
    expect(out).toContain('keelson-order-1');
    expect(out).toMatch(/content-type: text\/plain; version=0\.0\.4/i);
    expect(out).toMatch(/^kafka_server_replicamanager_partitioncount \d/m);

    // 3 → 4: the running brokers keep their pods (no restart), the fourth joins with the next id.
    const before = await Promise.all(
      three.map((name) => core.readNamespacedPod({ name, namespace: ns.name })),
    );
    expect(await applyAll(client, manifests(4), ns.name)).toEqual([]);
    const four = [...three, 'kafka-brokers-default-3'];
    await waitReady(four);
    for (const pod of before) {
      const now = await core.readNamespacedPod({ name: pod.metadata!.name!, namespace: ns.name });
      expect(now.metadata?.uid).toBe(pod.metadata?.uid);
      expect(now.status?.containerStatuses?.[0].restartCount).toBe(0);
    }
    const script = (before[0].spec!.containers[0].command ?? [])[2];
    const offset = Number(/\+ (\d+) \)\)/.exec(script)![1]);
    const quorum = await tool(
      'client-quorum',
      java(
        'org.apache.kafka.tools.MetadataQuorumCommand',
        `--bootstrap-server ${bootstrap} describe --replication`,
      ),
      [...controllers, ...four],
    );
    for (const id of [0, 1, 2, 3]) expect(quorum).toMatch(new RegExp(`^${offset + id}\\s`, 'm'));
  });
});
