/**
 * Kafka: brokers, and in KRaft mode (the default) the controllers that hold the metadata quorum.
 * With `clusterConfig.zookeeperConfigMapName` the cluster runs in ZooKeeper mode instead: the
 * metadata lives in ZooKeeper (best under a ZookeeperZnode of its own), there are no controllers,
 * and a `controllers` section in the spec is rejected. ZooKeeper mode exists in Kafka 3.x only.
 *
 * The image is keelson's own `ghcr.io/keelson/kafka` (image.ts), not upstream's `apache/kafka`: it
 * carries the Prometheus JMX exporter agent keelson's pods load, which upstream's lacks. It keeps the
 * layout of the upstream image (built from docker/jvm/Dockerfile in the Kafka repository; checked for 3.8–4.1) —
 * Kafka's jars in `/opt/kafka/libs`, config in `/opt/kafka/config`, data in `/var/lib/kafka/data`,
 * bash and `java` on the PATH — plus the Prometheus JMX exporter agent. keelson depends on none of
 * Kafka's scripts: each pod renders its config from the role group's file, formats the storage in
 * KRaft mode with `kafka.tools.StorageTool`, and runs `java … kafka.Kafka` with the classpath
 * `/opt/kafka/libs/*`, keelson's JVM arguments, its log4j config and the exporter agent, as a
 * non-root user above 10000. Nothing in the container's environment reaches the JVMs of tools a
 * user runs in the pod (no `JMX_PORT`, `KAFKA_OPTS` or `KAFKA_HEAP_OPTS`).
 */
import { createHash } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { Construct } from 'constructs';
import {
  CLOSED,
  Duration,
  opaAuthorizationSchema,
  opaDependencies,
  opaReferenceProblems,
  opaRuleUrl,
  parseDurationSeconds,
  defaultIdOffset,
  containerLogging,
  LOG_DIR,
  log4j2Config,
  logConfigLocation,
  jmxExporterAgentArgument,
  listenerAddressScript,
  shellQuote,
  defineRole,
  defineRule,
  ordinalIdProblems,
  Stacklet,
  stackletSpecSchema,
  tlsTrustFile,
  tlsTrustVolumes,
  withRules,
  type IStacklet,
  type OrdinalIdScheme,
  type ProductDefinition,
  type ResolvedCommonConfig,
  type ResolvedRoleGroup,
  type RoleGroupPod,
  type RoleGroupTls,
  type StackletContext,
  type TlsFiles,
  type StackletOptions,
  tcpPortProbes,
  kerberosClassOf,
  kerberosPodParts,
  KERBEROS_KEYTAB,
  type KerberosPodParts,
} from '../../lib';

/** The ports of Kafka's pods. */
export const KAFKA_PORTS = {
  /** Clients and other brokers connect to brokers here. */
  kafka: 9092,
  /** Brokers and controllers reach the controllers' quorum here. */
  controller: 9093,
  /**
   * With TLS on, brokers replicate from each other here (the `INTERNAL` listener, with the internal
   * TlsClass's certificates), apart from clients on 9092. Unused without TLS.
   */
  internal: 9094,
  /**
   * With a brokers' ListenerClass that is not ClusterIP, clients outside the cluster connect here
   * (the `EXTERNAL` listener), through each broker's own Service; each broker advertises the
   * address the keelson operator found for it (lib/listener). Unused otherwise.
   */
  external: 9095,
  /** The Prometheus JMX exporter agent serves Kafka's metrics at `/metrics` here (no remote JMX). */
  metrics: 9404,
} as const;

/** The key of the bootstrap servers in a Kafka discovery ConfigMap. */
export const KAFKA_DISCOVERY_KEY = 'KAFKA';

/**
 * The key, in a Kafka discovery ConfigMap, of the TlsClass whose CAs a client trusts to reach the
 * bootstrap servers over TLS; absent when the brokers serve clients in plaintext.
 */
export const KAFKA_TLS_DISCOVERY_KEY = 'KAFKA_TLS_CLASS';

/** The key of the connection string in a ZooKeeper discovery ConfigMap (a cluster's or a ZNode's). */
const ZOOKEEPER_KEY = 'ZOOKEEPER';
/** The key of the TlsClass of a ZooKeeper's client port in its discovery ConfigMap (absent: plaintext). */
const ZOOKEEPER_TLS_KEY = 'ZOOKEEPER_TLS_CLASS';
/** The key of the TlsClass whose certificates a ZooKeeper asks every client for (absent: none). */
const ZOOKEEPER_CLIENT_CERTIFICATE_KEY = 'ZOOKEEPER_CLIENT_CERTIFICATE_CLASS';

const CONFIG_DIR = '/kafka/config';
/** Each pod's own config, rendered at start from the role group's file. */
const RUN_DIR = '/kafka/run';
const DATA_DIR = '/var/lib/kafka/data';

/** Where keelson's Kafka image keeps Kafka's jars, and the classpath of every JVM keelson starts. */
export const KAFKA_LIBS = '/opt/kafka/libs';
/** The main classes keelson runs (the same in 3.8–4.1). */
export const KAFKA_MAIN_CLASSES = { server: 'kafka.Kafka', storageTool: 'kafka.tools.StorageTool' } as const;
/** The exporter's rules, a config file of both roles. */
const EXPORTER_FILE = 'jmx-exporter.yaml';
/**
 * Log4j 1's config, which Kafka 3.x read before keelson's images ran it on Log4j 2. No version reads
 * it now; it stays a config file of the spec so that an override of it is refused naming the file
 * to override instead.
 */
const LOG4J_FILE = 'log4j.properties';
/** Log4j 2 config, which every Kafka version reads (3.x through Log4j's Log4j 1 bridge). */
const LOG4J2_FILE = 'log4j2.properties';
/** The name of the main container, under which `config.logging.containers` sets its levels. */
const CONTAINER = 'kafka';

/** Placeholders in the config files that each pod replaces with its own value at start. */
export const POD_PLACEHOLDERS = {
  nodeId: '__NODE_ID__',
  podAddress: '__POD_ADDRESS__',
  /** `host:port` of the broker's per-pod listener (lib/listener), for the EXTERNAL listener. */
  externalAddress: '__EXTERNAL_ADDRESS__',
  /** The host alone (an IPv6 address unbracketed), for the EXTERNAL listener's Kerberos principal. */
  externalHost: '__EXTERNAL_HOST__',
} as const;

/**
 * Node ids (`node.id`, `broker.id` in ZooKeeper mode): unique across brokers and controllers. By
 * default each role group gets a block of 100 ids chosen by its role and name.
 */
export const NODE_ID_SCHEME: OrdinalIdScheme = { first: 0, stride: 100, slots: 1000 };

const nodeConfig = {
  nodeIdOffset: Type.Optional(
    Type.Integer({
      minimum: 0,
      description:
        "The node id of the role group's first pod; pod N gets nodeIdOffset + N, so scaling never renumbers a pod. " +
        'Ids must not overlap across role groups of both roles. @default - a block of 100 ids derived from the role and role group name',
    }),
  ),
};

/** What the spec-wide rules look at. */
interface RuleView {
  clusterConfig?: { zookeeperConfigMapName?: string };
  controllers?: { roleConfig?: { listenerClass?: string } };
}

