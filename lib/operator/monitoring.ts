/**
 * The operator's own monitoring, the way every product gets it (`stacklet/monitoring.ts`): a
 * metrics Service with the `prometheus.io/*` annotations keelson's scrape job reads, and, when
 * `OperatorDeploymentProps.monitoring` asks for them, a PrometheusRule, a ServiceMonitor and a
 * Grafana dashboard ConfigMap, built from the names `OperatorMetrics` serves (`metrics.ts`).
 *
 * The scrape job and the ServiceMonitor label the operator's series like a stacklet's: `product`
 * is `keelson-operator` (the pods' `app.kubernetes.io/name`) and `stacklet` the deployment's name
 * (`app.kubernetes.io/instance`), so the rules and panels select one operator deployment by
 * `namespace`, `product` and `stacklet`.
 */
import type { ConfigMap } from '../../imports/k8s-wire';
import type { PrometheusRule, ServiceMonitor } from '../../imports/prometheus-operator';
import { configHash } from '../hash';
import type { MonitoringSpec } from '../spec/spec.generated';
import { LABEL_INSTANCE, LABEL_MANAGED_BY, LABEL_NAME } from '../stacklet/labels';
import { PROMETHEUS_SCRAPE_ANNOTATION, scrapeAnnotations } from '../stacklet/metrics';
import {
  GRAFANA_DASHBOARD_LABEL,
  GRAFANA_DASHBOARD_LABEL_VALUE,
  keelsonTargetLabels,
  MONITORING_API_VERSION,
  renderDashboard,
  renderRuleGroups,
  type DashboardPanel,
  type RuleGroup,
} from '../stacklet/monitoring';

/** The operator pods' `app.kubernetes.io/name`, and so the `product` label of their series. */
export const OPERATOR_PRODUCT_NAME = 'keelson-operator';

/** The port the operator serves `/metrics`, `/healthz` and `/readyz` on in its deployment. */
export const OPERATOR_METRICS_PORT = 8080;

/** Every metric name the operator's rules and dashboard read (besides Prometheus' own `up`). */
export const OPERATOR_METRIC_NAMES = [
  'keelson_leader',
  'keelson_reconciles_total',
  'keelson_reconcile_duration_seconds_bucket',
  'keelson_workqueue_depth',
  'keelson_api_requests_total',
  'keelson_objects_applied_total',
  'keelson_watch_restarts_total',
  'keelson_process_resident_memory_bytes',
  'keelson_nodejs_heap_size_used_bytes',
  'keelson_process_cpu_seconds_total',
] as const;

/** The PromQL label matchers that select one operator deployment's series. */
export function operatorSelector(namespace: string, name: string): string {
  return `namespace="${namespace}", product="${OPERATOR_PRODUCT_NAME}", stacklet="${name}"`;
}

/** What someone running the operator watches: that it runs and leads, and that reconciles succeed. */
export function operatorRuleGroups(sel: string): RuleGroup[] {
  return [
    {
      name: 'operator',
      rules: [
        {
          record: 'kind_result:keelson_reconciles:rate5m',
          expr: `sum by (kind, result) (rate(keelson_reconciles_total{${sel}}[5m]))`,
        },
        {
          record: 'kind:keelson_reconcile_duration_seconds:p99',
          expr: `histogram_quantile(0.99, sum by (kind, le) (rate(keelson_reconcile_duration_seconds_bucket{${sel}}[5m])))`,
        },
        {
          alert: 'KeelsonOperatorDown',
          expr: `(sum(up{${sel}}) or vector(0)) == 0`,
          for: '5m',
          severity: 'critical',
          summary: 'No keelson operator replica has answered Prometheus for 5 minutes.',
          description:
            'Nothing reconciles the stacklets: spec changes are not applied, status is not written, and ' +
            "certificates are not renewed or restarted for. Look at the operator's Deployment, its pods' events and logs.",
        },
        {
          alert: 'KeelsonOperatorNoLeader',
          expr: `sum(up{${sel}}) > 0 and (max(keelson_leader{${sel}}) or vector(0)) == 0`,
          for: '5m',
          severity: 'critical',
          summary: 'keelson operator replicas run, but none holds the leader lease.',
          description:
            'Only the leader reconciles. Replicas that cannot take the Lease (coordination.k8s.io) are denied ' +
            "by RBAC or cannot reach the API server: the replicas' logs say which.",
        },
        {
          alert: 'KeelsonReconcileErrors',
          expr: `sum by (kind) (rate(keelson_reconciles_total{${sel}, result="error"}[10m])) > 0`,
          for: '15m',
          severity: 'warning',
          summary: 'Reconciles of {{ $labels.kind }} have failed for 15 minutes.',
          description:
            "The operator retries with backoff, but what it wants is not applied. The failing stacklets' status " +
            'conditions and Warning Events carry the error; the operator log has each failure.',
        },
        {
          alert: 'KeelsonWorkQueueNotDraining',
          expr: `max(min_over_time(keelson_workqueue_depth{${sel}}[15m])) > 0`,
          severity: 'warning',
          summary: "The operator's work queue has not been empty for 15 minutes ({{ $value }} waiting now).",
          description:
            'Stacklets wait longer and longer for their reconcile: the workers are too few (--workers) or too ' +
            'slow (see the reconcile duration and API request panels), or the process is starved of CPU.',
        },
        {
          alert: 'KeelsonWatchRestarting',
          expr: `sum by (resource) (increase(keelson_watch_restarts_total{${sel}, reason=~"error|silent"}[15m])) > 3`,
          severity: 'warning',
          summary: 'The watch of {{ $labels.resource }} failed {{ $value }} times in 15 minutes.',
          description:
            'Each failed watch is relisted; while it fails the operator reacts late to changes. The API ' +
            'server is overloaded or restarting, or the network to it drops connections.',
        },
      ],
    },
  ];
}

