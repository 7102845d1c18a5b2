import { execFileSync } from 'node:child_process';
import { Chart, Testing } from 'cdk8s';
import { parse } from 'yaml';
import {
  HBASE,
  HbaseCluster,
  HdfsCluster,
  REGION_MOVER_HEAP,
  ZookeeperCluster,
  ZookeeperZnode,
  znodePath,
  type HbaseClusterProps,
} from '../constructs';
import { productCrd, specProblems } from '../lib';
import { find, kerberosClassInfo, problemsOf, type Obj } from './support/synth';

/** An HBase on an HDFS and a ZNode of its own (or the whole ZooKeeper) in namespace `data`. */
function synth(props: HbaseClusterProps = {}, refs: 'znode' | 'cluster' | 'none' = 'znode'): Obj[] {
  const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
  const zk = new ZookeeperCluster(chart, 'zk', {});
  const hdfs = new HdfsCluster(chart, 'hdfs', {
    zookeeper: new ZookeeperZnode(chart, 'hdfs-znode', { zookeeper: zk }),
  });
  const znode = new ZookeeperZnode(chart, 'hbase-znode', { zookeeper: zk });
  new HbaseCluster(chart, 'hbase', {
    ...props,
    ...(refs === 'none' ? {} : { hdfs, zookeeper: refs === 'znode' ? znode : zk }),
  });
  return Testing.synth(chart) as Obj[];
}

/** name → value of a Hadoop XML file. */
function xml(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/<name>(.*?)<\/name>\s*<value>(.*?)<\/value>/g)) out[m[1]] = m[2];
  return out;
}

const podSpec = (objs: Obj[], name: string) => find(objs, 'StatefulSet', name).spec.template.spec;
const file = (objs: Obj[], configMap: string, name: string) =>
  xml(find(objs, 'ConfigMap', configMap).data[name]);
const ROLES = ['masters', 'regionservers', 'restservers'];

