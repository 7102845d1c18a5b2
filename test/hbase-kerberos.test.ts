/**
 * HBase with a kerberos AuthenticationClass on an HDFS with the same class: every pod's keytab
 * init container writes `hbase/<pod DNS name>@REALM` (the REST servers' also `HTTP/…`), every JVM
 * logs in from it, HBase's RPC takes Kerberos only and the REST port SPNEGO only, the
 * AccessController authorizes, and the HDFS' and HBase's realms must agree.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Chart, Testing } from 'cdk8s';
import {
  HBASE_HDFS_DIRECTORY,
  HbaseCluster,
  HDFS_SERVICE_DIRECTORIES,
  HdfsCluster,
  ZookeeperCluster,
  ZookeeperZnode,
  type HbaseClusterProps,
} from '../constructs';
import type { AuthenticationClassInfo } from '../lib';
import { find, kerberosClassInfo, problemsOf, type Obj } from './support/synth';

const REALM = 'DATA.EXAMPLE.ORG';
const KEYTAB = '/keelson/kerberos/keytab';
const withKerberos: HbaseClusterProps = {
  clusterConfig: { authentication: [{ authenticationClass: 'realm' }] },
};

/** An HBase on an HDFS, both naming the AuthenticationClasses given (the HDFS `hdfsClass`, if any). */
function chartWith(
  hbase: HbaseClusterProps,
  classes: AuthenticationClassInfo[] = [kerberosClassInfo()],
  hdfsClass: string | null = 'realm',
): { chart: Chart; cluster: () => HbaseCluster } {
  const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
  const zk = new ZookeeperCluster(chart, 'zk', { clusterConfig: { tls: { enabled: false } } });
  const hdfs = new HdfsCluster(
    chart,
    'hdfs',
    {
      zookeeper: new ZookeeperZnode(chart, 'hdfs-znode', { zookeeper: zk }),
      clusterConfig: hdfsClass ? { authentication: [{ authenticationClass: hdfsClass }] } : {},
    },
    { tlsClasses: [{ name: 'tls' }], authenticationClasses: classes },
  );
  const znode = new ZookeeperZnode(chart, 'hbase-znode', { zookeeper: zk });
  return {
    chart,
    cluster: () =>
      new HbaseCluster(
        chart,
        'hbase',
        { ...hbase, hdfs, zookeeper: znode },
        { authenticationClasses: classes },
      ),
  };
}

function synth(hbase: HbaseClusterProps = withKerberos): Obj[] {
  const { chart, cluster } = chartWith(hbase);
  cluster();
  return Testing.synth(chart) as Obj[];
}

/** name → value of a Hadoop XML file. */
function xml(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/<name>(.*?)<\/name>\s*<value>([\s\S]*?)<\/value>/g)) out[m[1]] = m[2];
  return out;
}

const ROLES = ['masters', 'regionservers', 'restservers'] as const;
const podSpec = (objs: Obj[], role: string) =>
  find(objs, 'StatefulSet', `hbase-${role}-default`).spec.template.spec;
const site = (objs: Obj[], role: string) =>
  xml(find(objs, 'ConfigMap', `hbase-${role}-default`).data['hbase-site.xml']);

