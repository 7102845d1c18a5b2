/**
 * Kafka's versions besides 4.1.0 KRaft (kafka-real-node.test.ts) on the real node, from keelson's
 * manifests and images, in namespaces enforcing the restricted Pod Security profile:
 * - ZooKeeper mode: Kafka 3.9.1 brokers on a ZookeeperZnode of a keelson ZookeeperCluster create a
 *   topic replicated to every broker, a message produced through the bootstrap Service is consumed,
 *   the brokers registered under the ZNode's chroot (not the root) and serve Prometheus text; a
 *   Kafka 3.8.1 broker on a ZNode of its own in the same ensemble does the same;
 * - rolling version upgrades in KRaft mode, by changing `image.productVersion` and server-side
 *   applying the synth output again: 4.0.0 → 4.1.0 and 3.9.1 → 4.0.0 (where the pods switch from
 *   Log4j 1 to Log4j 2). Every pod is replaced by one of the new image under the same name, claim
 *   and volume, with the same node id and log directory id (meta.properties); messages produced
 *   before the upgrade are consumed after it; `metadata.version` stays at the old version's until
 *   the user finalises it, and after 4.1's feature levels are set (all but `kraft.version`) it is
 *   4.1's, the quorum stays static, and the cluster still produces and consumes.
 * The node has no storage provisioner that gives a volume to uid 10001: the test creates hostPath
 * PersistentVolumes (world-writable folders) of a class of its own, which keelson's claims bind to.
 * Every failure prints the pods' logs.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Chart, Testing } from 'cdk8s';
import { KafkaCluster } from '../../constructs/kafka';
import { kafkaImageRecipe } from '../../constructs/kafka/image';
import { ZookeeperCluster, ZookeeperZnode } from '../../constructs/zookeeper';
import { zookeeperImageRecipe } from '../../constructs/zookeeper/image';
import { buildImage, keelsonCacheDir } from '../../lib/image';
import { KubeClient } from '../../lib/operator/client';
import { applyAll, RESTRICTED, type Manifest } from './admission';
import {
  importImageToRealNode,
  podsLogs,
  realNode,
  REAL_NODE_PLACEMENT,
  runClientPod,
  waitPodsReady,
} from './real-node-support';
import { adminClients, adminKubeConfig, useTestNamespace, waitFor } from './support';

jest.setTimeout(45 * 60_000);

const ZOOKEEPER_VERSION = '3.9.4';

/** Builds (or takes from the cache) and imports keelson's image of each Kafka version. */
async function importKafkaImages(versions: string[]): Promise<void> {
  for (const version of versions) {
    const built = await buildImage(kafkaImageRecipe(version), path.join(keelsonCacheDir(), 'images', 'out'));
    await importImageToRealNode(built);
  }
}

/** Small JVMs: controllers, brokers and a ZooKeeper share the 2-core test machine. */
function smallNode(storageClass: string) {
  return {
    resources: {
      memory: { limit: '512Mi' },
      cpu: { min: '100m', max: '1' },
      storage: { 'log-dirs': { capacity: '1Gi', storageClass } },
    },
  };
}

/**
 * A client's bash prelude: warnings only from the tools' logging (to stderr), and `retry CMD…`, which
 * runs CMD until it succeeds or five minutes have passed, so that a client started while the
 * bootstrap Service's endpoints or DNS records are still being published waits for them instead of
 * failing.
 */
const PRELUDE = [
  'set -eu',
  "printf '%s\\n' 'log4j.rootLogger=WARN, stderr' 'log4j.appender.stderr=org.apache.log4j.ConsoleAppender' " +
    "'log4j.appender.stderr.Target=System.err' 'log4j.appender.stderr.layout=org.apache.log4j.PatternLayout' > /tmp/log4j.properties",
  "printf '%s\\n' 'appender.err.type=Console' 'appender.err.name=err' 'appender.err.target=SYSTEM_ERR' " +
    "'appender.err.layout.type=PatternLayout' 'rootLogger.level=WARN' 'rootLogger.appenderRef.err.ref=err' > /tmp/log4j2.properties",
  'deadline=$(( $(date +%s) + 300 ))',
  'retry() { until "$@"; do if [ "$(date +%s)" -ge "$deadline" ]; then echo "gave up: $*"; return 1; fi; sleep 3; done; }',
].join('\n');

