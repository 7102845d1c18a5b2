/**
 * A Thrift client of the Hive metastore for the real-node tests: test/support/MetastoreProbe.java,
 * compiled here against the metastore's jars (keelson's image has a JRE, not a compiler), shipped
 * to the namespace as a ConfigMap and run in a restricted pod of keelson's own Hive image.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { hiveImageRecipe } from '../../constructs/hive/image';
import { compileMetastoreProbe, hiveTestHome } from '../support/hive-home';
import { REAL_NODE_PLACEMENT, RESTRICTED_CONTAINER } from './real-node-support';
import { waitFor } from './support';

const CONFIG_MAP = 'metastore-probe';

/** Compiles the probe and stores its class in the ConfigMap `metastore-probe` of `namespace`. */
export async function publishMetastoreProbe(
  core: k8s.CoreV1Api,
  namespace: string,
  version: string,
): Promise<void> {
  const classes = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-metastore-probe-'));
  try {
    compileMetastoreProbe(await hiveTestHome(version), classes);
    await core.createNamespacedConfigMap({
      namespace,
      body: {
        metadata: { name: CONFIG_MAP },
        binaryData: {
          'MetastoreProbe.class': fs
            .readFileSync(path.join(classes, 'MetastoreProbe.class'))
            .toString('base64'),
        },
      },
    });
  } finally {
    fs.rmSync(classes, { recursive: true, force: true });
  }
}

/**
 * Runs the probe against `uri` as the pod `name` (`args`: a database to create, if any) and
 * returns its output: a `database: <name>` line per database the metastore lists; with `table`, a
 * partitioned table created in that database and a `partition: <value>` line per partition a
 * filter finds (see MetastoreProbe.java). A failing probe
 * fails the test with its output and `serverLogs()` (the metastore's).
 */
export async function runMetastoreProbe(
  core: k8s.CoreV1Api,
  namespace: string,
  options: {
    name: string;
    version: string;
    uri: string;
    args: readonly string[];
    table?: string;
    serverLogs: () => Promise<string>;
  },
): Promise<string> {
  const { name } = options;
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name },
      spec: {
        ...REAL_NODE_PLACEMENT,
        restartPolicy: 'Never',
        securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [
          {
            name: 'probe',
            image: hiveImageRecipe(options.version).reference,
            imagePullPolicy: 'Never',
            command: [
              'java',
              '-Xmx192m',
              ...(options.table ? [`-Dprobe.table=${options.table}`] : []),
              '-cp',
              '/probe:/opt/hive/lib/*',
              'MetastoreProbe',
              options.uri,
              ...options.args,
            ],
            securityContext: RESTRICTED_CONTAINER,
            resources: { limits: { memory: '384Mi' }, requests: { memory: '384Mi' } },
            volumeMounts: [
              { name: 'probe', mountPath: '/probe' },
              { name: 'tmp', mountPath: '/tmp' },
            ],
          },
        ],
        volumes: [
          { name: 'probe', configMap: { name: CONFIG_MAP } },
          { name: 'tmp', emptyDir: {} },
        ],
      },
    },
  });
  await waitFor(
    `the Thrift client ${name} to finish`,
    async () => {
      const phase = (await core.readNamespacedPod({ name, namespace })).status?.phase;
      return phase === 'Succeeded' || phase === 'Failed';
    },
    5 * 60_000,
  ).catch(async (error: Error) => {
    throw new Error(`${error.message}\n--- metastore:\n${await options.serverLogs()}`);
  });
  const pod = await core.readNamespacedPod({ name, namespace });
  const log = await core.readNamespacedPodLog({ name, namespace });
  if (pod.status?.phase !== 'Succeeded') {
    throw new Error(
      `the Thrift client ${name} failed:\n${log}\n--- metastore:\n${await options.serverLogs()}`,
    );
  }
  return log;
}
