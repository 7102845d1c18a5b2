/**
 * HDFS and HBase with Kerberos under keelson's operator, on the real node. The operator image runs
 * as a pod from `keelson deploy`'s manifests (operator-pod-support.ts) and reconciles, as a user
 * creates them: a `keelsonCa` TlsClass (the HDFS' server TLS, which Kerberos requires, from Pod
 * Certificates the operator signs), a `kerberos` AuthenticationClass of a real MIT KDC
 * (kerberos-kdc.ts, its admin allowed to add, inquire and re-key `hdfs/*`, `HTTP/*` and `hbase/*`
 * principals only), a ZooKeeper with a ZNode for each, an HdfsCluster with both classes and an
 * HbaseCluster on it, all created at once, in namespaces enforcing the restricted Pod Security
 * profile. hdfs-kerberos-real-node and hbase-kerberos-real-node prove the same in synth mode (with
 * failover and a regionserver restart); here the classes come from the cluster. Lean for a 2-core
 * machine: one ZooKeeper server, two namenodes, one journalnode, one datanode, one master, one
 * regionserver, one REST server. Proven:
 * - every pod becomes Ready and the HdfsCluster and HbaseCluster Available; every HDFS pod's keytab
 *   init container wrote `hdfs/` and `HTTP/<pod DNS name>`, every HBase pod's `hbase/<pod DNS name>`;
 * - the HBase master, started beside a not yet running HDFS, waited for `/hbase` (which the
 *   namenodes make for the `hbase` user) instead of dying on an AccessControlException: it logged
 *   that it waited and started, and no HBase pod restarted;
 * - a client with alice's keytab, configured by the HDFS discovery ConfigMap only (and the realm's
 *   krb5.conf), writes a file and reads it back; the same client without a ticket, and with SIMPLE
 *   authentication, is refused; the namenodes' /jmx answers over HTTPS without SPNEGO (what the
 *   operator's decommission check reads), checked against the TlsClass's CA;
 * - through the REST server (logged in from its keytab; SPNEGO for its clients), the spec's
 *   superuser creates a table, puts a row and reads it back; without a ticket REST answers 401;
 * - one patch switches HBase's server TLS on (the class the HDFS serves): every HBase pod rolls, the
 *   row reads back over HTTPS (SPNEGO over it, the class's CA trusted from its ClusterTrustBundle),
 *   and plain HTTP no longer answers;
 * - the KDC admin's password is in no ConfigMap, Secret keelson wrote, StatefulSet, pod, Event,
 *   status, pod log or the operator's log.
 * Prints the start times (each pod's first Ready after the resources) and every pod's restarts.
 */
import { hbaseImageRecipe } from '../../constructs/hbase/image';
import { hdfsImageRecipe } from '../../constructs/hdfs/image';
import { zookeeperImageRecipe } from '../../constructs/zookeeper/image';
import { krb5ToolsImageRecipe } from '../../lib/authentication/krb5-tools-image';
import { TLS_CLASS_LABEL, tlsSignerName } from '../../lib/tls/pod-tls';
import { hbaseRest, spnegoRest } from './hbase-support';
import { expectKerberosClientChecks, kerberosHdfsClientPod } from './hdfs-support';
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
import { useOperatorPod } from './operator-pod-support';
import {
  buildImageOnRealNode,
  clientPod,
  execInPod,
  FIRST_TIER_JIT,
  podsLogs,
  podsReadySeconds,
  realNode,
  REAL_NODE_PLACEMENT,
  restartCounts,
  runClientPod,
  statefulSetRolledOut,
  waitPodsReady,
} from './real-node-support';
import { adminClients, uniqueName, waitFor } from './support';

jest.setTimeout(40 * 60_000);

const HADOOP_VERSION = '3.4.2';
const HBASE_VERSION = '2.6.1';
const ZOOKEEPER_VERSION = '3.9.4';
const NAMENODES = ['hdfs-namenodes-default-0', 'hdfs-namenodes-default-1'];
const JOURNALNODE = 'hdfs-journalnodes-default-0';
const DATANODE = 'hdfs-datanodes-default-0';
const HDFS_PODS = [...NAMENODES, JOURNALNODE, DATANODE];
const MASTER = 'hbase-masters-default-0';
const REGIONSERVER = 'hbase-regionservers-default-0';
const REST = 'hbase-restservers-default-0';
const HBASE_PODS = [MASTER, REGIONSERVER, REST];
const ALL = ['zk-servers-default-0', ...HDFS_PODS, ...HBASE_PODS];
/** The REST client pod: kinit and curl with SPNEGO. */
const REST_CLIENT = 'rest-client';
/** HBase's superuser of the test (`clusterConfig.superusers`): with authorization on, it creates the table. */
const SUPERUSER = 'hbase-admin';
/** A Hadoop client run in a namenode pod: its own `hdfs/…` principal (the superuser), a small heap. */
const IN_POD = 'export HADOOP_CLIENT_OPTS="$HADOOP_CLIENT_OPTS -Xmx96m -XX:TieredStopAtLevel=1";';

