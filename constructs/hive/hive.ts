/**
 * The Hive metastore: one role, `metastores`, serving table metadata over Thrift (port 9083) from
 * a relational database, for tables whose data lives in S3-compatible storage.
 *
 * The image is keelson's own `ghcr.io/keelson/hive-metastore:<version>` (built by
 * `keelson image build hive <version>` from Maven Central, see image.ts and README.md): Hive's
 * standalone metastore with every jar it runs on in `/opt/hive/lib` — Hadoop's client, S3A and the
 * AWS SDK, and the PostgreSQL and MySQL JDBC drivers — and the schema scripts in `/opt/hive/scripts`
 * (`METASTORE_HOME=/opt/hive`). Upstream's `apache/hive` image ships Derby's driver only.
 *
 * keelson runs `java` itself with an explicit class path that starts with the config directory, so
 * no distribution script picks a config or a log4j2 file of its own: the metastore
 * (`org.apache.hadoop.hive.metastore.HiveMetaStore`) and the schema tool
 * (`org.apache.hadoop.hive.metastore.tools.schematool.MetastoreSchemaTool`) both read keelson's
 * `metastore-site.xml` through MetastoreConf, and log to stdout through keelson's
 * `metastore-log4j2.properties`.
 *
 * The schema: an init container runs the schema tool's `-initOrUpgradeSchema` (create the schema
 * when there is none, upgrade it when it is older, nothing otherwise) in exactly one pod — ordinal 0
 * of the first role group (by name) with replicas — so two pods never create it at once; every other
 * pod's init container waits until `-info` finds the schema of its Hive version.
 *
 * TLS (`clusterConfig.tls`, lib/tls): with server TLS on, port 9083 speaks Thrift over TLS only
 * (`metastore.use.SSL`). Hive reads its key from a Java key store, not PEM, so the start script
 * builds one from the mounted `tls.pem` (the key and its chain in one file, so never a key of one
 * certificate with another) with `openssl pkcs12` into `/tmp/keelson-tls` (the pod's emptyDir, mode
 * 0700), under a password made at random for this start and handed to the metastore in an
 * environment variable (`metastore.keystore.password` refers to it as `${env.…}`): neither the key
 * store nor its password is ever in the ConfigMap. Clients are not asked for a certificate. The
 * metastore reads the key store once: a renewed certificate reaches it at the next start, which
 * the keelson operator brings about before expiry (`certificateReload: restart`). The
 * discovery ConfigMap says `HIVE_TLS_CLASS=<class>` so clients (Trino's catalogs) trust that class.
 *
 * Kerberos (a `kerberos` AuthenticationClass, lib/authentication/kerberos.ts): clients dial the
 * metastores' client Service, and a Java client asks for a ticket of the principal it is told, so
 * every metastore pod holds one shared principal named after that Service,
 * `hive/<name>-metastores.<namespace>.svc.<domain>@REALM`: the `kerberos-keytab` init container
 * creates it once (random keys) and exports its keys unchanged (`ktadd -norandkey`, the admin's `e`
 * right) into the pod's memory. Thrift on 9083 then speaks SASL with GSSAPI only
 * (`hive.metastore.sasl.enabled`); the discovery ConfigMap names the principal under
 * `HIVE_KERBEROS_PRINCIPAL` (and the realm under `HIVE_KERBEROS_REALM`) for clients.
 *
 * Credentials never reach the ConfigMap: the database user and password and the S3 keys come from
 * their Secrets as environment variables, and the XML files refer to them as `${env.NAME}`, which
 * Hadoop's configuration expands when the value is read. Hadoop leaves a reference to an unset
 * variable as literal text, so both containers check first that every variable the config files
 * refer to is set, and stop with its name otherwise.
 */
import { Type } from '@sinclair/typebox';
import type { Construct } from 'constructs';
import {
  CONFIG_VOLUME,
  databaseCredentialEnv,
  databaseCredentialVariables,
  DatabaseConnectionSchema,
  defineRole,
  jmxExporterAgentArgument,
  METRICS_PORT_NAME,
  jdbcDriverClass,
  kerberosClassOf,
  kerberosPodParts,
  KERBEROS_KEYTAB,
  type KerberosPodParts,
  jdbcUrl,
  jvmHeapFromMemory,
  resolveS3,
  containerLogging,
  LOG_DIR,
  log4j2Config,
  logConfigLocation,
  s3CredentialEnv,
  s3CredentialVariables,
  S3ConnectionRefSchema,
  s3References,
  Stacklet,
  stackletSpecSchema,
  writableVolumeName,
  type DatabaseConnection,
  type ProductDefinition,
  type ResolvedCommonConfig,
  type ResolvedRoleGroup,
  type RoleGroupTls,
  type S3Connection,
  type StackletContext,
  type StackletOptions,
  startupProbe,
} from '../../lib';

