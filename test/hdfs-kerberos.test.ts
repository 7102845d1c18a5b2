/**
 * HDFS with a kerberos AuthenticationClass (`clusterConfig.authentication`): every daemon logs in
 * from a per-pod keytab (`hdfs/<pod DNS name>@REALM`, and `HTTP/…` for SPNEGO) that an init
 * container writes into memory; RPC is SASL-protected, block transfer uses SASL with block tokens,
 * the web ports stay HTTPS only (server TLS is required); the discovery ConfigMap carries the
 * client keys. What HDFS cannot do is refused at the field.
 */
import { execFileSync } from 'node:child_process';
import { Chart, Testing } from 'cdk8s';
import {
  HDFS,
  HDFS_KERBEROS_CLASS_DISCOVERY_KEY,
  HDFS_KERBEROS_REALM_DISCOVERY_KEY,
  HdfsCluster,
  ZookeeperCluster,
  ZookeeperZnode,
  type HdfsClusterProps,
} from '../constructs';
import type { AuthenticationClassInfo, TlsClassInfo } from '../lib';
import { buildChildren } from '../lib/operator/build';
import { find, kerberosClassInfo, problemsOf, type Obj } from './support/synth';

const REALM = 'DATA.EXAMPLE.ORG';
const withKerberos: HdfsClusterProps = {
  clusterConfig: { authentication: [{ authenticationClass: 'realm' }] },
};

function synth(
  props: HdfsClusterProps = withKerberos,
  tlsClasses: TlsClassInfo[] = [{ name: 'tls' }],
  authenticationClasses: AuthenticationClassInfo[] = [kerberosClassInfo()],
): Obj[] {
  const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
  const zk = new ZookeeperCluster(chart, 'zk', { clusterConfig: { tls: { enabled: false } } });
  const znode = new ZookeeperZnode(chart, 'hdfs-znode', { zookeeper: zk });
  new HdfsCluster(chart, 'hdfs', { ...props, zookeeper: znode }, { tlsClasses, authenticationClasses });
  return Testing.synth(chart) as Obj[];
}

/** name → value of a Hadoop XML file. */
function xml(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/<name>(.*?)<\/name>\s*<value>([\s\S]*?)<\/value>/g)) out[m[1]] = m[2];
  return out;
}

const ROLES = ['namenodes', 'journalnodes', 'datanodes'] as const;
const configMap = (objs: Obj[], name: string) => find(objs, 'ConfigMap', name).data;
const file = (objs: Obj[], role: string, name: string) => xml(configMap(objs, `hdfs-${role}-default`)[name]);
const podSpec = (objs: Obj[], role: string) =>
  find(objs, 'StatefulSet', `hdfs-${role}-default`).spec.template.spec;
const address = (role: string) =>
  `\${POD_NAME}.hdfs-${role}-default-headless.\${POD_NAMESPACE}.svc.cluster.local`;

