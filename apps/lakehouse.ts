/**
 * An example lakehouse: a Hive metastore keeping its metadata in an external PostgreSQL and its
 * tables in S3, and Trino querying them through hive and iceberg catalogs, beside the generated
 * TPC-H data.
 *
 * Secrets the platform expects in its namespace (created outside keelson, never synthesized):
 * - `hive-db-credentials` (`username`, `password`): the metastore's PostgreSQL user;
 * - `s3-credentials` (`accessKey`, `secretKey`): the object store's keys;
 * - `trino-internal-secret` (`internalSharedSecret`): Trino's internal shared secret, a random
 *   value created once (`openssl rand -hex 32`).
 */
import { Chart, type App } from 'cdk8s';
import { HiveCluster, S3Connection, TrinoCatalog, TrinoCluster } from 'keelson';

/** Where the lakehouse goes. */
export interface LakehousePlatformOptions {
  /** @default 'lakehouse' */
  readonly namespace?: string;
}

/** Adds the lakehouse to `app` and returns its chart. */
export function lakehousePlatform(app: App, options: LakehousePlatformOptions = {}): Chart {
  const chart = new Chart(app, 'lakehouse', { namespace: options.namespace ?? 'lakehouse' });

  const s3 = new S3Connection(chart, 'minio', {
    host: 'minio.storage.svc.cluster.local',
    port: 9000,
    tls: { enabled: false },
    credentials: { secretName: 's3-credentials' },
  });

  const hive = new HiveCluster(chart, 'hive', {
    clusterConfig: {
      // An external PostgreSQL, known by its address: keelson does not run it.
      database: {
        type: 'postgresql',
        host: 'postgresql.databases.svc.cluster.local',
        database: 'metastore',
        credentialsSecretName: 'hive-db-credentials',
      },
      warehouseDir: 's3a://lakehouse/warehouse',
    },
    s3,
    metastores: { roleGroups: { default: { replicas: 1 } } },
  });

  const catalogs = [
    new TrinoCatalog(chart, 'lake', {
      connector: { hive: {} },
      metastore: hive,
      s3,
      labels: { trino: 'trino' },
    }),
    new TrinoCatalog(chart, 'iceberg', {
      connector: { iceberg: {} },
      metastore: hive,
      s3,
      labels: { trino: 'trino' },
    }),
    new TrinoCatalog(chart, 'tpch', { connector: { tpch: {} }, labels: { trino: 'trino' } }),
  ];

  new TrinoCluster(chart, 'trino', {
    clusterConfig: { catalogLabelSelector: { matchLabels: { trino: 'trino' } } },
    catalogs,
    workers: { roleGroups: { default: { replicas: 2 } } },
  });
  return chart;
}
