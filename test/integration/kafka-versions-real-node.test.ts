/**
 * Every Kafka version keelson supports besides 4.1.0's first install (kafka-real-node.test.ts), run
 * on the real node from keelson's manifests and images, in namespaces enforcing the restricted Pod
 * Security profile, and rolled from version to version as constructs/kafka/README.md tells users to:
 * change `image.productVersion` (and, in ZooKeeper mode, `inter.broker.protocol.version`) and
 * server-side apply the synth output again.
 *
 * Each scenario is data (`SCENARIOS`: a mode, a number of brokers, the steps it goes through) run by
 * one runner, which checks at every step what every scenario promises: every pod Ready, of the
 * step's image, logging the step's version through keelson's log config; node ids of keelson's
 * numbering in `meta.properties`. At install and after the last roll, a client: a topic replicated
 * to every broker (at install), two messages produced through the bootstrap Service and every
 * message produced so far consumed (those of the install after every roll), each broker's Prometheus
 * text at :9404. After each roll: every pod replaced by one of the new image under the same name, on
 * the same claim and volume, with the same `meta.properties` (node id, log directory id).
 * Per mode:
 * - ZooKeeper mode (brokers on a ZookeeperZnode of a one-server keelson ZooKeeper): the brokers'
 *   ids are registered under the ZNode's chroot and nothing of Kafka's is at the root, at install and
 *   after the rolls; the chroot's cluster id is the one in the brokers' log directories; each broker runs the
 *   step's `inter.broker.protocol.version`;
 * - KRaft (one controller): `metadata.version` is the installed version's and stays so through
 *   every roll, until the user finalises it (the 4.1.0 scenario does, as the README says).
 * Kafka 3.x logs through Log4j 2 in keelson's images (Log4j's Log4j 1 bridge in place of reload4j).
 * The 3.8.1 KRaft scenario proves it at install (`checkLogging`): each pod writes the structured file
 * and its log agent ships the records to a test aggregator, with the pod's product, stacklet, role
 * and role group; a logger's level set through Kafka's Admin API (`BROKER_LOGGER` configs, served
 * by `kafka.utils.Log4jController` through the bridge) reads back and takes effect; and a logger's
 * level changed in the spec of the running stacklet takes effect without a restart (same pod, no
 * container restart, same pod template).
 * The node has no storage provisioner that gives a volume to uid 10001: the test creates hostPath
 * PersistentVolumes (world-writable folders) of a class of its own, which keelson's claims bind to.
 * Every failure prints the logs of the scenario's pods.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Chart, Testing } from 'cdk8s';
import { KafkaCluster } from '../../constructs/kafka';
import { kafkaImageRecipe } from '../../constructs/kafka/image';
import { ZookeeperCluster, ZookeeperZnode } from '../../constructs/zookeeper';
import { zookeeperImageRecipe } from '../../constructs/zookeeper/image';
import { KubeClient } from '../../lib/operator/client';
import { applyAll, RESTRICTED, type Manifest } from './admission';
import {
  FIRST_TIER_JIT,
  buildImageOnRealNode,
  execInPod,
  podsLogs,
  realNode,
  REAL_NODE_PLACEMENT,
  runClientPod,
  waitPodsReady,
  HostPathVolumes,
} from './real-node-support';
import { adminClients, adminKubeConfig, useTestNamespace, waitFor } from './support';
import { kafkaJava, PRELUDE, produceConsume } from './kafka-client-support';
import {
  AGGREGATOR_CONFIG_MAP,
  explainSkippedShipping,
  expectRecordsShipped,
  logAgentUsage,
  SHIP_LOGS,
  startLogShipping,
} from './log-shipping';
import {
  expectSharedRecordShape,
  readStructuredLog,
  waitForRecords,
  type LogRecord,
} from './structured-logs';
import type { OtlpReceiver } from '../support/otlp-receiver';

jest.setTimeout(45 * 60_000);
explainSkippedShipping('kafka-versions-real-node');

const ZOOKEEPER_VERSION = '3.9.4';

/** Builds (or takes from the cache) and imports keelson's image of each Kafka version. */
async function importKafkaImages(versions: string[]): Promise<void> {
  for (const version of versions) await buildImageOnRealNode(kafkaImageRecipe(version));
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

/** `major.minor` of a version. */
function minor(version: string): string {
  return version.split('.').slice(0, 2).join('.');
}

/** The finalised `metadata.version` in FeatureCommand's `describe` output. */
function metadataVersion(out: string): string | undefined {
  return /Feature: metadata\.version\s.*FinalizedVersionLevel: ([\w.-]+)/.exec(out)?.[1];
}

/** The topic every scenario writes to and reads from. */
const TOPIC = 'orders';

/** The node ids of a StatefulSet's pods, from the offset its start script adds to the ordinal. */
function nodeIds(manifests: Manifest[], statefulSet: string, replicas: number): number[] {
  const set = manifests.find(
    (m) => m.kind === 'StatefulSet' && m.metadata.name === statefulSet,
  ) as unknown as {
    spec: { template: { spec: { containers: { command: string[] }[] } } };
  };
  const offset = Number(/\+ (\d+) \)\)/.exec(set.spec.template.spec.containers[0].command[2])![1]);
  return Array.from({ length: replicas }, (_, i) => offset + i);
}

