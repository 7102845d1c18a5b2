/** What the real-node tests that run an HdfsCluster (hdfs-real-node, hbase-real-node) share. */
import { HDFS_METRIC_NAMES } from '../../constructs/hdfs';
import type { StackletMonitoringCheck } from './prometheus-support';

/**
 * The monitoring check of an HdfsCluster named `hdfs` in `namespace`: every HDFS metric name, every
 * query of its dashboard (from the synthesized `objects`), and its recording rule counting one
 * active namenode.
 */
export function hdfsMonitoringCheck(
  namespace: string,
  objects: readonly { metadata: { name?: string } }[],
): StackletMonitoringCheck {
  return {
    namespace,
    metricNames: HDFS_METRIC_NAMES,
    dashboard: objects.find((o) => o.metadata.name === 'hdfs-dashboard'),
    recording: {
      what: 'one active namenode (recording rule)',
      expr: `stacklet:hdfs_active_namenodes:sum{namespace="${namespace}", stacklet="hdfs"}`,
      accept: (v) => v === 1,
    },
  };
}
