/**
 * Restarts before certificate expiry through the operator on the real node
 * (lib/operator/certificate-restarts.ts). Pod certificates live at least an hour, so the test does
 * not wait for one to age: the operator runs in this process (its own ServiceAccount and RBAC, as
 * everywhere) with a clock the test moves to the moment the servers' certificates are due. Proven:
 * - a ZooKeeper ensemble of three with internal (quorum) TLS, which ZooKeeper does not reload, is
 *   rolled by evictions one server at a time: never more than one server taken away (missing,
 *   terminating, or replaced and not yet Ready; a server slowed by a loaded machine is no eviction), the
 *   PodDisruptionBudget of one in place, each server replaced once, the operator writing only
 *   evictions (no pod deletes) and a `CertificateRestart` Event per server;
 * - each new server has a certificate issued after the roll began;
 * - a client session opened before the roll keeps writing and reading through it;
 * - a ZooKeeper with server TLS only (its client port reloads renewed files), whose certificate is
 *   as old, is left running.
 * And a KafkaCluster (KRaft: a controller, two brokers) whose TLS, server and internal, comes from the
 * same `keelsonCa` class; it boots while the ZooKeeper servers roll (its certificates, issued after
 * the clock moved, are not due at that clock). Proven:
 * - each broker's client listener presents a certificate the class's CA signed, carrying the names
 *   clients dial (the bootstrap Service, the broker's pod name), checked by `openssl s_client` with
 *   the class's ClusterTrustBundle (a client without that CA failing is kafka-tls-real-node's);
 * - a refused eviction is waited out, not forced: while a workload of the test (a Deployment whose
 *   never-scheduled pod carries the roles' labels) makes each PodDisruptionBudget count one pod
 *   more, the API server refuses every eviction (429), the operator tries again later and no pod
 *   goes; once it is gone, the three pods are evicted one at a time, each only after the one before
 *   was replaced and seen Ready (never more than one taken away and not yet back);
 * - a producer and a consumer (TLS, acks=all, a topic replicated on both brokers) run through the
 *   roll: no send fails and every message produced is consumed, those written before it began too.
 * Failures print the servers', the client's and the operator's logs.
 */
import { X509Certificate } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import pino from 'pino';
import { PRODUCTS } from '../../apps/keelson';
import { zookeeperDistDir } from '../../constructs/zookeeper';
import { zookeeperImageRecipe } from '../../constructs/zookeeper/image';
import { kafkaImageRecipe } from '../../constructs/kafka/image';
import { hiveImageRecipe } from '../../constructs/hive/image';
import { tlsSignerName, TLS_CLASS_LABEL } from '../../lib';
import { restartAt } from '../../lib/operator/certificate-restarts';
import { KubeClient } from '../../lib/operator/client';
import type { KubeObject } from '../../lib/operator/informer';
import { createLogger } from '../../lib/operator/logger';
import { Operator } from '../../lib/operator/operator';
import { CLOCK_SKEW_SECONDS } from '../../lib/tls/certificates';
import { createTestNamespace } from '../controlplane/cluster';
import { installCrds, RESTRICTED } from './admission';
import { kafkaJava, PRELUDE, producerClass } from './kafka-client-support';
import {
  metricValue,
  operatorIdentity,
  removeOperatorIdentity,
  tail,
  writesByResource,
} from './operator-support';
import {
  FIRST_TIER_JIT,
  buildImageOnRealNode,
  classCas,
  clientPod,
  execInPod,
  isReady,
  podsLogs,
  realNode,
  REAL_NODE_PLACEMENT,
  rollWatch,
  tlsZookeeperCluster,
} from './real-node-support';
import {
  installMetastoreProbe,
  runMetastoreProbe,
  startPostgres,
  postgresMetastoreDatabase,
} from './hive-real-node-support';
import { adminClients, adminKubeConfig, uniqueName, waitFor } from './support';

jest.setTimeout(30 * 60_000);

const VERSION = '3.9.4';
const KAFKA_VERSION = '4.1.0';
const API = '/apis/keelson.dev/v1alpha1';
const SERVERS = [0, 1, 2].map((i) => `zk-servers-default-${i}`);
const RELOADING = 'zkreload-servers-default-0';
const BROKERS = [0, 1].map((i) => `kafka-brokers-default-${i}`);
const KAFKA_PODS = [...BROKERS, 'kafka-controllers-default-0'];
const KAFKA_ROLES = ['brokers', 'controllers'];
const HIVE_VERSION = '4.0.1';
const METASTORE = 'hive-metastores-default-0';

type Condition = { type: string; status: string; lastTransitionTime?: string };
type Request = {
  metadata: { creationTimestamp: string };
  spec: { podName: string; podUID: string; signerName: string };
  status?: { notBefore?: string; notAfter?: string; certificateChain?: string };
};

/** Evictions the API server accepted (2xx) and refused (429), from the operator's metrics. */
function evictions(metrics: string): { done: number; refused: number } {
  const count = (code: string) =>
    metricValue(metrics, 'keelson_api_requests_total', { verb: 'create', resource: 'pods/eviction', code });
  return { done: count('200') + count('201'), refused: count('429') };
}

