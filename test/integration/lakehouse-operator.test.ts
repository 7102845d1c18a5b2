/**
 * The lakehouse run by the operator (the package's `keelson` command, as the ServiceAccount of the
 * ClusterRole keelson generates): Secrets, an S3Connection, a HiveCluster, a TrinoCluster and its
 * hive, iceberg and tpch TrinoCatalogs all become Available; the coordinator's config holds the
 * three catalogs; deleting one removes it from the config and rolls the pods; and no Secret value
 * reaches anything the operator wrote or logged.
 */
import * as fs from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { PRODUCTS } from '../../apps/keelson';
import { CONFIG_HASH_ANNOTATION } from '../../lib/stacklet/labels';
import {
  GROUP,
  KEELSON_BIN,
  VERSION,
  type OperatorProcess,
  startOperatorInNamespace,
  stopOperatorInNamespace,
} from './operator-support';
import { adminClients, waitFor } from './support';

/** Values nothing but their Secrets may contain. */
const SECRETS: Record<string, Record<string, string>> = {
  'hive-db-credentials': { username: 'hive-user-5e1c', password: 'db-pass-a83f07' },
  's3-credentials': { accessKey: 'AKIA-OPER-92bd', secretKey: 's3-secret-6c4e19' },
  'trino-internal-secret': { internalSharedSecret: 'shared-secret-d15b7a03' },
};

const { core, apps, custom } = adminClients();

const PLURALS: Record<string, string> = Object.fromEntries(PRODUCTS.map((p) => [p.kind, p.plural]));

type Stacklet = {
  metadata: k8s.V1ObjectMeta;
  status?: { conditions?: k8s.V1Condition[]; observedGeneration?: number };
};

let namespace = '';
let operator: OperatorProcess;

const create = (kind: string, name: string, spec: unknown, labels?: Record<string, string>) =>
  custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    plural: PLURALS[kind],
    namespace,
    body: { apiVersion: `${GROUP}/${VERSION}`, kind, metadata: { name, labels }, spec },
  });

const get = (kind: string, name: string) =>
  custom.getNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    plural: PLURALS[kind],
    namespace,
    name,
  }) as Promise<Stacklet>;

/** Waits until `kind/name` is Available=True for its current generation. */
async function waitAvailable(kind: string, name: string, timeoutMs = 120_000): Promise<void> {
  await waitFor(
    `${kind} ${namespace}/${name} to be Available=True (operator log: ${operator.logFile})`,
    async () => {
      const s = await get(kind, name);
      const available = s.status?.conditions?.find((c) => c.type === 'Available');
      return available?.status === 'True' && s.status?.observedGeneration === s.metadata.generation;
    },
    timeoutMs,
    undefined,
    undefined,
    async () => JSON.stringify((await get(kind, name)).status?.conditions ?? 'no status'),
  );
}

const statefulSet = (name: string) => apps.readNamespacedStatefulSet({ name, namespace });
const configHash = (sts: k8s.V1StatefulSet) =>
  sts.spec?.template.metadata?.annotations?.[CONFIG_HASH_ANNOTATION];
const coordinatorConfig = async () =>
  (await core.readNamespacedConfigMap({ name: 'trino-coordinators-default', namespace })).data ?? {};
const catalogKeys = (data: Record<string, string>) =>
  Object.keys(data)
    .filter((k) => k.startsWith('catalog.'))
    .sort();