/** The port of the metastore's Thrift API. */
export const HIVE_METASTORE_PORT = 9083;

/** The Prometheus JMX exporter agent serves the metastore's metrics at `/metrics` here. */
export const HIVE_METRICS_PORT = 9404;

/** The exporter's rules (hiveExporterConfig). */
const EXPORTER_FILE = 'jmx-exporter.yaml';

/** The key of the Thrift URI in a Hive discovery ConfigMap. */
export const HIVE_DISCOVERY_KEY = 'HIVE';

/**
 * The key, present only when the metastore speaks TLS, of the TlsClass whose CAs (its
 * ClusterTrustBundles, label `keelson.dev/tls-class`) a client trusts to reach it.
 */
export const HIVE_TLS_DISCOVERY_KEY = 'HIVE_TLS_CLASS';

/**
 * The key, present only with a kerberos class, of the principal the metastores accept (clients set it
 * as `hive.metastore.kerberos.principal`), and of its realm.
 */
export const HIVE_KERBEROS_PRINCIPAL_DISCOVERY_KEY = 'HIVE_KERBEROS_PRINCIPAL';
export const HIVE_KERBEROS_REALM_DISCOVERY_KEY = 'HIVE_KERBEROS_REALM';
/**
 * The key, present only with a kerberos class, of that AuthenticationClass: a keelson client (a
 * Trino catalog) gets its own keytab from the class's realm with the class's admin credentials.
 */
export const HIVE_KERBEROS_CLASS_DISCOVERY_KEY = 'HIVE_KERBEROS_CLASS';
/** The service part of the metastores' principal. */
export const HIVE_KERBEROS_SERVICE = 'hive';

/** Where the start script writes the key store it builds from the mounted PEM files (an emptyDir). */
export const METASTORE_KEYSTORE_DIR = '/tmp/keelson-tls';
export const METASTORE_KEYSTORE = `${METASTORE_KEYSTORE_DIR}/metastore.p12`;
/** The variable holding the key store's password, made at random by each start. */
export const METASTORE_KEYSTORE_PASSWORD_ENV = 'KEELSON_METASTORE_KEYSTORE_PASSWORD';

/** keelson's image for each supported Hive version (see image.ts for how it is built). */
export const HIVE_IMAGE_REPOSITORY = 'ghcr.io/keelson/hive-metastore';

const CONFIG_DIR = '/keelson/config';
/** Derby's files and the default warehouse, when no S3 is configured. */
const DATA_DIR = '/keelson/data';
/** Where the image keeps the metastore: `lib/` (every jar) and `scripts/` (the schema scripts). */
export const METASTORE_HOME = '/opt/hive';
/** The config directory first, so MetastoreConf and log4j2 find keelson's files before any other. */
const CLASS_PATH = `${CONFIG_DIR}:${METASTORE_HOME}/lib/*`;
const LOG4J2_FILE = 'metastore-log4j2.properties';
const METASTORE_CLASS = 'org.apache.hadoop.hive.metastore.HiveMetaStore';
const SCHEMA_TOOL_CLASS = 'org.apache.hadoop.hive.metastore.tools.schematool.MetastoreSchemaTool';

/** The schema-init container's memory; its heap is derived from it like a role group's. */
export const SCHEMA_INIT_MEMORY = '512Mi';

/**
 * The metastore's housekeeping tasks: Hive's default list less `HiveProtoEventsCleanerTask`, which
 * lives in the full Hive distribution (hive-exec), not in the standalone metastore. With it in the
 * list the metastore fails to load the list and runs none of these tasks.
 */
