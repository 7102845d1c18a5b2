/**
 * HDFS with server TLS (`clusterConfig.tls`): the web ports (namenode 9870, journalnode 8480,
 * datanode 9864) speak HTTPS only, from key and trust stores each start builds out of the mounted
 * PEM files; RPC and block transfer stay as they are; what HDFS cannot do is refused by field.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Chart, Testing } from 'cdk8s';
import {
  DATANODE_DECOMMISSION,
  HDFS,
  HDFS_KEYSTORE_PASSWORD_ENV,
  HDFS_TRUSTSTORE_PASSWORD,
  HdfsCluster,
  storesScript,
  ZookeeperCluster,
  ZookeeperZnode,
  type HdfsClusterProps,
} from '../constructs';
import { tlsFiles, type TlsClassInfo } from '../lib';
import { buildChildren } from '../lib/operator/build';
import { find, problemsOf, type Obj } from './support/synth';

function synth(props: HdfsClusterProps = {}, classes: TlsClassInfo[] = [{ name: 'tls' }]): Obj[] {
  const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
  const zk = new ZookeeperCluster(chart, 'zk', { clusterConfig: { tls: { enabled: false } } });
  const znode = new ZookeeperZnode(chart, 'hdfs-znode', { zookeeper: zk });
  new HdfsCluster(chart, 'hdfs', { ...props, zookeeper: znode }, { tlsClasses: classes });
  return Testing.synth(chart) as Obj[];
}

/** name → value of a Hadoop XML file. */
function xml(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/<name>(.*?)<\/name>\s*<value>(.*?)<\/value>/g)) out[m[1]] = m[2];
  return out;
}

const ROLES = ['namenodes', 'journalnodes', 'datanodes'] as const;
const configMap = (objs: Obj[], role: string) => find(objs, 'ConfigMap', `hdfs-${role}-default`).data;
const site = (objs: Obj[], role: string) => xml(configMap(objs, role)['hdfs-site.xml']);
const podSpec = (objs: Obj[], role: string) =>
  find(objs, 'StatefulSet', `hdfs-${role}-default`).spec.template.spec;
const NN0 = 'hdfs-namenodes-default-0';
const NN0_ADDRESS = `${NN0}.hdfs-namenodes-default-headless.data.svc.cluster.local`;