/** One state of a scenario's cluster: what the user's spec says at that point. */
interface Step {
  /** `image.productVersion`. */
  readonly version: string;
  /**
   * ZooKeeper mode: `inter.broker.protocol.version`, set through `brokers.configOverrides` (the old
   * `major.minor` while brokers of two versions run, as the README says).
   * @default unset: each broker speaks its own version's protocol
   */
  readonly interBrokerProtocol?: string;
}

/** What a scenario's own checks get from the runner. */
interface RunningCluster {
  /** The bootstrap servers, `host:port`. */
  readonly bootstrap: string;
  /** The messages produced so far, in order. */
  readonly messages: readonly string[];
  /** Runs a bash script in a client pod of `version`'s image and returns its log. */
  clientPod(name: string, version: string, script: string): Promise<string>;
  /** Runs `checks`; a failing one throws with the scenario's pods' logs. */
  checking(what: string, checks: () => void | Promise<void>): Promise<void>;
}

/** A cluster installed at its first step, then rolled to each next step; run by `runScenario`. */
interface Scenario {
  /** The test's name: what the scenario proves. */
  readonly name: string;
  /**
   * `zookeeper`: brokers only, on a ZookeeperZnode of a one-server keelson ZooKeeper;
   * `kraft`: one controller besides the brokers.
   */
  readonly mode: 'zookeeper' | 'kraft';
  readonly brokers: number;
  /** The first is installed; each next one is rolled to by applying the changed synth output. */
  readonly steps: readonly Step[];
  /** What the scenario proves besides the runner's checks, after its last step. */
  readonly then?: (cluster: RunningCluster) => Promise<void>;
  /**
   * Whether the scenario checks logging at install (`checkLogging`): the structured file, the
   * log agents' shipping, and level changes at runtime.
   * @default false
   */
  readonly logging?: boolean;
}

/**
 * What the user runs once every pod is on 4.1.0 (constructs/kafka/README.md): every feature at
 * 4.1's level except kraft.version, which `--release-version` would raise to 1 and so turn keelson's
 * static controller quorum into a dynamic one. The cluster then runs 4.1's metadata.version and
 * still produces and consumes.
 */
async function finalise41(cluster: RunningCluster): Promise<void> {
  const featureCommand = (args: string) =>
    kafkaJava(
      '4.1.0',
      'org.apache.kafka.tools.FeatureCommand',
      `--bootstrap-server ${cluster.bootstrap} ${args}`,
    );
  const out = await cluster.clientPod(
    'client-finalise',
    '4.1.0',
    [
      PRELUDE,
      `${featureCommand('version-mapping --release-version 4.1')} > /tmp/mapping`,
      "levels=$(grep -E '^[a-z.]+=[1-9]' /tmp/mapping | grep -v '^kraft.version=' | sed -E 's/^([a-z.]+=[0-9]+).*/--feature \\1/')",
      'echo "finalise: $levels"',
      `retry ${featureCommand('upgrade $levels')}`,
      `retry ${featureCommand('describe')}`,
      produceConsume('4.1.0', cluster.bootstrap, TOPIC, {
        messages: ['finalised-1'],
        expect: cluster.messages.length + 1,
      }),
    ].join('\n'),
  );
  await cluster.checking('after finalising 4.1', () => {
    expect(metadataVersion(out)).toMatch(/^4\.1-IV\d+$/);
    expect(out).toMatch(/Feature: kraft\.version\s.*FinalizedVersionLevel: 0\s/);
    for (const m of [...cluster.messages, 'finalised-1']) expect(out).toContain(`consumed: ${m}`);
  });
}