const noControllersInZookeeperMode = defineRule<RuleView>({
  cel: '!has(self.clusterConfig) || !has(self.clusterConfig.zookeeperConfigMapName) || !has(self.controllers)',
  message:
    'a Kafka in ZooKeeper mode (clusterConfig.zookeeperConfigMapName) has no controllers: remove spec.controllers, ' +
    'or remove zookeeperConfigMapName for KRaft',
  fieldPath: '.controllers',
  reason: 'FieldValueForbidden',
  check: (self) => self.clusterConfig?.zookeeperConfigMapName === undefined || self.controllers === undefined,
});

/** Controllers have no client Service, so a listener class would do nothing. */
const controllersHaveNoListener = defineRule<RuleView>({
  cel: '!has(self.controllers) || !has(self.controllers.roleConfig) || !has(self.controllers.roleConfig.listenerClass)',
  message:
    'Kafka controllers have no client Service (only brokers and controllers reach them, inside the cluster): ' +
    'remove listenerClass',
  fieldPath: '.controllers.roleConfig.listenerClass',
  reason: 'FieldValueForbidden',
  check: (self) => self.controllers?.roleConfig?.listenerClass === undefined,
});

/**
 * Each node's cache of OPA's decisions. Kafka asks the authorizer for every request, so the cache
 * keeps OPA off the produce path; its time to live bounds how long a policy change waits.
 */
export const DEFAULT_OPA_CACHE = { entryTimeToLive: '30s', maxEntries: 50_000 } as const;

const baseSchema = stackletSpecSchema({
  description: 'A Kafka cluster: brokers, and controllers in KRaft mode.',
  clusterConfig: {
    zookeeperConfigMapName: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'Run in ZooKeeper mode, with the metadata in the ZooKeeper (or ZookeeperZnode) whose discovery ConfigMap this names. ' +
          '@default - KRaft mode, with controllers',
      }),
    ),
    authorization: Type.Optional(
      opaAuthorizationSchema({
        product: 'Kafka',
        packageExample: 'kafka',
        packageUse: 'brokers and controllers ask its rule `allow` for every action a principal takes.',
        whenUnset: 'every principal may do everything',
        extra: {
          cache: Type.Optional(
            Type.Object(
              {
                entryTimeToLive: Type.Optional(
                  Duration(
                    'How long a broker keeps a decision before asking OPA again: the longest a policy change waits to apply. ' +
                      `@default ${DEFAULT_OPA_CACHE.entryTimeToLive}`,
                  ),
                ),
                maxEntries: Type.Optional(
                  Type.Integer({
                    minimum: 1,
                    description: `How many decisions a broker keeps. @default ${DEFAULT_OPA_CACHE.maxEntries}`,
                  }),
                ),
              },
              { ...CLOSED, description: "Each node's cache of OPA's decisions." },
            ),
          ),
        },
      }),
    ),
  },
  roles: {
    controllers: {
      config: nodeConfig,
      configFiles: ['controller.properties', LOG4J_FILE, LOG4J2_FILE, EXPORTER_FILE],
      jvm: true,
    },
    brokers: {
      config: nodeConfig,
      configFiles: ['broker.properties', LOG4J_FILE, LOG4J2_FILE, EXPORTER_FILE],
      jvm: true,
    },
  },
});
export const KafkaSpecSchema: typeof baseSchema = {
  ...baseSchema,
  ...withRules(noControllersInZookeeperMode, controllersHaveNoListener),
};
/** The spec of a KafkaCluster. */
import type { KafkaSpec } from './spec.generated';
import { KAFKA_MONITORING } from './monitoring';
export type { KafkaSpec };

/** A Kafka role group's config after defaults were merged in. */
export interface KafkaNodeConfig extends ResolvedCommonConfig {
  readonly nodeIdOffset: number;
}
type KafkaRoleGroup = ResolvedRoleGroup<KafkaNodeConfig>;

function zookeeperConfigMapName(spec: KafkaSpec): string | undefined {
  return spec.clusterConfig?.zookeeperConfigMapName;
}

function groupsOf(stacklet: StackletContext, role: string): KafkaRoleGroup[] {
  return stacklet.roleGroups.filter((rg) => rg.role === role) as KafkaRoleGroup[];
}

/** `controller.quorum.voters`: `<node id>@<address>:9093` for every controller. */
export function quorumVoters(stacklet: StackletContext): string {
  return groupsOf(stacklet, 'controllers')
    .flatMap((rg) =>
      rg.podAddresses.map(
        (a, ordinal) => `${rg.config.nodeIdOffset + ordinal}@${a}:${KAFKA_PORTS.controller}`,
      ),
    )
    .join(',');
}

/**
 * The KRaft cluster id: 16 bytes derived from namespace and name, as Kafka writes ids (base64url).
 * An id that starts with `-` reads as an option to the storage tool, which then refuses to format
 * (`-t` then has no value), so those ids get their first bit flipped. Only ids
 * that could never start a cluster change; every other id stays what it was.
 */
export function kraftClusterId(stacklet: StackletContext): string {
  const bytes = createHash('sha256')
    .update(`${stacklet.namespace ?? 'default'}/${stacklet.name}`)
    .digest()
    .subarray(0, 16);
  if (bytes.toString('base64url').startsWith('-')) bytes[0] ^= 0x80;
  return bytes.toString('base64url');
}

/** The bootstrap servers: the brokers' client Service. */
export function bootstrapServers(stacklet: StackletContext): string {
  const service = `${stacklet.name}-brokers.${stacklet.namespace ?? 'default'}.svc.${stacklet.clusterDomain}`;
  return `${service}:${KAFKA_PORTS.kafka}`;
}

/**
 * Where the version's log framework reads its config (keelson's file, or the user's own from
 * `custom.configMap`), with the volume that brings the user's ConfigMap in.
 */
function logConfig(rg: KafkaRoleGroup) {
  return logConfigLocation(containerLogging(rg.config.logging, CONTAINER), CONFIG_DIR, LOG4J2_FILE);
}

/**
 * The log config file whose change needs no roll: log4j2.properties, which Log4j 2 checks
 * (monitorInterval) and applies by itself, in every version.
 */
const RELOADED_LOG_FILES = [LOG4J2_FILE];

/** The system property that points the JVM at the Log4j 2 config. */
function log4jProperty(rg: KafkaRoleGroup): string {
  return `-Dlog4j2.configurationFile=${logConfig(rg).path}`;
}

/** `java` with the classpath of Kafka's jars, as one shell command line (arguments quoted). */
function java(args: readonly string[], mainClass: string, mainArgs: readonly string[]): string {
  return ['java', ...args, '-cp', `${KAFKA_LIBS}/*`, mainClass, ...mainArgs].map(shellQuote).join(' ');
}

/**
 * A pod's start: its node id is its ordinal (the suffix of its StatefulSet pod name) plus the role
 * group's offset, its address its stable DNS name under the role group's headless Service. Both go
 * into the pod's copy of the config; KRaft storage is formatted once (later starts skip it). Then
 * the server runs as `java` itself (no Kafka script), with the role group's JVM arguments, the log4j
 * config of the version and the exporter agent serving metrics.
 */
