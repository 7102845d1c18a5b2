/**
 * HBase on a Kerberos HDFS on the real node: keelson's HBase, Hadoop and ZooKeeper images, a real MIT
 * KDC (test/integration/kerberos-kdc.ts) whose admin may create `hdfs/*`, `HTTP/*` and `hbase/*`
 * principals, the HDFS' server TLS from certificates the test signs, in a namespace enforcing the
 * restricted Pod Security profile. Lean for a 2-core machine: one ZooKeeper server (not Kerberized),
 * two namenodes (one alone does not start: its format step waits to bootstrap from a peer), one journalnode, one datanode; one master, one regionserver, one REST server.
 * - Every pod becomes Ready; each HBase pod's `kerberos-keytab` init container wrote its
 *   `hbase/<pod DNS name>` keys, the master and the regionserver logged in from them, and the
 *   regionserver registered with the master (one live server).
 * - The namenode's refresh sidecar made `/hbase` for the `hbase` user (HDFS' service directories):
 *   listed as the `hdfs` superuser, `/` stays hdfs', `/hbase` and HBase's root dir below it are
 *   hbase's.
 * - Through the REST server, which takes SPNEGO only, from a client pod (kinit from a keytab,
 *   `curl --negotiate -u :` to the REST pod's DNS name): the superuser hbase-admin
 *   (`clusterConfig.superusers`) creates a table; alice, with no grant, may create no table and put
 *   no row (403 from HBase's AccessController); hbase-admin grants her RWA (a row of `hbase:acl`), and
 *   then she puts a row and reads it back, and the REST server's cookie names her; the same curl without a ticket gets 401 with a
 *   Negotiate challenge, as does a request without credentials from the REST pod itself; the JMX
 *   exporter's `/metrics` (Prometheus' scrape, its own port) answers without credentials.
 * - A client pod with HBase's discovery files reads the table over HBase's RPC (CanaryTool) with
 *   alice's keytab; the same client without a ticket, and with SIMPLE authentication, is refused.
 * - The regionserver's pod is deleted; the new one logs in with a new keytab, registers, and the row
 *   reads back.
 * - The KDC admin's password is in no synthesized manifest.
 * Prints the start times (each pod's first Ready after apply).
 */
import { Chart, Testing } from 'cdk8s';
import { HbaseCluster } from '../../constructs/hbase';
import {
  HBASE_CLASSPATH,
  HBASE_IMAGE_CONF_DIR,
  HBASE_JAVA17_OPTIONS,
} from '../../constructs/hbase/distribution';
import { hbaseImageRecipe } from '../../constructs/hbase/image';
import { HdfsCluster } from '../../constructs/hdfs';
import { hdfsImageRecipe } from '../../constructs/hdfs/image';
import { ZookeeperCluster, ZookeeperZnode } from '../../constructs/zookeeper';
import { zookeeperImageRecipe } from '../../constructs/zookeeper/image';
import { krb5ToolsImageRecipe } from '../../lib/authentication/krb5-tools-image';
import { KubeClient } from '../../lib/operator/client';
import { applyAll, RESTRICTED, type Manifest } from './admission';
import { hbaseRest, spnegoRest, type SpnegoRest } from './hbase-support';
import { createHdfsTestCertificates, HDFS_TEST_TLS_CLASS, hdfsTestTlsVolumes } from './hdfs-support';
import {
  clientKrb5Conf,
  createKerberosAdminSecret,
  KDC_ADMIN_PASSWORD,
  kdcKeytab,
  kdcQuery,
  kerberosClass,
  REALM,
  spnegoClientImageRecipe,
  startKdc,
} from './kerberos-kdc';
import {
  buildImageOnRealNode,
  CLIENT_JVM_OPTIONS,
  execInPod,
  FIRST_TIER_JIT,
  podsLogs,
  realNode,
  REAL_NODE_PLACEMENT,
  runClientPod,
  clientPod,
  podsReadySeconds,
  restartCounts,
  waitPodsReady,
} from './real-node-support';
import { adminClients, adminKubeConfig, useTestNamespace, waitFor } from './support';
import { TestPki } from './test-pki';

jest.setTimeout(40 * 60_000);

