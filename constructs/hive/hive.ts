/**
 * The Hive metastore: one role, `metastores`, serving table metadata over Thrift (port 9083) from
 * a relational database, for tables whose data lives in S3-compatible storage.
 *
 * The image is `apache/hive` (docker.io/apache/hive, built from packaging/src/docker in the Hive
 * repository; checked for 4.0.x and 4.1.0): Hive in `/opt/hive` (`bin/hive`, `bin/schematool`),
 * Hadoop in `/opt/hadoop` (the S3A file system and the AWS SDK in `share/hadoop/tools/lib`, not on
 * Hive's class path by default), running as `hive` (uid 1000). Its `/entrypoint.sh` initialises the
 * schema on every start unless told not to and copies config into the image; keelson replaces it:
 * an init container runs `schematool -info` and, only when that finds no schema, `-initSchema`,
 * and the metastore runs with its config read from keelson's ConfigMap, as a non-root user above
 * 10000. The image ships only Derby's JDBC driver: for PostgreSQL or MySQL put the driver's jar on
 * the class path through `/keelson/lib` (a volume added with `podOverrides`) or run an image of your own.
 *
 * Credentials never reach the ConfigMap: the database user and password and the S3 keys come from
 * their Secrets as environment variables, and the XML files refer to them as `${env.NAME}`, which
 * Hadoop's configuration expands when the value is read.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { Construct } from 'constructs';
import {
  CONFIG_VOLUME,
  databaseCredentialEnv,
  databaseCredentialVariables,
  DatabaseConnectionSchema,
  defineRole,
  jdbcDriverClass,
  jdbcUrl,
  resolveS3,
  ROOT_LOGGER,
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
  type S3Connection,
  type StackletContext,
  type StackletOptions,
} from '../../lib';

/** The port of the metastore's Thrift API. */
export const HIVE_METASTORE_PORT = 9083;

/** The key of the Thrift URI in a Hive discovery ConfigMap. */
export const HIVE_DISCOVERY_KEY = 'HIVE';

const CONFIG_DIR = '/keelson/config';
/** Derby's files and the default warehouse, when no S3 is configured. */
const DATA_DIR = '/keelson/data';
/** Extra jars (JDBC drivers) put on the class path. */
const LIB_DIR = '/keelson/lib';
const S3A_JARS = '/opt/hadoop/share/hadoop/tools/lib/*';

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
      configFiles: ['metastore-site.xml', 'core-site.xml', 'metastore-log4j2.properties'],
      jvm: true,
    },
  },
});
/** The spec of a HiveCluster. */
export type HiveSpec = Static<typeof HiveSpecSchema>;

function database(spec: HiveSpec): DatabaseConnection {
  // validate() rejects a spec without one before any builder runs.
  return spec.clusterConfig!.database!;
}

/** The Thrift URI clients use: the metastores' client Service. */
export function metastoreUri(stacklet: StackletContext): string {
  const service = `${stacklet.name}-metastores.${stacklet.namespace ?? 'default'}.svc.${stacklet.clusterDomain}`;
  return `thrift://${service}:${HIVE_METASTORE_PORT}`;
}

/** metastore-site.xml: the database, the warehouse and the Thrift port. */
export function metastoreSite(stacklet: StackletContext<HiveSpec>): Record<string, string> {
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
  };
}

/** core-site.xml: the S3A file system, when an S3 connection is configured. */
export function coreSite(stacklet: StackletContext<HiveSpec>): Record<string, string> {
  const ref = stacklet.spec.clusterConfig?.s3;
  if (!ref) return {};
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
  };
}

/** Log4j 2 properties: everything to the console, at the levels of `config.logging`. */
function log4j2(config: ResolvedCommonConfig): Record<string, string> {
  const container = config.logging.containers?.hive;
  const loggers = Object.entries(container?.loggers ?? {}).filter(([name]) => name !== ROOT_LOGGER);
  const root = container?.loggers?.[ROOT_LOGGER]?.level ?? container?.console?.level ?? 'INFO';
  const file: Record<string, string> = {
    status: 'WARN',
    'appender.console.type': 'Console',
    'appender.console.name': 'console',
    'appender.console.target': 'SYSTEM_ERR',
    'appender.console.layout.type': 'PatternLayout',
    'appender.console.layout.pattern': '%d{ISO8601} %5p [%t] %c{2}: %m%n',
    'rootLogger.level': root === 'NONE' ? 'OFF' : root,
    'rootLogger.appenderRef.console.ref': 'console',
  };
  loggers.forEach(([name, { level }], i) => {
    file[`logger.l${i}.name`] = name;
    file[`logger.l${i}.level`] = level === 'NONE' ? 'OFF' : level;
  });
  if (loggers.length > 0) file.loggers = loggers.map((_, i) => `l${i}`).join(',');
  return file;
}