const HOUSEKEEPING_TASKS = [
  'org.apache.hadoop.hive.metastore.events.EventCleanerTask',
  'org.apache.hadoop.hive.metastore.RuntimeStatsCleanerTask',
  'org.apache.hadoop.hive.metastore.metrics.AcidMetricService',
  'org.apache.hadoop.hive.metastore.metrics.AcidMetricLogger',
  'org.apache.hadoop.hive.metastore.ScheduledQueryExecutionsMaintTask',
  'org.apache.hadoop.hive.metastore.ReplicationMetricsMaintTask',
];

/** The schematool names of the database types. */
const SCHEMATOOL_TYPES = { postgresql: 'postgres', mysql: 'mysql', derby: 'derby' } as const;

const DB_ENV = 'DB';
const S3_ENV = 'S3';

export const HiveSpecSchema = stackletSpecSchema({
  description: 'A Hive metastore.',
  clusterConfig: {
    database: Type.Optional(DatabaseConnectionSchema),
    s3: Type.Optional(S3ConnectionRefSchema),
    warehouseDir: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'Where managed tables live (`s3a://bucket/warehouse`). @default "/keelson/data/warehouse" (inside the pod: for tests only)',
      }),
    ),
  },
  roles: {
    metastores: {
      config: {},
      configFiles: ['metastore-site.xml', 'core-site.xml', 'metastore-log4j2.properties', EXPORTER_FILE],
      jvm: true,
    },
  },
});
/** The spec of a HiveCluster. */
import type { HiveSpec } from './spec.generated';
import { HIVE_MONITORING } from './monitoring';
export type { HiveSpec };

function database(spec: HiveSpec): DatabaseConnection {
  // validate() rejects a spec without one before any builder runs.
  return spec.clusterConfig!.database!;
}

/** The DNS name of the metastores' client Service. */
function metastoreHost(stacklet: StackletContext): string {
  return `${stacklet.name}-metastores.${stacklet.namespace ?? 'default'}.svc.${stacklet.clusterDomain}`;
}

/** The Thrift URI clients use: the metastores' client Service. */
export function metastoreUri(stacklet: StackletContext): string {
  return `thrift://${metastoreHost(stacklet)}:${HIVE_METASTORE_PORT}`;
}

/**
 * The Kerberos parts of a metastore pod, for a stacklet naming a kerberos class: one principal
 * named after the client Service, shared by every pod (its keys exported unchanged).
 */
export function metastoreKerberos(stacklet: StackletContext): KerberosPodParts | undefined {
  const info = kerberosClassOf(stacklet.authentication);
  if (!info) return undefined;
  return kerberosPodParts(info, {
    service: HIVE_KERBEROS_SERVICE,
    podAddress: metastoreHost(stacklet),
    shared: true,
    configDir: CONFIG_DIR,
  });
}

/** The principal the metastores accept, with a kerberos class. */
export function metastorePrincipal(stacklet: StackletContext): string | undefined {
  return metastoreKerberos(stacklet)?.principal(metastoreHost(stacklet));
}

/**
 * metastore-site.xml's Kerberos keys: Thrift with SASL (GSSAPI) as the shared principal from the
 * keytab the init container wrote; none without a kerberos class.
 */
export function metastoreSiteKerberos(stacklet: StackletContext): Record<string, string> {
  const principal = metastorePrincipal(stacklet);
  if (!principal) return {};
  return {
    'hive.metastore.sasl.enabled': 'true',
    'hive.metastore.kerberos.principal': principal,
    'hive.metastore.kerberos.keytab.file': KERBEROS_KEYTAB,
  };
}

/**
 * metastore-site.xml's TLS keys: Thrift over TLS with the key store the start script builds
 * (see the file comment); none without server TLS.
 */
export function metastoreSiteTls(tls: RoleGroupTls): Record<string, string> {
  if (!tls.server) return {};
  return {
    'metastore.use.SSL': 'true',
    'metastore.keystore.path': METASTORE_KEYSTORE,
    'metastore.keystore.type': 'PKCS12',
    'metastore.keystore.password': `\${env.${METASTORE_KEYSTORE_PASSWORD_ENV}}`,
  };
}