describe('an HbaseCluster with the defaults', () => {
  const objs = synth();

  test('runs two masters, two regionservers and a REST server from keelson’s HBase image, restricted', () => {
    const replicas = (role: string) => find(objs, 'StatefulSet', `hbase-${role}-default`).spec.replicas;
    expect(ROLES.map(replicas)).toEqual([2, 2, 1]);
    for (const role of ROLES) {
      const spec = podSpec(objs, `hbase-${role}-default`);
      expect(spec.containers[0].image).toBe('ghcr.io/keelson/hbase:2.6.1');
      expect(spec.securityContext).toMatchObject({ runAsUser: 10001, runAsNonRoot: true });
      for (const c of spec.containers)
        expect(c.securityContext).toMatchObject({
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
        });
      // HBase keeps its data on HDFS: no volume of its own.
      expect(find(objs, 'StatefulSet', `hbase-${role}-default`).spec.volumeClaimTemplates ?? []).toEqual([]);
    }
  });

  test('runs each daemon as java with its main class, the pod’s config first on the classpath, under its DNS name', () => {
    const main = (role: string) => podSpec(objs, `hbase-${role}-default`).containers[0].command[2] as string;
    expect(main('masters')).toMatch(
      /exec java -Xmx\d+m .* -cp '\/keelson\/config:\/opt\/hbase\/lib\/\*' org\.apache\.hadoop\.hbase\.master\.HMaster start$/,
    );
    expect(main('regionservers')).toMatch(/org\.apache\.hadoop\.hbase\.regionserver\.HRegionServer start$/);
    expect(main('restservers')).toMatch(/org\.apache\.hadoop\.hbase\.rest\.RESTServer start$/);
    expect(main('masters')).toContain('--add-opens=java.base/java.nio=ALL-UNNAMED');
    expect(main('masters')).toContain('-javaagent:/opt/jmx-exporter/jmx_prometheus_javaagent.jar=9404:');
    expect(main('regionservers')).toContain(
      'export POD_ADDRESS="${POD_NAME}.hbase-regionservers-default-headless.data.svc.cluster.local"',
    );
    expect(main('masters')).toContain('getent hosts "${POD_ADDRESS}" > /dev/null && break');
    for (const role of ROLES) execFileSync('bash', ['-n', '-c', main(role)]);
  });

  test('declares HBase’s ports, with the masters’ and regionservers’ RPC and the REST port for clients', () => {
    const ports = (role: string) =>
      Object.fromEntries(
        podSpec(objs, `hbase-${role}-default`).containers[0].ports.map(
          (p: { name: string; containerPort: number }) => [p.name, p.containerPort],
        ),
      );
    expect(ports('masters')).toEqual({ rpc: 16000, http: 16010, metrics: 9404 });
    expect(ports('regionservers')).toEqual({ rpc: 16020, http: 16030, metrics: 9404 });
    expect(ports('restservers')).toEqual({ http: 8080, info: 8085, metrics: 9404 });
    expect(
      find(objs, 'Service', 'hbase-restservers').spec.ports.map((p: { port: number }) => p.port),
    ).toEqual([8080]);
  });

  test('keeps its files under /hbase/<namespace>/<name> on the HDFS and its znode on the ZNode', () => {
    const site = file(objs, 'hbase-masters-default', 'hbase-site.xml');
    expect(site['hbase.rootdir']).toBe('hdfs://hdfs/hbase/data/hbase');
    expect(site['hbase.cluster.distributed']).toBe('true');
    expect(site['zookeeper.znode.parent']).toBe(znodePath('data', 'hbase-znode'));
    expect(site['hbase.zookeeper.quorum']).toMatch(
      /^zk-servers-default-0\.zk-servers-default-headless\.data\.svc\.cluster\.local:2181,/,
    );
    expect(site['hbase.zookeeper.quorum']).not.toContain('/');
    expect(site['hbase.master.hostname']).toBe('${env.POD_ADDRESS}');
    expect(site['hbase.wal.provider']).toBe('filesystem');
    expect(
      file(objs, 'hbase-regionservers-default', 'hbase-site.xml')['hbase.unsafe.regionserver.hostname'],
    ).toBe('${env.POD_ADDRESS}');
    expect(file(objs, 'hbase-restservers-default', 'hbase-site.xml')['hbase.rest.port']).toBe('8080');
  });

  test('gives every role group the HDFS’ client files from its discovery ConfigMap', () => {
    const hdfs = find(objs, 'ConfigMap', 'hdfs').data;
    for (const role of ROLES) {
      const data = find(objs, 'ConfigMap', `hbase-${role}-default`).data;
      expect(data['core-site.xml']).toBe(hdfs['core-site.xml']);
      expect(data['hdfs-site.xml']).toBe(hdfs['hdfs-site.xml']);
      expect(xml(data['hdfs-site.xml'])['dfs.nameservices']).toBe('hdfs');
    }
  });

  test('moves a regionserver’s regions away in its preStop hook, within its grace period', () => {
    const spec = podSpec(objs, 'hbase-regionservers-default');
    expect(spec.terminationGracePeriodSeconds).toBe(300);
    const hook: string = spec.containers[0].lifecycle.preStop.exec.command[2];
    expect(hook).toContain(`java ${REGION_MOVER_HEAP} `);
    expect(hook).toMatch(
      /org\.apache\.hadoop\.hbase\.util\.RegionMover -r "\$\{POD_ADDRESS\}:16020" -o unload -m 4 -t 240 \|\| true$/,
    );
    execFileSync('bash', ['-n', '-c', hook]);
    expect(podSpec(objs, 'hbase-masters-default').containers[0].lifecycle).toBeUndefined();
  });

  test('publishes hbase-site.xml with the quorum and parent znode, and the REST URL, for clients', () => {
    const discovery = find(objs, 'ConfigMap', 'hbase').data;
    expect(Object.keys(xml(discovery['hbase-site.xml'])).sort()).toEqual([
      'hbase.zookeeper.quorum',
      'zookeeper.znode.parent',
    ]);
    expect(discovery.HBASE_ZOOKEEPER_ZNODE_PARENT).toBe(znodePath('data', 'hbase-znode'));
    expect(discovery.HBASE_REST).toBe('http://hbase-restservers.data.svc.cluster.local:8080');
  });

  test('lets the HBase pods reach its HDFS and its ZooKeeper (a declared client of both)', () => {
    for (const policy of ['zk', 'hdfs'])
      expect(JSON.stringify(find(objs, 'NetworkPolicy', policy).spec.ingress)).toContain(
        '"app.kubernetes.io/instance":"hbase"',
      );
  });

  test('exports HBase’s metrics MBeans as hbase_<name>_<sub>_<attribute>', () => {
    const config = parse(
      find(objs, 'ConfigMap', 'hbase-regionservers-default').data['jmx-exporter.yaml'],
    ) as {
      rules: { pattern: string; name: string }[];
    };
    expect(
      new RegExp(config.rules[0].pattern)
        .exec('Hadoop<service=HBase, name=RegionServer, sub=Server><>regionCount')
        ?.slice(1),
    ).toEqual(['RegionServer', 'Server', 'regionCount']);
  });
});