/** Everything the init container and the metastore share: config, scratch space and credentials. */
function environment(stacklet: StackletContext<HiveSpec>, rg: ResolvedRoleGroup) {
  const ref = stacklet.spec.clusterConfig?.s3;
  const s3 = ref ? resolveS3('spec.clusterConfig.s3', ref, stacklet.references) : undefined;
  return [
    { name: 'HIVE_CONF_DIR', value: CONFIG_DIR },
    { name: 'HADOOP_CONF_DIR', value: CONFIG_DIR },
    // The pod's user has no passwd entry; Hadoop takes its user name from here instead.
    { name: 'HADOOP_USER_NAME', value: 'hive' },
    { name: 'HOME', value: '/tmp' },
    { name: 'HADOOP_CLASSPATH', value: [`${LIB_DIR}/*`, ...(s3 ? [S3A_JARS] : [])].join(':') },
    { name: 'HADOOP_CLIENT_OPTS', value: rg.jvmArguments.join(' ') },
    ...databaseCredentialEnv(database(stacklet.spec), DB_ENV),
    ...(s3 ? s3CredentialEnv(s3, S3_ENV) : []),
  ];
}

/** Initialises the schema only when `schematool -info` finds none, so restarts change nothing. */
export function schemaInitScript(db: DatabaseConnection): string {
  const type = SCHEMATOOL_TYPES[db.type];
  return [
    'set -eu',
    `if /opt/hive/bin/schematool -dbType ${type} -info > /tmp/schema-info.log 2>&1; then`,
    '  echo "the metastore schema exists; nothing to do"',
    'else',
    '  echo "no metastore schema found; initialising it"',
    `  /opt/hive/bin/schematool -dbType ${type} -initSchema`,
    'fi',
  ].join('\n');
}

const WRITABLE_DIRS = ['/tmp', DATA_DIR, LIB_DIR];

/** The Hive product, as the framework and the operator see it. */
export const HIVE: ProductDefinition<HiveSpec> = {
  name: 'hive',
  kind: 'HiveCluster',
  plural: 'hiveclusters',
  shortNames: ['hive'],
  description: 'A Hive metastore: table metadata over Thrift, kept in a relational database.',
  specSchema: HiveSpecSchema,
  images: {
    repository: 'docker.io/apache/hive',
    versions: { '4.0.0': '4.0.0', '4.0.1': '4.0.1', '4.1.0': '4.1.0' },
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
      ports: [{ name: 'thrift', port: HIVE_METASTORE_PORT, client: true }],
      configFiles: {
        'metastore-site.xml': 'hadoop-xml',
        'core-site.xml': 'hadoop-xml',
        'metastore-log4j2.properties': 'properties',
      },
      configMountPath: CONFIG_DIR,
      writableDirs: WRITABLE_DIRS,
      jvm: { arguments: ['-XX:+ExitOnOutOfMemoryError', '-Djava.io.tmpdir=/tmp'] },
      workload: 'StatefulSet',
      pod: (stacklet, rg) => {
        const hive = stacklet as StackletContext<HiveSpec>;
        const env = environment(hive, rg);
        return {
          container: {
            command: [
              '/bin/bash',
              '-c',
              'exec /opt/hive/bin/hive --skiphadoopversion --skiphbasecp --service metastore',
            ],
            env: [...env, { name: 'METASTORE_PORT', value: String(HIVE_METASTORE_PORT) }],
            readinessProbe: {
              tcpSocket: { port: HIVE_METASTORE_PORT as never },
              initialDelaySeconds: 10,
              periodSeconds: 10,
            },
            livenessProbe: {
              tcpSocket: { port: HIVE_METASTORE_PORT as never },
              initialDelaySeconds: 60,
              periodSeconds: 15,
            },
          },
          initContainers: [
            {
              name: 'schema-init',
              command: ['/bin/bash', '-c', schemaInitScript(database(hive.spec))],
              env,
              resources: {
                requests: { cpu: '100m', memory: '512Mi' },
                limits: { cpu: '1', memory: '512Mi' },
              },
              volumeMounts: [
                { name: CONFIG_VOLUME, mountPath: CONFIG_DIR, readOnly: true },
                ...WRITABLE_DIRS.map((dir) => ({ name: writableVolumeName(dir), mountPath: dir })),
              ],
            },
          ],
          configFiles: {
            'metastore-site.xml': metastoreSite(hive),
            'core-site.xml': coreSite(hive),
            'metastore-log4j2.properties': log4j2(rg.config),
          },
        };
      },
    }),
  ],
  references: (spec) => s3References('spec.clusterConfig.s3', spec.clusterConfig?.s3),
  validate: (stacklet) => {
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
  discovery: (stacklet) => ({ [HIVE_DISCOVERY_KEY]: metastoreUri(stacklet) }),
};

/** Props of a HiveCluster in synth mode: the custom resource's spec plus typed references. */
export interface HiveClusterProps extends HiveSpec {
  /**
   * The S3 connection for table data (the spec then refers to it by name).
   * @default - `clusterConfig.s3`, or none
   */
  readonly s3?: S3Connection;
}

/**
 * A Hive metastore. Its discovery ConfigMap (named like it) holds the Thrift URI under `HIVE`;
 * pass the HiveCluster to a TrinoCatalog (`metastore: hive`).
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