/**
 * The scenarios: together they run every version of the versions table (constructs/kafka/kafka.ts)
 * in the modes it has, and every kind of upgrade the README describes.
 */
const SCENARIOS: Scenario[] = [
  {
    name:
      'ZooKeeper mode: two 3.8.1 brokers on a ZNode roll to 3.9.1 on the 3.8 protocol, then to the 3.9 protocol, ' +
      'keeping broker ids under the chroot, claims and messages',
    mode: 'zookeeper',
    brokers: 2,
    steps: [{ version: '3.8.1' }, { version: '3.9.1', interBrokerProtocol: '3.8' }, { version: '3.9.1' }],
  },
  {
    name:
      'KRaft: 3.8.1 (one controller, one broker) logs through Log4j 2 (structured file, shipped records, ' +
      'level changes at runtime) and rolls to 4.0.0, keeping node ids, claims, messages and metadata.version',
    mode: 'kraft',
    brokers: 1,
    steps: [{ version: '3.8.1' }, { version: '4.0.0' }],
    logging: true,
  },
  {
    name:
      'KRaft: 3.9.1 (one controller, two brokers) rolls to 4.1.0 keeping node ids, claims and messages, ' +
      "and the user finalises 4.1's feature levels but kraft.version",
    mode: 'kraft',
    brokers: 2,
    steps: [{ version: '3.9.1' }, { version: '4.1.0' }],
    then: finalise41,
  },
];

