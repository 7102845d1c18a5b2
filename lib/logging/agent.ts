/**
 * The log agent: a container beside the product in each pod that tails the structured log files
 * under {@link LOG_DIR} and ships every record, as an OpenTelemetry log record, to an aggregator
 * over OTLP/HTTP. It is keelson's build of the OpenTelemetry Collector with only the filelog
 * receiver and the OTLP/HTTP exporter (lib/logging/log-agent/).
 *
 * One parser serves every product, because every product writes the same fields
 * ({@link LOG_FIELDS}): the time becomes the record's timestamp, the level its severity, the message
 * its body, thread, logger and stack trace its attributes. The resource names where the record
 * comes from: `service.name` and `keelson.product` (the product), `keelson.stacklet`,
 * `keelson.role`, `keelson.role_group`, `k8s.namespace.name`, `k8s.pod.name` and
 * `k8s.container.name` (the file's container).
 */
import type { Container, EnvVar } from '../../imports/k8s-wire';
import { LOG_DIR, LOG_FIELDS } from './model';

/** The environment variables the agent's config refers to. */
export const LOG_AGENT_ENV = {
  /** The aggregator's OTLP/HTTP base URL (`http://host:4318`), from its discovery ConfigMap. */
  endpoint: 'KEELSON_LOG_AGGREGATOR',
  pod: 'POD_NAME',
  namespace: 'POD_NAMESPACE',
} as const;

/** The key of the OTLP/HTTP base URL in an aggregator's discovery ConfigMap. */
export const LOG_AGGREGATOR_DISCOVERY_KEY = 'OTLP_HTTP_ENDPOINT';

/** Where a record comes from. */
export interface LogAgentSource {
  readonly product: string;
  readonly stacklet: string;
  readonly role: string;
  readonly roleGroup: string;
  /** The product's container, whose file `<container>.json` the agent reads. */
  readonly container: string;
  /**
   * Other containers of the pod that write a structured file of their own (`<name>.json` in the
   * same folder), such as a second JVM beside the product; the agent ships them too, each record
   * naming its container.
   * @default - none
   */
  readonly sidecars?: readonly string[];
}

/** The Go layout of the shared time field: RFC 3339 in UTC with up to nanoseconds. */
const TIME_LAYOUT = '2006-01-02T15:04:05.999999999Z07:00';

/** The collector's reference to an environment variable of the agent's container. */
const envRef = (name: string) => `\${env:${name}}`;

/** The filelog receiver of one container's structured file. */
function fileReceiver(source: LogAgentSource, container: string, logDir: string): object {
  return {
    include: [`${logDir}/${container}.json`],
    // A new agent reads the file from its start; files rolled over are not read again.
    start_at: 'beginning',
    include_file_name: false,
    operators: [
      {
        type: 'json_parser',
        timestamp: {
          parse_from: `attributes.${LOG_FIELDS.time}`,
          layout_type: 'gotime',
          layout: TIME_LAYOUT,
        },
        severity: { parse_from: `attributes.${LOG_FIELDS.level}` },
      },
      { type: 'move', from: `attributes.${LOG_FIELDS.message}`, to: 'body' },
      { type: 'remove', field: `attributes.${LOG_FIELDS.time}` },
    ],
    resource: {
      'service.name': source.product,
      'keelson.product': source.product,
      'keelson.stacklet': source.stacklet,
      'keelson.role': source.role,
      'keelson.role_group': source.roleGroup,
      'k8s.namespace.name': envRef(LOG_AGENT_ENV.namespace),
      'k8s.pod.name': envRef(LOG_AGENT_ENV.pod),
      'k8s.container.name': container,
    },
  };
}

/**
 * The agent's (the collector's) configuration as a document, for a YAML file: one receiver per
 * container's file (`file_log` for the product's, `file_log/<sidecar>` for each sidecar's), since a
 * receiver's resource names one container.
 */
export function logAgentConfig(source: LogAgentSource, logDir: string = LOG_DIR): object {
  const receivers: Record<string, object> = { file_log: fileReceiver(source, source.container, logDir) };
  for (const sidecar of source.sidecars ?? [])
    receivers[`file_log/${sidecar}`] = fileReceiver(source, sidecar, logDir);
  return {
    receivers,
    exporters: {
      otlp_http: {
        endpoint: envRef(LOG_AGENT_ENV.endpoint),
        encoding: 'json',
      },
    },
    service: {
      // The agent's own log (stderr, JSON); it has no metrics or traces of its own.
      telemetry: { logs: { level: 'warn' } },
      pipelines: { logs: { receivers: Object.keys(receivers), exporters: ['otlp_http'] } },
    },
  };
}

