/**
 * The Hive and Trino stacklets on a real API server: the example lakehouse's objects are all
 * admitted into a namespace enforcing the restricted Pod Security profile and their pods become
 * Ready (kwok plays the kubelet) once the Secrets they read exist; nothing readable without access
 * to Secrets holds a credential; and the lakehouse CRDs accept specs and reject bad ones.
 */
import { App } from 'cdk8s';
import { lakehousePlatform } from '../../apps/lakehouse';
import { HIVE, TRINO, TRINO_CATALOG } from '../../constructs';
import { S3_CONNECTION, type ProductDefinition } from '../../lib';
import { KubeClient } from '../../lib/operator/client';
import {
  admissionVerdict,
  applyAll,
  installCrds,
  readyPodNames,
  RESTRICTED,
  type Manifest,
} from './admission';
import { adminKubeConfig, useTestNamespace, waitFor } from './support';

/** Values no generated object may contain. */
const SECRETS: Record<string, Record<string, string>> = {
  'hive-db-credentials': { username: 'hive-user-7f3a', password: 'db-pass-91c2e8' },
  's3-credentials': { accessKey: 'AKIA-TEST-4d1b', secretKey: 's3-secret-b7e05a' },
  'trino-internal-secret': { internalSharedSecret: 'shared-secret-0c9f44d2' },
};

describe('the lakehouse on the API server', () => {
  const ns = useTestNamespace('lakehouse', RESTRICTED);
  const client = new KubeClient(adminKubeConfig());

  it('is admitted into a restricted namespace, every pod becomes Ready, and no credential leaks', async () => {
    for (const [name, data] of Object.entries(SECRETS)) {
      await client.request('create', 'POST', `/api/v1/namespaces/${ns.name}/secrets`, 'secrets', {
        body: { apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData: data },
      });
    }
    const manifests = lakehousePlatform(new App(), { namespace: ns.name }).toJson() as Manifest[];
    expect(await applyAll(client, manifests, ns.name)).toEqual([]);

    const ready = () => readyPodNames(client, ns.name);
    // One metastore, one coordinator, two workers.
    await waitFor('all four pods to be Ready', async () => (await ready()).length === 4, 150_000);
    expect(await ready()).toEqual([
      'hive-metastores-default-0',
      'trino-coordinators-default-0',
      'trino-workers-default-0',
      'trino-workers-default-1',
    ]);

    // Everything a reader of ConfigMaps, workloads or pods sees, without the Secrets themselves.
    const lists = await Promise.all(
      ['configmaps', 'pods', 'services'].map((plural) =>
        client.request('list', 'GET', `/api/v1/namespaces/${ns.name}/${plural}`, plural),
      ),
    );
    lists.push(
      await client.request('list', 'GET', `/apis/apps/v1/namespaces/${ns.name}/statefulsets`, 'statefulsets'),
    );
    const visible = JSON.stringify([lists, manifests]);
    for (const value of Object.values(SECRETS).flatMap((d) => Object.values(d))) {
      expect(visible).not.toContain(value);
    }
  });
});

describe('the lakehouse CRDs', () => {
  const ns = useTestNamespace('lakehouse-crd');
  const client = new KubeClient(adminKubeConfig());
  const products = [S3_CONNECTION, HIVE, TRINO_CATALOG, TRINO] as unknown as ProductDefinition[];

  beforeAll(() => installCrds(products));

  const create = (product: ProductDefinition, name: string, spec: unknown) =>
    admissionVerdict(client, product, ns.name, name, spec);

  it('accept an S3Connection, a HiveCluster, catalogs and a TrinoCluster', async () => {
    const [s3, hive, catalog, trino] = products;
    expect(await create(s3, 'minio', { host: 'minio', credentials: { secretName: 's3' } })).toBe('accepted');
    expect(
      await create(hive, 'hive', {
        clusterConfig: {
          database: { type: 'postgresql', host: 'pg', database: 'hms', credentialsSecretName: 'db' },
          s3: { reference: 'minio' },
        },
      }),
    ).toBe('accepted');
    expect(
      await create(catalog, 'lake', {
        connector: { hive: { metastore: { configMapName: 'hive' }, s3: { reference: 'minio' } } },
      }),
    ).toBe('accepted');
    expect(
      await create(trino, 'trino', { clusterConfig: { catalogLabelSelector: { matchLabels: { a: 'b' } } } }),
    ).toBe('accepted');
  });

  it('reject S3 without credentials, an incomplete database, and catalogs without exactly one connector', async () => {
    const [s3, hive, catalog] = products;
    expect(await create(s3, 'minio', { host: 'minio' })).toMatch(/^422: .*credentials/);
    expect(
      await create(hive, 'hive', { clusterConfig: { database: { type: 'postgresql', host: 'pg' } } }),
    ).toMatch(
      /^422: .*spec\.clusterConfig\.database: Required value: .*needs host, database and credentialsSecretName/,
    );
    expect(await create(catalog, 'c', { connector: { tpch: {}, tpcds: {} } })).toMatch(
      /^422: .*exactly one connector/,
    );
    expect(
      await create(hive, 'hive', {
        clusterConfig: { database: { type: 'derby' }, s3: { reference: 'a', inline: { host: 'x' } } },
      }),
    ).toMatch(/^422: /);
  });
});
