import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Chart, Testing } from 'cdk8s';
import { HBASE_METRIC_NAMES, HbaseCluster } from '../constructs/hbase';
import { HDFS_METRIC_NAMES, HdfsCluster } from '../constructs/hdfs';
import { HIVE_METRIC_NAMES, HiveCluster } from '../constructs/hive';
import { KAFKA_METRIC_NAMES, KafkaCluster } from '../constructs/kafka';
import { OPA_METRIC_NAMES, OpaCluster } from '../constructs/opa';
import { TRINO_METRIC_NAMES, TrinoCluster } from '../constructs/trino';
import { ZOOKEEPER_METRIC_NAMES, ZookeeperCluster } from '../constructs/zookeeper';
import { GRAFANA_DASHBOARD_LABEL, prometheusScrapeConfig, type MonitoringSpec } from '../lib';
import { OperatorDeployment } from '../lib/operator/deployment';
import { OperatorMetrics } from '../lib/operator/metrics';
import { OPERATOR_METRIC_NAMES } from '../lib/operator/monitoring';
import { BEACON } from './example-product/beacon';
import { find, type Obj } from './support/synth';

const ALL: MonitoringSpec = {
  prometheusRules: true,
  serviceMonitors: true,
  grafanaDashboards: true,
  labels: { release: 'monitoring' },
};

/** Every product with every monitoring object, in namespace `data`. */
function platform(monitoring: MonitoringSpec = ALL): Obj[] {
  const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
  const zookeeper = new ZookeeperCluster(chart, 'zk', { clusterConfig: { monitoring } });
  new KafkaCluster(chart, 'kafka', { clusterConfig: { monitoring } });
  new KafkaCluster(chart, 'kafka-zk', { zookeeper, clusterConfig: { monitoring } });
  const hdfs = new HdfsCluster(chart, 'hdfs', { zookeeper, clusterConfig: { monitoring } });
  new HbaseCluster(chart, 'hbase', { hdfs, zookeeper, clusterConfig: { monitoring } });
  new HiveCluster(chart, 'hive', { clusterConfig: { database: { type: 'derby' }, monitoring } });
  new TrinoCluster(chart, 'trino', { clusterConfig: { monitoring } });
  new OpaCluster(chart, 'opa', { clusterConfig: { monitoring } });
  return Testing.synth(chart) as Obj[];
}

const PRODUCTS: [stacklet: string, product: string, names: readonly string[]][] = [
  ['zk', 'zookeeper', ZOOKEEPER_METRIC_NAMES],
  ['kafka', 'kafka', KAFKA_METRIC_NAMES],
  ['kafka-zk', 'kafka', KAFKA_METRIC_NAMES],
  ['hive', 'hive', HIVE_METRIC_NAMES],
  ['trino', 'trino', TRINO_METRIC_NAMES],
  ['hdfs', 'hdfs', HDFS_METRIC_NAMES],
  ['hbase', 'hbase', HBASE_METRIC_NAMES],
  ['opa', 'opa', OPA_METRIC_NAMES],
];

type Rule = { record?: string; alert?: string; expr: string; labels: Record<string, string> };
const groupsOf = (objs: Obj[], stacklet: string) =>
  find(objs, 'PrometheusRule', stacklet).spec.groups as { name: string; rules: Rule[] }[];
const dashboardOf = (objs: Obj[], stacklet: string) =>
  JSON.parse(Object.values(find(objs, 'ConfigMap', `${stacklet}-dashboard`).data!)[0] as string) as {
    uid: string;
    panels: { title: string; targets: { expr: string }[] }[];
  };

// PromQL words followed by '(' are functions or aggregations, and words inside by (...) are
// labels; a metric name is a word directly followed by its '{' selector (every query here
// selects the stacklet).
const metricNamesIn = (expr: string) => [...expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{/g)].map((m) => m[1]);

