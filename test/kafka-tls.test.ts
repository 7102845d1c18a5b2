import { Chart, Testing } from 'cdk8s';
import { IMPERSONATING_PRINCIPAL, KafkaCluster, type KafkaClusterProps } from '../constructs/kafka';
import { TlsClass } from '../lib';
import type { StackletOptions } from '../lib';
import { find, type Obj } from './support/synth';

function synth(props: KafkaClusterProps = {}, options: StackletOptions = {}): Obj[] {
  const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
  new KafkaCluster(chart, 'kafka', props, options);
  return Testing.synth(chart) as Obj[];
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

const tlsOn: StackletOptions = { tlsClasses: [{ name: 'tls' }] };

const clientTls = {
  'listener.name.client.ssl.keystore.type': 'PEM',
  'listener.name.client.ssl.keystore.location': '/keelson/tls/server/tls.pem',
  'listener.name.client.ssl.truststore.type': 'PEM',
  'listener.name.client.ssl.truststore.location': '/keelson/tls/server/ca.crt',
  'listener.name.client.ssl.client.auth': 'none',
  'listener.name.client.ssl.endpoint.identification.algorithm': 'https',
};
const internalTls = (listener: 'internal' | 'controller') => ({
  [`listener.name.${listener}.ssl.keystore.type`]: 'PEM',
  [`listener.name.${listener}.ssl.keystore.location`]: '/keelson/tls/internal/tls.pem',
  [`listener.name.${listener}.ssl.truststore.type`]: 'PEM',
  [`listener.name.${listener}.ssl.truststore.location`]: '/keelson/tls/internal/ca.crt',
  [`listener.name.${listener}.ssl.client.auth`]: 'required',
  [`listener.name.${listener}.ssl.endpoint.identification.algorithm`]: 'https',
});
const sslKeys = (p: Record<string, string>) => Object.keys(p).filter((k) => k.includes('ssl'));

describe('a KRaft KafkaCluster with TLS', () => {
  const objs = synth({}, tlsOn);
  const broker = properties(objs, 'kafka-brokers-default', 'broker.properties');
  const controller = properties(objs, 'kafka-controllers-default', 'controller.properties');

  test('serves clients on 9092 with TLS of the server files and replicates on 9094 with mutual TLS of the internal files', () => {
    expect(broker).toMatchObject({
      listeners: 'CLIENT://0.0.0.0:9092,INTERNAL://0.0.0.0:9094',
      'advertised.listeners': 'CLIENT://__POD_ADDRESS__:9092,INTERNAL://__POD_ADDRESS__:9094',
      'inter.broker.listener.name': 'INTERNAL',
      'listener.security.protocol.map': 'CLIENT:SSL,INTERNAL:SSL,CONTROLLER:SSL',
      ...clientTls,
      ...internalTls('internal'),
      ...internalTls('controller'),
    });
    // Nothing inline: no key, no chain, no password in the ConfigMap.
    for (const key of [
      'ssl.keystore.key',
      'ssl.keystore.certificate.chain',
      'ssl.key.password',
      'ssl.keystore.password',
    ])
      expect(Object.keys(broker).filter((k) => k.endsWith(key))).toEqual([]);
    expect(JSON.stringify(objs)).not.toMatch(/PRIVATE KEY/);
  });

  test('the controllers speak mutual TLS of the internal files on the quorum listener', () => {
    expect(controller).toMatchObject({
      listeners: 'CONTROLLER://0.0.0.0:9093',
      'listener.security.protocol.map': 'CONTROLLER:SSL',
      ...internalTls('controller'),
    });
    expect(sslKeys(controller).filter((k) => !k.startsWith('listener.name.controller.'))).toEqual([]);
  });

  test('mounts the server files on brokers only and the internal files on both roles', () => {
    const mounts = (sts: string) =>
      find(objs, 'StatefulSet', sts)
        .spec.template.spec.containers[0].volumeMounts.map((m: { mountPath: string }) => m.mountPath)
        .filter((p: string) => p.startsWith('/keelson/tls'));
    expect(mounts('kafka-brokers-default').sort()).toEqual(['/keelson/tls/internal', '/keelson/tls/server']);
    expect(mounts('kafka-controllers-default')).toEqual(['/keelson/tls/internal']);
  });

  test('the discovery ConfigMap names the class a client trusts for the bootstrap servers', () => {
    expect(find(objs, 'ConfigMap', 'kafka').data).toEqual({
      KAFKA: 'kafka-brokers.data.svc.cluster.local:9092',
      KAFKA_TLS_CLASS: 'tls',
    });
  });

  test('probes still open a TCP connection to the listener (a TLS listener accepts it)', () => {
    const container = find(objs, 'StatefulSet', 'kafka-brokers-default').spec.template.spec.containers[0];
    expect(container.readinessProbe.tcpSocket).toEqual({ port: 9092 });
  });

  test('turns on through a TlsClass construct defined before the stacklet (synth mode)', () => {
    const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
    new TlsClass(chart, 'tls', { keelsonCa: {} });
    new KafkaCluster(chart, 'kafka');
    const synthed = Testing.synth(chart) as Obj[];
    expect(find(synthed, 'ConfigMap', 'kafka').data.KAFKA_TLS_CLASS).toBe('tls');
  });
});

describe('a KRaft KafkaCluster without TLS', () => {
  for (const [what, props, options] of [
    ['no TlsClass', {}, {}],
    ['tls.enabled false', { clusterConfig: { tls: { enabled: false } } }, tlsOn],
  ] as [string, KafkaClusterProps, StackletOptions][]) {
    test(`keeps one PLAINTEXT listener and no TLS setting (${what})`, () => {
      const objs = synth(props, options);
      const broker = properties(objs, 'kafka-brokers-default', 'broker.properties');
      const controller = properties(objs, 'kafka-controllers-default', 'controller.properties');
      expect(broker).toMatchObject({
        listeners: 'PLAINTEXT://0.0.0.0:9092',
        'advertised.listeners': 'PLAINTEXT://__POD_ADDRESS__:9092',
        'inter.broker.listener.name': 'PLAINTEXT',
        'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      });
      expect(controller['listener.security.protocol.map']).toBe('CONTROLLER:PLAINTEXT');
      expect([...sslKeys(broker), ...sslKeys(controller)]).toEqual([]);
      expect(find(objs, 'ConfigMap', 'kafka').data).toEqual({
        KAFKA: 'kafka-brokers.data.svc.cluster.local:9092',
      });
    });
  }
});

describe('a KafkaCluster in ZooKeeper mode with TLS', () => {
  const zookeeper = (data: Record<string, string>, options: StackletOptions) =>
    synth(
      { clusterConfig: { zookeeperConfigMapName: 'zk' } },
      { ...options, dependencies: { zk: { ZOOKEEPER: 'zk-servers.data.svc.cluster.local:2181', ...data } } },
    );

  test('has no controller listener: clients on CLIENT, replication on INTERNAL', () => {
    const broker = properties(zookeeper({}, tlsOn), 'kafka-brokers-default', 'broker.properties');
    expect(broker).toMatchObject({
      'listener.security.protocol.map': 'CLIENT:SSL,INTERNAL:SSL',
      'inter.broker.listener.name': 'INTERNAL',
      ...clientTls,
      ...internalTls('internal'),
    });
    expect(sslKeys(broker).filter((k) => k.startsWith('listener.name.controller.'))).toEqual([]);
    expect(sslKeys(broker).filter((k) => k.startsWith('zookeeper.'))).toEqual([]);
  });

  test('talks TLS to a ZooKeeper whose discovery names its TlsClass, trusting that class through the internal files', () => {
    const broker = properties(
      zookeeper({ ZOOKEEPER_TLS_CLASS: 'tls' }, tlsOn),
      'kafka-brokers-default',
      'broker.properties',
    );
    expect(broker).toMatchObject({
      'zookeeper.ssl.client.enable': 'true',
      'zookeeper.clientCnxnSocket': 'org.apache.zookeeper.ClientCnxnSocketNetty',
      'zookeeper.ssl.protocol': 'TLSv1.3',
      'zookeeper.ssl.truststore.type': 'PEM',
      'zookeeper.ssl.truststore.location': '/keelson/tls/internal/ca.crt',
      'zookeeper.ssl.endpoint.identification.algorithm': 'HTTPS',
    });
  });

  test('trusts a ZooKeeper speaking TLS with a class this Kafka does not use through that class’s mounted CAs', () => {
    for (const options of [tlsOn, {}]) {
      const objs = zookeeper({ ZOOKEEPER_TLS_CLASS: 'zk-tls' }, options);
      expect(properties(objs, 'kafka-brokers-default', 'broker.properties')).toMatchObject({
        'zookeeper.ssl.client.enable': 'true',
        'zookeeper.ssl.truststore.type': 'PEM',
        'zookeeper.ssl.truststore.location': '/keelson/tls/trust/zk-tls/ca.crt',
      });
      const spec = find(objs, 'StatefulSet', 'kafka-brokers-default').spec.template.spec;
      expect(spec.volumes).toContainEqual(
        expect.objectContaining({
          name: 'tls-trust-zk-tls',
          projected: {
            sources: [
              {
                clusterTrustBundle: {
                  signerName: 'keelson.dev/zk-tls',
                  labelSelector: { matchLabels: { 'keelson.dev/tls-class': 'zk-tls' } },
                  path: 'ca.crt',
                },
              },
            ],
          },
        }),
      );
      expect(spec.containers[0].volumeMounts).toContainEqual({
        name: 'tls-trust-zk-tls',
        mountPath: '/keelson/tls/trust/zk-tls',
        readOnly: true,
      });
    }
    // The same class as Kafka's own: its own files, no second mount.
    const same = zookeeper({ ZOOKEEPER_TLS_CLASS: 'tls' }, tlsOn);
    const volumes = find(same, 'StatefulSet', 'kafka-brokers-default').spec.template.spec.volumes;
    expect(volumes.map((v: { name: string }) => v.name)).not.toContain('tls-trust-tls');
  });

  test('shows its internal certificate to a ZooKeeper that asks for one of that class, and none otherwise', () => {
    const asked = { ZOOKEEPER_TLS_CLASS: 'tls', ZOOKEEPER_CLIENT_CERTIFICATE_CLASS: 'tls' };
    expect(properties(zookeeper(asked, tlsOn), 'kafka-brokers-default', 'broker.properties')).toMatchObject({
      'zookeeper.ssl.keystore.type': 'PEM',
      'zookeeper.ssl.keystore.location': '/keelson/tls/internal/tls.pem',
      'zookeeper.ssl.truststore.location': '/keelson/tls/internal/ca.crt',
    });
    const notAsked = properties(
      zookeeper({ ZOOKEEPER_TLS_CLASS: 'tls' }, tlsOn),
      'kafka-brokers-default',
      'broker.properties',
    );
    expect(notAsked['zookeeper.ssl.keystore.location']).toBeUndefined();
  });

  test('refuses a ZooKeeper that asks for a certificate of a class the brokers hold none of', () => {
    const asked = { ZOOKEEPER_TLS_CLASS: 'zk-tls', ZOOKEEPER_CLIENT_CERTIFICATE_CLASS: 'zk-tls' };
    for (const options of [tlsOn, {}]) {
      expect(() => zookeeper(asked, options)).toThrow(
        'spec.clusterConfig.zookeeperConfigMapName: the ZooKeeper of "zk" asks every client for a certificate ' +
          'of the TlsClass "zk-tls" (ZOOKEEPER_CLIENT_CERTIFICATE_CLASS), and the brokers hold none of it',
      );
    }
  });
});

/**
 * The principal Kafka derives from a certificate subject under `rules` (`ssl.principal.mapping.rules`):
 * the first `RULE:pattern/replacement/` whose pattern matches the whole subject, else `DEFAULT`
 * (the subject itself). Java's and JavaScript's regular expressions agree on these patterns.
 */
function principalOf(rules: string, subject: string): string {
  const rule = /\s*(DEFAULT|RULE:((?:\\.|[^\\/])*)\/((?:\\.|[^\\/])*)\/[LU]?)\s*(?:,|$)/gy;
  for (const [, whole, pattern, replacement] of rules.matchAll(rule)) {
    if (whole === 'DEFAULT') return subject;
    const regex = new RegExp(pattern);
    if (new RegExp(`^(?:${pattern})$`).test(subject)) return subject.replace(regex, replacement);
  }
  throw new Error(`no rule of ${rules} maps ${subject}`);
}

describe('a KafkaCluster that authenticates clients by certificate', () => {
  const withClients = (tlsClass: string, options: StackletOptions = tlsOn): StackletOptions => ({
    ...options,
    tlsClasses: [{ name: 'tls' }, { name: 'clients' }],
    authenticationClasses: [{ name: 'mtls', provider: 'tls', spec: { tls: { tlsClass } } }],
  });
  const props: KafkaClusterProps = { clusterConfig: { authentication: [{ authenticationClass: 'mtls' }] } };

  test("asks clients for a certificate of the class's TlsClass on 9092 and names them by its common name", () => {
    const objs = synth(props, withClients('clients'));
    const broker = properties(objs, 'kafka-brokers-default', 'broker.properties');
    expect(broker).toMatchObject({
      ...clientTls,
      'listener.name.client.ssl.client.auth': 'required',
      // The brokers still show their own server certificate; they check clients against the other class.
      'listener.name.client.ssl.keystore.location': '/keelson/tls/server/tls.pem',
      'listener.name.client.ssl.truststore.location': '/keelson/tls/trust/clients/ca.crt',
      ...internalTls('internal'),
    });
    const rules = broker['listener.name.client.ssl.principal.mapping.rules'];
    expect(principalOf(rules, 'CN=alice,O=data')).toBe('alice');
    expect(principalOf(rules, 'O=data,CN=bob')).toBe('bob');
    expect(principalOf(rules, 'O=data')).toBe('O=data');
    // The brokers' own principal is reserved: a client certificate naming it is no super user.
    for (const subject of [
      'CN=keelson-kafka-internal',
      'CN=keelson-kafka-internal,O=data',
      'O=x,cn=keelson-kafka-internal',
    ]) {
      expect(principalOf(rules, subject)).toBe(IMPERSONATING_PRINCIPAL);
    }
    expect(principalOf(rules, 'CN=keelson-kafka-internal-not')).toBe('keelson-kafka-internal-not');
    const spec = find(objs, 'StatefulSet', 'kafka-brokers-default').spec.template.spec;
    expect(spec.volumes.map((v: { name: string }) => v.name)).toContain('tls-trust-clients');
    expect(spec.containers[0].volumeMounts).toContainEqual({
      name: 'tls-trust-clients',
      mountPath: '/keelson/tls/trust/clients',
      readOnly: true,
    });
    // The controllers serve no clients.
    const controller = properties(objs, 'kafka-controllers-default', 'controller.properties');
    expect(Object.keys(controller).filter((k) => k.includes('principal'))).toEqual([]);
  });

  test('checks client certificates against its own server bundle when the classes are the same', () => {
    const objs = synth(props, withClients('tls'));
    const broker = properties(objs, 'kafka-brokers-default', 'broker.properties');
    expect(broker['listener.name.client.ssl.truststore.location']).toBe('/keelson/tls/server/ca.crt');
    expect(broker['listener.name.client.ssl.client.auth']).toBe('required');
    const spec = find(objs, 'StatefulSet', 'kafka-brokers-default').spec.template.spec;
    expect(spec.volumes.map((v: { name: string }) => v.name)).not.toContain('tls-trust-tls');
  });

  test('refuses client certificates without server TLS, and more than one tls class', () => {
    const plaintext = { ...props, clusterConfig: { ...props.clusterConfig, tls: { enabled: false } } };
    expect(() => synth(plaintext, withClients('clients'))).toThrow(
      /spec\.clusterConfig\.authentication: the AuthenticationClass "mtls" asks clients for a certificate, which needs the brokers' client listener on TLS: set spec\.clusterConfig\.tls\.serverTlsClass/,
    );
    const two: StackletOptions = {
      ...tlsOn,
      authenticationClasses: [
        { name: 'a', provider: 'tls', spec: { tls: { tlsClass: 'tls' } } },
        { name: 'b', provider: 'tls', spec: { tls: { tlsClass: 'tls' } } },
      ],
    };
    expect(() =>
      synth(
        { clusterConfig: { authentication: [{ authenticationClass: 'a' }, { authenticationClass: 'b' }] } },
        two,
      ),
    ).toThrow(
      /Kafka checks client certificates against one TlsClass; name one tls AuthenticationClass, not 2 \(a, b\)/,
    );
  });

  test('refuses providers it does not map', () => {
    const options: StackletOptions = {
      ...tlsOn,
      authenticationClasses: [
        { name: 'dir', provider: 'static', spec: { static: { userCredentialsSecretName: 'u' } } },
      ],
    };
    expect(() =>
      synth({ clusterConfig: { authentication: [{ authenticationClass: 'dir' }] } }, options),
    ).toThrow(
      /the AuthenticationClass "dir" has the static provider, which KafkaCluster does not support; it supports tls, kerberos/,
    );
  });
});
