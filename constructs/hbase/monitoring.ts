/**
 * What an operator of an HBase watches, from the names keelson's JMX exporter rule gives HBase's
 * metrics MBeans (hbase.ts `hbaseExporterConfig`): the active master's view of the regionservers,
 * each regionserver's regions and requests, and the JVMs' heap.
 */
import { runningReplicas, type ProductMonitoring } from '../../lib';

/** The metric names HBase's rules and dashboard read. */
export const HBASE_METRIC_NAMES = [
  'hbase_master_server_numregionservers',
  'hbase_master_server_numdeadregionservers',
  'hbase_regionserver_server_regioncount',
  'hbase_regionserver_server_readrequestcount',
  'hbase_regionserver_server_writerequestcount',
  'jvm_memory_used_bytes',
] as const;

export const HBASE_MONITORING: ProductMonitoring = {
  metricNames: HBASE_METRIC_NAMES,
  rules: (stacklet, sel) => {
    const declared = runningReplicas(stacklet, 'regionservers');
    return [
      {
        name: 'regionservers',
        rules: [
          {
            record: 'stacklet:hbase_live_regionservers:max',
            expr: `max(hbase_master_server_numregionservers{${sel}})`,
          },
          // The master's dead-server count is no measure: a regionserver removed by a scale-down stays
          // on that list (until a master restarts or a regionserver of the same address returns), so
          // the live count is held to the regionservers the spec runs instead.
          ...(declared === 0
            ? []
            : [
                {
                  alert: 'HbaseRegionserversMissing',
                  expr: `max(hbase_master_server_numregionservers{${sel}}) < ${declared}`,
                  for: '5m',
                  severity: 'warning' as const,
                  summary: `{{ $value }} of the ${declared} regionservers the spec runs are live.`,
                  description:
                    'The master reassigned the missing regionservers’ regions to the others, which now carry ' +
                    'more load. Look at the regionserver pods and their logs.',
                },
              ]),
          {
            alert: 'HbaseNoRegionservers',
            expr: `(max(hbase_master_server_numregionservers{${sel}}) or vector(0)) == 0`,
            for: '5m',
            severity: 'critical',
            summary: 'The HBase has no live regionserver (or no active master).',
            description:
              'No table can be read or written. Look at the masters’ logs first (HDFS and ZooKeeper must be up), ' +
              'then at the regionservers.',
          },
        ],
      },
    ];
  },
  dashboard: (_stacklet, sel) => [
    {
      title: 'Regionservers',
      description:
        'Live and dead regionservers, as the active master counts them; a regionserver removed by a ' +
        'scale-down stays among the dead until a master restarts.',
      queries: [
        { expr: `max(hbase_master_server_numregionservers{${sel}})`, legend: 'live' },
        { expr: `max(hbase_master_server_numdeadregionservers{${sel}})`, legend: 'dead' },
      ],
    },
    {
      title: 'Regions per regionserver',
      description: 'Online regions of each regionserver: a preStop unload empties one before it stops.',
      queries: [{ expr: `hbase_regionserver_server_regioncount{${sel}}`, legend: '{{pod}}' }],
    },
    {
      title: 'Requests',
      description: 'Read and write requests served, per second.',
      queries: [
        { expr: `sum(rate(hbase_regionserver_server_readrequestcount{${sel}}[5m]))`, legend: 'reads' },
        { expr: `sum(rate(hbase_regionserver_server_writerequestcount{${sel}}[5m]))`, legend: 'writes' },
      ],
    },
    {
      title: 'JVM heap used',
      description: 'Heap in use per pod.',
      unit: 'bytes',
      queries: [{ expr: `sum by (pod) (jvm_memory_used_bytes{${sel}, area="heap"})`, legend: '{{pod}}' }],
    },
  ],
};