describe('monitoring objects of every product', () => {
  const objs = platform();

  test.each(PRODUCTS)(
    '%s: rules and dashboard read only the names of the %s list, and each name is read',
    (stacklet, _product, names) => {
      const groups = groupsOf(objs, stacklet);
      const records = groups.flatMap((g) => g.rules.flatMap((r) => (r.record ? [r.record] : [])));
      const allowed = new Set([...names, 'up', ...records]);
      const exprs = [
        ...groups.flatMap((g) => g.rules.map((r) => r.expr)),
        ...dashboardOf(objs, stacklet).panels.flatMap((p) => p.targets.map((t) => t.expr)),
      ];
      const used = exprs.flatMap(metricNamesIn);
      expect(used.filter((n) => !allowed.has(n))).toEqual([]);
      // Every query is scoped to the stacklet.
      for (const expr of exprs)
        for (const selector of expr.matchAll(/\{([^}]*)\}/g))
          expect(selector[1]).toContain(`namespace="data", stacklet="${stacklet}"`);
      // The list holds no name nothing reads.
      expect(names.filter((n) => !used.includes(n))).toEqual([]);
    },
  );

  test.each(PRODUCTS)(
    '%s: every rule carries the stacklet labels; alerts a severity',
    (stacklet, product) => {
      const rules = groupsOf(objs, stacklet).flatMap((g) => g.rules);
      expect(rules.some((r) => r.alert)).toBe(true);
      expect(rules.some((r) => r.record)).toBe(true);
      for (const rule of rules) {
        expect(rule.labels).toMatchObject({ namespace: 'data', stacklet, product });
        if (rule.alert) expect(['critical', 'warning']).toContain(rule.labels.severity);
      }
    },
  );

  test.each(PRODUCTS)('%s: one dashboard ConfigMap with the Grafana sidecar label', (stacklet) => {
    const cm = find(objs, 'ConfigMap', `${stacklet}-dashboard`);
    expect(cm.metadata.labels).toMatchObject({
      [GRAFANA_DASHBOARD_LABEL]: '1',
      release: 'monitoring',
      'app.kubernetes.io/instance': stacklet,
    });
    const dashboard = dashboardOf(objs, stacklet);
    expect(dashboard.uid.length).toBeLessThanOrEqual(40);
    expect(dashboard.panels.length).toBeGreaterThan(3);
  });

  test('dashboard uids differ between stacklets', () => {
    const uids = PRODUCTS.map(([s]) => dashboardOf(objs, s).uid);
    expect(new Set(uids).size).toBe(uids.length);
  });

  test.each(PRODUCTS)(
    "%s: the ServiceMonitor selects exactly the stacklet's metrics Services",
    (stacklet) => {
      const monitor = find(objs, 'ServiceMonitor', stacklet);
      expect(monitor.metadata.labels).toMatchObject({ release: 'monitoring' });
      const matchLabels = monitor.spec.selector.matchLabels as Record<string, string>;
      const selected = objs.filter(
        (o) =>
          o.kind === 'Service' && Object.entries(matchLabels).every(([k, v]) => o.metadata.labels?.[k] === v),
      );
      const metricsServices = objs.filter(
        (o) =>
          o.kind === 'Service' &&
          o.metadata.name.startsWith(`${stacklet}-`) &&
          o.metadata.name.endsWith('-metrics') &&
          o.metadata.labels?.['app.kubernetes.io/instance'] === stacklet,
      );
      expect(selected.map((s) => s.metadata.name).sort()).toEqual(
        metricsServices.map((s) => s.metadata.name).sort(),
      );
      expect(selected.length).toBeGreaterThan(0);
      for (const service of selected)
        expect(service.spec.ports.map((p: { name: string }) => p.name)).toContain(
          monitor.spec.endpoints[0].port,
        );
      expect(monitor.spec.endpoints[0].port).toBe('metrics');
    },
  );

  test('nothing is generated by default, and each switch adds only its object', () => {
    const none = platform({});
    expect(none.filter((o) => ['PrometheusRule', 'ServiceMonitor'].includes(o.kind))).toEqual([]);
    expect(none.filter((o) => o.metadata.name.endsWith('-dashboard'))).toEqual([]);
    const rulesOnly = platform({ prometheusRules: true });
    expect(rulesOnly.filter((o) => o.kind === 'PrometheusRule')).toHaveLength(PRODUCTS.length);
    expect(rulesOnly.filter((o) => o.kind === 'ServiceMonitor')).toEqual([]);
    expect(rulesOnly.filter((o) => o.metadata.name.endsWith('-dashboard'))).toEqual([]);
  });

  test('a stopped ZooKeeper has no quorum alerts', () => {
    const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
    new ZookeeperCluster(chart, 'zk', {
      clusterConfig: { monitoring: { prometheusRules: true } },
      clusterOperation: { stopped: true },
    });
    const alerts = groupsOf(Testing.synth(chart) as Obj[], 'zk')
      .flatMap((g) => g.rules)
      .flatMap((r) => (r.alert ? [r.alert] : []));
    expect(alerts).not.toContain('ZookeeperQuorumLost');
    expect(alerts).toContain('KeelsonMetricsTargetDown');
  });

  test("HBase holds the master's live regionservers to the number the spec runs, and a stopped HBase to none", () => {
    const missing = (objs: Obj[]) =>
      groupsOf(objs, 'hbase')
        .flatMap((g) => g.rules)
        .find((r) => r.alert === 'HbaseRegionserversMissing');
    expect(missing(hbase(3))?.expr).toBe(
      'max(hbase_master_server_numregionservers{namespace="data", stacklet="hbase"}) < 3',
    );
    expect(missing(hbase(2))?.expr).toMatch(/< 2$/);
    expect(missing(hbase(3, true))).toBeUndefined();
  });

  test('rejects labels when no monitoring object is enabled, at the labels field', () => {
    const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
    const zk = new ZookeeperCluster(chart, 'zk', {
      clusterConfig: { monitoring: { labels: { release: 'x' }, serviceMonitors: false } },
    });
    expect(zk.problems).toEqual([
      expect.stringMatching(
        /^spec\.clusterConfig\.monitoring\.labels: .*none of them is enabled; set prometheusRules, serviceMonitors or grafanaDashboards to true, or remove labels/,
      ),
    ]);
  });
});