/** `java` running one of Kafka's classes with a small heap and the prelude's logging. */
function kafkaJava(version: string, mainClass: string, args: string): string {
  const log4j = version.startsWith('3.')
    ? '-Dlog4j.configuration=file:/tmp/log4j.properties'
    : '-Dlog4j2.configurationFile=/tmp/log4j2.properties';
  return `java -Xmx128m ${log4j} -cp '/opt/kafka/libs/*' ${mainClass} ${args}`;
}

/** `major.minor` of a version. */
function minor(version: string): string {
  return version.split('.').slice(0, 2).join('.');
}

/** The finalised `metadata.version` in FeatureCommand's `describe` output. */
function metadataVersion(out: string): string | undefined {
  return /Feature: metadata\.version\s.*FinalizedVersionLevel: ([\w.-]+)/.exec(out)?.[1];
}

/** The console producer's class: Scala's in Kafka 3, the tools module's in Kafka 4. */
function producerClass(version: string): string {
  return version.startsWith('3.') ? 'kafka.tools.ConsoleProducer' : 'org.apache.kafka.tools.ConsoleProducer';
}

/**
 * A client script that creates `topic` (replication factor `rf`) if it is missing, produces
 * `messages` through `bootstrap`, and consumes the topic from the beginning until `expect` messages
 * were read, each step retried until it succeeds.
 */
function produceConsume(
  version: string,
  bootstrap: string,
  topic: string,
  options: { rf?: number; messages?: string[]; expect: number },
): string {
  const lines = [PRELUDE];
  const topics = (args: string) =>
    kafkaJava(version, 'org.apache.kafka.tools.TopicCommand', `--bootstrap-server ${bootstrap} ${args}`);
  if (options.rf !== undefined) {
    lines.push(
      `retry ${topics(`--create --if-not-exists --topic ${topic} --partitions 2 --replication-factor ${options.rf}`)}`,
      `retry ${topics(`--describe --topic ${topic}`)}`,
    );
  }
  if (options.messages?.length) {
    const producer = kafkaJava(
      version,
      producerClass(version),
      `--bootstrap-server ${bootstrap} --topic ${topic} --producer-property acks=all`,
    );
    lines.push(`produce() { printf '%s\\n' ${options.messages.join(' ')} | ${producer}; }`, 'retry produce');
  }
  const consumer = kafkaJava(
    version,
    'org.apache.kafka.tools.consumer.ConsoleConsumer',
    `--bootstrap-server ${bootstrap} --topic ${topic} --from-beginning --max-messages ${options.expect} --timeout-ms 30000`,
  );
  lines.push(
    // A consumer that times out before the partitions' leaders are known reads fewer messages.
    `consume() { ${consumer} > /tmp/consumed; [ "$(grep -c . /tmp/consumed)" -ge ${options.expect} ]; }`,
    'retry consume',
    'sed "s/^/consumed: /" /tmp/consumed',
  );
  return lines.join('\n');
}

