/**
 * The Hive metastore from keelson's manifests on the real node, on a MySQL-protocol server: MariaDB
 * 10.11 (Debian 12 has no MySQL server) in a pod of its own, with the database set the way a user
 * sets it (`type: mysql`, host, database, credentials Secret) and every other setting at its
 * default — keelson's image (the MySQL driver is Oracle's Connector/J 8.4) and its JDBC URL, driver
 * class and schema tool type. In a namespace enforcing the restricted Pod Security profile:
 * - the schema-init container creates the schema from Hive's MySQL scripts; after the pod is
 *   deleted, the new pod's schema-init finds it and changes nothing, and the database created
 *   before is still listed;
 * - a Thrift client (a pod running keelson's image) creates a database and a partitioned table
 *   through the metastores' client Service, and a partition filter finds the partition with the
 *   metastore's MySQL-dialect SQL (no fallback to its ORM);
 * - every pod, MariaDB's included, runs as uid 10001 with a read-only root filesystem.
 * Each failure prints the pods' logs.
 */
import { Chart, Testing } from 'cdk8s';
import { HiveCluster } from '../../constructs/hive';
import { hiveImageRecipe } from '../../constructs/hive/image';
import { KubeClient } from '../../lib/operator/client';
import { applyAll, RESTRICTED, type Manifest } from './admission';
import {
  installMetastoreProbe,
  METASTORE_DB,
  runMetastoreProbe,
  startMetastoreDatabase,
} from './hive-real-node-support';
import {
  buildImageOnRealNode,
  podsLogs,
  realNode,
  REAL_NODE_PLACEMENT,
  waitPodsReady,
} from './real-node-support';
import { adminClients, adminKubeConfig, useTestNamespace, waitFor } from './support';

jest.setTimeout(30 * 60_000);

const VERSION = '4.0.1';
const METASTORE_POD = 'hive-metastores-default-0';

describe('the Hive metastore on the real node, on MySQL (MariaDB 10.11)', () => {
  const ns = useTestNamespace('hive-mysql', RESTRICTED);
  const { core } = adminClients();
  const client = new KubeClient(adminKubeConfig());
  const logs = () => podsLogs(ns.name, [METASTORE_POD, 'mysql']);
  const probe = (name: string, args: string[], table?: string) =>
    runMetastoreProbe(ns.name, {
      name,
      version: VERSION,
      metastoreUri: `thrift://hive-metastores.${ns.name}.svc.cluster.local:9083`,
      args,
      table,
      metastorePods: [METASTORE_POD, 'mysql'],
    });
  const log = (container: string) =>
    core.readNamespacedPodLog({ name: METASTORE_POD, namespace: ns.name, container });

  it('creates the schema once, serves Thrift, and keeps both across a restart', async () => {
    await realNode();
    await buildImageOnRealNode(hiveImageRecipe(VERSION));
    await installMetastoreProbe(ns.name, VERSION);
    const host = await startMetastoreDatabase(ns.name, 'mariadb');

    // The database as a user writes it; everything else at keelson's defaults.
    const chart = new Chart(Testing.app(), 'platform', { namespace: ns.name });
    new HiveCluster(chart, 'hive', {
      image: { productVersion: VERSION, pullPolicy: 'Never' },
      clusterConfig: {
        database: {
          type: 'mysql',
          host,
          database: METASTORE_DB.database,
          credentialsSecretName: METASTORE_DB.secret,
        },
      },
      metastores: { podOverrides: { spec: REAL_NODE_PLACEMENT } },
    });
    expect(await applyAll(client, Testing.synth(chart) as Manifest[], ns.name)).toEqual([]);
    await waitPodsReady(ns.name, [METASTORE_POD], 10 * 60_000, logs);

    // What the kubelet ran every container as, and with which root filesystem.
    for (const name of [METASTORE_POD, 'mysql']) {
      const pod = await core.readNamespacedPod({ name, namespace: ns.name });
      const statuses = [
        ...(pod.status?.containerStatuses ?? []),
        ...(pod.status?.initContainerStatuses ?? []),
      ];
      expect(statuses.length).toBeGreaterThan(0);
      for (const c of statuses) {
        const uid = (c as { user?: { linux?: { uid?: number } } }).user?.linux?.uid;
        expect([name, c.name, uid]).toEqual([name, c.name, 10001]);
      }
      for (const c of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]) {
        expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, runAsNonRoot: true });
      }
    }
    const first = await core.readNamespacedPod({ name: METASTORE_POD, namespace: ns.name });

    const firstInit = await log('schema-init');
    expect(firstInit).toContain(`Metastore connection URL:\t jdbc:mysql://${host}:3306/metastore`);
    expect(firstInit).toContain('Metastore connection Driver :\t com.mysql.cj.jdbc.Driver');
    expect(firstInit).toContain('Initialization script hive-schema-4.0.0.mysql.sql');
    expect(firstInit).toContain('Initialization script completed');
    expect(await log('hive')).toContain('Started the new metaserver on port [9083]');

    // A database, and a partitioned table whose partition a filter finds: the metastore answers
    // the filter with its MySQL-dialect SQL (ANSI quotes), not only through its ORM.
    const created = await probe('probe-create', ['sales'], 'orders');
    expect(created).toContain('database: default');
    expect(created).toContain('database: sales');
    expect(created).toContain('partition: 2026-12-01');
    // Direct SQL is on, and the metastore fell back from it to the ORM neither in its self-test
    // nor for the filter.
    const metastoreLog = await log('hive');
    expect(metastoreLog).toContain('Direct SQL optimization = true');
    expect(metastoreLog).not.toMatch(/direct SQL is disabled|falling back to ORM/i);

    // A second start: the schema is found, not created again, and the metadata is still there.
    await core.deleteNamespacedPod({ name: METASTORE_POD, namespace: ns.name });
    await waitFor(
      `the StatefulSet to replace ${METASTORE_POD}`,
      async () => {
        const pod = await core
          .readNamespacedPod({ name: METASTORE_POD, namespace: ns.name })
          .catch(() => undefined);
        return pod !== undefined && pod.metadata?.uid !== first.metadata?.uid;
      },
      5 * 60_000,
    );
    await waitPodsReady(ns.name, [METASTORE_POD], 10 * 60_000, logs);
    const secondInit = await log('schema-init');
    expect(secondInit).toContain('No schema upgrade required from version 4.0.0');
    expect(secondInit).not.toContain('Initialization script');
    const listed = await probe('probe-list', []);
    expect(listed).toContain('database: sales');
  });
});