function startScript(stacklet: StackletContext, rg: KafkaRoleGroup, file: string): string {
  const kraft = zookeeperConfigMapName(stacklet.spec as KafkaSpec) === undefined;
  const config = `${RUN_DIR}/${file}`;
  const heap = rg.jvmArguments.filter((a) => /^-Xm[sx]/.test(a));
  const log4j = log4jProperty(rg);
  const agent = jmxExporterAgentArgument(KAFKA_PORTS.metrics, `${CONFIG_DIR}/${EXPORTER_FILE}`);
  // The JVM's Kerberos reads keelson's krb5.conf (a broker of a kerberos class).
  const kerberos = file === 'broker.properties' ? brokerKerberos(stacklet, rg) : undefined;
  const krb5 = kerberos ? [`-Djava.security.krb5.conf=${kerberos.krb5Conf}`] : [];
  // A broker reached from outside learns its own address from the operator first (lib/listener).
  const external = rg.listener
    ? [
        ...listenerAddressScript(rg.listener),
        'external_host="${listener_host}"',
        // An IPv6 address is bracketed in a listener's address.
        'case "${listener_host}" in *:*) listener_host="[${listener_host}]" ;; esac',
        'external_address="${listener_host}:${listener_port_external}"',
        'echo "advertising ${external_address} on the EXTERNAL listener"',
      ]
    : [];
  return [
    'set -eu',
    `node_id=$(( \${POD_NAME##*-} + ${rg.config.nodeIdOffset} ))`,
    `address="${podAddressScript(stacklet, rg)}"`,
    ...external,
    `sed -e "s/${POD_PLACEHOLDERS.nodeId}/\${node_id}/g" -e "s/${POD_PLACEHOLDERS.podAddress}/\${address}/g" ` +
      (rg.listener
        ? `-e "s/${POD_PLACEHOLDERS.externalAddress}/\${external_address}/g" ` +
          `-e "s/${POD_PLACEHOLDERS.externalHost}/\${external_host}/g" `
        : '') +
      `${CONFIG_DIR}/${file} > ${config}`,
    ...(kraft
      ? [
          java([...heap, log4j], KAFKA_MAIN_CLASSES.storageTool, [
            'format',
            '--ignore-formatted',
            '-t',
            kraftClusterId(stacklet),
            '-c',
            config,
          ]),
        ]
      : []),
    `exec ${java([...rg.jvmArguments, ...krb5, log4j, agent], KAFKA_MAIN_CLASSES.server, [config])}`,
  ].join('\n');
}

/** A pod's stable DNS name under its role group's headless Service, as a bash expression. */
function podAddressScript(stacklet: StackletContext, rg: KafkaRoleGroup): string {
  return `\${POD_NAME}.${rg.names.headlessService}.\${POD_NAMESPACE}.svc.${stacklet.clusterDomain}`;
}

/**
 * Probes. Kafka may spend a long time before it listens (log recovery after an unclean shutdown runs
 * before the listener opens in ZooKeeper mode; a broker also loads its partitions), so the startup
 * probe gives it an hour, and only then does the liveness probe take over.
 */
function pod(
  stacklet: StackletContext,
  rg: KafkaRoleGroup,
  file: string,
  port: number,
): RoleGroupPod['container'] {
  return {
    command: ['/bin/bash', '-c', startScript(stacklet, rg, file)],
    env: [
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    ],
    volumeMounts: logConfig(rg).volumeMounts,
    ...tcpPortProbes(port, STARTUP_MINUTES),
  };
}

/** How long a broker or controller may take to first listen before it is restarted: an hour. */
const STARTUP_MINUTES = 60;

/** The console's layout (Kafka's own scripts' pattern). */
const CONSOLE_PATTERN = '[%d] %p %m (%c)%n';

/**
 * The exporter's rules. Kafka has two kinds of MBeans: Yammer metrics (`name=…`, CamelCase
 * attributes `Count`, `Value`, `99thPercentile`) become `kafka_<domain>_<type>_<name>`, rates as their
 * counters (`…_total`; Prometheus computes rates) and percentiles with a `quantile` label; Kafka's
 * own metrics (lower-case, hyphenated attributes such as `current-leader` of `raft-metrics`) become
 * `kafka_<domain>_<type>_<attribute>`. Up to two further MBean keys (topic, partition, request, …)
 * become labels; MBeans with more keys are not exported. JVM metrics come with the agent.
 */
export function exporterConfig(): object {
  const key = ', ([\\w-]+)=([^,>]+)';
  const rules: object[] = [];
  for (const count of [2, 1, 0]) {
    const keys = key.repeat(count);
    const labels = (first: number): Record<string, string> =>
      Object.fromEntries(
        Array.from({ length: count }, (_, i) => [`$${first + 2 * i}`, `$${first + 1 + 2 * i}`]),
      );
    const yammer = `kafka.(\\w+)<type=([^,>]+), name=([^,>]+)`;
    rules.push(
      {
        pattern: `kafka.(\\w+)<type=([^,>]+), name=([^,>]+)PerSec\\w*${keys}><>Count`,
        name: 'kafka_$1_$2_$3_total',
        type: 'COUNTER',
        labels: labels(4),
      },
      {
        pattern: `${yammer}${keys}><>(\\d+)thPercentile`,
        name: 'kafka_$1_$2_$3',
        type: 'GAUGE',
        labels: { ...labels(4), quantile: `0.$${4 + 2 * count}` },
      },
      {
        pattern: `${yammer}${keys}><>(Count|Value)`,
        name: 'kafka_$1_$2_$3',
        type: 'GAUGE',
        labels: labels(4),
      },
      {
        pattern: `kafka.(\\w+)<type=([^,>]+)${keys}><>([a-z][\\w-]*)`,
        name: `kafka_$1_$2_$${3 + 2 * count}`,
        type: 'GAUGE',
        labels: labels(3),
      },
    );
  }
  return { lowercaseOutputName: true, lowercaseOutputLabelNames: true, rules };
}

/** The files both roles have beside their own properties file. */
function commonFiles(rg: KafkaRoleGroup): Record<string, object> {
  return {
    [LOG4J2_FILE]: log4j2Config(containerLogging(rg.config.logging, CONTAINER), CONSOLE_PATTERN),
    [EXPORTER_FILE]: exporterConfig(),
  };
}

function defaults(memory: string, storage: string) {
  return (_stacklet: StackletContext, roleGroup: string, role: string): KafkaNodeConfig => ({
    resources: {
      cpu: { min: '250m', max: '1' },
      memory: { limit: memory },
      storage: { 'log-dirs': { capacity: storage } },
    },
    logging: {},
    gracefulShutdownTimeout: '2m',
    nodeIdOffset: defaultIdOffset(NODE_ID_SCHEME, role, roleGroup),
  });
}

/** The GC settings Kafka's own scripts start a server with, and an exit on running out of memory. */
const JVM_ARGUMENTS = [
  '-XX:+UseG1GC',
  '-XX:MaxGCPauseMillis=20',
  '-XX:InitiatingHeapOccupancyPercent=35',
  '-XX:+ExplicitGCInvokesConcurrent',
  '-Djava.awt.headless=true',
  '-XX:+ExitOnOutOfMemoryError',
];

const COMMON_FILE_FORMATS = {
  [LOG4J2_FILE]: 'properties',
  [EXPORTER_FILE]: 'yaml',
} as const;

