/**
 * The Hive metastore from keelson's manifests on the real node, on MySQL's protocol: MySQL 9.7
 * (Debian sid's, the current LTS line) and MariaDB 10.11 (Debian 12's), each in a pod of its own
 * (database-servers.ts), with the database set the way a user sets it (`type: mysql`, host,
 * database, credentials Secret) and every other setting at its default — keelson's image (the MySQL
 * driver is Oracle's Connector/J 8.4) and its JDBC URL, driver class and schema tool type. In a
 * namespace enforcing the restricted Pod Security profile:
 * - on MySQL 9.7 as it comes (accounts with `caching_sha2_password`, TLS on with the certificate
 *   the server made itself): the schema-init container creates the schema from Hive's MySQL
 *   scripts; the metastore's connections are Connector/J 8.4.0's over TLS, as the server's
 *   performance schema reports them, for an account of `caching_sha2_password`; after the pod is
 *   deleted, the new pod's schema-init finds the schema and changes nothing, and the database
 *   created before is still listed;
 * - a Thrift client (a pod running keelson's image) creates a database and a partitioned table
 *   through the metastores' client Service, and a partition filter finds the partition with the
 *   metastore's MySQL-dialect SQL (no fallback to its ORM);
 * - on MySQL 9.7 with TLS off (`--tls-version=`) and keelson's defaults, the schema-init container
 *   fails with Connector/J's `Public Key Retrieval is not allowed` (what the README says), and
 *   the metastore does not start;
 * - on MariaDB 10.11: the schema, Thrift and the partition filter as on MySQL;
 * - every pod, the database servers' included, runs as uid 10001 with a read-only root filesystem.
 * Each failure prints the pods' logs.
 */
import { Chart, Testing } from 'cdk8s';
import { HiveCluster } from '../../constructs/hive';
import { hiveImageRecipe } from '../../constructs/hive/image';
import { KubeClient } from '../../lib/operator/client';
import { applyAll, RESTRICTED, type Manifest } from './admission';
import { startDatabaseServer } from './database-servers';
import {
  installMetastoreProbe,
  METASTORE_DB,
  runMetastoreProbe,
  startMetastoreDatabase,
} from './hive-real-node-support';
import {
  buildImageOnRealNode,
  execInPod,
  podsLogs,
  realNode,
  REAL_NODE_PLACEMENT,
  waitPodsReady,
} from './real-node-support';
import { adminClients, adminKubeConfig, useTestNamespace, waitFor } from './support';

jest.setTimeout(30 * 60_000);

const VERSION = '4.0.1';
const METASTORE_POD = 'hive-metastores-default-0';

