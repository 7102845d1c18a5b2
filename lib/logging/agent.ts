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
}

/** The Go layout of the shared time field: RFC 3339 in UTC with up to nanoseconds. */
const TIME_LAYOUT = '2006-01-02T15:04:05.999999999Z07:00';

/** The agent's (the collector's) configuration as a document, for a YAML file. */
export function logAgentConfig(source: LogAgentSource, logDir: string = LOG_DIR): object {
  const env = (name: string) => `\${env:${name}}`;
  return {
    receivers: {
      file_log: {
        include: [`${logDir}/${source.container}.json`],
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
          'k8s.namespace.name': env(LOG_AGENT_ENV.namespace),
          'k8s.pod.name': env(LOG_AGENT_ENV.pod),
          'k8s.container.name': source.container,
        },
      },
    },
    exporters: {
      otlp_http: {
        endpoint: env(LOG_AGENT_ENV.endpoint),
        encoding: 'json',
      },
    },
    service: {
      telemetry: { logs: { level: 'warn' }, metrics: { level: 'none' } },
      pipelines: { logs: { receivers: ['file_log'], exporters: ['otlp_http'] } },
    },
  };
}
