/**
 * What an operator of OPA watches, from what OPA's own Prometheus endpoint serves on its
 * diagnostic port: the duration histogram of its REST API's requests (by handler and status code;
 * `v1/data` is every decision a product asks for) and the Go runtime's memory and goroutines.
 */
import type { ProductMonitoring } from '../../lib';

/** The metric names OPA's rules and dashboard read. */
export const OPA_METRIC_NAMES = [
  'http_request_duration_seconds_count',
  'http_request_duration_seconds_bucket',
  'go_memstats_heap_alloc_bytes',
  'go_goroutines',
] as const;

/** The decisions products ask for: the Data API's handler. */
const DECISIONS = 'handler="v1/data"';

export const OPA_MONITORING: ProductMonitoring = {
  metricNames: OPA_METRIC_NAMES,
  rules: (_stacklet, sel) => [
    {
      name: 'decisions',
      rules: [
        {
          record: 'stacklet:opa_decisions:rate5m',
          expr: `sum(rate(http_request_duration_seconds_count{${sel}, ${DECISIONS}}[5m]))`,
        },
        {
          alert: 'OpaDecisionErrors',
          expr:
            `sum(rate(http_request_duration_seconds_count{${sel}, ${DECISIONS}, code=~"5.."}[5m])) / ` +
            `sum(rate(http_request_duration_seconds_count{${sel}, ${DECISIONS}}[5m])) > 0.05`,
          for: '5m',
          severity: 'warning',
          summary: '{{ $value | humanizePercentage }} of the decisions OPA was asked for failed.',
          description:
            'A policy fails to evaluate (a conflict between rules, a builtin error): the products asking deny ' +
            "or fail. OPA's log (the structured file and its console) names the error and the policy.",
        },
      ],
    },
  ],
  dashboard: (_stacklet, sel) => [
    {
      title: 'Decisions',
      description: 'Decisions asked for per second, by HTTP status.',
      queries: [
        {
          expr: `sum by (code) (rate(http_request_duration_seconds_count{${sel}, ${DECISIONS}}[5m]))`,
          legend: '{{code}}',
        },
      ],
    },
    {
      title: 'Decision latency',
      description: 'How long a decision takes, 50th and 99th percentile.',
      unit: 's',
      queries: [0.5, 0.99].map((q) => ({
        expr: `histogram_quantile(${q}, sum by (le) (rate(http_request_duration_seconds_bucket{${sel}, ${DECISIONS}}[5m])))`,
        legend: `p${q * 100}`,
      })),
    },
    {
      title: 'Requests by handler',
      description: 'Every request of the REST API per second, by handler (health checks included).',
      queries: [
        {
          expr: `sum by (handler) (rate(http_request_duration_seconds_count{${sel}}[5m]))`,
          legend: '{{handler}}',
        },
      ],
    },
    {
      title: 'Heap and goroutines',
      description: 'Go heap in use and goroutines per pod.',
      queries: [
        { expr: `go_memstats_heap_alloc_bytes{${sel}}`, legend: 'heap {{pod}}' },
        { expr: `go_goroutines{${sel}}`, legend: 'goroutines {{pod}}' },
      ],
    },
  ],
};
