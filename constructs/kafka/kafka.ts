/**
 * Kafka: brokers, and in KRaft mode (the default) the controllers that hold the metadata quorum.
 * With `clusterConfig.zookeeperConfigMapName` the cluster runs in ZooKeeper mode instead: the
 * metadata lives in ZooKeeper (best under a ZookeeperZnode of its own), there are no controllers,
 * and a `controllers` section in the spec is rejected. ZooKeeper mode exists in Kafka 3.x only.
 *
 * The image is `apache/kafka` (docker.io/apache/kafka, built from docker/jvm/Dockerfile in the
 * Kafka repository; checked for 3.8–4.1): Kafka in `/opt/kafka` (scripts in `/opt/kafka/bin`,
 * which log to `LOG_DIR`, by default `/opt/kafka/logs`), data in `/var/lib/kafka/data`, running as
 * `appuser` (uid 1000) with bash. keelson replaces the image's `/etc/kafka/docker/run` (which builds
 * a config from `KAFKA_*` variables into the image's own directories): it renders each pod's config
 * from the role group's file, formats the storage in KRaft mode, and runs `kafka-server-start.sh`
 * as a non-root user above 10000.
 */
import { createHash } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import type { Construct } from 'constructs';
import {
  defaultIdOffset,
  defineRole,
  defineRule,
  ordinalIdProblems,
  Stacklet,
  stackletSpecSchema,
  withRules,
  type IStacklet,
  type OrdinalIdScheme,
  type ProductDefinition,
  type ResolvedCommonConfig,
  type ResolvedRoleGroup,
  type RoleGroupPod,
  type StackletContext,
  type StackletOptions,
} from '../../lib';

/** The ports of Kafka's pods. */
export const KAFKA_PORTS = {
  /** Clients and other brokers connect to brokers here. */
  kafka: 9092,
  /** Brokers and controllers reach the controllers' quorum here. */
  controller: 9093,
  /** JMX, where Kafka's metrics are (the public image has no Prometheus endpoint). */
  jmx: 9999,
} as const;

/** The key of the bootstrap servers in a Kafka discovery ConfigMap. */
export const KAFKA_DISCOVERY_KEY = 'KAFKA';

/** The key of the connection string in a ZooKeeper discovery ConfigMap (a cluster's or a ZNode's). */
const ZOOKEEPER_KEY = 'ZOOKEEPER';

const CONFIG_DIR = '/kafka/config';
/** Each pod's own config, rendered at start from the role group's file. */
const RUN_DIR = '/kafka/run';
const DATA_DIR = '/var/lib/kafka/data';
const LOG_DIR = '/opt/kafka/logs';

/** Placeholders in the config files that each pod replaces with its own value at start. */
export const POD_PLACEHOLDERS = { nodeId: '__NODE_ID__', podAddress: '__POD_ADDRESS__' } as const;

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

const noControllersInZookeeperMode = defineRule<{
  clusterConfig?: { zookeeperConfigMapName?: string };
  controllers?: unknown;
}>({
  cel: '!has(self.clusterConfig) || !has(self.clusterConfig.zookeeperConfigMapName) || !has(self.controllers)',
  message:
    'a Kafka in ZooKeeper mode (clusterConfig.zookeeperConfigMapName) has no controllers: remove spec.controllers, ' +
    'or remove zookeeperConfigMapName for KRaft',
  fieldPath: '.controllers',
  reason: 'FieldValueForbidden',
  check: (self) => self.clusterConfig?.zookeeperConfigMapName === undefined || self.controllers === undefined,
});

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
  },
  roles: {
    controllers: { config: nodeConfig, configFiles: ['controller.properties'], jvm: true },
    brokers: { config: nodeConfig, configFiles: ['broker.properties'], jvm: true },
  },
});
export const KafkaSpecSchema: typeof baseSchema = {
  ...baseSchema,
  ...withRules(noControllersInZookeeperMode),
};
/** The spec of a KafkaCluster. */
export type KafkaSpec = Static<typeof KafkaSpecSchema>;

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

/** The KRaft cluster id: 16 bytes derived from namespace and name, as Kafka writes ids (base64url). */
export function kraftClusterId(stacklet: StackletContext): string {
  return createHash('sha256')
    .update(`${stacklet.namespace ?? 'default'}/${stacklet.name}`)
    .digest()
    .subarray(0, 16)
    .toString('base64url');
}

/** The bootstrap servers: the brokers' client Service. */
export function bootstrapServers(stacklet: StackletContext): string {
  const service = `${stacklet.name}-brokers.${stacklet.namespace ?? 'default'}.svc.${stacklet.clusterDomain}`;
  return `${service}:${KAFKA_PORTS.kafka}`;
}