const common = {
  configMountPath: CONFIG_DIR,
  storageMounts: { 'log-dirs': DATA_DIR },
  // LOG_DIR: the structured log file (Kafka 4).
  writableDirs: ['/tmp', RUN_DIR, LOG_DIR],
  jvm: { arguments: JVM_ARGUMENTS },
  maxUnavailable: 1,
  defaultReplicas: 3,
};

/** The Kafka product, as the framework and the operator see it. */
export const KAFKA: ProductDefinition<KafkaSpec> = {
  name: 'kafka',
  kind: 'KafkaCluster',
  plural: 'kafkaclusters',
  shortNames: ['kafka'],
  description: 'A Kafka cluster: brokers, and controllers in KRaft mode.',
  specSchema: KafkaSpecSchema,
  monitoring: KAFKA_MONITORING,
  images: {
    repository: 'ghcr.io/keelson/kafka',
    versions: { '3.8.1': '3.8.1', '3.9.1': '3.9.1', '4.0.0': '4.0.0', '4.1.0': '4.1.0' },
    // The newest line that has both KRaft and ZooKeeper mode.
    defaultVersion: '3.9.1',
  },
  roles: [
    defineRole<KafkaNodeConfig>({
      ...common,
      name: 'controllers',
      // Controllers speak only to brokers and controllers.
      tls: ['internal'],
      // Kafka reads its PEM stores when a listener starts (again only on a dynamic config update of
      // the listener); it never watches the files.
      certificateReload: { internal: 'restart' },
      // controller.quorum.voters lists every controller (a static KRaft quorum): the operator
      // changes the controllers only while the stacklet is stopped (lib/operator/quorum.ts).
      quorum: true,
      config: nodeConfig,
      enabled: (spec) => zookeeperConfigMapName(spec as KafkaSpec) === undefined,
      defaults: (stacklet, group) => defaults('1Gi', '1Gi')(stacklet, group, 'controllers'),
      ports: [
        { name: 'controller', port: KAFKA_PORTS.controller },
        { name: 'metrics', port: KAFKA_PORTS.metrics },
      ],
      configFiles: { 'controller.properties': 'properties', ...COMMON_FILE_FORMATS },
      pod: (stacklet, rg) => ({
        container: pod(stacklet, rg, 'controller.properties', KAFKA_PORTS.controller),
        configFiles: { ...commonFiles(rg), 'controller.properties': controllerProperties(stacklet, rg) },
        reloadedFiles: RELOADED_LOG_FILES,
        volumes: logConfig(rg).volumes,
      }),
    }),
    defineRole<KafkaNodeConfig>({
      ...common,
      name: 'brokers',
      // Server TLS for clients (9092), internal TLS between brokers (9094) and to the controllers.
      tls: ['server', 'internal'],
      certificateReload: { server: 'restart', internal: 'restart' },
      // Its ZooKeeper client (ZooKeeper 3.8/3.9's ClientCnxnSocketNetty, read in the jars) makes a
      // new pipeline factory, and so a new TLS context from the trust file, at every connect: a new
      // CA of the ZooKeeper's class reaches it on its next connection without a restart.
      clientTrustReload: 'files',
      config: nodeConfig,
      defaults: (stacklet, group) => defaults('2Gi', '10Gi')(stacklet, group, 'brokers'),
      ports: [
        { name: 'kafka', port: KAFKA_PORTS.kafka, client: true },
        { name: 'internal', port: KAFKA_PORTS.internal },
        { name: 'external', port: KAFKA_PORTS.external },
        { name: 'metrics', port: KAFKA_PORTS.metrics },
      ],
      // Clients are sent to each partition's leader, so an outside client must reach every broker
      // at an address of its own.
      podListener: { ports: ['external'] },
      configFiles: { 'broker.properties': 'properties', ...COMMON_FILE_FORMATS },
      pod: (stacklet, rg) => {
        const container = pod(stacklet, rg, 'broker.properties', KAFKA_PORTS.kafka);
        // A ZooKeeper's CAs, when it speaks TLS with a class none of the brokers' own files carries,
        // and the CAs of the client certificates the brokers accept.
        const trust = [zookeeperTrustVolumes(stacklet, rg), clientCertificateTrustVolumes(stacklet, rg)];
        // A kerberos class: krb5.conf, and the keytab its init container writes for the broker's principal.
        const kerberos = brokerKerberos(stacklet, rg);
        return {
          container: {
            ...container,
            volumeMounts: [
              ...(container.volumeMounts ?? []),
              ...trust.flatMap((t) => t.mounts),
              ...(kerberos?.mounts ?? []),
            ],
          },
          configFiles: { ...commonFiles(rg), 'broker.properties': brokerProperties(stacklet, rg) },
          extraFiles: kerberos?.files,
          reloadedFiles: RELOADED_LOG_FILES,
          initContainers: kerberos ? [kerberos.initContainer] : undefined,
          volumes: [
            ...trust.flatMap((t) => t.volumes),
            ...logConfig(rg).volumes,
            ...(kerberos?.volumes ?? []),
          ],
        };
      },
    }),
  ],
  dependencies: (spec): Record<string, string> => {
    const name = zookeeperConfigMapName(spec);
    return {
      ...(name ? { 'spec.clusterConfig.zookeeperConfigMapName': name } : {}),
      ...opaDependencies(spec.clusterConfig?.authorization?.opa),
    };
  },
  // Clients prove who they are with a certificate of the class's TlsClass (mutual TLS on 9092).
  // Kerberos principals authenticate on 9092 with SASL GSSAPI (SASL_SSL with server TLS).
  authenticationProviders: ['tls', 'kerberos'],
  validate: (stacklet) => {
    const problems: string[] = [
      ...clientAuthenticationProblems(stacklet),
      ...authorizationProblems(stacklet),
    ];
    const zookeeper = zookeeperConfigMapName(stacklet.spec);
    if (zookeeper) {
      if (!stacklet.dependencies[zookeeper]?.[ZOOKEEPER_KEY]) {
        problems.push(
          `spec.clusterConfig.zookeeperConfigMapName: the ConfigMap "${zookeeper}" has no ${ZOOKEEPER_KEY}; ` +
            'name the discovery ConfigMap of a ZookeeperCluster or ZookeeperZnode',
        );
      }
      problems.push(...zookeeperClientCertificateProblems(stacklet, zookeeper));
      if (Number(stacklet.image.productVersion.split('.')[0]) >= 4) {
        const zkVersions = Object.keys(KAFKA.images!.versions).filter((v) => v.startsWith('3.'));
        problems.push(
          `spec.clusterConfig.zookeeperConfigMapName: Kafka ${stacklet.image.productVersion} has no ZooKeeper mode; ` +
            `run one of ${zkVersions.join(', ')} (spec.image.productVersion) or remove zookeeperConfigMapName for KRaft`,
        );
      }
    } else if (groupsOf(stacklet, 'controllers').every((rg) => rg.replicas === 0)) {
      problems.push('spec.controllers: a KRaft Kafka needs at least one controller');
    }
    const brokersClass = stacklet.listenerClasses.brokers;
    const server = stacklet.tls.server;
    if (server?.certManagerIssuer && brokersClass && brokersClass.spec.serviceType !== 'ClusterIP') {
      problems.push(
        `spec.brokers.roleConfig.listenerClass: the ListenerClass "${brokersClass.name}" reaches each broker at an ` +
          `address outside the cluster, which a certificate of the cert-manager TlsClass "${server.name}" (one per ` +
          'role group) cannot name, so a TLS client would refuse it: name a ClusterIP class, or a keelsonCa or ' +
          'secretCa class as the server class (spec.clusterConfig.tls.serverTlsClass), whose pod certificates do',
      );
    }
    for (const rg of stacklet.roleGroups) {
      if (rg.configOverrides[LOG4J_FILE] !== undefined) {
        problems.push(
          `spec.${rg.role}.configOverrides.${LOG4J_FILE}: Kafka ${stacklet.image.productVersion} logs through Log4j 2 ` +
            `in keelson's images and does not read ${LOG4J_FILE}; override ${LOG4J2_FILE} instead`,
        );
      }
    }
    const ranges = ['controllers', 'brokers'].flatMap((role) =>
      groupsOf(stacklet, role).map((rg) => ({
        path: `spec.${role}.roleGroups.${rg.roleGroup}.config.nodeIdOffset`,
        offset: rg.config.nodeIdOffset,
        replicas: rg.replicas,
      })),
    );
    return [...problems, ...ordinalIdProblems(NODE_ID_SCHEME, ranges)];
  },
  discovery: (stacklet) => ({
    [KAFKA_DISCOVERY_KEY]: bootstrapServers(stacklet),
    ...(stacklet.tls.server ? { [KAFKA_TLS_DISCOVERY_KEY]: stacklet.tls.server.name } : {}),
  }),
};