describe('an HbaseCluster with a kerberos class on a Kerberos HDFS', () => {
  const objs = synth();

  test('hbase-site: Kerberos RPC with privacy, hbase/_HOST principals, the keytab', () => {
    for (const role of ROLES) {
      expect(site(objs, role)).toMatchObject({
        'hbase.security.authentication': 'kerberos',
        'hbase.master.kerberos.principal': `hbase/_HOST@${REALM}`,
        'hbase.regionserver.kerberos.principal': `hbase/_HOST@${REALM}`,
        'hbase.master.keytab.file': KEYTAB,
        'hbase.regionserver.keytab.file': KEYTAB,
        'hbase.unsafe.client.kerberos.hostname.disable.reversedns': 'true',
        'hbase.rpc.protection': 'privacy',
      });
      // The ZooKeeper is not Kerberized: no ZooKeeper keytab or principal keys, so no SASL and no ACLs.
      expect(Object.keys(site(objs, role)).filter((k) => k.startsWith('hbase.zookeeper.client.'))).toEqual(
        [],
      );
    }
    // `_HOST` of the masters and regionservers is the name they register under: their pod DNS name.
    expect(site(objs, 'masters')['hbase.master.hostname']).toBe('${env.POD_ADDRESS}');
    expect(site(objs, 'regionservers')['hbase.unsafe.regionserver.hostname']).toBe('${env.POD_ADDRESS}');
    // The REST server logs in as its pod's principal, and takes SPNEGO only from its HTTP clients.
    expect(site(objs, 'restservers')).toMatchObject({
      'hbase.rest.keytab.file': KEYTAB,
      'hbase.rest.kerberos.principal': `hbase/\${env.POD_ADDRESS}@${REALM}`,
      'hbase.rest.authentication.type': 'kerberos',
      'hbase.rest.authentication.kerberos.principal': `HTTP/_HOST@${REALM}`,
      'hbase.rest.authentication.kerberos.keytab': KEYTAB,
    });
    // No doAs: a REST client acts as itself only.
    expect(site(objs, 'restservers')['hbase.rest.support.proxyuser']).toBeUndefined();
    for (const role of ['masters', 'regionservers'])
      expect(Object.keys(site(objs, role)).filter((k) => k.startsWith('hbase.rest.'))).toEqual([]);
  });

  test('the REST servers’ keytab also holds HTTP/<pod DNS name> for SPNEGO; the other roles’ do not', () => {
    const script = (role: string) =>
      podSpec(objs, role).initContainers.find((c: { name: string }) => c.name === 'kerberos-keytab')
        .command[2] as string;
    const pod = (role: string) => `\${POD_NAME}.hbase-${role}-default-headless.data.svc.cluster.local`;
    expect(script('restservers')).toContain(
      `principals=("$principal" "HTTP/${pod('restservers')}@${REALM}")`,
    );
    execFileSync('bash', ['-n', '-c', script('restservers')]);
    for (const role of ['masters', 'regionservers'])
      expect(script(role)).toContain('principals=("$principal")');
  });

  test('the readiness probe stays TCP on the REST port and metrics on the exporter’s own port, outside SPNEGO', () => {
    const main = podSpec(objs, 'restservers').containers[0];
    expect(main.readinessProbe.tcpSocket).toEqual({ port: 8080 });
    expect(main.readinessProbe.httpGet).toBeUndefined();
    expect(main.ports).toContainEqual(expect.objectContaining({ name: 'metrics', containerPort: 9404 }));
  });

  test('authorization: the AccessController on every coprocessor host, hbase the superuser; impersonation checked on the servers', () => {
    const ac = 'org.apache.hadoop.hbase.security.access.AccessController';
    for (const role of ROLES) {
      expect(site(objs, role)).toMatchObject({
        'hbase.security.authorization': 'true',
        'hbase.coprocessor.master.classes': ac,
        'hbase.coprocessor.regionserver.classes': ac,
        'hbase.coprocessor.region.classes': ac,
        'hbase.superuser': 'hbase',
      });
    }
    // Only with Hadoop's service-level authorization does HBase's RPC server check who may call as
    // whom: hbase (the REST server) may impersonate anyone, from any pod.
    for (const role of ['masters', 'regionservers'])
      expect(site(objs, role)).toMatchObject({
        'hadoop.security.authorization': 'true',
        'hadoop.proxyuser.hbase.hosts': '*',
        'hadoop.proxyuser.hbase.groups': '*',
      });
    // The REST server takes no RPC: its own web pages stay as they are.
    expect(site(objs, 'restservers')['hadoop.security.authorization']).toBeUndefined();
    // Clients need none of it.
    expect(find(objs, 'ConfigMap', 'hbase').data['hbase-site.xml']).not.toMatch(
      /authorization|superuser|coprocessor/,
    );
  });

  test('superusers: hbase and the spec’s users and groups', () => {
    const objs2 = synth({
      clusterConfig: { ...withKerberos.clusterConfig, superusers: ['admin', '@hbase-admins'] },
    });
    for (const role of ROLES) expect(site(objs2, role)['hbase.superuser']).toBe('hbase,admin,@hbase-admins');
  });

  test('the discovery tells clients the realm and that REST takes SPNEGO only', () => {
    expect(find(objs, 'ConfigMap', 'hbase').data).toMatchObject({
      HBASE_KERBEROS_REALM: REALM,
      HBASE_REST_AUTHENTICATION: 'kerberos',
      HBASE_REST: 'http://hbase-restservers.data.svc.cluster.local:8080',
    });
  });

  test('the HDFS’ client files carry Hadoop’s Kerberos keys, and the discovery hbase-site HBase’s client keys', () => {
    const files = find(objs, 'ConfigMap', 'hbase-masters-default').data;
    expect(xml(files['core-site.xml'])['hadoop.security.authentication']).toBe('kerberos');
    expect(xml(files['hdfs-site.xml'])['dfs.namenode.kerberos.principal.pattern']).toBe(`hdfs/*@${REALM}`);
    expect(files['krb5.conf']).toContain(`default_realm = ${REALM}`);
    expect(xml(find(objs, 'ConfigMap', 'hbase').data['hbase-site.xml'])).toMatchObject({
      'hbase.security.authentication': 'kerberos',
      'hbase.master.kerberos.principal': `hbase/_HOST@${REALM}`,
      'hbase.regionserver.kerberos.principal': `hbase/_HOST@${REALM}`,
      'hbase.unsafe.client.kerberos.hostname.disable.reversedns': 'true',
      'hbase.rpc.protection': 'privacy',
    });
    expect(find(objs, 'ConfigMap', 'hbase').data['hbase-site.xml']).not.toContain('keytab');
  });

  test('every pod writes hbase/<pod DNS name> into its keytab first; every JVM reads keelson’s krb5.conf', () => {
    for (const role of ROLES) {
      const spec = podSpec(objs, role);
      const init = spec.initContainers.find((c: { name: string }) => c.name === 'kerberos-keytab');
      expect(init.image).toBe('ghcr.io/keelson/krb5-tools:1.20.1');
      expect(init.command[2]).toContain(
        `principal="hbase/\${POD_NAME}.hbase-${role}-default-headless.data.svc.cluster.local@${REALM}"`,
      );
      if (role !== 'restservers') expect(init.command[2]).not.toContain('HTTP/');
      execFileSync('bash', ['-n', '-c', init.command[2]]);
      const main = spec.containers[0];
      expect(main.command[2]).toContain(
        'exec java -Djava.security.krb5.conf=/keelson/config/krb5.conf -Dzookeeper.sasl.client=false ',
      );
      expect(main.volumeMounts).toContainEqual({
        name: 'kerberos-keytab',
        mountPath: '/keelson/kerberos',
        readOnly: true,
      });
      // An HBase or Hadoop client run in the pod logs in as the pod's principal.
      expect(main.env).toContainEqual({
        name: 'KRB5PRINCIPAL',
        value: `hbase/$(POD_NAME).hbase-${role}-default-headless.data.svc.cluster.local@${REALM}`,
      });
      expect(main.env).toContainEqual({ name: 'KRB5KEYTAB', value: KEYTAB });
      expect(spec.volumes).toContainEqual({
        name: 'kerberos-keytab',
        emptyDir: { medium: 'Memory', sizeLimit: '1Mi' },
      });
    }
    // The preStop hook's region mover is a JVM of its own: krb5.conf too.
    const preStop = podSpec(objs, 'regionservers').containers[0].lifecycle.preStop.exec.command[2];
    expect(preStop).toContain('-Djava.security.krb5.conf=/keelson/config/krb5.conf');
    expect(preStop).toContain('org.apache.hadoop.hbase.util.RegionMover');
  });

  test('no admin credential in anything synthesized; the admin Secret is mounted into the init container only', () => {
    for (const role of ROLES) {
      const spec = podSpec(objs, role);
      expect(spec.volumes).toContainEqual(
        expect.objectContaining({
          name: 'kerberos-admin',
          secret: expect.objectContaining({ secretName: 'kerberos-admin' }),
        }),
      );
      expect(
        spec.containers
          .flatMap((c: { volumeMounts?: { name: string }[] }) => c.volumeMounts ?? [])
          .map((m: { name: string }) => m.name),
      ).not.toContain('kerberos-admin');
    }
    expect(objs.filter((o) => o.kind === 'Secret')).toEqual([]);
  });
});