/** The agent's version: the OpenTelemetry Collector release it is built from. */
export const LOG_AGENT_VERSION = '0.165.0';

/** Where keelson's agent image is published (built by `keelson image build log-agent`). */
export const LOG_AGENT_IMAGE_REPOSITORY = 'ghcr.io/keelson/log-agent';

/** The agent's image. */
export const LOG_AGENT_IMAGE = `${LOG_AGENT_IMAGE_REPOSITORY}:${LOG_AGENT_VERSION}`;

/** The agent's binary in its image. */
export const LOG_AGENT_BINARY = '/usr/local/bin/keelson-log-agent';

/** The agent's container in every pod of a stacklet that names an aggregator. */
export const LOG_AGENT_CONTAINER = 'log-agent';

/** The key of the agent's config in the role group's ConfigMap. */
export const LOG_AGENT_CONFIG_KEY = 'log-agent.yaml';

/** Where the agent's config is mounted. */
export const LOG_AGENT_CONFIG_DIR = '/keelson/log-agent';

/** The volume that brings the agent's config (one key of the role group's ConfigMap) into the pod. */
export const LOG_AGENT_CONFIG_VOLUME = 'log-agent-config';

/**
 * The agent's resources: it measured 37 MB resident shipping a busy ZooKeeper's file, so 128 MiB
 * (with the Go runtime's soft limit below it) leaves room for a burst of records waiting to be
 * sent; 50m CPU requested, 200m at most. `podOverrides` on the `log-agent` container change them.
 */
export const LOG_AGENT_RESOURCES = {
  requests: { cpu: '50m', memory: '128Mi' },
  limits: { cpu: '200m', memory: '128Mi' },
} as const;

/** The Go runtime's soft memory limit, below the container's limit so it collects before the kernel kills. */
const LOG_AGENT_GOMEMLIMIT = '100MiB';

/**
 * An aggregator's OTLP/HTTP base URL from its discovery ConfigMap, or a problem naming `path` (the
 * spec field that names the ConfigMap).
 */
export function logAggregatorEndpoint(
  path: string,
  configMap: string,
  data: Readonly<Record<string, string>> | undefined,
): { endpoint: string } | { problem: string } {
  const endpoint = data?.[LOG_AGGREGATOR_DISCOVERY_KEY];
  if (!endpoint) {
    return {
      problem:
        `${path}: the ConfigMap "${configMap}" has no ${LOG_AGGREGATOR_DISCOVERY_KEY}; ` +
        "add the aggregator's OTLP/HTTP base URL under that key (http://collector.monitoring.svc:4318)",
    };
  }
  if (!/^https?:\/\/[^\s/]+(\/\S*)?$/.test(endpoint)) {
    return {
      problem:
        `${path}: the ConfigMap "${configMap}" has ${LOG_AGGREGATOR_DISCOVERY_KEY} "${endpoint}", ` +
        'expected an http:// or https:// URL (http://collector.monitoring.svc:4318)',
    };
  }
  return { endpoint };
}

/**
 * The agent's container: it reads the log volume (mounted read-only at {@link LOG_DIR}) and its
 * config, and sends to `endpoint`. The framework adds the security context keelson gives every
 * container (read-only root, no capabilities, non-root); the agent writes nothing.
 */
export function logAgentContainer(options: {
  readonly endpoint: string;
  readonly logVolume: string;
  readonly pullPolicy: string;
}): Container {
  const env: EnvVar[] = [
    { name: LOG_AGENT_ENV.endpoint, value: options.endpoint },
    { name: LOG_AGENT_ENV.pod, valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: LOG_AGENT_ENV.namespace, valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    { name: 'GOMEMLIMIT', value: LOG_AGENT_GOMEMLIMIT },
  ];
  return {
    name: LOG_AGENT_CONTAINER,
    image: LOG_AGENT_IMAGE,
    imagePullPolicy: options.pullPolicy,
    command: [LOG_AGENT_BINARY],
    args: ['--config', `${LOG_AGENT_CONFIG_DIR}/${LOG_AGENT_CONFIG_KEY}`],
    env,
    resources: {
      requests: { ...LOG_AGENT_RESOURCES.requests },
      limits: { ...LOG_AGENT_RESOURCES.limits },
    },
    volumeMounts: [
      { name: LOG_AGENT_CONFIG_VOLUME, mountPath: LOG_AGENT_CONFIG_DIR, readOnly: true },
      { name: options.logVolume, mountPath: LOG_DIR, readOnly: true },
    ],
  };
}