describe('Kafka versions on the real node', () => {
  const ns = useTestNamespace('kafka-versions', RESTRICTED);
  const { core, apps } = adminClients();
  const client = new KubeClient(adminKubeConfig());
  const volumes = new HostPathVolumes('kafka-versions');
  /** The test aggregator of a scenario that checks logging. */
  let aggregator: OtlpReceiver | undefined;

  afterAll(async () => {
    await volumes.removeAll();
  });
  afterEach(async () => {
    await aggregator?.close();
    aggregator = undefined;
  });

  /** The storage class of the current test's volumes: its own, so no other test's claim binds them. */
  const storageClass = () => `${ns.name}-hostpath`;

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

  /** The log of a pod's running Kafka container (not of the pods it replaced). */
  const kafkaLog = (name: string) =>
    core.readNamespacedPodLog({ name, namespace: ns.name, container: 'kafka' });

  const isKafka = (m: Manifest) =>
    (m.metadata as { labels?: Record<string, string> }).labels?.['app.kubernetes.io/name'] === 'kafka';

  /**
   * Installs a scenario's first step, then rolls it to each next one, as a user would (the synth
   * output of the changed spec, server-side applied), and checks every step.
   */
  async function runScenario(scenario: Scenario): Promise<void> {
    await realNode();
    const zookeeperMode = scenario.mode === 'zookeeper';
    const started = Date.now();
    if (zookeeperMode) {
      await buildImageOnRealNode(zookeeperImageRecipe(ZOOKEEPER_VERSION));
    }
    await importKafkaImages([...new Set(scenario.steps.map((s) => s.version))]);
    // A ZooKeeper server or a controller, and the brokers.
    for (let i = 0; i < 1 + scenario.brokers; i++) await volumes.add(`${ns.name}-${i}`, storageClass());

    let dependencies: Record<string, Record<string, string>> = {};
    if (scenario.logging && SHIP_LOGS) ({ aggregator, dependencies } = await startLogShipping(ns.name));
    /**
     * The spec of a step. A scenario that checks logging has the file at DEBUG and the root logger
     * at INFO, so that `loggers` at DEBUG decide what DEBUG records the file gets, and ships its logs.
     */
    const synth = (step: Step, loggers: Record<string, { level: 'DEBUG' }> = {}) => {
      const chart = new Chart(Testing.app(), 'platform', { namespace: ns.name });
      const logging = scenario.logging
        ? {
            containers: {
              kafka: {
                file: { level: 'DEBUG' as const },
                loggers: { ROOT: { level: 'INFO' as const }, ...loggers },
              },
            },
          }
        : undefined;
      const node = { ...smallNode(storageClass()), ...(logging ? { logging } : {}) };
      const placed = { podOverrides: { spec: REAL_NODE_PLACEMENT } };
      let znode: ZookeeperZnode | undefined;
      let zk: ZookeeperCluster | undefined;
      if (zookeeperMode) {
        zk = new ZookeeperCluster(chart, 'zk', {
          image: { productVersion: ZOOKEEPER_VERSION, pullPolicy: 'Never' },
          servers: {
            ...placed,
            config: {
              resources: {
                memory: { limit: '384Mi' },
                cpu: { min: '100m', max: '1' },
                storage: { data: { capacity: '1Gi', storageClass: storageClass() } },
              },
            },
            roleGroups: { default: { replicas: 1 } },
          },
        });
        znode = new ZookeeperZnode(chart, 'kafka-znode', { zookeeper: zk });
      }
      const kafka = new KafkaCluster(
        chart,
        'kafka',
        {
          image: { productVersion: step.version, pullPolicy: 'Never' },
          ...(scenario.logging && SHIP_LOGS
            ? { clusterConfig: { logging: { aggregatorConfigMapName: AGGREGATOR_CONFIG_MAP } } }
            : {}),
          ...(znode
            ? { zookeeper: znode }
            : {
                controllers: {
                  ...placed,
                  ...FIRST_TIER_JIT,
                  roleGroups: { default: { replicas: 1, config: node } },
                },
              }),
          brokers: {
            ...placed,
            ...FIRST_TIER_JIT,
            roleGroups: { default: { replicas: scenario.brokers, config: node } },
            ...(step.interBrokerProtocol
              ? {
                  configOverrides: {
                    'broker.properties': { 'inter.broker.protocol.version': step.interBrokerProtocol },
                  },
                }
              : {}),
          },
        },
        { dependencies },
      );
      return { manifests: Testing.synth(chart) as Manifest[], kafka, zk, znode };
    };

    const first = synth(scenario.steps[0]);
    const brokerPods = Array.from({ length: scenario.brokers }, (_, i) => `kafka-brokers-default-${i}`);
    const kafkaPods = zookeeperMode ? brokerPods : ['kafka-controllers-default-0', ...brokerPods];
    const pods = zookeeperMode ? ['zk-servers-default-0', ...kafkaPods] : kafkaPods;
    const statefulSets = [...new Set(kafkaPods.map((p) => p.replace(/-\d+$/, '')))];
    const claims = kafkaPods.map((pod) => `log-dirs-${pod}`);
    const ids = statefulSets.flatMap((set) =>
      nodeIds(first.manifests, set, kafkaPods.filter((p) => p.startsWith(`${set}-`)).length),
    );
    const bootstrap = first.kafka.bootstrapServers;
    const logs = () => podsLogs(ns.name, pods);
    const checking = async (what: string, checks: () => void | Promise<void>) => {
      try {
        await checks();
      } catch (error) {
        throw new Error(`${scenario.name}, ${what}: ${(error as Error).message}\n${await logs()}`, {
          cause: error,
        });
      }
    };
    const clientPod = (name: string, version: string, script: string) =>
      runClientPod(
        ns.name,
        { name, image: kafkaImageRecipe(version).reference, command: ['/bin/bash', '-c', script] },
        logs,
        10 * 60_000,
      );
    const timings: string[] = [`images ${((Date.now() - started) / 1000).toFixed(1)} s`];
    const since = (t: number) => `${((Date.now() - t) / 1000).toFixed(1)} s`;

    /**
     * The client of a step: a topic replicated to every broker (at install), two more messages
     * produced and all consumed, each broker's metrics, and the mode's own state — the ids under
     * the ZNode's chroot and the cluster id there, or the feature levels (`metadata.version`).
     */
    const clientScript = (step: Step, produced: string[], count: number, install: boolean) => {
      const zkShell = (args: string) =>
        `java -Xmx64m -cp '/opt/kafka/libs/*' org.apache.zookeeper.ZooKeeperMain -server ${first.zk?.hosts} ${args} 2>/dev/null`;
      return [
        produceConsume(step.version, bootstrap, TOPIC, {
          rf: install ? scenario.brokers : undefined,
          messages: produced,
          expect: count,
        }),
        // A subshell: a refused connection fails the function, not the script.
        'metrics() ( exec 3<>"/dev/tcp/$1/9404" && printf \'GET /metrics HTTP/1.0\\r\\n\\r\\n\' >&3 && cat <&3 > /tmp/metrics )',
        ...brokerPods.map(
          (pod) =>
            `retry metrics ${pod}.kafka-brokers-default-headless.${ns.name}.svc.cluster.local && ` +
            `grep -E '^kafka_server_replicamanager_partitioncount ' /tmp/metrics | sed 's/^/${pod}: /'`,
        ),
        ...(first.znode
          ? [
              `for path in / ${first.znode.path}/brokers/ids; do`,
              `  retry ${zkShell('ls "$path"')} > /tmp/ls`,
              '  echo "ls $path: $(grep "^\\[" /tmp/ls)"',
              'done',
              `echo "cluster: $(${zkShell(`get ${first.znode.path}/cluster/id`)} | grep '"id"')"`,
            ]
          : [
              `retry ${kafkaJava(step.version, 'org.apache.kafka.tools.FeatureCommand', `--bootstrap-server ${bootstrap} describe`)}`,
            ]),
      ].join('\n');
    };

    /**
     * Logging at install (3.x on Log4j 2): the structured file with the broker's start, shipped by
     * every pod's agent with its source; a logger set to DEBUG through the Admin API (the
     * `BROKER_LOGGER` configs) reads back and its DEBUG records appear; a logger set to DEBUG in the
     * spec of the running stacklet takes effect the same way, with the same pods, no container
     * restart and the same pod templates.
     */
    const checkLogging = async (step: Step): Promise<void> => {
      const broker = brokerPods[0];
      const brokerId = ids[kafkaPods.indexOf(broker)];
      const explain = () => podsLogs(ns.name, [broker]);
      const records = await readStructuredLog(ns.name, broker, 'kafka');
      await checking(`the structured file at ${step.version}`, () => {
        expectSharedRecordShape(records);
        expect(records).toContainEqual(
          expect.objectContaining({ level: 'INFO', message: expect.stringMatching(/Kafka Server started/) }),
        );
        // The file takes DEBUG, the root logger INFO: no DEBUG record until a logger asks for it.
        expect(records.filter((r) => r.level === 'DEBUG')).toEqual([]);
      });
      if (SHIP_LOGS) {
        for (const pod of kafkaPods) {
          await expectRecordsShipped(aggregator!, {
            namespace: ns.name,
            pod,
            container: 'kafka',
            product: 'kafka',
            stacklet: 'kafka',
            role: pod.startsWith('kafka-controllers-') ? 'controllers' : 'brokers',
            roleGroup: 'default',
          });
        }
        process.stdout.write(`kafka ${step.version} on the real node: ${logAgentUsage(ns.name)}\n`);
      }

      // Kafka's own runtime level change: kafka.utils.Log4jController (the Log4j 1 API, served by
      // the bridge) sets the level of a logger that exists; the broker logs each heartbeat's
      // response at DEBUG through it.
      const lifecycle = 'kafka.server.BrokerLifecycleManager';
      const configs = (args: string) =>
        kafkaJava(
          step.version,
          'kafka.admin.ConfigCommand',
          `--bootstrap-server ${bootstrap} --entity-type broker-loggers --entity-name ${brokerId} ${args}`,
        );
      const adminAt = Date.now();
      const described = await clientPod(
        'client-loggers',
        step.version,
        [
          PRELUDE,
          `retry ${configs(`--alter --add-config ${lifecycle}=DEBUG`)}`,
          `${configs('--describe')} | grep -E '^ *(${lifecycle.replace(/\./g, '\\.')}|root)='`,
        ].join('\n'),
      );
      await checking('the logger level set through the Admin API', () => {
        expect(described).toMatch(new RegExp(`^ *${lifecycle.replace(/\./g, '\\.')}=DEBUG `, 'm'));
      });
      const viaAdmin = await waitForRecords(
        ns.name,
        broker,
        'kafka',
        `DEBUG record of ${lifecycle}`,
        (r) => r.level === 'DEBUG' && r.logger === lifecycle,
        explain,
      );
      process.stdout.write(
        `kafka ${step.version} on the real node: DEBUG of ${lifecycle} through the Admin API in the file ` +
          `${((Date.now() - adminAt) / 1000).toFixed(1)} s after the client started\n`,
      );
      expect(viaAdmin.records.length).toBeGreaterThan(0);

      // A level changed in the spec: Log4j 2 re-reads log4j2.properties, which the kubelet updates.
      const network = 'org.apache.kafka.clients.NetworkClient';
      const isNetworkDebug = (r: LogRecord) => r.level === 'DEBUG' && r.logger === network;
      expect((await readStructuredLog(ns.name, broker, 'kafka')).filter(isNetworkDebug)).toEqual([]);
      const workloads = () =>
        Promise.all(
          statefulSets.map(
            async (name) =>
              (await apps.readNamespacedStatefulSet({ name, namespace: ns.name })).spec?.template,
          ),
        );
      const podStates = () =>
        Promise.all(
          kafkaPods.map(async (name) => {
            const pod = await core.readNamespacedPod({ name, namespace: ns.name });
            return {
              name,
              uid: pod.metadata?.uid,
              restarts: pod.status?.containerStatuses?.[0].restartCount,
            };
          }),
        );
      const before = { templates: await workloads(), pods: await podStates() };
      expect(before.pods.map((p) => p.restarts)).toEqual(kafkaPods.map(() => 0));
      expect(
        await applyAll(client, synth(step, { [network]: { level: 'DEBUG' } }).manifests, ns.name),
      ).toEqual([]);
      const inSpec = await waitForRecords(
        ns.name,
        broker,
        'kafka',
        `DEBUG record of ${network}`,
        isNetworkDebug,
        async () =>
          (await execInPod(ns.name, broker, 'cat /kafka/config/log4j2.properties').catch(
            (e: Error) => e.message,
          )) + (await explain()),
      );
      process.stdout.write(
        `kafka ${step.version} on the real node: a logger's DEBUG level in the spec took effect ${inSpec.seconds.toFixed(1)} s after apply\n`,
      );
      await checking('after the level change in the spec', async () => {
        expect(await workloads()).toEqual(before.templates);
        expect(await podStates()).toEqual(before.pods);
      });
      if (SHIP_LOGS) {
        await aggregator!.waitFor(
          `a DEBUG record of ${network} from ${broker}`,
          (r) =>
            r.severityText === 'DEBUG' &&
            r.attributes.logger === network &&
            r.resource['k8s.pod.name'] === broker,
        );
      }
    };

    const messages: string[] = [];
    let metaBefore: Record<string, string>[] = [];
    let podsBefore: string[] = [];
    let claimsBefore: { uid?: string; volume?: string }[] = [];
    for (const [i, step] of scenario.steps.entries()) {
      const { manifests } = synth(step);
      const applied = Date.now();
      if (i === 0) {
        if (zookeeperMode) {
          // ZooKeeper first: a broker that finds no ZooKeeper exits, and its restarts back off.
          expect(
            await applyAll(
              client,
              manifests.filter((m) => !isKafka(m)),
              ns.name,
            ),
          ).toEqual([]);
          await waitPodsReady(ns.name, ['zk-servers-default-0']);
        }
        expect(await applyAll(client, manifests, ns.name)).toEqual([]);
        await waitPodsReady(ns.name, pods, 15 * 60_000, logs);
        timings.push(`${step.version} Ready ${since(applied)} after apply`);
      } else {
        expect(await applyAll(client, manifests, ns.name)).toEqual([]);
        for (const set of statefulSets) {
          await waitFor(
            `StatefulSet ${set} to roll out ${step.version}`,
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
        await waitPodsReady(ns.name, pods, 10 * 60_000, logs);
        timings.push(
          `roll to ${step.version}${step.interBrokerProtocol ? ` (protocol ${step.interBrokerProtocol})` : ''} ${since(applied)}`,
        );
      }

      const current = await Promise.all(
        kafkaPods.map((name) => core.readNamespacedPod({ name, namespace: ns.name })),
      );
      const currentClaims = await Promise.all(
        claims.map((name) => core.readNamespacedPersistentVolumeClaim({ name, namespace: ns.name })),
      );
      const meta = await Promise.all(claims.map(metaProperties));
      const brokerLogs = await Promise.all(kafkaPods.map(kafkaLog));
      await checking(`at ${step.version} (step ${i})`, () => {
        for (const [p, pod] of current.entries()) {
          expect(pod.spec?.containers[0].image).toBe(kafkaImageRecipe(step.version).reference);
          expect(pod.spec?.containers[0].securityContext).toMatchObject({ readOnlyRootFilesystem: true });
          // The version that runs, logged through keelson's log config (Log4j 1 in 3.x, Log4j 2 in 4.x).
          expect({ pod: kafkaPods[p], version: /Kafka version: (\S+)/.exec(brokerLogs[p])?.[1] }).toEqual({
            pod: kafkaPods[p],
            version: step.version,
          });
          if (zookeeperMode) {
            // The config Kafka logs at start: the default's full name (`3.9-IV0`), or the value set.
            const protocol = /inter\.broker\.protocol\.version = (\S+)/.exec(brokerLogs[p])?.[1];
            expect({ pod: kafkaPods[p], protocol }).toEqual({
              pod: kafkaPods[p],
              protocol: expect.stringMatching(
                new RegExp(
                  `^${(step.interBrokerProtocol ?? minor(step.version)).replace('.', '\\.')}(-IV\\d+)?$`,
                ),
              ),
            });
          }
        }
        // Node ids: the role group's offset plus the ordinal, in meta.properties from the first start on.
        expect(meta.map((m) => Number(m[zookeeperMode ? 'broker.id' : 'node.id']))).toEqual(ids);
        if (i > 0) {
          // Every pod was replaced (a new uid under the same name), on the same claim and volume,
          // where the new version found the log directory of the old one.
          for (const [p, pod] of current.entries()) expect(pod.metadata?.uid).not.toBe(podsBefore[p]);
          expect(currentClaims.map((c) => ({ uid: c.metadata?.uid, volume: c.spec?.volumeName }))).toEqual(
            claimsBefore,
          );
          expect(meta).toEqual(metaBefore);
        }
      });
      podsBefore = current.map((p) => p.metadata!.uid!);
      claimsBefore = currentClaims.map((c) => ({ uid: c.metadata?.uid, volume: c.spec?.volumeName }));
      metaBefore = meta;

      // A client at install and after the last roll: the messages produced at install are read
      // after every roll (a client between two rolls would prove nothing more and cost a minute).
      if (i > 0 && i < scenario.steps.length - 1) continue;
      const clientStarted = Date.now();
      const produced = [1, 2].map((n) => `s${i}-${step.version}-${n}`);
      const out = await clientPod(
        `client-${i}`,
        step.version,
        clientScript(step, produced, messages.length + 2, i === 0),
      );
      messages.push(...produced);
      timings.push(
        `client ${since(clientStarted)}${first.znode ? '' : ` (metadata.version ${metadataVersion(out)})`}`,
      );
      await checking(`the client at ${step.version} (step ${i})`, () => {
        if (i === 0) expect(out).toMatch(new RegExp(`ReplicationFactor: ${scenario.brokers}\\s`));
        // The messages produced at install, read after every roll, and this client's.
        for (const m of messages) expect(out).toContain(`consumed: ${m}`);
        for (const pod of brokerPods) {
          expect(out).toMatch(new RegExp(`^${pod}: kafka_server_replicamanager_partitioncount \\d`, 'm'));
        }
        if (first.znode) {
          const listed = (p: string) =>
            new RegExp(`^ls ${p.replace(/\//g, '\\/')}: \\[(.*)\\]$`, 'm')
              .exec(out)?.[1]
              .split(',')
              .map((s) => s.trim())
              .filter((s) => s !== '') ?? [];
          // The brokers registered under the ZNode's chroot with keelson's ids; the root holds only
          // ZooKeeper's own node and the chroot (no `brokers`, `controller` or `config`).
          expect(
            listed(`${first.znode.path}/brokers/ids`)
              .map(Number)
              .sort((a, b) => a - b),
          ).toEqual(ids);
          expect(listed('/').sort()).toEqual([first.znode.path.slice(1), 'zookeeper'].sort());
          // The cluster the chroot describes is the one whose log directories the brokers hold.
          expect(/^cluster: .*"id":"([\w-]+)"/m.exec(out)?.[1]).toBe(meta[0]['cluster.id']);
        } else {
          // keelson does not finalise an upgrade: metadata.version stays the installed version's.
          expect(metadataVersion(out)).toMatch(
            new RegExp(`^${minor(scenario.steps[0].version).replace('.', '\\.')}-IV\\d+$`),
          );
        }
      });
      if (i === 0 && scenario.logging) {
        const loggingStarted = Date.now();
        await checkLogging(step);
        timings.push(`logging ${since(loggingStarted)}`);
      }
    }

    await scenario.then?.({ bootstrap, messages, clientPod, checking });
    process.stdout.write(
      `kafka on the real node, ${scenario.name}: ${timings.join(', ')}, total ${since(started)}\n`,
    );
  }

  for (const scenario of SCENARIOS) {
    it(scenario.name, () => runScenario(scenario));
  }
});
