/**
 * What an operator of a Hive metastore watches, from the names keelson's JMX exporter rules give
 * the metastore's own metrics (constructs/hive/README.md lists them).
 */
import type { ProductMonitoring } from '../../lib';

/** The metric names the Hive metastore's rules and dashboard read. */
export const HIVE_METRIC_NAMES = [
  'hive_metastore_total_api_calls',
  'hive_metastore_open_connections',
  'hive_metastore_directsql_errors',
  'hive_metastore_total_count_dbs',
  'hive_metastore_total_count_tables',
  'hive_metastore_total_count_partitions',
  'jvm_memory_used_bytes',
] as const;

export const HIVE_MONITORING: ProductMonitoring = {
  metricNames: HIVE_METRIC_NAMES,
  rules: (_stacklet, sel) => [
    {
      name: 'metastore',
      rules: [
        {
          record: 'stacklet:hive_metastore_api_calls:rate5m',
          expr: `sum(rate(hive_metastore_total_api_calls{${sel}}[5m]))`,
        },
        {
          record: 'stacklet:hive_metastore_open_connections:sum',
          expr: `sum(hive_metastore_open_connections{${sel}})`,
        },
        {
          alert: 'HiveMetastoreDirectSqlErrors',
          expr: `sum(increase(hive_metastore_directsql_errors{${sel}}[10m])) > 0`,
          severity: 'warning',
          summary: 'The metastore fell back from direct SQL {{ $value }} times in 10 minutes.',
          description:
            "The metastore's direct SQL against its database failed and it retried through its ORM, which is much " +
            'slower: the database schema or dialect does not match what the metastore expects. Its log has the SQL error.',
        },
        {
          alert: 'HiveMetastoreUnavailable',
          expr: `(sum(up{${sel}, role="metastores"}) or vector(0)) == 0`,
          for: '5m',
          severity: 'critical',
          summary: 'No metastore of the stacklet answers.',
          description:
            'Trino, Spark and every other client of the metastore cannot read or change table metadata. Look at ' +
            'the metastore pods, their database and their logs.',
        },
      ],
    },
  ],
  dashboard: (_stacklet, sel) => [
    {
      title: 'API calls',
      description: 'Thrift calls the metastores serve, per second.',
      unit: 'ops',
      queries: [{ expr: `sum(rate(hive_metastore_total_api_calls{${sel}}[5m]))`, legend: 'calls' }],
    },
    {
      title: 'Open connections',
      description: 'Thrift connections open on each metastore.',
      queries: [{ expr: `hive_metastore_open_connections{${sel}}`, legend: '{{pod}}' }],
    },
    {
      title: 'Databases, tables, partitions',
      description: 'Objects in the metastore, as the metastore counts them.',
      queries: [
        { expr: `max(hive_metastore_total_count_dbs{${sel}})`, legend: 'databases' },
        { expr: `max(hive_metastore_total_count_tables{${sel}})`, legend: 'tables' },
        { expr: `max(hive_metastore_total_count_partitions{${sel}})`, legend: 'partitions' },
      ],
    },
    {
      title: 'Direct SQL errors',
      description: 'Direct SQL failures the metastore retried through its ORM, per 10 minutes.',
      queries: [{ expr: `sum(increase(hive_metastore_directsql_errors{${sel}}[10m]))`, legend: 'errors' }],
    },
    {
      title: 'JVM heap used',
      description: 'Heap in use per metastore.',
      unit: 'bytes',
      queries: [{ expr: `sum by (pod) (jvm_memory_used_bytes{${sel}, area="heap"})`, legend: '{{pod}}' }],
    },
  ],
};
