/**
 * HBase with server TLS (`clusterConfig.tls`): the web UIs (master 16010, regionserver 16030, REST
 * info 8085) and the REST server (8080) speak HTTPS only, from key stores each start builds out of
 * the mounted PEM files (lib/tls/java-stores, as HDFS'); RPC stays as it is; the discovery says the
 * scheme and the class; what HBase cannot do is refused by field.
 */
import { execFileSync } from 'node:child_process';
import { Chart, Testing } from 'cdk8s';
import {
  HBASE,
  HBASE_KEYSTORE_PASSWORD_ENV,
  HbaseCluster,
  HdfsCluster,
  ZookeeperCluster,
  ZookeeperZnode,
  type HbaseClusterProps,
} from '../constructs';
import { JAVA_TRUSTSTORE_PASSWORD, type TlsClassInfo } from '../lib';
import { buildChildren } from '../lib/operator/build';
import { find, problemsOf, type Obj } from './support/synth';

/** An HBase (on a plaintext HDFS) in namespace `data`, `classes` the TlsClasses that exist. */
function synth(props: HbaseClusterProps = {}, classes: TlsClassInfo[] = [{ name: 'tls' }]): Obj[] {
  const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
  const zk = new ZookeeperCluster(chart, 'zk', { clusterConfig: { tls: { enabled: false } } });
  const hdfs = new HdfsCluster(chart, 'hdfs', {
    zookeeper: new ZookeeperZnode(chart, 'hdfs-znode', { zookeeper: zk }),
    clusterConfig: { tls: { enabled: false } },
  });
  const znode = new ZookeeperZnode(chart, 'hbase-znode', { zookeeper: zk });
  new HbaseCluster(chart, 'hbase', { ...props, hdfs, zookeeper: znode }, { tlsClasses: classes });
  return Testing.synth(chart) as Obj[];
}

/** name → value of a Hadoop XML file. */
function xml(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/<name>(.*?)<\/name>\s*<value>(.*?)<\/value>/g)) out[m[1]] = m[2];
  return out;
}

const ROLES = ['masters', 'regionservers', 'restservers'] as const;
const configMap = (objs: Obj[], role: string) => find(objs, 'ConfigMap', `hbase-${role}-default`).data;
const site = (objs: Obj[], role: string) => xml(configMap(objs, role)['hbase-site.xml']);
const podSpec = (objs: Obj[], role: string) =>
  find(objs, 'StatefulSet', `hbase-${role}-default`).spec.template.spec;
const PASSWORD = `\${env.${HBASE_KEYSTORE_PASSWORD_ENV}}`;