/**
 * The TLS settings of one listener, read from keelson's mount contract (lib/tls) as PEM: Kafka's
 * `ssl.keystore.type=PEM` takes a file holding an unencrypted PKCS#8 key and the certificate chain
 * (`tls.pem`; no `ssl.key.password`, and no key inline in a config file), and
 * `ssl.truststore.type=PEM` every certificate in `ca.crt` (both CAs during a CA rotation). The
 * settings are prefixed with the listener's name, so they serve both the listener and the
 * broker's or controller's own connections to that listener on other nodes. A connecting side
 * checks the name in the certificate against the address it dialled (`https`, Kafka's default,
 * pinned): pods' certificates carry their DNS names and the Services that select them.
 */
function listenerTls(
  listener: string,
  files: TlsFiles,
  clientAuth: 'required' | 'none',
): Record<string, string> {
  const prefix = `listener.name.${listener.toLowerCase()}.ssl`;
  return {
    [`${prefix}.keystore.type`]: 'PEM',
    [`${prefix}.keystore.location`]: files.bundle,
    [`${prefix}.truststore.type`]: 'PEM',
    [`${prefix}.truststore.location`]: files.trust,
    [`${prefix}.client.auth`]: clientAuth,
    [`${prefix}.endpoint.identification.algorithm`]: 'https',
  };
}

/**
 * The principal of brokers and controllers on the listeners between them (`INTERNAL`,
 * `CONTROLLER`) when OPA authorizes: every certificate of the internal TlsClass maps to it there,
 * and it is the only super user, so replication, the quorum and the brokers' requests to the
 * controllers never wait for a policy. Client certificates map to their common name on the client
 * listeners, so a client class that issued a certificate with this common name would make that
 * client a super user: the name is reserved (see {@link IMPERSONATING_PRINCIPAL}).
 */
export const INTERNAL_PRINCIPAL = 'keelson-kafka-internal';

/**
 * What a client certificate naming {@link INTERNAL_PRINCIPAL} is on the client listeners: an
 * ordinary principal no policy knows, so the certificate gets nothing a policy does not grant it.
 */
export const IMPERSONATING_PRINCIPAL = 'keelson-kafka-impersonator';

/**
 * A client's principal is its certificate's common name (`CN=alice,O=data` → `alice`), as an
 * authorizer and the broker's logs name it; a subject without one keeps Kafka's default, the whole
 * distinguished name. A subject naming the reserved {@link INTERNAL_PRINCIPAL} anywhere becomes
 * {@link IMPERSONATING_PRINCIPAL} instead (the first matching rule wins), so a client class that
 * issued such a certificate makes no super user.
 */
const PRINCIPAL_FROM_COMMON_NAME =
  `RULE:^(.*,)?[Cc][Nn]=${INTERNAL_PRINCIPAL}(,.*)?$/${IMPERSONATING_PRINCIPAL}/,` +
  'RULE:^.*[Cc][Nn]=([^,]+).*$/$1/,DEFAULT';

/** The TlsClass whose CAs sign the client certificates the brokers accept, from a tls AuthenticationClass. */
function clientCertificateClass(stacklet: StackletContext): string | undefined {
  return stacklet.authentication.find((c) => c.provider === 'tls')?.spec.tls?.tlsClass;
}

/**
 * Where a broker finds the CAs of the client certificates it accepts: its server trust bundle when
 * the client class is the server class (`own`), else that class's bundle mounted as a client's.
 */
function clientCertificateTrust(
  stacklet: StackletContext,
  rg: KafkaRoleGroup,
): { trust: string; tlsClass: string; own: boolean } | undefined {
  const tlsClass = clientCertificateClass(stacklet);
  if (tlsClass === undefined || !rg.tls.server) return undefined;
  if (stacklet.tls.server?.name === tlsClass) return { trust: rg.tls.server.trust, tlsClass, own: true };
  return { trust: tlsTrustFile(tlsClass), tlsClass, own: false };
}

/** The volumes that give a broker the client certificates' CAs when its own files do not carry them. */
function clientCertificateTrustVolumes(
  stacklet: StackletContext,
  rg: KafkaRoleGroup,
): ReturnType<typeof tlsTrustVolumes> {
  const trust = clientCertificateTrust(stacklet, rg);
  return tlsTrustVolumes(trust && !trust.own ? [trust.tlsClass] : []);
}

/** Kafka maps one tls AuthenticationClass, and only onto a client listener that speaks TLS. */
function clientAuthenticationProblems(stacklet: StackletContext): string[] {
  const tlsClasses = stacklet.authentication.filter((c) => c.provider === 'tls');
  const problems: string[] = [];
  if (tlsClasses.length > 1) {
    problems.push(
      'spec.clusterConfig.authentication: Kafka checks client certificates against one TlsClass; name one tls ' +
        `AuthenticationClass, not ${tlsClasses.length} (${tlsClasses.map((c) => c.name).join(', ')})`,
    );
  }
  const kerberosClasses = stacklet.authentication.filter((c) => c.provider === 'kerberos');
  if (kerberosClasses.length > 1) {
    problems.push(
      'spec.clusterConfig.authentication: a Kafka broker has one Kerberos principal, of one realm; name one ' +
        `kerberos AuthenticationClass, not ${kerberosClasses.length} (${kerberosClasses.map((c) => c.name).join(', ')})`,
    );
  }
  if (kerberosClasses.length > 0 && tlsClasses.length > 0) {
    problems.push(
      'spec.clusterConfig.authentication: Kafka maps one way for clients to authenticate on its client listener: ' +
        `a tls class (certificates) or a kerberos class (SASL GSSAPI), not both (${tlsClasses[0].name}, ${kerberosClasses[0].name})`,
    );
  }
  if (tlsClasses.length > 0 && !stacklet.tls.server) {
    problems.push(
      `spec.clusterConfig.authentication: the AuthenticationClass "${tlsClasses[0].name}" asks clients for a ` +
        "certificate, which needs the brokers' client listener on TLS: set spec.clusterConfig.tls.serverTlsClass",
    );
  }
  return problems;
}

