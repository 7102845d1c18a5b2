/**
 * What an operator of an HDFS watches, from the names keelson's JMX exporter rules give Hadoop's
 * metrics MBeans (hdfs.ts `hdfsExporterConfig`; each seen in the real-node test's scrape). The
 * namespace's numbers come from the namenodes' FSNamesystem, which the active and the standby both
 * serve: the rules take the largest of them.
 */
import type { ProductMonitoring } from '../../lib';

/** The metric names HDFS' rules and dashboard read. */
export const HDFS_METRIC_NAMES = [
  'hadoop_namenode_ha_state',
  'hadoop_namenode_fsnamesystem_capacitytotal',
  'hadoop_namenode_fsnamesystem_capacityused',
  'hadoop_namenode_fsnamesystem_missingblocks',
  'hadoop_namenode_fsnamesystem_underreplicatedblocks',
  'hadoop_namenode_fsnamesystem_numlivedatanodes',
  'hadoop_namenode_fsnamesystem_numdeaddatanodes',
  'hadoop_namenode_fsnamesystem_numdecomdeaddatanodes',
  'hadoop_namenode_fsnamesystem_filestotal',
  'jvm_memory_used_bytes',
] as const;

export const HDFS_MONITORING: ProductMonitoring = {
  metricNames: HDFS_METRIC_NAMES,
  rules: (_stacklet, sel) => [
    {
      name: 'namespace',
      rules: [
        {
          record: 'stacklet:hdfs_active_namenodes:sum',
          expr: `sum(hadoop_namenode_ha_state{${sel}, state="active"})`,
        },
        {
          record: 'stacklet:hdfs_capacity_used:ratio',
          expr:
            `max(hadoop_namenode_fsnamesystem_capacityused{${sel}}) / ` +
            `max(hadoop_namenode_fsnamesystem_capacitytotal{${sel}} > 0)`,
        },
        {
          alert: 'HdfsNoActiveNamenode',
          expr: `(sum(hadoop_namenode_ha_state{${sel}, state="active"}) or vector(0)) == 0`,
          for: '2m',
          severity: 'critical',
          summary: 'No namenode of the HDFS is active.',
          description:
            'Clients can neither read nor write. Both failover controllers (the zkfc containers) decide which ' +
            'namenode is active through ZooKeeper: look at their logs, the namenodes and the ZooKeeper.',
        },
        {
          alert: 'HdfsMissingBlocks',
          expr: `max(hadoop_namenode_fsnamesystem_missingblocks{${sel}}) > 0`,
          severity: 'critical',
          summary: '{{ $value }} blocks of the HDFS have no copy on any live datanode.',
          description:
            'Files with these blocks cannot be read. A datanode that is down may still hold them: bring it back ' +
            'before anything else (`hdfs fsck / -list-corruptfileblocks` names the files).',
        },
        {
          alert: 'HdfsDeadDatanodes',
          // A datanode decommissioned before a scale-down is dead too, on purpose: it does not count.
          expr:
            `max(hadoop_namenode_fsnamesystem_numdeaddatanodes{${sel}} - ` +
            `hadoop_namenode_fsnamesystem_numdecomdeaddatanodes{${sel}}) > 0`,
          for: '5m',
          severity: 'warning',
          summary: '{{ $value }} datanodes of the HDFS are dead (not counting decommissioned ones).',
          description:
            'The namenode has not heard from them for over 10 minutes and copies their blocks elsewhere. Look at ' +
            'the datanode pods and their logs.',
        },
        {
          alert: 'HdfsCapacityHigh',
          expr:
            `max(hadoop_namenode_fsnamesystem_capacityused{${sel}}) / ` +
            `max(hadoop_namenode_fsnamesystem_capacitytotal{${sel}} > 0) > 0.85`,
          for: '15m',
          severity: 'warning',
          summary: 'The HDFS is {{ $value | humanizePercentage }} full.',
          description:
            'Datanodes refuse writes once their volumes are full. Add datanodes or storage, or delete data.',
        },
      ],
    },
  ],
  dashboard: (_stacklet, sel) => [
    {
      title: 'Namenode state',
      description: 'Which namenode is active (1) and which standby.',
      queries: [{ expr: `hadoop_namenode_ha_state{${sel}}`, legend: '{{pod}} {{state}}' }],
    },
    {
      title: 'Capacity',
      description: 'Bytes the datanodes offer and hold, as the namenodes count them.',
      unit: 'bytes',
      queries: [
        { expr: `max(hadoop_namenode_fsnamesystem_capacitytotal{${sel}})`, legend: 'total' },
        { expr: `max(hadoop_namenode_fsnamesystem_capacityused{${sel}})`, legend: 'used' },
      ],
    },
    {
      title: 'Blocks at risk',
      description: 'Blocks with fewer copies than dfs.replication, and blocks with none.',
      queries: [
        {
          expr: `max(hadoop_namenode_fsnamesystem_underreplicatedblocks{${sel}})`,
          legend: 'under-replicated',
        },
        { expr: `max(hadoop_namenode_fsnamesystem_missingblocks{${sel}})`, legend: 'missing' },
      ],
    },
    {
      title: 'Datanodes',
      description: 'Live and dead datanodes, as the namenodes see them.',
      queries: [
        { expr: `max(hadoop_namenode_fsnamesystem_numlivedatanodes{${sel}})`, legend: 'live' },
        { expr: `max(hadoop_namenode_fsnamesystem_numdeaddatanodes{${sel}})`, legend: 'dead' },
      ],
    },
    {
      title: 'Files',
      description: 'Files and directories in the namespace.',
      queries: [{ expr: `max(hadoop_namenode_fsnamesystem_filestotal{${sel}})`, legend: 'files' }],
    },
    {
      title: 'JVM heap used',
      description: 'Heap in use per pod.',
      unit: 'bytes',
      queries: [{ expr: `sum by (pod) (jvm_memory_used_bytes{${sel}, area="heap"})`, legend: '{{pod}}' }],
    },
  ],
};
