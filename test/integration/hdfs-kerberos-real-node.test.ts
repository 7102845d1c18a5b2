/**
 * HDFS with Kerberos on the real node: keelson's Hadoop image, a real MIT KDC (Debian's krb5-kdc,
 * test/integration/kerberos-kdc.ts) whose admin may create `hdfs/*` and `HTTP/*` principals, server
 * TLS from certificates the test signs (Kerberos requires it), in a namespace enforcing the
 * restricted Pod Security profile. Lean for a 2-core machine: one ZooKeeper server, two namenodes,
 * one journalnode, one datanode.
 * - Every pod's `kerberos-keytab` init container writes the pod's `hdfs/<pod DNS name>` and
 *   `HTTP/<pod DNS name>` keys; all pods become Ready: the first namenode formatted, the second
 *   bootstrapped from it (both logged in from their keytabs), one is active (the failover
 *   controllers logged in as their namenodes), the datanode registered (SASL block transfer).
 * - The `hdfs` superuser (a namenode pod's own principal) owns `/` and gives alice a directory.
 * - A client pod with alice's keytab, configured only by the HDFS discovery ConfigMap (and a
 *   krb5.conf of the realm), writes a file and reads it back (RPC privacy, block transfer with SASL
 *   integrity); the same client without a ticket is refused (`Client cannot authenticate via:[TOKEN,
 *   KERBEROS]`), and with SIMPLE authentication too (`SIMPLE authentication is not enabled`).
 * - The active namenode's /jmx answers over HTTPS without SPNEGO (what the operator reads), while
 *   WebHDFS and the UI on the same port ask for it (401). A pod with Debian's curl (GSS-API) and
 *   alice's ticket (kinit) uses WebHDFS with SPNEGO: her home directory, her directory listed, her
 *   file read through the datanode's HTTPS port (the namenode's redirect carries a delegation
 *   token), then with a delegation token alone after kdestroy; without either, 401.
 * - The active namenode's pod is deleted: the standby becomes active (its failover controller and
 *   its edit log reads from the journalnode over HTTPS with SPNEGO under Kerberos), alice's file
 *   still reads, `hdfs fsck /` as the superuser is HEALTHY, the refresh sidecar's `dfsadmin
 *   -refreshNodes` at 127.0.0.1 succeeds, and the deleted namenode comes back with a new keytab as
 *   the standby, with the datanode registered again (it held a ticket of the old keys).
 * - The datanodes' class becomes external-unstable, as the operator builds it: the datanode's keytab
 *   gets hdfs/ and HTTP/ of the node's address, it registers that address; alice's pod reaches its
 *   UI there with SPNEGO (401 without a ticket, /jmx open), and her WebHDFS read is sent there with a
 *   delegation token; a process on the host reads the file at that URL, and without the token not.
 * - The KDC admin's password is in no synthesized manifest.
 * Prints the start times (each pod's first Ready after apply) and the failover time.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Chart, Testing } from 'cdk8s';
import { HDFS, HdfsCluster, type HdfsSpec } from '../../constructs/hdfs';
import { hdfsImageRecipe } from '../../constructs/hdfs/image';
import { ZookeeperCluster, ZookeeperZnode } from '../../constructs/zookeeper';
import { zookeeperImageRecipe } from '../../constructs/zookeeper/image';
import { krb5ToolsImageRecipe } from '../../lib/authentication/krb5-tools-image';
import { KubeClient } from '../../lib/operator/client';
import { applyAll, RESTRICTED, type Manifest } from './admission';
import { runOnHost } from './kafka-client-support';
import { debianServerImageRecipe } from './database-servers';
import {
  applyUntilDatanodeListens,
  createHdfsTestCertificates,
  expectHealthyFsck,
  expectKerberosClientChecks,
  HDFS_TEST_TLS_CLASS,
  hdfsTestTlsVolumes,
  kerberosHdfsClientPod,
} from './hdfs-support';
import {
  clientKrb5Conf,
  createKerberosAdminSecret,
  KDC_ADMIN_PASSWORD,
  kdcKeytab,
  kerberosClass,
  REALM,
  startKdc,
} from './kerberos-kdc';
import {
  buildImageOnRealNode,
  execInPod,
  operatorBuildOnRealNode,
  podsLogs,
  realNode,
  REAL_NODE_PLACEMENT,
  runClientPod,
  podsReadySeconds,
  waitPodsReady,
} from './real-node-support';
import { adminClients, adminKubeConfig, useTestNamespace, waitFor } from './support';
import { TestPki } from './test-pki';

jest.setTimeout(40 * 60_000);

const VERSION = '3.4.2';
const ZOOKEEPER_VERSION = '3.9.4';
const NAMENODES = ['hdfs-namenodes-default-0', 'hdfs-namenodes-default-1'];
const JOURNALNODE = 'hdfs-journalnodes-default-0';
const DATANODE = 'hdfs-datanodes-default-0';
const ALL = ['zk-servers-default-0', ...NAMENODES, JOURNALNODE, DATANODE];
const TLS_ROLES = { namenodes: NAMENODES, journalnodes: [JOURNALNODE], datanodes: [DATANODE] } as const;
/** Debian's curl (built with GSS-API: `--negotiate`) and MIT Kerberos' kinit, for WebHDFS with SPNEGO. */
const CURL_CLIENT = debianServerImageRecipe({
  reference: 'keelson.test/krb5-curl:12',
  description: "Debian 12's curl and MIT Kerberos client tools",
  packages: ['curl', 'krb5-user', 'ca-certificates', 'grep'],
  account: 'keelson',
});
/** A Hadoop client run in an HDFS pod: its own principal and krb5.conf (podEnv), a small heap. */
const IN_POD = 'export HADOOP_CLIENT_OPTS="$HADOOP_CLIENT_OPTS -Xmx96m -XX:TieredStopAtLevel=1";';

