/**
 * Monitoring objects, the same way for every product, when `clusterConfig.monitoring` asks for
 * them: a PrometheusRule with the product's recording and alerting rules, a ServiceMonitor selecting
 * every role's metrics Service, and a ConfigMap with the product's Grafana dashboard. The product
 * supplies only its content (`ProductDefinition.monitoring`: its metric names, rules and panels);
 * the framework scopes every query to the stacklet, names and labels the objects, and adds what
 * every product shares (a scrape target that is down).
 *
 * Every query selects the stacklet by the `namespace` and `stacklet` target labels, which both
 * keelson's plain scrape job (`prometheusScrapeConfig()`) and its ServiceMonitor give each target,
 * so the rules and dashboards work with either.
 */
import type { ConfigMap } from '../../imports/k8s-wire';
import type { PrometheusRule, ServiceMonitor } from '../../imports/prometheus-operator';
import { configHash } from '../hash';
import type { CommonClusterConfigSpec } from '../spec/stacklet-spec';
import { LABEL_INSTANCE, LABEL_NAME, objectLabels, type LabelInput } from './labels';
import { PROMETHEUS_SCRAPE_ANNOTATION } from './metrics';
import { METRICS_PORT_NAME, type RoleDefinition, type StackletContext } from './product';

/** prometheus-operator's API group and version. */
export const MONITORING_API_VERSION = 'monitoring.coreos.com/v1';

/** The label Grafana's dashboard sidecar looks for by default, and its value. */
export const GRAFANA_DASHBOARD_LABEL = 'grafana_dashboard';
export const GRAFANA_DASHBOARD_LABEL_VALUE = '1';

/** A recording rule: `record` is its result's name (`level:metric:operations`). */
export interface RecordingRule {
  readonly record: string;
  readonly expr: string;
}

/** An alerting rule. */
export interface AlertingRule {
  readonly alert: string;
  readonly expr: string;
  /** How long `expr` must hold before the alert fires. @default - at once */
  readonly for?: string;
  readonly severity: 'critical' | 'warning';
  /** One line saying what is wrong; may use `{{ $value }}`. */
  readonly summary: string;
  /** What it means and what to look at. */
  readonly description: string;
}

/** A group of rules, evaluated together. */
export interface RuleGroup {
  /** Unique within the stacklet; the framework prefixes the product and stacklet. */
  readonly name: string;
  readonly rules: readonly (RecordingRule | AlertingRule)[];
}

/** One dashboard panel: a time series of one or more queries. */
export interface DashboardPanel {
  readonly title: string;
  readonly description: string;
  /** Grafana's unit id (`short`, `bytes`, `Bps`, `ops`, `s`, `percentunit`). @default 'short' */
  readonly unit?: string;
  readonly queries: readonly { readonly expr: string; readonly legend: string }[];
}

/** What a product adds to the shared monitoring: built only from the metric names it serves. */
export interface ProductMonitoring {
  /**
   * Every metric name the product's rules and dashboard read (besides Prometheus' own `up`): one
   * list, which a unit test holds each query to and the real-node tests find in the scrape.
   */
  readonly metricNames: readonly string[];
  /** Rule groups; `sel` selects the stacklet's series (`namespace="…", stacklet="…"`). */
  rules(stacklet: StackletContext, sel: string): readonly RuleGroup[];
  /** Dashboard panels, after the shared ones; `sel` as for `rules`. */
  dashboard(stacklet: StackletContext, sel: string): readonly DashboardPanel[];
}

/** The monitoring settings with their defaults. */
export interface ResolvedMonitoring {
  readonly prometheusRules: boolean;
  readonly serviceMonitors: boolean;
  readonly grafanaDashboards: boolean;
  readonly labels: Readonly<Record<string, string>>;
}

export function resolveMonitoring(clusterConfig: CommonClusterConfigSpec | undefined): ResolvedMonitoring {
  const m = clusterConfig?.monitoring;
  return {
    prometheusRules: m?.prometheusRules ?? false,
    serviceMonitors: m?.serviceMonitors ?? false,
    grafanaDashboards: m?.grafanaDashboards ?? false,
    labels: { ...(m?.labels ?? {}) },
  };
}

/** The PromQL label matchers that select one stacklet's series. */
export function stackletSelector(stacklet: Pick<StackletContext, 'name' | 'namespace'>): string {
  return `namespace="${stacklet.namespace ?? ''}", stacklet="${stacklet.name}"`;
}

/**
 * The pods the spec runs in `role` (0 while the stacklet is stopped): what a rule compares a
 * product's own count of live members with, so that a scale-down, which the product may count as
 * dead members, raises no alert.
 */