/** The security protocol of a listener whose TLS files are `files` (none: plaintext). */
function protocol(files: TlsFiles | undefined): 'SSL' | 'PLAINTEXT' {
  return files ? 'SSL' : 'PLAINTEXT';
}

/**
 * The controllers' listener (the KRaft quorum): with internal TLS it speaks TLS with mutual
 * authentication (`ssl.client.auth=required`), so only holders of a certificate of the internal
 * class — brokers and controllers — join the quorum or reach it.
 */
function controllerListenerTls(tls: RoleGroupTls): Record<string, string> {
  return tls.internal ? listenerTls('CONTROLLER', tls.internal, 'required') : {};
}

/** controller.properties: the KRaft quorum's listener. */
function controllerProperties(stacklet: StackletContext, rg: KafkaRoleGroup): Record<string, string> {
  return {
    'process.roles': 'controller',
    'node.id': POD_PLACEHOLDERS.nodeId,
    'controller.quorum.voters': quorumVoters(stacklet),
    'controller.listener.names': 'CONTROLLER',
    listeners: `CONTROLLER://0.0.0.0:${KAFKA_PORTS.controller}`,
    'listener.security.protocol.map': `CONTROLLER:${protocol(rg.tls.internal)}`,
    ...controllerListenerTls(rg.tls),
    ...opaAuthorizer(stacklet),
    'log.dirs': DATA_DIR,
  };
}

/**
 * The brokers' listeners. Without TLS, one `PLAINTEXT` listener on 9092 serves clients and the
 * other brokers (as before TLS existed). With TLS, clients and brokers get listeners of their own,
 * since they use different TlsClasses: `CLIENT` on 9092 (TLS with the server class when server TLS
 * is on; clients show no certificate — client certificates are authentication, a separate concern)
 * and `INTERNAL` on 9094 for replication (mutual TLS with the internal class when internal TLS is on).
 */
function brokerListeners(stacklet: StackletContext, rg: KafkaRoleGroup): Record<string, string> {
  const tls = rg.tls;
  const clients = clientCertificateTrust(stacklet, rg);
  // With a tls AuthenticationClass, clients (inside and outside) show a certificate of its class.
  const clientListenerTls = (listener: string, files: TlsFiles) =>
    clients
      ? {
          ...listenerTls(listener, { ...files, trust: clients.trust }, 'required'),
          [`listener.name.${listener.toLowerCase()}.ssl.principal.mapping.rules`]: PRINCIPAL_FROM_COMMON_NAME,
        }
      : listenerTls(listener, files, 'none');
  // Reached from outside (a brokers' class that is not ClusterIP): a third listener, EXTERNAL,
  // advertised at the address the operator found for this broker's own Service.
  const listen = rg.listener ? `,EXTERNAL://0.0.0.0:${KAFKA_PORTS.external}` : '';
  const advertise = rg.listener ? `,EXTERNAL://${POD_PLACEHOLDERS.externalAddress}` : '';
  const kerberos = brokerKerberos(stacklet, rg);
  if (!tls.server && !tls.internal && !kerberos) {
    return {
      listeners: `PLAINTEXT://0.0.0.0:${KAFKA_PORTS.kafka}${listen}`,
      'advertised.listeners': `PLAINTEXT://${POD_PLACEHOLDERS.podAddress}:${KAFKA_PORTS.kafka}${advertise}`,
      'inter.broker.listener.name': 'PLAINTEXT',
    };
  }
  return {
    listeners: `CLIENT://0.0.0.0:${KAFKA_PORTS.kafka},INTERNAL://0.0.0.0:${KAFKA_PORTS.internal}${listen}`,
    'advertised.listeners':
      `CLIENT://${POD_PLACEHOLDERS.podAddress}:${KAFKA_PORTS.kafka},` +
      `INTERNAL://${POD_PLACEHOLDERS.podAddress}:${KAFKA_PORTS.internal}${advertise}`,
    'inter.broker.listener.name': 'INTERNAL',
    ...(tls.server ? clientListenerTls('CLIENT', tls.server) : {}),
    // The same certificate: the signer names the broker's outside address in it (its node's address
    // for a NodePort class, its load balancer's for a LoadBalancer class).
    ...(tls.server && rg.listener ? clientListenerTls('EXTERNAL', tls.server) : {}),
    ...(tls.internal ? listenerTls('INTERNAL', tls.internal, 'required') : {}),
    ...(kerberos ? clientListenerKerberos(kerberos, 'CLIENT', POD_PLACEHOLDERS.podAddress) : {}),
    // Outside clients dial the broker's outside address: the keytab holds that address's principal too.
    ...(kerberos && rg.listener
      ? clientListenerKerberos(kerberos, 'EXTERNAL', POD_PLACEHOLDERS.externalHost)
      : {}),
  };
}

/** The Kerberos parts of a broker, for a stacklet naming a kerberos class. */
function brokerKerberos(stacklet: StackletContext, rg: KafkaRoleGroup): KerberosPodParts | undefined {
  const info = kerberosClassOf(stacklet.authentication);
  if (!info) return undefined;
  return kerberosPodParts(info, {
    service: KAFKA_KERBEROS_SERVICE,
    // The broker's advertised address, as the start script computes it.
    podAddress: podAddressScript(stacklet, rg),
    configDir: CONFIG_DIR,
    listener: rg.listener,
  });
}

/** The service part of the brokers' principals (`kafka/<pod DNS name>@REALM`), and what clients set as `sasl.kerberos.service.name`. */
export const KAFKA_KERBEROS_SERVICE = 'kafka';

/**
 * A client listener with Kerberos: SASL GSSAPI only, the broker accepting as the principal of the
 * address clients dial on that listener (`host`: its pod DNS name, or its outside address), from
 * the keytab its init container wrote. A client's principal becomes its first component
 * (`alice@REALM` and `alice/host@REALM` → `alice`), as an authorizer and the logs name it.
 */
function clientListenerKerberos(
  kerberos: KerberosPodParts,
  listener: string,
  host: string,
): Record<string, string> {
  const principal = kerberos.principal(host);
  const escaped = kerberos.realm.replace(/\./g, '\\.');
  const name = listener.toLowerCase();
  return {
    [`listener.name.${name}.sasl.enabled.mechanisms`]: 'GSSAPI',
    'sasl.kerberos.service.name': KAFKA_KERBEROS_SERVICE,
    [`listener.name.${name}.gssapi.sasl.jaas.config`]:
      'com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true storeKey=true ' +
      `keyTab="${KERBEROS_KEYTAB}" principal="${principal}";`,
    // The reserved name first (the first matching rule wins): a principal of any realm whose first
    // component is INTERNAL_PRINCIPAL is no super user.
    'sasl.kerberos.principal.to.local.rules':
      `RULE:[1:$1](${INTERNAL_PRINCIPAL})s/.*/${IMPERSONATING_PRINCIPAL}/,` +
      `RULE:[2:$1](${INTERNAL_PRINCIPAL})s/.*/${IMPERSONATING_PRINCIPAL}/,` +
      `RULE:[1:$1@$0](.*@${escaped})s/@.*//,RULE:[2:$1@$0](.*@${escaped})s/@.*//,DEFAULT`,
  };
}

