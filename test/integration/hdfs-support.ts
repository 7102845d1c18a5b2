/** What the real-node tests that run an HdfsCluster (hdfs-real-node, hbase-real-node, hdfs-operator-real-node) share. */
import { HDFS_METRIC_NAMES } from '../../constructs/hdfs';
import { tlsVolumeName } from '../../lib';
import type { StackletMonitoringCheck } from './prometheus-support';
import { adminClients } from './support';
import { execInPod } from './real-node-support';
import { podDnsNames, type TestPki } from './test-pki';

/** The TlsClass of the tests' HDFS: a name of their own (the build is told it exists). */
export const HDFS_TEST_TLS_CLASS = 'hdfs-real-test-tls';

/** The Secret of a role's test certificate (one per role group, as a stand-in for pod certificates). */
const testTlsSecret = (role: string) => `hdfs-${role}-tls`;

/**
 * A role's `podOverrides.spec.volumes`: the test's certificate Secret in place of the pod
 * certificate keelson's operator would sign.
 */
export function hdfsTestTlsVolumes(role: string): { name: string; secret: { secretName: string } }[] {
  return [{ name: tlsVolumeName('server'), secret: { secretName: testTlsSecret(role) } }];
}

/**
 * Signs with `pki` one certificate per role of an HdfsCluster named `hdfs` (its `pods`' DNS names,
 * its client Service's, and `addresses` for the roles reached at the node's address) and writes
 * each into the Secret `hdfsTestTlsVolumes` mounts.
 */
export async function createHdfsTestCertificates(
  namespace: string,
  pki: TestPki,
  pods: Readonly<Record<'namenodes' | 'journalnodes' | 'datanodes', readonly string[]>>,
  addresses: readonly string[] = [],
): Promise<void> {
  const { core } = adminClients();
  for (const [role, names] of Object.entries(pods)) {
    // Journalnodes have no client port, so no client Service, and are never reached from outside.
    const inside = role === 'journalnodes';
    const dnsNames = names.flatMap((pod) =>
      podDnsNames(pod, `hdfs-${role}-default-headless`, namespace, inside ? [] : [`hdfs-${role}`]),
    );
    await core.createNamespacedSecret({
      namespace,
      body: {
        metadata: { name: testTlsSecret(role) },
        stringData: pki.issue(`hdfs-${role}`, [...dnsNames, ...(inside ? [] : addresses)]),
      },
    });
  }
}

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
