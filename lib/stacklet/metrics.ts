/**
 * Prometheus metrics, the same way for every product: each role that serves metrics declares a
 * port named `metrics` (`METRICS_PORT_NAME`); the framework gives the role a headless Service
 * `<stacklet>-<role>-metrics` carrying the `prometheus.io/*` annotations a plain Prometheus reads,
 * and `prometheusScrapeConfig()` is the scrape job that reads them. JVM products that have no
 * Prometheus endpoint of their own serve one through the Prometheus JMX exporter java agent, which
 * keelson's images carry at `JMX_EXPORTER_AGENT` (see `jmxExporterLayer` in lib/image).
 */

/** The label (also an annotation) that marks a Service whose endpoints Prometheus scrapes. */
export const PROMETHEUS_SCRAPE_ANNOTATION = 'prometheus.io/scrape';

/** Where a metrics port serves Prometheus text, and how. */
export interface ScrapeEndpoint {
  readonly port: number;
  /** @default '/metrics' */
  readonly path?: string;
  /** @default 'http' */
  readonly scheme?: 'http' | 'https';
}

/**
 * The annotations of a metrics Service: `prometheus.io/scrape`, `/port`, `/path` and `/scheme`,
 * the convention Prometheus' own example Kubernetes configuration and most charts read.
 */
export function scrapeAnnotations(endpoint: ScrapeEndpoint): Record<string, string> {
  return {
    [PROMETHEUS_SCRAPE_ANNOTATION]: 'true',
    'prometheus.io/port': String(endpoint.port),
    'prometheus.io/path': endpoint.path ?? '/metrics',
    'prometheus.io/scheme': endpoint.scheme ?? 'http',
  };
}

/** Maven coordinates of the Prometheus JMX exporter java agent keelson's JVM images carry. */
export const JMX_EXPORTER_COORDINATES = 'io.prometheus.jmx:jmx_prometheus_javaagent:1.0.1';

/** Where keelson's JVM images hold the Prometheus JMX exporter java agent. */
export const JMX_EXPORTER_AGENT = '/opt/jmx-exporter/jmx_prometheus_javaagent.jar';

/**
 * The JVM argument that loads the JMX exporter agent, serving `/metrics` on `port` (all addresses)
 * with the rules of `configFile`. The agent reads MBeans in the JVM itself: no remote JMX port.
 */
export function jmxExporterAgentArgument(port: number, configFile: string): string {
  return `-javaagent:${JMX_EXPORTER_AGENT}=${port}:${configFile}`;
}

/**
 * The Prometheus scrape job that finds every keelson metrics Service through Kubernetes service
 * discovery (`kubernetes_sd_configs`, role `endpointslice`) and scrapes each endpoint (each pod)
 * as its annotations say. Targets carry `namespace`, `pod`, `service` and the pod's
 * `app.kubernetes.io/{name,instance,component,role-group}` labels as `product`, `stacklet`,
 * `role` and `role_group`. Add `kubernetes_sd_configs[0].namespaces` or `api_server` as your
 * Prometheus needs.
 */
export function prometheusScrapeConfig(jobName = 'keelson'): Record<string, unknown> {
  const annotation = (name: string) => `__meta_kubernetes_service_annotation_prometheus_io_${name}`;
  const podLabel = (name: string) => `__meta_kubernetes_pod_label_app_kubernetes_io_${name}`;
  return {
    job_name: jobName,
    kubernetes_sd_configs: [{ role: 'endpointslice' }],
    relabel_configs: [
      { source_labels: [annotation('scrape')], regex: 'true', action: 'keep' },
      {
        source_labels: ['__meta_kubernetes_service_label_app_kubernetes_io_managed_by'],
        regex: 'keelson',
        action: 'keep',
      },
      { source_labels: [annotation('scheme')], regex: '(https?)', target_label: '__scheme__' },
      { source_labels: [annotation('path')], regex: '(.+)', target_label: '__metrics_path__' },
      {
        source_labels: ['__address__', annotation('port')],
        regex: '([^:]+)(?::\\d+)?;(\\d+)',
        replacement: '$1:$2',
        target_label: '__address__',
      },
      { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
      { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
      { source_labels: ['__meta_kubernetes_service_name'], target_label: 'service' },
      { source_labels: [podLabel('name')], target_label: 'product' },
      { source_labels: [podLabel('instance')], target_label: 'stacklet' },
      { source_labels: [podLabel('component')], target_label: 'role' },
      { source_labels: [podLabel('role_group')], target_label: 'role_group' },
    ],
  };
}