/** The security protocols of the brokers' listeners (and of the controllers' one, in KRaft mode). */
function brokerProtocolMap(stacklet: StackletContext, rg: KafkaRoleGroup, kraft: boolean): string {
  const { server, internal } = rg.tls;
  const controller = kraft ? [`CONTROLLER:${protocol(internal)}`] : [];
  // Kerberos: SASL on the client listeners, over TLS when server TLS is on, else in plaintext
  // (GSSAPI sends no password, but the records then cross the network unencrypted).
  const kerberos = kerberosClassOf(stacklet.authentication) !== undefined;
  const client = kerberos ? `SASL_${protocol(server)}` : protocol(server);
  // Outside clients speak what clients inside do.
  const external = rg.listener ? [`EXTERNAL:${client}`] : [];
  if (!server && !internal && !kerberos) return ['PLAINTEXT:PLAINTEXT', ...external, ...controller].join(',');
  return [`CLIENT:${client}`, `INTERNAL:${protocol(internal)}`, ...external, ...controller].join(',');
}

/**
 * The file holding the CAs of the ZooKeeper's TlsClass, when its discovery says its client port
 * speaks TLS: the trust bundle of one of Kafka's own uses whose class is the same (internal first:
 * the metadata path is Kafka's internal traffic; either holds the same CAs when the class names
 * match), or else the class's bundle mounted for the brokers as clients (`own: false`, lib/tls
 * `tlsTrustVolumes`), so a Kafka in plaintext or with other classes still reaches it over TLS.
 */
function zookeeperTrust(
  stacklet: StackletContext,
  rg: KafkaRoleGroup,
  zkClass: string,
): { trust: string; own: boolean } {
  if (stacklet.tls.internal?.name === zkClass && rg.tls.internal)
    return { trust: rg.tls.internal.trust, own: true };
  if (stacklet.tls.server?.name === zkClass && rg.tls.server)
    return { trust: rg.tls.server.trust, own: true };
  return { trust: tlsTrustFile(zkClass), own: false };
}

/** The volumes that give a broker the ZooKeeper's CAs when none of its own TLS files carries them. */
function zookeeperTrustVolumes(
  stacklet: StackletContext,
  rg: KafkaRoleGroup,
): ReturnType<typeof tlsTrustVolumes> {
  const zkClass = zookeeperTlsClass(stacklet);
  const own = zkClass === undefined || zookeeperTrust(stacklet, rg, zkClass).own;
  return tlsTrustVolumes(own ? [] : [zkClass]);
}

/** The TlsClass of the ZooKeeper's client port, when its discovery says it speaks TLS. */
function zookeeperTlsClass(stacklet: StackletContext): string | undefined {
  const zookeeper = zookeeperConfigMapName(stacklet.spec as KafkaSpec);
  return zookeeper ? stacklet.dependencies[zookeeper]?.[ZOOKEEPER_TLS_KEY] || undefined : undefined;
}

/** The TlsClass whose certificates the ZooKeeper asks its clients for, per its discovery. */
function zookeeperClientCertificateClass(stacklet: StackletContext): string | undefined {
  const zookeeper = zookeeperConfigMapName(stacklet.spec as KafkaSpec);
  return zookeeper
    ? stacklet.dependencies[zookeeper]?.[ZOOKEEPER_CLIENT_CERTIFICATE_KEY] || undefined
    : undefined;
}

/**
 * The certificate a broker shows the ZooKeeper when it asks for one: the broker's own of that
 * class, internal first (the metadata path is Kafka's internal traffic), else its server one.
 */
function zookeeperClientCertificate(stacklet: StackletContext, rg: KafkaRoleGroup): TlsFiles | undefined {
  const zkClass = zookeeperClientCertificateClass(stacklet);
  if (zkClass === undefined) return undefined;
  if (stacklet.tls.internal?.name === zkClass && rg.tls.internal) return rg.tls.internal;
  if (stacklet.tls.server?.name === zkClass && rg.tls.server) return rg.tls.server;
  return undefined;
}

/** A ZooKeeper that asks for client certificates needs a broker certificate of that class. */
function zookeeperClientCertificateProblems(stacklet: StackletContext, zookeeper: string): string[] {
  const zkClass = zookeeperClientCertificateClass(stacklet);
  if (zkClass === undefined) return [];
  if (stacklet.tls.internal?.name === zkClass || stacklet.tls.server?.name === zkClass) return [];
  return [
    `spec.clusterConfig.zookeeperConfigMapName: the ZooKeeper of "${zookeeper}" asks every client for a ` +
      `certificate of the TlsClass "${zkClass}" (${ZOOKEEPER_CLIENT_CERTIFICATE_KEY}), and the brokers hold ` +
      'none of it: give Kafka that TlsClass as its internal class (spec.clusterConfig.tls.internalTlsClass) or ' +
      'its server class (spec.clusterConfig.tls.serverTlsClass)',
  ];
}

/**
 * Kafka as a ZooKeeper client over TLS (Kafka's `zookeeper.ssl.*` settings): the Netty socket
 * (ZooKeeper's NIO one has no TLS), the trust bundle of the ZooKeeper's class, and the name in its
 * certificate checked against the connection string's hosts. When the ZooKeeper asks for a client
 * certificate (a `tls` AuthenticationClass), the broker shows its own of that class (`certificate`:
 * key and chain in one PEM file); otherwise none.
 */
function zookeeperClientTls(trust: string, certificate?: TlsFiles): Record<string, string> {
  return {
    ...(certificate
      ? { 'zookeeper.ssl.keystore.type': 'PEM', 'zookeeper.ssl.keystore.location': certificate.bundle }
      : {}),
    'zookeeper.ssl.client.enable': 'true',
    'zookeeper.clientCnxnSocket': 'org.apache.zookeeper.ClientCnxnSocketNetty',
    // Kafka's client asks for TLSv1.2 by default; ZooKeeper 3.9 servers speak only TLSv1.3 by default.
    'zookeeper.ssl.protocol': 'TLSv1.3',
    'zookeeper.ssl.truststore.type': 'PEM',
    'zookeeper.ssl.truststore.location': trust,
    'zookeeper.ssl.endpoint.identification.algorithm': 'HTTPS',
  };
}

/** The authorizer keelson's Kafka images carry (the opa-authorizer jar from Maven Central, image.ts). */
export const OPA_AUTHORIZER_CLASS = 'org.openpolicyagent.kafka.OpaAuthorizer';

/** The OPA settings of the spec, when OPA authorizes. */
function opaOf(stacklet: StackletContext) {
  return (stacklet.spec as KafkaSpec).clusterConfig?.authorization?.opa;
}

/** Maps every certificate on `listener` to {@link INTERNAL_PRINCIPAL} (see there). */
function internalPrincipal(listener: string): Record<string, string> {
  return {
    [`listener.name.${listener.toLowerCase()}.ssl.principal.mapping.rules`]: `RULE:^.*$/${INTERNAL_PRINCIPAL}/`,
  };
}

