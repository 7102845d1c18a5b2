/**
 * The real node of a jest run, started on first use: the first test (in any worker) that calls
 * `realNode()` starts it beside the run's control plane, the others wait for it and share it, and
 * global-teardown.ts stops it. Runs whose tests never ask for it pay nothing.
 *
 * Against a cluster of your own (`npm run cluster:up -- --real-node`), set
 * KEELSON_TEST_REAL_NODE to the state file it prints.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { accountsLayer, debianLayer, type ImageRecipe } from '../../lib/image';
import { containerSecurityContext, DEFAULT_RUN_AS_USER } from '../../lib/stacklet/security';
import { waitFor } from '../controlplane/cluster';
import { importImage, podLogs, startRealNode, type RealNodeState } from '../controlplane/real-node';

import { REAL_NODE_PLACEMENT } from '../controlplane/real-node';

export { REAL_NODE_PLACEMENT, REAL_NODE_LABEL, REAL_NODE_TAINT } from '../controlplane/real-node';

/**
 * keelson's container security context with the user its pod context sets, for the test's own
 * client pods: they run under the same restrictions as the products' pods.
 */
export const RESTRICTED_CONTAINER = {
  ...containerSecurityContext(),
  runAsUser: DEFAULT_RUN_AS_USER,
  runAsGroup: DEFAULT_RUN_AS_USER,
};

/** Files in the control plane's run folder that coordinate the workers. */
export function realNodeFiles(runDir: string) {
  return {
    state: path.join(runDir, 'real-node.json'),
    error: path.join(runDir, 'real-node.error'),
    lock: path.join(runDir, 'real-node.lock'),
  };
}

const START_TIMEOUT_MS = 20 * 60_000; // a cold machine builds kubelet and containerd first

let cached: RealNodeState | undefined;

