/**
 * The Hive metastore from keelson's manifests on the real node (real containers, keelson's image
 * built here and imported into the node's containerd), in a namespace enforcing the restricted
 * Pod Security profile, on PostgreSQL (Debian's postgresql-15 in a pod of its own, also restricted;
 * see database-servers.ts):
 * - the schema-init container creates the schema; after the pod is deleted, the new pod's
 *   schema-init finds it and changes nothing, and the database created before is still listed;
 * - a Thrift client (a pod running keelson's image) creates and lists a database and creates a
 *   partitioned table through the metastores' client Service, and a partition filter finds the
 *   partition with the metastore's PostgreSQL-dialect SQL (no fallback to its ORM);
 * - the pods run as uid 10001 with a read-only root (the restricted profile admits nothing else);
 * - a test Prometheus scrapes the metastore through keelson's scrape job and loads keelson's rules;
 *   the metastore's process frozen (SIGSTOP, a hung JVM) makes HiveMetastoreUnavailable and
 *   KeelsonMetricsTargetDown fire, quiet before; thawed, it is scraped again;
 * - with `clusterConfig.logging.aggregatorConfigMapName`, the metastore's log agent ships its
 *   records, with their source, to a test aggregator (where the agent is built; see log-shipping.ts);
 * - the root logger set to DEBUG on the running stacklet takes effect without a restart (Log4j 2
 *   re-reads the file the kubelet updates): DEBUG records appear in the file, and at the aggregator,
 *   while the pod and the StatefulSet's pod template stay the same.
 * - a `kerberos` AuthenticationClass added to the running metastore (against a real MIT KDC,
 *   kerberos-kdc.ts) rolls it: its init container creates the shared principal
 *   `hive/<client Service DNS name>@REALM` once and exports its keys unchanged (key version 1 after
 *   the start); a client with alice's keytab creates and lists databases over SASL (and still sees
 *   the database made before), a client without a ticket and a client without SASL are refused;
 *   the admin password is in no manifest, ConfigMap, StatefulSet, pod, pod log or Event;
 * - a Trino (a coordinator and a worker) with a hive catalog on that metastore, started with the
 *   class: each pod's init container writes the keytab of its own `trino/<pod DNS name>@REALM`
 *   (created by the admin, who may add, inquire and change the keys of trino/* principals), and
 *   the catalog logs in to the metastore with it: `SHOW SCHEMAS` lists the databases alice and the
 *   first part made.
 * Not covered here: S3 (the warehouse is the pod's own emptyDir).
 * Each failure prints the containers' logs.
 */
import { Chart, Testing } from 'cdk8s';
import { HIVE_METRIC_NAMES, HiveCluster } from '../../constructs/hive';
import { hiveImageRecipe } from '../../constructs/hive/image';
import { TrinoCatalog, TrinoCluster } from '../../constructs/trino';
import { trinoImageRecipe } from '../../constructs/trino/image';
import { krb5ToolsImageRecipe } from '../../lib/authentication/krb5-tools-image';
import { KubeClient } from '../../lib/operator/client';
import { applyAll, RESTRICTED, type Manifest } from './admission';
import {
  installMetastoreProbe,
  runMetastoreProbe,
  startPostgres,
  postgresMetastoreDatabase,
} from './hive-real-node-support';
import {
  clientKrb5Conf,
  createKerberosAdminSecret,
  KDC_ADMIN_PASSWORD,
  kdcKeytab,
  kdcQuery,
  kerberosClass,
  REALM,
  startKdc,
} from './kerberos-kdc';
import {
  FIRST_TIER_JIT,
  CLIENT_JVM_OPTIONS,
  buildImageOnRealNode,
  podsLogs,
  realNode,
  REAL_NODE_PLACEMENT,
  runClientPod,
  waitPodsReady,
} from './real-node-support';
import type { OtlpReceiver } from '../support/otlp-receiver';
import {
  observedClusterConfig,
  explainSkippedShipping,
  expectRecordsShipped,
  logAgentUsage,
  SHIP_LOGS,
  startLogShipping,
} from './log-shipping';
import { expectSharedRecordShape, readStructuredLog, type LogRecord } from './structured-logs';
import { startPrometheus, withAlertDelay } from './prometheus-support';
import { adminClients, adminKubeConfig, useTestNamespace, waitFor } from './support';

jest.setTimeout(30 * 60_000);

