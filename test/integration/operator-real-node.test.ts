/**
 * The operator path on the real node: keelson's operator (the compiled `keelson operator`, with
 * the identity `keelson deploy`'s RBAC gives it) reconciles ZookeeperCluster, KafkaCluster,
 * HiveCluster (on PostgreSQL) and TrinoCluster custom resources whose pods run real containers on
 * the real node, in a namespace enforcing the restricted Pod Security profile. One product after
 * the other (the machine has two shared cores), each deleted before the next:
 * - `Available` is False while the pods start and turns True only once every pod is Ready (it is
 *   never True while one is not);
 * - a ZooKeeper config override the server rejects shows up as `Degraded=True`
 *   (`ContainersFailing`) naming the pod, the container, the exit code and ZooKeeper's own error
 *   (the end of its log), with one Warning Event for the whole crash loop, while the operator
 *   writes nothing but the changed objects, status and that Event;
 * - reverting the override makes it Available again and no longer Degraded.
 * Day two through the custom resource, a user's patch of one field each time, on the running
 * stacklets:
 * - ZooKeeper 3.9.3 → 3.9.4 (`spec.image.productVersion`): the operator replaces the server with
 *   one of the new image (`srvr` reports 3.9.4), `Available` goes False and comes back True of the
 *   new generation only with the new pod Ready, a znode written on 3.9.3 is read on 3.9.4, and the
 *   data claim is the same object (uid);
 * - a `zoo.cfg` override (`tickTime: 3000`) rolls the server, and `conf` serves the new value;
 * - `clusterOperation.stopped: true` leaves no server, the StatefulSet at 0 replicas, the claim in
 *   place and `Stopped=True`; `false` brings the server back with the znode and the override;
 * - Kafka 4.0.0 → 4.1.0 (KRaft, a controller and a broker) rolls both pods onto the new image on
 *   the same claims, and a message produced on 4.0.0 is consumed on 4.1.0;
 * - the brokers' listener class set to `external-unstable` (NodePort): the operator writes the
 *   broker's node address and nodePort, the broker advertises them on its EXTERNAL listener, and a
 *   Kafka client on the host (outside every pod's network namespace) bootstraps, produces and
 *   consumes through that address;
 * - TLS switched on for that running Kafka with a keelsonCa class: both pods roll onto Pod
 *   Certificates the operator signs, the broker's naming its node's IP, and the host client,
 *   trusting the class's ClusterTrustBundle and checking names, produces and consumes through the
 *   same NodePort address (openssl verifies the certificate for that IP and not for another);
 * - the brokers' class set to `external-stable` (LoadBalancer) with no load balancer controller:
 *   the new broker's certificate waits, with a `CertificateWaiting` Event, until the test writes
 *   the Service's ingress address; then the broker starts, its certificate naming that address.
 * Trino's worker NetworkPolicy, enforced by the node's policy controller (kube-router): a
 * neighbour pod of the namespace gets an answer from the coordinator's client Service but is
 * refused on the worker's 8080, while the coordinator gets an answer from that same port (the
 * worker listens); with the NetworkPolicies switched off in the spec (the operator prunes them)
 * the neighbour gets in, and with them back it is refused again; a query of the namespace, which
 * only the worker executes, returns its rows.
 * Each failure prints the pods' logs, the stacklet's status and the operator's log (and, for the
 * network checks, the policy controller's log and rules).
 */
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { Chart, Testing } from 'cdk8s';
import type { Construct } from 'constructs';
import { PRODUCTS } from '../../apps/keelson';
import { HiveCluster } from '../../constructs/hive';
import { hiveImageRecipe } from '../../constructs/hive/image';
import { KafkaCluster } from '../../constructs/kafka';
import { kafkaImageRecipe } from '../../constructs/kafka/image';
import { TrinoCluster } from '../../constructs/trino';
import { trinoImageRecipe } from '../../constructs/trino/image';
import { ZookeeperCluster, zookeeperDistDir } from '../../constructs/zookeeper';
import { zookeeperImageRecipe } from '../../constructs/zookeeper/image';
import type { ImageRecipe } from '../../lib/image';
import { isStatus, KubeClient } from '../../lib/operator/client';
import type { KubeObject } from '../../lib/operator/informer';
import { LABEL_INSTANCE } from '../../lib/stacklet/labels';
import { createTestNamespace } from '../controlplane/cluster';
import { installCrds, RESTRICTED } from './admission';
import {
  KEELSON_BIN,
  operatorIdentity,
  removeOperatorIdentity,
  startOperator,
  tail,
  writesByResource,
  writesSince,
  type OperatorProcess,
} from './operator-support';
import {
  FIRST_TIER_JIT,
  CLIENT_JVM_OPTIONS,
  buildImageOnRealNode,
  execInPod,
  isReady,
  networkPolicyState,
  podsLogs,
  realNode,
  REAL_NODE_PLACEMENT,
  runClientPod,
  startShellPod,
  waitPodsReady,
} from './real-node-support';
import { startPostgres, postgresMetastoreDatabase } from './hive-real-node-support';
import { hostClientPlace, produceConsume, runOnHost } from './kafka-client-support';
import { adminClients, adminKubeConfig, uniqueName, waitFor } from './support';

jest.setTimeout(40 * 60_000);