/** Pods of `workload` that are Ready and carry `hash`, and what the others look like. */
async function podsWithHash(workload: string, hash: string): Promise<{ done: boolean; seen: string }> {
  const pods = await core.listNamespacedPod({ namespace });
  const mine = pods.items.filter((p) => p.metadata?.name?.startsWith(`${workload}-`));
  const seen = mine.map((p) => {
    const ready = p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    const h = p.metadata?.annotations?.[CONFIG_HASH_ANNOTATION];
    const gone = p.metadata?.deletionTimestamp ? ' terminating' : '';
    return `${p.metadata?.name} hash=${h} ready=${ready}${gone}`;
  });
  const done =
    mine.length > 0 &&
    mine.every(
      (p) =>
        !p.metadata?.deletionTimestamp &&
        p.metadata?.annotations?.[CONFIG_HASH_ANNOTATION] === hash &&
        p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
  return { done, seen: seen.join(', ') || 'no pods' };
}

beforeAll(async () => {
  ({ namespace, operator } = await startOperatorInNamespace('lakehouse-op', PRODUCTS, KEELSON_BIN));
});

afterAll(() => stopOperatorInNamespace({ namespace, operator }));

describe('the lakehouse with the operator', () => {
  it('makes every stacklet Available, serves the three catalogs, rolls on a deleted catalog, and leaks no Secret', async () => {
    for (const [name, stringData] of Object.entries(SECRETS)) {
      await core.createNamespacedSecret({ namespace, body: { metadata: { name }, stringData } });
    }
    await create('S3Connection', 'minio', {
      host: 'minio.storage.svc.cluster.local',
      port: 9000,
      tls: { enabled: false },
      credentials: { secretName: 's3-credentials' },
    });
    await create('HiveCluster', 'hive', {
      clusterConfig: {
        database: {
          type: 'postgresql',
          host: 'postgresql.databases.svc.cluster.local',
          database: 'metastore',
          credentialsSecretName: 'hive-db-credentials',
        },
        s3: { reference: 'minio' },
        warehouseDir: 's3a://lakehouse/warehouse',
      },
      metastores: { roleGroups: { default: { replicas: 1 } } },
    });
    const lake = { metastore: { configMapName: 'hive' }, s3: { reference: 'minio' } };
    const selected = { trino: 'trino' };
    await create('TrinoCatalog', 'lake', { connector: { hive: lake } }, selected);
    await create('TrinoCatalog', 'iceberg', { connector: { iceberg: lake } }, selected);
    await create('TrinoCatalog', 'tpch', { connector: { tpch: {} } }, selected);
    // Not selected: must not appear in the cluster's config.
    await create('TrinoCatalog', 'other', { connector: { tpcds: {} } }, { trino: 'elsewhere' });
    await create('TrinoCluster', 'trino', {
      clusterConfig: { catalogLabelSelector: { matchLabels: selected } },
      coordinators: { roleGroups: { default: { replicas: 1 } } },
      workers: { roleGroups: { default: { replicas: 1 } } },
    });

    for (const [kind, name] of [
      ['S3Connection', 'minio'],
      ['HiveCluster', 'hive'],
      ['TrinoCatalog', 'lake'],
      ['TrinoCatalog', 'iceberg'],
      ['TrinoCatalog', 'tpch'],
      ['TrinoCluster', 'trino'],
    ]) {
      await waitAvailable(kind, name);
    }

    // The coordinator's config holds exactly the three selected catalogs.
    const config = await coordinatorConfig();
    expect(catalogKeys(config)).toEqual([
      'catalog.iceberg.properties',
      'catalog.lake.properties',
      'catalog.tpch.properties',
    ]);
    const thrift = `thrift://hive-metastores.${namespace}.svc.cluster.local:9083`;
    expect(config['catalog.lake.properties']).toContain('connector.name=hive\n');
    expect(config['catalog.lake.properties']).toContain(`hive.metastore.uri=${thrift}`);
    expect(config['catalog.lake.properties']).toMatch(
      /^s3\.endpoint=.*minio\.storage\.svc\.cluster\.local.*9000$/m,
    );
    expect(config['catalog.iceberg.properties']).toContain('connector.name=iceberg\n');
    expect(config['catalog.iceberg.properties']).toContain('iceberg.catalog.type=hive_metastore\n');
    expect(config['catalog.tpch.properties']).toBe('connector.name=tpch\n');
    expect((await core.readNamespacedConfigMap({ name: 'hive', namespace })).data?.HIVE).toBe(thrift);

    // Deleting a catalog removes it from the config and rolls the pods that read it.
    const coordinatorBefore = configHash(await statefulSet('trino-coordinators-default'));
    const workerBefore = configHash(await statefulSet('trino-workers-default'));
    expect(coordinatorBefore).toBeDefined();
    await custom.deleteNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURALS.TrinoCatalog,
      namespace,
      name: 'tpch',
    });
    await waitFor(
      'catalog.tpch.properties to leave the coordinator config and the config hashes to change',
      async () => {
        const keys = catalogKeys(await coordinatorConfig());
        const coordinator = configHash(await statefulSet('trino-coordinators-default'));
        const worker = configHash(await statefulSet('trino-workers-default'));
        return (
          !keys.includes('catalog.tpch.properties') &&
          coordinator !== coordinatorBefore &&
          worker !== workerBefore
        );
      },
      90_000,
      undefined,
      undefined,
      async () =>
        `catalogs ${catalogKeys(await coordinatorConfig()).join(',')}; hashes ` +
        `${configHash(await statefulSet('trino-coordinators-default'))} (was ${coordinatorBefore}), ` +
        `${configHash(await statefulSet('trino-workers-default'))} (was ${workerBefore})`,
    );
    expect(catalogKeys(await coordinatorConfig())).toEqual([
      'catalog.iceberg.properties',
      'catalog.lake.properties',
    ]);
    const coordinatorSts = await statefulSet('trino-coordinators-default');
    const volume = coordinatorSts.spec?.template.spec?.volumes?.find((v) => v.name === 'catalog');
    expect(volume?.configMap?.items?.map((i) => i.path).sort()).toEqual([
      'iceberg.properties',
      'lake.properties',
    ]);
    // The pods are replaced by ones with the new config.
    for (const workload of ['trino-coordinators-default', 'trino-workers-default']) {
      const hash = configHash(await statefulSet(workload))!;
      let seen = '';
      await waitFor(
        `the pods of ${workload} to be replaced by Ready pods with config hash ${hash}`,
        async () => {
          const state = await podsWithHash(workload, hash);
          seen = state.seen;
          return state.done;
        },
        120_000,
        undefined,
        undefined,
        async () => Promise.resolve(seen),
      );
    }
    await waitAvailable('TrinoCluster', 'trino');

    // No Secret value in anything the operator wrote (or anything else readable without Secrets).
    const [configMaps, statefulSets, deployments, pods, services, events] = await Promise.all([
      core.listNamespacedConfigMap({ namespace }),
      apps.listNamespacedStatefulSet({ namespace }),
      apps.listNamespacedDeployment({ namespace }),
      core.listNamespacedPod({ namespace }),
      core.listNamespacedService({ namespace }),
      core.listNamespacedEvent({ namespace }),
    ]);
    const written = [...configMaps.items, ...statefulSets.items].map((o) => o.metadata?.name).sort();
    expect(written).toEqual(
      expect.arrayContaining([
        'hive',
        'hive-metastores-default',
        'trino',
        'trino-coordinators-default',
        'trino-workers-default',
      ]),
    );
    const stacklets = await Promise.all(
      [
        ['S3Connection', 'minio'],
        ['HiveCluster', 'hive'],
        ['TrinoCatalog', 'lake'],
        ['TrinoCatalog', 'iceberg'],
        ['TrinoCluster', 'trino'],
      ].map(([kind, name]) => get(kind, name)),
    );
    const visible = JSON.stringify([
      configMaps,
      statefulSets,
      deployments,
      pods,
      services,
      events,
      stacklets,
    ]);
    const log = fs.readFileSync(operator.logFile, 'utf8');
    const leaks = Object.values(SECRETS)
      .flatMap((data) => Object.values(data))
      // As written and as a Secret's data holds it (base64).
      .flatMap((value) => [value, Buffer.from(value).toString('base64')])
      .filter((value) => visible.includes(value) || log.includes(value));
    expect(leaks).toEqual([]);
    expect(log.length).toBeGreaterThan(0);
  });
});