const VERSION = '4.0.1';
const TRINO_VERSION = '476';
const TRINO_PODS = ['trino-coordinators-default-0', 'trino-workers-default-0'];
const METASTORE = 'hive-metastores-default-0';

explainSkippedShipping('hive-real-node');
let aggregator: OtlpReceiver | undefined;
afterAll(async () => {
  await aggregator?.close();
});

describe('the Hive metastore on the real node, on PostgreSQL', () => {
  const ns = useTestNamespace('hive-real', RESTRICTED);
  const { core, apps } = adminClients();
  const client = new KubeClient(adminKubeConfig());
  const probe = (name: string, args: string[], table?: string) =>
    runMetastoreProbe(ns.name, {
      name,
      version: VERSION,
      metastoreUri: `thrift://hive-metastores.${ns.name}.svc.cluster.local:9083`,
      args,
      table,
      metastorePods: [METASTORE, 'postgres'],
    });

  // What the kerberos step takes over from the first part: the running metastore's manifests and the KDC.
  let hiveManifests: (root: 'INFO' | 'DEBUG', kerberos?: boolean) => Manifest[] = () => {
    throw new Error('the first test did not get to synthesize the metastore');
  };
  let kdcHost: Promise<string> | undefined;
  let kdcHostName = '';

  it('creates the schema once, serves Thrift, keeps both across a restart, and takes a kerberos class: a client with a keytab creates and lists databases, one without a ticket or without SASL is refused', async () => {
    await realNode();
    await buildImageOnRealNode(hiveImageRecipe(VERSION));
    await installMetastoreProbe(ns.name, VERSION);
    const host = await startPostgres(ns.name);
    // The KDC of the kerberos step starts meanwhile. Its admin may add, inquire and extract the keys
    // of hive/* principals (`e`: the shared principal's keys are exported unchanged), and add, inquire
    // and change the keys of trino/* principals (`c`: each Trino pod's own, new keys at each start).
    kdcHost = Promise.all([
      startKdc(ns.name, ['aie hive/*', 'aci trino/*']),
      buildImageOnRealNode(krb5ToolsImageRecipe()),
      buildImageOnRealNode(trinoImageRecipe(TRINO_VERSION)),
      createKerberosAdminSecret(ns.name, 'kerberos-admin'),
      core.createNamespacedSecret({
        namespace: ns.name,
        body: {
          metadata: { name: 'trino-internal-secret' },
          stringData: { internalSharedSecret: 'hive-krb' },
        },
      }),
    ]).then(([kdc]) => kdc);
    kdcHost.catch(() => undefined); // awaited, with its error, by the kerberos step
    let dependencies: Record<string, Record<string, string>> = {};
    if (SHIP_LOGS) ({ aggregator, dependencies } = await startLogShipping(ns.name));

    // keelson's manifests, placed on the real node. The file takes DEBUG; the root logger decides.
    // With the kerberos class, a Trino with a hive catalog on the metastore comes too.
    hiveManifests = (root: 'INFO' | 'DEBUG', kerberos = false) => {
      const chart = new Chart(Testing.app(), 'platform', { namespace: ns.name });
      const classes = kerberos ? [kerberosClass('realm', kdcHostName, 'kerberos-admin')] : [];
      const hive = new HiveCluster(
        chart,
        'hive',
        {
          image: { productVersion: VERSION, pullPolicy: 'Never' },
          clusterConfig: {
            database: postgresMetastoreDatabase(host),
            ...observedClusterConfig(),
            ...(kerberos ? { authentication: [{ authenticationClass: 'realm' }] } : {}),
          },
          metastores: {
            config: {
              logging: {
                containers: { hive: { file: { level: 'DEBUG' }, loggers: { ROOT: { level: root } } } },
              },
            },
            podOverrides: { spec: REAL_NODE_PLACEMENT },
          },
        },
        { dependencies, authenticationClasses: classes },
      );
      if (kerberos) {
        const labels = { trino: 'hive-kerberos' };
        const lake = new TrinoCatalog(chart, 'lake', { connector: { hive: {} }, metastore: hive, labels });
        const small = { resources: { cpu: { min: '200m', max: '2' }, memory: { limit: '1536Mi' } } };
        const placement = { podOverrides: { spec: REAL_NODE_PLACEMENT } };
        const trino = new TrinoCluster(
          chart,
          'trino',
          {
            image: { productVersion: TRINO_VERSION, pullPolicy: 'Never' },
            clusterConfig: { catalogLabelSelector: { matchLabels: labels } },
            catalogs: [lake],
            coordinators: { config: small, ...placement, ...FIRST_TIER_JIT },
            workers: { config: small, ...placement, ...FIRST_TIER_JIT },
          },
          { authenticationClasses: classes },
        );
        trino.addAllowedClient({ podSelector: { matchLabels: { app: 'trino-client' } } });
      }
      return Testing.synth(chart) as Manifest[];
    };
    // The PrometheusRule's groups go to the test Prometheus' rule file (no prometheus-operator here).
    const manifests = hiveManifests('INFO');
    const rule = manifests.find((o) => o.kind === 'PrometheusRule') as unknown as {
      spec: { groups: unknown[] };
    };
    expect(
      await applyAll(
        client,
        manifests.filter((o) => o.kind !== 'PrometheusRule'),
        ns.name,
      ),
    ).toEqual([]);
    await waitPodsReady(ns.name, [METASTORE]);

    const pod = await core.readNamespacedPod({ name: METASTORE, namespace: ns.name });
    // What the kubelet ran them as, and with which root filesystem.
    const statuses = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])];
    expect(
      statuses.map((c) => [c.name, (c as { user?: { linux?: { uid?: number } } }).user?.linux?.uid]),
    ).toEqual([['hive', 10001], ...(SHIP_LOGS ? [['log-agent', 10001]] : []), ['schema-init', 10001]]);
    for (const c of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]) {
      expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, runAsNonRoot: true });
    }
    const firstInit = await core.readNamespacedPodLog({
      name: METASTORE,
      namespace: ns.name,
      container: 'schema-init',
    });
    expect(firstInit).toContain('Metastore connection URL:\t jdbc:postgresql://postgres.');
    expect(firstInit).toContain('Initialization script completed');
    const metastoreLog = await core.readNamespacedPodLog({
      name: METASTORE,
      namespace: ns.name,
      container: 'hive',
    });
    expect(metastoreLog).toContain('Started the new metaserver on port [9083]');
    // The same record in the structured log file (lib/logging), written through Log4j 2.
    const records = await readStructuredLog(ns.name, METASTORE, 'hive');
    expectSharedRecordShape(records);
    expect(records).toContainEqual(
      expect.objectContaining({
        level: 'INFO',
        message: expect.stringContaining('Started the new metaserver on port [9083]'),
      }),
    );
    if (SHIP_LOGS) {
      await expectRecordsShipped(aggregator!, {
        namespace: ns.name,
        pod: METASTORE,
        container: 'hive',
        product: 'hive',
        stacklet: 'hive',
        role: 'metastores',
        roleGroup: 'default',
      });
      process.stdout.write(`hive on the real node: ${logAgentUsage(ns.name)}\n`);
    }

    // A Prometheus finds the metastore through keelson's scrape job; its API call counts grow with the probe's calls.
    const prometheus = await startPrometheus(await realNode(), ns.name, {
      ruleGroups: withAlertDelay(rule.spec.groups, '30s'),
    });
    const apiCalls = `sum({__name__=~"hive_metastore_api_.+", namespace="${ns.name}"}) or vector(0)`;
    let callsBefore = 0;
    try {
      await prometheus.waitForValue(
        'the metastore scraped',
        `count(up{namespace="${ns.name}", product="hive"} == 1)`,
        (v) => v === 1,
      );
      await prometheus.waitForValue(
        'open connections',
        `count(hive_metastore_open_connections{namespace="${ns.name}"})`,
      );
      callsBefore = await prometheus.waitForValue('API calls', apiCalls);
    } catch (error) {
      await prometheus.stop();
      throw error;
    }
    const created = await probe('probe-create', ['sales'], 'orders');
    try {
      expect(
        await prometheus.waitForValue('API calls to grow', apiCalls, (v) => v > callsBefore),
      ).toBeGreaterThan(callsBefore);
      // The names the README guarantees; the probe created a database.
      for (const name of [
        'hive_metastore_api_create_database_req',
        'hive_metastore_total_api_calls',
        'hive_metastore_total_count_dbs',
      ])
        await prometheus.waitForValue(name, `count(${name}{namespace="${ns.name}"})`);
      // keelson's rules load and evaluate; a recording rule counts the open connections; the
      // dashboard's queries and the rules' metric names all have data.
      await prometheus.checkStacklet({
        namespace: ns.name,
        metricNames: HIVE_METRIC_NAMES,
        dashboard: manifests.find((o) => o.metadata.name === 'hive-dashboard'),
        recording: {
          what: 'the open-connections recording rule',
          expr: `stacklet:hive_metastore_open_connections:sum{namespace="${ns.name}", stacklet="hive"}`,
        },
      });

      // A fault: the metastore's process freezes, as a hung JVM would (its sockets stay open, so
      // its TCP probes pass and nothing restarts it). No metastore answers: keelson's availability
      // and target alerts fire (their for: shortened to 30 s), quiet before the fault.
      const fired = await prometheus.alertsWhileFrozen(
        ns.name,
        METASTORE,
        { HiveMetastoreUnavailable: 'critical', KeelsonMetricsTargetDown: 'warning' },
        { stacklet: 'hive' },
      );
      expect(fired.HiveMetastoreUnavailable.annotations.summary).toBe(
        'No metastore of the stacklet answers.',
      );
      expect(fired.KeelsonMetricsTargetDown.labels.pod).toBe(METASTORE);
      // Thawed, it answers again.
      await prometheus.waitForValue(
        'the metastore scraped again',
        `count(up{namespace="${ns.name}", product="hive"} == 1)`,
        (v) => v === 1,
      );
    } finally {
      await prometheus.stop();
    }
    expect(created).toContain('database: default');
    expect(created).toContain('database: sales');
    // The partition filter runs the metastore's PostgreSQL-dialect SQL; it must not fall back to the ORM.
    expect(created).toContain('partition: 2026-12-01');
    const afterProbe = await core.readNamespacedPodLog({
      name: METASTORE,
      namespace: ns.name,
      container: 'hive',
    });
    expect(afterProbe).not.toMatch(/direct SQL is disabled|falling back to ORM/i);

    // A second start: the schema is found, not created again, and the metadata is still there.
    await core.deleteNamespacedPod({ name: METASTORE, namespace: ns.name });
    await waitFor('the metastore pod to be replaced', async () => {
      const now = await core.readNamespacedPod({ name: METASTORE, namespace: ns.name });
      return now.metadata?.uid !== pod.metadata?.uid;
    });
    await waitPodsReady(ns.name, [METASTORE]);
    const secondInit = await core.readNamespacedPodLog({
      name: METASTORE,
      namespace: ns.name,
      container: 'schema-init',
    });
    expect(secondInit).toContain('No schema upgrade required from version 4.0.0');
    expect(secondInit).not.toContain('Initialization script');
    const listed = await probe('probe-list', []);
    expect(listed).toContain('database: sales');

    // The root logger at DEBUG on the running metastore: Log4j 2 re-reads the file the kubelet
    // updates (it is left out of the pods' config hash), so DEBUG records appear without a restart.
    const isDebug = (r: LogRecord) => r.level === 'DEBUG';
    expect((await readStructuredLog(ns.name, METASTORE, 'hive')).filter(isDebug)).toEqual([]);
    const workload = () =>
      apps.readNamespacedStatefulSet({ name: 'hive-metastores-default', namespace: ns.name });
    const running = await core.readNamespacedPod({ name: METASTORE, namespace: ns.name });
    const template = (await workload()).spec?.template;
    expect(
      await applyAll(
        client,
        hiveManifests('DEBUG').filter((o) => o.kind !== 'PrometheusRule'),
        ns.name,
      ),
    ).toEqual([]);
    const changedAt = Date.now();
    let debug: LogRecord[] = [];
    // The kubelet's sync period (10 s on the test node) plus Log4j 2's check (10 s), with room.
    while (debug.length === 0 && Date.now() - changedAt < 90_000) {
      await new Promise((r) => setTimeout(r, 2000));
      debug = (await readStructuredLog(ns.name, METASTORE, 'hive')).filter(isDebug);
    }
    expect(debug.length).toBeGreaterThan(0);
    process.stdout.write(
      `hive on the real node: the root logger's DEBUG level took effect ${((Date.now() - changedAt) / 1000).toFixed(1)} s after apply\n`,
    );
    expect((await core.readNamespacedPod({ name: METASTORE, namespace: ns.name })).metadata?.uid).toBe(
      running.metadata?.uid,
    );
    expect((await workload()).spec?.template).toEqual(template);
    if (SHIP_LOGS) {
      await aggregator!.waitFor(
        `a DEBUG record from ${METASTORE}`,
        (r) => r.severityText === 'DEBUG' && r.resource['k8s.pod.name'] === METASTORE,
      );
    }
    await addKerberosClass();
  });

  /**
   * A kerberos class added to the running metastore: a client with a keytab creates and lists
   * databases, one without a ticket or without SASL is refused. It continues the first test: the
   * test's namespace, and the metastore in it, last one test.
   */
  const addKerberosClass = async () => {
    const waited = Date.now();
    kdcHostName = await kdcHost!;
    const kdcWait = Date.now() - waited;
    const principal = `hive/hive-metastores.${ns.name}.svc.cluster.local@${REALM}`;
    const before = await core.readNamespacedPod({ name: METASTORE, namespace: ns.name });
    const manifests = hiveManifests('DEBUG', true).filter((o) => o.kind !== 'PrometheusRule');
    expect(await applyAll(client, manifests, ns.name)).toEqual([]);
    const applied = Date.now();
    await waitFor(
      'the metastore to roll',
      async () => {
        const now = await core
          .readNamespacedPod({ name: METASTORE, namespace: ns.name })
          .catch(() => undefined);
        return now?.metadata?.uid !== undefined && now.metadata.uid !== before.metadata?.uid;
      },
      10 * 60_000,
    );
    await waitPodsReady(ns.name, [METASTORE], 15 * 60_000);
    const rolled = Date.now();
    const logs = () => podsLogs(ns.name, [METASTORE, 'kdc']);
    const keytabLog = await core.readNamespacedPodLog({
      name: METASTORE,
      namespace: ns.name,
      container: 'kerberos-keytab',
    });
    expect(keytabLog).toContain(`wrote the keytab of ${principal}`);
    // Created with random keys once, then exported unchanged: still the first key version.
    expect(await kdcQuery(ns.name, `getprinc ${principal}`)).toMatch(/Key: vno 1,/);

    await core.createNamespacedSecret({
      namespace: ns.name,
      body: {
        metadata: { name: 'hive-client-kerberos' },
        data: { 'alice.keytab': await kdcKeytab(ns.name, 'alice.keytab') },
        stringData: { 'krb5.conf': clientKrb5Conf(kdcHostName) },
      },
    });
    const uri = `thrift://hive-metastores.${ns.name}.svc.cluster.local:9083`;
    // Each client in its own JVM, one pod: no ticket, no SASL, then alice with her keytab (who
    // must see neither of the others' databases).
    const run = (what: string, properties: string[]) =>
      `timeout 120 java -Xmx160m -Djava.security.krb5.conf=/k/krb5.conf ${properties.join(' ')} ` +
      `-cp '/probe:/opt/hive/lib/*' MetastoreProbe ${uri} ${what} > /tmp/${what}.log 2>&1; ` +
      `echo "${what}: status=$? listed=$(grep -c '^database: ' /tmp/${what}.log)"`;
    const sasl = `-Dprobe.serverPrincipal=${principal}`;
    const script = [
      'set +e',
      run('noticket', [sasl]),
      run('nosasl', []),
      run('kerberized', [sasl, `-Dprobe.user=alice@${REALM}`, '-Dprobe.keytab=/k/alice.keytab']),
      "grep -E '^(database: |logged in)' /tmp/kerberized.log",
      "grep -h -i -E -m 3 'GSS|SASL|TTransportException|Could not connect' /tmp/noticket.log /tmp/nosasl.log",
      'tail -n 5 /tmp/kerberized.log',
      'true',
    ].join('\n');
    const output = await runClientPod(
      ns.name,
      {
        name: 'probe-kerberos',
        image: hiveImageRecipe(VERSION).reference,
        command: ['/bin/bash', '-c', script],
        memory: '512Mi',
        volumes: [
          { volume: { name: 'probe', configMap: { name: 'metastore-probe' } }, mountPath: '/probe' },
          { volume: { name: 'k', secret: { secretName: 'hive-client-kerberos' } }, mountPath: '/k' },
        ],
      },
      logs,
      10 * 60_000,
    );
    const done = Date.now();
    process.stdout.write(
      `hive kerberos on the real node: the KDC, started beside the first part, kept the step waiting ` +
        `${(kdcWait / 1000).toFixed(1)} s; metastore rolled and Ready ${((rolled - applied) / 1000).toFixed(1)} s ` +
        `after; clients ${((done - rolled) / 1000).toFixed(1)} s\n` +
        `${output
          .split('\n')
          .filter((l) => /^(noticket|nosasl|kerberized|logged in):? /.test(l))
          .join('\n')}\n`,
    );
    const lines = output.split('\n');
    const report = async (what: string) => `${what}\n--- client\n${output}\n--- pods\n${await logs()}`;
    if (!lines.includes('kerberized: status=0 listed=3'))
      throw new Error(await report('alice did not create and list databases over SASL'));
    expect(lines).toEqual(
      expect.arrayContaining([
        `logged in as alice@${REALM}`,
        'database: default',
        // Made before the class was added: the metadata survived the roll.
        'database: sales',
        'database: kerberized',
      ]),
    );
    for (const what of ['noticket', 'nosasl']) {
      const line = lines.find((l) => l.startsWith(`${what}: `));
      if (!line || !/status=[1-9]\d* listed=0$/.test(line)) throw new Error(await report(`${what}: ${line}`));
      expect(lines).not.toContain(`database: ${what}`);
    }

    // Trino, applied with the class, logs in to the metastore as each pod's own principal.
    await waitPodsReady(ns.name, TRINO_PODS, 15 * 60_000, () =>
      podsLogs(ns.name, [...TRINO_PODS, METASTORE]),
    );
    const trinoReady = Date.now();
    for (const pod of TRINO_PODS) {
      const role = pod.replace(/-0$/, '');
      const keytab = await core.readNamespacedPodLog({
        name: pod,
        namespace: ns.name,
        container: 'kerberos-keytab',
      });
      expect(keytab).toContain(
        `wrote the keytab of trino/${pod}.${role}-headless.${ns.name}.svc.cluster.local@${REALM}`,
      );
    }
    const cli = `trino --server http://trino-coordinators.${ns.name}.svc.cluster.local:8080 --user keelson`;
    const trinoOutput = await runClientPod(
      ns.name,
      {
        name: 'trino-kerberos',
        image: `docker.io/trinodb/trino:${TRINO_VERSION}`,
        command: [
          '/bin/bash',
          '-c',
          // The coordinator is Ready before the worker has announced itself: wait for it.
          `until [ "$(${cli} --execute "SELECT count(*) FROM system.runtime.nodes WHERE state = 'active'" 2>/dev/null)" = '"2"' ]; do sleep 2; done; ` +
            `${cli} --execute "SHOW SCHEMAS FROM lake" 2>&1 | sed 's/^/schema=/'`,
        ],
        labels: { app: 'trino-client' },
        env: [{ name: 'JAVA_TOOL_OPTIONS', value: CLIENT_JVM_OPTIONS }],
      },
      () => podsLogs(ns.name, [...TRINO_PODS, METASTORE]),
      10 * 60_000,
    );
    const schemas = trinoOutput.split('\n').filter((l) => l.startsWith('schema='));
    if (!['"default"', '"sales"', '"kerberized"'].every((db) => schemas.includes(`schema=${db}`)))
      throw new Error(
        `Trino did not list the metastore's databases over Kerberos\n--- client\n${trinoOutput}\n` +
          (await podsLogs(ns.name, [...TRINO_PODS, METASTORE])),
      );
    process.stdout.write(
      `hive kerberos on the real node: Trino (applied with the class) Ready ${((trinoReady - applied) / 1000).toFixed(1)} s ` +
        `after the apply; listed ${schemas.length} schemas through its Kerberos catalog ${((Date.now() - trinoReady) / 1000).toFixed(1)} s later\n`,
    );

    // The admin password is nowhere keelson or the pods wrote; keelson wrote no Secret.
    expect(JSON.stringify(manifests)).not.toContain(KDC_ADMIN_PASSWORD);
    expect(manifests.filter((m) => m.kind === 'Secret')).toEqual([]);
    expect(await podsLogs(ns.name, [METASTORE, ...TRINO_PODS])).not.toContain(KDC_ADMIN_PASSWORD);
    const inCluster = [
      await core.listNamespacedConfigMap({ namespace: ns.name }),
      await core.listNamespacedEvent({ namespace: ns.name }),
      await apps.listNamespacedStatefulSet({ namespace: ns.name }),
      await core.listNamespacedPod({ namespace: ns.name }),
    ];
    expect(JSON.stringify(inCluster)).not.toContain(KDC_ADMIN_PASSWORD);
    // Clients learn the principal from the discovery ConfigMap.
    expect((await core.readNamespacedConfigMap({ name: 'hive', namespace: ns.name })).data).toMatchObject({
      HIVE_KERBEROS_PRINCIPAL: principal,
      HIVE_KERBEROS_REALM: REALM,
    });
  };
});