const GROUP_VERSION = 'keelson.dev/v1alpha1';
const log = (message: string) => process.stdout.write(`the operator on the real node: ${message}\n`);
const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(0)} s`;
const placement = { podOverrides: { spec: REAL_NODE_PLACEMENT } };
/** Small pods: the products share two cores with the rest of the machine. */
const small = (memory: string, storage?: Record<string, { capacity: string }>) => ({
  resources: { memory: { limit: memory }, cpu: { min: '100m', max: '1' }, ...(storage ? { storage } : {}) },
});
const one = { roleGroups: { default: { replicas: 1 } } };

type Condition = { type: string; status: string; reason: string; message: string };

describe('the operator on the real node', () => {
  const kc = adminKubeConfig();
  const { core, apps } = adminClients();
  const client = new KubeClient(kc);
  let namespace = '';
  let operator: OperatorProcess | undefined;

  beforeAll(async () => {
    await realNode();
    await installCrds(PRODUCTS, kc);
    namespace = await createTestNamespace(kc, uniqueName('operator-real'), RESTRICTED);
    const kubeconfig = await operatorIdentity(namespace, kc, PRODUCTS);
    operator = await startOperator({ namespaces: [namespace], kubeconfig, entry: KEELSON_BIN });
  });

  afterAll(async () => {
    await operator?.stop();
    if (!namespace) return;
    await removeOperatorIdentity(namespace, kc);
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  });

  const plural = (kind: string) => PRODUCTS.find((p) => p.kind === kind)!.plural;
  const path = (kind: string, name = '') =>
    `/apis/${GROUP_VERSION}/namespaces/${namespace}/${plural(kind)}${name ? `/${name}` : ''}`;
  const stacklet = (kind: string, name: string) =>
    client.request<KubeObject>('get', 'GET', path(kind, name), plural(kind));
  const condition = (object: KubeObject, type: string) =>
    ((object.status as { conditions?: Condition[] } | undefined)?.conditions ?? []).find(
      (c) => c.type === type,
    );

  async function importImages(recipes: ImageRecipe[]): Promise<void> {
    for (const recipe of recipes) await buildImageOnRealNode(recipe);
  }

  /** The pods keelson's build of `spec` runs (StatefulSet pods by ordinal), read from synth. */
  function expectedPods(
    construct: (scope: Construct, id: string, spec: never) => unknown,
    name: string,
    spec: object,
  ): string[] {
    const chart = new Chart(Testing.app(), 'expected', { namespace: 'expected' });
    construct(chart, name, spec as never);
    return (Testing.synth(chart) as KubeObject[])
      .filter((o) => o.kind === 'StatefulSet')
      .flatMap((o) =>
        Array.from(
          { length: (o.spec as { replicas: number }).replicas },
          (_, i) => `${o.metadata.name}-${i}`,
        ),
      )
      .sort();
  }

  async function diagnostics(kind: string, name: string, pods: string[]): Promise<string> {
    const status = await stacklet(kind, name).then(
      (s) => JSON.stringify(s.status, null, 1),
      (e: Error) => e.message,
    );
    return (
      `--- ${kind} ${name} status:\n${status}\n--- pods:\n${await podsLogs(namespace, pods)}\n` +
      `--- operator (${operator!.logFile}):\n${tail(operator!.logFile, 40)}`
    );
  }

  async function create(kind: string, name: string, spec: object, labels?: Record<string, string>) {
    await client.request('create', 'POST', path(kind), plural(kind), {
      body: { apiVersion: GROUP_VERSION, kind, metadata: { name, labels }, spec },
    });
  }

  async function patchSpec(kind: string, name: string, spec: object): Promise<void> {
    await client.request('patch', 'PATCH', path(kind, name), plural(kind), {
      body: { spec },
      contentType: 'application/merge-patch+json',
    });
  }

  /** What {@link waitAvailableOnlyWhen} waits for. */
  interface AvailableWait {
    /** The wait's description, for its timeout message. */
    readonly what: string;
    /** Whether a live pod counts as done (a pod of `pods` that does not count is pending). */
    readonly done: (pod: k8s.V1Pod) => boolean;
    /** How a pending pod is described in a violation (`not Ready`). */
    readonly pending: string;
    /** Only the status of the stacklet's latest generation counts. */
    readonly latestGeneration: boolean;
    readonly timeoutMs: number;
  }

  /**
   * Waits for `Available=True` with every pod of `pods` done, checking at every look that it is not
   * True while one of them is pending (the stacklet is read before the pods: pods that were pending
   * then are pending before it either), that it was False before, and that the stacklet is not
   * Degraded at the end.
   */
  async function waitAvailableOnlyWhen(
    kind: string,
    name: string,
    pods: string[],
    wait: AvailableWait,
  ): Promise<void> {
    let sawFalse = false;
    let violation: string | undefined;
    await waitFor(
      wait.what,
      async () => {
        const object = await stacklet(kind, name);
        const status = object.status as { observedGeneration?: number } | undefined;
        if (wait.latestGeneration && status?.observedGeneration !== object.metadata.generation) return false;
        const available = condition(object, 'Available');
        const live = await core.listNamespacedPod({ namespace, labelSelector: `${LABEL_INSTANCE}=${name}` });
        const done = new Set(live.items.filter(wait.done).map((p) => p.metadata!.name!));
        const pending = pods.filter((p) => !done.has(p));
        if (available?.status === 'False') sawFalse = true;
        if (available?.status !== 'True') return false;
        if (pending.length > 0) {
          violation ??= `Available=True (${available.message}) while ${pending.join(', ')} ${wait.pending}`;
          return false;
        }
        return true;
      },
      wait.timeoutMs,
      undefined,
      undefined,
      async () => JSON.stringify((await stacklet(kind, name)).status),
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}\n${violation ?? ''}\n${await diagnostics(kind, name, pods)}`);
    });
    expect(violation).toBeUndefined();
    expect(sawFalse).toBe(true);
    expect(condition(await stacklet(kind, name), 'Degraded')).toMatchObject({ status: 'False' });
  }

  /** Waits for `Available=True`, never True while one of `pods` is not Ready, and False before. */
  const waitAvailableOnlyWhenReady = (kind: string, name: string, pods: string[]) =>
    waitAvailableOnlyWhen(kind, name, pods, {
      what: `${kind} ${name} to be Available with ${pods.join(', ')} Ready`,
      done: (pod) => isReady(pod),
      pending: 'not Ready',
      latestGeneration: false,
      timeoutMs: 10 * 60_000,
    });

  /** Undoes what the current test made, passed or failed, so that the next one has the cores. */
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    const undo = cleanup;
    cleanup = undefined;
    await undo?.();
  });

  /** Deletes the stacklet and waits until its pods are gone (the next product gets the cores). */
  async function remove(kind: string, name: string): Promise<void> {
    await client.request('delete', 'DELETE', path(kind, name), plural(kind));
    await waitFor(
      `the pods of ${kind} ${name} to be gone`,
      async () =>
        (await core.listNamespacedPod({ namespace, labelSelector: `${LABEL_INSTANCE}=${name}` })).items
          .length === 0,
      5 * 60_000,
    );
  }

  /** The uid of each pod of `pods` (which must exist). */
  const podUids = (pods: string[]) =>
    Promise.all(pods.map(async (name) => (await core.readNamespacedPod({ name, namespace })).metadata!.uid!));

  /** The uid of each claim of `claims` (the StatefulSet makes them; keelson never deletes them). */
  const claimUids = (claims: string[]) =>
    Promise.all(
      claims.map(
        async (name) => (await core.readNamespacedPersistentVolumeClaim({ name, namespace })).metadata!.uid!,
      ),
    );

  /**
   * Waits until the operator has rolled out the stacklet's latest generation: its status is of that
   * generation and `Available=True`, and every pod of `pods` is a new one (none of `before`, the
   * uids the pods had before the change), Ready, with a container of `image`. At every look
   * `Available` of the latest generation is never True while one of them is old or not Ready, and
   * it must have been False of that generation before (the roll takes the pods down).
   */
  const waitRolledOut = (kind: string, name: string, pods: string[], before: string[], image: string) =>
    waitAvailableOnlyWhen(kind, name, pods, {
      what: `${kind} ${name} to roll out its latest generation to new, Ready ${pods.join(', ')} running ${image}`,
      done: (p) =>
        isReady(p) &&
        !p.metadata!.deletionTimestamp &&
        !before.includes(p.metadata!.uid!) &&
        p.spec!.containers.some((c) => c.image === image),
      pending: 'not rolled out and Ready',
      latestGeneration: true,
      timeoutMs: 15 * 60_000,
    });

  it('ZooKeeper: Available only once Ready; a rejected override is Degraded and heals; upgrade, override, stop and start through the operator keep the data', async () => {
    await importImages([zookeeperImageRecipe('3.9.3'), zookeeperImageRecipe('3.9.4')]);
    const image = (version: string) => zookeeperImageRecipe(version).reference;
    const spec = {
      image: { productVersion: '3.9.3', pullPolicy: 'Never' },
      servers: { config: small('512Mi'), ...placement, ...one, ...FIRST_TIER_JIT },
    };
    const pods = expectedPods((s, id, p) => new ZookeeperCluster(s, id, p), 'zk', spec);
    expect(pods).toEqual(['zk-servers-default-0']);
    const claims = pods.map((pod) => `data-${pod}`);
    await create('ZookeeperCluster', 'zk', spec);
    cleanup = () => remove('ZookeeperCluster', 'zk');
    await waitAvailableOnlyWhenReady('ZookeeperCluster', 'zk', pods);
    const zkDiagnostics = () => diagnostics('ZookeeperCluster', 'zk', pods);

    /**
     * ZooKeeper's answer to a four-letter word, from inside the server's pod. An empty answer (a
     * server that closed the connection while it settled, or an exec whose output was lost) is
     * asked again a few times; a wrong answer is returned as it is, for the test to judge.
     */
    const fourLetters = async (word: string) => {
      let answer = '';
      for (let attempt = 1; attempt <= 5 && answer === ''; attempt++) {
        if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, 2_000));
        answer = (
          await execInPod(namespace, pods[0], `echo ${word} | nc -w 5 127.0.0.1 2181`).catch(
            async (error: Error) => {
              throw new Error(`${error.message}\n${await zkDiagnostics()}`);
            },
          )
        ).trim();
      }
      return answer;
    };
    /**
     * Runs zkCli of `version` (in a client pod of that image, a neighbour in the namespace) against
     * the client Service until its output has a line matching `expect`, and returns that line.
     */
    let clients = 0;
    const zkCli = async (version: string, command: string, expect: string) => {
      const cli =
        `java ${CLIENT_JVM_OPTIONS} -cp '${zookeeperDistDir(version)}/lib/*:/conf' org.apache.zookeeper.ZooKeeperMain ` +
        `-server zk-servers.${namespace}.svc.cluster.local:2181 ${command}`;
      const script = [
        'end=$((SECONDS + 180))',
        `until out=$(${cli} 2>&1) && echo "$out" | grep -q -E '${expect}'; do`,
        '  if [ $SECONDS -gt $end ]; then echo "$out"; exit 1; fi',
        '  sleep 2',
        'done',
        `echo "$out" | grep -m1 -E '${expect}'`,
      ].join('\n');
      const out = await runClientPod(
        namespace,
        {
          name: `zk-client-${++clients}`,
          image: image(version),
          command: ['/bin/bash', '-c', script],
          env: [{ name: 'JAVA_TOOL_OPTIONS', value: CLIENT_JVM_OPTIONS }],
        },
        zkDiagnostics,
      );
      return out.trim();
    };

    // Day one on 3.9.3: a znode, and the claim that holds it.
    expect(await zkCli('3.9.3', 'create /operator-day-two written-on-3.9.3', '^Created')).toBe(
      'Created /operator-day-two',
    );
    const claimsBefore = await claimUids(claims);

    // initLimit is a number of ticks: ZooKeeper refuses to start on anything else.
    const before = writesByResource(await operator!.metrics());
    await patchSpec('ZookeeperCluster', 'zk', {
      servers: { configOverrides: { 'zoo.cfg': { initLimit: 'not-a-number' } } },
    });
    let degraded: Condition | undefined;
    await waitFor(
      'ZookeeperCluster zk to be Degraded by its failing container and not Available',
      async () => {
        const object = await stacklet('ZookeeperCluster', 'zk');
        degraded = condition(object, 'Degraded');
        return degraded?.reason === 'ContainersFailing' && condition(object, 'Available')?.status === 'False';
      },
      10 * 60_000,
      undefined,
      undefined,
      async () => JSON.stringify((await stacklet('ZookeeperCluster', 'zk')).status),
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}\n${await zkDiagnostics()}`);
    });
    expect(degraded).toMatchObject({ status: 'True', reason: 'ContainersFailing' });
    // The pod, the container, how it ended, and ZooKeeper's own words from the end of its log.
    expect(degraded!.message).toMatch(
      /^pod zk-servers-default-0 container zookeeper: exit code [1-9]\d* \(Error\): /,
    );
    expect(degraded!.message).toContain('not-a-number');

    // The crash loop goes on; the operator warned once, and wrote only what changed and status.
    await waitFor(
      'the server to fail again',
      async () => {
        const pod = await core.readNamespacedPod({ name: pods[0], namespace });
        return (pod.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 2;
      },
      10 * 60_000,
    );
    const events = (
      await core.listNamespacedEvent({
        namespace,
        fieldSelector: 'involvedObject.kind=ZookeeperCluster,involvedObject.name=zk,reason=ContainersFailing',
      })
    ).items;
    expect(events.map((e) => [e.type, e.message?.split(': ')[0]])).toEqual([
      ['Warning', 'pod zk-servers-default-0 container zookeeper'],
    ]);
    const writes = writesSince(before, writesByResource(await operator!.metrics()));
    expect(writes).toEqual({
      'apply configmaps': 1,
      'apply statefulsets': 1,
      'create events': 1,
      'patch zookeeperclusters': expect.any(Number),
    });

    // Reverting the override rolls the failing pod back to a working config.
    await patchSpec('ZookeeperCluster', 'zk', { servers: { configOverrides: null } });
    await waitFor(
      'ZookeeperCluster zk to be Available and no longer Degraded',
      async () => {
        const object = await stacklet('ZookeeperCluster', 'zk');
        return (
          condition(object, 'Available')?.status === 'True' &&
          condition(object, 'Degraded')?.status === 'False'
        );
      },
      10 * 60_000,
      undefined,
      undefined,
      async () => JSON.stringify((await stacklet('ZookeeperCluster', 'zk')).status),
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}\n${await zkDiagnostics()}`);
    });
    await waitPodsReady(namespace, pods);

    // The version upgrade through the custom resource: one field. A version is not a change of the
    // ensemble's members, so the quorum rule lets it through; the server is replaced by one of the
    // new image on the same claim, and the znode written on 3.9.3 is read on 3.9.4.
    let started = Date.now();
    let podsBefore = await podUids(pods);
    await patchSpec('ZookeeperCluster', 'zk', { image: { productVersion: '3.9.4' } });
    await waitRolledOut('ZookeeperCluster', 'zk', pods, podsBefore, image('3.9.4'));
    log(`3.9.3 → 3.9.4: Available again ${seconds(started)} after the patch`);
    expect(await fourLetters('srvr')).toMatch(/^Zookeeper version: 3\.9\.4-/m);
    expect(await zkCli('3.9.4', 'get /operator-day-two', '^written-on')).toBe('written-on-3.9.3');
    expect(await claimUids(claims)).toEqual(claimsBefore);

    // A zoo.cfg override through the custom resource rolls the server, which serves the new value.
    started = Date.now();
    expect(await fourLetters('conf')).toMatch(/^tickTime=2000$/m);
    podsBefore = await podUids(pods);
    await patchSpec('ZookeeperCluster', 'zk', {
      servers: { configOverrides: { 'zoo.cfg': { tickTime: '3000' } } },
    });
    await waitRolledOut('ZookeeperCluster', 'zk', pods, podsBefore, image('3.9.4'));
    log(`tickTime override: Available again ${seconds(started)} after the patch`);
    expect(await fourLetters('conf')).toMatch(/^tickTime=3000$/m);

    // Stop: no server runs, the StatefulSet and the claim stay. Start: the same data is back.
    started = Date.now();
    podsBefore = await podUids(pods);
    await patchSpec('ZookeeperCluster', 'zk', { clusterOperation: { stopped: true } });
    await waitFor(
      'ZookeeperCluster zk to be Stopped with no server left',
      async () => {
        const object = await stacklet('ZookeeperCluster', 'zk');
        const status = object.status as { observedGeneration?: number } | undefined;
        const live = await core.listNamespacedPod({ namespace, labelSelector: `${LABEL_INSTANCE}=zk` });
        return (
          status?.observedGeneration === object.metadata.generation &&
          condition(object, 'Stopped')?.status === 'True' &&
          live.items.length === 0
        );
      },
      5 * 60_000,
      undefined,
      undefined,
      async () => JSON.stringify((await stacklet('ZookeeperCluster', 'zk')).status),
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}\n${await zkDiagnostics()}`);
    });
    const stopped = await stacklet('ZookeeperCluster', 'zk');
    expect(condition(stopped, 'Available')).toMatchObject({ status: 'False', reason: 'Stopped' });
    expect(condition(stopped, 'Degraded')).toMatchObject({ status: 'False' });
    expect(
      (await apps.readNamespacedStatefulSet({ name: 'zk-servers-default', namespace })).spec!.replicas,
    ).toBe(0);
    expect(await claimUids(claims)).toEqual(claimsBefore);
    log(`stop: no server left ${seconds(started)} after the patch`);
    started = Date.now();
    await patchSpec('ZookeeperCluster', 'zk', { clusterOperation: { stopped: false } });
    await waitRolledOut('ZookeeperCluster', 'zk', pods, podsBefore, image('3.9.4'));
    log(`start: Available again ${seconds(started)} after the patch`);
    expect(condition(await stacklet('ZookeeperCluster', 'zk'), 'Stopped')).toMatchObject({ status: 'False' });
    expect(await zkCli('3.9.4', 'get /operator-day-two', '^written-on')).toBe('written-on-3.9.3');
    expect(await fourLetters('conf')).toMatch(/^tickTime=3000$/m);
    expect(await claimUids(claims)).toEqual(claimsBefore);
  });

  it('Kafka (KRaft): Available only once the controller and the broker are Ready; 4.0.0 → 4.1.0 through the operator keeps the messages', async () => {
    await importImages([kafkaImageRecipe('4.0.0'), kafkaImageRecipe('4.1.0')]);
    const storage = { 'log-dirs': { capacity: '1Gi' } };
    const role = { config: small('512Mi', storage), ...placement, ...one, ...FIRST_TIER_JIT };
    const spec = {
      image: { productVersion: '4.0.0', pullPolicy: 'Never' },
      controllers: role,
      brokers: role,
    };
    const pods = expectedPods((s, id, p) => new KafkaCluster(s, id, p), 'kafka', spec);
    expect(pods).toEqual(['kafka-brokers-default-0', 'kafka-controllers-default-0']);
    const claims = pods.map((pod) => `log-dirs-${pod}`);
    await create('KafkaCluster', 'kafka', spec);
    cleanup = () => remove('KafkaCluster', 'kafka');
    await waitAvailableOnlyWhenReady('KafkaCluster', 'kafka', pods);

    const bootstrap = `kafka-brokers.${namespace}.svc.cluster.local:9092`;
    const kafkaClient = (name: string, version: string, script: string) =>
      runClientPod(
        namespace,
        { name, image: kafkaImageRecipe(version).reference, command: ['/bin/bash', '-c', script] },
        () => diagnostics('KafkaCluster', 'kafka', pods),
        10 * 60_000,
      );
    const before = await kafkaClient(
      'kafka-before',
      '4.0.0',
      produceConsume('4.0.0', bootstrap, 'orders', { rf: 1, messages: ['before-1'], expect: 1 }),
    );
    expect(before).toContain('consumed: before-1');
    const claimsBefore = await claimUids(claims);

    // The upgrade through the custom resource: the controller is a quorum role, and a version is
    // not a change of its members, so the operator rolls both pods.
    const started = Date.now();
    const podsBefore = await podUids(pods);
    await patchSpec('KafkaCluster', 'kafka', { image: { productVersion: '4.1.0' } });
    await waitRolledOut('KafkaCluster', 'kafka', pods, podsBefore, kafkaImageRecipe('4.1.0').reference);
    log(`Kafka 4.0.0 → 4.1.0: Available again ${seconds(started)} after the patch`);
    expect(await claimUids(claims)).toEqual(claimsBefore);
    const after = await kafkaClient(
      'kafka-after',
      '4.1.0',
      produceConsume('4.1.0', bootstrap, 'orders', { messages: ['after-1'], expect: 2 }),
    );
    expect(after).toContain('consumed: before-1');
    expect(after).toContain('consumed: after-1');

    // Reached from outside: the brokers' class becomes external-unstable (NodePort). The broker gets
    // a NodePort Service of its own, the operator writes its node's address and that nodePort, the
    // broker (rolled: it reads its address at start) advertises them on its EXTERNAL listener, and a
    // client on the host — outside every pod's network namespace — bootstraps, produces and
    // consumes through them. A broker advertising a cluster-internal name there would leave the
    // client bootstrapped but unable to reach the partition's leader.
    const broker = 'kafka-brokers-default-0';
    const external = Date.now();
    const brokerBefore = await podUids([broker]);
    await patchSpec('KafkaCluster', 'kafka', {
      brokers: { roleConfig: { listenerClass: 'external-unstable' } },
    });
    await waitRolledOut('KafkaCluster', 'kafka', [broker], brokerBefore, kafkaImageRecipe('4.1.0').reference);
    log(`Kafka brokers on external-unstable: Available again ${seconds(external)} after the patch`);
    const nodeName = (await core.readNamespacedPod({ name: broker, namespace })).spec!.nodeName!;
    const nodeIp = (await core.readNode({ name: nodeName })).status!.addresses!.find(
      (a) => a.type === 'InternalIP',
    )!.address;
    const nodePort = (await core.readNamespacedService({ name: broker, namespace })).spec!.ports!.find(
      (p) => p.name === 'external',
    )!.nodePort!;
    expect(
      (await core.readNamespacedConfigMap({ name: 'kafka-brokers-default-listeners', namespace })).data,
    ).toEqual({
      [`${broker}.node`]: nodeName,
      [`${broker}.host`]: nodeIp,
      [`${broker}.port.external`]: String(nodePort),
    });
    const place = await hostClientPlace('4.1.0');
    const outside = await runOnHost(
      produceConsume('4.1.0', `${nodeIp}:${nodePort}`, 'orders', {
        messages: ['outside-1'],
        expect: 3,
        place,
      }),
      10 * 60_000,
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}\n${await diagnostics('KafkaCluster', 'kafka', pods)}`);
    });
    log(
      `a client on the host produced and consumed through ${nodeIp}:${nodePort} ${seconds(external)} after the patch`,
    );
    expect(outside).toContain('consumed: before-1');
    expect(outside).toContain('consumed: after-1');
    expect(outside).toContain('consumed: outside-1');

    // TLS switched on for the running stacklet, with a keelsonCa class of its own: both pods roll
    // onto Pod Certificates the operator signs, and the broker's names the address outside clients
    // use, its node's IP, so the host client — checking names (`https` identification, Kafka's
    // default) against the class's CAs from its ClusterTrustBundle — gets through on EXTERNAL.
    const tlsClass = uniqueName('ext-tls');
    await client.request('create', 'POST', '/apis/keelson.dev/v1alpha1/tlsclasses', 'tlsclasses', {
      body: {
        apiVersion: GROUP_VERSION,
        kind: 'TlsClass',
        metadata: { name: tlsClass },
        spec: { keelsonCa: { certificateLifetime: '1h' } },
      },
    });
    const removeClass = () =>
      client
        .request('delete', 'DELETE', `/apis/keelson.dev/v1alpha1/tlsclasses/${tlsClass}`, 'tlsclasses')
        .then(() => undefined);
    cleanup = async () => {
      await remove('KafkaCluster', 'kafka');
      await removeClass().catch(() => undefined);
    };
    // Server TLS only: the operator refuses to switch the controllers' quorum TLS while it runs
    // (QuorumTlsChangeUnsafe), and no TlsClass of the default name exists, so internal stays off.
    const tlsOn = Date.now();
    const beforeTls = await podUids([broker]);
    await patchSpec('KafkaCluster', 'kafka', { clusterConfig: { tls: { serverTlsClass: tlsClass } } });
    await waitRolledOut('KafkaCluster', 'kafka', [broker], beforeTls, kafkaImageRecipe('4.1.0').reference);
    log(`Kafka with TLS: Available again ${seconds(tlsOn)} after the patch`);
    const bundles = await client.request<{ items: { spec: { trustBundle: string } }[] }>(
      'list',
      'GET',
      `/apis/certificates.k8s.io/v1beta1/clustertrustbundles?labelSelector=keelson.dev/tls-class=${tlsClass}`,
      'clustertrustbundles',
    );
    expect(bundles.items.length).toBeGreaterThan(0);
    const caFile = join(place.tmp, 'ca.crt');
    fs.writeFileSync(caFile, bundles.items.map((b) => b.spec.trustBundle).join('\n'));
    const tlsConfig = join(place.tmp, 'tls.properties');
    fs.writeFileSync(
      tlsConfig,
      ['security.protocol=SSL', 'ssl.truststore.type=PEM', `ssl.truststore.location=${caFile}`, ''].join(
        '\n',
      ),
    );
    // The listeners ConfigMap and the nodePort outlive the roll: the same address, now over TLS.
    const tlsNodePort = (await core.readNamespacedService({ name: broker, namespace })).spec!.ports!.find(
      (p) => p.name === 'external',
    )!.nodePort!;
    expect(tlsNodePort).toBe(nodePort);
    const overTls = await runOnHost(
      produceConsume('4.1.0', `${nodeIp}:${nodePort}`, 'orders', {
        messages: ['outside-tls-1'],
        expect: 4,
        config: tlsConfig,
        place,
      }),
      10 * 60_000,
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}\n${await diagnostics('KafkaCluster', 'kafka', pods)}`);
    });
    log(
      `a TLS client on the host produced and consumed through ${nodeIp}:${nodePort} ${seconds(tlsOn)} after the patch`,
    );
    expect(overTls).toContain('consumed: outside-1');
    expect(overTls).toContain('consumed: outside-tls-1');
    // The name check itself, by openssl: the broker's certificate verifies for its node's IP, and
    // the same connection checked for another address fails.
    const verify = (ip: string) =>
      runOnHost(
        `openssl s_client -connect ${nodeIp}:${nodePort} -CAfile ${caFile} -verify_ip ${ip} -verify_return_error </dev/null 2>&1 | grep 'Verify return code' || true`,
        60_000,
      );
    expect(await verify(nodeIp)).toContain('Verify return code: 0 (ok)');
    expect(await verify('192.0.2.1')).toMatch(/Verify return code: [1-9]/);

    // A LoadBalancer class (the built-in external-stable), in a cluster without a load balancer
    // controller, which the test plays: the new broker's certificate request waits, with an Event
    // on the pod saying for what, until the Service has its address; then the certificate names it.
    const lbStarted = Date.now();
    const beforeLb = await podUids([broker]);
    await patchSpec('KafkaCluster', 'kafka', {
      brokers: { roleConfig: { listenerClass: 'external-stable' } },
    });
    const waitingEvent = async () =>
      (
        await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${broker}` })
      ).items.filter((e) => e.reason === 'CertificateWaiting' && !beforeLb.includes(e.involvedObject.uid!));
    await waitFor(
      'the new broker to wait for its load balancer address',
      async () => (await waitingEvent()).length > 0,
      10 * 60_000,
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}\n${await diagnostics('KafkaCluster', 'kafka', pods)}`);
    });
    expect((await waitingEvent()).map((e) => e.message)).toEqual([
      `the pod certificate waits for the load balancer address of the Service ${broker}, a name it must carry`,
    ]);
    const lbAddress = '198.51.100.10';
    await client.request(
      'patch',
      'PATCH',
      `/api/v1/namespaces/${namespace}/services/${broker}/status`,
      'services',
      {
        body: { status: { loadBalancer: { ingress: [{ ip: lbAddress }] } } },
        contentType: 'application/merge-patch+json',
      },
    );
    await waitRolledOut('KafkaCluster', 'kafka', [broker], beforeLb, kafkaImageRecipe('4.1.0').reference);
    log(`Kafka brokers on external-stable: Available again ${seconds(lbStarted)} after the patch`);
    const lbLeaf = new X509Certificate(await execInPod(namespace, broker, 'cat /keelson/tls/server/tls.crt'));
    expect(lbLeaf.checkIP(lbAddress)).toBe(lbAddress);
    expect(lbLeaf.checkIP(nodeIp)).toBeUndefined();
    expect(
      (await core.readNamespacedConfigMap({ name: 'kafka-brokers-default-listeners', namespace })).data,
    ).toEqual({
      [`${broker}.node`]: nodeName,
      [`${broker}.host`]: lbAddress,
      [`${broker}.port.external`]: '9095',
    });
  });

  it('Hive metastore on PostgreSQL: Available only once the metastore is Ready', async () => {
    await importImages([hiveImageRecipe('4.0.1')]);
    const host = await startPostgres(namespace);
    const spec = {
      image: { productVersion: '4.0.1', pullPolicy: 'Never' },
      clusterConfig: {
        database: postgresMetastoreDatabase(host),
      },
      metastores: { ...placement, ...one, ...FIRST_TIER_JIT },
    };
    const pods = expectedPods((s, id, p) => new HiveCluster(s, id, p), 'hive', spec);
    expect(pods).toEqual(['hive-metastores-default-0']);
    await create('HiveCluster', 'hive', spec);
    cleanup = async () => {
      await remove('HiveCluster', 'hive');
      await core.deleteNamespacedPod({ name: 'postgres', namespace });
    };
    await waitAvailableOnlyWhenReady('HiveCluster', 'hive', pods);
  });

  it('Trino: Available only once the coordinator and the worker are Ready; only its own pods reach the worker, which still runs queries', async () => {
    await importImages([trinoImageRecipe('476')]);
    await core.createNamespacedSecret({
      namespace,
      body: {
        metadata: { name: 'trino-internal-secret' },
        stringData: { internalSharedSecret: 'operator-path' },
      },
    });
    // A catalog for the queries that run on the worker, there before the cluster (no extra roll).
    const selected = { trino: 'operator-real' };
    await create('TrinoCatalog', 'tpch', { connector: { tpch: {} } }, selected);
    const role = { config: small('1536Mi'), ...placement, ...one, ...FIRST_TIER_JIT };
    const spec = {
      image: { productVersion: '476', pullPolicy: 'Never' },
      clusterConfig: { catalogLabelSelector: { matchLabels: selected } },
      coordinators: role,
      workers: role,
    };
    const pods = expectedPods((s, id, p) => new TrinoCluster(s, id, p), 'trino', spec);
    expect(pods).toEqual(['trino-coordinators-default-0', 'trino-workers-default-0']);
    await create('TrinoCluster', 'trino', spec);
    cleanup = async () => {
      await core.deleteNamespacedPod({ name: 'neighbour', namespace }).catch(() => undefined);
      await remove('TrinoCluster', 'trino');
      await client.request('delete', 'DELETE', path('TrinoCatalog', 'tpch'), plural('TrinoCatalog'));
    };
    await waitAvailableOnlyWhenReady('TrinoCluster', 'trino', pods);

    // The worker's policy (`trino-workers`) admits only the stacklet's own pods: a neighbour in the
    // namespace, which reaches the coordinator's client Service, is refused on the worker's 8080,
    // while the coordinator reaches that same port.
    const [coordinator, worker] = pods;
    const workerIp = (await core.readNamespacedPod({ name: worker, namespace })).status!.podIP!;
    const service = `trino-coordinators.${namespace}.svc.cluster.local`;
    await startShellPod(namespace, 'neighbour', { app: 'neighbour' });
    const trinoDiagnostics = async () =>
      `${await diagnostics('TrinoCluster', 'trino', pods)}\n${await networkPolicyState()}`;
    /** The first line of the answer to `GET /v1/info` on `host`:8080 from the neighbour. */
    const fromNeighbour = async (host: string) =>
      (
        await execInPod(
          namespace,
          'neighbour',
          `printf 'GET /v1/info HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${host} 8080 2>&1 | head -n 1`,
        )
      ).trim();
    /** The HTTP status of `GET /v1/info` on the worker's 8080 from the coordinator's pod. */
    const fromCoordinator = async () =>
      (
        await execInPod(
          namespace,
          coordinator,
          `curl -s -m 5 -o /dev/null -w '%{http_code}' http://${workerIp}:8080/v1/info || true`,
        )
      ).trim();
    const answered = (line: string) => /^HTTP\/1\.1 200 /.test(line);
    /** Polls until the neighbour is (or is not) answered by `host`, then checks it holds twice more. */
    const expectNeighbour = async (host: string, reach: boolean) => {
      const what = `the neighbour to be ${reach ? 'answered by' : 'refused by'} ${host}:8080`;
      let last = '';
      try {
        await waitFor(what, async () => answered((last = await fromNeighbour(host))) === reach, 3 * 60_000);
        for (let i = 0; i < 2; i++) {
          last = await fromNeighbour(host);
          expect({ what, answered: answered(last) }).toEqual({ what, answered: reach });
        }
        return last;
      } catch (error) {
        throw new Error(`${(error as Error).message}\nlast answer: ${last}\n${await trinoDiagnostics()}`, {
          cause: error,
        });
      }
    };
    await expectNeighbour(service, true);
    log(`the neighbour on the worker's 8080: ${await expectNeighbour(workerIp, false)}`);
    // Not a worker that does not listen: its own coordinator gets an answer from the same port.
    expect({ coordinatorToWorker: await fromCoordinator() }).toEqual({ coordinatorToWorker: '200' });
    await expectNeighbour(workerIp, false);

    // The refusal is the policy's: without keelson's NetworkPolicies (the operator prunes them) the
    // neighbour gets in; with them back it is refused again.
    const workerPolicy = () =>
      client
        .request<KubeObject>(
          'get',
          'GET',
          `/apis/networking.k8s.io/v1/namespaces/${namespace}/networkpolicies/trino-workers`,
          'networkpolicies',
        )
        .then(
          () => true,
          (error: unknown) => {
            if (isStatus(error, 404)) return false;
            throw error;
          },
        );
    await patchSpec('TrinoCluster', 'trino', { clusterConfig: { networkPolicy: { enabled: false } } });
    await waitFor(
      'the operator to prune the trino-workers NetworkPolicy',
      async () => !(await workerPolicy()),
    );
    await expectNeighbour(workerIp, true);
    await patchSpec('TrinoCluster', 'trino', { clusterConfig: { networkPolicy: null } });
    await waitFor('the operator to apply the trino-workers NetworkPolicy again', workerPolicy);
    await expectNeighbour(workerIp, false);
    expect({ coordinatorToWorker: await fromCoordinator() }).toEqual({ coordinatorToWorker: '200' });

    // Queries still run on the worker (the coordinator schedules no splits on itself,
    // node-scheduler.include-coordinator=false), asked by a client of the namespace.
    const cli = `trino --server http://${service}:8080 --user keelson`;
    const nodes = "SELECT count(*) FROM system.runtime.nodes WHERE state = 'active'";
    const out = await runClientPod(
      namespace,
      {
        name: 'trino-query',
        image: trinoImageRecipe('476').reference,
        command: [
          '/bin/bash',
          '-c',
          [
            'end=$((SECONDS + 300))',
            `until [ "$(${cli} --execute "${nodes}" 2>/dev/null)" = '"2"' ]; do`,
            '  if [ $SECONDS -gt $end ]; then echo "nodes not active"; exit 1; fi',
            '  sleep 2',
            'done',
            'echo nodes=2',
            `${cli} --execute "SELECT count(*) FROM tpch.tiny.nation" 2>&1 | grep -v WARNING`,
          ].join('\n'),
        ],
        env: [{ name: 'JAVA_TOOL_OPTIONS', value: CLIENT_JVM_OPTIONS }],
      },
      trinoDiagnostics,
    );
    expect(out.split('\n')).toEqual(expect.arrayContaining(['nodes=2', '"25"']));
  });
});
