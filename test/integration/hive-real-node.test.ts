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
import { buildImage, keelsonCacheDir } from '../../lib/image';
import { KubeClient } from '../../lib/operator/client';
import { applyAll, RESTRICTED, type Manifest } from './admission';
import { startDatabaseServer } from './database-servers';
import { publishMetastoreProbe, runMetastoreProbe } from './metastore-probe';
import {
  importImageToRealNode,
  podsLogs,
  realNode,
  REAL_NODE_PLACEMENT,
  waitPodsReady,
} from './real-node-support';
import { adminClients, adminKubeConfig, useTestNamespace, waitFor } from './support';

jest.setTimeout(30 * 60_000);

const VERSION = '4.0.1';
const METASTORE_POD = 'hive-metastores-default-0';

describe('the Hive metastore on the real node, on PostgreSQL', () => {
  const ns = useTestNamespace('hive-real', RESTRICTED);
  const { core } = adminClients();
  const client = new KubeClient(adminKubeConfig());
  const uri = () => `thrift://hive-metastores.${ns.name}.svc.cluster.local:9083`;
  const logs = () => podsLogs(ns.name, [METASTORE_POD, 'postgresql']);
  const log = (container: string) =>
    core.readNamespacedPodLog({ name: METASTORE_POD, namespace: ns.name, container });

  it('creates the schema once, serves Thrift, and keeps both across a restart', async () => {
    await realNode();
    const hiveImage = await buildImage(hiveImageRecipe(VERSION), `${keelsonCacheDir()}/images/archives`);
    await importImageToRealNode(hiveImage.archive);
    await publishMetastoreProbe(ns.name, VERSION);
    const postgres = await startDatabaseServer(ns.name, 'postgresql', {
      database: 'metastore',
      username: 'hive',
      password: 'hive-pw-5e21',
    });

    // keelson's manifests, placed on the real node.
    const chart = new Chart(Testing.app(), 'platform', { namespace: ns.name });
    new HiveCluster(chart, 'hive', {
      image: { productVersion: VERSION, pullPolicy: 'Never' },
      clusterConfig: {
        database: {
          type: 'postgresql',
          host: postgres.host,
          database: 'metastore',
          credentialsSecretName: postgres.credentialsSecretName,
        },
      },
      metastores: { podOverrides: { spec: REAL_NODE_PLACEMENT } },
    });
    expect(await applyAll(client, Testing.synth(chart) as Manifest[], ns.name)).toEqual([]);
    await waitPodsReady(ns.name, [METASTORE_POD], 10 * 60_000, logs);

    const pod = await core.readNamespacedPod({ name: METASTORE_POD, namespace: ns.name });
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
    const firstInit = await log('schema-init');
    expect(firstInit).toContain(
      `Metastore connection URL:\t jdbc:postgresql://${postgres.host}:5432/metastore`,
    );
    expect(firstInit).toContain('Initialization script completed');
    expect(await log('hive')).toContain('Started the new metaserver on port [9083]');

    const created = await runMetastoreProbe(
      ns.name,
      { name: 'probe-create', version: VERSION, uri: uri(), database: 'sales', table: 'orders' },
      logs,
    );
    expect(created).toContain('database: default');
    expect(created).toContain('database: sales');
    // The partition filter runs the metastore's PostgreSQL-dialect SQL; it must not fall back to the ORM.
    expect(created).toContain('partition: 2026-12-01');
    expect(await log('hive')).not.toMatch(/direct SQL is disabled|falling back to ORM/i);

    // A second start: the schema is found, not created again, and the metadata is still there.
    await core.deleteNamespacedPod({ name: METASTORE_POD, namespace: ns.name });
    await waitFor(
      `the StatefulSet to replace ${METASTORE_POD}`,
      async () => {
        const next = await core
          .readNamespacedPod({ name: METASTORE_POD, namespace: ns.name })
          .catch(() => undefined);
        return next !== undefined && next.metadata?.uid !== pod.metadata?.uid;
      },
      5 * 60_000,
    );
    await waitPodsReady(ns.name, [METASTORE_POD], 10 * 60_000, logs);
    const secondInit = await log('schema-init');
    expect(secondInit).toContain('No schema upgrade required from version 4.0.0');
    expect(secondInit).not.toContain('Initialization script');
    const listed = await runMetastoreProbe(
      ns.name,
      { name: 'probe-list', version: VERSION, uri: uri() },
      logs,
    );
    expect(listed).toContain('database: sales');
  });
});