/** metastore-site.xml: the database, the warehouse, the Thrift port and its TLS. */
export function metastoreSite(
  stacklet: StackletContext<HiveSpec>,
  tls: RoleGroupTls = {},
): Record<string, string> {
  const db = database(stacklet.spec);
  const creds = databaseCredentialVariables(DB_ENV);
  return {
    'metastore.thrift.port': String(HIVE_METASTORE_PORT),
    'metastore.warehouse.dir': stacklet.spec.clusterConfig?.warehouseDir ?? `${DATA_DIR}/warehouse`,
    'javax.jdo.option.ConnectionURL': jdbcUrl(db, DATA_DIR),
    'javax.jdo.option.ConnectionDriverName': jdbcDriverClass(db),
    ...(db.credentialsSecretName
      ? {
          'javax.jdo.option.ConnectionUserName': `\${env.${creds.username}}`,
          'javax.jdo.option.ConnectionPassword': `\${env.${creds.password}}`,
        }
      : { 'javax.jdo.option.ConnectionUserName': 'APP' }),
    // The schema is keelson's init container's job; the metastore only checks it.
    'datanucleus.schema.autoCreateAll': 'false',
    'metastore.schema.verification': 'true',
    // Asynchronous logging needs the LMAX disruptor, which the standalone metastore does not ship;
    // synchronous logging to stdout also loses no lines when the JVM dies.
    'metastore.async.log.enabled': 'false',
    'metastore.task.threads.always': HOUSEKEEPING_TASKS.join(','),
    // The metastore's own metrics (API calls, connections, objects) as MBeans, which the JMX
    // exporter agent serves (hiveExporterConfig); no JSON file reporter.
    'metastore.metrics.enabled': 'true',
    'metastore.metrics.reporters': 'jmx',
    ...metastoreSiteTls(tls),
    ...metastoreSiteKerberos(stacklet),
  };
}

/**
 * core-site.xml: Hadoop's Kerberos security with a kerberos class (the metastore's SASL server logs
 * in through it), and the S3A file system, when an S3 connection is configured.
 */
export function coreSite(stacklet: StackletContext<HiveSpec>): Record<string, string> {
  const security: Record<string, string> = metastorePrincipal(stacklet)
    ? { 'hadoop.security.authentication': 'kerberos' }
    : {};
  const ref = stacklet.spec.clusterConfig?.s3;
  if (!ref) return security;
  const s3 = resolveS3('spec.clusterConfig.s3', ref, stacklet.references);
  const creds = s3CredentialVariables(S3_ENV);
  return {
    'fs.s3a.endpoint': s3.endpoint,
    'fs.s3a.endpoint.region': s3.region,
    'fs.s3a.path.style.access': String(s3.pathStyle),
    'fs.s3a.connection.ssl.enabled': String(s3.tls),
    'fs.s3a.access.key': `\${env.${creds.accessKey}}`,
    'fs.s3a.secret.key': `\${env.${creds.secretKey}}`,
    'fs.s3a.aws.credentials.provider': 'org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider',
    ...security,
  };
}

/** Everything the init container and the metastore share: config, scratch space and credentials. */
function environment(stacklet: StackletContext<HiveSpec>) {
  const ref = stacklet.spec.clusterConfig?.s3;
  const s3 = ref ? resolveS3('spec.clusterConfig.s3', ref, stacklet.references) : undefined;
  return [
    // The schema tool finds its SQL scripts under $METASTORE_HOME/scripts.
    { name: 'METASTORE_HOME', value: METASTORE_HOME },
    // The pod's user has no passwd entry; Hadoop takes its user name from here instead.
    { name: 'HADOOP_USER_NAME', value: 'hive' },
    { name: 'HOME', value: '/tmp' },
    ...databaseCredentialEnv(database(stacklet.spec), DB_ENV),
    ...(s3 ? s3CredentialEnv(s3, S3_ENV) : []),
  ];
}

/** A word for bash: single-quoted unless it needs no quotes. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}

/**
 * The environment variables Hadoop must expand in the config files: every `${env.NAME}` in the
 * generated files and the role group's `configOverrides`, sorted. References with a default
 * (`${env.NAME:-x}`, `${env.NAME-x}`) are left out: Hadoop expands those when the variable is unset.
 */
export function requiredVariables(
  files: Readonly<Record<string, Readonly<Record<string, string>>>>,
  overrides: Readonly<Record<string, Readonly<Record<string, string>>>>,
): string[] {
  const names = new Set<string>();
  for (const file of [...Object.values(files), ...Object.values(overrides)]) {
    for (const value of Object.values(file)) {
      for (const m of String(value).matchAll(/\$\{env\.([A-Za-z_][A-Za-z0-9_]*)\}/g)) names.add(m[1]);
    }
  }
  return [...names].sort();
}