describe('an HbaseCluster with its settings', () => {
  test('uses /hbase as parent znode on a ZooKeeper without a chroot', () => {
    const objs = synth({}, 'cluster');
    expect(file(objs, 'hbase-masters-default', 'hbase-site.xml')['zookeeper.znode.parent']).toBe('/hbase');
  });

  test('applies configOverrides to hbase-site.xml and rolls the grace period into the hook', () => {
    const objs = synth({
      regionservers: {
        config: { gracefulShutdownTimeout: '10m' },
        configOverrides: { 'hbase-site.xml': { 'hbase.regionserver.handler.count': '10' } },
      },
    });
    expect(
      file(objs, 'hbase-regionservers-default', 'hbase-site.xml')['hbase.regionserver.handler.count'],
    ).toBe('10');
    const spec = podSpec(objs, 'hbase-regionservers-default');
    expect(spec.terminationGracePeriodSeconds).toBe(600);
    expect(spec.containers[0].lifecycle.preStop.exec.command[2]).toContain('-t 540 ');
  });

  test('leaves HBASE_REST out of discovery without REST servers', () => {
    const objs = synth({ restservers: { roleGroups: { default: { replicas: 0 } } } });
    expect(find(objs, 'ConfigMap', 'hbase').data.HBASE_REST).toBeUndefined();
  });
});