describe('certificate restarts through the operator on the real node', () => {
  const kc = adminKubeConfig();
  const { core, apps } = adminClients();
  const policy = kc.makeApiClient(k8s.PolicyV1Api);
  const client = new KubeClient(kc);
  const className = uniqueName('roll-tls');
  const logFile = path.join(os.tmpdir(), `keelson-operator-${className}.log`);
  let operatorNamespace = '';
  let namespace = '';
  let operator: Operator | undefined;
  /** The operator's clock: the system's until the test moves it. */
  let frozenAt: Date | undefined;
  /** When the KafkaCluster was created (in beforeAll). */
  let kafkaCreated = 0;
  /** Moves the operator's clock to `at` unless it is there already (it never goes back). */
  const moveClock = (at: number) => {
    frozenAt = new Date(Math.max(frozenAt?.getTime() ?? 0, at));
  };

  beforeAll(async () => {
    await realNode();
    await installCrds(PRODUCTS, kc);
    operatorNamespace = await createTestNamespace(kc, uniqueName('roll-op'));
    namespace = await createTestNamespace(kc, uniqueName('roll-e2e'), RESTRICTED);
    const access = new k8s.KubeConfig();
    access.loadFromFile(await operatorIdentity(operatorNamespace, kc, PRODUCTS, [namespace]));
    operator = new Operator({
      products: PRODUCTS,
      access,
      log: createLogger('debug', pino.destination({ dest: logFile, sync: true })),
      namespaces: [namespace],
      operatorNamespace,
      clock: () => frozenAt ?? new Date(),
    });
    await operator.start();
    await client.request('create', 'POST', `${API}/tlsclasses`, 'tlsclasses', {
      body: {
        apiVersion: 'keelson.dev/v1alpha1',
        kind: 'TlsClass',
        metadata: { name: className },
        spec: { keelsonCa: { certificateLifetime: '1h' } },
      },
    });
    // The Kafka test's budgets are spent before its pods exist (see blockBudgets).
    await buildImageOnRealNode(kafkaImageRecipe(KAFKA_VERSION));
    await blockBudgets();
  });

  afterAll(async () => {
    await operator?.stop();
    for (const name of ['zk', 'zkreload'])
      await client.request('delete', 'DELETE', zkPath(name), 'zookeeperclusters').catch(() => undefined);
    await client.request('delete', 'DELETE', kafkaPath('kafka'), 'kafkaclusters').catch(() => undefined);
    await client
      .request('delete', 'DELETE', `${API}/namespaces/${namespace}/hiveclusters/hive`, 'hiveclusters')
      .catch(() => undefined);
    await client
      .request('delete', 'DELETE', `${API}/tlsclasses/${className}`, 'tlsclasses')
      .catch(() => undefined);
    if (operatorNamespace) await removeOperatorIdentity(operatorNamespace, kc);
    for (const name of [namespace, operatorNamespace].filter(Boolean))
      await core.deleteNamespace({ name }).catch(() => undefined);
  });

  const zkPath = (name = '') => `${API}/namespaces/${namespace}/zookeeperclusters${name ? `/${name}` : ''}`;
  const kafkaPath = (name = '') => `${API}/namespaces/${namespace}/kafkaclusters${name ? `/${name}` : ''}`;
  const logs = async (pods = [...SERVERS, RELOADING, 'client']) =>
    `${await podsLogs(namespace, pods)}\n--- operator\n${tail(logFile, 80)}`;
  const fail = async (message: string, pods?: string[]) => new Error(`${message}\n${await logs(pods)}`);

  /** The class's CAs, as a pod mounts them (`ca.crt`). */
  const trustVolume = {
    name: 'trust',
    projected: {
      sources: [
        {
          clusterTrustBundle: {
            signerName: tlsSignerName(className),
            labelSelector: { matchLabels: { [TLS_CLASS_LABEL]: className } },
            path: 'ca.crt',
          },
        },
      ],
    },
  };

  // Unnamed, a use takes the class `tls`, which this cluster does not have: that use is off.
  const createZookeeper = (name: string, replicas: number, internalTlsClass: string | undefined) =>
    client.request('create', 'POST', zkPath(), 'zookeeperclusters', {
      body: tlsZookeeperCluster({
        name,
        version: VERSION,
        replicas,
        serverTlsClass: className,
        internalTlsClass,
      }),
    });

  /** A KRaft Kafka of one controller and two brokers, server and internal TLS from the class. */
  const createKafka = async () => {
    kafkaCreated = Date.now();
    const role = (replicas: number) => ({
      ...FIRST_TIER_JIT,
      config: {
        resources: {
          memory: { limit: '512Mi' },
          cpu: { min: '100m', max: '1' },
          storage: { 'log-dirs': { capacity: '1Gi' } },
        },
      },
      // Probes every 2 s instead of 10: a replaced pod counts as Ready sooner, and the roll,
      // which waits for it, is shorter. What the probes check is keelson's.
      podOverrides: {
        spec: {
          ...REAL_NODE_PLACEMENT,
          containers: [
            { name: 'kafka', startupProbe: { periodSeconds: 2 }, readinessProbe: { periodSeconds: 2 } },
          ],
        },
      },
      roleGroups: { default: { replicas } },
    });
    await client.request('create', 'POST', kafkaPath(), 'kafkaclusters', {
      body: {
        apiVersion: 'keelson.dev/v1alpha1',
        kind: 'KafkaCluster',
        metadata: { name: 'kafka' },
        spec: {
          image: { productVersion: KAFKA_VERSION, pullPolicy: 'Never' },
          clusterConfig: { tls: { serverTlsClass: className, internalTlsClass: className } },
          controllers: role(1),
          brokers: role(2),
        },
      },
    });
    // The client it will serve (producer, consumer, openssl), with the class's CAs.
    const body = clientPod({
      name: 'kafka-client',
      image: kafkaImageRecipe(KAFKA_VERSION).reference,
      command: ['/bin/bash', '-c', 'sleep 3600'],
      memory: '1Gi',
      volumes: [{ volume: trustVolume, mountPath: '/trust' }],
    });
    body.spec!.terminationGracePeriodSeconds = 0;
    await core.createNamespacedPod({ namespace, body });
  };

  /**
   * Makes each of the Kafka roles' PodDisruptionBudgets allow no disruption: a Deployment per role
   * whose one pod carries the labels the budget selects and is never scheduled (a node selector no
   * node has). The disruption controller counts it (its ReplicaSet wants one pod) and finds it not
   * healthy, so a budget of one is spent; the operator does not count it (it is no pod of the
   * stacklet's StatefulSets), sees every Kafka pod Ready and asks to evict, and the API server
   * refuses with 429, as it would while a pod the operator cannot see is down.
   */
  const blockBudgets = async () => {
    const node = await realNode();
    for (const role of KAFKA_ROLES) {
      const template = clientPod({
        name: `budget-${role}`,
        image: node.busyboxImage,
        command: ['/bin/sh', '-c', 'sleep 86400'],
        labels: {
          'app.kubernetes.io/name': 'kafka',
          'app.kubernetes.io/instance': 'kafka',
          'app.kubernetes.io/component': role,
          'keelson.dev/test-budget': role,
        },
        memory: '16Mi',
      });
      template.spec!.nodeSelector = { 'keelson.dev/test-no-such-node': 'true' };
      template.spec!.restartPolicy = 'Always';
      await apps.createNamespacedDeployment({
        namespace,
        body: {
          metadata: { name: `budget-${role}` },
          spec: {
            replicas: 1,
            selector: { matchLabels: { 'keelson.dev/test-budget': role } },
            template: { metadata: { labels: template.metadata!.labels }, spec: template.spec },
          },
        },
      });
    }
  };

  const available = async (objectPath: string, resource: string) => {
    const object = await client.request<KubeObject>('get', 'GET', objectPath, resource);
    const conditions = (object.status as { conditions?: Condition[] } | undefined)?.conditions ?? [];
    return conditions.some((c) => c.type === 'Available' && c.status === 'True');
  };

  const listPods = async (product = 'zookeeper') =>
    (await core.listNamespacedPod({ namespace, labelSelector: `app.kubernetes.io/name=${product}` })).items;

  const requests = async () =>
    (
      await client.request<{ items: Request[] }>(
        'list',
        'GET',
        `/apis/certificates.k8s.io/v1beta1/namespaces/${namespace}/podcertificaterequests`,
        'podcertificaterequests',
      )
    ).items.filter((r) => r.spec.signerName === tlsSignerName(className) && r.status?.certificateChain);

  /** The certificates issued to the pods `uids` names, by pod name. */
  const issuedTo = (issued: Request[], uids: Map<string, string>, pod: string) =>
    issued
      .filter((r) => r.spec.podUID === uids.get(pod))
      .map((r) => ({ notBefore: new Date(r.status!.notBefore!), notAfter: new Date(r.status!.notAfter!) }));

  /** Nudges the operator to look at a stacklet again, as a resync would: the clock moving is no event. */
  const nudge = (objectPath: string, resource: string) =>
    client.request('patch', 'PATCH', objectPath, resource, {
      body: { metadata: { labels: { 'keelson.dev/test-clock': String(frozenAt!.getTime()) } } },
      contentType: 'application/merge-patch+json',
    });

  it('rolls the servers of a quorum that does not reload, one eviction at a time, and leaves a reloading one running', async () => {
    await buildImageOnRealNode(zookeeperImageRecipe(VERSION));
    await createZookeeper('zk', 3, className);
    // Server TLS only: the default class `tls` must be absent for internal TLS to be off.
    const defaultClass = await client
      .request('get', 'GET', `${API}/tlsclasses/tls`, 'tlsclasses')
      .then(() => true)
      .catch(() => false);
    if (defaultClass) throw new Error('a TlsClass "tls" exists; this test needs a cluster without one');
    await createZookeeper('zkreload', 1, undefined);
    const created = Date.now();
    try {
      await waitFor(
        'both ZookeeperClusters to be Available',
        async () =>
          (await available(zkPath('zk'), 'zookeeperclusters')) &&
          (await available(zkPath('zkreload'), 'zookeeperclusters')),
        10 * 60_000,
      );
    } catch (error) {
      throw await fail((error as Error).message);
    }
    const up = Date.now();
    process.stdout.write(
      `certificate restarts: both stacklets Available ${((up - created) / 1000).toFixed(0)} s after apply\n`,
    );
    // The PodDisruptionBudget the roll has to respect: one server of three at most.
    const pdbs = await kc
      .makeApiClient(k8s.PolicyV1Api)
      .listNamespacedPodDisruptionBudget({ namespace, labelSelector: 'app.kubernetes.io/instance=zk' });
    expect(pdbs.items.map((p) => p.spec?.maxUnavailable)).toEqual([1]);

    // A client session through the roll: it sets and gets a znode every second until told to stop.
    const body = clientPod({
      name: 'client',
      image: zookeeperImageRecipe(VERSION).reference,
      command: ['/bin/bash', '-c', 'sleep 3600'],
      memory: '256Mi',
      volumes: [{ volume: trustVolume, mountPath: '/trust' }],
    });
    body.spec!.terminationGracePeriodSeconds = 0;
    await core.createNamespacedPod({ namespace, body });
    await waitFor(
      'the client pod to run',
      async () => (await core.readNamespacedPod({ namespace, name: 'client' })).status?.phase === 'Running',
    );
    const hosts = SERVERS.map(
      (pod) => `${pod}.zk-servers-default-headless.${namespace}.svc.cluster.local:2181`,
    ).join(',');
    const session = [
      '(echo "create /keelson-roll 0"; i=0; while [ ! -e /tmp/stop ]; do i=$((i+1)); ',
      'echo "set /keelson-roll $i"; echo "get /keelson-roll"; sleep 1; done; echo "set /keelson-roll last"; ',
      'echo "get /keelson-roll"; sleep 2; echo quit) | ',
      'java -Xmx96m -Dzookeeper.client.secure=true ',
      '-Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty ',
      '-Dzookeeper.ssl.trustStore.location=/trust/ca.crt -Dzookeeper.ssl.trustStore.type=PEM ',
      `-cp '${zookeeperDistDir(VERSION)}/lib/*:/conf' org.apache.zookeeper.ZooKeeperMain -server ${hosts} `,
      '> /tmp/session.log 2>&1',
    ].join('');
    await execInPod(
      namespace,
      'client',
      `nohup bash -c '${session.replace(/'/g, `'"'"'`)}' >/dev/null 2>&1 &`,
    );
    // The Kafka starts beside this test: its JVMs and the client's share the cores.
    await waitFor(
      'the client session to read its znode',
      async () => /^\d+$/m.test(await execInPod(namespace, 'client', 'cat /tmp/session.log')),
      5 * 60_000,
    );

    // Move the operator's clock to when the last server's certificate is due: every server is.
    const before = await listPods();
    const uids = new Map(before.map((p) => [p.metadata!.name!, p.metadata!.uid!]));
    const issued = await requests();
    const loaded = (pod: string) => issuedTo(issued, uids, pod);
    for (const pod of [...SERVERS, RELOADING])
      expect({ pod, certificates: loaded(pod).length > 0 }).toEqual({ pod, certificates: true });
    const due = Math.max(
      ...[...SERVERS, RELOADING].flatMap((pod) => loaded(pod).map((c) => restartAt(c).getTime())),
    );
    const metricsBefore = await operator!.metrics.registry.metrics();
    const rollBegan = Date.now();
    moveClock(due + 1000);
    await nudge(zkPath('zk'), 'zookeeperclusters');
    // The Kafka of the next test boots beside this roll (not beside the client's start, which it
    // slowed past its session's timeout on a loaded machine). Its certificates are issued after
    // the clock moved, so they are not due at this clock: a Kafka pod still starting would
    // otherwise be due, and a due pod that is not Ready is evicted, budget or not.
    await createKafka();

    // Watch the roll: at most one server taken away at any time.
    let worst = 0;
    let replaced: string[] = [];
    const watch = rollWatch(SERVERS, uids);
    try {
      await waitFor(
        'every server to be replaced and Ready',
        async () => {
          const pods = (await listPods()).filter((p) => SERVERS.includes(p.metadata!.name!));
          worst = Math.max(worst, watch(pods));
          const down =
            SERVERS.length - pods.filter((p) => isReady(p) && !p.metadata!.deletionTimestamp).length;
          replaced = pods
            .filter((p) => p.metadata!.uid !== uids.get(p.metadata!.name!))
            .map((p) => p.metadata!.name!);
          return down === 0 && replaced.length === SERVERS.length;
        },
        10 * 60_000,
      );
    } catch (error) {
      throw await fail(`${(error as Error).message}; replaced: ${replaced}`);
    }
    const rolled = Date.now();
    process.stdout.write(
      `certificate restarts: three servers rolled in ${((rolled - rollBegan) / 1000).toFixed(0)} s, at most ${worst} down at once\n`,
    );
    expect(worst).toBe(1);

    // The operator evicted (three times) and deleted no pod itself. (The Kafka's evictions, due
    // as well, are refused all along: see blockBudgets.)
    const metricsAfter = await operator!.metrics.registry.metrics();
    const deletes = (metrics: string) => writesByResource(metrics)['delete pods'] ?? 0;
    expect({
      evictions: evictions(metricsAfter).done - evictions(metricsBefore).done,
      deletes: deletes(metricsAfter) - deletes(metricsBefore),
    }).toEqual({ evictions: 3, deletes: 0 });

    // Each new server started with a certificate issued after the roll began (the signer dates
    // notBefore back by its clock skew allowance).
    const after = await listPods();
    const newUids = new Map(after.map((p) => [p.metadata!.name!, p.metadata!.uid!]));
    const fresh = await requests();
    for (const pod of SERVERS) {
      const ofPod = fresh.filter((r) => r.spec.podUID === newUids.get(pod));
      const notBefore = Math.min(...ofPod.map((r) => Date.parse(r.status!.notBefore!)));
      expect({
        pod,
        issuedAfterRollBegan: notBefore + CLOCK_SKEW_SECONDS * 1000 >= rollBegan - 1000,
      }).toEqual({
        pod,
        issuedAfterRollBegan: true,
      });
    }

    // The server whose product reloads kept running (same pod), its certificate just as old.
    expect(newUids.get(RELOADING)).toBe(uids.get(RELOADING));

    // Why, in Events on the stacklet and on each pod.
    const events = (await core.listNamespacedEvent({ namespace })).items.filter(
      (e) => e.reason === 'CertificateRestart',
    );
    const on = (kind: string) =>
      events
        .filter((e) => e.involvedObject.kind === kind)
        .map((e) => e.involvedObject.name)
        .sort();
    expect(on('ZookeeperCluster')).toEqual(['zk', 'zk', 'zk']);
    expect(on('Pod')).toEqual(SERVERS);
    expect(events[0].message).toMatch(/does not reload certificate files/);

    // The client session wrote and read through the roll, and still does.
    await execInPod(namespace, 'client', 'touch /tmp/stop');
    let log = '';
    await waitFor('the client session to end', async () => {
      log = await execInPod(namespace, 'client', 'cat /tmp/session.log');
      return /^last$/m.test(log) || /state:Expired/.test(log);
    });
    const reads = log.split('\n').filter((l) => /^\d+$/.test(l)).length;
    const lost = (log.match(/ConnectionLoss/g) ?? []).length;
    process.stdout.write(
      `certificate restarts: the client read ${reads} times, ${lost} operations lost the connection\n`,
    );
    // ZooKeeperMain prints every state change of its session (`WatchedEvent state:…`); a session
    // that expired would have lost its ephemeral state and watches.
    if (!/^last$/m.test(log) || /state:Expired/.test(log))
      throw await fail(`the client session did not survive the roll:\n${log.slice(-3000)}`);
    expect(reads).toBeGreaterThan(10);
  });

  it('rolls a Kafka whose TLS the operator signs one pod at a time within its budgets, waits out refused evictions, and keeps a client producing and consuming', async () => {
    // The ZooKeepers are done with: their pods go, leaving the machine to the Kafka.
    for (const name of ['zk', 'zkreload'])
      await client.request('delete', 'DELETE', zkPath(name), 'zookeeperclusters').catch(() => undefined);
    await core
      .deleteNamespacedPod({ namespace, name: 'client', gracePeriodSeconds: 0 })
      .catch(() => undefined);
    if (!kafkaCreated) await createKafka();
    const pods = [...KAFKA_PODS, 'kafka-client'];
    const kafkaFail = (message: string) => fail(message, pods);
    const started = Date.now();

    try {
      await waitFor(
        'the KafkaCluster to be Available',
        () => available(kafkaPath('kafka'), 'kafkaclusters'),
        10 * 60_000,
      );
      await waitFor(
        'the Kafka client pod to run',
        async () =>
          (await core.readNamespacedPod({ namespace, name: 'kafka-client' })).status?.phase === 'Running',
      );
    } catch (error) {
      throw await kafkaFail((error as Error).message);
    }
    const availableAt = Date.now();
    const kafkaPods = async () =>
      (await listPods('kafka')).filter((p) => KAFKA_PODS.includes(p.metadata!.name!));
    const budgets = async () =>
      (
        await policy.listNamespacedPodDisruptionBudget({
          namespace,
          labelSelector: 'app.kubernetes.io/instance=kafka',
        })
      ).items;
    // keelson's budgets (one pod of each role), each counting the test's unscheduled pod too: spent.
    await waitFor('the budgets to count the blocking pods', async () => {
      const items = await budgets();
      return (
        items.length === KAFKA_ROLES.length &&
        items.every(
          (b) =>
            b.status?.disruptionsAllowed === 0 &&
            b.status.expectedPods === (b.metadata!.name === 'kafka-brokers' ? BROKERS.length : 1) + 1,
        )
      );
    });
    expect(
      (await budgets()).map((b) => `${b.metadata!.name} maxUnavailable=${b.spec?.maxUnavailable}`).sort(),
    ).toEqual(['kafka-brokers maxUnavailable=1', 'kafka-controllers maxUnavailable=1']);

    // Every Kafka pod is due once the clock is past the last one's restart time; the budgets refuse,
    // from now on, while the client starts.
    const uids = new Map((await kafkaPods()).map((p) => [p.metadata!.name!, p.metadata!.uid!]));
    expect([...uids.keys()].sort()).toEqual([...KAFKA_PODS].sort());
    const issued = await requests();
    for (const pod of KAFKA_PODS)
      expect({ pod, certificates: issuedTo(issued, uids, pod).length > 0 }).toEqual({
        pod,
        certificates: true,
      });
    const due = Math.max(
      ...KAFKA_PODS.flatMap((pod) => issuedTo(issued, uids, pod).map((c) => restartAt(c).getTime())),
    );
    const metrics = () => operator!.metrics.registry.metrics();
    const blockedFrom = await metrics();
    const blockedAt = Date.now();
    moveClock(due + 1000);
    await nudge(kafkaPath('kafka'), 'kafkaclusters');

    // A producer and a consumer over TLS, through the bootstrap Service, from now until told to stop.
    const bootstrap = `kafka-brokers.${namespace}.svc.cluster.local`;
    const brokerHosts = BROKERS.map(
      (pod) => `${pod}.kafka-brokers-default-headless.${namespace}.svc.cluster.local`,
    );
    const tool = (main: string, args: string) => kafkaJava(KAFKA_VERSION, main, args);
    const tls = ['security.protocol=SSL', 'ssl.truststore.type=PEM', 'ssl.truststore.location=/trust/ca.crt'];
    const files: Record<string, string[]> = {
      'tls.properties': tls,
      // Each message retried until both brokers have it, however long a broker is away.
      'producer.properties': [
        ...tls,
        'acks=all',
        'retries=2147483647',
        'delivery.timeout.ms=600000',
        'max.block.ms=600000',
      ],
    };
    const consumer = tool(
      'org.apache.kafka.tools.consumer.ConsoleConsumer',
      `--bootstrap-server ${bootstrap}:9092 --consumer.config /tmp/tls.properties --topic roll --group live --from-beginning`,
    );
    const background = [
      PRELUDE,
      `retry ${tool('org.apache.kafka.tools.TopicCommand', `--bootstrap-server ${bootstrap}:9092 --command-config /tmp/tls.properties --create --if-not-exists --topic roll --partitions 2 --replication-factor 2`)}`,
      'set +e',
      '{ (i=0; while [ ! -e /tmp/stop ]; do i=$((i+1)); echo "m$i"; echo $i > /tmp/written.new; mv /tmp/written.new /tmp/written; sleep 0.5; done) | ' +
        `${tool(producerClass(KAFKA_VERSION), `--bootstrap-server ${bootstrap}:9092 --producer.config /tmp/producer.properties --topic roll`)} ` +
        '> /tmp/producer.log 2>&1; echo "exit=$?" > /tmp/producer.done; } &',
      `${consumer} > /tmp/live.out 2> /tmp/live.err &`,
      'wait',
    ].join('\n');
    await execInPod(
      namespace,
      'kafka-client',
      [
        ...Object.entries(files).map(([file, lines]) => `printf '%s\\n' ${lines.join(' ')} > /tmp/${file}`),
        `cat > /tmp/background.sh <<'EOF'\n${background}\nEOF`,
        'nohup bash /tmp/background.sh > /tmp/background.log 2>&1 &',
      ].join('\n'),
    );
    const read = (file: string) => execInPod(namespace, 'kafka-client', `cat ${file} 2>/dev/null || true`);
    // While the client's JVMs start: the names and the issuer of what each broker's client listener
    // presents, checked by openssl with the class's CAs (the pod's ClusterTrustBundle projection).
    // (A client without them fails the handshake: kafka-tls-real-node proves it.)
    const hosts = [bootstrap, ...brokerHosts];
    const checks = [
      ...hosts.map(
        (host) =>
          `for i in $(seq 30); do openssl s_client -connect ${host}:9092 -servername ${host} -CAfile /trust/ca.crt ` +
          `-verify_return_error -verify_hostname ${host} </dev/null >/tmp/s.out 2>/tmp/s.err && break; sleep 2; done; ` +
          `echo "verify ${host}: $(grep -o 'Verify return code: .*' /tmp/s.out || tail -2 /tmp/s.err)"; ` +
          `echo "BEGIN ${host}"; openssl x509 -in /tmp/s.out 2>&1; echo "END ${host}"`,
      ),
    ].join('\n');
    const checked = await execInPod(namespace, 'kafka-client', checks);
    const cas = await classCas(className);
    expect(cas.length).toBeGreaterThan(0);
    for (const host of hosts) {
      const verified = checked.split('\n').find((l) => l.startsWith(`verify ${host}: `));
      const pem = new RegExp(`BEGIN ${host}\\n([\\s\\S]*?)END ${host}`).exec(checked)?.[1] ?? '';
      let presented: X509Certificate | undefined;
      try {
        presented = new X509Certificate(pem);
      } catch {
        throw await kafkaFail(`no certificate from ${host}:9092:\n${checked}`);
      }
      expect({
        host,
        verified,
        name: presented.checkHost(host),
        byClassCa: cas.some((ca) => presented!.checkIssued(ca) && presented!.verify(ca.publicKey)),
      }).toEqual({
        host,
        verified: `verify ${host}: Verify return code: 0 (ok)`,
        name: host,
        byClassCa: true,
      });
    }

    const checkedAt = Date.now();
    try {
      await waitFor(
        'the consumer to read the first message',
        async () => /^m1$/m.test(await read('/tmp/live.out')),
        5 * 60_000,
      );
    } catch (error) {
      throw await kafkaFail(
        `${(error as Error).message}\n--- client\n${await read('/tmp/background.log')}${await read('/tmp/producer.log')}${await read('/tmp/live.err')}`,
      );
    }
    const clientUp = Date.now();

    // The operator asks to evict, is refused, and asks again later; no Kafka pod goes.
    try {
      await waitFor(
        'two refused evictions',
        async () => evictions(await metrics()).refused >= evictions(blockedFrom).refused + 2,
        3 * 60_000,
      );
    } catch (error) {
      throw await kafkaFail((error as Error).message);
    }
    const blocked = await metrics();
    expect({
      evicted: evictions(blocked).done - evictions(blockedFrom).done,
      deleted:
        (writesByResource(blocked)['delete pods'] ?? 0) - (writesByResource(blockedFrom)['delete pods'] ?? 0),
      pods: new Map((await kafkaPods()).map((p) => [p.metadata!.name!, p.metadata!.uid!])),
    }).toEqual({ evicted: 0, deleted: 0, pods: uids });
    const refused = evictions(blocked).refused - evictions(blockedFrom).refused;

    // The budgets free again: the roll.
    const count = async (file: string) => Number((await read(file)).trim() || '0');
    const lines = async (file: string) => (await read(file)).split('\n').filter((l) => /^m\d+$/.test(l));
    const writtenBefore = await count('/tmp/written');
    const consumedBefore = (await lines('/tmp/live.out')).length;
    const rollBegan = Date.now();
    for (const role of KAFKA_ROLES)
      await apps.deleteNamespacedDeployment({ namespace, name: `budget-${role}` });
    let worst = 0;
    let replaced: string[] = [];
    const watch = rollWatch(KAFKA_PODS, uids);
    try {
      await waitFor(
        'every Kafka pod to be replaced and Ready',
        async () => {
          const now = await kafkaPods();
          worst = Math.max(worst, watch(now));
          const down =
            KAFKA_PODS.length - now.filter((p) => isReady(p) && !p.metadata!.deletionTimestamp).length;
          replaced = now
            .filter((p) => p.metadata!.uid !== uids.get(p.metadata!.name!))
            .map((p) => p.metadata!.name!);
          return down === 0 && replaced.length === KAFKA_PODS.length;
        },
        10 * 60_000,
      );
    } catch (error) {
      throw await kafkaFail(`${(error as Error).message}; replaced: ${replaced}`);
    }
    const rolled = Date.now();
    const writtenDuring = (await count('/tmp/written')) - writtenBefore;
    const consumedDuring = (await lines('/tmp/live.out')).length - consumedBefore;
    process.stdout.write(
      `kafka certificate restarts: Available ${((availableAt - kafkaCreated) / 1000).toFixed(0)} s after creation ` +
        `(${((availableAt - started) / 1000).toFixed(0)} s of it in this test); budgets spent ` +
        `${((blockedAt - availableAt) / 1000).toFixed(0)} s later; TLS checks ` +
        `${((checkedAt - blockedAt) / 1000).toFixed(0)} s, producer and consumer up ` +
        `${((clientUp - checkedAt) / 1000).toFixed(0)} s, refusals seen ` +
        `${((rollBegan - clientUp) / 1000).toFixed(0)} s later (${refused} evictions refused, no pod gone); three pods ` +
        `rolled in ${((rolled - rollBegan) / 1000).toFixed(0)} s, at most ${worst} down; ${writtenDuring} messages ` +
        `produced and ${consumedDuring} consumed during the roll\n`,
    );
    expect(worst).toBe(1);

    // Three evictions, no pod deleted by the operator; each after the pod before was back and Ready.
    const after = await metrics();
    expect({
      evicted: evictions(after).done - evictions(blocked).done,
      deleted:
        (writesByResource(after)['delete pods'] ?? 0) - (writesByResource(blockedFrom)['delete pods'] ?? 0),
    }).toEqual({ evicted: 3, deleted: 0 });
    const events = (await core.listNamespacedEvent({ namespace })).items.filter(
      (e) =>
        e.reason === 'CertificateRestart' &&
        Date.parse(String(e.firstTimestamp)) >= Math.floor(blockedAt / 1000) * 1000 &&
        (e.involvedObject.kind === 'KafkaCluster' || KAFKA_PODS.includes(e.involvedObject.name ?? '')),
    );
    expect(events.filter((e) => e.involvedObject.kind === 'KafkaCluster')).toHaveLength(3);
    const evicted = events
      .filter((e) => e.involvedObject.kind === 'Pod')
      .map((e) => ({ pod: e.involvedObject.name!, at: Date.parse(String(e.firstTimestamp)) }))
      .sort((a, b) => a.at - b.at);
    expect(evicted.map((e) => e.pod).sort()).toEqual([...KAFKA_PODS].sort());
    const now = await kafkaPods();
    const readyAt = (pod: string) => {
      const ready = now
        .find((p) => p.metadata!.name === pod)
        ?.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True');
      return Date.parse(String(ready?.lastTransitionTime));
    };
    process.stdout.write(
      `kafka certificate restarts: ${evicted
        .map(
          (e) =>
            `${e.pod} evicted at +${((e.at - rollBegan) / 1000).toFixed(0)} s, Ready after ${((readyAt(e.pod) - e.at) / 1000).toFixed(0)} s`,
        )
        .join('; ')}\n`,
    );

    // Each new pod runs a certificate issued after the roll began.
    const newUids = new Map(now.map((p) => [p.metadata!.name!, p.metadata!.uid!]));
    const fresh = await requests();
    for (const pod of KAFKA_PODS) {
      const notBefore = Math.min(...issuedTo(fresh, newUids, pod).map((c) => c.notBefore.getTime()));
      expect({
        pod,
        issuedAfterRollBegan: notBefore + CLOCK_SKEW_SECONDS * 1000 >= rollBegan - 1000,
      }).toEqual({
        pod,
        issuedAfterRollBegan: true,
      });
    }

    // Every message produced was written (no send failed) and consumed, those written before the
    // roll too.
    await execInPod(namespace, 'kafka-client', 'touch /tmp/stop');
    const stopped = Date.now();
    let written = 0;
    try {
      await waitFor(
        'the producer to finish',
        async () => /exit=/.test(await read('/tmp/producer.done')),
        5 * 60_000,
      );
      written = await count('/tmp/written');
      const all = Array.from({ length: written }, (_, i) => `m${i + 1}`);
      const missing = async (file: string) => {
        const have = new Set(await lines(file));
        return all.filter((m) => !have.has(m));
      };
      await waitFor(
        'the consumer to read every message',
        async () => (await missing('/tmp/live.out')).length === 0,
        2 * 60_000,
      );
    } catch (error) {
      throw await kafkaFail(
        `${(error as Error).message}\n--- producer\n${(await read('/tmp/producer.log')).slice(-3000)}\n` +
          `--- consumer\n${(await read('/tmp/live.err')).slice(-2000)}`,
      );
    }
    const producerLog = await read('/tmp/producer.log');
    expect({
      done: (await read('/tmp/producer.done')).trim(),
      failedSends: (producerLog.match(/Error when sending/g) ?? []).length,
    }).toEqual({
      done: 'exit=0',
      failedSends: 0,
    });
    expect({ writtenDuring: writtenDuring > 0, consumedDuring: consumedDuring > 0 }).toEqual({
      writtenDuring: true,
      consumedDuring: true,
    });
    process.stdout.write(
      `kafka certificate restarts: ${written} messages produced, all consumed, checked in ` +
        `${((Date.now() - stopped) / 1000).toFixed(0)} s; test ${((Date.now() - started) / 1000).toFixed(0)} s\n`,
    );
  });

  it('restarts a Hive metastore, which does not reload its certificate, before the certificate expires; a Thrift client over TLS works after', async () => {
    // The Kafka is done with: its pods go, leaving the machine to the metastore.
    await client.request('delete', 'DELETE', kafkaPath('kafka'), 'kafkaclusters').catch(() => undefined);
    await core
      .deleteNamespacedPod({ namespace, name: 'kafka-client', gracePeriodSeconds: 0 })
      .catch(() => undefined);
    await buildImageOnRealNode(hiveImageRecipe(HIVE_VERSION));
    await installMetastoreProbe(namespace, HIVE_VERSION);
    const host = await startPostgres(namespace);
    const hivePath = (name = '') => `${API}/namespaces/${namespace}/hiveclusters${name ? `/${name}` : ''}`;
    const started = Date.now();
    await client.request('create', 'POST', hivePath(), 'hiveclusters', {
      body: {
        apiVersion: 'keelson.dev/v1alpha1',
        kind: 'HiveCluster',
        metadata: { name: 'hive' },
        spec: {
          image: { productVersion: HIVE_VERSION, pullPolicy: 'Never' },
          clusterConfig: {
            database: postgresMetastoreDatabase(host),
            tls: { serverTlsClass: className },
          },
          metastores: {
            podOverrides: { spec: REAL_NODE_PLACEMENT },
            roleGroups: { default: { replicas: 1 } },
          },
        },
      },
    });
    const hivePods = [METASTORE, 'postgres'];
    const hiveFail = (message: string) => fail(message, hivePods);
    try {
      await waitFor(
        'the HiveCluster to be Available',
        () => available(hivePath('hive'), 'hiveclusters'),
        10 * 60_000,
      );
    } catch (error) {
      throw await hiveFail((error as Error).message);
    }
    const availableAt = Date.now();
    // Thrift over TLS through the client Service, trusting the class's CAs only.
    const probe = (name: string, database: string) =>
      runMetastoreProbe(namespace, {
        name,
        version: HIVE_VERSION,
        metastoreUri: `thrift://hive-metastores.${namespace}.svc.cluster.local:9083`,
        args: [database],
        metastorePods: hivePods,
        trust: trustVolume,
      });
    expect((await probe('probe-before', 'before_restart')).split('\n')).toContain('database: before_restart');

    // Due a quarter of the lifetime before its certificate expires: the clock moves there.
    const metastorePod = async () => (await listPods('hive')).find((p) => p.metadata!.name === METASTORE);
    const uid = (await metastorePod())!.metadata!.uid!;
    const uids = new Map([[METASTORE, uid]]);
    const issued = issuedTo(await requests(), uids, METASTORE);
    expect(issued.length).toBeGreaterThan(0);
    const due = Math.max(...issued.map((c) => restartAt(c).getTime()));
    const moved = Date.now();
    moveClock(due + 1000);
    await nudge(hivePath('hive'), 'hiveclusters');
    try {
      await waitFor(
        'the metastore to be restarted and Ready',
        async () => {
          const pod = await metastorePod();
          return (
            pod !== undefined && pod.metadata!.uid !== uid && isReady(pod) && !pod.metadata!.deletionTimestamp
          );
        },
        10 * 60_000,
      );
    } catch (error) {
      throw await hiveFail((error as Error).message);
    }
    const back = Date.now();
    const restarts = (await core.listNamespacedEvent({ namespace })).items.filter(
      (e) => e.reason === 'CertificateRestart' && e.involvedObject.kind === 'HiveCluster',
    );
    expect(restarts.length).toBe(1);
    // The new pod's certificate was issued after the clock moved (its notBefore, back-dated a minute).
    const newUid = (await metastorePod())!.metadata!.uid!;
    const fresh = issuedTo(await requests(), new Map([[METASTORE, newUid]]), METASTORE);
    expect(fresh.length).toBeGreaterThan(0);
    for (const c of fresh)
      expect(c.notBefore.getTime() + CLOCK_SKEW_SECONDS * 1000).toBeGreaterThanOrEqual(moved - 1000);
    // The metastore serves Thrift over TLS again; what was created before is still there (PostgreSQL).
    const after = (await probe('probe-after', 'after_restart')).split('\n');
    expect(after).toEqual(expect.arrayContaining(['database: before_restart', 'database: after_restart']));
    process.stdout.write(
      `hive certificate restart: Available ${((availableAt - started) / 1000).toFixed(0)} s after the HiveCluster, ` +
        `restarted and Ready ${((back - moved) / 1000).toFixed(0)} s after the clock moved to its due time\n`,
    );
  });
});