describe('an HbaseCluster with server TLS', () => {
  const objs = synth({ clusterConfig: { tls: { serverTlsClass: 'tls' } } });

  test('serves the web UIs and the REST server over HTTPS only, on the port numbers of HTTP', () => {
    for (const role of ROLES) {
      expect(site(objs, role)['hbase.ssl.enabled']).toBe('true');
      expect(site(objs, role)).toMatchObject({
        'hbase.master.info.port': '16010',
        'hbase.regionserver.info.port': '16030',
      });
    }
    expect(site(objs, 'restservers')).toMatchObject({
      'hbase.rest.port': '8080',
      'hbase.rest.info.port': '8085',
      'hbase.rest.ssl.enabled': 'true',
      'hbase.rest.ssl.keystore.store': '/tmp/keelson-tls/keystore.p12',
      'hbase.rest.ssl.keystore.type': 'PKCS12',
      'hbase.rest.ssl.keystore.password': PASSWORD,
      'hbase.rest.ssl.keystore.keypassword': PASSWORD,
    });
    for (const role of ['masters', 'regionservers'])
      expect(Object.keys(site(objs, role)).filter((k) => k.startsWith('hbase.rest.ssl'))).toEqual([]);
    // Services, NetworkPolicy and probes are those of plaintext: the ports keep their numbers, and
    // the probes are TCP (they speak no HTTP).
    const plain = synth({}, []);
    for (const kind of ['Service', 'NetworkPolicy'])
      for (const o of objs.filter((x) => x.kind === kind && x.metadata.name.startsWith('hbase')))
        expect(o.spec).toEqual(find(plain, kind, o.metadata.name).spec);
    for (const role of ROLES) {
      const [tls, none] = [podSpec(objs, role), podSpec(plain, role)].map((s) => s.containers[0]);
      expect([tls.ports, tls.readinessProbe, tls.livenessProbe]).toEqual([
        none.ports,
        none.readinessProbe,
        none.livenessProbe,
      ]);
      expect(tls.readinessProbe.tcpSocket).toBeDefined();
    }
  });

  test('writes ssl-server.xml and ssl-client.xml for every role, the key store’s password a variable, never a value', () => {
    for (const role of ROLES) {
      const data = configMap(objs, role);
      expect(xml(data['ssl-server.xml'])).toEqual({
        'ssl.server.keystore.location': '/tmp/keelson-tls/keystore.p12',
        'ssl.server.keystore.type': 'PKCS12',
        'ssl.server.keystore.password': PASSWORD,
        'ssl.server.keystore.keypassword': PASSWORD,
      });
      expect(xml(data['ssl-client.xml'])).toEqual({
        'ssl.client.truststore.location': '/tmp/keelson-tls/truststore.p12',
        'ssl.client.truststore.type': 'PKCS12',
        'ssl.client.truststore.password': JAVA_TRUSTSTORE_PASSWORD,
      });
      const spec = podSpec(objs, role);
      expect(spec.containers[0].volumeMounts).toContainEqual(
        expect.objectContaining({ name: 'tls-server', mountPath: '/keelson/tls/server', readOnly: true }),
      );
      // The daemon builds its stores (alias hbase) before it starts.
      const script: string = spec.containers[0].command[2];
      expect(script).toContain(
        `openssl pkcs12 -export -in /keelson/tls/server/tls.pem -name hbase -out /tmp/keelson-tls/keystore.p12 -passout env:${HBASE_KEYSTORE_PASSWORD_ENV}`,
      );
      expect(script.indexOf('keytool')).toBeLessThan(script.indexOf('exec java'));
      execFileSync('bash', ['-n', '-c', script]);
    }
    // The regionservers' preStop region mover serves nothing: no store of its own.
    const preStop: string = podSpec(objs, 'regionservers').containers[0].lifecycle.preStop.exec.command[2];
    expect(preStop).not.toContain('keytool');
  });

  test('gets a certificate naming each pod’s DNS name and the Services (cert-manager class)', () => {
    const certManager = [{ name: 'tls', certManagerIssuer: { name: 'ca', kind: 'Issuer' as const } }];
    const withSecrets = synth({}, certManager);
    const cert = find(withSecrets, 'Certificate', 'hbase-restservers-default-tls-server');
    expect(cert.spec.dnsNames).toEqual(
      expect.arrayContaining([
        'hbase-restservers-default-0.hbase-restservers-default-headless.data.svc.cluster.local',
        'hbase-restservers.data.svc.cluster.local',
        'hbase-restservers',
      ]),
    );
    expect(find(withSecrets, 'Certificate', 'hbase-masters-default-tls-server').spec.dnsNames).toEqual(
      expect.arrayContaining([
        'hbase-masters-default-1.hbase-masters-default-headless.data.svc.cluster.local',
        'hbase-masters.data.svc.cluster.local',
      ]),
    );
    // The pod certificate of a keelsonCa class: the framework's projected volume.
    const volume = podSpec(objs, 'restservers').volumes.find(
      (v: { name: string }) => v.name === 'tls-server',
    );
    expect(JSON.stringify(volume)).toContain('keelson.dev/tls');
  });

  test('tells clients the REST URL’s scheme and the class', () => {
    const discovery = find(objs, 'ConfigMap', 'hbase').data;
    expect(discovery.HBASE_REST).toBe('https://hbase-restservers.data.svc.cluster.local:8080');
    expect(discovery.HBASE_TLS_CLASS).toBe('tls');
  });

  test('is plaintext, with no TLS file, when the class is missing or TLS is off', () => {
    for (const plain of [synth({}, []), synth({ clusterConfig: { tls: { enabled: false } } })]) {
      for (const role of ROLES) {
        expect(configMap(plain, role)['ssl-server.xml']).toBeUndefined();
        expect(site(plain, role)['hbase.ssl.enabled']).toBeUndefined();
        expect(site(plain, role)['hbase.rest.ssl.enabled']).toBeUndefined();
        expect(podSpec(plain, role).containers[0].command[2]).not.toContain('keytool');
      }
      const discovery = find(plain, 'ConfigMap', 'hbase').data;
      expect(discovery.HBASE_REST).toBe('http://hbase-restservers.data.svc.cluster.local:8080');
      expect(discovery.HBASE_TLS_CLASS).toBeUndefined();
    }
  });

  test('has the operator restart the pods before their certificate expires (stores built at start)', () => {
    for (const role of HBASE.roles) {
      expect(role.tls).toEqual(['server']);
      expect(role.certificateReload).toEqual({ server: 'restart' });
    }
  });
});

describe('bad input', () => {
  test('rejects internal TLS, which HBase’s RPC does not speak here, naming the field (synth and operator)', () => {
    const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
    const hbase = new HbaseCluster(
      chart,
      'hbase',
      {
        clusterConfig: {
          hdfsConfigMapName: 'hdfs',
          zookeeperConfigMapName: 'zk',
          tls: { internalTlsClass: 'tls' },
        },
      },
      {
        dependencies: {
          zk: { ZOOKEEPER_HOSTS: 'zk:2181' },
          hdfs: {
            HDFS: 'hdfs://hdfs/',
            'core-site.xml': '<configuration/>',
            'hdfs-site.xml': '<configuration/>',
          },
        },
        tlsClasses: [{ name: 'tls' }],
      },
    );
    expect(problemsOf(hbase)).toMatch(
      /spec\.clusterConfig\.tls\.internalTlsClass: keelson’s HBase has no internal TLS\. .*Remove internalTlsClass$/m,
    );
    const resource = {
      apiVersion: 'keelson.dev/v1alpha1',
      kind: 'HbaseCluster',
      metadata: { name: 'hbase', namespace: 'data', uid: 'u-1', generation: 1 },
      spec: {
        clusterConfig: {
          hdfsConfigMapName: 'hdfs',
          zookeeperConfigMapName: 'zk',
          tls: { internalTlsClass: 'tls' },
        },
      },
    };
    const deps = {
      zk: { ZOOKEEPER_HOSTS: 'zk:2181' },
      hdfs: {
        HDFS: 'hdfs://hdfs/',
        'core-site.xml': '<configuration/>',
        'hdfs-site.xml': '<configuration/>',
      },
    };
    expect(() => buildChildren(HBASE, resource, deps, [], [{ name: 'tls' }])).toThrow(
      /spec\.clusterConfig\.tls\.internalTlsClass: keelson’s HBase has no internal TLS/,
    );
  });

  test('rejects a server class that does not exist, naming the field', () => {
    expect(() => synth({ clusterConfig: { tls: { serverTlsClass: 'missing' } } })).toThrow(
      /spec\.clusterConfig\.tls\.serverTlsClass.*"missing"/,
    );
  });
});