/**
 * Script lines that stop the container, naming the variable, when one of `names` is unset: Hadoop
 * would otherwise pass the literal `${env.NAME}` on as the value (a user name, a password, a key).
 */
export function requireVariablesScript(names: readonly string[]): string[] {
  if (names.length === 0) return [];
  return [
    `for name in ${names.join(' ')}; do`,
    '  if [ -z "${!name+set}" ]; then',
    '    echo "keelson: the environment variable $name is not set, but the config files refer to it as \\${env.$name}; set it (envOverrides, or the Secret it comes from)" >&2',
    '    exit 1',
    '  fi',
    'done',
  ];
}

/** keelson's log4j2 file in the config directory. */
const DEFAULT_LOG4J2_PATH = `${CONFIG_DIR}/${LOG4J2_FILE}`;
/** The container whose levels `config.logging.containers` sets (the schema tool logs with it). */
const CONTAINER = 'hive';
/** The console's layout. */
const CONSOLE_PATTERN = '%d{ISO8601} %5p [%t] %c{2}: %m%n';

/** Where log4j2 reads its config: keelson's file, or the user's own (`custom.configMap`). */
function logConfig(config: ResolvedCommonConfig) {
  return logConfigLocation(containerLogging(config.logging, CONTAINER), CONFIG_DIR, LOG4J2_FILE);
}

/** `java` with keelson's config directory first on the class path and the log4j2 file at `log4j2Path`. */
function javaCommand(jvmArguments: readonly string[], mainClass: string, log4j2Path: string): string {
  return ['java', ...jvmArguments, `-Dlog4j2.configurationFile=${log4j2Path}`, '-cp', CLASS_PATH, mainClass]
    .map(shellWord)
    .join(' ');
}

/** The JVM arguments of the schema tool: a heap below the init container's memory limit. */
export const SCHEMA_INIT_JVM_ARGUMENTS: readonly string[] = [
  ...jvmHeapFromMemory(SCHEMA_INIT_MEMORY),
  '-XX:+ExitOnOutOfMemoryError',
  '-Djava.io.tmpdir=/tmp',
];

/**
 * The pod that initialises or upgrades the schema: ordinal 0 of the first role group (by name)
 * that has replicas. Every other pod waits for it, so the schema tool never runs twice at once.
 */
export function schemaInitPod(roleGroups: readonly ResolvedRoleGroup[]): string | undefined {
  const first = roleGroups
    .filter((rg) => rg.role === 'metastores' && rg.replicas > 0)
    .sort((a, b) => a.roleGroup.localeCompare(b.roleGroup))[0];
  return first ? `${first.names.workload}-0` : undefined;
}

/**
 * The schema-init container's script. In the pod named `initPod` it runs `-initOrUpgradeSchema`
 * (creates the schema when there is none, upgrades an older one, changes nothing otherwise); in
 * every other pod it waits until `-info` finds the schema of this Hive version.
 */
export function schemaInitScript(
  db: DatabaseConnection,
  initPod: string | undefined,
  required: readonly string[] = [],
  log4j2Path: string = DEFAULT_LOG4J2_PATH,
): string {
  const tool = `${javaCommand(SCHEMA_INIT_JVM_ARGUMENTS, SCHEMA_TOOL_CLASS, log4j2Path)} -dbType ${SCHEMATOOL_TYPES[db.type]}`;
  return [
    'set -eu',
    ...requireVariablesScript(required),
    `if [ "$POD_NAME" = ${shellWord(initPod ?? '')} ]; then`,
    '  echo "keelson: this pod initialises or upgrades the metastore schema"',
    `  exec ${tool} -initOrUpgradeSchema`,
    'fi',
    `echo "keelson: waiting for ${initPod ?? 'the first pod'} to initialise the metastore schema"`,
    `until ${tool} -info > /tmp/schema-info.log 2>&1; do`,
    '  tail -n 3 /tmp/schema-info.log',
    '  sleep 5',
    'done',
    'echo "keelson: the metastore schema is there"',
  ].join('\n');
}

/**
 * Script lines that build the metastore's PKCS#12 key store from the mounted PEM bundle (key, then
 * chain) under a random password of this start, in a folder only the pod's user can read.
 */
