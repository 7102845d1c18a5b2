/**
 * The pod template of a role group: the product's container, made secure, sized, mounted and
 * overridden the same way for every product.
 *
 * The main container is named after the product (`zookeeper`, `kafka`), so `podOverrides` can
 * address it by name.
 */
import type {
  Affinity,
  Container,
  EnvVar,
  PodTemplateSpec,
  Volume,
  VolumeMount,
} from '../../imports/k8s-wire';
import { parseDurationSeconds } from '../duration';
import { mergePodTemplate } from '../merge';
import { resourceRequirements } from '../resources';
import { CONFIG_HASH_ANNOTATION, selectorLabels } from './labels';
import type {
  ProductDefinition,
  ResolvedRoleGroup,
  RoleDefinition,
  RoleGroupPod,
  StackletContext,
} from './product';
import { tlsVolumes } from '../tls/pod-tls';
import { LISTENER_ENV_VARS, LISTENER_MOUNT, LISTENER_VOLUME } from '../listener/pod-listener';
import { LOG_AGENT_CONFIG_KEY, LOG_AGENT_CONFIG_VOLUME, logAgentContainer } from '../logging/agent';
import { LOG_DIR } from '../logging/model';
import { containerSecurityContext, podSecurityContext } from './security';

/** The volume holding the role group's rendered config files. */
export const CONFIG_VOLUME = 'config';

/** Everything `buildPodTemplate` needs beside the product's pod. */
export interface PodTemplateInput {
  readonly product: ProductDefinition;
  readonly stacklet: StackletContext;
  readonly role: RoleDefinition;
  readonly roleGroup: ResolvedRoleGroup;
  readonly pod: RoleGroupPod;
  readonly labels: Record<string, string>;
  readonly configHash: string;
  readonly serviceAccountName: string;
}

/** Overrides win: variables from `overrides` replace same-named ones and the rest are appended. */
function withEnvOverrides(env: readonly EnvVar[], overrides: Readonly<Record<string, string>>): EnvVar[] {
  const result = env.filter((e) => !(e.name in overrides));
  for (const [name, value] of Object.entries(overrides)) result.push({ name, value });
  return result;
}

/** emptyDir volume names for writable directories: `/tmp` → `tmp`, `/opt/app/logs` → `opt-app-logs`. */
export function writableVolumeName(dir: string): string {
  return (
    'rw-' +
    dir
      .replace(/^\/+|\/+$/g, '')
      .replace(/[^a-z0-9]+/gi, '-')
      .toLowerCase()
  ).slice(0, 63);
}

/** Default pod anti-affinity: spread a role's pods over nodes where the scheduler can. */
function defaultAffinity(labels: Record<string, string>): Affinity {
  return {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        {
          weight: 70,
          podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: labels } },
        },
      ],
    },
  };
}

function secured(container: Container, image: string, pullPolicy: string): Container {
  return {
    ...container,
    image: container.image ?? image,
    imagePullPolicy: container.imagePullPolicy ?? pullPolicy,
    // A container that fails leaves the end of its log as its termination message, which the
    // operator shows in the stacklet's Degraded condition (products log to stdout, not to a file).
    terminationMessagePolicy: container.terminationMessagePolicy ?? 'FallbackToLogsOnError',
    securityContext: { ...containerSecurityContext(), ...(container.securityContext ?? {}) },
  };
}