/** The operator's dashboard panels. */
export function operatorDashboardPanels(sel: string): DashboardPanel[] {
  return [
    {
      title: 'Replicas scraped, and the leader',
      description: 'Each replica answering Prometheus (up), and the one holding the leader lease (leader).',
      queries: [
        { expr: `up{${sel}}`, legend: 'up {{pod}}' },
        { expr: `keelson_leader{${sel}}`, legend: 'leader {{pod}}' },
      ],
    },
    {
      title: 'Reconciles',
      description:
        'Reconciles per second by kind and result (success, waiting, invalid, paused, gone, error).',
      unit: 'ops',
      queries: [
        {
          expr: `sum by (kind, result) (rate(keelson_reconciles_total{${sel}}[5m]))`,
          legend: '{{kind}} {{result}}',
        },
      ],
    },
    {
      title: 'Reconcile duration',
      description: 'How long one reconcile takes, by kind: the median and the 99th percentile.',
      unit: 's',
      queries: [
        {
          expr: `histogram_quantile(0.5, sum by (kind, le) (rate(keelson_reconcile_duration_seconds_bucket{${sel}}[5m])))`,
          legend: 'p50 {{kind}}',
        },
        {
          expr: `histogram_quantile(0.99, sum by (kind, le) (rate(keelson_reconcile_duration_seconds_bucket{${sel}}[5m])))`,
          legend: 'p99 {{kind}}',
        },
      ],
    },
    {
      title: 'Work queue',
      description: 'Stacklets waiting for a worker (not those waiting out a retry or a dependency).',
      queries: [{ expr: `keelson_workqueue_depth{${sel}}`, legend: '{{pod}}' }],
    },
    {
      title: 'API requests',
      description:
        'Requests to the Kubernetes API per second by verb and HTTP status; a steady state writes nothing.',
      unit: 'reqps',
      queries: [
        {
          expr: `sum by (verb, code) (rate(keelson_api_requests_total{${sel}}[5m]))`,
          legend: '{{verb}} {{code}}',
        },
      ],
    },
    {
      title: 'Objects applied',
      description:
        'Child objects sent to the API server (applied) or found unchanged in the cache (skipped).',
      unit: 'ops',
      queries: [
        {
          expr: `sum by (action) (rate(keelson_objects_applied_total{${sel}}[5m]))`,
          legend: '{{action}}',
        },
      ],
    },
    {
      title: 'Watch restarts',
      description:
        'Watches restarted in the last hour, by resource and reason; expired ones are routine, errors are not.',
      queries: [
        {
          expr: `sum by (resource, reason) (increase(keelson_watch_restarts_total{${sel}}[1h]))`,
          legend: '{{resource}} {{reason}}',
        },
      ],
    },
    {
      title: 'Memory',
      description:
        "Each replica's resident memory and V8 heap in use (the container's limit is memoryLimitMiB).",
      unit: 'bytes',
      queries: [
        { expr: `keelson_process_resident_memory_bytes{${sel}}`, legend: 'resident {{pod}}' },
        { expr: `keelson_nodejs_heap_size_used_bytes{${sel}}`, legend: 'heap {{pod}}' },
      ],
    },
    {
      title: 'CPU',
      description: 'CPU seconds per second each replica uses.',
      queries: [{ expr: `rate(keelson_process_cpu_seconds_total{${sel}}[5m])`, legend: '{{pod}}' }],
    },
  ];
}