export function keyStoreScript(tls: RoleGroupTls): string[] {
  if (!tls.server) return [];
  return [
    `mkdir -p -m 0700 ${METASTORE_KEYSTORE_DIR}`,
    `${METASTORE_KEYSTORE_PASSWORD_ENV}=$(openssl rand -hex 32)`,
    `export ${METASTORE_KEYSTORE_PASSWORD_ENV}`,
    `(umask 077 && openssl pkcs12 -export -in ${tls.server.bundle} -name metastore -out ${METASTORE_KEYSTORE} -passout env:${METASTORE_KEYSTORE_PASSWORD_ENV})`,
  ];
}

/**
 * The metastore's start script; `cliOverrides` reach HiveMetaStore as its arguments. With server
 * TLS it first builds the key store (keyStoreScript).
 */
export function metastoreStartScript(
  jvmArguments: readonly string[],
  required: readonly string[] = [],
  tls: RoleGroupTls = {},
  log4j2Path: string = DEFAULT_LOG4J2_PATH,
): string {
  return [
    'set -eu',
    ...keyStoreScript(tls),
    ...requireVariablesScript(required),
    `exec ${javaCommand(
      [...jvmArguments, jmxExporterAgentArgument(HIVE_METRICS_PORT, `${CONFIG_DIR}/${EXPORTER_FILE}`)],
      METASTORE_CLASS,
      log4j2Path,
    )} "$@"`,
  ].join('\n');
}

/**
 * The exporter's rules. The metastore's metrics (Dropwizard metrics in the JMX domain `metrics`:
 * timers `api_<call>`, counters such as `open_connections`, gauges such as `total_count_dbs`)
 * become `hive_metastore_<name>` (a timer's or counter's count, a gauge's value); everything else
 * in the JVM is left out but the agent's own JVM metrics.
 */
export function hiveExporterConfig(): object {
  return {
    lowercaseOutputName: true,
    lowercaseOutputLabelNames: true,
    includeObjectNames: ['metrics:*'],
    rules: [
      {
        pattern: 'metrics<name=([^,>]+)(?:, type=\\w+)?><>(?:Count|Value)',
        name: 'hive_metastore_$1',
        type: 'GAUGE',
      },
      {
        pattern: 'metrics<type=\\w+, name=([^,>]+)><>(?:Count|Value)',
        name: 'hive_metastore_$1',
        type: 'GAUGE',
      },
    ],
  };
}

// LOG_DIR: the structured log file, which the schema tool writes too.
const WRITABLE_DIRS = ['/tmp', DATA_DIR, LOG_DIR];

/**
 * How the probes check the Thrift port: a TCP connect in plaintext; over TLS a complete handshake
 * (`openssl s_client`, trusting no CA: the probe asks whether the port serves, the certificate is
 * the clients' to check). A bare connect to the TLS port makes the metastore log an ERROR with a
 * stack trace ("Remote host terminated the handshake") at every probe; a completed handshake that
 * is closed logs nothing. `timeout`: s_client can linger after a handshake.
 */
export function portCheck(
  tls: RoleGroupTls,
): { tcpSocket: { port: never } } | { exec: { command: string[] }; timeoutSeconds: number } {
  if (!tls.server) return { tcpSocket: { port: HIVE_METASTORE_PORT as never } };
  return {
    exec: {
      command: [
        '/bin/bash',
        '-c',
        `timeout 8 openssl s_client -connect 127.0.0.1:${HIVE_METASTORE_PORT} -brief </dev/null 2>&1 | grep -q '^CONNECTION ESTABLISHED$'`,
      ],
    },
    timeoutSeconds: 10,
  };
}

