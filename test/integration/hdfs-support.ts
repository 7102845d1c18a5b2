/** What the real-node tests that run an HdfsCluster (hdfs-real-node, hbase-real-node, hdfs-operator-real-node) share. */
import { HDFS_METRIC_NAMES } from '../../constructs/hdfs';
import type { StackletMonitoringCheck } from './prometheus-support';
import { execInPod } from './real-node-support';

/**
 * Writes 3 MB of random bytes to `file` in HDFS from the datanode pod `pod`, with one copy: HDFS
 * puts the first copy on the writer's own datanode, so the only copy is there. Returns their MD5.
 */
export async function writeFromDatanode(
  namespace: string,
  pod: string,
  file: string,
): Promise<string | undefined> {
  const out = await execInPod(
    namespace,
    pod,
    'set -e; head -c 3000000 /dev/urandom > /tmp/leaving.bin; ' +
      `HADOOP_CLIENT_OPTS=-Xmx96m hdfs dfs -D dfs.replication=1 -put /tmp/leaving.bin ${file} 2>/dev/null; ` +
      'md5sum < /tmp/leaving.bin',
  );
  return out.match(/^[0-9a-f]{32}\b/m)?.[0];
}

/** Matches `hdfs dfsadmin -report` listing the datanode at `ip` with `Decommission Status : <status>`. */
export function decommissionStatus(ip: string, status: 'Decommissioned' | 'Normal'): RegExp {
  return new RegExp(`Name: ${ip.replace(/\./g, '\\.')}:\\d+.*\\n(?:.+\\n)*?Decommission Status : ${status}`);
}

/** Asserts that `hdfs fsck /` found the file system HEALTHY, with no under-replicated or missing block. */
export function expectHealthyFsck(fsck: string): void {
  expect(fsck).toContain("The filesystem under path '/' is HEALTHY");
  expect(fsck).toMatch(/Under-replicated blocks:\s+0 /);
  expect(fsck).toMatch(/Missing blocks:\s+0\s/);
}

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