/** An HBase (on its HDFS and ZooKeeper) with `regionservers` regionservers and its rules, in namespace `data`. */
function hbase(regionservers: number, stopped = false): Obj[] {
  const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
  const zookeeper = new ZookeeperCluster(chart, 'zk', {});
  const hdfs = new HdfsCluster(chart, 'hdfs', { zookeeper });
  new HbaseCluster(chart, 'hbase', {
    hdfs,
    zookeeper,
    clusterConfig: { monitoring: { prometheusRules: true } },
    regionservers: { roleGroups: { default: { replicas: regionservers } } },
    ...(stopped ? { clusterOperation: { stopped: true } } : {}),
  });
  return Testing.synth(chart) as Obj[];
}

/** The operator's deployment in namespace `keelson-system`, named `keelson`. */
function operator(monitoring: MonitoringSpec = ALL): Obj[] {
  const chart = new Chart(Testing.app(), 'operator');
  new OperatorDeployment(chart, 'operator', {
    products: [BEACON],
    namespace: 'keelson-system',
    name: 'keelson',
    monitoring,
  });
  return Testing.synth(chart) as Obj[];
}

describe("the operator's own monitoring", () => {
  const objs = operator();
  const groups = groupsOf(objs, 'keelson');
  const dashboard = dashboardOf(objs, 'keelson');

  test('rules and dashboard read only names the operator serves, and each of its listed names', async () => {
    // The names the operator's registry serves (a histogram as its buckets).
    const served = (await new OperatorMetrics().registry.getMetricsAsJSON()).map((m) =>
      m.type === ('histogram' as unknown) ? `${m.name}_bucket` : m.name,
    );
    expect(OPERATOR_METRIC_NAMES.filter((n) => !served.includes(n))).toEqual([]);
    const records = groups.flatMap((g) => g.rules.flatMap((r) => (r.record ? [r.record] : [])));
    const allowed = new Set([...OPERATOR_METRIC_NAMES, 'up', ...records]);
    const exprs = [
      ...groups.flatMap((g) => g.rules.map((r) => r.expr)),
      ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
    ];
    const used = exprs.flatMap(metricNamesIn);
    expect(used.filter((n) => !allowed.has(n))).toEqual([]);
    expect(OPERATOR_METRIC_NAMES.filter((n) => !used.includes(n))).toEqual([]);
    for (const expr of exprs)
      for (const selector of expr.matchAll(/\{([^}]*)\}/g))
        expect(selector[1]).toContain(
          'namespace="keelson-system", product="keelson-operator", stacklet="keelson"',
        );
  });

  test('alerts for a down operator, no leader, failing reconciles, a full queue and failing watches', () => {
    const rules = groups.flatMap((g) => g.rules);
    expect(rules.flatMap((r) => (r.alert ? [r.alert] : []))).toEqual([
      'KeelsonOperatorDown',
      'KeelsonOperatorNoLeader',
      'KeelsonReconcileErrors',
      'KeelsonWorkQueueNotDraining',
      'KeelsonWatchRestarting',
    ]);
    for (const rule of rules)
      expect(rule.labels).toMatchObject({
        namespace: 'keelson-system',
        product: 'keelson-operator',
        stacklet: 'keelson',
      });
  });

  test("keelson's scrape job keeps the metrics Service, which selects every replica", () => {
    const service = find(objs, 'Service', 'keelson-metrics');
    const [deployment] = objs.filter((o) => o.kind === 'Deployment');
    // The job's two keep rules: the scrape annotation, and the managed-by label.
    const keeps = (prometheusScrapeConfig().relabel_configs as { action?: string; regex: string }[]).filter(
      (r) => r.action === 'keep',
    );
    expect(keeps.map((k) => k.regex)).toEqual(['true', 'keelson']);
    expect(service.metadata.annotations).toMatchObject({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': '8080',
      'prometheus.io/path': '/metrics',
    });
    expect(service.metadata.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'keelson' });
    const podLabels = deployment.spec.template.metadata.labels as Record<string, string>;
    expect(Object.entries(service.spec.selector).every(([k, v]) => podLabels[k] === v)).toBe(true);
    // The standby replica is not Ready and is scraped too.
    expect(service.spec.publishNotReadyAddresses).toBe(true);
    expect(service.spec.ports).toEqual([
      { name: 'metrics', port: 8080, targetPort: 'metrics', protocol: 'TCP' },
    ]);
    const monitor = find(objs, 'ServiceMonitor', 'keelson');
    expect(
      Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => service.metadata.labels?.[k] === v),
    ).toBe(true);
    expect(find(objs, 'ConfigMap', 'keelson-dashboard').metadata.labels).toMatchObject({
      [GRAFANA_DASHBOARD_LABEL]: '1',
      release: 'monitoring',
    });
  });

  test('nothing but the metrics Service by default; rejects labels with no object, naming the field', () => {
    const none = operator({});
    expect(none.filter((o) => ['PrometheusRule', 'ServiceMonitor'].includes(o.kind))).toEqual([]);
    expect(none.filter((o) => o.metadata.name.endsWith('-dashboard'))).toEqual([]);
    expect(none.filter((o) => o.kind === 'Service').map((o) => o.metadata.name)).toEqual(['keelson-metrics']);
    expect(() => operator({ labels: { release: 'x' } })).toThrow(
      /monitoring\.labels: .*none of them is enabled; set prometheusRules, serviceMonitors or grafanaDashboards/,
    );
  });
});

