/**
 * The Hive metastore from keelson's manifests on the real node (real containers, keelson's image
 * built here and imported into the node's containerd), in a namespace enforcing the restricted
 * Pod Security profile, on PostgreSQL (Debian's postgresql-15 in a pod of its own, also restricted):
 * - the schema-init container creates the schema; after the pod is deleted, the new pod's
 *   schema-init finds it and changes nothing, and the database created before is still listed;
 * - a Thrift client (a pod running keelson's image) creates and lists a database through the
 *   metastores' client Service;
 * - the pods run as uid 10001 with a read-only root (the restricted profile admits nothing else).
 * Not covered here: S3 (the warehouse is the pod's own emptyDir).
 * Each failure prints the containers' logs.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Chart, Testing } from 'cdk8s';
import { HiveCluster } from '../../constructs/hive';
import { hiveImageRecipe } from '../../constructs/hive/image';
import { buildImage, keelsonCacheDir } from '../../lib/image';
import { KubeClient } from '../../lib/operator/client';
import { applyAll, RESTRICTED, type Manifest } from './admission';
import {
  importImageToRealNode,
  postgresImageRecipe,
  startPostgres,
  realNode,
  realNodePodLogs,
  REAL_NODE_PLACEMENT,
  RESTRICTED_CONTAINER,
} from './real-node-support';
import { compileMetastoreProbe, hiveTestHome } from '../support/hive-home';
import { adminClients, adminKubeConfig, useTestNamespace, waitFor } from './support';

jest.setTimeout(30 * 60_000);

describe('the Hive metastore on the real node, on PostgreSQL', () => {
  const ns = useTestNamespace('hive-real', RESTRICTED);
  const { core } = adminClients();
  const client = new KubeClient(adminKubeConfig());
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-hive-node-'));
  const metastoreUri = () => `thrift://hive-metastores.${ns.name}.svc.cluster.local:9083`;

  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  async function logsOf(pod: string): Promise<string> {
    return realNodePodLogs(ns.name, pod).catch((e: Error) => `(no logs: ${e.message})`);
  }

  async function waitReady(pod: string, notUid?: string) {
    await waitFor(
      `pod ${pod} to be Ready`,
      async () => {
        const p = await core.readNamespacedPod({ name: pod, namespace: ns.name });
        if (notUid && p.metadata?.uid === notUid) return false;
        return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
      },
      10 * 60_000,
      undefined,
      undefined,
      async () => JSON.stringify((await core.readNamespacedPod({ name: pod, namespace: ns.name })).status),
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}\ncontainer logs of ${pod}:\n${await logsOf(pod)}`);
    });
  }

  /** Runs keelson's image with the Thrift probe; returns its output. */
  async function probe(name: string, args: string[]): Promise<string> {
    await core.createNamespacedPod({
      namespace: ns.name,
      body: {
        metadata: { name },
        spec: {
          ...REAL_NODE_PLACEMENT,
          restartPolicy: 'Never',
          securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'probe',
              image: hiveImageRecipe('4.0.1').reference,
              imagePullPolicy: 'Never',
              command: [
                'java',
                '-Xmx256m',
                '-cp',
                '/probe:/opt/hive/lib/*',
                'MetastoreProbe',
                metastoreUri(),
                ...args,
              ],
              securityContext: RESTRICTED_CONTAINER,
              resources: { limits: { memory: '512Mi' }, requests: { memory: '512Mi' } },
              volumeMounts: [
                { name: 'probe', mountPath: '/probe' },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            },
          ],
          volumes: [
            { name: 'probe', configMap: { name: 'metastore-probe' } },
            { name: 'tmp', emptyDir: {} },
          ],
        },
      },
    });
    await waitFor(
      `probe ${name} to finish`,
      async () => {
        const phase = (await core.readNamespacedPod({ name, namespace: ns.name })).status?.phase;
        return phase === 'Succeeded' || phase === 'Failed';
      },
      5 * 60_000,
    );
    const pod = await core.readNamespacedPod({ name, namespace: ns.name });
    const log = await core.readNamespacedPodLog({ name, namespace: ns.name });
    if (pod.status?.phase !== 'Succeeded') {
      throw new Error(
        `the Thrift client ${name} failed:\n${log}\n--- metastore:\n${await logsOf('hive-metastores-default-0')}`,
      );
    }
    return log;
  }

  it('creates the schema once, serves Thrift, and keeps both across a restart', async () => {
    await realNode();
    const out = path.join(keelsonCacheDir(), 'images', 'archives');
    for (const recipe of [postgresImageRecipe(), hiveImageRecipe('4.0.1')]) {
      const built = await buildImage(recipe, out);
      await importImageToRealNode(built.archive);
    }

    // The Thrift client's class, compiled here (the image has a JRE, not a compiler).
    const classes = path.join(work, 'classes');
    compileMetastoreProbe(await hiveTestHome('4.0.1'), classes);
    await core.createNamespacedConfigMap({
      namespace: ns.name,
      body: {
        metadata: { name: 'metastore-probe' },
        binaryData: {
          'MetastoreProbe.class': fs
            .readFileSync(path.join(classes, 'MetastoreProbe.class'))
            .toString('base64'),
        },
      },
    });

    // PostgreSQL, its Service and the metastore's credentials.
    await startPostgres(ns.name, 'hive-db');
    await waitReady('postgres');

    // keelson's manifests, placed on the real node.
    const chart = new Chart(Testing.app(), 'platform', { namespace: ns.name });
    new HiveCluster(chart, 'hive', {
      image: { productVersion: '4.0.1', pullPolicy: 'Never' },
      clusterConfig: {
        database: {
          type: 'postgresql',
          host: `postgres.${ns.name}.svc.cluster.local`,
          database: 'metastore',
          credentialsSecretName: 'hive-db',
        },
      },
      metastores: { podOverrides: { spec: REAL_NODE_PLACEMENT } },
    });
    expect(await applyAll(client, Testing.synth(chart) as Manifest[], ns.name)).toEqual([]);
    await waitReady('hive-metastores-default-0');

    const pod = await core.readNamespacedPod({ name: 'hive-metastores-default-0', namespace: ns.name });
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
      name: 'hive-metastores-default-0',
      namespace: ns.name,
      container: 'schema-init',
    });
    expect(firstInit).toContain('Metastore connection URL:\t jdbc:postgresql://postgres.');
    expect(firstInit).toContain('Initialization script completed');
    const metastoreLog = await core.readNamespacedPodLog({
      name: 'hive-metastores-default-0',
      namespace: ns.name,
      container: 'hive',
    });
    expect(metastoreLog).toContain('Started the new metaserver on port [9083]');

    const created = await probe('probe-create', ['sales']);
    expect(created).toContain('database: default');
    expect(created).toContain('database: sales');

    // A second start: the schema is found, not created again, and the metadata is still there.
    await core.deleteNamespacedPod({ name: 'hive-metastores-default-0', namespace: ns.name });
    await waitReady('hive-metastores-default-0', pod.metadata?.uid);
    const secondInit = await core.readNamespacedPodLog({
      name: 'hive-metastores-default-0',
      namespace: ns.name,
      container: 'schema-init',
    });
    expect(secondInit).toContain('No schema upgrade required from version 4.0.0');
    expect(secondInit).not.toContain('Initialization script');
    const listed = await probe('probe-list', []);
    expect(listed).toContain('database: sales');
  });
});
