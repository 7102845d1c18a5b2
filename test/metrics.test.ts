import { Chart, Testing } from 'cdk8s';
import * as yaml from 'js-yaml';
import { HiveCluster } from '../constructs/hive';
import { KafkaCluster } from '../constructs/kafka';
import { TrinoCluster } from '../constructs/trino';
import { ZookeeperCluster } from '../constructs/zookeeper';
import { JMX_EXPORTER_AGENT, prometheusScrapeConfig, scrapeAnnotations } from '../lib';
import { find, type Obj } from './support/synth';

/** Every product's roles, synthesized in one chart. */
function platform(): Obj[] {
  const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
  const zookeeper = new ZookeeperCluster(chart, 'zk');
  new KafkaCluster(chart, 'kafka', {});
  new KafkaCluster(chart, 'kafka-zk', { zookeeper });
  new HiveCluster(chart, 'hive', { clusterConfig: { database: { type: 'derby' } } });
  new TrinoCluster(chart, 'trino');
  return Testing.synth(chart) as Obj[];
}

const ROLES: [stacklet: string, role: string, port: number][] = [
  ['zk', 'servers', 7000],
  ['kafka', 'controllers', 9404],
  ['kafka', 'brokers', 9404],
  ['kafka-zk', 'brokers', 9404],
  ['hive', 'metastores', 9404],
  ['trino', 'coordinators', 9404],
  ['trino', 'workers', 9404],
];

describe('Prometheus metrics of every product', () => {
  const objs = platform();

  test.each(ROLES)(
    '%s %s: a metrics Service with the scrape annotations on port %d',
    (stacklet, role, port) => {
      const service = find(objs, 'Service', `${stacklet}-${role}-metrics`);
      expect(service.metadata.annotations).toEqual({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(port),
        'prometheus.io/path': '/metrics',
        'prometheus.io/scheme': 'http',
      });
      expect(service.metadata.labels!['app.kubernetes.io/managed-by']).toBe('keelson');
      expect(service.spec.ports).toEqual([
        expect.objectContaining({ name: 'metrics', port, targetPort: port }),
      ]);
      const sts = find(objs, 'StatefulSet', `${stacklet}-${role}-default`);
      const ports = sts.spec.template.spec.containers[0].ports as { name: string; containerPort: number }[];
      expect(ports).toContainEqual(expect.objectContaining({ name: 'metrics', containerPort: port }));
    },
  );

  test.each([
    ['hive', 'metastores'],
    ['trino', 'coordinators'],
    ['trino', 'workers'],
    ['kafka', 'brokers'],
  ])('%s %s loads the JMX exporter agent with its rules from the role group ConfigMap', (stacklet, role) => {
    const sts = find(objs, 'StatefulSet', `${stacklet}-${role}-default`);
    const config = find(objs, 'ConfigMap', `${stacklet}-${role}-default`);
    const startsJava =
      JSON.stringify(sts.spec.template.spec.containers[0].command) + (config.data['jvm.config'] ?? '');
    expect(startsJava).toContain(`-javaagent:${JMX_EXPORTER_AGENT}=9404:`);
    const rules = yaml.load(config.data['jmx-exporter.yaml']) as {
      rules: { pattern: string; name: string }[];
    };
    expect(rules.rules.length).toBeGreaterThan(0);
    for (const rule of rules.rules) expect(() => new RegExp(rule.pattern)).not.toThrow();
  });

  test('no product opens remote JMX', () => {
    expect(JSON.stringify(objs)).not.toMatch(/jmxremote|JMX_PORT|rmiregistry/);
  });

  test('the Hive metastore reports its metrics as MBeans', () => {
    const site = find(objs, 'ConfigMap', 'hive-metastores-default').data['metastore-site.xml'];
    expect(site).toMatch(/<name>metastore\.metrics\.enabled<\/name>\s*<value>true<\/value>/);
    expect(site).toMatch(/<name>metastore\.metrics\.reporters<\/name>\s*<value>jmx<\/value>/);
  });

  test.each([
    ['trino.execution<name=QueryManager><>CompletedQueries.TotalCount: 7', 'trino_$1_$2_$3_total', 'trino'],
    ['trino.execution<name=QueryManager><>RunningQueries: 1', 'trino_$1_$2_$3', 'trino'],
    ['trino.execution<name=QueryManager><>CompletedQueries.OneMinute.Count: 0.5', undefined, 'trino'],
    ['metrics<name=api_get_all_databases, type=timers><>Count: 5', 'hive_metastore_$1', 'hive'],
    ['metrics<name=open_connections><>Count: 1', 'hive_metastore_$1', 'hive'],
  ])('the rules give %s a stable name (or none)', (bean, name, product) => {
    const configMap = product === 'trino' ? 'trino-workers-default' : 'hive-metastores-default';
    const rules = (
      yaml.load(find(objs, 'ConfigMap', configMap).data['jmx-exporter.yaml']) as {
        rules: { pattern: string; name: string }[];
      }
    ).rules;
    // The exporter matches `^.*(?:pattern).*$` against `domain<keys><>attribute: value`, as a Java
    // regular expression (these are plain ones).
    const first = rules.find((r) => new RegExp(`^.*(?:${r.pattern}).*$`).test(bean));
    expect(first?.name).toBe(name);
  });
});

describe('the scrape configuration', () => {
  test('keeps annotated keelson Services and takes port, path and scheme from the annotations', () => {
    const job = prometheusScrapeConfig() as { relabel_configs: Record<string, unknown>[] };
    expect(job).toMatchObject({ job_name: 'keelson', kubernetes_sd_configs: [{ role: 'endpointslice' }] });
    const targets = job.relabel_configs.map((r) => r.target_label ?? r.action);
    expect(targets).toEqual(
      expect.arrayContaining([
        'keep',
        '__scheme__',
        '__metrics_path__',
        '__address__',
        'namespace',
        'pod',
        'product',
      ]),
    );
    const address = job.relabel_configs.find((r) => r.target_label === '__address__')!;
    const match = new RegExp(`^${address.regex as string}$`).exec('10.245.0.7:9092;9404');
    expect(match && `${match[1]}:${match[2]}`).toBe('10.245.0.7:9404');
  });

  test('annotations default to http and /metrics', () => {
    expect(scrapeAnnotations({ port: 1234 })).toEqual({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': '1234',
      'prometheus.io/path': '/metrics',
      'prometheus.io/scheme': 'http',
    });
  });
});