/** The Hive product, as the framework and the operator see it. */
export const HIVE: ProductDefinition<HiveSpec> = {
  name: 'hive',
  kind: 'HiveCluster',
  plural: 'hiveclusters',
  shortNames: ['hive'],
  description: 'A Hive metastore: table metadata over Thrift, kept in a relational database.',
  specSchema: HiveSpecSchema,
  monitoring: HIVE_MONITORING,
  images: {
    repository: HIVE_IMAGE_REPOSITORY,
    versions: { '4.0.1': '4.0.1' },
    defaultVersion: '4.0.1',
  },
  roles: [
    defineRole<ResolvedCommonConfig>({
      name: 'metastores',
      config: {},
      defaultReplicas: 1,
      defaults: () => ({
        resources: { cpu: { min: '250m', max: '1' }, memory: { limit: '1Gi' }, storage: {} },
        logging: {},
        gracefulShutdownTimeout: '30s',
      }),
      ports: [
        { name: 'thrift', port: HIVE_METASTORE_PORT, client: true },
        { name: METRICS_PORT_NAME, port: HIVE_METRICS_PORT },
      ],
      configFiles: {
        'metastore-site.xml': 'hadoop-xml',
        'core-site.xml': 'hadoop-xml',
        'metastore-log4j2.properties': 'properties',
        [EXPORTER_FILE]: 'yaml',
      },
      configMountPath: CONFIG_DIR,
      writableDirs: WRITABLE_DIRS,
      // Thrift over TLS on 9083 (metastoreSiteTls, keyStoreScript). The key store is built once,
      // at start: the operator restarts a pod before the certificate it started with expires.
      tls: ['server'],
      certificateReload: { server: 'restart' },
      jvm: { arguments: ['-XX:+ExitOnOutOfMemoryError', '-Djava.io.tmpdir=/tmp'] },
      workload: 'StatefulSet',
      pod: (stacklet, rg) => {
        const hive = stacklet as StackletContext<HiveSpec>;
        const env = environment(hive);
        const configFiles = {
          'metastore-site.xml': metastoreSite(hive, rg.tls),
          'core-site.xml': coreSite(hive),
          [LOG4J2_FILE]: log4j2Config(containerLogging(rg.config.logging, CONTAINER), CONSOLE_PATTERN),
        };
        // Hadoop's `${env.X}` references are in the Hadoop files only.
        const required = requiredVariables(configFiles, rg.configOverrides);
        // The schema tool does not open the Thrift port: it needs no key store and no password.
        const schemaRequired = required.filter((name) => name !== METASTORE_KEYSTORE_PASSWORD_ENV);
        const podName = { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } };
        const log = logConfig(rg.config);
        // A kerberos class: krb5.conf, and the keytab of the shared principal its init container writes.
        const kerberos = metastoreKerberos(hive);
        const jvmArguments = kerberos
          ? [...rg.jvmArguments, `-Djava.security.krb5.conf=${kerberos.krb5Conf}`]
          : rg.jvmArguments;
        return {
          container: {
            // The last word is bash's $0; cliOverrides follow as $@.
            command: [
              '/bin/bash',
              '-c',
              metastoreStartScript(jvmArguments, required, rg.tls, log.path),
              'hive-metastore',
            ],
            env,
            workingDir: '/tmp',
            volumeMounts: [...log.volumeMounts, ...(kerberos?.mounts ?? [])],
            readinessProbe: {
              ...portCheck(rg.tls),
              initialDelaySeconds: 10,
              periodSeconds: 10,
            },
            // The metastore opens its port only after its database pool and handlers are up,
            // which took over 90 s on a busy 2-core node: a liveness probe with a fixed initial
            // delay killed it there, again and again. Liveness starts once the port is open (for
            // up to 10 minutes).
            startupProbe: startupProbe(portCheck(rg.tls), 10),
            livenessProbe: {
              ...portCheck(rg.tls),
              periodSeconds: 15,
            },
          },
          initContainers: [
            ...(kerberos ? [kerberos.initContainer] : []),
            {
              name: 'schema-init',
              command: [
                '/bin/bash',
                '-c',
                schemaInitScript(
                  database(hive.spec),
                  schemaInitPod(hive.roleGroups),
                  schemaRequired,
                  log.path,
                ),
              ],
              // The schema tool reads the same files, so it needs the same variables as the metastore.
              env: [
                ...env.filter((e) => !(e.name in rg.envOverrides)),
                ...Object.entries(rg.envOverrides).map(([name, value]) => ({ name, value })),
                podName,
              ],
              workingDir: '/tmp',
              resources: {
                requests: { cpu: '100m', memory: SCHEMA_INIT_MEMORY },
                limits: { cpu: '1', memory: SCHEMA_INIT_MEMORY },
              },
              volumeMounts: [
                { name: CONFIG_VOLUME, mountPath: CONFIG_DIR, readOnly: true },
                ...WRITABLE_DIRS.map((dir) => ({ name: writableVolumeName(dir), mountPath: dir })),
                ...log.volumeMounts,
              ],
            },
          ],
          configFiles: { ...configFiles, [EXPORTER_FILE]: hiveExporterConfig() },
          extraFiles: kerberos?.files,
          // Log4j 2 checks it (monitorInterval) and applies a level change by itself: no roll.
          reloadedFiles: [LOG4J2_FILE],
          volumes: [...log.volumes, ...(kerberos?.volumes ?? [])],
        };
      },
    }),
  ],
  references: (spec) => s3References('spec.clusterConfig.s3', spec.clusterConfig?.s3),
  // Clients authenticate with Kerberos (SASL GSSAPI on the Thrift port), as one shared principal's clients.
  authenticationProviders: ['kerberos'],
  validate: (stacklet) => {
    const kerberosClasses = stacklet.authentication.filter((c) => c.provider === 'kerberos');
    if (kerberosClasses.length > 1) {
      return [
        'spec.clusterConfig.authentication: the metastores accept one Kerberos principal, of one realm; name one ' +
          `kerberos AuthenticationClass, not ${kerberosClasses.length} (${kerberosClasses.map((c) => c.name).join(', ')})`,
      ];
    }
    const db = stacklet.spec.clusterConfig?.database;
    if (!db) {
      return [
        'spec.clusterConfig.database: required; name the PostgreSQL or MySQL database the metastore keeps ' +
          'its metadata in (type, host, database, credentialsSecretName), or type derby for tests',
      ];
    }
    const replicas = stacklet.roleGroups.reduce((n, rg) => n + rg.replicas, 0);
    if (db.type === 'derby' && replicas > 1) {
      return [
        `spec.metastores: ${replicas} metastores with an embedded Derby database would each keep metadata of ` +
          'their own; run one, or use PostgreSQL or MySQL',
      ];
    }
    return [];
  },
  discovery: (stacklet) => ({
    [HIVE_DISCOVERY_KEY]: metastoreUri(stacklet),
    ...(stacklet.tls.server ? { [HIVE_TLS_DISCOVERY_KEY]: stacklet.tls.server.name } : {}),
    ...hiveKerberosDiscovery(stacklet),
  }),
};