describe(`HDFS ${HADOOP_VERSION} and HBase ${HBASE_VERSION} with Kerberos under keelson's operator, on the real node`, () => {
  const op = useOperatorPod('krb-op', 'keelson-krb-operator');
  const { core, apps } = adminClients();
  const tlsClass = uniqueName('krb-op-tls');
  const authClass = uniqueName('krb-op-realm');
  const log = (message: string) =>
    process.stdout.write(`kerberos hdfs and hbase under the operator: ${message}\n`);
  const seconds = (since: number, until = Date.now()) => `${((until - since) / 1000).toFixed(1)} s`;

  const role = (memory: string, config: object = {}) => ({
    ...FIRST_TIER_JIT,
    config: { resources: { memory: { limit: memory }, cpu: { min: '100m', max: '1' } }, ...config },
    podOverrides: { spec: REAL_NODE_PLACEMENT },
    roleGroups: { default: { replicas: 1 } },
  });

  it('runs HDFS with server TLS and Kerberos and HBase on it from the cluster’s classes: keytab clients work, one without a ticket is refused, the master never restarts', async () => {
    const ns = op.data.name;
    await realNode();
    const logs = op.logs;
    const started = Date.now();
    await op.start();
    await Promise.all([
      buildImageOnRealNode(zookeeperImageRecipe(ZOOKEEPER_VERSION)),
      buildImageOnRealNode(hdfsImageRecipe(HADOOP_VERSION)),
      buildImageOnRealNode(hbaseImageRecipe(HBASE_VERSION)),
      buildImageOnRealNode(krb5ToolsImageRecipe()),
      buildImageOnRealNode(spnegoClientImageRecipe()),
    ]);
    const kdcHost = await startKdc(ns, ['aci hdfs/*', 'aci HTTP/*', 'aci hbase/*']);
    await createKerberosAdminSecret(ns, 'kerberos-admin');
    await kdcQuery(ns, `addprinc -randkey ${SUPERUSER}`);
    await kdcQuery(ns, `ktadd -k /var/lib/krb5kdc/${SUPERUSER}.keytab ${SUPERUSER}`);
    await core.createNamespacedSecret({
      namespace: ns,
      body: {
        metadata: { name: 'client-kerberos' },
        data: {
          'alice.keytab': await kdcKeytab(ns, 'alice.keytab'),
          [`${SUPERUSER}.keytab`]: await kdcKeytab(ns, `${SUPERUSER}.keytab`),
        },
        stringData: { 'krb5.conf': clientKrb5Conf(kdcHost) },
      },
    });
    log(`operator, images and the KDC ready in ${seconds(started)}`);

    await op.createClusterScoped('TlsClass', tlsClass, { keelsonCa: { certificateLifetime: '24h' } });
    await op.createClusterScoped(
      'AuthenticationClass',
      authClass,
      kerberosClass(authClass, kdcHost, 'kerberos-admin').spec,
    );
    const applied = Date.now();
    await op.create('ZookeeperCluster', 'zk', {
      image: { productVersion: ZOOKEEPER_VERSION, pullPolicy: 'Never' },
      servers: role('384Mi'),
    });
    for (const znode of ['hdfs-znode', 'hbase-znode'])
      await op.create('ZookeeperZnode', znode, { clusterConfig: { zookeeperConfigMapName: 'zk' } });
    const authentication = [{ authenticationClass: authClass }];
    await op.create('HdfsCluster', 'hdfs', {
      image: { productVersion: HADOOP_VERSION, pullPolicy: 'Never' },
      clusterConfig: {
        zookeeperConfigMapName: 'hdfs-znode',
        dfsReplication: 1,
        tls: { serverTlsClass: tlsClass },
        authentication,
      },
      namenodes: { ...role('640Mi'), roleGroups: { default: { replicas: 2 } } },
      journalnodes: role('320Mi'),
      datanodes: role('512Mi'),
    });
    await op.create('HbaseCluster', 'hbase', {
      image: { productVersion: HBASE_VERSION, pullPolicy: 'Never' },
      clusterConfig: {
        hdfsConfigMapName: 'hdfs',
        zookeeperConfigMapName: 'hbase-znode',
        authentication,
        superusers: [SUPERUSER],
      },
      masters: role('768Mi'),
      // With one regionserver the preStop mover has nowhere to move the regions: a short grace.
      regionservers: role('768Mi', { gracefulShutdownTimeout: '1m' }),
      restservers: role('512Mi'),
    });
    await waitPodsReady(ns, ALL, 25 * 60_000, logs);
    const ready = Date.now();
    const startTimes = await podsReadySeconds(ns, ALL, applied);
    for (const kind of ['HdfsCluster', 'HbaseCluster'])
      await op.withLogs(() =>
        waitFor(
          `the ${kind} to be Available`,
          async () =>
            (await op.condition(kind, kind === 'HdfsCluster' ? 'hdfs' : 'hbase', 'Available'))?.status ===
            'True',
          10 * 60_000,
        ),
      );
    log(`all pods Ready ${seconds(applied, ready)} after the resources (first Ready: ${startTimes})`);

    // Each pod's keytab init container wrote its principals, of its pod DNS name.
    const fqdn = (pod: string) => `${pod}.${pod.replace(/-\d+$/, '')}-headless.${ns}.svc.cluster.local`;
    const podLog = (name: string, container: string) =>
      core.readNamespacedPodLog({ name, namespace: ns, container });
    for (const pod of HDFS_PODS) {
      const keytab = await podLog(pod, 'kerberos-keytab');
      for (const service of ['hdfs', 'HTTP'])
        expect(keytab).toContain(`wrote the keytab of ${service}/${fqdn(pod)}@${REALM}`);
    }
    for (const pod of HBASE_PODS)
      expect(await podLog(pod, 'kerberos-keytab')).toContain(
        `wrote the keytab of hbase/${fqdn(pod)}@${REALM}`,
      );

    // The master waited for /hbase, which the namenodes' sidecar makes for hbase, and started once.
    const masterLog = await podLog(MASTER, 'hbase');
    const waits = masterLog
      .split('\n')
      .filter((l) => l.startsWith('keelson: waiting for /hbase on the HDFS'));
    log(
      `the master checked for /hbase ${waits.length + 1} times; the last miss: ${waits.at(-1) ?? '(none)'}`,
    );
    expect(masterLog).toContain('keelson: /hbase is on the HDFS, owned by hbase; starting the master');
    expect(masterLog).toContain(`Login successful for user hbase/${fqdn(MASTER)}@${REALM}`);

    // The superuser (a namenode pod's own principal, hdfs) gives alice a directory.
    expect(
      await execInPod(
        ns,
        NAMENODES[0],
        `${IN_POD} hdfs dfs -mkdir -p /alice && hdfs dfs -chown alice /alice && echo "root: $(hdfs dfs -stat %u /)" 2>&1`,
      ),
    ).toContain('root: hdfs');
    const clientStarted = Date.now();
    const out = await runClientPod(
      ns,
      kerberosHdfsClientPod(hdfsImageRecipe(HADOOP_VERSION).reference, REALM),
      logs,
      20 * 60_000,
    );
    log(`alice's client pod ${seconds(clientStarted)}:\n${out}`);
    expectKerberosClientChecks(out.split('\n'));

    // /jmx over HTTPS without SPNEGO, the certificate checked against the class's CA (in the pod).
    const states: string[] = [];
    for (const pod of NAMENODES) {
      const request = `GET /jmx?qry=Hadoop:service=NameNode,name=NameNodeStatus HTTP/1.0\\r\\nHost: ${fqdn(pod)}\\r\\n\\r\\n`;
      const jmx = await execInPod(
        ns,
        pod,
        `printf '${request}' | timeout 30 openssl s_client -connect ${fqdn(pod)}:9870 -servername ${fqdn(pod)} ` +
          `-CAfile /keelson/tls/server/ca.crt -verify_return_error -verify_hostname ${fqdn(pod)} -quiet 2>/dev/null`,
      );
      expect(jmx.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
      states.push(/"State" : "([a-z]+)"/.exec(jmx)?.[1] ?? '?');
    }
    expect(states.sort()).toEqual(['active', 'standby']);

    // HBase: the regionserver registered, a table and a row through the REST server.
    const hbaseStarted = Date.now();
    // The REST client: the users' keytabs and krb5.conf, kinit and curl; labelled as HBase's own
    // pods for the NetworkPolicy.
    await core.createNamespacedPod({
      namespace: ns,
      body: clientPod({
        name: REST_CLIENT,
        image: spnegoClientImageRecipe().reference,
        command: ['sleep', 'infinity'],
        env: [{ name: 'KRB5_CONFIG', value: '/k/krb5.conf' }],
        labels: { 'app.kubernetes.io/name': 'hbase', 'app.kubernetes.io/instance': 'hbase' },
        memory: '64Mi',
        volumes: [
          { volume: { name: 'k', secret: { secretName: 'client-kerberos' } }, mountPath: '/k' },
          // The CAs of the class, which the operator publishes as ClusterTrustBundles: HBase's
          // HTTPS after the switch below.
          {
            volume: {
              name: 'ca',
              projected: {
                sources: [
                  {
                    clusterTrustBundle: {
                      signerName: tlsSignerName(tlsClass),
                      labelSelector: { matchLabels: { [TLS_CLASS_LABEL]: tlsClass } },
                      path: 'ca.crt',
                    },
                  },
                ],
              },
            },
            mountPath: '/ca',
          },
        ],
      }),
    });
    await waitPodsReady(ns, [REST_CLIENT], 5 * 60_000, logs);
    const rest = spnegoRest(ns, REST_CLIENT, fqdn(REST), REALM, SUPERUSER);
    const { liveServers, tableAndRow } = hbaseRest(rest, logs);
    expect(await liveServers(1, 15 * 60_000)).toContain(fqdn(REGIONSERVER));
    await tableAndRow(10 * 60_000, SUPERUSER);
    // REST takes SPNEGO only: without a ticket, 401.
    expect(
      await rest('GET', '/keelson/row1/cf:greeting', 'application/octet-stream', '', '', null),
    ).toMatchObject({ status: 401 });
    log(`a table and a row through the REST server ${seconds(hbaseStarted)} after alice's checks`);

    // No HBase pod restarted (the master waited instead of dying once on /hbase).
    const restarts = await restartCounts(ns, ALL);
    log(`restarts: ${JSON.stringify(restarts)}`);
    for (const pod of HBASE_PODS) expect({ pod, restarts: restarts[pod] }).toEqual({ pod, restarts: 0 });

    // A user's change to the running HBase: server TLS on, with the class the HDFS already serves.
    // Every HBase pod rolls; then REST speaks HTTPS only (SPNEGO over it), plain HTTP no more.
    const switched = Date.now();
    await op.patchSpec('HbaseCluster', 'hbase', { clusterConfig: { tls: { serverTlsClass: tlsClass } } });
    await op.withLogs(() =>
      waitFor(
        'the HBase discovery to say https',
        async () =>
          (await core.readNamespacedConfigMap({ name: 'hbase', namespace: ns })).data?.HBASE_REST?.startsWith(
            'https://',
          ) ?? false,
        5 * 60_000,
      ),
    );
    for (const role of ['masters', 'regionservers', 'restservers'])
      await op.withLogs(() => statefulSetRolledOut(ns, `hbase-${role}-default`, 1));
    const overHttps = spnegoRest(ns, REST_CLIENT, fqdn(REST), REALM, SUPERUSER, '/ca/ca.crt');
    let read: { status: number; body: string } | undefined;
    await op.withLogs(() =>
      waitFor(
        'the row read over HTTPS',
        async () =>
          (read = await overHttps('GET', '/keelson/row1/cf:greeting', 'application/octet-stream').catch(
            () => undefined,
          ))?.body === 'keelson was here',
        10 * 60_000,
        undefined,
        undefined,
        async () => JSON.stringify(read),
      ),
    );
    log(`HBase switched to HTTPS: the row read over HTTPS ${seconds(switched)} after the patch`);
    expect(
      await overHttps('GET', '/keelson/row1/cf:greeting', 'application/octet-stream', '', '', null),
    ).toMatchObject({ status: 401 });
    // Plain HTTP to the port gets no HTTP answer (curl: "Received HTTP/0.9 when not allowed").
    expect(await rest('GET', '/keelson/row1/cf:greeting', 'application/octet-stream')).toMatchObject({
      status: 0,
      body: '',
    });

    // The admin password is nowhere keelson, the pods or the operator wrote.
    const ours = new Set(['kdc-admin', 'kerberos-admin', 'client-kerberos']);
    const secrets = (await core.listNamespacedSecret({ namespace: ns })).items
      .filter((s) => !ours.has(s.metadata!.name!))
      .map((s) => Object.values(s.data ?? {}).map((v) => Buffer.from(v, 'base64').toString()));
    const written = JSON.stringify([
      (await core.listNamespacedConfigMap({ namespace: ns })).items,
      secrets,
      (await apps.listNamespacedStatefulSet({ namespace: ns })).items,
      (await core.listNamespacedPod({ namespace: ns })).items,
      (await core.listNamespacedEvent({ namespace: ns })).items,
      (await core.listNamespacedEvent({ namespace: op.home.name })).items,
      await op.status('HdfsCluster', 'hdfs'),
      await op.status('HbaseCluster', 'hbase'),
      await podsLogs(ns, ALL),
      await op.operatorLogs(),
    ]);
    expect(written).toContain('wrote the keytab of hbase/');
    expect(written.includes(KDC_ADMIN_PASSWORD)).toBe(false);
  });
});