/** Builds the pod template of one role group. */
export function buildPodTemplate(input: PodTemplateInput): PodTemplateSpec {
  const { product, stacklet, role, roleGroup, pod } = input;
  const { config } = roleGroup;
  const agent = stacklet.logAggregator !== undefined;
  const declaredDirs = role.writableDirs ?? ['/tmp'];
  // The agent reads the structured log files from the log volume, which the product writes.
  const writableDirs = agent && !declaredDirs.includes(LOG_DIR) ? [...declaredDirs, LOG_DIR] : declaredDirs;
  const tls = tlsVolumes(roleGroup.tls, stacklet.tls, roleGroup.names.workload);

  const volumes: Volume[] = [
    { name: CONFIG_VOLUME, configMap: { name: roleGroup.names.configMap } },
    ...writableDirs.map((dir) => ({ name: writableVolumeName(dir), emptyDir: {} })),
    ...tls.volumes,
    // A per-pod listener's addresses; optional, since the pod starts before the operator wrote them.
    ...(roleGroup.listener
      ? [{ name: LISTENER_VOLUME, configMap: { name: roleGroup.listener.addressConfigMap, optional: true } }]
      : []),
    ...(pod.volumes ?? []),
    ...(agent
      ? [
          {
            name: LOG_AGENT_CONFIG_VOLUME,
            configMap: {
              name: roleGroup.names.configMap,
              items: [{ key: LOG_AGENT_CONFIG_KEY, path: LOG_AGENT_CONFIG_KEY }],
            },
          },
        ]
      : []),
  ];
  const volumeMounts: VolumeMount[] = [
    { name: CONFIG_VOLUME, mountPath: role.configMountPath, readOnly: true },
    ...writableDirs.map((dir) => ({ name: writableVolumeName(dir), mountPath: dir })),
    ...Object.keys(config.resources.storage).map((volume) => {
      const mountPath = role.storageMounts?.[volume];
      if (!mountPath) {
        throw new Error(
          `${product.kind} role ${role.name} declares no mount path for the storage volume "${volume}"; ` +
            `known volumes: ${Object.keys(role.storageMounts ?? {}).join(', ') || 'none'}`,
        );
      }
      return { name: volume, mountPath };
    }),
    ...tls.mounts,
    ...(roleGroup.listener ? [LISTENER_MOUNT] : []),
    ...(pod.container.volumeMounts ?? []),
  ];
  const listenerEnv: EnvVar[] = roleGroup.listener ? [...LISTENER_ENV_VARS] : [];

  const { image, pullPolicy, pullSecrets } = stacklet.image;
  const main: Container = secured(
    {
      name: product.name,
      command: pod.container.command ? [...pod.container.command] : undefined,
      args: [...(pod.container.args ?? []), ...roleGroup.cliOverrides],
      env: withEnvOverrides([...listenerEnv, ...(pod.container.env ?? [])], roleGroup.envOverrides),
      ports: role.ports.map((p) => ({ name: p.name, containerPort: p.port, protocol: p.protocol ?? 'TCP' })),
      resources: resourceRequirements(config.resources),
      volumeMounts,
      readinessProbe: pod.container.readinessProbe,
      livenessProbe: pod.container.livenessProbe,
      startupProbe: pod.container.startupProbe,
      workingDir: pod.container.workingDir,
      lifecycle: pod.container.lifecycle,
    },
    image,
    pullPolicy,
  );

  const template: PodTemplateSpec = {
    metadata: {
      labels: input.labels,
      annotations: { [CONFIG_HASH_ANNOTATION]: input.configHash },
    },
    spec: {
      serviceAccountName: input.serviceAccountName,
      automountServiceAccountToken: false,
      // Service links inject variables such as KAFKA_PORT that some products read as their own settings.
      enableServiceLinks: false,
      securityContext: podSecurityContext(product.runAsUser),
      affinity:
        (config.affinity as Affinity | undefined) ??
        defaultAffinity(selectorLabels({ product: product.name, instance: stacklet.name, role: role.name })),
      terminationGracePeriodSeconds: Math.ceil(parseDurationSeconds(config.gracefulShutdownTimeout) ?? 30),
      imagePullSecrets: pullSecrets.length > 0 ? pullSecrets.map((s) => ({ name: s.name })) : undefined,
      initContainers: pod.initContainers?.length
        ? pod.initContainers.map((c) => secured(c, image, pullPolicy))
        : undefined,
      containers: [
        main,
        ...(pod.sidecars ?? []).map((c) => secured(c, image, pullPolicy)),
        ...(stacklet.logAggregator !== undefined
          ? [
              secured(
                logAgentContainer({
                  endpoint: stacklet.logAggregator,
                  logVolume: writableVolumeName(LOG_DIR),
                  pullPolicy,
                }),
                image,
                pullPolicy,
              ),
            ]
          : []),
      ],
      volumes,
    },
  };
  return roleGroup.podOverrides.reduce<PodTemplateSpec>((t, o) => mergePodTemplate(t, o), template);
}

/**
 * A copy without undefined fields, so the generated JSON (and its hash) has no empty keys. (A
 * JSON round trip does the same, several times slower: this runs for every object of every
 * stacklet.)
 */
export function dropUndefined<T>(value: T): T {
  if (Array.isArray(value)) return value.map(dropUndefined) as T;
  if (value === null || typeof value !== 'object') return value;
  const result: Record<string, unknown> = {};
  // Object.keys, not Object.entries: no pair array per field of every object.
  for (const key of Object.keys(value)) {
    const field = (value as Record<string, unknown>)[key];
    if (field !== undefined) result[key] = dropUndefined(field);
  }
  return result as T;
}

/**
 * How often a startup probe looks. The first look after the process is up is what a rolling
 * restart waits for, pod after pod, so the period is short: at 10 s a roll of three pods waited
 * 15 s on average for nothing. A TCP connect or a local curl every 5 s costs nothing.
 */
export const STARTUP_PROBE_PERIOD_SECONDS = 5;

/**
 * A startup probe that gives the first start `startupMinutes`: liveness counts only after it, so a
 * slow first start (log recovery, edit replay, plugin loading on a busy node) is not killed.
 */
export function startupProbe<T extends object>(
  check: T,
  startupMinutes: number,
): T & { periodSeconds: number; failureThreshold: number } {
  return {
    ...check,
    periodSeconds: STARTUP_PROBE_PERIOD_SECONDS,
    failureThreshold: Math.ceil((startupMinutes * 60) / STARTUP_PROBE_PERIOD_SECONDS),
  };
}

/**
 * Probes that a port takes connections: readiness every 10 s, and liveness (every 15 s, four
 * failures) only after a startup probe that gives the first listen `startupMinutes`. JVM products
 * recover logs, replay edits or wait for their storage before they listen, and must not be killed
 * for taking long once.
 */
export function tcpPortProbes(
  port: number,
  startupMinutes: number,
): Pick<RoleGroupPod['container'], 'startupProbe' | 'readinessProbe' | 'livenessProbe'> {
  const tcp = { tcpSocket: { port: port as never } };
  return {
    startupProbe: startupProbe(tcp, startupMinutes),
    readinessProbe: { ...tcp, periodSeconds: 10 },
    livenessProbe: { ...tcp, periodSeconds: 15, failureThreshold: 4 },
  };
}