/** Where `build-binaries.sh prometheus` caches promtool (the version is the script's). */
function cachedPromtool(): string {
  const script = fs.readFileSync(path.join(__dirname, 'controlplane', 'build-binaries.sh'), 'utf8');
  const version = /PROMETHEUS_VERSION:-(v[0-9.]+)/.exec(script)![1];
  const cache = process.env.KEELSON_CACHE ?? path.join(os.homedir(), '.cache', 'keelson');
  return path.join(cache, 'prometheus', `prometheus-${version}`, 'bin', 'promtool');
}

const promtool = cachedPromtool();
const withPromtool = fs.existsSync(promtool) ? describe : describe.skip;
if (!fs.existsSync(promtool)) {
  process.stderr.write(
    `skipping promtool checks: ${promtool} is not built (bash test/controlplane/build-binaries.sh prometheus builds it; the real-node metrics tests do too)\n`,
  );
}

withPromtool('promtool (the Prometheus build the real-node tests use)', () => {
  const objs = platform();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-rules-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const run = (args: string[]) => spawnSync(promtool, args, { cwd: dir, encoding: 'utf8' });

  test.each(PRODUCTS)('%s: promtool check rules accepts the rendered rules', (stacklet) => {
    const file = path.join(dir, `${stacklet}.rules.json`);
    fs.writeFileSync(file, JSON.stringify({ groups: groupsOf(objs, stacklet) }));
    const result = run(['check', 'rules', file]);
    expect({ status: result.status, out: result.stdout + result.stderr }).toMatchObject({ status: 0 });
  });

  test("the operator's rules: promtool check rules accepts them", () => {
    const file = path.join(dir, 'operator.rules.json');
    fs.writeFileSync(file, JSON.stringify({ groups: groupsOf(operator(), 'keelson') }));
    const result = run(['check', 'rules', file]);
    expect({ status: result.status, out: result.stdout + result.stderr }).toMatchObject({ status: 0 });
  });

  /**
   * An alert of keelson's rules under `promtool test rules`: quiet at `quietAt`, firing with the
   * rule's labels (and `labels`) and its annotations rendered at `firingAt`, on synthetic series
   * (30 s apart) that make the fault the alert is about.
   */
  const alertCases: {
    alert: string;
    objs: () => Obj[];
    stacklet: string;
    series: { series: string; values: string }[];
    quietAt: string;
    firingAt: string;
    labels?: Record<string, string>;
    /** What each `{{ … }}` of the annotations renders to. */
    rendered?: Record<string, string>;
  }[] = [
    {
      alert: 'KeelsonOperatorDown',
      objs: () => operator(),
      stacklet: 'keelson',
      // The only replica stops answering after 2 minutes (its series go stale).
      series: [
        {
          series:
            'up{namespace="keelson-system", product="keelson-operator", stacklet="keelson", pod="keelson-0"}',
          values: '1x4 stale',
        },
      ],
      quietAt: '1m',
      firingAt: '8m',
    },
    {
      alert: 'KeelsonOperatorNoLeader',
      objs: () => operator(),
      stacklet: 'keelson',
      series: [
        {
          series:
            'up{namespace="keelson-system", product="keelson-operator", stacklet="keelson", pod="keelson-0"}',
          values: '1x30',
        },
        {
          series:
            'keelson_leader{namespace="keelson-system", product="keelson-operator", stacklet="keelson", pod="keelson-0"}',
          values: '1x4 0x30',
        },
      ],
      quietAt: '1m',
      firingAt: '8m',
    },
    {
      alert: 'KeelsonReconcileErrors',
      objs: () => operator(),
      stacklet: 'keelson',
      series: [
        {
          series:
            'keelson_reconciles_total{namespace="keelson-system", product="keelson-operator", stacklet="keelson", kind="ZookeeperCluster", result="error"}',
          values: '0x4 0+1x60',
        },
      ],
      quietAt: '1m',
      firingAt: '20m',
      labels: { kind: 'ZookeeperCluster' },
      rendered: { '$labels.kind': 'ZookeeperCluster' },
    },
    {
      alert: 'KafkaOfflinePartitions',
      objs: () => platform(),
      stacklet: 'kafka',
      series: [
        {
          series:
            'kafka_controller_kafkacontroller_offlinepartitionscount{namespace="data", stacklet="kafka", pod="kafka-controllers-default-0"}',
          values: '0x4 2x10',
        },
      ],
      quietAt: '1m',
      firingAt: '5m',
      rendered: { $value: '2' },
    },
    {
      alert: 'KafkaUnderReplicatedPartitions',
      objs: () => platform(),
      stacklet: 'kafka',
      series: [
        {
          series:
            'kafka_server_replicamanager_underreplicatedpartitions{namespace="data", stacklet="kafka", pod="kafka-brokers-default-0"}',
          values: '0x4 3x20',
        },
      ],
      quietAt: '1m',
      firingAt: '8m',
      rendered: { $value: '3' },
    },
    {
      alert: 'TrinoBlockedNodes',
      objs: () => platform(),
      stacklet: 'trino',
      series: [
        {
          series:
            'trino_memory_clustermemorypool_blockednodes{namespace="data", stacklet="trino", pod="trino-coordinators-default-0"}',
          values: '0x4 1x20',
        },
      ],
      quietAt: '1m',
      firingAt: '8m',
      rendered: { $value: '1' },
    },
    {
      alert: 'HbaseRegionserversMissing',
      objs: () => hbase(3),
      stacklet: 'hbase',
      // Three live regionservers for 2 minutes, then two.
      series: [
        {
          series:
            'hbase_master_server_numregionservers{namespace="data", stacklet="hbase", pod="hbase-masters-default-0"}',
          values: '3x4 2x20',
        },
      ],
      quietAt: '1m',
      firingAt: '8m',
      rendered: { $value: '2' },
    },
    {
      alert: 'HiveMetastoreUnavailable',
      objs: () => platform(),
      stacklet: 'hive',
      series: [
        {
          series: 'up{namespace="data", stacklet="hive", role="metastores", pod="hive-metastores-default-0"}',
          values: '1x4 stale',
        },
      ],
      quietAt: '1m',
      firingAt: '8m',
    },
  ];

  test.each(alertCases.map((c) => [c.alert, c] as const))(
    '%s fires under its fault, and not before (promtool test rules)',
    (name, c) => {
      const groups = groupsOf(c.objs(), c.stacklet);
      const rule = groups.flatMap((g) => g.rules).find((r) => r.alert === name) as unknown as {
        labels: Record<string, string>;
        annotations: Record<string, string>;
      };
      const render = (text: string) =>
        text.replace(/\{\{ ([^}]+) \}\}/g, (_, expr: string) => {
          const value = c.rendered?.[expr];
          if (value === undefined) throw new Error(`no rendering given for {{ ${expr} }} in ${name}`);
          return value;
        });
      const rules = path.join(dir, `${name}.rules.json`);
      fs.writeFileSync(rules, JSON.stringify({ groups }));
      const file = path.join(dir, `${name}.test.json`);
      fs.writeFileSync(
        file,
        JSON.stringify({
          rule_files: [rules],
          evaluation_interval: '30s',
          tests: [
            {
              interval: '30s',
              input_series: c.series,
              alert_rule_test: [
                { eval_time: c.quietAt, alertname: name, exp_alerts: [] },
                {
                  eval_time: c.firingAt,
                  alertname: name,
                  exp_alerts: [
                    {
                      exp_labels: { ...rule.labels, ...c.labels },
                      exp_annotations: Object.fromEntries(
                        Object.entries(rule.annotations).map(([k, v]) => [k, render(v)]),
                      ),
                    },
                  ],
                },
              ],
            },
          ],
        }),
      );
      const result = run(['test', 'rules', file]);
      expect({ status: result.status, out: result.stdout + result.stderr }).toMatchObject({ status: 0 });
    },
  );

  test('HBase scaled down from three regionservers to two: the master lists the gone one as dead, and no alert fires (promtool test rules)', () => {
    const rules = path.join(dir, 'hbase-scaled.rules.json');
    fs.writeFileSync(rules, JSON.stringify({ groups: groupsOf(hbase(2), 'hbase') }));
    const master = '{namespace="data", stacklet="hbase", pod="hbase-masters-default-0"}';
    const file = path.join(dir, 'hbase-scaled.test.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        rule_files: [rules],
        evaluation_interval: '30s',
        tests: [
          {
            interval: '30s',
            input_series: [
              { series: `hbase_master_server_numregionservers${master}`, values: '2x40' },
              { series: `hbase_master_server_numdeadregionservers${master}`, values: '1x40' },
            ],
            alert_rule_test: ['1m', '10m', '20m'].flatMap((t) =>
              ['HbaseRegionserversMissing', 'HbaseNoRegionservers'].map((alertname) => ({
                eval_time: t,
                alertname,
                exp_alerts: [],
              })),
            ),
          },
        ],
      }),
    );
    const result = run(['test', 'rules', file]);
    expect({ status: result.status, out: result.stdout + result.stderr }).toMatchObject({ status: 0 });
  });

  test('promtool rejects a broken rule file (the check can fail)', () => {
    const file = path.join(dir, 'broken.rules.json');
    fs.writeFileSync(
      file,
      JSON.stringify({ groups: [{ name: 'x', rules: [{ record: 'a:b', expr: 'sum(' }] }] }),
    );
    expect(run(['check', 'rules', file]).status).not.toBe(0);
  });

  test('ZooKeeper: QuorumLost and NoLeader fire when two of three servers stop (promtool test rules)', () => {
    const rules = path.join(dir, 'zk.rules.json');
    fs.writeFileSync(rules, JSON.stringify({ groups: groupsOf(objs, 'zk') }));
    const target = (pod: string) => `{namespace="data", stacklet="zk", role="servers", pod="${pod}"}`;
    const labels = { namespace: 'data', stacklet: 'zk', product: 'zookeeper', severity: 'critical' };
    const test = {
      rule_files: [rules],
      evaluation_interval: '30s',
      tests: [
        {
          interval: '30s',
          // Three servers answer for 2 minutes; then zk-servers-default-1 and -2 stop, and with them the leader.
          input_series: [
            { series: `up${target('zk-servers-default-0')}`, values: '1x4 1x10' },
            { series: `up${target('zk-servers-default-1')}`, values: '1x4 0x10' },
            { series: `up${target('zk-servers-default-2')}`, values: '1x4 0x10' },
            { series: `leader_uptime${target('zk-servers-default-2')}`, values: '1000+30000x4 stale' },
          ],
          alert_rule_test: [
            { eval_time: '1m', alertname: 'ZookeeperQuorumLost', exp_alerts: [] },
            { eval_time: '1m', alertname: 'ZookeeperNoLeader', exp_alerts: [] },
            {
              eval_time: '5m',
              alertname: 'ZookeeperQuorumLost',
              exp_alerts: [{ exp_labels: labels, exp_annotations: {} }],
            },
            { eval_time: '5m', alertname: 'ZookeeperNoLeader', exp_alerts: [{ exp_labels: labels }] },
          ],
          promql_expr_test: [
            {
              expr: 'stacklet:zookeeper_servers_up:sum',
              eval_time: '1m',
              exp_samples: [
                {
                  labels: `stacklet:zookeeper_servers_up:sum{namespace="data", stacklet="zk", product="zookeeper"}`,
                  value: 3,
                },
              ],
            },
          ],
        },
      ],
    };
    // exp_annotations must be the rendered text: take it from the rule.
    const quorum = groupsOf(objs, 'zk')
      .flatMap((g) => g.rules)
      .find((r) => r.alert === 'ZookeeperQuorumLost') as unknown as { annotations: Record<string, string> };
    (test.tests[0].alert_rule_test[2].exp_alerts[0] as { exp_annotations: unknown }).exp_annotations =
      quorum.annotations;
    const noLeader = groupsOf(objs, 'zk')
      .flatMap((g) => g.rules)
      .find((r) => r.alert === 'ZookeeperNoLeader') as unknown as { annotations: Record<string, string> };
    (test.tests[0].alert_rule_test[3].exp_alerts[0] as { exp_annotations?: unknown }).exp_annotations =
      noLeader.annotations;
    const file = path.join(dir, 'zk.test.json');
    fs.writeFileSync(file, JSON.stringify(test));
    const result = run(['test', 'rules', file]);
    expect({ status: result.status, out: result.stdout + result.stderr }).toMatchObject({ status: 0 });
  });
});
