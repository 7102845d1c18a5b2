/**
 * Beacon: a small product that exists only to prove the framework. It has what real products
 * have — a JVM role with persistent storage and a config file (`servers`), a stateless role
 * (`gateways`) with a YAML file, product config fields, client and metrics ports, discovery data —
 * and nothing else.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { Construct } from 'constructs';
import {
  defineRole,
  Stacklet,
  stackletSpecSchema,
  type ProductDefinition,
  type ResolvedCommonConfig,
  type StackletContext,
  type StackletOptions,
} from '../../lib';

const serverConfig = {
  tickTime: Type.Optional(
    Type.Integer({ minimum: 1, description: 'Milliseconds between heartbeats. @default 2000' }),
  ),
};
const gatewayConfig = {
  greeting: Type.Optional(Type.String({ description: 'What the gateway says. @default "hello"' })),
};

export const BeaconSpecSchema = stackletSpecSchema({
  description: 'A Beacon stacklet (framework example).',
  clusterConfig: {
    realm: Type.Optional(
      Type.String({ maxLength: 32, description: 'Realm of the beacon. @default "default"' }),
    ),
    upstreamConfigMapName: Type.Optional(
      Type.String({
        description: 'Discovery ConfigMap of another Beacon this one relays to. @default - none',
      }),
    ),
  },
  roles: {
    servers: { config: serverConfig, configFiles: ['beacon.properties', 'log4j.properties'], jvm: true },
    gateways: { config: gatewayConfig, configFiles: ['gateway.yaml'], jvm: false },
  },
});
export type BeaconSpec = Static<typeof BeaconSpecSchema>;

interface ServerConfig extends ResolvedCommonConfig {
  readonly tickTime: number;
}
interface GatewayConfig extends ResolvedCommonConfig {
  readonly greeting: string;
}

function upstream(stacklet: StackletContext): Record<string, string> {
  const name = (stacklet.spec.clusterConfig as Record<string, unknown> | undefined)?.upstreamConfigMapName as
    string | undefined;
  return name ? { upstream: stacklet.dependencies[name].BEACON } : {};
}

const commonDefaults = (memory: string) => ({
  resources: { cpu: { min: '250m', max: '1' }, memory: { limit: memory }, storage: {} },
  logging: {},
  gracefulShutdownTimeout: '30s',
});

export const BEACON: ProductDefinition<BeaconSpec> = {
  name: 'beacon',
  kind: 'BeaconCluster',
  plural: 'beaconclusters',
  shortNames: ['beacon'],
  description: 'A Beacon stacklet (framework example).',
  specSchema: BeaconSpecSchema,
  images: {
    repository: 'registry.invalid/keelson/beacon',
    versions: { '1.0.0': '1.0.0', '1.1.0': '1.1.0' },
    defaultVersion: '1.1.0',
  },
  roles: [
    defineRole<ServerConfig>({
      name: 'servers',
      config: serverConfig,
      defaultReplicas: 3,
      defaults: () => ({
        ...commonDefaults('1Gi'),
        resources: { ...commonDefaults('1Gi').resources, storage: { data: { capacity: '2Gi' } } },
        tickTime: 2000,
      }),
      ports: [
        { name: 'client', port: 7070, client: true },
        { name: 'peer', port: 7071 },
        { name: 'metrics', port: 9090 },
      ],
      configFiles: { 'beacon.properties': 'properties', 'log4j.properties': 'properties' },
      configMountPath: '/etc/beacon',
      storageMounts: { data: '/var/lib/beacon' },
      writableDirs: ['/tmp', '/var/log/beacon'],
      jvm: { arguments: ['-XX:+UseG1GC'] },
      pod: (stacklet, rg) => ({
        container: {
          command: ['/opt/beacon/bin/beacon-server'],
          args: ['--config', '/etc/beacon/beacon.properties'],
          env: [{ name: 'JAVA_OPTS', value: rg.jvmArguments.join(' ') }],
          readinessProbe: { tcpSocket: { port: 7070 as never }, periodSeconds: 5 },
        },
        configFiles: {
          'beacon.properties': {
            'tick.time': String(rg.config.tickTime),
            'data.dir': '/var/lib/beacon',
            realm: String(
              (stacklet.spec.clusterConfig as Record<string, unknown> | undefined)?.realm ?? 'default',
            ),
            peers: rg.podAddresses.join(','),
            ...upstream(stacklet),
          },
          'log4j.properties': { 'log4j.rootLogger': 'INFO, CONSOLE' },
        },
      }),
    }),
    defineRole<GatewayConfig>({
      name: 'gateways',
      config: gatewayConfig,
      defaultReplicas: 1,
      workload: 'Deployment',
      defaults: () => ({ ...commonDefaults('256Mi'), greeting: 'hello' }),
      ports: [{ name: 'http', port: 8080, client: true }],
      configFiles: { 'gateway.yaml': 'yaml' },
      configMountPath: '/etc/gateway',
      pod: (_stacklet, rg) => ({
        container: { args: ['--config', '/etc/gateway/gateway.yaml'] },
        configFiles: { 'gateway.yaml': { greeting: rg.config.greeting, listen: { port: 8080 } } },
      }),
    }),
  ],
  dependencies: (spec): Record<string, string> =>
    spec.clusterConfig?.upstreamConfigMapName
      ? { 'spec.clusterConfig.upstreamConfigMapName': spec.clusterConfig.upstreamConfigMapName }
      : {},
  discovery: (stacklet) => ({
    BEACON: stacklet.roleGroups
      .filter((rg) => rg.role === 'servers')
      .flatMap((rg) => rg.podAddresses.map((a) => `${a}:7070`))
      .join(','),
  }),
};

/** Synth-mode extras of a Beacon: a typed reference to its upstream. */
export interface BeaconClusterProps extends BeaconSpec {
  /** Another Beacon to relay to. @default - none */
  readonly upstream?: BeaconCluster;
}

/** The Beacon construct, as a real product would export it. */
export class BeaconCluster extends Stacklet<BeaconSpec> {
  constructor(scope: Construct, id: string, props: BeaconClusterProps = {}, options: StackletOptions = {}) {
    const { upstream: ref, ...spec } = props;
    const withRef: BeaconSpec = ref
      ? {
          ...spec,
          clusterConfig: { ...spec.clusterConfig, upstreamConfigMapName: ref.discoveryConfigMapName },
        }
      : spec;
    super(scope, id, BEACON, withRef, {
      ...options,
      dependencies: {
        ...options.dependencies,
        ...(ref ? { [ref.discoveryConfigMapName]: ref.discoveryData } : {}),
      },
    });
    ref?.addAllowedClient(this);
  }
}