/**
 * The discovery keys a Kerberos client needs: the principal it asks a ticket for, its realm, and
 * the class (for a keelson client to get its own keytab).
 */
function hiveKerberosDiscovery(stacklet: StackletContext): Record<string, string> {
  const kerberos = metastoreKerberos(stacklet);
  if (!kerberos) return {};
  return {
    [HIVE_KERBEROS_PRINCIPAL_DISCOVERY_KEY]: kerberos.principal(metastoreHost(stacklet)),
    [HIVE_KERBEROS_REALM_DISCOVERY_KEY]: kerberos.realm,
    [HIVE_KERBEROS_CLASS_DISCOVERY_KEY]: kerberosClassOf(stacklet.authentication)!.name,
  };
}

/** Props of a HiveCluster in synth mode: the custom resource's spec plus typed references. */
export interface HiveClusterProps extends HiveSpec {
  /**
   * The S3 connection for table data (the spec then refers to it by name).
   * @default - `clusterConfig.s3`, or none
   */
  readonly s3?: S3Connection;
}

/**
 * A Hive metastore. Its discovery ConfigMap (named like it) holds the Thrift URI under `HIVE` (and
 * `HIVE_TLS_CLASS` when it speaks TLS); pass the HiveCluster to a TrinoCatalog (`metastore: hive`).
 */
export class HiveCluster extends Stacklet<HiveSpec> {
  /** `thrift://host:9083` of the metastores' Service. */
  public readonly metastoreUri: string;

  constructor(scope: Construct, id: string, props: HiveClusterProps = {}, options: StackletOptions = {}) {
    const { s3, ...spec } = props;
    const withRef: HiveSpec = s3
      ? { ...spec, clusterConfig: { ...spec.clusterConfig, s3: { reference: s3.name } } }
      : spec;
    super(scope, id, HIVE, withRef, {
      ...options,
      objects: [...(options.objects ?? []), ...(s3?.knownObjects ?? [])],
    });
    this.metastoreUri = this.discoveryData[HIVE_DISCOVERY_KEY];
  }
}
