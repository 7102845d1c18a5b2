import { execFileSync } from 'node:child_process';
import { Chart, Testing } from 'cdk8s';
import { parse } from 'yaml';
import {
  DATANODE_DECOMMISSION,
  decommissionWait,
  reportedDatanodes,
  FORMAT_MEMORY,
  HDFS,
  HDFS_PORTS,
  HdfsCluster,
  ZookeeperCluster,
  ZookeeperZnode,
  znodePath,
  type HdfsClusterProps,
} from '../constructs';
import { productCrd, specProblems } from '../lib';
import { buildChildren } from '../lib/operator/build';
import { find, problemsOf, type Obj } from './support/synth';

/** An HDFS on a ZooKeeper ZNode (or the ZooKeeper itself) in namespace `data`. */
function synth(props: HdfsClusterProps = {}, on: 'znode' | 'cluster' | 'none' = 'znode'): Obj[] {
  const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
  const zk = new ZookeeperCluster(chart, 'zk', {});
  const znode = new ZookeeperZnode(chart, 'hdfs-znode', { zookeeper: zk });
  const zookeeper = on === 'znode' ? znode : on === 'cluster' ? zk : undefined;
  new HdfsCluster(chart, 'hdfs', { ...props, zookeeper });
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
const NN = (i: number) => `hdfs-namenodes-default-${i}`;
const address = (pod: string, group: string) =>
  `${pod}.hdfs-${group}-default-headless.data.svc.cluster.local`;

describe('an HdfsCluster with the defaults', () => {
  const objs = synth();

  test('runs two namenodes, three journalnodes and three datanodes from keelson’s Hadoop image', () => {
    const replicas = (role: string) => find(objs, 'StatefulSet', `hdfs-${role}-default`).spec.replicas;
    expect([replicas('namenodes'), replicas('journalnodes'), replicas('datanodes')]).toEqual([2, 3, 3]);
    for (const role of ['namenodes', 'journalnodes', 'datanodes']) {
      const spec = podSpec(objs, `hdfs-${role}-default`);
      expect(spec.containers[0].image).toBe('ghcr.io/keelson/hadoop:3.4.2');
      expect(spec.securityContext).toMatchObject({ runAsUser: 10001, runAsNonRoot: true });
      for (const c of [...(spec.initContainers ?? []), ...spec.containers])
        expect(c.securityContext).toMatchObject({
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
        });
      // Each role keeps its files on a volume of its own.
      const claims = find(objs, 'StatefulSet', `hdfs-${role}-default`).spec.volumeClaimTemplates;
      expect(claims.map((c: Obj) => c.metadata.name)).toEqual(['data']);
    }
  });

  test('gives every namenode pod a failover controller and an init container that formats only an empty volume', () => {
    const spec = podSpec(objs, 'hdfs-namenodes-default');
    expect(spec.containers.map((c: { name: string }) => c.name)).toEqual(['hdfs', 'zkfc', 'refresh-nodes']);
    expect(spec.containers[1].resources.limits.memory).toBe('384Mi');
    const init = spec.initContainers[0];
    expect(init.name).toBe('format-namenode');
    expect(init.resources.limits.memory).toBe(FORMAT_MEMORY);
    const script: string = init.command[2];
    expect(script).toContain('if [ -f /keelson/data/namenode/current/VERSION ]; then');
    expect(script).toMatch(/-format -nonInteractive -clusterId CID-keelson-[0-9a-f]{16}/);
    expect(script).toContain('-bootstrapStandby -nonInteractive');
    expect(script).toContain(`if [ "\${POD_NAME}" = ${NN(0)} ]`);
    execFileSync('bash', ['-n', '-c', script]);
    execFileSync('bash', ['-n', '-c', spec.containers[1].command[2]]);
    expect(spec.containers[1].command[2]).toContain(
      'DFSZKFailoverController -formatZK -nonInteractive || true',
    );
  });

  test('runs each daemon as java with its main class, the pod’s config first on the classpath', () => {
    const main = (role: string) => podSpec(objs, `hdfs-${role}-default`).containers[0].command[2] as string;
    expect(main('namenodes')).toMatch(
      /exec java --add-opens=java\.base\/java\.lang=ALL-UNNAMED -Xmx\d+m .* -cp '\/keelson\/run:\/opt\/hadoop\/share\/hadoop\/hdfs:\/opt\/hadoop\/lib\/\*' org\.apache\.hadoop\.hdfs\.server\.namenode\.NameNode$/,
    );
    expect(main('journalnodes')).toMatch(
      /-cp '\/keelson\/config:.*' org\.apache\.hadoop\.hdfs\.qjournal\.server\.JournalNode$/,
    );
    expect(main('datanodes')).toMatch(/org\.apache\.hadoop\.hdfs\.server\.datanode\.DataNode$/);
    expect(main('datanodes')).toContain('-javaagent:/opt/jmx-exporter/jmx_prometheus_javaagent.jar=9404:');
    // WebHDFS's JAXB on Java 17 (every WebHDFS call answered 500 without it).
    for (const role of ['namenodes', 'journalnodes', 'datanodes'])
      expect(main(role)).toContain(' --add-opens=java.base/java.lang=ALL-UNNAMED ');
  });

  test('declares Hadoop’s ports, with the namenodes’ RPC and the datanodes’ data port for clients', () => {
    const ports = (role: string) =>
      Object.fromEntries(
        podSpec(objs, `hdfs-${role}-default`).containers[0].ports.map(
          (p: { name: string; containerPort: number }) => [p.name, p.containerPort],
        ),
      );
    expect(ports('namenodes')).toEqual({ rpc: 8020, http: 9870, zkfc: 8019, metrics: 9404 });
    expect(ports('journalnodes')).toEqual({ rpc: 8485, http: 8480, metrics: 9404 });
    expect(ports('datanodes')).toEqual({ data: 9866, http: 9864, ipc: 9867, metrics: 9404 });
    expect(find(objs, 'Service', 'hdfs-namenodes').spec.ports.map((p: { port: number }) => p.port)).toEqual([
      8020, 9870,
    ]);
    expect(find(objs, 'Service', 'hdfs-datanodes').spec.ports.map((p: { port: number }) => p.port)).toEqual([
      HDFS_PORTS.datanodeData,
    ]);
  });

  test('configures the HA nameservice: namenode ids, the journal, failover through the ZNode', () => {
    const site = file(objs, 'hdfs-namenodes-default', 'hdfs-site.xml');
    expect(site['dfs.nameservices']).toBe('hdfs');
    expect(site['dfs.ha.namenodes.hdfs']).toBe(`${NN(0)},${NN(1)}`);
    expect(site[`dfs.namenode.rpc-address.hdfs.${NN(1)}`]).toBe(`${address(NN(1), 'namenodes')}:8020`);
    expect(site['dfs.ha.namenode.id']).toBe('__NAMENODE_ID__');
    expect(site['dfs.namenode.shared.edits.dir']).toBe(
      `qjournal://${[0, 1, 2].map((i) => `${address(`hdfs-journalnodes-default-${i}`, 'journalnodes')}:8485`).join(';')}/hdfs`,
    );
    expect(site['dfs.ha.automatic-failover.enabled']).toBe('true');
    expect(site['dfs.ha.fencing.methods']).toBe('shell(/bin/true)');
    expect(site['dfs.namenode.name.dir']).toBe('/keelson/data/namenode');
    expect(site['dfs.replication']).toBe('3');
    const core = file(objs, 'hdfs-namenodes-default', 'core-site.xml');
    expect(core['fs.defaultFS']).toBe('hdfs://hdfs');
    // The ZooKeeper's hosts without the chroot, the ZNode's path in the parent znode (see failoverZnode).
    expect(core['ha.zookeeper.quorum']).toMatch(
      /^zk-servers-default-0\.zk-servers-default-headless\.data\.svc\.cluster\.local:2181,/,
    );
    expect(core['ha.zookeeper.quorum']).not.toContain('/');
    expect(core['ha.zookeeper.parent-znode']).toBe(`${znodePath('data', 'hdfs-znode')}/hadoop-ha/data`);
    expect(file(objs, 'hdfs-datanodes-default', 'hdfs-site.xml')['dfs.datanode.data.dir']).toBe(
      '/keelson/data/datanode',
    );
    expect(file(objs, 'hdfs-journalnodes-default', 'hdfs-site.xml')['dfs.journalnode.edits.dir']).toBe(
      '/keelson/data/journalnode',
    );
  });

  test('publishes core-site.xml and hdfs-site.xml for clients, without the servers’ own keys', () => {
    const discovery = find(objs, 'ConfigMap', 'hdfs').data;
    expect(discovery.HDFS).toBe('hdfs://hdfs');
    expect(xml(discovery['core-site.xml'])).toEqual({ 'fs.defaultFS': 'hdfs://hdfs' });
    const site = xml(discovery['hdfs-site.xml']);
    expect(site['dfs.client.failover.proxy.provider.hdfs']).toBe(
      'org.apache.hadoop.hdfs.server.namenode.ha.ConfiguredFailoverProxyProvider',
    );
    expect(site[`dfs.namenode.rpc-address.hdfs.${NN(0)}`]).toBe(`${address(NN(0), 'namenodes')}:8020`);
    expect(Object.keys(site).filter((k) => /name\.dir|shared\.edits|namenode\.id|fencing/.test(k))).toEqual(
      [],
    );
  });

  test('lets the HDFS pods reach its ZooKeeper (a declared client of it)', () => {
    const policy = find(objs, 'NetworkPolicy', 'zk');
    expect(JSON.stringify(policy.spec.ingress)).toContain('"app.kubernetes.io/instance":"hdfs"');
  });
});

describe('an HdfsCluster with its settings', () => {
  test('replicates as often as it has datanodes, up to 3, or as dfsReplication says', () => {
    const one = synth({ datanodes: { roleGroups: { default: { replicas: 1 } } } });
    expect(xml(find(one, 'ConfigMap', 'hdfs').data['hdfs-site.xml'])['dfs.replication']).toBe('1');
    const two = synth({ clusterConfig: { dfsReplication: 2 } });
    expect(file(two, 'hdfs-datanodes-default', 'hdfs-site.xml')['dfs.replication']).toBe('2');
  });

  test('decommissions the listed datanodes through the namenodes’ exclude file, without rolling them', () => {
    const before = synth({ clusterConfig: { dfsReplication: 2 } });
    const after = synth({
      clusterConfig: { dfsReplication: 2, decommissionDatanodes: ['hdfs-datanodes-default-2'] },
    });
    const nn = 'hdfs-namenodes-default';
    expect(file(after, nn, 'hdfs-site.xml')['dfs.hosts.exclude']).toBe('/keelson/config/datanodes.exclude');
    expect(find(before, 'ConfigMap', nn).data['datanodes.exclude']).toBe('');
    expect(find(after, 'ConfigMap', nn).data['datanodes.exclude']).toBe(
      `${address('hdfs-datanodes-default-2', 'datanodes')}\n`,
    );
    // The pods' templates are the same (no roll); the refresh sidecar has the namenode read the file.
    expect(podSpec(after, nn)).toEqual(podSpec(before, nn));
    const refresh = podSpec(after, nn).containers.find((c: { name: string }) => c.name === 'refresh-nodes');
    expect(refresh.command[2]).toContain(
      'org.apache.hadoop.hdfs.tools.DFSAdmin -fs hdfs://127.0.0.1:8020 -refreshNodes',
    );
    expect(refresh.resources.limits.memory).toBe('384Mi');
    // The exclude file holds only what the spec lists: the datanodes' own config is unchanged.
    expect(find(after, 'ConfigMap', 'hdfs-datanodes-default').data).toEqual(
      find(before, 'ConfigMap', 'hdfs-datanodes-default').data,
    );
  });

  test('has the operator list leaving datanodes in the exclude file, and keep those whose pods are gone', () => {
    const two = synth({
      clusterConfig: { dfsReplication: 1 },
      datanodes: { roleGroups: { default: { replicas: 2 } } },
    });
    const one = synth({
      clusterConfig: { dfsReplication: 1 },
      datanodes: { roleGroups: { default: { replicas: 1 } } },
    });
    const nn = 'hdfs-namenodes-default';
    const exclude = (objs: Obj[]) => find(objs, 'ConfigMap', nn).data['datanodes.exclude'];
    const liveOf = (objs: Obj[]) => (m: { kind: string; metadata: { name: string } }) =>
      objs.find((o) => o.kind === m.kind && o.metadata.name === m.metadata.name) as never;
    const leaving = address('hdfs-datanodes-default-1', 'datanodes');
    // Two to one: the leaving pod is listed; the datanodes' own objects are not touched.
    const prepared = DATANODE_DECOMMISSION.prepare(
      ['hdfs-datanodes-default-1'],
      one as never,
      liveOf(two),
    ) as Obj[];
    expect(exclude(prepared)).toBe(`${leaving}\n`);
    expect(find(prepared, 'StatefulSet', 'hdfs-datanodes-default')).toEqual(
      find(one, 'StatefulSet', 'hdfs-datanodes-default'),
    );
    // Once it is gone, the file the namenodes run with keeps it listed (decommissioned and dead)…
    expect(exclude(DATANODE_DECOMMISSION.prepare([], one as never, liveOf(prepared)) as Obj[])).toBe(
      `${leaving}\n`,
    );
    // …until the role group grows over its ordinal again: its pod comes back in service.
    expect(exclude(DATANODE_DECOMMISSION.prepare([], two as never, liveOf(prepared)) as Obj[])).toBe('');
    // The spec's own list comes first, each pod once.
    const listed = synth({
      clusterConfig: { dfsReplication: 1, decommissionDatanodes: ['hdfs-datanodes-default-1'] },
      datanodes: { roleGroups: { default: { replicas: 2 } } },
    });
    expect(
      exclude(
        DATANODE_DECOMMISSION.prepare(
          ['hdfs-datanodes-default-1'],
          listed as never,
          liveOf(prepared),
        ) as Obj[],
      ),
    ).toBe(`${leaving}\n`);
  });

  test('follows a decommission in the active namenode’s report, by the leaving pod’s IP', () => {
    // The shape of Hadoop's NameNodeInfo bean: each node list is a JSON text keyed by host:port.
    const info = {
      LiveNodes: JSON.stringify({
        'dn-0:9866': { xferaddr: '10.0.0.5:9866', adminState: 'In Service' },
        'dn-1:9866': { xferaddr: '10.0.0.6:9866', adminState: 'Decommission In Progress' },
        'dn-2:9866': { xferaddr: '10.0.0.7:9866', adminState: 'Decommissioned' },
      }),
      DeadNodes: JSON.stringify({ 'dn-3:9866': { xferaddr: '10.0.0.8:9866', decommissioned: true } }),
    };
    const reported = reportedDatanodes(info);
    expect(reported).toHaveLength(4);
    expect(decommissionWait('p2', '10.0.0.7', reported)).toEqual([]);
    expect(decommissionWait('p3', '10.0.0.8', reported)).toEqual([]);
    expect(decommissionWait('p1', '10.0.0.6', reported)).toEqual([
      'p1 is Decommission In Progress at the active namenode, not yet Decommissioned',
    ]);
    expect(decommissionWait('p0', '10.0.0.5', reported)).toEqual([
      'p0 is In Service at the active namenode, not yet Decommissioned',
    ]);
    // An address that only starts the same is another datanode.
    expect(decommissionWait('p9', '10.0.0.50', reported)).toEqual([
      'p9 (10.0.0.50) is not registered with the active namenode yet',
    ]);
    expect(decommissionWait('p4', undefined, reported)[0]).toMatch(/^p4 has no IP/);
  });

  test('has no schema keyword the API server refuses in a CRD (uniqueItems)', () => {
    expect(JSON.stringify(productCrd(HDFS))).not.toContain('uniqueItems');
  });

  test('refuses a decommission of a pod that is no datanode, or one that leaves too few datanodes', () => {
    expect(() => synth({ clusterConfig: { decommissionDatanodes: ['hdfs-namenodes-default-1'] } })).toThrow(
      /spec\.clusterConfig\.decommissionDatanodes: "hdfs-namenodes-default-1" is not a datanode pod; name one as hdfs-datanodes-default-<ordinal>/,
    );
    expect(() => synth({ clusterConfig: { decommissionDatanodes: ['hdfs-datanodes-default-2'] } })).toThrow(
      /decommissioning 1 datanode\(s\) leaves 2 in service, fewer than dfs\.replication \(3\)/,
    );
    // A pod already gone (replicas lowered after its decommission) leaves no datanode out of service.
    expect(() =>
      synth({
        clusterConfig: { dfsReplication: 2, decommissionDatanodes: ['hdfs-datanodes-default-2'] },
        datanodes: { roleGroups: { default: { replicas: 2 } } },
      }),
    ).not.toThrow();
  });

  test('keeps the failover lock under the namespace on a ZooKeeper without a chroot', () => {
    const objs = synth({}, 'cluster');
    expect(file(objs, 'hdfs-namenodes-default', 'core-site.xml')['ha.zookeeper.parent-znode']).toBe(
      '/hadoop-ha/data',
    );
  });

  test('applies configOverrides to the Hadoop files', () => {
    const objs = synth({
      datanodes: { configOverrides: { 'hdfs-site.xml': { 'dfs.datanode.du.reserved': '1073741824' } } },
    });
    expect(file(objs, 'hdfs-datanodes-default', 'hdfs-site.xml')['dfs.datanode.du.reserved']).toBe(
      '1073741824',
    );
  });

  test('exports each namenode’s HA state as a series of its own, before the generic Hadoop rule', () => {
    const config = parse(find(synth(), 'ConfigMap', 'hdfs-namenodes-default').data['jmx-exporter.yaml']) as {
      rules: { pattern: string; name: string; labels?: Record<string, string>; value?: number }[];
    };
    expect(config.rules.map((r) => r.name)).toEqual(['hadoop_namenode_ha_state', 'hadoop_$1_$2_$3']);
    expect(config.rules[0]).toMatchObject({
      pattern: 'Hadoop<service=NameNode, name=NameNodeStatus><>State: (\\w+)',
      labels: { state: '$1' },
      value: 1,
    });
    // The patterns are Java regular expressions of what the exporter sees.
    expect(
      new RegExp(config.rules[0].pattern).test(
        'Hadoop<service=NameNode, name=NameNodeStatus><>State: active',
      ),
    ).toBe(true);
    expect(
      new RegExp(config.rules[1].pattern)
        .exec('Hadoop<service=NameNode, name=FSNamesystem><>CapacityUsed')
        ?.slice(1),
    ).toEqual(['NameNode', 'FSNamesystem', 'CapacityUsed']);
  });

  test('takes each container’s log levels into its Log4j 2 file, with the structured file beside the console', () => {
    const objs = synth({
      namenodes: {
        config: {
          logging: {
            containers: {
              hdfs: { loggers: { 'org.apache.hadoop.hdfs.server.namenode': { level: 'DEBUG' } } },
              zkfc: { loggers: { 'org.apache.hadoop.ha': { level: 'DEBUG' } } },
            },
          },
        },
      },
    });
    const data = find(objs, 'ConfigMap', 'hdfs-namenodes-default').data;
    expect(data['log4j2.properties']).toContain('logger.l0.name=org.apache.hadoop.hdfs.server.namenode');
    expect(data['log4j2.properties']).toContain('appender.file.fileName=/keelson/log/hdfs.json');
    expect(data['zkfc-log4j2.properties']).toContain('logger.l0.name=org.apache.hadoop.ha');
    expect(data['zkfc-log4j2.properties']).toContain('appender.file.fileName=/keelson/log/zkfc.json');
    const spec = podSpec(objs, 'hdfs-namenodes-default');
    expect(spec.containers[0].command[2]).toContain(
      '-Dlog4j2.configurationFile=/keelson/config/log4j2.properties',
    );
    expect(spec.containers[1].command[2]).toContain(
      '-Dlog4j2.configurationFile=/keelson/config/zkfc-log4j2.properties',
    );
    for (const c of spec.containers.slice(0, 2))
      expect(c.volumeMounts).toContainEqual({ name: 'rw-keelson-log', mountPath: '/keelson/log' });
  });

  test('rolls no pod for a log level change (Log4j 2 re-reads its files)', () => {
    const level = (l: 'INFO' | 'DEBUG') =>
      synth({ datanodes: { config: { logging: { containers: { hdfs: { console: { level: l } } } } } } });
    const hash = (objs: Obj[]) =>
      find(objs, 'StatefulSet', 'hdfs-datanodes-default').spec.template.metadata.annotations[
        'keelson.dev/config-hash'
      ];
    const [info, debug] = [level('INFO'), level('DEBUG')];
    expect(file(info, 'hdfs-datanodes-default', 'hdfs-site.xml')).toEqual(
      file(debug, 'hdfs-datanodes-default', 'hdfs-site.xml'),
    );
    expect(find(debug, 'ConfigMap', 'hdfs-datanodes-default').data['log4j2.properties']).toContain(
      'appender.console.filter.threshold.level=DEBUG',
    );
    expect(hash(debug)).toBe(hash(info));
  });
});

describe('bad input', () => {
  test('refuses a ZooKeeper that asks for client certificates, which its ZooKeeper clients do not show', () => {
    const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
    const hdfs = new HdfsCluster(
      chart,
      'hdfs',
      { clusterConfig: { zookeeperConfigMapName: 'zk' } },
      {
        dependencies: {
          zk: {
            ZOOKEEPER_HOSTS: 'zk:2181',
            ZOOKEEPER_TLS_CLASS: 'tls',
            ZOOKEEPER_CLIENT_CERTIFICATE_CLASS: 'tls',
          },
        },
      },
    );
    expect(problemsOf(hdfs)).toContain(
      'spec.clusterConfig.zookeeperConfigMapName: the ZooKeeper of "zk" asks every client for a certificate of the TlsClass "tls"',
    );
  });

  test('refuses a ZooKeeper whose client port speaks TLS, which its ZooKeeper clients do not', () => {
    const hdfs = (zk: Record<string, string>) =>
      new HdfsCluster(
        new Chart(Testing.app(), 'platform', { namespace: 'data' }),
        'hdfs',
        { clusterConfig: { zookeeperConfigMapName: 'zk' } },
        { dependencies: { zk } },
      );
    expect(problemsOf(hdfs({ ZOOKEEPER_HOSTS: 'zk:2181', ZOOKEEPER_TLS_CLASS: 'tls' }))).toContain(
      'spec.clusterConfig.zookeeperConfigMapName: the ZooKeeper of "zk" serves its client port over TLS ' +
        '(TlsClass "tls"), which HDFS\'s ZooKeeper clients do not speak yet: name a ZooKeeper whose client ' +
        'port is plaintext (its spec.clusterConfig.tls.enabled false)',
    );
    expect(problemsOf(hdfs({ ZOOKEEPER_HOSTS: 'zk:2181' }))).toBe('');
  });

  test('rejects an HDFS without a ZooKeeper, at synth and in the CRD’s rule', () => {
    expect(() => synth({}, 'none')).toThrow(/HDFS needs a ZooKeeper for its namenodes’ failover/);
    expect(specProblems(HDFS.specSchema, {})).toEqual([
      expect.stringMatching(/^spec\.clusterConfig: HDFS needs a ZooKeeper/),
    ]);
    const crd = productCrd(HDFS as never) as any;
    expect(
      crd.spec.versions[0].schema.openAPIV3Schema.properties.spec['x-kubernetes-validations'],
    ).toContainEqual(
      expect.objectContaining({
        rule: expect.stringContaining('has(self.clusterConfig.zookeeperConfigMapName)'),
      }),
    );
  });

  test('rejects a ZooKeeper reference that is not a ZooKeeper', () => {
    const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
    const other = new HdfsCluster(chart, 'other', { clusterConfig: { zookeeperConfigMapName: 'x' } });
    expect(problemsOf(new HdfsCluster(chart, 'hdfs', { zookeeper: other }))).toMatch(
      /spec\.clusterConfig\.zookeeperConfigMapName: the ConfigMap "other" has no ZOOKEEPER_HOSTS/,
    );
  });

  test('rejects an even number of journalnodes, fewer than two namenodes, and more copies than datanodes', () => {
    expect(() => synth({ journalnodes: { roleGroups: { default: { replicas: 2 } } } })).toThrow(
      /spec\.journalnodes: 2 journalnodes; the edit log needs a majority of them, so run an odd number/,
    );
    expect(() => synth({ namenodes: { roleGroups: { default: { replicas: 0 } } } })).toThrow(
      /spec\.namenodes: 0 namenodes; keelson runs HDFS' namenodes highly available, which Hadoop starts only with two or more: run 2/,
    );
    expect(() => synth({ namenodes: { roleGroups: { default: { replicas: 1 } } } })).toThrow(
      /spec\.namenodes: 1 namenode; keelson runs HDFS' namenodes highly available/,
    );
    expect(() =>
      synth({
        clusterConfig: { dfsReplication: 4 },
        datanodes: { roleGroups: { default: { replicas: 3 } } },
      }),
    ).toThrow(
      /spec\.clusterConfig\.dfsReplication: 4 copies of each block need as many datanodes; there are 3/,
    );
    expect(() => synth({ clusterConfig: { dfsReplication: 0 } })).toThrow(
      /spec\.clusterConfig\.dfsReplication/,
    );
  });

  test('rejects an unknown config file and an unsupported version', () => {
    expect(() => synth({ datanodes: { configOverrides: { 'yarn-site.xml': {} } } as never })).toThrow(
      /unknown field "yarn-site\.xml"; expected one of this role's config files: core-site\.xml, hdfs-site\.xml, log4j2\.properties, jmx-exporter\.yaml/,
    );
    expect(() => synth({ image: { productVersion: '3.3.6' } })).toThrow(/version "3\.3\.6" is not supported/);
  });
});

describe('an HdfsCluster the keelson operator builds', () => {
  const resource = {
    apiVersion: 'keelson.dev/v1alpha1',
    kind: 'HdfsCluster',
    metadata: { name: 'hdfs', namespace: 'data' },
    spec: { clusterConfig: { zookeeperConfigMapName: 'hdfs-znode' } },
  };
  const dependencies = { 'hdfs-znode': { ZOOKEEPER_HOSTS: 'zk-0.zk:2181', ZOOKEEPER_CHROOT: '/znode-1' } };
  const operatorPods = {
    namespace: 'keelson-system',
    labels: { 'app.kubernetes.io/name': 'keelson-operator' },
  };

  test('admits only the operator’s own pods to the namenodes’ HTTP port, where it follows a decommission', () => {
    const objs = buildChildren(HDFS, resource, dependencies, [], [], { operatorPods }) as unknown as Obj[];
    const policy = find(objs, 'NetworkPolicy', 'hdfs');
    const fromOperator = policy.spec.ingress.filter((rule: { from?: { podSelector?: object }[] }) =>
      rule.from?.some((peer) => JSON.stringify(peer.podSelector ?? {}).includes('keelson-operator')),
    );
    expect(fromOperator).toEqual([
      {
        from: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'keelson-system' } },
            podSelector: { matchLabels: { 'app.kubernetes.io/name': 'keelson-operator' } },
          },
        ],
        ports: [{ port: HDFS_PORTS.namenodeHttp, protocol: 'TCP' }],
      },
    ]);
    // Synth mode has no operator: no such rule.
    const synthPolicy = find(synth(), 'NetworkPolicy', 'hdfs');
    expect(JSON.stringify(synthPolicy)).not.toContain('keelson-operator');
  });
});
