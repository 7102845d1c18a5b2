/**
 * What keeps a stacklet changeable after its first apply: claim templates that no spec change
 * alters, a namespace every DNS name can rely on, and a NetworkPolicy clients can pass.
 */
import { App, Chart, Testing } from 'cdk8s';
import { HiveCluster } from '../constructs/hive';
import { KafkaCluster } from '../constructs/kafka';
import { TrinoCatalog, TrinoCluster } from '../constructs/trino';
import { ZookeeperCluster, ZookeeperZnode } from '../constructs/zookeeper';
import { BeaconCluster } from './example-product/beacon';
import { find, synthBeacon, type Obj } from './support/synth';

const claimTemplates = (objs: Obj[]) =>
  find(objs, 'StatefulSet', 'demo-servers-default').spec.volumeClaimTemplates as {
    metadata: { labels: Record<string, string> };
    spec: Record<string, unknown>;
  }[];

describe('claim templates', () => {
  test('carry only labels that never change: no version, no part-of', () => {
    const [claim] = claimTemplates(synthBeacon({ image: { productVersion: '1.0.0' } }));
    expect(claim.metadata.labels).toEqual({
      'app.kubernetes.io/name': 'beacon',
      'app.kubernetes.io/instance': 'demo',
      'app.kubernetes.io/component': 'servers',
      'app.kubernetes.io/role-group': 'default',
      'app.kubernetes.io/managed-by': 'keelson',
    });
  });

  test('are the same across a version upgrade, a config, env and pod override change and a stop', () => {
    const before = claimTemplates(synthBeacon({ image: { productVersion: '1.0.0' } }));
    const after = claimTemplates(
      synthBeacon({
        image: { productVersion: '1.1.0' },
        clusterOperation: { stopped: true },
        servers: {
          configOverrides: { 'beacon.properties': { extra: 'yes' } },
          envOverrides: { X: '1' },
          podOverrides: { metadata: { labels: { team: 'a' } } },
          roleGroups: { default: { replicas: 5 } },
        },
      }),
    );
    expect(after).toEqual(before);
  });

  test('are the same under another platform (part-of) name', () => {
    const chart = new Chart(Testing.app(), 'other-platform', { namespace: 'data' });
    new BeaconCluster(chart, 'demo', {});
    expect(claimTemplates(Testing.synth(chart) as Obj[])).toEqual(claimTemplates(synthBeacon()));
  });
});

describe('a chart without a namespace', () => {
  test('rejects a stacklet in it, naming the chart and how to give it one', () => {
    const chart = new Chart(new App(), 'platform');
    const demo = new BeaconCluster(chart, 'demo', {});
    expect(demo.problems).toEqual([
      expect.stringMatching(/^metadata\.namespace: chart "platform" has no namespace/),
    ]);
    // Reported at synth with every other construct's problems.
    expect(() => chart.toJson()).toThrow(
      /BeaconCluster "demo": metadata\.namespace: chart "platform" has no namespace.*new Chart\(app, 'platform', \{ namespace: 'data' \}\)/s,
    );
  });
});

describe('the default NetworkPolicy', () => {
  const ingress = (objs: Obj[], name = 'demo') => find(objs, 'NetworkPolicy', name).spec.ingress as unknown[];
  const clientPorts = [
    { port: 7070, protocol: 'TCP' },
    { port: 8080, protocol: 'TCP' },
  ];

  test("admits every pod of the stacklet's namespace to the client ports, and only to those", () => {
    const rules = ingress(synthBeacon());
    expect(rules).toContainEqual({ from: [{ podSelector: {} }], ports: clientPorts });
    // The peer port 7071 stays open to the stacklet's own pods only.
    const open = rules.filter((r) => JSON.stringify(r).includes('"podSelector":{}'));
    expect(open).toHaveLength(1);
  });

  test('allowSameNamespace: false admits only the stacklet, declared clients and metrics scraping', () => {
    const client = { podSelector: { matchLabels: { app: 'loader' } } };
    const rules = ingress(
      synthBeacon({
        clusterConfig: { networkPolicy: { allowSameNamespace: false, allowedClients: [client] } },
      }),
    );
    expect(rules).not.toContainEqual(expect.objectContaining({ from: [{ podSelector: {} }] }));
    expect(rules).toContainEqual({ from: [client], ports: clientPorts });
    expect(rules).toHaveLength(3);
  });

  test('a stacklet in another namespace is admitted by its pods and its namespace name', () => {
    const app = Testing.app();
    const upstream = new BeaconCluster(new Chart(app, 'a', { namespace: 'metastore' }), 'up', {});
    const down = new BeaconCluster(new Chart(app, 'b', { namespace: 'analytics' }), 'down', { upstream });
    expect(down.namespace).toBe('analytics');
    const rules = ingress(Testing.synth(upstream.node.scope as Chart) as Obj[], 'up');
    expect(rules).toContainEqual({
      from: [
        {
          podSelector: {
            matchLabels: { 'app.kubernetes.io/name': 'beacon', 'app.kubernetes.io/instance': 'down' },
          },
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'analytics' } },
        },
      ],
      ports: clientPorts,
    });
  });
});

describe('references across namespaces', () => {
  const peerIn = (namespace: string, product: string, instance: string) => ({
    podSelector: {
      matchLabels: { 'app.kubernetes.io/name': product, 'app.kubernetes.io/instance': instance },
    },
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } },
  });

  test('a Trino catalog in analytics admits Trino to a Hive in metastore', () => {
    const app = Testing.app();
    const metastore = new Chart(app, 'metastore', { namespace: 'metastore' });
    const analytics = new Chart(app, 'analytics', { namespace: 'analytics' });
    const hive = new HiveCluster(metastore, 'hive', { clusterConfig: { database: { type: 'derby' } } });
    const lake = new TrinoCatalog(analytics, 'lake', { connector: { tpch: {} }, metastore: hive });
    new TrinoCluster(analytics, 'trino', { catalogs: [lake] });
    const rules = find(Testing.synth(metastore) as Obj[], 'NetworkPolicy', 'hive').spec.ingress;
    expect(rules).toContainEqual({
      from: [peerIn('analytics', 'trino', 'trino')],
      ports: [{ port: 9083, protocol: 'TCP' }],
    });
  });

  test('a Kafka in one namespace admits its brokers to a ZooKeeper in another, also through a ZNode', () => {
    const app = Testing.app();
    const coordination = new Chart(app, 'coordination', { namespace: 'coordination' });
    const streaming = new Chart(app, 'streaming', { namespace: 'streaming' });
    const zk = new ZookeeperCluster(coordination, 'zk', {});
    const znode = new ZookeeperZnode(streaming, 'kafka-znode', { zookeeper: zk });
    new KafkaCluster(streaming, 'kafka', { image: { productVersion: '3.9.1' }, zookeeper: znode });
    const rules = find(Testing.synth(coordination) as Obj[], 'NetworkPolicy', 'zk').spec.ingress;
    expect(rules).toContainEqual({
      from: [peerIn('streaming', 'kafka', 'kafka')],
      ports: [{ port: 2181, protocol: 'TCP' }],
    });
  });
});