/** The master's /hbase check's client options: one try per namenode. */
const ONE_TRY =
  '-D dfs.client.failover.max.attempts=1 -D ipc.client.connect.max.retries=1 -D ipc.client.connect.max.retries.on.timeouts=1 -D ipc.client.connect.timeout=10000';

describe('a master on a Kerberos HDFS', () => {
  const objs = synth();
  const master = podSpec(objs, 'masters').containers[0].command[2] as string;

  test('waits for /hbase owned by hbase before it starts; the regionservers and REST servers do not', () => {
    // The directory the HDFS makes for HBase is the one HBase waits for.
    expect(HDFS_SERVICE_DIRECTORIES[HBASE_HDFS_DIRECTORY.path]).toBe(HBASE_HDFS_DIRECTORY.owner);
    const lines = master.split('\n');
    const wait = lines.findIndex((l) => l.startsWith('until [ "$(hdfs_owner)" = hbase ]'));
    expect(wait).toBeGreaterThan(lines.findIndex((l) => l.includes('getent hosts')));
    expect(wait).toBeLessThan(lines.findIndex((l) => l.startsWith('exec java')));
    // One try per namenode, within 120 s; a timeout says so in the check's log.
    expect(master).toContain(
      `org.apache.hadoop.fs.FsShell ${ONE_TRY} -stat %u /hbase 2> /tmp/hbase-directory-check.log ` +
        '|| { [ $? -ne 124 ] || echo "no answer within 120 s" >> /tmp/hbase-directory-check.log; }; }',
    );
    expect(master).toMatch(
      /hdfs_owner\(\) \{ timeout 120 java -Xmx96m .*-Djava\.security\.krb5\.conf=\/keelson\/config\/krb5\.conf/,
    );
    for (const role of ['regionservers', 'restservers'])
      expect(podSpec(objs, role).containers[0].command[2]).not.toContain('hdfs_owner');
    const plain = chartWith({}, [kerberosClassInfo()], null);
    plain.cluster();
    expect(podSpec(Testing.synth(plain.chart) as Obj[], 'masters').containers[0].command[2]).not.toContain(
      'hdfs_owner',
    );
  });

  test('the wait logs each miss with the check’s last line, and goes on once the owner is hbase', () => {
    // The script's wait, run by bash with a stand-in `java` that answers as an HDFS would: not up,
    // then no answer in time (timeout's status), then /hbase made but not yet hbase's, then hbase's.
    const dir = mkdtempSync(path.join(tmpdir(), 'hbase-wait-'));
    try {
      writeFileSync(
        path.join(dir, 'java'),
        [
          '#!/bin/bash',
          `n=$(cat ${dir}/calls 2>/dev/null || echo 0); n=$((n + 1)); echo $n > ${dir}/calls`,
          'echo "$*" > ' + `${dir}/args`,
          'case $n in',
          '  1) echo "ls: Call From x to hdfs:8020 failed on connection exception" >&2',
          "     printf '\\tat org.apache.hadoop.ipc.Client.call(Client.java:1)\\n' >&2",
          '     echo "WARN org.apache.hadoop.util.NativeCodeLoader: Unable to load native-hadoop library" >&2; exit 1 ;;',
          '  2) echo "WARN org.apache.hadoop.util.NativeCodeLoader: Unable to load native-hadoop library" >&2; exit 124 ;;',
          '  3) echo hdfs ;;',
          '  *) echo hbase ;;',
          'esac',
        ].join('\n'),
        { mode: 0o755 },
      );
      const lines = master.split('\n');
      const from = lines.findIndex((l) => l.startsWith('hdfs_owner()'));
      const to = lines.findIndex((l) => l.includes('starting the master'));
      const script = ['set -eu', 'sleep() { :; }', ...lines.slice(from, to + 1)]
        .join('\n')
        .replaceAll('/tmp/hbase-directory-check.log', `${dir}/check.log`);
      const out = execFileSync('bash', ['-c', script], {
        env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
        encoding: 'utf8',
      });
      expect(out.split('\n')).toEqual([
        'keelson: waiting for /hbase on the HDFS, owned by hbase (the namenodes make it for HBase under Kerberos); ' +
          'checking again in 10 s. Last check: ls: Call From x to hdfs:8020 failed on connection exception',
        'keelson: waiting for /hbase on the HDFS, owned by hbase (the namenodes make it for HBase under Kerberos); ' +
          'checking again in 10 s. Last check: no answer within 120 s',
        'keelson: waiting for /hbase on the HDFS, owned by hbase (the namenodes make it for HBase under Kerberos); ' +
          'checking again in 10 s. Last check: ',
        'keelson: /hbase is on the HDFS, owned by hbase; starting the master',
        '',
      ]);
      expect(readFileSync(path.join(dir, 'calls'), 'utf8').trim()).toBe('4');
      expect(readFileSync(path.join(dir, 'args'), 'utf8')).toContain(
        `-cp /keelson/config:/opt/hbase/lib/* org.apache.hadoop.fs.FsShell ${ONE_TRY} -stat %u /hbase\n`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('an HbaseCluster without a kerberos class', () => {
  test('writes no Kerberos key, keytab or krb5.conf argument', () => {
    const { chart, cluster } = chartWith({}, [kerberosClassInfo()], null);
    cluster();
    const objs = Testing.synth(chart) as Obj[];
    for (const role of ROLES) {
      expect(
        Object.keys(site(objs, role)).filter((k) => /kerberos|keytab|security|rpc\.protection/.test(k)),
      ).toEqual([]);
      expect(podSpec(objs, role).initContainers ?? []).toEqual([]);
      expect(Object.keys(site(objs, role)).filter((k) => k.startsWith('hbase.rest.auth'))).toEqual([]);
      expect(podSpec(objs, role).containers[0].command[2]).not.toContain('-Djava.security.krb5.conf');
    }
    const discovery = find(objs, 'ConfigMap', 'hbase').data;
    expect(discovery.HBASE_REST_AUTHENTICATION).toBeUndefined();
    expect(discovery.HBASE_KERBEROS_REALM).toBeUndefined();
  });
});

describe('HBase’s Kerberos and its HDFS’', () => {
  test('rejects superusers without a kerberos class, and a name with a comma or a space', () => {
    const { cluster } = chartWith({ clusterConfig: { superusers: ['admin'] } }, [kerberosClassInfo()], null);
    expect(problemsOf(cluster())).toMatch(
      /spec\.clusterConfig\.superusers: \[admin\] need HBase's authorization, which is on with Kerberos only .* name a kerberos AuthenticationClass in spec\.clusterConfig\.authentication, or remove superusers/,
    );
    for (const bad of ['a,b', 'a b', 'a@b', '']) {
      const { cluster: c } = chartWith({
        clusterConfig: { ...withKerberos.clusterConfig, superusers: [bad] },
      });
      expect(problemsOf(c())).toMatch(/clusterConfig\.superusers/);
    }
  });

  test('rejects a Kerberos HDFS when the HBase names no kerberos class', () => {
    const { cluster } = chartWith({});
    expect(problemsOf(cluster())).toMatch(
      /spec\.clusterConfig\.authentication: the HDFS "hdfs" takes Kerberos logins only \(realm DATA\.EXAMPLE\.ORG\); name a kerberos AuthenticationClass of the realm DATA\.EXAMPLE\.ORG \(the HDFS' is "realm"\)/,
    );
  });

  test('rejects a kerberos class of another realm than the HDFS’', () => {
    const other = kerberosClassInfo('other', 'OTHER.EXAMPLE.ORG');
    const { cluster } = chartWith({ clusterConfig: { authentication: [{ authenticationClass: 'other' }] } }, [
      kerberosClassInfo(),
      other,
    ]);
    expect(problemsOf(cluster())).toMatch(
      /spec\.clusterConfig\.authentication: the AuthenticationClass "other" is of the realm OTHER\.EXAMPLE\.ORG, but the HDFS "hdfs" takes logins of the realm DATA\.EXAMPLE\.ORG/,
    );
  });

  test('rejects a kerberos class on an HDFS without Kerberos', () => {
    const { cluster } = chartWith(withKerberos, [kerberosClassInfo()], null);
    expect(problemsOf(cluster())).toMatch(
      /spec\.clusterConfig\.authentication: the AuthenticationClass "realm" needs an HDFS with Kerberos .* but the HDFS "hdfs" has none/,
    );
  });

  test('rejects two kerberos classes', () => {
    const second = kerberosClassInfo('second');
    const { cluster } = chartWith(
      {
        clusterConfig: {
          authentication: [{ authenticationClass: 'realm' }, { authenticationClass: 'second' }],
        },
      },
      [kerberosClassInfo(), second],
    );
    expect(problemsOf(cluster())).toMatch(
      /spec\.clusterConfig\.authentication: each HBase daemon has one Kerberos principal, of one realm; name one kerberos AuthenticationClass, not 2 \(realm, second\)/,
    );
  });

  test('rejects a provider other than kerberos', () => {
    const ldap = {
      name: 'ldap',
      provider: 'ldap' as const,
      spec: { ldap: { hostname: 'ldap.example.org' } },
    } as unknown as AuthenticationClassInfo;
    const { cluster } = chartWith(
      { clusterConfig: { authentication: [{ authenticationClass: 'ldap' }] } },
      [kerberosClassInfo(), ldap],
      undefined,
    );
    expect(problemsOf(cluster())).toMatch(
      /spec\.clusterConfig\.authentication\[0\]\.authenticationClass: the AuthenticationClass "ldap" has the ldap provider, which HbaseCluster does not support; it supports kerberos/,
    );
  });
});