describe('bad input', () => {
  test('refuses a ZooKeeper that asks for client certificates, which its ZooKeeper clients do not show', () => {
    const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
    const hbase = new HbaseCluster(
      chart,
      'hbase',
      { clusterConfig: { zookeeperConfigMapName: 'zk', hdfsConfigMapName: 'hdfs' } },
      {
        dependencies: {
          zk: {
            ZOOKEEPER_HOSTS: 'zk:2181',
            ZOOKEEPER_TLS_CLASS: 'tls',
            ZOOKEEPER_CLIENT_CERTIFICATE_CLASS: 'tls',
          },
          hdfs: { HDFS: 'hdfs://hdfs', 'core-site.xml': '', 'hdfs-site.xml': '' },
        },
      },
    );
    expect(problemsOf(hbase)).toContain(
      'spec.clusterConfig.zookeeperConfigMapName: the ZooKeeper of "zk" asks every client for a certificate of the TlsClass "tls"',
    );
  });

  test('refuses a ZooKeeper whose client port speaks TLS, which its ZooKeeper clients do not', () => {
    const hbase = (zk: Record<string, string>) =>
      new HbaseCluster(
        new Chart(Testing.app(), 'platform', { namespace: 'data' }),
        'hbase',
        { clusterConfig: { zookeeperConfigMapName: 'zk', hdfsConfigMapName: 'hdfs' } },
        {
          dependencies: {
            zk,
            hdfs: {
              HDFS: 'hdfs://hdfs',
              'core-site.xml': '<configuration/>',
              'hdfs-site.xml': '<configuration/>',
            },
          },
        },
      );
    expect(problemsOf(hbase({ ZOOKEEPER_HOSTS: 'zk:2181', ZOOKEEPER_TLS_CLASS: 'tls' }))).toContain(
      'spec.clusterConfig.zookeeperConfigMapName: the ZooKeeper of "zk" serves its client port over TLS ' +
        '(TlsClass "tls"), which HBase\'s ZooKeeper clients do not speak yet: name a ZooKeeper whose client ' +
        'port is plaintext (its spec.clusterConfig.tls.enabled false)',
    );
    expect(problemsOf(hbase({ ZOOKEEPER_HOSTS: 'zk:2181' }))).toBe('');
  });

  test('rejects an HBase without an HDFS or a ZooKeeper, at synth and in the CRD’s rule', () => {
    expect(() => synth({}, 'none')).toThrow(/HBase needs an HDFS and a ZooKeeper/);
    expect(specProblems(HBASE.specSchema, { clusterConfig: { hdfsConfigMapName: 'hdfs' } })).toEqual([
      expect.stringMatching(/^spec\.clusterConfig: HBase needs an HDFS and a ZooKeeper/),
    ]);
    const crd = productCrd(HBASE as never) as any;
    expect(
      crd.spec.versions[0].schema.openAPIV3Schema.properties.spec['x-kubernetes-validations'],
    ).toContainEqual(
      expect.objectContaining({ rule: expect.stringContaining('has(self.clusterConfig.hdfsConfigMapName)') }),
    );
  });

  test('rejects references that are not an HDFS and a ZooKeeper', () => {
    const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
    const zk = new ZookeeperCluster(chart, 'zk', {});
    expect(problemsOf(new HbaseCluster(chart, 'hbase', { hdfs: zk, zookeeper: zk }))).toMatch(
      /spec\.clusterConfig\.hdfsConfigMapName: the ConfigMap "zk" has no HDFS, core-site\.xml, hdfs-site\.xml; name the discovery ConfigMap of an HdfsCluster/,
    );
    const hdfs = new HdfsCluster(chart, 'hdfs', { zookeeper: zk });
    expect(problemsOf(new HbaseCluster(chart, 'hbase2', { hdfs, zookeeper: hdfs }))).toMatch(
      /spec\.clusterConfig\.zookeeperConfigMapName: the ConfigMap "hdfs" has no ZOOKEEPER_HOSTS/,
    );
  });

  test('rejects an HDFS that takes Kerberos logins only when the HBase names no kerberos class', () => {
    const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
    const zk = new ZookeeperCluster(chart, 'zk', { clusterConfig: { tls: { enabled: false } } });
    const hdfs = new HdfsCluster(
      chart,
      'hdfs',
      { zookeeper: zk, clusterConfig: { authentication: [{ authenticationClass: 'realm' }] } },
      { tlsClasses: [{ name: 'tls' }], authenticationClasses: [kerberosClassInfo()] },
    );
    expect(problemsOf(new HbaseCluster(chart, 'hbase', { hdfs, zookeeper: zk }))).toMatch(
      /spec\.clusterConfig\.authentication: the HDFS "hdfs" takes Kerberos logins only \(realm DATA\.EXAMPLE\.ORG\); name a kerberos AuthenticationClass/,
    );
    const plain = new HdfsCluster(chart, 'hdfs2', { zookeeper: zk });
    expect(problemsOf(new HbaseCluster(chart, 'hbase2', { hdfs: plain, zookeeper: zk }))).not.toMatch(
      /Kerberos/,
    );
  });

  test('rejects no master, no regionserver, and a grace period too short to move the regions', () => {
    expect(() => synth({ masters: { roleGroups: { default: { replicas: 0 } } } })).toThrow(
      /spec\.masters: an HBase needs at least one master/,
    );
    expect(() => synth({ regionservers: { roleGroups: { default: { replicas: 0 } } } })).toThrow(
      /spec\.regionservers: an HBase needs at least one regionserver/,
    );
    expect(() => synth({ regionservers: { config: { gracefulShutdownTimeout: '20s' } } })).toThrow(
      /spec\.regionservers\.roleGroups\.default: gracefulShutdownTimeout 20s leaves no time to move the regions away/,
    );
  });

  test('rejects an unknown config file and an unsupported version', () => {
    expect(() => synth({ masters: { configOverrides: { 'hdfs-site.xml': {} } } as never })).toThrow(
      /unknown field "hdfs-site\.xml"; expected one of this role's config files: hbase-site\.xml, log4j2\.properties, jmx-exporter\.yaml/,
    );
    expect(() => synth({ image: { productVersion: '2.5.10' } })).toThrow(
      /version "2\.5\.10" is not supported/,
    );
  });
});