/** The name of the operator's metrics Service. */
export function operatorMetricsServiceName(name: string): string {
  return `${name}-metrics`;
}

/**
 * The operator's metrics Service: headless, every replica (the standby is not Ready, and is
 * scraped too), carrying the label and annotations keelson's scrape job keeps.
 */
export function operatorMetricsService(
  namespace: string,
  name: string,
  labels: Readonly<Record<string, string>>,
): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: operatorMetricsServiceName(name),
      namespace,
      // keelson's scrape job keeps only Services keelson manages.
      labels: { ...labels, [LABEL_MANAGED_BY]: 'keelson', [PROMETHEUS_SCRAPE_ANNOTATION]: 'true' },
      annotations: scrapeAnnotations({ port: OPERATOR_METRICS_PORT }),
    },
    spec: {
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      selector: {
        [LABEL_NAME]: labels[LABEL_NAME],
        [LABEL_INSTANCE]: labels[LABEL_INSTANCE],
      },
      ports: [{ name: 'metrics', port: OPERATOR_METRICS_PORT, targetPort: 'metrics', protocol: 'TCP' }],
    },
  };
}

/** The problem with `monitoring`, naming the field, or none. */
export function operatorMonitoringProblems(monitoring: MonitoringSpec | undefined): string[] {
  const m = monitoring ?? {};
  const enabled = m.prometheusRules || m.serviceMonitors || m.grafanaDashboards;
  return m.labels && Object.keys(m.labels).length > 0 && !enabled
    ? [
        'monitoring.labels: labels go on the monitoring objects, but none of them is enabled; set ' +
          'prometheusRules, serviceMonitors or grafanaDashboards to true, or remove labels',
      ]
    : [];
}

/** The PrometheusRule, ServiceMonitor and dashboard ConfigMap `monitoring` asks for. */
export function operatorMonitoringManifests(
  namespace: string,
  name: string,
  labels: Readonly<Record<string, string>>,
  monitoring: MonitoringSpec | undefined,
): (PrometheusRule | ServiceMonitor | ConfigMap)[] {
  const m = monitoring ?? {};
  const objectLabels = { ...(m.labels ?? {}), ...labels };
  const sel = operatorSelector(namespace, name);
  const out: (PrometheusRule | ServiceMonitor | ConfigMap)[] = [];
  if (m.serviceMonitors) {
    out.push({
      apiVersion: MONITORING_API_VERSION,
      kind: 'ServiceMonitor',
      metadata: { name, namespace, labels: objectLabels },
      spec: {
        selector: {
          matchLabels: {
            [LABEL_NAME]: labels[LABEL_NAME],
            [LABEL_INSTANCE]: labels[LABEL_INSTANCE],
            [PROMETHEUS_SCRAPE_ANNOTATION]: 'true',
          },
        },
        endpoints: [
          { port: 'metrics', path: '/metrics', scheme: 'http', relabelings: keelsonTargetLabels() },
        ],
      },
    } as ServiceMonitor);
  }
  if (m.prometheusRules) {
    out.push({
      apiVersion: MONITORING_API_VERSION,
      kind: 'PrometheusRule',
      metadata: { name, namespace, labels: objectLabels },
      spec: {
        groups: renderRuleGroups(
          `${OPERATOR_PRODUCT_NAME}.${namespace}.${name}`,
          { namespace, product: OPERATOR_PRODUCT_NAME, stacklet: name },
          operatorRuleGroups(sel),
        ),
      },
    } as PrometheusRule);
  }
  if (m.grafanaDashboards) {
    const dashboard = renderDashboard(
      {
        uid: `keelson-${configHash(`${namespace}/${name}/${OPERATOR_PRODUCT_NAME}`).slice(0, 16)}`,
        title: `keelson operator ${namespace}/${name}`,
        tags: ['keelson', OPERATOR_PRODUCT_NAME],
      },
      operatorDashboardPanels(sel),
    );
    out.push({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: `${name}-dashboard`,
        namespace,
        labels: { ...objectLabels, [GRAFANA_DASHBOARD_LABEL]: GRAFANA_DASHBOARD_LABEL_VALUE },
      },
      data: { [`${namespace}-${name}.json`]: JSON.stringify(dashboard, null, 2) },
    });
  }
  return out;
}