describe('Kafka versions on the real node', () => {
  const ns = useTestNamespace('kafka-versions', RESTRICTED);
  const { core, apps } = adminClients();
  const client = new KubeClient(adminKubeConfig());
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-kafka-versions-'));
  const volumes: string[] = [];

  afterAll(async () => {
    for (const name of volumes) await core.deletePersistentVolume({ name }).catch(() => undefined);
    fs.rmSync(work, { recursive: true, force: true });
  });

  /** The storage class of the current test's volumes: its own, so no other test's claim binds them. */
  const storageClass = () => `${ns.name}-hostpath`;

  /** `count` hostPath PersistentVolumes of 1Gi of the test's class, in world-writable folders. */
  async function persistentVolumes(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const name = `${ns.name}-${i}`;
      const dir = path.join(work, name);
      fs.mkdirSync(dir);
      fs.chmodSync(dir, 0o777);
      await core.createPersistentVolume({
        body: {
          metadata: { name },
          spec: {
            capacity: { storage: '1Gi' },
            accessModes: ['ReadWriteOnce'],
            storageClassName: storageClass(),
            persistentVolumeReclaimPolicy: 'Retain',
            hostPath: { path: dir, type: 'Directory' },
          },
        },
      });
      volumes.push(name);
    }
  }

  /** The folder on this machine behind a claim's volume. */
  async function claimFolder(claim: string): Promise<string> {
    const pvc = await core.readNamespacedPersistentVolumeClaim({ name: claim, namespace: ns.name });
    const pv = await core.readPersistentVolume({ name: pvc.spec!.volumeName! });
    return pv.spec!.hostPath!.path;
  }

  /** The `meta.properties` Kafka wrote into a claim's log directory, as key → value. */
  async function metaProperties(claim: string): Promise<Record<string, string>> {
    const text = fs.readFileSync(path.join(await claimFolder(claim), 'meta.properties'), 'utf8');
    return Object.fromEntries(
      text
        .split('\n')
        .filter((l) => /^[\w.]+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
  }

  const isKafka = (m: Manifest) =>
    (m.metadata as { labels?: Record<string, string> }).labels?.['app.kubernetes.io/name'] === 'kafka';

  it('runs 3.9.1 and 3.8.1 brokers in ZooKeeper mode under ZNodes of a keelson ZooKeeper', async () => {
    await realNode();
    const started = Date.now();
    const zkImage = await buildImage(
      zookeeperImageRecipe(ZOOKEEPER_VERSION),
      path.join(keelsonCacheDir(), 'images', 'out'),
    );
    await importImageToRealNode(zkImage);
    await importKafkaImages(['3.9.1', '3.8.1']);
    // One ZooKeeper server, two 3.9.1 brokers, one 3.8.1 broker.
    await persistentVolumes(4);

    const chart = new Chart(Testing.app(), 'platform', { namespace: ns.name });
    const zk = new ZookeeperCluster(chart, 'zk', {
      image: { productVersion: ZOOKEEPER_VERSION, pullPolicy: 'Never' },
      servers: {
        config: {
          resources: {
            memory: { limit: '384Mi' },
            cpu: { min: '100m', max: '1' },
            storage: { data: { capacity: '1Gi', storageClass: storageClass() } },
          },
        },
        podOverrides: { spec: REAL_NODE_PLACEMENT },
        roleGroups: { default: { replicas: 1 } },
      },
    });
    const znode = new ZookeeperZnode(chart, 'kafka-znode', { zookeeper: zk });
    const legacyZnode = new ZookeeperZnode(chart, 'legacy-znode', { zookeeper: zk });
    const brokers = (version: string, replicas: number) => ({
      image: { productVersion: version, pullPolicy: 'Never' as const },
      brokers: {
        podOverrides: { spec: REAL_NODE_PLACEMENT },
        roleGroups: { default: { replicas, config: smallNode(storageClass()) } },
      },
    });
    const kafka = new KafkaCluster(chart, 'kafka', { ...brokers('3.9.1', 2), zookeeper: znode });
    new KafkaCluster(chart, 'legacy', { ...brokers('3.8.1', 1), zookeeper: legacyZnode });
    const manifests = Testing.synth(chart) as Manifest[];

    // ZooKeeper first: a broker that finds no ZooKeeper exits, and its restarts back off.
    const zkPods = ['zk-servers-default-0'];
    expect(
      await applyAll(
        client,
        manifests.filter((m) => !isKafka(m)),
        ns.name,
      ),
    ).toEqual([]);
    await waitPodsReady(ns.name, zkPods);
    expect(await applyAll(client, manifests, ns.name)).toEqual([]);
    const kafkaPods = ['kafka-brokers-default-0', 'kafka-brokers-default-1'];
    const legacyPods = ['legacy-brokers-default-0'];
    const all = [...zkPods, ...kafkaPods, ...legacyPods];
    const applied = Date.now();
    await waitPodsReady(ns.name, [...kafkaPods, ...legacyPods], 15 * 60_000, () => podsLogs(ns.name, all));
    const ready = Date.now();

    const bootstrap = (name: string) => `${name}-brokers.${ns.name}.svc.cluster.local:9092`;
    const out = await runClientPod(
      ns.name,
      {
        name: 'client-zk-391',
        image: kafkaImageRecipe('3.9.1').reference,
        command: [
          '/bin/bash',
          '-c',
          produceConsume('3.9.1', bootstrap('kafka'), 'orders', {
            rf: 2,
            messages: ['zk-order-1'],
            expect: 1,
          }),
        ],
      },
      () => podsLogs(ns.name, all),
      10 * 60_000,
    );
    expect(out).toMatch(/ReplicationFactor: 2/);
    expect(out).toContain('consumed: zk-order-1');

    const legacy = await runClientPod(
      ns.name,
      {
        name: 'client-zk-381',
        image: kafkaImageRecipe('3.8.1').reference,
        command: [
          '/bin/bash',
          '-c',
          produceConsume('3.8.1', bootstrap('legacy'), 'events', {
            rf: 1,
            messages: ['legacy-event-1'],
            expect: 1,
          }),
        ],
      },
      () => podsLogs(ns.name, all),
      10 * 60_000,
    );
    expect(legacy).toMatch(/ReplicationFactor: 1/);
    expect(legacy).toContain('consumed: legacy-event-1');

    // The brokers registered under their ZNode's chroot, and nothing of Kafka's is at the root.
    const zkShell = (args: string) =>
      `java -Xmx64m -cp '/opt/kafka/libs/*' org.apache.zookeeper.ZooKeeperMain -server ${zk.hosts} ${args} 2>/dev/null`;
    const tree = await runClientPod(
      ns.name,
      {
        name: 'client-zk-tree',
        image: kafkaImageRecipe('3.9.1').reference,
        command: [
          '/bin/bash',
          '-c',
          [
            PRELUDE,
            `for path in / ${znode.path}/brokers/ids ${legacyZnode.path}/brokers/ids; do`,
            `  retry ${zkShell('ls "$path"')} > /tmp/ls`,
            '  echo "ls $path: $(grep "^\\[" /tmp/ls)"',
            'done',
            `echo "cluster: $(${zkShell(`get ${znode.path}/cluster/id`)} | grep '"id"')"`,
            // Each version's exporter agent serves Prometheus text (Kafka 3 logs through Log4j 1).
            // A subshell: a refused connection fails the function, not the script.
            'metrics() ( exec 3<>"/dev/tcp/$1/9404" && printf \'GET /metrics HTTP/1.0\\r\\n\\r\\n\' >&3 && cat <&3 > /tmp/metrics )',
            ...[kafkaPods[0], legacyPods[0]].map(
              (pod) =>
                `retry metrics ${pod}.${pod.replace(/-\d+$/, '')}-headless.${ns.name}.svc.cluster.local && ` +
                `grep -E '^kafka_server_replicamanager_partitioncount ' /tmp/metrics | sed 's/^/${pod}: /'`,
            ),
          ].join('\n'),
        ],
      },
      () => podsLogs(ns.name, all),
    );
    const ids = (chroot: string) => {
      const line = new RegExp(`^ls ${chroot}/brokers/ids: \\[(.*)\\]$`, 'm').exec(tree);
      return line
        ? line[1]
            .split(',')
            .map((s) => Number(s.trim()))
            .sort((a, b) => a - b)
        : [];
    };
    const root = /^ls \/: \[(.*)\]$/m.exec(tree)?.[1].split(', ') ?? [];
    const offset = (pod: string) => {
      const script = manifests.find(
        (m) => m.kind === 'StatefulSet' && pod.startsWith(`${m.metadata.name}-`),
      ) as unknown as { spec: { template: { spec: { containers: { command: string[] }[] } } } };
      return Number(/\+ (\d+) \)\)/.exec(script.spec.template.spec.containers[0].command[2])![1]);
    };
    expect({ tree, ids: ids(znode.path) }).toMatchObject({
      ids: [offset(kafkaPods[0]), offset(kafkaPods[0]) + 1],
    });
    expect({ tree, ids: ids(legacyZnode.path) }).toMatchObject({ ids: [offset(legacyPods[0])] });
    // The root holds ZooKeeper's own node and the two chroots; no `brokers`, `controller` or `config`.
    expect({ tree, root: root.sort() }).toMatchObject({
      root: [znode.path.slice(1), legacyZnode.path.slice(1), 'zookeeper'].sort(),
    });
    expect(tree).toMatch(/^cluster: .*"id":"[\w-]+"/m);
    for (const pod of [kafkaPods[0], legacyPods[0]]) {
      expect(tree).toMatch(new RegExp(`^${pod}: kafka_server_replicamanager_partitioncount \\d`, 'm'));
    }
    expect(kafka.bootstrapServers).toBe(bootstrap('kafka'));
    process.stdout.write(
      `kafka zookeeper mode on the real node: images ${((applied - started) / 1000).toFixed(1)} s, ` +
        `brokers Ready ${((ready - applied) / 1000).toFixed(1)} s after apply, ` +
        `clients ${((Date.now() - ready) / 1000).toFixed(1)} s\n`,
    );
  });

  /**
   * A KRaft Kafka of `from` (one controller, `brokers` brokers) upgraded to `to` by applying the
   * synth output of the same spec with the new productVersion, as `kubectl apply --server-side`
   * would. Returns what the checks after the roll need.
   */
  async function rollingUpgrade(from: string, to: string, brokers: number) {
    await realNode();
    const started = Date.now();
    await importKafkaImages([from, to]);
    await persistentVolumes(1 + brokers);

    const manifests = (version: string): Manifest[] => {
      const chart = new Chart(Testing.app(), 'platform', { namespace: ns.name });
      new KafkaCluster(chart, 'kafka', {
        image: { productVersion: version, pullPolicy: 'Never' },
        controllers: {
          podOverrides: { spec: REAL_NODE_PLACEMENT },
          roleGroups: { default: { replicas: 1, config: smallNode(storageClass()) } },
        },
        brokers: {
          podOverrides: { spec: REAL_NODE_PLACEMENT },
          roleGroups: { default: { replicas: brokers, config: smallNode(storageClass()) } },
        },
      });
      return Testing.synth(chart) as Manifest[];
    };
    const pods = [
      'kafka-controllers-default-0',
      ...Array.from({ length: brokers }, (_, i) => `kafka-brokers-default-${i}`),
    ];
    const claims = pods.map((pod) => `log-dirs-${pod}`);
    const logs = () => podsLogs(ns.name, pods);
    const bootstrap = `kafka-brokers.${ns.name}.svc.cluster.local:9092`;
    const features = (version: string) =>
      kafkaJava(version, 'org.apache.kafka.tools.FeatureCommand', `--bootstrap-server ${bootstrap} describe`);
    const clientPod = async (name: string, version: string, script: string) =>
      runClientPod(
        ns.name,
        { name, image: kafkaImageRecipe(version).reference, command: ['/bin/bash', '-c', script] },
        logs,
        10 * 60_000,
      );

    expect(await applyAll(client, manifests(from), ns.name)).toEqual([]);
    const applied = Date.now();
    await waitPodsReady(ns.name, pods, 15 * 60_000);
    const ready = Date.now();
    const before = await clientPod(
      'client-before',
      from,
      [
        produceConsume(from, bootstrap, 'orders', {
          rf: brokers,
          messages: ['before-1', 'before-2', 'before-3'],
          expect: 3,
        }),
        `retry ${features(from)}`,
      ].join('\n'),
    );
    expect(before).toMatch(new RegExp(`ReplicationFactor: ${brokers}\\s`));
    expect(before).toContain('consumed: before-3');
    expect(metadataVersion(before)).toMatch(new RegExp(`^${minor(from).replace('.', '\\.')}-IV\\d+$`));

    const podsBefore = await Promise.all(
      pods.map((name) => core.readNamespacedPod({ name, namespace: ns.name })),
    );
    const claimsBefore = await Promise.all(
      claims.map((name) => core.readNamespacedPersistentVolumeClaim({ name, namespace: ns.name })),
    );
    const metaBefore = await Promise.all(claims.map(metaProperties));
    for (const meta of metaBefore) expect(meta['node.id']).toMatch(/^\d+$/);

    // The upgrade: the same spec with the new productVersion.
    expect(await applyAll(client, manifests(to), ns.name)).toEqual([]);
    const upgrading = Date.now();
    for (const set of ['kafka-controllers-default', 'kafka-brokers-default']) {
      await waitFor(
        `StatefulSet ${set} to roll out ${to}`,
        async () => {
          const s = await apps.readNamespacedStatefulSet({ name: set, namespace: ns.name });
          const st = s.status;
          return (
            (st?.observedGeneration ?? 0) >= (s.metadata?.generation ?? 1) &&
            st?.updateRevision === st?.currentRevision &&
            st?.updatedReplicas === s.spec?.replicas &&
            st?.readyReplicas === s.spec?.replicas
          );
        },
        20 * 60_000,
      ).catch(async (error: Error) => {
        throw new Error(`${error.message}\n${await logs()}`);
      });
    }
    await waitPodsReady(ns.name, pods, 10 * 60_000);
    const upgraded = Date.now();

    for (const [i, name] of pods.entries()) {
      const pod = await core.readNamespacedPod({ name, namespace: ns.name });
      // A new pod (the old one was replaced) of the new image, under the same name.
      expect(pod.metadata?.uid).not.toBe(podsBefore[i].metadata?.uid);
      expect(pod.spec?.containers[0].image).toBe(kafkaImageRecipe(to).reference);
      expect(pod.spec?.containers[0].securityContext).toMatchObject({ readOnlyRootFilesystem: true });
      const claim = await core.readNamespacedPersistentVolumeClaim({ name: claims[i], namespace: ns.name });
      expect(claim.metadata?.uid).toBe(claimsBefore[i].metadata?.uid);
      expect(claim.spec?.volumeName).toBe(claimsBefore[i].spec?.volumeName);
    }
    // The same node ids and log directories (Kafka refuses a directory whose ids differ from its config).
    expect(await Promise.all(claims.map(metaProperties))).toEqual(metaBefore);

    const after = await clientPod(
      'client-after',
      to,
      [
        produceConsume(to, bootstrap, 'orders', { messages: ['after-1'], expect: 4 }),
        `retry ${features(to)}`,
      ].join('\n'),
    );
    for (const m of ['before-1', 'before-2', 'before-3', 'after-1']) {
      expect(after).toContain(`consumed: ${m}`);
    }
    // keelson does not finalise the upgrade: the cluster keeps the old metadata.version until the user does.
    expect(metadataVersion(after)).toBe(metadataVersion(before));
    process.stdout.write(
      `kafka ${from} → ${to} on the real node: images ${((applied - started) / 1000).toFixed(1)} s, ` +
        `${from} Ready ${((ready - applied) / 1000).toFixed(1)} s after apply, ` +
        `roll to ${to} ${((upgraded - upgrading) / 1000).toFixed(1)} s, metadata.version ${metadataVersion(after)}\n`,
    );
    return { bootstrap, clientPod, features, before };
  }

  it('upgrades KRaft 4.0.0 → 4.1.0 by re-applying the synth output, keeping data, ids and claims', async () => {
    const { bootstrap, clientPod, features } = await rollingUpgrade('4.0.0', '4.1.0', 2);
    // What the user runs once every pod is on 4.1.0 (constructs/kafka/README.md): every feature at
    // 4.1's level except kraft.version, which `--release-version` would raise to 1 and so turn
    // keelson's static controller quorum into a dynamic one.
    const featureCommand = (args: string) =>
      kafkaJava('4.1.0', 'org.apache.kafka.tools.FeatureCommand', `--bootstrap-server ${bootstrap} ${args}`);
    const finalised = await clientPod(
      'client-finalise',
      '4.1.0',
      [
        PRELUDE,
        `${featureCommand('version-mapping --release-version 4.1')} > /tmp/mapping`,
        "levels=$(grep -E '^[a-z.]+=[1-9]' /tmp/mapping | grep -v '^kraft.version=' | sed -E 's/^([a-z.]+=[0-9]+).*/--feature \\1/')",
        'echo "finalise: $levels"',
        `retry ${featureCommand('upgrade $levels')}`,
        `retry ${features('4.1.0')}`,
        produceConsume('4.1.0', bootstrap, 'orders', { messages: ['finalised-1'], expect: 5 }),
      ].join('\n'),
    );
    expect(metadataVersion(finalised)).toMatch(/^4\.1-IV\d+$/);
    expect(finalised).toMatch(/Feature: kraft\.version\s.*FinalizedVersionLevel: 0\s/);
    expect(finalised).toContain('consumed: finalised-1');
    expect(finalised).toContain('consumed: before-1');
  });

  it('upgrades KRaft 3.9.1 → 4.0.0 across the switch from Log4j 1 to Log4j 2', async () => {
    const { before } = await rollingUpgrade('3.9.1', '4.0.0', 1);
    expect(metadataVersion(before)).toMatch(/^3\.9-IV\d+$/);
  });
});