describe('an HdfsCluster with server TLS', () => {
  const objs = synth();

  test('binds every web port as HTTPS only, on the port numbers of HTTP', () => {
    for (const role of ROLES) expect(site(objs, role)['dfs.http.policy']).toBe('HTTPS_ONLY');
    expect(site(objs, 'namenodes')).toMatchObject({
      'dfs.namenode.https-bind-host': '0.0.0.0',
      [`dfs.namenode.https-address.hdfs.${NN0}`]: `${NN0_ADDRESS}:9870`,
    });
    expect(site(objs, 'journalnodes')['dfs.journalnode.https-address']).toBe('0.0.0.0:8480');
    expect(site(objs, 'datanodes')['dfs.datanode.https.address']).toBe('0.0.0.0:9864');
    for (const role of ROLES) {
      expect(Object.keys(site(objs, role)).filter((k) => /\bhttp[.-](address|bind-host)/.test(k))).toEqual(
        [],
      );
    }
    // Services, NetworkPolicy and probes are those of plaintext: the ports keep their numbers.
    const plain = synth({}, []);
    for (const kind of ['Service', 'NetworkPolicy'])
      for (const o of objs.filter((x) => x.kind === kind && x.metadata.name.startsWith('hdfs')))
        expect(o.spec).toEqual(find(plain, kind, o.metadata.name).spec);
    for (const role of ROLES) {
      const [tls, none] = [podSpec(objs, role), podSpec(plain, role)].map((s) => s.containers[0]);
      expect([tls.ports, tls.readinessProbe, tls.livenessProbe]).toEqual([
        none.ports,
        none.readinessProbe,
        none.livenessProbe,
      ]);
    }
  });

  test('writes ssl-server.xml and ssl-client.xml for every role, the key store’s password a variable, never a value', () => {
    for (const role of ROLES) {
      const data = configMap(objs, role);
      expect(xml(data['ssl-server.xml'])).toEqual({
        'ssl.server.keystore.location': '/tmp/keelson-tls/keystore.p12',
        'ssl.server.keystore.type': 'PKCS12',
        'ssl.server.keystore.password': `\${env.${HDFS_KEYSTORE_PASSWORD_ENV}}`,
        'ssl.server.keystore.keypassword': `\${env.${HDFS_KEYSTORE_PASSWORD_ENV}}`,
      });
      expect(xml(data['ssl-client.xml'])).toEqual({
        'ssl.client.truststore.location': '/tmp/keelson-tls/truststore.p12',
        'ssl.client.truststore.type': 'PKCS12',
        'ssl.client.truststore.password': HDFS_TRUSTSTORE_PASSWORD,
      });
      // The pod mounts the class's certificate, read-only.
      const spec = podSpec(objs, role);
      expect(spec.volumes.map((v: { name: string }) => v.name)).toContain('tls-server');
      expect(spec.containers[0].volumeMounts).toContainEqual(
        expect.objectContaining({ name: 'tls-server', mountPath: '/keelson/tls/server', readOnly: true }),
      );
      // The daemon builds its stores before it starts.
      const script: string = spec.containers[0].command[2];
      expect(script.indexOf('openssl pkcs12 -export -in /keelson/tls/server/tls.pem')).toBeGreaterThan(0);
      expect(script.indexOf('keytool')).toBeLessThan(script.indexOf('exec java'));
      execFileSync('bash', ['-n', '-c', script]);
    }
  });

  test('has the namenodes’ init container copy the TLS files and build the trust store only', () => {
    const init = podSpec(objs, 'namenodes').initContainers[0];
    const script: string = init.command[2];
    expect(script).toContain('cp /keelson/config/ssl-server.xml /keelson/run/ssl-server.xml');
    expect(script).toContain('cp /keelson/config/ssl-client.xml /keelson/run/ssl-client.xml');
    expect(script).toContain('keytool');
    expect(script).not.toContain(HDFS_KEYSTORE_PASSWORD_ENV);
    expect(script.indexOf('keytool')).toBeLessThan(script.indexOf('-bootstrapStandby'));
    expect(init.volumeMounts).toContainEqual({
      name: 'tls-server',
      mountPath: '/keelson/tls/server',
      readOnly: true,
    });
    execFileSync('bash', ['-n', '-c', script]);
  });

  test('publishes the class and the namenodes’ HTTPS addresses for clients', () => {
    const discovery = find(objs, 'ConfigMap', 'hdfs').data;
    expect(discovery.HDFS_TLS_CLASS).toBe('tls');
    const client = xml(discovery['hdfs-site.xml']);
    expect(client['dfs.http.policy']).toBe('HTTPS_ONLY');
    expect(client[`dfs.namenode.https-address.hdfs.${NN0}`]).toBe(`${NN0_ADDRESS}:9870`);
    expect(client[`dfs.namenode.http-address.hdfs.${NN0}`]).toBeUndefined();
    expect(client[`dfs.namenode.rpc-address.hdfs.${NN0}`]).toBe(`${NN0_ADDRESS}:8020`);
  });

  test('is plaintext, with no TLS file, when the class is missing or TLS is off', () => {
    for (const objs of [synth({}, []), synth({ clusterConfig: { tls: { enabled: false } } })]) {
      for (const role of ROLES) {
        expect(configMap(objs, role)['ssl-server.xml']).toBeUndefined();
        expect(site(objs, role)['dfs.http.policy']).toBeUndefined();
        expect(podSpec(objs, role).containers[0].command[2]).not.toContain('keytool');
      }
      expect(find(objs, 'ConfigMap', 'hdfs').data.HDFS_TLS_CLASS).toBeUndefined();
      expect(site(objs, 'namenodes')[`dfs.namenode.http-address.hdfs.${NN0}`]).toBe(`${NN0_ADDRESS}:9870`);
    }
  });

  test('has the operator restart the pods before their certificate expires (stores built at start)', () => {
    for (const role of HDFS.roles) {
      expect(role.tls).toEqual(['server']);
      expect(role.certificateReload).toEqual({ server: 'restart' });
    }
  });
});

