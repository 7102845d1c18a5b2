/**
 * What the Hive metastore's real-node tests share: a database pod for the metastore (Debian's
 * PostgreSQL 15, restricted like keelson's pods) and a Thrift client that creates and lists
 * databases through the metastore's client Service.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hiveImageRecipe } from '../../constructs/hive/image';
import { accountsLayer, buildImage, debianLayer, keelsonCacheDir, type ImageRecipe } from '../../lib/image';
import { compileMetastoreProbe, hiveTestHome } from '../support/hive-home';
import {
  importImageToRealNode,
  podsLogs,
  REAL_NODE_PLACEMENT,
  RESTRICTED_CONTAINER,
  runClientPod,
  waitPodsReady,
} from './real-node-support';
import { adminClients } from './support';

/** The metastore's database user and the Secret keelson reads its credentials from. */
export const METASTORE_DB = {
  database: 'metastore',
  username: 'hive',
  password: 'hive-pw-5e21',
  secret: 'hive-db',
} as const;

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

const POSTGRES_SCRIPT = [
  'set -eu',
  'initdb -D /var/lib/postgresql/data -U postgres --auth=trust --locale=C --encoding=UTF8 > /dev/null',
  'echo "host all all 0.0.0.0/0 scram-sha-256" >> /var/lib/postgresql/data/pg_hba.conf',
  "postgres -D /var/lib/postgresql/data -c listen_addresses='*' -k /tmp &",
  'until pg_isready -q -h 127.0.0.1; do sleep 1; done',
  `psql -h 127.0.0.1 -U postgres -c "CREATE USER ${METASTORE_DB.username} PASSWORD '${METASTORE_DB.password}'"` +
    ` -c "CREATE DATABASE ${METASTORE_DB.database} OWNER ${METASTORE_DB.username}"`,
  'touch /tmp/ready',
  'wait',
].join('\n');

/**
 * Builds and imports PostgreSQL's image, runs it as pod `postgres` behind Service `postgres`
 * (data in an emptyDir) with the metastore's database and user, writes the credentials Secret,
 * and waits until it is Ready. Returns the host name the metastore connects to.
 */
export async function startPostgres(namespace: string): Promise<string> {
  const { core } = adminClients();
  const built = await buildImage(postgresImageRecipe(), path.join(keelsonCacheDir(), 'images', 'archives'));
  await importImageToRealNode(built.archive);
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
      metadata: { name: METASTORE_DB.secret },
      stringData: { username: METASTORE_DB.username, password: METASTORE_DB.password },
    },
  });
  await waitPodsReady(namespace, ['postgres']);
  return `postgres.${namespace}.svc.cluster.local`;
}

const PROBE_CONFIG_MAP = 'metastore-probe';

/**
 * Compiles the Thrift client (test/support/MetastoreProbe.java; keelson's image has a JRE, not a
 * compiler) against the metastore's jars and puts its class in a ConfigMap of `namespace`.
 */
export async function installMetastoreProbe(namespace: string, version: string): Promise<void> {
  const classes = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-metastore-probe-'));
  try {
    compileMetastoreProbe(await hiveTestHome(version), classes);
    await adminClients().core.createNamespacedConfigMap({
      namespace,
      body: {
        metadata: { name: PROBE_CONFIG_MAP },
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
 * Runs the Thrift client in a pod of keelson's Hive image against `metastoreUri`: with a name it
 * creates that database; it prints every database (`database: <name>`). A failure carries the
 * logs of `metastorePods`.
 */
export function runMetastoreProbe(
  namespace: string,
  options: { name: string; version: string; metastoreUri: string; args: string[]; metastorePods: string[] },
): Promise<string> {
  return runClientPod(
    namespace,
    {
      name: options.name,
      image: hiveImageRecipe(options.version).reference,
      command: [
        'java',
        '-Xmx256m',
        '-cp',
        '/probe:/opt/hive/lib/*',
        'MetastoreProbe',
        options.metastoreUri,
        ...options.args,
      ],
      memory: '512Mi',
      volumes: [{ volume: { name: 'probe', configMap: { name: PROBE_CONFIG_MAP } }, mountPath: '/probe' }],
    },
    () => podsLogs(namespace, options.metastorePods),
  );
}