describe(`HDFS ${VERSION} with Kerberos on the real node`, () => {
  const ns = useTestNamespace('hdfs-krb', RESTRICTED);
  const { core } = adminClients();
  const client = new KubeClient(adminKubeConfig());
  const pki = new TestPki('keelson hdfs kerberos test CA');
  afterAll(() => pki.remove());
  const logs = () => podsLogs(ns.name, [...ALL, 'kdc']);

  const small = (memory: string) => ({
    resources: { memory: { limit: memory }, cpu: { min: '100m', max: '1' } },
  });
  const role = (memory: string, name: keyof typeof TLS_ROLES, listenerClass?: string) => ({
    config: small(memory),
    // The test's certificate in place of the pod certificate keelson's operator would sign.
    podOverrides: { spec: { ...REAL_NODE_PLACEMENT, volumes: hdfsTestTlsVolumes(name) } },
    roleGroups: { default: { replicas: TLS_ROLES[name].length } },
    ...(listenerClass ? { roleConfig: { listenerClass } } : {}),
  });
  const tlsClasses = [{ name: HDFS_TEST_TLS_CLASS }];

  /** The HdfsCluster's spec; `datanodeClass` the datanodes' ListenerClass. */
  function hdfsSpec(datanodeClass?: string): HdfsSpec {
    return {
      image: { productVersion: VERSION, pullPolicy: 'Never' },
      clusterConfig: {
        zookeeperConfigMapName: 'hdfs-znode',
        dfsReplication: 1,
        tls: { serverTlsClass: HDFS_TEST_TLS_CLASS },
        authentication: [{ authenticationClass: 'realm' }],
      },
      namenodes: role('640Mi', 'namenodes'),
      journalnodes: role('320Mi', 'journalnodes'),
      datanodes: role('512Mi', 'datanodes', datanodeClass),
    };
  }

  function manifests(kdcHost: string): Manifest[] {
    const chart = new Chart(Testing.app(), 'platform', { namespace: ns.name });
    const zk = new ZookeeperCluster(chart, 'zk', {
      image: { productVersion: ZOOKEEPER_VERSION, pullPolicy: 'Never' },
      servers: {
        config: small('384Mi'),
        podOverrides: { spec: REAL_NODE_PLACEMENT },
        roleGroups: { default: { replicas: 1 } },
      },
    });
    const znode = new ZookeeperZnode(chart, 'hdfs-znode', { zookeeper: zk });
    new HdfsCluster(
      chart,
      'hdfs',
      { ...hdfsSpec(), zookeeper: znode },
      { tlsClasses, authenticationClasses: [kerberosClass('realm', kdcHost, 'kerberos-admin')] },
    );
    return Testing.synth(chart) as Manifest[];
  }

  /** `hdfs haadmin -getAllServiceState` in a namenode pod, as its hdfs principal. */
  async function serviceStates(pod: string): Promise<Record<string, string>> {
    const out = await execInPod(ns.name, pod, `${IN_POD} hdfs haadmin -getAllServiceState 2>/dev/null`);
    const states: Record<string, string> = {};
    for (const m of out.matchAll(/^(hdfs-namenodes-default-\d)\.\S+\s+(active|standby|observer)/gm))
      states[m[1]] = m[2];
    return states;
  }

  /** Seconds from `since` to each pod's Ready condition turning True. */
  it('runs HA HDFS under Kerberos: a keytab client works, one without a ticket is refused, failover and fsck pass', async () => {
    await realNode();
    const started = Date.now();
    await buildImageOnRealNode(zookeeperImageRecipe(ZOOKEEPER_VERSION));
    await buildImageOnRealNode(hdfsImageRecipe(VERSION));
    await buildImageOnRealNode(krb5ToolsImageRecipe());
    await buildImageOnRealNode(CURL_CLIENT);
    // The admin may add, inquire and re-key HDFS' principals only.
    const kdcHost = await startKdc(ns.name, ['aci hdfs/*', 'aci HTTP/*']);
    await createKerberosAdminSecret(ns.name, 'kerberos-admin');
    // The node's addresses in the certificates too: the datanode is reached there at the end.
    const nodeAddresses = (await core.readNode({ name: (await realNode()).nodeName }))
      .status!.addresses!.filter((a) => /^[0-9.]+$/.test(a.address))
      .map((a) => a.address);
    await createHdfsTestCertificates(ns.name, pki, TLS_ROLES, nodeAddresses);
    await core.createNamespacedSecret({
      namespace: ns.name,
      body: {
        metadata: { name: 'client-kerberos' },
        data: { 'alice.keytab': await kdcKeytab(ns.name, 'alice.keytab') },
        stringData: { 'krb5.conf': clientKrb5Conf(kdcHost), 'ca.crt': pki.caPem },
      },
    });
    const objects = manifests(kdcHost);
    // No credential in anything synthesized: the admin's password is only in the Secret the test wrote.
    expect(JSON.stringify(objects)).not.toContain(KDC_ADMIN_PASSWORD);
    const prepared = Date.now();
    expect(
      await applyAll(
        client,
        objects.filter((o) => o.kind !== 'PrometheusRule'),
        ns.name,
      ),
    ).toEqual([]);
    const applied = Date.now();
    await waitPodsReady(ns.name, ALL, 20 * 60_000, logs);
    const ready = Date.now();
    const startTimes = await podsReadySeconds(ns.name, ALL, applied);

    for (const name of ALL) {
      const pod = await core.readNamespacedPod({ name, namespace: ns.name });
      for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])])
        expect(c.securityContext).toMatchObject({
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
        });
    }
    // Each HDFS pod's keytab init container wrote both principals of its pod DNS name.
    const fqdn = (pod: string) => `${pod}.${pod.replace(/-\d+$/, '')}-headless.${ns.name}.svc.cluster.local`;
    for (const pod of [...NAMENODES, JOURNALNODE, DATANODE]) {
      const keytabLog = await core.readNamespacedPodLog({
        name: pod,
        namespace: ns.name,
        container: 'kerberos-keytab',
      });
      expect(keytabLog).toContain(`wrote the keytab of hdfs/${fqdn(pod)}@${REALM}`);
      expect(keytabLog).toContain(`wrote the keytab of HTTP/${fqdn(pod)}@${REALM}`);
    }

    // One namenode becomes active, the other standby: the controllers logged in as their namenodes.
    let states: Record<string, string> = {};
    await waitFor(
      'one active and one standby namenode',
      async () => {
        states = await serviceStates(NAMENODES[0]).catch(() => ({}));
        return Object.values(states).sort().join(',') === 'active,standby';
      },
      10 * 60_000,
      undefined,
      undefined,
      async () => `${JSON.stringify(states)}\n${await logs()}`,
    );
    const active = Object.keys(states).find((n) => states[n] === 'active')!;
    const standby = NAMENODES.find((n) => n !== active)!;
    const elected = Date.now();
    const format = (pod: string) =>
      core.readNamespacedPodLog({ name: pod, namespace: ns.name, container: 'format-namenode' });
    expect(await format(NAMENODES[0])).toMatch(/has been successfully formatted/);
    expect(await format(NAMENODES[1])).toMatch(/Login successful for user hdfs\/hdfs-namenodes-default-1\./);

    // The superuser is the namenodes' login user, hdfs: it owns / and gives alice a directory.
    const asHdfs = (pod: string, script: string) => execInPod(ns.name, pod, `${IN_POD} ${script}`);
    const superuser = await asHdfs(
      active,
      'hdfs dfs -mkdir -p /alice && hdfs dfs -chown alice /alice && echo "root: $(hdfs dfs -stat %u /)" 2>&1',
    );
    expect(superuser).toContain('root: hdfs');

    // A client with alice's keytab and nothing but the discovery ConfigMap (and the realm's krb5.conf).
    const host = fqdn(active);
    const https = (request: string) =>
      `printf '${request} HTTP/1.0\\r\\nHost: ${host}\\r\\n\\r\\n' | timeout 30 openssl s_client -connect ${host}:9870 ` +
      `-servername ${host} -CAfile /k/ca.crt -verify_return_error -verify_hostname ${host} -quiet 2>/dev/null`;
    const out = await runClientPod(
      ns.name,
      kerberosHdfsClientPod(hdfsImageRecipe(VERSION).reference, REALM, [
        // /jmx over HTTPS without SPNEGO; WebHDFS on the same port asks for it.
        `jmx=$(${https('GET /jmx?qry=Hadoop:service=NameNode,name=NameNodeStatus')})`,
        'echo "jmx: $(head -1 <<< "$jmx" | tr -d "\\r") $(grep -o "\\"State\\" : \\"[a-z]*\\"" <<< "$jmx")"',
        `web=$(${https('GET /webhdfs/v1/alice?op=LISTSTATUS')})`,
        'echo "webhdfs: $(head -1 <<< "$web" | tr -d "\\r")"',
        'echo "webhdfs says: $(tail -c 400 <<< "$web" | tr -d "\\r\\n")"',
      ]),
      logs,
      20 * 60_000,
    );
    const lines = out.split('\n');
    expectKerberosClientChecks(lines);
    expect(lines).toContain('jmx: HTTP/1.1 200 OK "State" : "active"');
    // WebHDFS on the same port asks for SPNEGO (HDFS' AuthFilter), and lists nothing.
    expect(lines.find((l) => l.startsWith('webhdfs: '))).toMatch(/^webhdfs: HTTP\/1\.1 401\b/);
    expect(lines.find((l) => l.startsWith('webhdfs says: '))).not.toContain('FileStatuses');

    // WebHDFS with SPNEGO: curl --negotiate with alice's ticket (kinit from her keytab) lists and
    // reads her file, the namenode sending the read to the datanode's HTTPS port with a delegation
    // token; a delegation token alone reads it too; without a ticket 401; /jmx needs none.
    const nn = `https://${host}:9870`;
    const web = await runClientPod(
      ns.name,
      {
        name: 'alice-curl',
        image: CURL_CLIENT.reference,
        command: [
          '/bin/bash',
          '-c',
          [
            'set -u',
            'export KRB5_CONFIG=/k/krb5.conf KRB5CCNAME=FILE:/tmp/alice.cc',
            'c() { curl -sS --cacert /k/ca.crt --max-time 60 "$@"; }',
            'status() { c -o /dev/null -w \'%{http_code}\' "$@"; }',
            // A new pod's address reaches the network policies a moment after it starts.
            `until [ "$(status '${nn}/jmx?qry=Hadoop:service=NameNode,name=NameNodeStatus')" = 200 ]; do sleep 1; done`,
            `echo "no ticket webhdfs: $(status --negotiate -u : '${nn}/webhdfs/v1/alice?op=LISTSTATUS')"`,
            `echo "no ticket ui: $(status --negotiate -u : '${nn}/dfshealth.html')"`,
            `echo "no ticket jmx: $(status '${nn}/jmx?qry=Hadoop:service=NameNode,name=NameNodeStatus')"`,
            `kinit -k -t /k/alice.keytab alice@${REALM} && echo "kinit: ok"`,
            `echo "home: $(c --negotiate -u : '${nn}/webhdfs/v1/?op=GETHOMEDIRECTORY')"`,
            `echo "list: $(c --negotiate -u : '${nn}/webhdfs/v1/alice?op=LISTSTATUS' | grep -o '"pathSuffix":"hello.txt"')"`,
            `echo "ui: $(status --negotiate -u : '${nn}/dfshealth.html')"`,
            `loc=$(c --negotiate -u : -o /dev/null -w '%{redirect_url}' '${nn}/webhdfs/v1/alice/hello.txt?op=OPEN')`,
            'echo "sent to: ${loc%%\\?*}"',
            `echo "read: $(c --negotiate -u : -L '${nn}/webhdfs/v1/alice/hello.txt?op=OPEN')"`,
            `token=$(c --negotiate -u : '${nn}/webhdfs/v1/?op=GETDELEGATIONTOKEN' | grep -o '"urlString":"[^"]*"' | cut -d'"' -f4)`,
            'echo "token: ${#token} characters"',
            'kdestroy',
            `echo "token read: $(c -L "${nn}/webhdfs/v1/alice/hello.txt?op=OPEN&delegation=$token")"`,
            `echo "no ticket again: $(status --negotiate -u : '${nn}/webhdfs/v1/alice?op=LISTSTATUS')"`,
          ].join('\n'),
        ],
        labels: { 'app.kubernetes.io/name': 'hdfs', 'app.kubernetes.io/instance': 'hdfs' },
        memory: '96Mi',
        volumes: [{ volume: { name: 'k', secret: { secretName: 'client-kerberos' } }, mountPath: '/k' }],
      },
      logs,
      10 * 60_000,
    );
    const webLines = web.split('\n');
    expect(webLines).toContain('no ticket webhdfs: 401');
    expect(webLines).toContain('no ticket ui: 401');
    expect(webLines).toContain('no ticket jmx: 200');
    expect(webLines).toContain('kinit: ok');
    expect(webLines).toContain('home: {"Path":"/user/alice"}');
    expect(webLines).toContain('list: "pathSuffix":"hello.txt"');
    expect(webLines).toContain('ui: 200');
    expect(webLines).toContain(`sent to: https://${fqdn(DATANODE)}:9864/webhdfs/v1/alice/hello.txt`);
    expect(webLines).toContain('read: keelson was here');
    expect(webLines.find((l) => l.startsWith('token: '))).toMatch(/^token: [1-9]\d* characters$/);
    expect(webLines).toContain('token read: keelson was here');
    expect(webLines).toContain('no ticket again: 401');
    const clientDone = Date.now();

    // Failover: the active namenode's pod goes; the standby's controller makes it active.
    const deleted = Date.now();
    await core.deleteNamespacedPod({ name: active, namespace: ns.name, gracePeriodSeconds: 0 });
    await waitFor(
      `${standby} to become active`,
      async () =>
        (await serviceStates(standby).catch(() => ({}) as Record<string, string>))[standby] === 'active',
      10 * 60_000,
      undefined,
      undefined,
      logs,
    );
    const failedOver = Date.now();
    // The new active namenode read the shared edit log from the journalnode over HTTPS (SPNEGO).
    expect(await core.readNamespacedPodLog({ name: standby, namespace: ns.name, container: 'hdfs' })).toMatch(
      /Loaded \d+ edits file\(s\) \(the last named https:\/\/hdfs-journalnodes-default-0\.[^ ]*:8480\/getJournal/,
    );
    expect(await asHdfs(standby, 'hdfs dfs -cat /alice/hello.txt 2>/dev/null')).toContain('keelson was here');
    expectHealthyFsck(await asHdfs(standby, 'hdfs fsck / 2>/dev/null'));
    // The refresh sidecar's command (dfsadmin at 127.0.0.1, logged in by KRB5PRINCIPAL/KRB5KEYTAB):
    // the namenode's principal is accepted by its pattern, and the pod's principal is the superuser.
    expect(await asHdfs(standby, `hdfs dfsadmin -fs hdfs://127.0.0.1:8020 -refreshNodes 2>&1`)).toContain(
      'Refresh nodes successful',
    );

    // The deleted namenode comes back with a new keytab, on its volume, as the standby.
    await waitPodsReady(ns.name, [active], 15 * 60_000, logs);
    const back = Date.now();
    expect(await format(active)).toMatch(/holds a formatted namespace; starting the namenode as it is/);
    // The datanode held a service ticket of the deleted namenode's old keys (each start draws new
    // ones): it logs in again and registers with the namenode that came back.
    let live = '';
    const jmx = `GET /jmx?qry=Hadoop:service=NameNode,name=FSNamesystemState HTTP/1.0\\r\\nHost: ${fqdn(active)}\\r\\n\\r\\n`;
    await waitFor(
      `${DATANODE} to register with ${active} again`,
      async () => {
        live = await execInPod(
          ns.name,
          active,
          `printf '${jmx}' | timeout 20 openssl s_client -connect ${fqdn(active)}:9870 -CAfile /keelson/tls/server/ca.crt ` +
            `-verify_return_error -quiet 2>/dev/null | grep -o '"NumLiveDataNodes" : [0-9]*'`,
        ).catch(() => '');
        return live.includes('"NumLiveDataNodes" : 1');
      },
      10 * 60_000,
      undefined,
      undefined,
      async () => `${live}\n${await logs()}`,
    );
    const reregistered = Date.now();
    await waitFor(
      `${active} to come back as standby`,
      async () =>
        (await serviceStates(standby).catch(() => ({}) as Record<string, string>))[active] === 'standby',
      10 * 60_000,
      undefined,
      undefined,
      logs,
    );

    const standbyAgain = Date.now();

    // Kerberos through the datanode's outside address: its class becomes external-unstable (a
    // NodePort Service of its own), as the operator builds it (the namenodes stay inside). The
    // operator writes the node's address and the nodePorts; the rolled datanode's keytab holds
    // hdfs/ and HTTP/ of that address too, it registers the address as its hostname (principal
    // hdfs/<node address>, accepted by the namenodes' pattern) and serves HTTPS on its nodePort.
    const znodeData = (await core.readNamespacedConfigMap({ name: 'hdfs-znode', namespace: ns.name })).data!;
    const entry = await applyUntilDatanodeListens(ns.name, DATANODE, () =>
      operatorBuildOnRealNode(
        HDFS,
        { kind: 'HdfsCluster', name: 'hdfs', namespace: ns.name, spec: hdfsSpec('external-unstable') },
        { 'hdfs-znode': znodeData },
        { tlsClasses, authenticationClasses: [kerberosClass('realm', kdcHost, 'kerberos-admin')] },
      ),
    );
    const nodeIp = entry[`${DATANODE}.host`];
    expect(nodeAddresses).toContain(nodeIp);
    const svc = await core.readNamespacedService({ name: DATANODE, namespace: ns.name });
    const nodePort = (name: string) => svc.spec!.ports!.find((p) => p.name === name)!.nodePort!;
    let report = '';
    await waitFor(
      `${DATANODE} to register ${nodeIp} and its nodePort`,
      async () => {
        report = await asHdfs(standby, 'hdfs dfsadmin -report -live 2>/dev/null').catch(() => '');
        return new RegExp(
          `Name: [^\\n]*:${nodePort('data')}\\b[^\\n]*\\nHostname: ${nodeIp.replace(/\./g, '\\.')}\\n`,
        ).test(report);
      },
      10 * 60_000,
      undefined,
      undefined,
      async () => `${report}\n${await logs()}`,
    );
    const registeredOutside = Date.now();
    const keytabLog = await core.readNamespacedPodLog({
      name: DATANODE,
      namespace: ns.name,
      container: 'kerberos-keytab',
    });
    expect(keytabLog).toContain(`wrote the keytab of hdfs/${nodeIp}@${REALM}`);
    expect(keytabLog).toContain(`wrote the keytab of HTTP/${nodeIp}@${REALM}`);

    // alice (a ticket from her keytab) asks the active namenode with SPNEGO: it sends her read to
    // the datanode's outside address with a delegation token. SPNEGO to that address is accepted
    // too (her ticket for HTTP/<node address>), and refused without a ticket.
    const dn = `https://${nodeIp}:${nodePort('http')}`;
    const outsideOut = await runClientPod(
      ns.name,
      {
        name: 'alice-outside',
        image: CURL_CLIENT.reference,
        command: [
          '/bin/bash',
          '-c',
          [
            'set -u',
            'export KRB5_CONFIG=/k/krb5.conf KRB5CCNAME=FILE:/tmp/alice.cc',
            'c() { curl -sS --cacert /k/ca.crt --max-time 60 "$@"; }',
            `status() { c -o /dev/null -w '%{http_code}' "$@"; }`,
            // A new pod's address reaches the network policies a moment after it starts.
            `until [ "$(status '${dn}/jmx?qry=Hadoop:service=DataNode,name=DataNodeInfo')" = 200 ]; do sleep 1; done`,
            `echo "datanode ui no ticket: $(status --negotiate -u : '${dn}/datanode.html')"`,
            `echo "datanode jmx no ticket: $(status '${dn}/jmx?qry=Hadoop:service=DataNode,name=DataNodeInfo')"`,
            `kinit -k -t /k/alice.keytab alice@${REALM} && echo "kinit: ok"`,
            `echo "datanode ui: $(status --negotiate -u : '${dn}/datanode.html')"`,
            `loc=$(c --negotiate -u : -o /dev/null -w '%{redirect_url}' 'https://${fqdn(standby)}:9870/webhdfs/v1/alice/hello.txt?op=OPEN')`,
            'echo "sent to: ${loc%%\\?*}"',
            'echo "location: $loc"',
            'echo "read: $(c "$loc")"',
          ].join('\n'),
        ],
        labels: { 'app.kubernetes.io/name': 'hdfs', 'app.kubernetes.io/instance': 'hdfs' },
        memory: '96Mi',
        volumes: [{ volume: { name: 'k', secret: { secretName: 'client-kerberos' } }, mountPath: '/k' }],
      },
      logs,
      10 * 60_000,
    );
    const outsideLines = outsideOut.split('\n');
    expect(outsideLines).toContain('datanode ui no ticket: 401');
    expect(outsideLines).toContain('datanode jmx no ticket: 200');
    expect(outsideLines).toContain('kinit: ok');
    expect(outsideLines).toContain('datanode ui: 200');
    expect(outsideLines).toContain(`sent to: ${dn}/webhdfs/v1/alice/hello.txt`);
    expect(outsideLines).toContain('read: keelson was here');
    // A process on the host (outside every pod's network) reads the file at the datanode's
    // outside address with the delegation token the namenode gave alice's SPNEGO session, checking
    // the node's address in the datanode's certificate; without the token it is refused.
    const location = outsideLines.find((l) => l.startsWith('location: '))!.slice('location: '.length);
    expect(location).toMatch(/[?&]delegation=[^&]+/);
    const caFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-hdfs-krb-ca-')), 'ca.crt');
    fs.writeFileSync(caFile, pki.caPem);
    const onHost = await runOnHost(
      [
        'set -u',
        `echo "host read: $(curl -sS --cacert ${caFile} --max-time 60 '${location}')"`,
        `without=$(curl -sS --cacert ${caFile} --max-time 60 -o /dev/null -w '%{http_code}' '${location.replace(/[?&]delegation=[^&]+/, '')}')`,
        'echo "host without token: $without"',
      ].join('\n'),
      3 * 60_000,
    );
    fs.rmSync(path.dirname(caFile), { recursive: true, force: true });
    expect(onHost).toContain('host read: keelson was here');
    expect(onHost).toMatch(/host without token: [45]\d\d/);
    const outsideDone = Date.now();

    process.stdout.write(
      `hdfs with kerberos on the real node: images and KDC ${((prepared - started) / 1000).toFixed(1)} s, ` +
        `all pods Ready ${((ready - applied) / 1000).toFixed(1)} s after apply (first Ready: ${startTimes}), ` +
        `one namenode active ${((elected - applied) / 1000).toFixed(1)} s after apply, ` +
        `alice's client pod ${((clientDone - elected) / 1000).toFixed(1)} s, ` +
        `standby active ${((failedOver - deleted) / 1000).toFixed(1)} s after the active pod's deletion ` +
        `(polled with haadmin, a JVM start per poll), the deleted namenode Ready again ` +
        `${((back - deleted) / 1000).toFixed(1)} s after its deletion, the datanode registered with it ` +
        `${((reregistered - back) / 1000).toFixed(1)} s after that; ` +
        `the datanode on external-unstable registered its node's address ` +
        `${((registeredOutside - standbyAgain) / 1000).toFixed(1)} s after the change, the reads through it ` +
        `${((outsideDone - registeredOutside) / 1000).toFixed(1)} s\n`,
    );
  });
});
