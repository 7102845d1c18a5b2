/**
 * What the real-node tests that run an HdfsCluster (hdfs-real-node, hbase-real-node, hdfs-operator-real-node,
 * the Kerberos suites) share.
 */
import { HDFS_METRIC_NAMES } from '../../constructs/hdfs';
import { KubeClient } from '../../lib/operator/client';
import { tlsVolumeName } from '../../lib';
import type { StackletMonitoringCheck } from './prometheus-support';
import { applyAll, type Manifest } from './admission';
import { adminClients, waitFor } from './support';
import { execInPod, type ClientPodOptions } from './real-node-support';
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

/**
 * The client pod of the Kerberos HDFS suites (hdfs-kerberos-real-node and
 * kerberos-hdfs-hbase-operator-real-node): configured by nothing but the discovery ConfigMap of the
 * HdfsCluster `hdfs` (at /etc/hdfs-client) and the Secret `client-kerberos` (at /k: `krb5.conf` of
 * the realm, `alice.keytab`, and `ca.crt` where a script checks HTTPS), in the hdfs labels its
 * NetworkPolicy lets in. It runs {@link KERBEROS_CLIENT_CHECKS} as alice of `realm`, then `more`.
 */
export function kerberosHdfsClientPod(
  image: string,
  realm: string,
  more: readonly string[] = [],
): ClientPodOptions {
  return {
    name: 'alice',
    image,
    command: [
      '/bin/bash',
      '-c',
      [
        'set -u',
        `export KRB5PRINCIPAL=alice@${realm} KRB5KEYTAB=/k/alice.keytab`,
        ...KERBEROS_CLIENT_CHECKS,
        ...more,
      ].join('\n'),
    ],
    labels: { 'app.kubernetes.io/name': 'hdfs', 'app.kubernetes.io/instance': 'hdfs' },
    env: [
      { name: 'HADOOP_CONF_DIR', value: '/etc/hdfs-client' },
      {
        name: 'HADOOP_CLIENT_OPTS',
        value: '-Xmx128m -XX:TieredStopAtLevel=1 -Djava.security.krb5.conf=/k/krb5.conf',
      },
    ],
    volumes: [
      {
        volume: {
          name: 'hdfs-client',
          configMap: {
            name: 'hdfs',
            items: [
              { key: 'core-site.xml', path: 'core-site.xml' },
              { key: 'hdfs-site.xml', path: 'hdfs-site.xml' },
            ],
          },
        },
        mountPath: '/etc/hdfs-client',
      },
      { volume: { name: 'k', secret: { secretName: 'client-kerberos' } }, mountPath: '/k' },
    ],
  };
}

/**
 * The Kerberos HDFS client's checks (alice may write `/alice`, which the superuser gave her): with
 * her keytab she writes a file and reads it back; the same client without a ticket (no keytab, no
 * ticket cache), and with SIMPLE authentication, is refused. The lines it prints are what
 * {@link expectKerberosClientChecks} asserts. It leaves alice's keytab unset.
 */
export const KERBEROS_CLIENT_CHECKS: readonly string[] = (() => {
  const once =
    'timeout 180 hdfs dfs -D dfs.client.failover.max.attempts=1 -D ipc.client.connect.max.retries=1';
  return [
    'echo "keelson was here" > /tmp/hello.txt',
    'hdfs dfs -put /tmp/hello.txt /alice/hello.txt',
    'echo "read: $(hdfs dfs -cat /alice/hello.txt)"',
    'echo "owner: $(hdfs dfs -stat %u /alice/hello.txt)"',
    'unset KRB5PRINCIPAL KRB5KEYTAB',
    `none=$(${once} -cat /alice/hello.txt 2>&1); echo "no ticket exit: $?"`,
    'echo "no ticket: $(grep -o -m1 "Client cannot authenticate via:\\[TOKEN, KERBEROS\\]" <<< "$none")"',
    'mkdir /tmp/simple && cp /etc/hdfs-client/hdfs-site.xml /tmp/simple/',
    "sed 's#<value>kerberos</value>#<value>simple</value>#' /etc/hdfs-client/core-site.xml > /tmp/simple/core-site.xml",
    `simple=$(HADOOP_CONF_DIR=/tmp/simple ${once} -cat /alice/hello.txt 2>&1); echo "simple exit: $?"`,
    'echo "simple: $(grep -o -m1 "SIMPLE authentication is not enabled" <<< "$simple")"',
    'grep -c "keelson was here" <<< "$none$simple" | sed "s/^/leaked: /"',
  ];
})();

/** Asserts the lines {@link KERBEROS_CLIENT_CHECKS} printed: alice's file read back, both others refused. */
export function expectKerberosClientChecks(lines: readonly string[]): void {
  expect(lines).toContain('read: keelson was here');
  expect(lines).toContain('owner: alice');
  expect(lines.find((l) => l.startsWith('no ticket exit: '))).not.toBe('no ticket exit: 0');
  expect(lines).toContain('no ticket: Client cannot authenticate via:[TOKEN, KERBEROS]');
  expect(lines.find((l) => l.startsWith('simple exit: '))).not.toBe('simple exit: 0');
  expect(lines).toContain('simple: SIMPLE authentication is not enabled');
  expect(lines).toContain('leaked: 0');
}

/**
 * Applies what `build` returns (the operator's build of an HDFS whose datanodes' class is external)
 * until the operator has written `datanode`'s outside address to the datanodes' listener ConfigMap
 * and its Service's targetPorts are its nodePorts; that ConfigMap's entries.
 */
export async function applyUntilDatanodeListens(
  namespace: string,
  datanode: string,
  build: () => Promise<Manifest[]>,
): Promise<Record<string, string>> {
  const { core, kc } = adminClients();
  const client = new KubeClient(kc);
  let entry: Record<string, string> = {};
  await waitFor(
    `the operator's build to write ${datanode}'s address and bind its nodePorts`,
    async () => {
      expect(await applyAll(client, await build(), namespace)).toEqual([]);
      entry =
        (await core.readNamespacedConfigMap({ name: 'hdfs-datanodes-default-listeners', namespace })).data ??
        {};
      const svc = await core.readNamespacedService({ name: datanode, namespace });
      return (
        entry[`${datanode}.port.data`] !== undefined &&
        (svc.spec?.ports ?? []).every((p) => p.targetPort === p.nodePort)
      );
    },
    5 * 60_000,
    undefined,
    undefined,
    async () => JSON.stringify(entry),
  );
  return entry;
}
