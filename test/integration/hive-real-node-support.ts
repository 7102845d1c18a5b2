/**
 * What the Hive metastore's real-node tests share: the metastore's database (a server pod from
 * database-servers.ts: PostgreSQL, MySQL or MariaDB) and a Thrift client that creates and lists
 * databases, and optionally a partitioned table, through the metastore's client Service.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { hiveImageRecipe } from '../../constructs/hive/image';
import { compileMetastoreProbe, hiveTestHome } from '../support/hive-home';
import { startDatabaseServer, type DatabaseServerKind } from './database-servers';
import { podsLogs, runClientPod } from './real-node-support';
import { adminClients } from './support';

/** The metastore's database user and the Secret keelson reads its credentials from. */
export const METASTORE_DB = {
  database: 'metastore',
  username: 'hive',
  password: 'hive-pw-5e21',
  secret: 'hive-db',
} as const;

/** A HiveCluster's `clusterConfig.database` for the test's PostgreSQL at `host` (`startPostgres`). */
export function postgresMetastoreDatabase(host: string) {
  return {
    type: 'postgresql',
    host,
    database: METASTORE_DB.database,
    credentialsSecretName: METASTORE_DB.secret,
  } as const;
}

export { postgresImageRecipe } from './database-servers';

/**
 * Runs the metastore's database server in `namespace` — pod and Service `postgres` (PostgreSQL 15),
 * or `mysql` (MySQL 9.7, or MariaDB 10.11) — with the metastore's database and user and the
 * credentials Secret `hive-db`, and waits until it is Ready. Returns the host name the metastore
 * connects to.
 */
export async function startMetastoreDatabase(
  namespace: string,
  server: DatabaseServerKind = 'postgresql',
): Promise<string> {
  const started = await startDatabaseServer(namespace, server, METASTORE_DB, {
    name: server === 'postgresql' ? 'postgres' : 'mysql',
    credentialsSecretName: METASTORE_DB.secret,
  });
  return started.host;
}

/** {@link startMetastoreDatabase} on PostgreSQL. */
export function startPostgres(namespace: string): Promise<string> {
  return startMetastoreDatabase(namespace, 'postgresql');
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
 * creates that database; it prints every database (`database: <name>`). With `table` (and a
 * database) it also creates that partitioned table in the database and prints each partition a
 * filter finds (`partition: <value>`; see MetastoreProbe.java). A failure carries the logs of
 * `metastorePods`.
 */
export function runMetastoreProbe(
  namespace: string,
  options: {
    name: string;
    version: string;
    metastoreUri: string;
    args: string[];
    table?: string;
    metastorePods: string[];
    /**
     * Thrift over TLS, trusting the CA certificate at `ca.crt` of this volume (a PEM file; the
     * client imports it into a PKCS#12 trust store, Hive's client reading no PEM).
     */
    trust?: k8s.V1Volume;
  },
): Promise<string> {
  const java = [
    'java',
    '-Xmx256m',
    ...(options.table ? [`-Dprobe.table=${options.table}`] : []),
    '-cp',
    '/probe:/opt/hive/lib/*',
    'MetastoreProbe',
    options.metastoreUri,
    ...options.args,
  ];
  const volumes = [{ volume: { name: 'probe', configMap: { name: PROBE_CONFIG_MAP } }, mountPath: '/probe' }];
  if (!options.trust) {
    return runClientPod(
      namespace,
      {
        name: options.name,
        image: hiveImageRecipe(options.version).reference,
        command: java,
        memory: '512Mi',
        volumes,
      },
      () => podsLogs(namespace, options.metastorePods),
    );
  }
  // The client's metastore-site.xml (MetastoreConf finds it through METASTORE_CONF_DIR).
  const site = Object.entries({
    'metastore.use.SSL': 'true',
    'metastore.truststore.path': '/tmp/trust.p12',
    'metastore.truststore.password': 'changeit',
    'metastore.truststore.type': 'PKCS12',
    'metastore.ssl.trustmanagerfactory.algorithm': 'PKIX',
  })
    .map(([name, value]) => `<property><name>${name}</name><value>${value}</value></property>`)
    .join('');
  const script = [
    'set -e',
    'mkdir -p /tmp/conf',
    'keytool -importcert -noprompt -alias ca -file /trust/ca.crt -keystore /tmp/trust.p12 -storetype PKCS12 -storepass changeit >/dev/null',
    `echo '<configuration>${site}</configuration>' > /tmp/conf/metastore-site.xml`,
    `exec ${java.map((a) => `'${a}'`).join(' ')}`,
  ].join('\n');
  return runClientPod(
    namespace,
    {
      name: options.name,
      image: hiveImageRecipe(options.version).reference,
      command: ['/bin/bash', '-c', script],
      env: [{ name: 'METASTORE_CONF_DIR', value: '/tmp/conf' }],
      memory: '512Mi',
      volumes: [...volumes, { volume: { ...options.trust, name: 'trust' }, mountPath: '/trust' }],
    },
    () => podsLogs(namespace, options.metastorePods),
  );
}