/** The run's real node: started by the first caller, shared by all. */
export async function realNode(): Promise<RealNodeState> {
  if (cached) return cached;
  const given = process.env.KEELSON_TEST_REAL_NODE;
  if (given) {
    cached = JSON.parse(fs.readFileSync(given, 'utf8')) as RealNodeState;
    return cached;
  }
  const runDir = process.env.KEELSON_TEST_CONTROLPLANE_LOGS;
  const kubeconfigPath = process.env.KEELSON_TEST_KUBECONFIG;
  if (!runDir || !kubeconfigPath) {
    throw new Error(
      'no real node: this run uses a cluster it did not start; start one with ' +
        '`npm run cluster:up -- --real-node` and export the KEELSON_TEST_REAL_NODE it prints',
    );
  }
  const files = realNodeFiles(runDir);
  let starter = false;
  try {
    fs.mkdirSync(files.lock);
    starter = true;
  } catch {
    // another worker starts it
  }
  if (starter) {
    try {
      const server = JSON.parse(fs.readFileSync(kubeconfigPath, 'utf8')).clusters[0].cluster.server as string;
      // Detached: the node outlives this worker; global-teardown.ts stops it.
      const node = await startRealNode({ runDir, kubeconfigPath, server }, { detached: true });
      const { importImage: _import, memoryUsage: _memory, stop: _stop, ...state } = node;
      void _import;
      void _memory;
      void _stop;
      fs.writeFileSync(`${files.state}.tmp`, JSON.stringify(state, null, 2));
      fs.renameSync(`${files.state}.tmp`, files.state);
      cached = state;
      return state;
    } catch (error) {
      fs.writeFileSync(files.error, (error as Error).message);
      throw error;
    }
  }
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (fs.existsSync(files.state)) {
      cached = JSON.parse(fs.readFileSync(files.state, 'utf8')) as RealNodeState;
      return cached;
    }
    if (fs.existsSync(files.error)) {
      throw new Error(
        `the real node did not start (in another worker): ${fs.readFileSync(files.error, 'utf8')}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(
    `timed out after ${START_TIMEOUT_MS / 60_000} min waiting for another worker to start the real node`,
  );
}

/** Imports an image archive into the run's real node (starting the node if needed). */
export async function importImageToRealNode(archive: string): Promise<void> {
  await importImage(await realNode(), archive);
}

/** The container logs of a pod on the real node, for a failing test to print. */
export async function realNodePodLogs(namespace: string, pod: string): Promise<string> {
  return podLogs(await realNode(), namespace, pod);
}

/**
 * Creates a StatefulSet's data claims before it does (it adopts claims by name) and gives their
 * volumes to uid/gid 10001. The test cluster's host-path provisioner makes root-owned 0750
 * folders and, like every hostPath volume, ignores the pod's `fsGroup`, which a real storage
 * driver applies; without this a product running as 10001 cannot write its data volume.
 */
export async function claimsWritableByFsGroup(
  core: k8s.CoreV1Api,
  namespace: string,
  claims: readonly string[],
): Promise<void> {
  for (const name of claims) {
    await core.createNamespacedPersistentVolumeClaim({
      namespace,
      body: {
        metadata: { name },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '2Gi' } } },
      },
    });
  }
  for (const name of claims) {
    let volume = '';
    await waitFor(
      `claim ${name} to be bound`,
      async () => {
        const claim = await core.readNamespacedPersistentVolumeClaim({ name, namespace });
        volume = claim.spec?.volumeName ?? '';
        return claim.status?.phase === 'Bound';
      },
      60_000,
    );
    const hostPath = (await core.readPersistentVolume({ name: volume })).spec?.hostPath?.path;
    if (!hostPath) throw new Error(`the volume ${volume} of ${name} is not a hostPath volume`);
    fs.chownSync(hostPath, 10001, 10001);
  }
}

/** Debian's PostgreSQL 15, run as `postgres` (uid 10001, so the restricted profile admits it). */
export function postgresImageRecipe(): ImageRecipe {
  return {
    reference: 'keelson.test/postgresql:15',
    layers: [
      debianLayer({
        description: "Debian's PostgreSQL 15",
        packages: ['base-files', 'bash', 'coreutils', 'dash', 'libc-bin', 'usr-is-merged', 'postgresql-15'],
      }),
      accountsLayer([{ name: 'postgres', uid: 10001, gid: 10001 }]),
    ],
    config: {
      user: '10001:10001',
      env: { PATH: '/usr/lib/postgresql/15/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' },
    },
  };
}

/** The user, password and database startPostgres creates for the Hive metastore. */
export const POSTGRES_METASTORE = { user: 'hive', password: 'hive-pw-5e21', database: 'metastore' };

const POSTGRES_SCRIPT = [
  'set -eu',
  'initdb -D /var/lib/postgresql/data -U postgres --auth=trust --locale=C --encoding=UTF8 > /dev/null',
  'echo "host all all 0.0.0.0/0 scram-sha-256" >> /var/lib/postgresql/data/pg_hba.conf',
  "postgres -D /var/lib/postgresql/data -c listen_addresses='*' -k /tmp &",
  'until pg_isready -q -h 127.0.0.1; do sleep 1; done',
  `psql -h 127.0.0.1 -U postgres -c "CREATE USER ${POSTGRES_METASTORE.user} PASSWORD '${POSTGRES_METASTORE.password}'" -c "CREATE DATABASE ${POSTGRES_METASTORE.database} OWNER ${POSTGRES_METASTORE.user}"`,
  'touch /tmp/ready',
  'wait',
].join('\n');

/**
 * PostgreSQL (postgresImageRecipe, which must be imported) in a restricted pod `postgres` on the
 * real node, its Service `postgres`, and the Secret `credentialsSecret` (`username`, `password`)
 * of POSTGRES_METASTORE. Does not wait for it to be Ready.
 */
export async function startPostgres(
  core: k8s.CoreV1Api,
  namespace: string,
  credentialsSecret: string,
): Promise<void> {
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name: 'postgres', labels: { app: 'postgres' } },
      spec: {
        ...REAL_NODE_PLACEMENT,
        securityContext: { runAsNonRoot: true, fsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [
          {
            name: 'postgres',
            image: postgresImageRecipe().reference,
            imagePullPolicy: 'Never',
            command: ['/bin/bash', '-c', POSTGRES_SCRIPT],
            ports: [{ name: 'pg', containerPort: 5432 }],
            readinessProbe: { exec: { command: ['test', '-f', '/tmp/ready'] }, periodSeconds: 1 },
            securityContext: RESTRICTED_CONTAINER,
            volumeMounts: [
              { name: 'data', mountPath: '/var/lib/postgresql' },
              { name: 'tmp', mountPath: '/tmp' },
            ],
          },
        ],
        volumes: [
          { name: 'data', emptyDir: {} },
          { name: 'tmp', emptyDir: {} },
        ],
      },
    },
  });
  await core.createNamespacedService({
    namespace,
    body: {
      metadata: { name: 'postgres' },
      spec: { selector: { app: 'postgres' }, ports: [{ name: 'pg', port: 5432, targetPort: 'pg' }] },
    },
  });
  await core.createNamespacedSecret({
    namespace,
    body: {
      metadata: { name: credentialsSecret },
      stringData: { username: POSTGRES_METASTORE.user, password: POSTGRES_METASTORE.password },
    },
  });
}
