import { Chart, Testing } from 'cdk8s';
import {
  INTERNAL_PRINCIPAL,
  KAFKA,
  KafkaCluster,
  OPA_AUTHORIZER_CLASS,
  OpaCluster,
  ZookeeperCluster,
  type KafkaClusterProps,
} from '../constructs';
import { KAFKA_IMAGE_VERSIONS, OPA_AUTHORIZER } from '../constructs/kafka/image';
import { Stacklet, specProblems, type StackletOptions } from '../lib';
import { find, problemsOf, type Obj } from './support/synth';

const tlsOn: StackletOptions = { tlsClasses: [{ name: 'tls' }] };

function build(
  props: Omit<KafkaClusterProps, 'opa'> = {},
  opa: Partial<NonNullable<KafkaClusterProps['opa']>> | null = {},
  options: StackletOptions = tlsOn,
): { chart: Chart; kafka: KafkaCluster } {
  const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
  const cluster = new OpaCluster(chart, 'opa', {});
  const kafka = new KafkaCluster(
    chart,
    'kafka',
    { ...props, ...(opa ? { opa: { cluster, package: 'kafka.authz', ...opa } } : {}) },
    options,
  );
  return { chart, kafka };
}

function synth(...args: Parameters<typeof build>): { objs: Obj[] } {
  return { objs: Testing.synth(build(...args).chart) as Obj[] };
}

function properties(objs: Obj[], configMap: string, file: string): Record<string, string> {
  const text: string = find(objs, 'ConfigMap', configMap).data[file];
  return Object.fromEntries(
    text
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

const authorizer = {
  'authorizer.class.name': OPA_AUTHORIZER_CLASS,
  'opa.authorizer.url': 'http://opa-servers.data.svc.cluster.local:8181/v1/data/kafka/authz/allow',
  'opa.authorizer.allow.on.error': 'false',
  'opa.authorizer.cache.expire.after.seconds': '30',
  'opa.authorizer.cache.maximum.size': '50000',
  'super.users': `User:${INTERNAL_PRINCIPAL}`,
};

describe("Kafka's OPA authorizer", () => {
  test('every image carries the plugin from Maven Central', () => {
    for (const version of Object.keys(KAFKA.images!.versions))
      expect(KAFKA_IMAGE_VERSIONS[version].extras).toContain(OPA_AUTHORIZER);
  });

  test("brokers and controllers ask the OpaCluster's allow rule; among themselves they are the super user", () => {
    const { objs } = synth();
    const broker = properties(objs, 'kafka-brokers-default', 'broker.properties');
    const controller = properties(objs, 'kafka-controllers-default', 'controller.properties');
    const internal = `RULE:^.*$/${INTERNAL_PRINCIPAL}/`;
    expect(broker).toMatchObject({
      ...authorizer,
      'listener.name.internal.ssl.principal.mapping.rules': internal,
      'listener.name.controller.ssl.principal.mapping.rules': internal,
    });
    expect(controller).toMatchObject({
      ...authorizer,
      'listener.name.controller.ssl.principal.mapping.rules': internal,
    });
    // Clients keep their certificate's common name (when a tls class asks for one) and are no super users.
    expect(broker['listener.name.client.ssl.principal.mapping.rules']).toBeUndefined();
    // The OPA servers admit the brokers and controllers.
    const policy = find(objs, 'NetworkPolicy', 'opa');
    expect(JSON.stringify(policy.spec.ingress)).toContain('"app.kubernetes.io/instance":"kafka"');
  });

  test('takes the cache settings, and without OPA renders none of it', () => {
    const { objs } = synth({}, { cache: { entryTimeToLive: '1m30s', maxEntries: 10 } });
    expect(properties(objs, 'kafka-brokers-default', 'broker.properties')).toMatchObject({
      'opa.authorizer.cache.expire.after.seconds': '90',
      'opa.authorizer.cache.maximum.size': '10',
    });
    const plain = synth({}, null).objs;
    const broker = properties(plain, 'kafka-brokers-default', 'broker.properties');
    expect(Object.keys(broker).filter((k) => /authorizer|super\.users|principal/.test(k))).toEqual([]);
  });

  test('in ZooKeeper mode the brokers authorize, with the internal listener mapped', () => {
    const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
    const zookeeper = new ZookeeperCluster(chart, 'zk', {});
    const opa = new OpaCluster(chart, 'opa', {});
    new KafkaCluster(chart, 'kafka', { zookeeper, opa: { cluster: opa, package: 'kafka' } }, tlsOn);
    const broker = properties(Testing.synth(chart) as Obj[], 'kafka-brokers-default', 'broker.properties');
    expect(broker).toMatchObject({
      'authorizer.class.name': OPA_AUTHORIZER_CLASS,
      'listener.name.internal.ssl.principal.mapping.rules': `RULE:^.*$/${INTERNAL_PRINCIPAL}/`,
    });
    expect(broker['listener.name.controller.ssl.principal.mapping.rules']).toBeUndefined();
  });

  test('refuses OPA without internal TLS, a cache time below a second, and a ConfigMap that is no OpaCluster', () => {
    expect(problemsOf(build({}, {}, {}).kafka)).toMatch(
      /spec\.clusterConfig\.authorization\.opa: brokers and controllers are super users by their internal certificates.*internalTlsClass/,
    );
    expect(problemsOf(build({}, { cache: { entryTimeToLive: '500ms' } }).kafka)).toMatch(
      /spec\.clusterConfig\.authorization\.opa\.cache\.entryTimeToLive: "500ms" is shorter than the plugin's unit/,
    );
    const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
    const kafka = new Stacklet(
      chart,
      'kafka',
      KAFKA,
      { clusterConfig: { authorization: { opa: { configMapName: 'zk', package: 'kafka' } } } },
      { ...tlsOn, dependencies: { zk: { ZOOKEEPER: 'zk:2181' } } },
    );
    expect(problemsOf(kafka)).toMatch(
      /spec\.clusterConfig\.authorization\.opa\.configMapName: the ConfigMap "zk" has no OPA/,
    );
  });

  test('the schema refuses a package that is no Rego path, a bad duration and unknown fields', () => {
    const opa = (extra: object) => ({
      clusterConfig: { authorization: { opa: { configMapName: 'opa', package: 'kafka', ...extra } } },
    });
    expect(specProblems(KAFKA.specSchema, opa({ package: 'a/b' })).join('\n')).toMatch(
      /spec\.clusterConfig\.authorization\.opa\.package/,
    );
    expect(specProblems(KAFKA.specSchema, opa({ cache: { entryTimeToLive: 'soon' } })).join('\n')).toMatch(
      /spec\.clusterConfig\.authorization\.opa\.cache\.entryTimeToLive/,
    );
    expect(specProblems(KAFKA.specSchema, opa({ superUsers: ['x'] })).join('\n')).toMatch(
      /spec\.clusterConfig\.authorization\.opa/,
    );
  });
});