const VERSION = '2.6.1';
const HADOOP_VERSION = '3.4.2';
const ZOOKEEPER_VERSION = '3.9.4';
const NAMENODES = ['hdfs-namenodes-default-0', 'hdfs-namenodes-default-1'];
const JOURNALNODE = 'hdfs-journalnodes-default-0';
const DATANODE = 'hdfs-datanodes-default-0';
const MASTER = 'hbase-masters-default-0';
const REGIONSERVER = 'hbase-regionservers-default-0';
const REST = 'hbase-restservers-default-0';
const HBASE_PODS = [MASTER, REGIONSERVER, REST];
/** A pod with curl and MIT's kinit, alice's keytab and krb5.conf: the REST client. */
const REST_CLIENT = 'rest-client';
/** A user of the realm the HBase names among its superusers (`clusterConfig.superusers`). */
const SUPERUSER = 'hbase-admin';
const ALL = ['zk-servers-default-0', ...NAMENODES, JOURNALNODE, DATANODE, ...HBASE_PODS];
const TLS_ROLES = { namenodes: NAMENODES, journalnodes: [JOURNALNODE], datanodes: [DATANODE] } as const;
/** A Hadoop client run in a namenode pod: its own `hdfs/…` principal and krb5.conf, a small heap. */
const IN_POD = 'export HADOOP_CLIENT_OPTS="$HADOOP_CLIENT_OPTS -Xmx96m -XX:TieredStopAtLevel=1";';

