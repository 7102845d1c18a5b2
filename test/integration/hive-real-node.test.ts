/**
 * The Hive metastore from keelson's manifests on the real node (real containers, keelson's image
 * built here and imported into the node's containerd), in a namespace enforcing the restricted
 * Pod Security profile, on PostgreSQL (Debian's postgresql-15 in a pod of its own, also restricted;
 * see database-servers.ts):
 * - the schema-init container creates the schema; after the pod is deleted, the new pod's
 *   schema-init finds it and changes nothing, and the database created before is still listed;
 * - a Thrift client (a pod running keelson's image) creates and lists a database and creates a
 *   partitioned table through the metastores' client Service, and a partition filter finds the
 *   partition with the metastore's PostgreSQL-dialect SQL (no fallback to its ORM);
 * - the pods run as uid 10001 with a read-only root (the restricted profile admits nothing else).
 * Not covered here: S3 (the warehouse is the pod's own emptyDir).
 * Each failure prints the containers' logs.
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
  startPostgres,
} from './hive-real-node-support';
import { buildImageOnRealNode, realNode, REAL_NODE_PLACEMENT, waitPodsReady } from './real-node-support';
import { startPrometheus } from './prometheus-support';
import { adminClients, adminKubeConfig, useTestNamespace, waitFor } from './support';

jest.setTimeout(30 * 60_000);

const VERSION = '4.0.1';
const METASTORE = 'hive-metastores-default-0';

describe('the Hive metastore on the real node, on PostgreSQL', () => {
  const ns = useTestNamespace('hive-real', RESTRICTED);
  const { core } = adminClients();
  const client = new KubeClient(adminKubeConfig());
  const probe = (name: string, args: string[], table?: string) =>
    runMetastoreProbe(ns.name, {
      name,
      version: VERSION,
      metastoreUri: `thrift://hive-metastores.${ns.name}.svc.cluster.local:9083`,
      args,
      table,
      metastorePods: [METASTORE, 'postgres'],
    });

  it('creates the schema once, serves Thrift, and keeps both across a restart', async () => {
    await realNode();
    await buildImageOnRealNode(hiveImageRecipe(VERSION));
    await installMetastoreProbe(ns.name, VERSION);
    const host = await startPostgres(ns.name);

    // keelson's manifests, placed on the real node.
    const chart = new Chart(Testing.app(), 'platform', { namespace: ns.name });
    new HiveCluster(chart, 'hive', {
      image: { productVersion: VERSION, pullPolicy: 'Never' },
      clusterConfig: {
        database: {
          type: 'postgresql',
          host,
          database: METASTORE_DB.database,
          credentialsSecretName: METASTORE_DB.secret,
        },
      },
      metastores: { podOverrides: { spec: REAL_NODE_PLACEMENT } },
    });
    expect(await applyAll(client, Testing.synth(chart) as Manifest[], ns.name)).toEqual([]);
    await waitPodsReady(ns.name, [METASTORE]);

    const pod = await core.readNamespacedPod({ name: METASTORE, namespace: ns.name });
    // What the kubelet ran them as, and with which root filesystem.
    const statuses = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])];
    expect(
      statuses.map((c) => [c.name, (c as { user?: { linux?: { uid?: number } } }).user?.linux?.uid]),
    ).toEqual([
      ['hive', 10001],
      ['schema-init', 10001],
    ]);
    for (const c of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]) {
      expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, runAsNonRoot: true });
    }
    const firstInit = await core.readNamespacedPodLog({
      name: METASTORE,
      namespace: ns.name,
      container: 'schema-init',
    });
    expect(firstInit).toContain('Metastore connection URL:\t jdbc:postgresql://postgres.');
    expect(firstInit).toContain('Initialization script completed');
    const metastoreLog = await core.readNamespacedPodLog({
      name: METASTORE,
      namespace: ns.name,
      container: 'hive',
    });
    expect(metastoreLog).toContain('Started the new metaserver on port [9083]');

    // A Prometheus finds the metastore through keelson's scrape job; its API call counts grow with the probe's calls.
    const prometheus = await startPrometheus(await realNode(), ns.name);
    const apiCalls = `sum({__name__=~"hive_metastore_api_.+", namespace="${ns.name}"}) or vector(0)`;
    let callsBefore = 0;
    try {
      await prometheus.waitForValue(
        'the metastore scraped',
        `count(up{namespace="${ns.name}", product="hive"} == 1)`,
        (v) => v === 1,
      );
      await prometheus.waitForValue(
        'open connections',
        `count(hive_metastore_open_connections{namespace="${ns.name}"})`,
      );
      callsBefore = await prometheus.waitForValue('API calls', apiCalls);
    } catch (error) {
      await prometheus.stop();
      throw error;
    }
    const created = await probe('probe-create', ['sales'], 'orders');
    try {
      expect(
        await prometheus.waitForValue('API calls to grow', apiCalls, (v) => v > callsBefore),
      ).toBeGreaterThan(callsBefore);
      // The names the README guarantees; the probe created a database.
      for (const name of [
        'hive_metastore_api_create_database_req',
        'hive_metastore_total_api_calls',
        'hive_metastore_total_count_dbs',
      ])
        await prometheus.waitForValue(name, `count(${name}{namespace="${ns.name}"})`);
    } finally {
      await prometheus.stop();
    }
    expect(created).toContain('database: default');
    expect(created).toContain('database: sales');
    // The partition filter runs the metastore's PostgreSQL-dialect SQL; it must not fall back to the ORM.
    expect(created).toContain('partition: 2026-12-01');
    const afterProbe = await core.readNamespacedPodLog({
      name: METASTORE,
      namespace: ns.name,
      container: 'hive',
    });
    expect(afterProbe).not.toMatch(/direct SQL is disabled|falling back to ORM/i);

    // A second start: the schema is found, not created again, and the metadata is still there.
    await core.deleteNamespacedPod({ name: METASTORE, namespace: ns.name });
    await waitFor('the metastore pod to be replaced', async () => {
      const now = await core.readNamespacedPod({ name: METASTORE, namespace: ns.name });
      return now.metadata?.uid !== pod.metadata?.uid;
    });
    await waitPodsReady(ns.name, [METASTORE]);
    const secondInit = await core.readNamespacedPodLog({
      name: METASTORE,
      namespace: ns.name,
      container: 'schema-init',
    });
    expect(secondInit).toContain('No schema upgrade required from version 4.0.0');
    expect(secondInit).not.toContain('Initialization script');
    const listed = await probe('probe-list', []);
    expect(listed).toContain('database: sales');
  });
});