describe('the Hive metastore on the real node, on MySQL and MariaDB', () => {
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
  const log = (container: string, pod = METASTORE_POD) =>
    core.readNamespacedPodLog({ name: pod, namespace: ns.name, container });
  /** SQL as the server's root (by its socket, as the OS user `mysql`), tab-separated rows. */
  const mysqlAsRoot = (pod: string, sql: string) =>
    execInPod(
      ns.name,
      pod,
      `mysql --no-defaults --socket=/run/mysqld/mysqld.sock -u root --batch --skip-column-names -e "${sql}"`,
    );

  /** keelson's manifests of a metastore on `host`, the database as a user writes it. */
  const applyHive = async (name: string, host: string, credentialsSecretName: string) => {
    const chart = new Chart(Testing.app(), 'platform', { namespace: ns.name });
    new HiveCluster(chart, name, {
      image: { productVersion: VERSION, pullPolicy: 'Never' },
      clusterConfig: {
        database: { type: 'mysql', host, database: METASTORE_DB.database, credentialsSecretName },
      },
      metastores: { podOverrides: { spec: REAL_NODE_PLACEMENT } },
    });
    expect(await applyAll(client, Testing.synth(chart) as Manifest[], ns.name)).toEqual([]);
  };

  /** What the kubelet ran every container as, and with which root filesystem. */
  const expectRestricted = async (pods: string[]) => {
    for (const name of pods) {
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
  };

  /** The schema-init container's report of where it connects (the same in every run). */
  const expectConnection = (init: string, host: string) => {
    expect(init).toContain(`Metastore connection URL:\t jdbc:mysql://${host}:3306/metastore`);
    expect(init).toContain('Metastore connection Driver :\t com.mysql.cj.jdbc.Driver');
  };

  /**
   * A database and a partitioned table whose partition a filter finds: the metastore answers the
   * filter with its MySQL-dialect SQL (ANSI quotes), not only through its ORM.
   */
  const expectThrift = async () => {
    expect(await log('hive')).toContain('Started the new metaserver on port [9083]');
    const created = await probe('probe-create', ['sales'], 'orders');
    expect(created).toContain('database: default');
    expect(created).toContain('database: sales');
    expect(created).toContain('partition: 2026-12-01');
    // Direct SQL is on, and the metastore fell back from it to the ORM neither in its self-test
    // nor for the filter.
    const metastoreLog = await log('hive');
    expect(metastoreLog).toContain('Direct SQL optimization = true');
    expect(metastoreLog).not.toMatch(/direct SQL is disabled|falling back to ORM/i);
  };

  it('on MySQL 9.7: logs in with caching_sha2_password over TLS, creates the schema once, serves Thrift, and keeps both across a restart', async () => {
    await realNode();
    await buildImageOnRealNode(hiveImageRecipe(VERSION));
    await installMetastoreProbe(ns.name, VERSION);
    const host = await startMetastoreDatabase(ns.name, 'mysql');
    expect(await mysqlAsRoot('mysql', 'SELECT VERSION()')).toMatch(/^9\.7\./);

    await applyHive('hive', host, METASTORE_DB.secret);
    await waitPodsReady(ns.name, [METASTORE_POD], 10 * 60_000, logs);
    await expectRestricted([METASTORE_POD, 'mysql']);
    const first = await core.readNamespacedPod({ name: METASTORE_POD, namespace: ns.name });
    // The schema, as the server has it: Hive's version row and the script's 83 tables. (The
    // schema-init log ends the script's run; on MySQL 8 and later the script's deprecated column
    // types make sqlline print some 16,000 warnings, about 33 MB, which is why the test node's
    // kubelet keeps container logs up to 64 MiB before it rotates them.)
    expect(await log('schema-init')).toContain('Initialization script completed');
    const schema = () =>
      mysqlAsRoot(
        'mysql',
        'SELECT SCHEMA_VERSION, (SELECT COUNT(*) FROM information_schema.TABLES ' +
          `WHERE TABLE_SCHEMA = '${METASTORE_DB.database}') FROM ${METASTORE_DB.database}.VERSION`,
      );
    expect(await schema()).toBe('4.0.0\t83\n');
    await expectThrift();

    // How the metastore's open connections logged in, as the server sees them: the account's
    // plugin, and per connection its transport, TLS version and client.
    expect(
      await mysqlAsRoot('mysql', `SELECT plugin FROM mysql.user WHERE user = '${METASTORE_DB.username}'`),
    ).toBe('caching_sha2_password\n');
    const connections = await mysqlAsRoot(
      'mysql',
      'SELECT t.CONNECTION_TYPE, v.VARIABLE_VALUE, n.ATTR_VALUE, c.ATTR_VALUE ' +
        'FROM performance_schema.threads t ' +
        "LEFT JOIN performance_schema.status_by_thread v ON v.THREAD_ID = t.THREAD_ID AND v.VARIABLE_NAME = 'Ssl_version' " +
        "LEFT JOIN performance_schema.session_connect_attrs n ON n.PROCESSLIST_ID = t.PROCESSLIST_ID AND n.ATTR_NAME = '_client_name' " +
        "LEFT JOIN performance_schema.session_connect_attrs c ON c.PROCESSLIST_ID = t.PROCESSLIST_ID AND c.ATTR_NAME = '_client_version' " +
        `WHERE t.PROCESSLIST_USER = '${METASTORE_DB.username}'`,
    );
    const rows = connections
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((row) => row.split('\t'));
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row).toEqual(['SSL/TLS', expect.stringMatching(/^TLSv1\.[23]$/), 'MySQL Connector/J', '8.4.0']);
    }

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
    expectConnection(secondInit, host);
    expect(secondInit).toContain('No schema upgrade required from version 4.0.0');
    expect(secondInit).not.toContain('Initialization script');
    expect(await schema()).toBe('4.0.0\t83\n');
    const listed = await probe('probe-list', []);
    expect(listed).toContain('database: sales');
  });

  it('on MySQL 9.7 with TLS off: the schema-init fails with "Public Key Retrieval is not allowed"', async () => {
    await realNode();
    await buildImageOnRealNode(hiveImageRecipe(VERSION));
    const server = await startDatabaseServer(ns.name, 'mysql', METASTORE_DB, {
      name: 'mysql',
      credentialsSecretName: METASTORE_DB.secret,
      serverOptions: ['--tls-version='],
    });
    expect(await mysqlAsRoot('mysql', "SHOW VARIABLES LIKE 'tls_version'")).toBe('tls_version\t\n');

    await applyHive('hive', server.host, server.credentialsSecretName);
    // The schema-init container fails, and the kubelet starts it again (and again, backing off).
    const schemaInit = async () =>
      (
        await core.readNamespacedPod({ name: METASTORE_POD, namespace: ns.name }).catch(() => undefined)
      )?.status?.initContainerStatuses?.find((c) => c.name === 'schema-init');
    let ended: { exitCode?: number } | undefined;
    try {
      await waitFor(
        'the schema-init container to end and start again',
        async () => {
          ended = (await schemaInit())?.lastState?.terminated;
          return ended !== undefined;
        },
        10 * 60_000,
        undefined,
        undefined,
        async () => JSON.stringify(await schemaInit()),
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${await logs()}`);
    }
    expect(ended?.exitCode).not.toBe(0);
    const init = await core.readNamespacedPodLog({
      name: METASTORE_POD,
      namespace: ns.name,
      container: 'schema-init',
      previous: true,
    });
    expect(init).toContain('Public Key Retrieval is not allowed');
    const pod = await core.readNamespacedPod({ name: METASTORE_POD, namespace: ns.name });
    expect(pod.status?.containerStatuses?.[0]?.ready ?? false).toBe(false);
  });

  it('on MariaDB 10.11: creates the schema and serves Thrift', async () => {
    await realNode();
    await buildImageOnRealNode(hiveImageRecipe(VERSION));
    await installMetastoreProbe(ns.name, VERSION);
    const host = await startMetastoreDatabase(ns.name, 'mariadb');

    await applyHive('hive', host, METASTORE_DB.secret);
    await waitPodsReady(ns.name, [METASTORE_POD], 10 * 60_000, logs);
    await expectRestricted([METASTORE_POD, 'mysql']);
    // MariaDB warns of none of the script's column types: the whole log is there.
    const init = await log('schema-init');
    expectConnection(init, host);
    expect(init).toContain('Initialization script hive-schema-4.0.0.mysql.sql');
    expect(init).toContain('Initialization script completed');
    await expectThrift();
  });
});