describe('the HDFS stores script', () => {
  const hasTools = (() => {
    try {
      execFileSync('keytool', ['-help'], { stdio: 'ignore' });
      execFileSync('openssl', ['version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

  (hasTools ? test : test.skip)(
    'builds a PKCS#12 key store of the PEM bundle and a trust store of every CA, which Java reads',
    () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-hdfs-stores-'));
      try {
        const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
        for (const ca of ['ca1', 'ca2']) {
          openssl(
            'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
            '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-subj', `/CN=${ca}`, '-days', '1',
          ); // prettier-ignore
        }
        openssl(
          'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'leaf.key',
          '-out', 'leaf.csr', '-subj', '/CN=leaf',
        ); // prettier-ignore
        openssl(
          'x509', '-req', '-in', 'leaf.csr', '-CA', 'ca1.crt', '-CAkey', 'ca1.key', '-CAcreateserial',
          '-days', '1', '-out', 'leaf.crt',
        ); // prettier-ignore
        const tls = path.join(dir, 'tls');
        fs.mkdirSync(tls);
        const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8');
        fs.writeFileSync(path.join(tls, 'tls.pem'), read('leaf.key') + read('leaf.crt'));
        fs.writeFileSync(path.join(tls, 'ca.crt'), read('ca1.crt') + read('ca2.crt'));
        const stores = path.join(dir, 'stores');
        const script = [
          'set -eu',
          ...storesScript({
            server: { ...tlsFiles('server'), bundle: `${tls}/tls.pem`, trust: `${tls}/ca.crt` },
          }),
          `keytool -list -keystore ${stores}/keystore.p12 -storetype PKCS12 -storepass "$${HDFS_KEYSTORE_PASSWORD_ENV}"`,
        ]
          .join('\n')
          .replaceAll('/tmp/keelson-tls', stores);
        const keys = execFileSync('bash', ['-c', script], { encoding: 'utf8' });
        expect(keys).toMatch(/^hdfs, .*PrivateKeyEntry/m);
        const trust = execFileSync(
          'keytool',
          [
            '-list',
            '-keystore',
            `${stores}/truststore.p12`,
            '-storetype',
            'PKCS12',
            '-storepass',
            HDFS_TRUSTSTORE_PASSWORD,
          ],
          { encoding: 'utf8' },
        );
        expect(trust).toMatch(/^ca-00, .*trustedCertEntry/m);
        expect(trust).toMatch(/^ca-01, .*trustedCertEntry/m);
        expect(fs.statSync(stores).mode & 0o777).toBe(0o700);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

describe('bad input', () => {
  test('rejects internal TLS, which HDFS’ RPC and block transfer do not speak, naming the field', () => {
    const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
    const hdfs = new HdfsCluster(
      chart,
      'hdfs',
      { clusterConfig: { zookeeperConfigMapName: 'zk', tls: { internalTlsClass: 'tls' } } },
      { dependencies: { zk: { ZOOKEEPER_HOSTS: 'zk:2181' } }, tlsClasses: [{ name: 'tls' }] },
    );
    expect(problemsOf(hdfs)).toMatch(
      /spec\.clusterConfig\.tls\.internalTlsClass: keelson’s HDFS has no internal TLS\. .*Remove internalTlsClass$/m,
    );
  });

  test('rejects a cert-manager class for datanodes reached at addresses outside the cluster', () => {
    const resource = (datanodes: object) => ({
      apiVersion: 'keelson.dev/v1alpha1',
      kind: 'HdfsCluster',
      metadata: { name: 'hdfs', namespace: 'data', uid: 'u-1', generation: 1 },
      spec: { clusterConfig: { zookeeperConfigMapName: 'zk' }, datanodes },
    });
    const zk = { zk: { ZOOKEEPER_HOSTS: 'zk-0.zk:2181' } };
    const certManager = [{ name: 'tls', certManagerIssuer: { name: 'ca', kind: 'Issuer' as const } }];
    const build = (datanodes: object) => () => buildChildren(HDFS, resource(datanodes), zk, [], certManager);
    expect(build({ roleConfig: { listenerClass: 'external-unstable' } })).toThrow(
      /spec\.datanodes\.roleConfig\.listenerClass: the ListenerClass "external-unstable" reaches each datanode at an address outside the cluster, which a certificate of the cert-manager TlsClass "tls"/,
    );
    expect(build({})).not.toThrow();
  });

  test("follows a decommission in the namenodes' JMX over HTTPS when the HDFS serves TLS", async () => {
    const leaving = 'hdfs-datanodes-default-1';
    const asked: string[] = [];
    const pods = (serverTls: boolean) => ({
      of: (role: string) =>
        role === 'namenodes'
          ? [{ name: NN0, ip: '10.0.0.1' }]
          : role === 'datanodes'
            ? [{ name: leaving, ip: '10.0.0.9' }]
            : [],
      serverTls,
      getJson: async (url: string) => {
        asked.push(url);
        if (url.endsWith('name=NameNodeStatus')) return { beans: [{ State: 'active' }] };
        const live = { dn: { xferaddr: '10.0.0.9:9866', adminState: 'Decommission In Progress' } };
        return { beans: [{ LiveNodes: JSON.stringify(live), DeadNodes: '{}' }] };
      },
    });
    expect(await DATANODE_DECOMMISSION.pending([leaving], pods(true))).toEqual([
      `${leaving} is Decommission In Progress at the active namenode, not yet Decommissioned`,
    ]);
    expect(asked).toEqual([
      'https://10.0.0.1:9870/jmx?qry=Hadoop:service=NameNode,name=NameNodeStatus',
      'https://10.0.0.1:9870/jmx?qry=Hadoop:service=NameNode,name=NameNodeInfo',
    ]);
    asked.length = 0;
    await DATANODE_DECOMMISSION.pending([leaving], pods(false));
    expect(asked.every((url) => url.startsWith('http://10.0.0.1:9870/jmx?'))).toBe(true);
  });

  test('says which namenode reads failed when none answers as active', async () => {
    const pods = {
      of: (role: string) => (role === 'namenodes' ? [{ name: NN0, ip: '10.0.0.1' }] : []),
      serverTls: true,
      getJson: async (url: string) => {
        throw new Error(`GET ${url}: ERR_TLS_CERT_ALTNAME_INVALID`);
      },
    };
    const [message] = await DATANODE_DECOMMISSION.pending(['hdfs-datanodes-default-2'], pods);
    expect(message).toBe(
      'no namenode answers as active, so the decommission of hdfs-datanodes-default-2 cannot be followed ' +
        '(GET https://10.0.0.1:9870/jmx?qry=Hadoop:service=NameNode,name=NameNodeStatus: ERR_TLS_CERT_ALTNAME_INVALID)',
    );
  });
});