/**
 * The authorizer of brokers and controllers when `clusterConfig.authorization.opa` is set: the
 * OPA plugin asks `<OPA>v1/data/<package path>/allow` with the principal
 * (`input.requestContext.principal.name`) and the action (`input.action.operation`,
 * `input.action.resourcePattern`), and keeps each decision for `cache.entryTimeToLive`. OPA that
 * does not answer denies (`allow.on.error=false`). Brokers and controllers among themselves are the
 * super user {@link INTERNAL_PRINCIPAL}.
 */
export function opaAuthorizer(stacklet: StackletContext): Record<string, string> {
  const opa = opaOf(stacklet);
  if (!opa) return {};
  const ttl = opa.cache?.entryTimeToLive ?? DEFAULT_OPA_CACHE.entryTimeToLive;
  const kraft = zookeeperConfigMapName(stacklet.spec as KafkaSpec) === undefined;
  return {
    'authorizer.class.name': OPA_AUTHORIZER_CLASS,
    'opa.authorizer.url': opaRuleUrl(opa, stacklet.dependencies, 'allow'),
    'opa.authorizer.allow.on.error': 'false',
    'opa.authorizer.cache.expire.after.seconds': String(
      Math.max(1, Math.ceil(parseDurationSeconds(ttl) ?? 0)),
    ),
    'opa.authorizer.cache.maximum.size': String(opa.cache?.maxEntries ?? DEFAULT_OPA_CACHE.maxEntries),
    'super.users': `User:${INTERNAL_PRINCIPAL}`,
    ...internalPrincipal('INTERNAL'),
    ...(kraft ? internalPrincipal('CONTROLLER') : {}),
  };
}

/** OPA authorizes only who proves who they are: brokers and controllers by internal certificates. */
function authorizationProblems(stacklet: StackletContext): string[] {
  const opa = opaOf(stacklet);
  if (!opa) return [];
  const problems = opaReferenceProblems(opa, stacklet.dependencies);
  if (!stacklet.tls.internal) {
    problems.push(
      'spec.clusterConfig.authorization.opa: brokers and controllers are super users by their internal ' +
        'certificates, and this cluster has no internal TLS, so every connection between them would be an ' +
        'ANONYMOUS one the authorizer would have to let do everything: turn internal TLS on ' +
        '(spec.clusterConfig.tls.internalTlsClass, or create the default class "tls")',
    );
  }
  const ttl = opa.cache?.entryTimeToLive;
  if (ttl !== undefined && !((parseDurationSeconds(ttl) ?? 0) >= 1)) {
    problems.push(
      `spec.clusterConfig.authorization.opa.cache.entryTimeToLive: ${JSON.stringify(ttl)} is shorter than the ` +
        "plugin's unit, one second: give at least 1s",
    );
  }
  return problems;
}

/** broker.properties: the listeners each broker advertises under its own pod address, and its metadata source. */
function brokerProperties(stacklet: StackletContext, rg: KafkaRoleGroup): Record<string, string> {
  const brokers = groupsOf(stacklet, 'brokers').reduce((n, g) => n + g.replicas, 0);
  const replication = String(Math.max(1, Math.min(3, brokers)));
  const common = {
    ...brokerListeners(stacklet, rg),
    ...opaAuthorizer(stacklet),
    'log.dirs': DATA_DIR,
    'offsets.topic.replication.factor': replication,
    'transaction.state.log.replication.factor': replication,
    'transaction.state.log.min.isr': String(Math.max(1, Math.min(2, brokers))),
  };
  const zookeeper = zookeeperConfigMapName(stacklet.spec as KafkaSpec);
  if (zookeeper) {
    const zkClass = zookeeperTlsClass(stacklet);
    const trust = zkClass === undefined ? undefined : zookeeperTrust(stacklet, rg, zkClass);
    return {
      ...common,
      'broker.id': POD_PLACEHOLDERS.nodeId,
      // keelson numbers the brokers; ids above reserved.broker.max.id are only allowed without generation.
      'broker.id.generation.enable': 'false',
      'zookeeper.connect': stacklet.dependencies[zookeeper][ZOOKEEPER_KEY],
      ...(trust ? zookeeperClientTls(trust.trust, zookeeperClientCertificate(stacklet, rg)) : {}),
      'listener.security.protocol.map': brokerProtocolMap(stacklet, rg, false),
    };
  }
  return {
    ...common,
    'process.roles': 'broker',
    'node.id': POD_PLACEHOLDERS.nodeId,
    'controller.quorum.voters': quorumVoters(stacklet),
    'controller.listener.names': 'CONTROLLER',
    'listener.security.protocol.map': brokerProtocolMap(stacklet, rg, true),
    ...controllerListenerTls(rg.tls),
  };
}

/** Props of a KafkaCluster in synth mode: the custom resource's spec plus typed references. */
export interface KafkaClusterProps extends KafkaSpec {
  /**
   * Run in ZooKeeper mode against this ZookeeperCluster or, better, a ZookeeperZnode of its own.
   * @default - KRaft mode (or `clusterConfig.zookeeperConfigMapName`)
   */
  readonly zookeeper?: IStacklet;
  /**
   * Authorize with this OpaCluster's policy in Rego package `package` (sets
   * `clusterConfig.authorization.opa`, and admits brokers and controllers to the OPA servers).
   * @default - `clusterConfig.authorization` as given
   */
  readonly opa?: {
    readonly cluster: IStacklet;
    readonly package: string;
    /** @default - the defaults of `clusterConfig.authorization.opa.cache` */
    readonly cache?: NonNullable<NonNullable<KafkaSpec['clusterConfig']>['authorization']>['opa']['cache'];
  };
}

/**
 * A Kafka cluster. Each broker advertises its stable pod DNS name; clients bootstrap through the
 * brokers' Service `<name>-brokers`, published as `KAFKA` in the discovery ConfigMap `<name>`.
 */
export class KafkaCluster extends Stacklet<KafkaSpec> {
  /** `host:port` of the bootstrap Service. */
  public readonly bootstrapServers: string;

  constructor(scope: Construct, id: string, props: KafkaClusterProps = {}, options: StackletOptions = {}) {
    const { zookeeper, opa, ...spec } = props;
    const withRef: KafkaSpec = {
      ...spec,
      ...(zookeeper || opa
        ? {
            clusterConfig: {
              ...spec.clusterConfig,
              ...(zookeeper ? { zookeeperConfigMapName: zookeeper.discoveryConfigMapName } : {}),
              ...(opa
                ? {
                    authorization: {
                      opa: {
                        configMapName: opa.cluster.discoveryConfigMapName,
                        package: opa.package,
                        ...(opa.cache ? { cache: opa.cache } : {}),
                      },
                    },
                  }
                : {}),
            },
          }
        : {}),
    };
    super(scope, id, KAFKA, withRef, {
      ...options,
      dependencies: {
        ...options.dependencies,
        ...(zookeeper ? { [zookeeper.discoveryConfigMapName]: zookeeper.discoveryData } : {}),
        ...(opa ? { [opa.cluster.discoveryConfigMapName]: opa.cluster.discoveryData } : {}),
      },
    });
    zookeeper?.addAllowedClient(this);
    opa?.cluster.addAllowedClient(this);
    this.bootstrapServers = this.discoveryData[KAFKA_DISCOVERY_KEY];
  }
}
