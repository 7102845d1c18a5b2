/**
 * What an operator of a Trino cluster watches, from the names keelson's JMX exporter rules give
 * Trino's MBeans (constructs/trino/README.md says how they are named).
 */
import type { ProductMonitoring } from '../../lib';

/** The metric names Trino's rules and dashboard read. */
export const TRINO_METRIC_NAMES = [
  'trino_execution_querymanager_completedqueries_total',
  'trino_execution_querymanager_failedqueries_total',
  'trino_execution_querymanager_runningqueries',
  'trino_execution_querymanager_queuedqueries',
  'trino_failuredetector_heartbeatfailuredetector_activecount',
  'trino_failuredetector_heartbeatfailuredetector_failedcount',
  'trino_memory_clustermemorymanager_clustermemorybytes',
  'trino_memory_clustermemorypool_blockednodes',
  'jvm_memory_used_bytes',
] as const;

export const TRINO_MONITORING: ProductMonitoring = {
  metricNames: TRINO_METRIC_NAMES,
  rules: (_stacklet, sel) => [
    {
      name: 'queries',
      rules: [
        {
          record: 'stacklet:trino_completed_queries:rate5m',
          expr: `sum(rate(trino_execution_querymanager_completedqueries_total{${sel}}[5m]))`,
        },
        {
          record: 'stacklet:trino_failed_queries:rate5m',
          expr: `sum(rate(trino_execution_querymanager_failedqueries_total{${sel}}[5m]))`,
        },
        {
          record: 'stacklet:trino_active_nodes:max',
          expr: `max(trino_failuredetector_heartbeatfailuredetector_activecount{${sel}})`,
        },
        // Completed queries count the failed ones too.
        {
          alert: 'TrinoQueriesFailing',
          expr:
            `sum(rate(trino_execution_querymanager_failedqueries_total{${sel}}[10m])) / ` +
            `sum(rate(trino_execution_querymanager_completedqueries_total{${sel}}[10m])) > 0.25`,
          for: '10m',
          severity: 'warning',
          summary: '{{ $value | humanizePercentage }} of the queries of the last 10 minutes failed.',
          description:
            "Many queries end in failure: a catalog's source is unreachable, workers run out of memory, or users " +
            "send queries that cannot run. The coordinator's log and system.runtime.queries name the errors.",
        },
        {
          alert: 'TrinoNodesFailed',
          expr: `max(trino_failuredetector_heartbeatfailuredetector_failedcount{${sel}}) > 0`,
          for: '5m',
          severity: 'warning',
          summary: "The coordinator's failure detector counts {{ $value }} nodes that do not answer.",
          description:
            'Workers that stopped answering heartbeats get no new work; queries running on them fail. Look at ' +
            'the workers that are down or unready (KeelsonMetricsTargetDown) and their logs.',
        },
        {
          alert: 'TrinoBlockedNodes',
          expr: `max(trino_memory_clustermemorypool_blockednodes{${sel}}) > 0`,
          for: '5m',
          severity: 'warning',
          summary: '{{ $value }} Trino nodes have no free query memory: their queries wait.',
          description:
            'A node whose memory pool is full blocks the queries running on it until memory frees up; lasting blocks ' +
            'mean the workers are too small for the queries (config.resources.memory.limit) or a query holds too much.',
        },
        {
          alert: 'TrinoQueriesQueued',
          expr: `sum(trino_execution_querymanager_queuedqueries{${sel}}) > 0 and sum(trino_execution_querymanager_runningqueries{${sel}}) == 0`,
          for: '5m',
          severity: 'warning',
          summary: '{{ $value }} queries wait and none runs.',
          description:
            'Queries queue while no query runs: the cluster has no active worker, or resource groups or memory ' +
            'block every query (blocked nodes).',
        },
      ],
    },
  ],
  dashboard: (_stacklet, sel) => [
    {
      title: 'Queries',
      description: 'Queries running and queued on the coordinator.',
      queries: [
        { expr: `sum(trino_execution_querymanager_runningqueries{${sel}})`, legend: 'running' },
        { expr: `sum(trino_execution_querymanager_queuedqueries{${sel}})`, legend: 'queued' },
      ],
    },
    {
      title: 'Completed and failed queries',
      description: 'Queries that ended, per second; failed ones are also completed.',
      unit: 'ops',
      queries: [
        {
          expr: `sum(rate(trino_execution_querymanager_completedqueries_total{${sel}}[5m]))`,
          legend: 'completed',
        },
        { expr: `sum(rate(trino_execution_querymanager_failedqueries_total{${sel}}[5m]))`, legend: 'failed' },
      ],
    },
    {
      title: 'Nodes',
      description: "Nodes the coordinator's failure detector sees active and failed.",
      queries: [
        { expr: `max(trino_failuredetector_heartbeatfailuredetector_activecount{${sel}})`, legend: 'active' },
        { expr: `max(trino_failuredetector_heartbeatfailuredetector_failedcount{${sel}})`, legend: 'failed' },
      ],
    },
    {
      title: 'Blocked nodes',
      description: 'Nodes whose memory pool is full, so their queries wait.',
      queries: [{ expr: `max(trino_memory_clustermemorypool_blockednodes{${sel}})`, legend: 'blocked' }],
    },
    {
      title: 'Cluster memory',
      description: "The memory the coordinator counts across the cluster's nodes for queries.",
      unit: 'bytes',
      queries: [
        { expr: `max(trino_memory_clustermemorymanager_clustermemorybytes{${sel}})`, legend: 'cluster' },
      ],
    },
    {
      title: 'JVM heap used',
      description: 'Heap in use per node.',
      unit: 'bytes',
      queries: [{ expr: `sum by (pod) (jvm_memory_used_bytes{${sel}, area="heap"})`, legend: '{{pod}}' }],
    },
  ],
};