describe('an HdfsCluster with a kerberos class', () => {
  const objs = synth();

  test('core-site: Kerberos logins, RPC privacy, daemon and HTTP principals mapped to hdfs, no service ACLs', () => {
    for (const role of ROLES) {
      const core = file(objs, role, 'core-site.xml');
      expect(core).toMatchObject({
        'hadoop.security.authentication': 'kerberos',
        'hadoop.rpc.protection': 'privacy',
        // Off on purpose: its client-principal check needs reverse DNS of pod IPs (see daemonCoreSite).
        'hadoop.security.authorization': 'false',
      });
      expect(core['hadoop.security.auth_to_local'].split('\n')).toEqual([
        'RULE:[2:$1@$0](hdfs@DATA\\.EXAMPLE\\.ORG)s/.*/hdfs/',
        'RULE:[2:$1@$0](HTTP@DATA\\.EXAMPLE\\.ORG)s/.*/hdfs/',
        'RULE:[1:$1@$0](.*@DATA\\.EXAMPLE\\.ORG)s/@.*//',
        'RULE:[2:$1@$0](.*@DATA\\.EXAMPLE\\.ORG)s/@.*//',
        'DEFAULT',
      ]);
    }
  });

  test('hdfs-site: principals with _HOST and their patterns, keytabs, SPNEGO, block tokens, SASL block transfer', () => {
    for (const role of ROLES) {
      const site = file(objs, role, 'hdfs-site.xml');
      expect(site).toMatchObject({
        'dfs.block.access.token.enable': 'true',
        'dfs.data.transfer.protection': 'integrity',
        'dfs.http.policy': 'HTTPS_ONLY',
        'dfs.namenode.kerberos.principal': `hdfs/_HOST@${REALM}`,
        'dfs.datanode.kerberos.principal': `hdfs/_HOST@${REALM}`,
        'dfs.journalnode.kerberos.principal': `hdfs/_HOST@${REALM}`,
        'dfs.namenode.kerberos.principal.pattern': `hdfs/*@${REALM}`,
        'dfs.datanode.kerberos.principal.pattern': `hdfs/*@${REALM}`,
        'dfs.journalnode.kerberos.principal.pattern': `hdfs/*@${REALM}`,
        'hadoop.security.service.user.name.key.pattern': `hdfs/*@${REALM}`,
        'dfs.namenode.keytab.file': '/keelson/kerberos/keytab',
        'dfs.datanode.keytab.file': '/keelson/kerberos/keytab',
        'dfs.journalnode.keytab.file': '/keelson/kerberos/keytab',
        'dfs.web.authentication.kerberos.principal': `HTTP/_HOST@${REALM}`,
        'dfs.web.authentication.kerberos.keytab': '/keelson/kerberos/keytab',
        'dfs.namenode.kerberos.internal.spnego.principal': `HTTP/_HOST@${REALM}`,
        'dfs.journalnode.kerberos.internal.spnego.principal': `HTTP/_HOST@${REALM}`,
      });
      // SPNEGO on every web server (WebHDFS, the UI), for any HTTP/ principal of the pod's keytab,
      // but not on /jmx (the operator's decommission check); hdfs-kerberos-real-node proves both.
      expect(file(objs, role, 'core-site.xml')).toMatchObject({
        'hadoop.http.filter.initializers': 'org.apache.hadoop.hdfs.web.AuthFilterInitializer',
        'hadoop.http.authentication.type': 'kerberos',
        'hadoop.http.authentication.kerberos.principal': '*',
        'hadoop.http.authentication.kerberos.keytab': '/keelson/kerberos/keytab',
        'hadoop.http.authentication.kerberos.endpoint.whitelist': '/jmx',
      });
      expect(Object.keys(site).filter((k) => k.startsWith('hadoop.http.'))).toEqual([]);
    }
    expect(configMap(objs, 'hdfs-namenodes-default')['krb5.conf']).toContain(`default_realm = ${REALM}`);
  });

  test('the discovery ConfigMap carries the client keys, the realm and the class, and no daemon keytab', () => {
    const discovery = configMap(objs, 'hdfs');
    expect(discovery[HDFS_KERBEROS_REALM_DISCOVERY_KEY]).toBe(REALM);
    expect(discovery[HDFS_KERBEROS_CLASS_DISCOVERY_KEY]).toBe('realm');
    expect(xml(discovery['core-site.xml'])).toMatchObject({
      'hadoop.security.authentication': 'kerberos',
      'hadoop.rpc.protection': 'privacy',
    });
    const site = xml(discovery['hdfs-site.xml']);
    expect(site).toMatchObject({
      'dfs.data.transfer.protection': 'integrity',
      'dfs.namenode.kerberos.principal': `hdfs/_HOST@${REALM}`,
      'dfs.namenode.kerberos.principal.pattern': `hdfs/*@${REALM}`,
      'dfs.http.policy': 'HTTPS_ONLY',
    });
    expect(Object.keys(site).filter((k) => k.includes('keytab'))).toEqual([]);
    // The web servers' filter is the daemons' own: a client's core-site.xml has none of it.
    expect(Object.keys(xml(discovery['core-site.xml'])).filter((k) => k.startsWith('hadoop.http.'))).toEqual(
      [],
    );
  });

  test('each pod’s keytab holds hdfs/ and HTTP/ of its DNS name, written in memory by the first init container', () => {
    for (const role of ROLES) {
      const spec = podSpec(objs, role);
      const init = spec.initContainers[0];
      expect(init.name).toBe('kerberos-keytab');
      const script: string = init.command[2];
      expect(script).toContain(`principal="hdfs/${address(role)}@${REALM}"`);
      expect(script).toContain(`principals=("$principal" "HTTP/${address(role)}@${REALM}")`);
      expect(spec.volumes).toContainEqual({
        name: 'kerberos-keytab',
        emptyDir: { medium: 'Memory', sizeLimit: '1Mi' },
      });
      // The admin's Secret only in the init container; the keytab in every container (read-only).
      for (const c of [...spec.initContainers, ...spec.containers].filter((x) => x.name !== 'log-agent')) {
        const mounts = (c.volumeMounts ?? []).map((m: { name: string }) => m.name);
        expect([c.name, mounts.includes('kerberos-admin')]).toEqual([c.name, c.name === 'kerberos-keytab']);
        expect([c.name, mounts.includes('kerberos-keytab')]).toEqual([c.name, true]);
      }
    }
    // The namenode's format init container (format, bootstrapStandby) runs after the keytab's.
    expect(podSpec(objs, 'namenodes').initContainers.map((c: { name: string }) => c.name)).toEqual([
      'kerberos-keytab',
      'format-namenode',
    ]);
  });

  test('every JVM reads keelson’s krb5.conf; clients in the pod log in as its hdfs principal', () => {
    const krb5 = '-Djava.security.krb5.conf=/keelson/config/krb5.conf';
    for (const role of ROLES) {
      const spec = podSpec(objs, role);
      const jvms = [...spec.initContainers, ...spec.containers].filter(
        (c: { name: string }) => !['kerberos-keytab', 'log-agent'].includes(c.name),
      );
      expect(jvms.length).toBe(role === 'namenodes' ? 4 : 1);
      for (const c of jvms) {
        const javaLines = (c.command[2] as string).split('\n').filter((l) => /\bjava /.test(l));
        expect(javaLines.length).toBeGreaterThan(0);
        for (const line of javaLines) expect([c.name, line]).toEqual([c.name, expect.stringContaining(krb5)]);
        const env = Object.fromEntries(
          (c.env as { name: string; value?: string }[]).map((e) => [e.name, e.value]),
        );
        expect(env).toMatchObject({
          KRB5PRINCIPAL: `hdfs/$(POD_NAME).hdfs-${role}-default-headless.$(POD_NAMESPACE).svc.cluster.local@${REALM}`,
          KRB5KEYTAB: '/keelson/kerberos/keytab',
          HADOOP_CLIENT_OPTS: krb5,
        });
      }
    }
  });

  test('the namenodes’ refresh sidecar makes /hbase for the hbase user, as the superuser, in the background', () => {
    const refresh = podSpec(objs, 'namenodes').containers.find(
      (c: { name: string }) => c.name === 'refresh-nodes',
    );
    const script = refresh.command[2] as string;
    expect(script).toMatch(
      /^\( until java .* org\.apache\.hadoop\.fs\.FsShell -mkdir -p \/hbase && java .* org\.apache\.hadoop\.fs\.FsShell -chown hbase:hbase \/hbase; do sleep 30; done$/m,
    );
    expect(script).toContain('echo "keelson: service directories ready: /hbase (hbase)" ) &');
    execFileSync('bash', ['-n', '-c', script]);
    // Without Kerberos every product is the superuser: no service directory.
    const plain = podSpec(synth({}), 'namenodes').containers.find(
      (c: { name: string }) => c.name === 'refresh-nodes',
    );
    expect(plain.command[2]).not.toContain('FsShell');
  });

  test('nothing synthesized holds a credential: the admin Secret is referenced by name, no Secret is written', () => {
    expect(objs.filter((o) => o.kind === 'Secret')).toEqual([]);
    const admin = podSpec(objs, 'datanodes').volumes.find(
      (v: { name: string }) => v.name === 'kerberos-admin',
    );
    expect(admin.secret.secretName).toBe('kerberos-admin');
  });

  test('without a kerberos class nothing of Kerberos is configured', () => {
    const plain = synth({});
    for (const role of ROLES) {
      expect(JSON.stringify(configMap(plain, `hdfs-${role}-default`))).not.toMatch(/kerberos|krb5|_HOST/);
      expect(podSpec(plain, role).initContainers?.map((c: { name: string }) => c.name) ?? []).not.toContain(
        'kerberos-keytab',
      );
    }
  });
});

describe('datanodes of an external listener class with Kerberos (operator build)', () => {
  test('the keytab also holds hdfs/ and HTTP/ of the outside address the operator writes', () => {
    const resource = {
      apiVersion: 'keelson.dev/v1alpha1',
      kind: 'HdfsCluster',
      metadata: { name: 'hdfs', namespace: 'data', uid: 'u-1', generation: 1 },
      spec: {
        clusterConfig: { zookeeperConfigMapName: 'zk', authentication: [{ authenticationClass: 'realm' }] },
        datanodes: { roleConfig: { listenerClass: 'external-unstable' } },
      },
    };
    const objs = buildChildren(
      HDFS,
      resource,
      { zk: { ZOOKEEPER_HOSTS: 'zk-0.zk:2181' } },
      [],
      [{ name: 'tls' }],
      {
        authenticationClasses: [kerberosClassInfo()],
      },
    ) as unknown as Obj[];
    const script: string = podSpec(objs, 'datanodes').initContainers[0].command[2];
    expect(script).toContain('listener_host=$(cat');
    expect(script).toContain(
      `principals=("$principal" "hdfs/\${listener_host}@${REALM}" "HTTP/${address('datanodes')}@${REALM}" ` +
        `"HTTP/\${listener_host}@${REALM}")`,
    );
    // Namenodes are reached inside only: their keytab holds their pod DNS names' principals.
    expect(podSpec(objs, 'namenodes').initContainers[0].command[2]).not.toContain('listener_host');
  });
});

describe('bad input', () => {
  const hdfs = (tlsClasses: TlsClassInfo[], classes: AuthenticationClassInfo[], names: string[]) => {
    const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
    return new HdfsCluster(
      chart,
      'hdfs',
      {
        clusterConfig: {
          zookeeperConfigMapName: 'zk',
          authentication: names.map((authenticationClass) => ({ authenticationClass })),
        },
      },
      { dependencies: { zk: { ZOOKEEPER_HOSTS: 'zk:2181' } }, tlsClasses, authenticationClasses: classes },
    );
  };

  test('rejects Kerberos without server TLS, saying why and naming the field', () => {
    expect(problemsOf(hdfs([], [kerberosClassInfo()], ['realm']))).toMatch(
      /spec\.clusterConfig\.authentication: Kerberos \(the AuthenticationClass "realm"\) needs server TLS: .*set spec\.clusterConfig\.tls\.serverTlsClass/,
    );
    expect(problemsOf(hdfs([{ name: 'tls' }], [kerberosClassInfo()], ['realm']))).toBe('');
  });

  test('rejects two kerberos classes', () => {
    const classes = [kerberosClassInfo('a'), kerberosClassInfo('b', 'OTHER.ORG')];
    expect(problemsOf(hdfs([{ name: 'tls' }], classes, ['a', 'b']))).toMatch(
      /spec\.clusterConfig\.authentication: each HDFS daemon has one Kerberos principal, of one realm; name one kerberos AuthenticationClass, not 2 \(a, b\)/,
    );
  });

  test('rejects a provider other than kerberos', () => {
    const mtls: AuthenticationClassInfo = { name: 'm', provider: 'tls', spec: { tls: { tlsClass: 'tls' } } };
    expect(problemsOf(hdfs([{ name: 'tls' }], [mtls], ['m']))).toMatch(
      /spec\.clusterConfig\.authentication\[0\]\.authenticationClass: the AuthenticationClass "m" has the tls provider, which HdfsCluster does not support; it supports kerberos/,
    );
  });
});