describe(`HBase ${VERSION} on a Kerberos HDFS on the real node`, () => {
  const ns = useTestNamespace('hbase-krb', RESTRICTED);
  const { core } = adminClients();
  const client = new KubeClient(adminKubeConfig());
  const pki = new TestPki('keelson hbase kerberos test CA');
  afterAll(() => pki.remove());
  const logs = () => podsLogs(ns.name, [...ALL, 'kdc']);
  const fqdn = (pod: string) => `${pod}.${pod.replace(/-\d+$/, '')}-headless.${ns.name}.svc.cluster.local`;

  const small = (memory: string) => ({
    resources: { memory: { limit: memory }, cpu: { min: '100m', max: '1' } },
  });
  const hdfsRole = (memory: string, name: keyof typeof TLS_ROLES) => ({
    config: small(memory),
    ...FIRST_TIER_JIT,
    // The test's certificate in place of the pod certificate keelson's operator would sign.
    podOverrides: { spec: { ...REAL_NODE_PLACEMENT, volumes: hdfsTestTlsVolumes(name) } },
    roleGroups: { default: { replicas: TLS_ROLES[name].length } },
  });
  const hbaseRole = (memory: string, extra: object = {}) => ({
    config: { ...small(memory), ...extra },
    podOverrides: { spec: REAL_NODE_PLACEMENT },
    roleGroups: { default: { replicas: 1 } },
  });

  function manifests(kdcHost: string): Manifest[] {
    const chart = new Chart(Testing.app(), 'platform', { namespace: ns.name });
    const zk = new ZookeeperCluster(chart, 'zk', {
      image: { productVersion: ZOOKEEPER_VERSION, pullPolicy: 'Never' },
      servers: {
        config: small('384Mi'),
        ...FIRST_TIER_JIT,
        podOverrides: { spec: REAL_NODE_PLACEMENT },
        roleGroups: { default: { replicas: 1 } },
      },
    });
    const options = { authenticationClasses: [kerberosClass('realm', kdcHost, 'kerberos-admin')] };
    const hdfs = new HdfsCluster(
      chart,
      'hdfs',
      {
        image: { productVersion: HADOOP_VERSION, pullPolicy: 'Never' },
        clusterConfig: {
          dfsReplication: 1,
          tls: { serverTlsClass: HDFS_TEST_TLS_CLASS },
          authentication: [{ authenticationClass: 'realm' }],
        },
        zookeeper: new ZookeeperZnode(chart, 'hdfs-znode', { zookeeper: zk }),
        namenodes: hdfsRole('640Mi', 'namenodes'),
        journalnodes: hdfsRole('320Mi', 'journalnodes'),
        datanodes: hdfsRole('512Mi', 'datanodes'),
      },
      { ...options, tlsClasses: [{ name: HDFS_TEST_TLS_CLASS }] },
    );
    new HbaseCluster(
      chart,
      'hbase',
      {
        image: { productVersion: VERSION, pullPolicy: 'Never' },
        clusterConfig: { authentication: [{ authenticationClass: 'realm' }], superusers: [SUPERUSER] },
        hdfs,
        zookeeper: new ZookeeperZnode(chart, 'hbase-znode', { zookeeper: zk }),
        masters: { ...hbaseRole('768Mi'), ...FIRST_TIER_JIT },
        // With one regionserver the preStop mover has nowhere to move the regions: a short grace.
        regionservers: hbaseRole('768Mi', { gracefulShutdownTimeout: '1m' }),
        restservers: hbaseRole('512Mi'),
      },
      options,
    );
    return Testing.synth(chart) as Manifest[];
  }

  const q = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;
  /**
   * Requests to the REST pod's DNS name from the REST client pod, as alice unless another user is
   * named (the namespace is known once the suite runs).
   */
  const rest: SpnegoRest = (...args) => spnegoRest(ns.name, REST_CLIENT, fqdn(REST), REALM, 'alice')(...args);
  /** One HTTP/1.0 GET from inside the REST pod to its own `port` (bash's /dev/tcp), no credentials: status and body. */
  async function rawGet(port: number, path: string) {
    const script = `exec 3<>/dev/tcp/127.0.0.1/${port}; printf ${q(`GET ${path} HTTP/1.0\\r\\n\\r\\n`)} >&3; cat <&3`;
    const out = await execInPod(ns.name, REST, `bash -c ${q(script)}`);
    const [status, ...rest] = out.split('\r\n\r\n');
    return {
      status: Number(/^HTTP\/1\.\d (\d{3})/.exec(status)?.[1] ?? 0),
      head: status,
      body: rest.join('\r\n\r\n'),
    };
  }
  const { readRow, clusterStatus, liveServers, createTable } = hbaseRest(rest, logs);

  it('runs HBase with Kerberos on a Kerberos HDFS: keytab logins, a row through REST as alice (SPNEGO) after a grant, REST and RPC refused without a ticket', async () => {
    await realNode();
    const started = Date.now();
    await buildImageOnRealNode(zookeeperImageRecipe(ZOOKEEPER_VERSION));
    await buildImageOnRealNode(hdfsImageRecipe(HADOOP_VERSION));
    await buildImageOnRealNode(hbaseImageRecipe(VERSION));
    await buildImageOnRealNode(krb5ToolsImageRecipe());
    await buildImageOnRealNode(spnegoClientImageRecipe());
    // The admin may add, inquire and re-key HDFS' and HBase's principals only.
    const kdcHost = await startKdc(ns.name, ['aci hdfs/*', 'aci HTTP/*', 'aci hbase/*']);
    await createKerberosAdminSecret(ns.name, 'kerberos-admin');
    await kdcQuery(ns.name, `addprinc -randkey ${SUPERUSER}`);
    await kdcQuery(ns.name, `ktadd -k /var/lib/krb5kdc/${SUPERUSER}.keytab ${SUPERUSER}`);
    await createHdfsTestCertificates(ns.name, pki, TLS_ROLES);
    await core.createNamespacedSecret({
      namespace: ns.name,
      body: {
        metadata: { name: 'client-kerberos' },
        data: {
          'alice.keytab': await kdcKeytab(ns.name, 'alice.keytab'),
          [`${SUPERUSER}.keytab`]: await kdcKeytab(ns.name, `${SUPERUSER}.keytab`),
        },
        stringData: { 'krb5.conf': clientKrb5Conf(kdcHost) },
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
    // The REST client: alice's keytab and krb5.conf, kinit and curl; labelled as HBase's own pods for
    // the NetworkPolicy.
    await core.createNamespacedPod({
      namespace: ns.name,
      body: clientPod({
        name: REST_CLIENT,
        image: spnegoClientImageRecipe().reference,
        command: ['sleep', 'infinity'],
        env: [
          { name: 'KRB5_CONFIG', value: '/k/krb5.conf' },
          { name: 'KRB5CCNAME', value: 'FILE:/tmp/alice.cc' },
        ],
        labels: { 'app.kubernetes.io/name': 'hbase', 'app.kubernetes.io/instance': 'hbase' },
        memory: '64Mi',
        volumes: [{ volume: { name: 'k', secret: { secretName: 'client-kerberos' } }, mountPath: '/k' }],
      }),
    });
    await waitPodsReady(ns.name, ALL, 25 * 60_000, logs);
    await waitPodsReady(ns.name, [REST_CLIENT], 5 * 60_000, logs);
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
    const podLog = (name: string, container: string) =>
      core.readNamespacedPodLog({ name, namespace: ns.name, container });
    for (const pod of HBASE_PODS)
      expect(await podLog(pod, 'kerberos-keytab')).toContain(
        `wrote the keytab of hbase/${fqdn(pod)}@${REALM}`,
      );
    // The REST server's keytab holds its SPNEGO principal too; the others' do not.
    expect(await podLog(REST, 'kerberos-keytab')).toContain(
      `wrote the keytab of HTTP/${fqdn(REST)}@${REALM}`,
    );
    expect(await podLog(REGIONSERVER, 'kerberos-keytab')).not.toContain('HTTP/');

    // The regionserver registered: the master counts one live server (the REST server asks it).
    const status = await liveServers(1, 15 * 60_000);
    const serving = Date.now();
    // The master waited for its directory on the HDFS instead of dying on it: no restart.
    expect(await podLog(MASTER, 'hbase')).toContain(
      'keelson: /hbase is on the HDFS, owned by hbase; starting the master',
    );
    const restarts = await restartCounts(ns.name, ALL);
    process.stdout.write(`hbase on kerberos hdfs, restarts: ${JSON.stringify(restarts)}\n`);
    expect(restarts[MASTER]).toBe(0);
    // The master and the regionserver logged in from their keytabs (Hadoop's UGI says so).
    for (const pod of [MASTER, REGIONSERVER])
      expect(await podLog(pod, 'hbase')).toContain(`Login successful for user hbase/${fqdn(pod)}@${REALM}`);
    expect(status).toContain(fqdn(REGIONSERVER));

    // The table, created through the REST server by the superuser hbase-admin.
    await createTable(10 * 60_000, SUPERUSER);
    // Authorization: alice, with no grant, may create no table and not write to this one — HBase's
    // AccessController refuses her calls, made by the REST server on her behalf: 403.
    const aliceCreates = await rest(
      'PUT',
      '/alice/schema',
      'application/json',
      'application/json',
      '{"name":"alice","ColumnSchema":[{"name":"cf"}]}',
    );
    const putRow = () =>
      rest('PUT', '/keelson/row1/cf:greeting', '*/*', 'application/octet-stream', 'keelson was here');
    const refused = await putRow();
    process.stdout.write(
      `hbase rest, alice without a grant: create ${aliceCreates.status}, put ${refused.status}: ${refused.body.split('\n')[1] ?? ''}\n`,
    );
    expect(aliceCreates.status).toBe(403);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatch(/AccessDeniedException: Insufficient permissions/);
    // The superuser grants alice read, write and admin (CanaryTool below describes the table) on the
    // table: a row of hbase:acl, which the AccessController hands to every server (through
    // ZooKeeper) as it is written. Then alice's put goes through.
    const grant = await rest(
      'PUT',
      '/hbase:acl/keelson/l:alice',
      '*/*',
      'application/octet-stream',
      'RWA',
      SUPERUSER,
    );
    expect(grant.status).toBe(200);
    let put = refused;
    await waitFor(
      'alice’s put to be allowed after the grant',
      async () => (put = await putRow()).status === 200,
      3 * 60_000,
      undefined,
      undefined,
      async () => JSON.stringify(put),
    );
    expect(await readRow()).toBe('keelson was here');
    // The REST server took alice's SPNEGO login: its authentication cookie names her.
    expect(put.headers).toMatch(/Set-Cookie: hadoop\.auth="?u=alice&p=alice@KEELSON\.TEST&t=kerberos&/i);
    // Without a ticket, the same curl: 401 with a Negotiate challenge, no row.
    const noTicket = await rest('GET', '/keelson/row1/cf:greeting', 'application/octet-stream', '', '', null);
    process.stdout.write(`hbase rest without a ticket: ${noTicket.status}\n${noTicket.headers}\n`);
    expect(noTicket.status).toBe(401);
    expect(noTicket.headers).toMatch(/WWW-Authenticate: Negotiate/i);
    expect(noTicket.body).not.toContain('keelson was here');
    // No credentials at all, from the REST pod itself: 401 too (SPNEGO on every path of the REST port,
    // for any caller); the exporter's /metrics on its own port (Prometheus' scrape) answers unauthenticated.
    expect((await rawGet(8080, '/keelson/row1/cf:greeting')).status).toBe(401);
    expect((await rawGet(8080, '/version/cluster')).status).toBe(401);
    const metrics = await rawGet(9404, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/^jvm_/m);
    const written = Date.now();

    // As the hdfs superuser: / is hdfs', /hbase (the service directory) and HBase's root dir hbase's.
    const rootDir = `/hbase/${ns.name}/hbase`;
    const owners = await execInPod(
      ns.name,
      NAMENODES[0],
      `${IN_POD} hdfs dfs -stat '%n %u:%g %a' / /hbase ${rootDir} 2>&1; hdfs dfs -ls ${rootDir} 2>&1 | tail -n +2`,
    );
    process.stdout.write(`hbase on kerberos hdfs, owners as the superuser hdfs:\n${owners}\n`);
    const lines = owners.split('\n');
    expect(lines).toContainEqual(expect.stringMatching(/^\S* hdfs:\S+ 755$/));
    // `/hbase` (made by the HDFS) and HBase's root dir (made by HBase): both named hbase, both hbase's.
    expect(lines.filter((l) => /^hbase hbase:hbase \d{3}$/.test(l))).toHaveLength(2);
    expect(owners).toMatch(new RegExp(`hbase \\S+ +\\d+ \\S+ \\S+ ${rootDir}/data`));

    // HBase's RPC from a client pod with HBase's discovery files: alice with her keytab reads the
    // table (CanaryTool); the same client without a ticket, and with SIMPLE authentication, is refused.
    // `canary <config dir>`: CanaryTool reads one row of each region of the table over HBase's RPC.
    const canary =
      `canary() { timeout 240 java ${CLIENT_JVM_OPTIONS} ${HBASE_JAVA17_OPTIONS.join(' ')} -Djava.security.krb5.conf=/k/krb5.conf -Dzookeeper.sasl.client=false ` +
      // The image's console config (INFO): the RPC client's refusals are WARN records.
      `-Dlog4j2.configurationFile=${HBASE_IMAGE_CONF_DIR}/log4j2.properties ` +
      `-cp "$1:${HBASE_CLASSPATH}" org.apache.hadoop.hbase.tool.CanaryTool -t 120000 keelson; }`;
    const retries =
      '<property><name>hbase.client.retries.number</name><value>2</value></property>' +
      '<property><name>hbase.client.pause</name><value>200</value></property></configuration>';
    const out = await runClientPod(
      ns.name,
      {
        name: 'rpc-client',
        image: hbaseImageRecipe(VERSION).reference,
        command: [
          '/bin/bash',
          '-c',
          [
            'set -u',
            canary,
            'mkdir -p /tmp/krb /tmp/simple',
            `for d in krb simple; do cp /etc/hbase-client/*.xml /tmp/$d/; sed -i 's#</configuration>#${retries}#' /tmp/$d/hbase-site.xml; done`,
            "sed -i 's#<value>kerberos</value>#<value>simple</value>#' /tmp/simple/*.xml",
            `(export KRB5PRINCIPAL=alice@${REALM} KRB5KEYTAB=/k/alice.keytab; canary /tmp/krb) > /tmp/alice.log 2>&1; echo "alice exit: $?"`,
            'grep -m3 -i "error\\|exception" /tmp/alice.log',
            'canary /tmp/krb > /tmp/none.log 2>&1; echo "no ticket exit: $?"',
            'echo "no ticket: $(grep -m1 -o "No matching SASL authentication provider[^$]*" /tmp/none.log | head -c 300)"',
            'grep -i -m3 "kerberos\\|sasl\\|gss\\|authenticat\\|tgt" /tmp/none.log | cut -c1-400 | sed "s/^/  none> /"',
            'canary /tmp/simple > /tmp/simple.log 2>&1; echo "simple exit: $?"',
            'echo "simple: $(grep -m1 -o "ConnectionClosedException: Call to address=[^ ]* failed on local exception" /tmp/simple.log)"',
            'grep -i -m3 "exception\\|sasl\\|authenticat" /tmp/simple.log | cut -c1-400 | sed "s/^/  simple> /"',
          ].join('\n'),
        ],
        labels: { 'app.kubernetes.io/name': 'hbase', 'app.kubernetes.io/instance': 'hbase' },
        memory: '384Mi',
        volumes: [
          {
            volume: {
              name: 'hbase-client',
              projected: {
                sources: [
                  {
                    configMap: { name: 'hbase', items: [{ key: 'hbase-site.xml', path: 'hbase-site.xml' }] },
                  },
                  {
                    configMap: {
                      name: 'hdfs',
                      items: [
                        { key: 'core-site.xml', path: 'core-site.xml' },
                        { key: 'hdfs-site.xml', path: 'hdfs-site.xml' },
                      ],
                    },
                  },
                ],
              },
            },
            mountPath: '/etc/hbase-client',
          },
          { volume: { name: 'k', secret: { secretName: 'client-kerberos' } }, mountPath: '/k' },
        ],
      },
      logs,
      20 * 60_000,
    );
    process.stdout.write(`hbase on kerberos hdfs, the RPC client:\n${out}\n`);
    const clientLines = out.split('\n');
    expect(clientLines).toContain('alice exit: 0');
    expect(clientLines.find((l) => l.startsWith('no ticket exit: '))).not.toBe('no ticket exit: 0');
    expect(clientLines.find((l) => l.startsWith('no ticket: '))).toMatch(
      /No matching SASL authentication provider and supporting token found from providers for user: keelson \(auth:SIMPLE\)/,
    );
    expect(clientLines.find((l) => l.startsWith('simple exit: '))).not.toBe('simple exit: 0');
    // The regionserver hangs up on a SIMPLE client (HBase's server takes no SIMPLE connection under Kerberos).
    expect(clientLines.find((l) => l.startsWith('simple: '))).toMatch(
      /ConnectionClosedException: Call to address=hbase-regionservers-default-0\.\S+:16020 failed on local exception/,
    );
    const clientDone = Date.now();

    // The regionserver's pod goes; the new one logs in with new keys, registers, and serves the row.
    const oldUid = (await core.readNamespacedPod({ name: REGIONSERVER, namespace: ns.name })).metadata?.uid;
    const deleted = Date.now();
    await core.deleteNamespacedPod({ name: REGIONSERVER, namespace: ns.name });
    await waitFor(
      `${REGIONSERVER} to be replaced`,
      async () =>
        (await core.readNamespacedPod({ name: REGIONSERVER, namespace: ns.name }).catch(() => undefined))
          ?.metadata?.uid !== oldUid,
      10 * 60_000,
    );
    await waitPodsReady(ns.name, [REGIONSERVER], 15 * 60_000, logs);
    let row: string | undefined;
    await waitFor(
      'the row to read back after the regionserver restart',
      async () => (row = await readRow()) === 'keelson was here',
      15 * 60_000,
      undefined,
      undefined,
      async () => `${row}\n${await clusterStatus()}\n${await logs()}`,
    );
    const back = Date.now();
    expect(await podLog(REGIONSERVER, 'hbase')).toContain(
      `Login successful for user hbase/${fqdn(REGIONSERVER)}@${REALM}`,
    );

    process.stdout.write(
      `hbase with kerberos on the real node: images and KDC ${((prepared - started) / 1000).toFixed(1)} s, ` +
        `all pods Ready ${((ready - applied) / 1000).toFixed(1)} s after apply (first Ready: ${startTimes}), ` +
        `one live regionserver ${((serving - applied) / 1000).toFixed(1)} s after apply, table and row ` +
        `${((written - serving) / 1000).toFixed(1)} s, RPC client pod ${((clientDone - written) / 1000).toFixed(1)} s, ` +
        `the row served again ${((back - deleted) / 1000).toFixed(1)} s after the regionserver pod's deletion\n`,
    );
  });
});