/**
 * A pod's start: its node id is its ordinal (the suffix of its StatefulSet pod name) plus the role
 * group's offset, its address its stable DNS name under the role group's headless Service. Both go
 * into the pod's copy of the config; KRaft storage is formatted once (later starts skip it).
 */
function startScript(stacklet: StackletContext, rg: KafkaRoleGroup, file: string): string {
  const kraft = zookeeperConfigMapName(stacklet.spec as KafkaSpec) === undefined;
  return [
    'set -eu',
    `node_id=$(( \${POD_NAME##*-} + ${rg.config.nodeIdOffset} ))`,
    `address="\${POD_NAME}.${rg.names.headlessService}.\${POD_NAMESPACE}.svc.${stacklet.clusterDomain}"`,
    `sed -e "s/${POD_PLACEHOLDERS.nodeId}/\${node_id}/g" -e "s/${POD_PLACEHOLDERS.podAddress}/\${address}/g" ` +
      `${CONFIG_DIR}/${file} > ${RUN_DIR}/${file}`,
    ...(kraft
      ? [
          `/opt/kafka/bin/kafka-storage.sh format --ignore-formatted -t ${kraftClusterId(stacklet)} -c ${RUN_DIR}/${file}`,
        ]
      : []),
    `exec /opt/kafka/bin/kafka-server-start.sh ${RUN_DIR}/${file}`,
  ].join('\n');
}