export function runningReplicas(
  stacklet: Pick<StackletContext, 'spec' | 'roleGroups'>,
  role: string,
): number {
  if (stacklet.spec.clusterOperation?.stopped) return 0;
  return stacklet.roleGroups.filter((g) => g.role === role).reduce((n, g) => n + g.replicas, 0);
}

/** The rules every product gets: its scrape targets. */
function sharedRules(product: string, sel: string): RuleGroup {
  return {
    name: 'targets',
    rules: [
      { record: 'stacklet:up:sum', expr: `sum(up{${sel}})` },
      {
        alert: 'KeelsonMetricsTargetDown',
        expr: `up{${sel}} == 0`,
        for: '5m',
        severity: 'warning',
        summary: `The ${product} pod {{ $labels.pod }} has not answered Prometheus' scrapes for 5 minutes.`,
        description:
          'Prometheus cannot read the metrics port of this pod: the pod is down, not ready, or its ' +
          "metrics endpoint stopped answering. The other alerts of the stacklet cannot see this pod's state.",
      },
    ],
  };
}

/** The panels every product's dashboard starts with. */
function sharedPanels(sel: string): DashboardPanel[] {
  return [
    {
      title: 'Pods scraped',
      description: 'Each pod answering Prometheus (1) or not (0).',
      queries: [{ expr: `up{${sel}}`, legend: '{{pod}}' }],
    },
  ];
}

/** Everything a rule or panel query of a product may read: its names, `up` and its own records. */
export function monitoringRuleNames(groups: readonly RuleGroup[]): string[] {
  return groups.flatMap((g) => g.rules.flatMap((r) => ('record' in r ? [r.record] : [])));
}

/** The rule groups of a stacklet: the shared ones, then the product's. */
export function stackletRuleGroups(
  productName: string,
  monitoring: ProductMonitoring | undefined,
  stacklet: StackletContext,
): RuleGroup[] {
  const sel = stackletSelector(stacklet);
  return [sharedRules(productName, sel), ...(monitoring?.rules(stacklet, sel) ?? [])];
}

/** The dashboard panels of a stacklet: the shared ones, then the product's. */
export function stackletDashboardPanels(
  monitoring: ProductMonitoring | undefined,
  stacklet: StackletContext,
): DashboardPanel[] {
  const sel = stackletSelector(stacklet);
  return [...sharedPanels(sel), ...(monitoring?.dashboard(stacklet, sel) ?? [])];
}

/** The `groups` of a Prometheus rule file (and of a PrometheusRule's spec). */
export function prometheusRuleGroups(
  productName: string,
  monitoring: ProductMonitoring | undefined,
  stacklet: StackletContext,
): { name: string; rules: Record<string, unknown>[] }[] {
  return renderRuleGroups(
    `${productName}.${stacklet.namespace}.${stacklet.name}`,
    { namespace: stacklet.namespace ?? '', stacklet: stacklet.name, product: productName },
    stackletRuleGroups(productName, monitoring, stacklet),
  );
}

/**
 * Rule groups as a Prometheus rule file (and a PrometheusRule's spec) holds them: each group named
 * `<prefix>.<name>`, and `labels` on every rule. Aggregations drop the target labels; every result
 * carries them again, so alerts route and records join by them.
 */
export function renderRuleGroups(
  prefix: string,
  labels: Readonly<Record<string, string>>,
  groups: readonly RuleGroup[],
): { name: string; rules: Record<string, unknown>[] }[] {
  return groups.map((group) => ({
    name: `${prefix}.${group.name}`,
    rules: group.rules.map((r) =>
      'record' in r
        ? { record: r.record, expr: r.expr, labels: { ...labels } }
        : {
            alert: r.alert,
            expr: r.expr,
            ...(r.for ? { for: r.for } : {}),
            labels: { ...labels, severity: r.severity },
            annotations: { summary: r.summary, description: r.description },
          },
    ),
  }));
}

/** Grafana's dashboard JSON model for a stacklet: one time series panel per `DashboardPanel`. */
export function grafanaDashboard(
  productName: string,
  monitoring: ProductMonitoring | undefined,
  stacklet: StackletContext,
): Record<string, unknown> {
  return renderDashboard(
    {
      // Grafana's uids are at most 40 characters: a hash of namespace and name keeps them unique.
      uid: `keelson-${configHash(`${stacklet.namespace}/${stacklet.name}/${productName}`).slice(0, 16)}`,
      title: `${productName} ${stacklet.namespace}/${stacklet.name}`,
      tags: ['keelson', productName],
    },
    stackletDashboardPanels(monitoring, stacklet),
  );
}

/**
 * Grafana's dashboard JSON model: one time series panel per `DashboardPanel`, two to a row, each
 * reading the Prometheus data source the dashboard's `datasource` variable picks.
 */
