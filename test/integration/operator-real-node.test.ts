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
 * Each failure prints the pods' logs, the stacklet's status and the operator's log.
 */
import { Chart, Testing } from 'cdk8s';
import type { Construct } from 'constructs';
import { PRODUCTS } from '../../apps/keelson';
import { HiveCluster } from '../../constructs/hive';
import { hiveImageRecipe } from '../../constructs/hive/image';
import { KafkaCluster } from '../../constructs/kafka';
import { kafkaImageRecipe } from '../../constructs/kafka/image';
import { TrinoCluster } from '../../constructs/trino';
import { trinoImageRecipe } from '../../constructs/trino/image';
import { ZookeeperCluster } from '../../constructs/zookeeper';
import { zookeeperImageRecipe } from '../../constructs/zookeeper/image';
import { buildImage, keelsonCacheDir, type ImageRecipe } from '../../lib/image';
import { KubeClient } from '../../lib/operator/client';
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
  importImageToRealNode,
  isReady,
  podsLogs,
  realNode,
  REAL_NODE_PLACEMENT,
  waitPodsReady,
} from './real-node-support';
import { METASTORE_DB, startPostgres } from './hive-real-node-support';
import { adminClients, adminKubeConfig, uniqueName, waitFor } from './support';

jest.setTimeout(40 * 60_000);

const GROUP_VERSION = 'keelson.dev/v1alpha1';
const placement = { podOverrides: { spec: REAL_NODE_PLACEMENT } };
/** Small pods: the products share two cores with the rest of the machine. */
const small = (memory: string, storage?: Record<string, { capacity: string }>) => ({
  resources: { memory: { limit: memory }, cpu: { min: '100m', max: '1' }, ...(storage ? { storage } : {}) },
});
const one = { roleGroups: { default: { replicas: 1 } } };

type Condition = { type: string; status: string; reason: string; message: string };

describe('the operator on the real node', () => {
  const kc = adminKubeConfig();
  const { core } = adminClients();
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
    for (const recipe of recipes) {
      const built = await buildImage(recipe, `${keelsonCacheDir()}/images/out`);
      await importImageToRealNode(built);
    }
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

  async function create(kind: string, name: string, spec: object): Promise<void> {
    await client.request('create', 'POST', path(kind), plural(kind), {
      body: { apiVersion: GROUP_VERSION, kind, metadata: { name }, spec },
    });
  }

  async function patchSpec(kind: string, name: string, spec: object): Promise<void> {
    await client.request('patch', 'PATCH', path(kind, name), plural(kind), {
      body: { spec },
      contentType: 'application/merge-patch+json',
    });
  }

  /**
   * Waits for `Available=True`, checking at every look that it is not True while one of `pods` is
   * not Ready (the stacklet is read before the pods: pods that were not Ready then are not Ready
   * before it either, while they start), and that it was False before.
   */
  async function waitAvailableOnlyWhenReady(kind: string, name: string, pods: string[]): Promise<void> {
    let sawFalse = false;
    let violation: string | undefined;
    await waitFor(
      `${kind} ${name} to be Available with ${pods.join(', ')} Ready`,
      async () => {
        const object = await stacklet(kind, name);
        const available = condition(object, 'Available');
        const live = await core.listNamespacedPod({ namespace, labelSelector: `${LABEL_INSTANCE}=${name}` });
        const ready = new Set(live.items.filter((p) => isReady(p)).map((p) => p.metadata!.name!));
        const notReady = pods.filter((p) => !ready.has(p));
        if (available?.status === 'False') sawFalse = true;
        if (available?.status !== 'True') return false;
        if (notReady.length > 0) {
          violation ??= `Available=True (${available.message}) while ${notReady.join(', ')} not Ready`;
          return false;
        }
        return true;
      },
      10 * 60_000,
      undefined,
      undefined,
      async () => JSON.stringify((await stacklet(kind, name)).status),
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}\n${violation ?? ''}\n${await diagnostics(kind, name, pods)}`);
    });
    expect(violation).toBeUndefined();
    expect(sawFalse).toBe(true);
    const object = await stacklet(kind, name);
    expect(condition(object, 'Degraded')).toMatchObject({ status: 'False' });
  }

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

  it('ZooKeeper: Available only once Ready; an override the server rejects is Degraded with its error; reverting heals', async () => {
    await importImages([zookeeperImageRecipe('3.9.4')]);
    const spec = {
      image: { productVersion: '3.9.4', pullPolicy: 'Never' },
      servers: { config: small('512Mi'), ...placement, ...one },
    };
    const pods = expectedPods((s, id, p) => new ZookeeperCluster(s, id, p), 'zk', spec);
    expect(pods).toEqual(['zk-servers-default-0']);
    await create('ZookeeperCluster', 'zk', spec);
    cleanup = () => remove('ZookeeperCluster', 'zk');
    await waitAvailableOnlyWhenReady('ZookeeperCluster', 'zk', pods);

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
      throw new Error(`${error.message}\n${await diagnostics('ZookeeperCluster', 'zk', pods)}`);
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
      throw new Error(`${error.message}\n${await diagnostics('ZookeeperCluster', 'zk', pods)}`);
    });
    await waitPodsReady(namespace, pods);
  });

  it('Kafka (KRaft): Available only once the controller and the broker are Ready', async () => {
    await importImages([kafkaImageRecipe('4.1.0')]);
    const storage = { 'log-dirs': { capacity: '1Gi' } };
    const role = { config: small('512Mi', storage), ...placement, ...one };
    const spec = {
      image: { productVersion: '4.1.0', pullPolicy: 'Never' },
      controllers: role,
      brokers: role,
    };
    const pods = expectedPods((s, id, p) => new KafkaCluster(s, id, p), 'kafka', spec);
    expect(pods).toEqual(['kafka-brokers-default-0', 'kafka-controllers-default-0']);
    await create('KafkaCluster', 'kafka', spec);
    cleanup = () => remove('KafkaCluster', 'kafka');
    await waitAvailableOnlyWhenReady('KafkaCluster', 'kafka', pods);
  });

  it('Hive metastore on PostgreSQL: Available only once the metastore is Ready', async () => {
    await importImages([hiveImageRecipe('4.0.1')]);
    const host = await startPostgres(namespace);
    const spec = {
      image: { productVersion: '4.0.1', pullPolicy: 'Never' },
      clusterConfig: {
        database: {
          type: 'postgresql',
          host,
          database: METASTORE_DB.database,
          credentialsSecretName: METASTORE_DB.secret,
        },
      },
      metastores: { ...placement, ...one },
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

  it('Trino: Available only once the coordinator and the worker are Ready', async () => {
    await importImages([trinoImageRecipe('476')]);
    await core.createNamespacedSecret({
      namespace,
      body: {
        metadata: { name: 'trino-internal-secret' },
        stringData: { internalSharedSecret: 'operator-path' },
      },
    });
    const role = { config: small('1536Mi'), ...placement, ...one };
    const spec = {
      image: { productVersion: '476', pullPolicy: 'Never' },
      coordinators: role,
      workers: role,
    };
    const pods = expectedPods((s, id, p) => new TrinoCluster(s, id, p), 'trino', spec);
    expect(pods).toEqual(['trino-coordinators-default-0', 'trino-workers-default-0']);
    await create('TrinoCluster', 'trino', spec);
    cleanup = () => remove('TrinoCluster', 'trino');
    await waitAvailableOnlyWhenReady('TrinoCluster', 'trino', pods);
  });
});