function pod(
  stacklet: StackletContext,
  rg: KafkaRoleGroup,
  file: string,
  port: number,
): RoleGroupPod['container'] {
  const heap = rg.jvmArguments.filter((a) => /^-Xm[sx]/.test(a));
  const other = rg.jvmArguments.filter((a) => !/^-Xm[sx]/.test(a));
  return {
    command: ['/bin/bash', '-c', startScript(stacklet, rg, file)],
    env: [
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'KAFKA_HEAP_OPTS', value: heap.join(' ') },
      { name: 'KAFKA_OPTS', value: other.join(' ') },
      { name: 'LOG_DIR', value: LOG_DIR },
      { name: 'JMX_PORT', value: String(KAFKA_PORTS.jmx) },
    ],
    readinessProbe: { tcpSocket: { port: port as never }, initialDelaySeconds: 5, periodSeconds: 10 },
    livenessProbe: { tcpSocket: { port: port as never }, initialDelaySeconds: 60, periodSeconds: 15 },
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

const common = {
  configMountPath: CONFIG_DIR,
  storageMounts: { 'log-dirs': DATA_DIR },
  writableDirs: ['/tmp', LOG_DIR, RUN_DIR],
  jvm: { arguments: ['-XX:+ExitOnOutOfMemoryError'] },
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
  images: {
    repository: 'docker.io/apache/kafka',
    versions: { '3.8.1': '3.8.1', '3.9.1': '3.9.1', '4.0.0': '4.0.0', '4.1.0': '4.1.0' },
    // The newest line that has both KRaft and ZooKeeper mode.
    defaultVersion: '3.9.1',
  },
  roles: [
    defineRole<KafkaNodeConfig>({
      ...common,
      name: 'controllers',
      config: nodeConfig,
      enabled: (spec) => zookeeperConfigMapName(spec as KafkaSpec) === undefined,
      defaults: (stacklet, group) => defaults('1Gi', '1Gi')(stacklet, group, 'controllers'),
      ports: [
        { name: 'controller', port: KAFKA_PORTS.controller },
        { name: 'jmx', port: KAFKA_PORTS.jmx },
      ],
      configFiles: { 'controller.properties': 'properties' },
      pod: (stacklet, rg) => ({
        container: pod(stacklet, rg, 'controller.properties', KAFKA_PORTS.controller),
        configFiles: {
          'controller.properties': {
            'process.roles': 'controller',
            'node.id': POD_PLACEHOLDERS.nodeId,
            'controller.quorum.voters': quorumVoters(stacklet),
            'controller.listener.names': 'CONTROLLER',
            listeners: `CONTROLLER://0.0.0.0:${KAFKA_PORTS.controller}`,
            'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT',
            'log.dirs': DATA_DIR,
          },
        },
      }),
    }),
    defineRole<KafkaNodeConfig>({
      ...common,
      name: 'brokers',
      config: nodeConfig,
      defaults: (stacklet, group) => defaults('2Gi', '10Gi')(stacklet, group, 'brokers'),
      ports: [
        { name: 'kafka', port: KAFKA_PORTS.kafka, client: true },
        { name: 'jmx', port: KAFKA_PORTS.jmx },
      ],
      configFiles: { 'broker.properties': 'properties' },
      pod: (stacklet, rg) => ({
        container: pod(stacklet, rg, 'broker.properties', KAFKA_PORTS.kafka),
        configFiles: { 'broker.properties': brokerProperties(stacklet) },
      }),
    }),
  ],
  dependencies: (spec): Record<string, string> => {
    const name = zookeeperConfigMapName(spec);
    return name ? { 'spec.clusterConfig.zookeeperConfigMapName': name } : {};
  },
  validate: (stacklet) => {
    const problems: string[] = [];
    const zookeeper = zookeeperConfigMapName(stacklet.spec);
    if (zookeeper) {
      if (!stacklet.dependencies[zookeeper]?.[ZOOKEEPER_KEY]) {
        problems.push(
          `spec.clusterConfig.zookeeperConfigMapName: the ConfigMap "${zookeeper}" has no ${ZOOKEEPER_KEY}; ` +
            'name the discovery ConfigMap of a ZookeeperCluster or ZookeeperZnode',
        );
      }
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
    const ranges = ['controllers', 'brokers'].flatMap((role) =>
      groupsOf(stacklet, role).map((rg) => ({
        path: `spec.${role}.roleGroups.${rg.roleGroup}.config.nodeIdOffset`,
        offset: rg.config.nodeIdOffset,
        replicas: rg.replicas,
      })),
    );
    return [...problems, ...ordinalIdProblems(NODE_ID_SCHEME, ranges)];
  },
  discovery: (stacklet) => ({ [KAFKA_DISCOVERY_KEY]: bootstrapServers(stacklet) }),
};

/** broker.properties: the listener each broker advertises under its own pod address, and its metadata source. */
function brokerProperties(stacklet: StackletContext): Record<string, string> {
  const brokers = groupsOf(stacklet, 'brokers').reduce((n, rg) => n + rg.replicas, 0);
  const replication = String(Math.max(1, Math.min(3, brokers)));
  const common = {
    listeners: `PLAINTEXT://0.0.0.0:${KAFKA_PORTS.kafka}`,
    'advertised.listeners': `PLAINTEXT://${POD_PLACEHOLDERS.podAddress}:${KAFKA_PORTS.kafka}`,
    'inter.broker.listener.name': 'PLAINTEXT',
    'log.dirs': DATA_DIR,
    'offsets.topic.replication.factor': replication,
    'transaction.state.log.replication.factor': replication,
    'transaction.state.log.min.isr': String(Math.max(1, Math.min(2, brokers))),
  };
  const zookeeper = zookeeperConfigMapName(stacklet.spec as KafkaSpec);
  if (zookeeper) {
    return {
      ...common,
      'broker.id': POD_PLACEHOLDERS.nodeId,
      // keelson numbers the brokers; ids above reserved.broker.max.id are only allowed without generation.
      'broker.id.generation.enable': 'false',
      'zookeeper.connect': stacklet.dependencies[zookeeper][ZOOKEEPER_KEY],
      'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT',
    };
  }
  return {
    ...common,
    'process.roles': 'broker',
    'node.id': POD_PLACEHOLDERS.nodeId,
    'controller.quorum.voters': quorumVoters(stacklet),
    'controller.listener.names': 'CONTROLLER',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
  };
}

/** Props of a KafkaCluster in synth mode: the custom resource's spec plus typed references. */
export interface KafkaClusterProps extends KafkaSpec {
  /**
   * Run in ZooKeeper mode against this ZookeeperCluster or, better, a ZookeeperZnode of its own.
   * @default - KRaft mode (or `clusterConfig.zookeeperConfigMapName`)
   */
  readonly zookeeper?: IStacklet;
}

/**
 * A Kafka cluster. Each broker advertises its stable pod DNS name; clients bootstrap through the
 * brokers' Service `<name>-brokers`, published as `KAFKA` in the discovery ConfigMap `<name>`.
 */
export class KafkaCluster extends Stacklet<KafkaSpec> {
  /** `host:port` of the bootstrap Service. */
  public readonly bootstrapServers: string;

  constructor(scope: Construct, id: string, props: KafkaClusterProps = {}, options: StackletOptions = {}) {
    const { zookeeper, ...spec } = props;
    const withRef: KafkaSpec = zookeeper
      ? {
          ...spec,
          clusterConfig: { ...spec.clusterConfig, zookeeperConfigMapName: zookeeper.discoveryConfigMapName },
        }
      : spec;
    super(scope, id, KAFKA, withRef, {
      ...options,
      dependencies: {
        ...options.dependencies,
        ...(zookeeper ? { [zookeeper.discoveryConfigMapName]: zookeeper.discoveryData } : {}),
      },
    });
    zookeeper?.addAllowedClient(this);
    this.bootstrapServers = this.discoveryData[KAFKA_DISCOVERY_KEY];
  }
}