export function renderDashboard(
  identity: { readonly uid: string; readonly title: string; readonly tags: readonly string[] },
  dashboardPanels: readonly DashboardPanel[],
): Record<string, unknown> {
  const datasource = { type: 'prometheus', uid: '${datasource}' };
  const panels = dashboardPanels.map((panel, i) => ({
    id: i + 1,
    type: 'timeseries',
    title: panel.title,
    description: panel.description,
    datasource,
    gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
    fieldConfig: { defaults: { unit: panel.unit ?? 'short' }, overrides: [] },
    targets: panel.queries.map((q, j) => ({
      refId: String.fromCharCode(65 + j),
      datasource,
      expr: q.expr,
      legendFormat: q.legend,
    })),
  }));
  return {
    uid: identity.uid,
    title: identity.title,
    tags: [...identity.tags],
    editable: true,
    schemaVersion: 39,
    time: { from: 'now-1h', to: 'now' },
    refresh: '30s',
    templating: {
      list: [{ name: 'datasource', label: 'Prometheus', type: 'datasource', query: 'prometheus' }],
    },
    panels,
  };
}

/** The ServiceMonitor's endpoint relabelings: the target labels keelson's plain scrape job gives. */
export function keelsonTargetLabels(): NonNullable<
  ServiceMonitor['spec']['endpoints']
>[number]['relabelings'] {
  const podLabel = (name: string) => `__meta_kubernetes_pod_label_app_kubernetes_io_${name}`;
  // `action` written out: the CRD defaults it, and the operator compares what it wants with what is stored.
  return [
    { action: 'replace', sourceLabels: [podLabel('name')], targetLabel: 'product' },
    { action: 'replace', sourceLabels: [podLabel('instance')], targetLabel: 'stacklet' },
    { action: 'replace', sourceLabels: [podLabel('component')], targetLabel: 'role' },
    { action: 'replace', sourceLabels: [podLabel('role_group')], targetLabel: 'role_group' },
  ];
}

/** The name of a stacklet's PrometheusRule and ServiceMonitor. */
export function monitoringObjectName(stacklet: Pick<StackletContext, 'name'>): string {
  return stacklet.name;
}

/** The name of a stacklet's dashboard ConfigMap. */
export function dashboardConfigMapName(stacklet: Pick<StackletContext, 'name'>): string {
  return `${stacklet.name}-dashboard`;
}

/**
 * The monitoring objects the stacklet's `clusterConfig.monitoring` asks for. `roles` are the
 * running roles; only those with a metrics port are scraped.
 */
export function monitoringManifests(
  product: { readonly name: string; readonly monitoring?: ProductMonitoring },
  stacklet: StackletContext,
  roles: readonly RoleDefinition[],
  labelInput: LabelInput,
): (PrometheusRule | ServiceMonitor | ConfigMap)[] {
  const settings = resolveMonitoring(stacklet.spec.clusterConfig as CommonClusterConfigSpec | undefined);
  if (!roles.some((r) => r.ports.some((p) => p.name === METRICS_PORT_NAME))) return [];
  const labels = { ...settings.labels, ...objectLabels(labelInput) };
  const out: (PrometheusRule | ServiceMonitor | ConfigMap)[] = [];
  if (settings.serviceMonitors) {
    out.push({
      apiVersion: MONITORING_API_VERSION,
      kind: 'ServiceMonitor',
      metadata: { name: monitoringObjectName(stacklet), labels },
      spec: {
        // The metrics Services of every role (the client Services carry the same labels, not this one).
        selector: {
          matchLabels: {
            [LABEL_NAME]: product.name,
            [LABEL_INSTANCE]: stacklet.name,
            [PROMETHEUS_SCRAPE_ANNOTATION]: 'true',
          },
        },
        endpoints: [
          {
            port: METRICS_PORT_NAME,
            path: '/metrics',
            scheme: 'http',
            relabelings: keelsonTargetLabels(),
          },
        ],
      },
    } as ServiceMonitor);
  }
  if (settings.prometheusRules) {
    out.push({
      apiVersion: MONITORING_API_VERSION,
      kind: 'PrometheusRule',
      metadata: { name: monitoringObjectName(stacklet), labels },
      spec: { groups: prometheusRuleGroups(product.name, product.monitoring, stacklet) },
    } as PrometheusRule);
  }
  if (settings.grafanaDashboards) {
    out.push({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: dashboardConfigMapName(stacklet),
        labels: { ...labels, [GRAFANA_DASHBOARD_LABEL]: GRAFANA_DASHBOARD_LABEL_VALUE },
      },
      data: {
        [`${stacklet.namespace}-${stacklet.name}.json`]: JSON.stringify(
          grafanaDashboard(product.name, product.monitoring, stacklet),
          null,
          2,
        ),
      },
    });
  }
  return out;
}
