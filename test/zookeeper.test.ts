import { Chart, Testing } from 'cdk8s';
import {
  ZOOKEEPER,
  ZookeeperCluster,
  ZookeeperZnode,
  znodePath,
  type ZookeeperClusterProps,
} from '../constructs/zookeeper';
import { defaultIdOffset, productCrd, TlsClass, type StackletOptions } from '../lib';
import { find, problemsOf, type Obj } from './support/synth';

function synth(props: ZookeeperClusterProps = {}, znode = false, options: StackletOptions = {}): Obj[] {
  const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
  const zk = new ZookeeperCluster(chart, 'zk', props, options);
  if (znode) new ZookeeperZnode(chart, 'kafka-znode', { zookeeper: zk });
  return Testing.synth(chart) as Obj[];
}

function zooCfg(objs: Obj[], group = 'default'): Record<string, string> {
  const text: string = find(objs, 'ConfigMap', `zk-servers-${group}`).data['zoo.cfg'];
  return Object.fromEntries(
    text
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

const offset = (group: string) => defaultIdOffset({ first: 1, stride: 10, slots: 25 }, 'servers', group);

describe('a ZookeeperCluster with defaults', () => {
  const objs = synth();

  test('runs three servers from the official image, with a client Service, a metrics Service and a PDB', () => {
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
      [
        'ConfigMap/zk',
        'ConfigMap/zk-servers-default',
        'NetworkPolicy/zk',
        'PodDisruptionBudget/zk-servers',
        'Service/zk-servers',
        'Service/zk-servers-default-headless',
        'Service/zk-servers-metrics',
        'ServiceAccount/zk',
        'StatefulSet/zk-servers-default',
      ].sort(),
    );
    const sts = find(objs, 'StatefulSet', 'zk-servers-default');
    expect(sts.spec.replicas).toBe(3);
    expect(sts.spec.template.spec.containers[0].image).toBe('docker.io/library/zookeeper:3.9.4');
    expect(find(objs, 'PodDisruptionBudget', 'zk-servers').spec.maxUnavailable).toBe(1);
    expect(find(objs, 'Service', 'zk-servers').spec.ports).toEqual([
      { name: 'client', port: 2181, targetPort: 2181, protocol: 'TCP' },
    ]);
    expect(find(objs, 'Service', 'zk-servers-metrics').spec.ports[0].port).toBe(7000);
  });

  test('labels every object with product, instance, version and platform', () => {
    for (const o of objs) {
      expect(o.metadata.labels).toMatchObject({
        'app.kubernetes.io/name': 'zookeeper',
        'app.kubernetes.io/instance': 'zk',
        'app.kubernetes.io/version': '3.9.4',
        'app.kubernetes.io/managed-by': 'keelson',
        'app.kubernetes.io/part-of': 'platform',
      });
    }
  });

  test('zoo.cfg lists every server with peer, election and client ports, and the Prometheus provider', () => {
    const cfg = zooCfg(objs);
    const first = offset('default');
    for (let i = 0; i < 3; i++) {
      expect(cfg[`server.${first + i}`]).toBe(
        `zk-servers-default-${i}.zk-servers-default-headless.data.svc.cluster.local:2888:3888;2181`,
      );
    }
    expect(Object.keys(cfg).filter((k) => k.startsWith('server.'))).toHaveLength(3);
    expect(cfg).toMatchObject({
      dataDir: '/data',
      clientPort: '2181',
      'metricsProvider.className': 'org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider',
      'metricsProvider.httpPort': '7000',
    });
  });

  test('each pod writes myid = its ordinal + the group offset before starting', () => {
    const container = find(objs, 'StatefulSet', 'zk-servers-default').spec.template.spec.containers[0];
    const script: string = container.command[2];
    expect(script).toContain('ordinal="${POD_NAME##*-}"');
    expect(script).toContain(`echo "$((ordinal + ${offset('default')}))" > /data/myid`);
    // No script of the release tarball: the JVM starts the server with the distribution's jars and /conf.
    expect(script).toContain(
      'exec java $SERVER_JVMFLAGS -Dlogback.configurationFile=/conf/logback.xml -cp "/apache-zookeeper-3.9.4-bin/lib/*:/conf" ' +
        'org.apache.zookeeper.server.quorum.QuorumPeerMain /conf/zoo.cfg',
    );
    expect(script).not.toContain('zkServer.sh');
    expect(container.env).toEqual(
      expect.arrayContaining([
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'ZOOCFGDIR', value: '/conf' },
        { name: 'SERVER_JVMFLAGS', value: expect.stringMatching(/^-Xmx\d+m -Xms\d+m/) },
      ]),
    );
    expect(container.readinessProbe.exec.command[2]).toContain('echo srvr | nc 127.0.0.1 2181');
    // A roll waits for each server to be in the quorum again: the startup probe looks every 5 s,
    // for up to 30 minutes; once in, readiness asks the same every 10 s.
    expect(container.startupProbe.exec).toEqual(container.readinessProbe.exec);
    expect(container.startupProbe).toMatchObject({ periodSeconds: 5, failureThreshold: 360 });
    expect(container.readinessProbe.periodSeconds).toBe(10);
  });

  test('the classpath names the distribution folder of the chosen version', () => {
    const older = synth({ image: { productVersion: '3.9.3' } });
    const script: string = find(older, 'StatefulSet', 'zk-servers-default').spec.template.spec.containers[0]
      .command[2];
    expect(script).toContain('-cp "/apache-zookeeper-3.9.3-bin/lib/*:/conf"');
  });

  test('mounts config at /conf, the data volume at /data and writable /logs and /tmp, under the restricted profile', () => {
    const sts = find(objs, 'StatefulSet', 'zk-servers-default');
    const pod = sts.spec.template.spec;
    const mounts = Object.fromEntries(
      pod.containers[0].volumeMounts.map((m: { name: string; mountPath: string }) => [m.mountPath, m.name]),
    );
    expect(mounts).toMatchObject({
      '/conf': 'config',
      '/data': 'data',
      '/logs': 'rw-logs',
      '/tmp': 'rw-tmp',
    });
    expect(sts.spec.volumeClaimTemplates[0].metadata.name).toBe('data');
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.securityContext.runAsUser).toBeGreaterThan(10000);
    expect(pod.containers[0].securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
  });

  test('publishes hosts, client port and chroot under the fixed discovery keys', () => {
    const data = find(objs, 'ConfigMap', 'zk').data;
    const hosts = [0, 1, 2]
      .map((i) => `zk-servers-default-${i}.zk-servers-default-headless.data.svc.cluster.local:2181`)
      .join(',');
    expect(data).toEqual({
      ZOOKEEPER: hosts,
      ZOOKEEPER_HOSTS: hosts,
      ZOOKEEPER_CLIENT_PORT: '2181',
      ZOOKEEPER_CHROOT: '/',
    });
  });

  test('writes a logback config with the INFO root logger', () => {
    expect(find(objs, 'ConfigMap', 'zk-servers-default').data['logback.xml']).toContain(
      '<root level="INFO">',
    );
  });
});

describe('a ZookeeperCluster with several role groups', () => {
  const objs = synth({
    servers: {
      roleGroups: {
        east: { replicas: 2, config: { myidOffset: 1 } },
        west: { replicas: 3, config: { myidOffset: 10 } },
      },
    },
  });

  test('forms one ensemble: every group lists all five servers with their own offsets', () => {
    for (const group of ['east', 'west']) {
      const servers = Object.entries(zooCfg(objs, group)).filter(([k]) => k.startsWith('server.'));
      expect(servers.map(([k]) => k)).toEqual([
        'server.1',
        'server.10',
        'server.11',
        'server.12',
        'server.2',
      ]);
    }
    expect(zooCfg(objs, 'east')['server.11']).toContain('zk-servers-west-1.zk-servers-west-headless');
  });

  test('each group numbers its pods from its own offset', () => {
    expect(
      find(objs, 'StatefulSet', 'zk-servers-west').spec.template.spec.containers[0].command[2],
    ).toContain('$((ordinal + 10))');
  });

  test('scaling one group keeps the ids of the other', () => {
    const scaled = synth({
      servers: {
        roleGroups: {
          east: { replicas: 4, config: { myidOffset: 1 } },
          west: { replicas: 3, config: { myidOffset: 10 } },
        },
      },
    });
    expect(zooCfg(scaled, 'west')['server.10']).toBe(zooCfg(objs, 'west')['server.10']);
  });
});

describe('TLS', () => {
  const TLS_KEYS = /^(secureClientPort|serverCnxnFactory|ssl\.|sslQuorum|portUnification|fips-mode)/;
  const tlsKeys = (cfg: Record<string, string>) =>
    Object.fromEntries(Object.entries(cfg).filter(([k]) => TLS_KEYS.test(k)));
  const container = (objs: Obj[]) =>
    find(objs, 'StatefulSet', 'zk-servers-default').spec.template.spec.containers[0];
  const on = synth({}, true, { tlsClasses: [{ name: 'tls' }] });

  test('without a TlsClass: a plaintext client port, a plaintext quorum and no TLS key at all', () => {
    const cfg = zooCfg(synth());
    expect(cfg.clientPort).toBe('2181');
    expect(tlsKeys(cfg)).toEqual({});
    expect(cfg['server.' + offset('default')]).toMatch(/:2888:3888;2181$/);
  });

  test('server and internal TLS: the client port is TLS only and the quorum is mutual TLS, from the mounted PEM files', () => {
    const cfg = zooCfg(on);
    expect(cfg.clientPort).toBeUndefined();
    expect(tlsKeys(cfg)).toEqual({
      secureClientPort: '2181',
      serverCnxnFactory: 'org.apache.zookeeper.server.NettyServerCnxnFactory',
      'ssl.keyStore.location': '/keelson/tls/server/tls.pem',
      'ssl.keyStore.type': 'PEM',
      'ssl.trustStore.location': '/keelson/tls/server/ca.crt',
      'ssl.trustStore.type': 'PEM',
      'ssl.clientAuth': 'none',
      sslQuorum: 'true',
      portUnification: 'false',
      'ssl.quorum.keyStore.location': '/keelson/tls/internal/tls.pem',
      'ssl.quorum.keyStore.type': 'PEM',
      'ssl.quorum.trustStore.location': '/keelson/tls/internal/ca.crt',
      'ssl.quorum.trustStore.type': 'PEM',
      'ssl.quorum.hostnameVerification': 'true',
      'ssl.quorum.clientHostnameVerification': 'false',
      'fips-mode': 'false',
    });
    // A server line's client address would open a plaintext client port.
    const servers = Object.entries(cfg).filter(([k]) => k.startsWith('server.'));
    expect(servers).toHaveLength(3);
    for (const [, line] of servers) expect(line).toMatch(/\.svc\.cluster\.local:2888:3888$/);
    const mounts = container(on).volumeMounts.map((m: { mountPath: string }) => m.mountPath);
    expect(mounts).toEqual(expect.arrayContaining(['/keelson/tls/server', '/keelson/tls/internal']));
  });

  test('only internal TLS: a plaintext client port beside a TLS quorum', () => {
    const cfg = zooCfg(
      synth({ clusterConfig: { tls: { internalTlsClass: 'peers' } } }, false, {
        tlsClasses: [{ name: 'peers' }],
      }),
    );
    expect(cfg).toMatchObject({ clientPort: '2181', sslQuorum: 'true' });
    expect(cfg.secureClientPort).toBeUndefined();
    expect(cfg.serverCnxnFactory).toBeUndefined();
  });

  test('a TlsClass construct named "tls" defined before the cluster turns both on in synth mode', () => {
    const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
    new TlsClass(chart, 'tls', { keelsonCa: {} });
    new ZookeeperCluster(chart, 'zk', {});
    const cfg = zooCfg(Testing.synth(chart) as Obj[]);
    expect(cfg).toMatchObject({ secureClientPort: '2181', sslQuorum: 'true' });
    expect(cfg.clientPort).toBeUndefined();
  });

  test('tls.enabled false turns both off although the class exists', () => {
    const cfg = zooCfg(
      synth({ clusterConfig: { tls: { enabled: false } } }, false, { tlsClasses: [{ name: 'tls' }] }),
    );
    expect(cfg.clientPort).toBe('2181');
    expect(tlsKeys(cfg)).toEqual({});
  });

  test('the probes speak TLS to the client port: srvr for readiness, ruok for liveness', () => {
    const c = container(on);
    expect(c.readinessProbe.exec.command[2]).toBe(
      "echo srvr | openssl s_client -connect 127.0.0.1:2181 -quiet 2>/dev/null | grep -q '^Mode:'",
    );
    expect(c.livenessProbe.exec.command[2]).toBe(
      "echo ruok | openssl s_client -connect 127.0.0.1:2181 -quiet 2>/dev/null | grep -q '^imok'",
    );
    expect(c.livenessProbe.tcpSocket).toBeUndefined();
    expect(container(synth()).livenessProbe).toMatchObject({ tcpSocket: { port: 2181 } });
  });

  test('the discovery ConfigMaps of the cluster and of a ZNode name the TlsClass; without TLS they do not', () => {
    expect(find(on, 'ConfigMap', 'zk').data.ZOOKEEPER_TLS_CLASS).toBe('tls');
    expect(find(on, 'ConfigMap', 'kafka-znode').data.ZOOKEEPER_TLS_CLASS).toBe('tls');
    const off = synth({}, true);
    expect(find(off, 'ConfigMap', 'zk').data).not.toHaveProperty('ZOOKEEPER_TLS_CLASS');
    expect(find(off, 'ConfigMap', 'kafka-znode').data).not.toHaveProperty('ZOOKEEPER_TLS_CLASS');
  });
});

describe('client certificates (a tls AuthenticationClass)', () => {
  const mtls = (tlsClass: string) => ({
    name: 'mtls',
    provider: 'tls' as const,
    spec: { tls: { tlsClass } },
  });
  const props: ZookeeperClusterProps = {
    clusterConfig: { authentication: [{ authenticationClass: 'mtls' }] },
  };
  const container = (objs: Obj[]) =>
    find(objs, 'StatefulSet', 'zk-servers-default').spec.template.spec.containers[0];

  test("of the server class: the client port needs a certificate its CAs signed, and the probes show the pod's own", () => {
    const objs = synth(props, true, { tlsClasses: [{ name: 'tls' }], authenticationClasses: [mtls('tls')] });
    expect(zooCfg(objs)).toMatchObject({
      secureClientPort: '2181',
      'ssl.trustStore.location': '/keelson/tls/server/ca.crt',
      'ssl.clientAuth': 'need',
      'ssl.clientHostnameVerification': 'false',
      'authProvider.x509': 'org.apache.zookeeper.server.auth.X509AuthenticationProvider',
      // The quorum keeps its own certificates.
      'ssl.quorum.keyStore.location': '/keelson/tls/internal/tls.pem',
      'ssl.quorum.trustStore.location': '/keelson/tls/internal/ca.crt',
    });
    const c = container(objs);
    const cert = '-cert /keelson/tls/server/tls.pem -key /keelson/tls/server/tls.pem';
    expect(c.readinessProbe.exec.command[2]).toBe(
      `echo srvr | openssl s_client -connect 127.0.0.1:2181 ${cert} -quiet 2>/dev/null | grep -q '^Mode:'`,
    );
    expect(c.livenessProbe.exec.command[2]).toContain(`-connect 127.0.0.1:2181 ${cert} -quiet`);
    for (const name of ['zk', 'kafka-znode'])
      expect(find(objs, 'ConfigMap', name).data).toMatchObject({
        ZOOKEEPER_TLS_CLASS: 'tls',
        ZOOKEEPER_CLIENT_CERTIFICATE_CLASS: 'tls',
      });
  });

  test('of the internal class: its CAs and the internal certificate for the probe', () => {
    const objs = synth(
      {
        clusterConfig: { ...props.clusterConfig, tls: { serverTlsClass: 'web', internalTlsClass: 'peers' } },
      },
      false,
      { tlsClasses: [{ name: 'web' }, { name: 'peers' }], authenticationClasses: [mtls('peers')] },
    );
    expect(zooCfg(objs)).toMatchObject({
      'ssl.keyStore.location': '/keelson/tls/server/tls.pem',
      'ssl.trustStore.location': '/keelson/tls/internal/ca.crt',
      'ssl.clientAuth': 'need',
    });
    expect(container(objs).readinessProbe.exec.command[2]).toContain(
      '-cert /keelson/tls/internal/tls.pem -key /keelson/tls/internal/tls.pem',
    );
  });

  test('without the class: no client certificate, no x509 provider, no discovery key', () => {
    const objs = synth({}, true, { tlsClasses: [{ name: 'tls' }], authenticationClasses: [mtls('tls')] });
    const cfg = zooCfg(objs);
    expect(cfg['ssl.clientAuth']).toBe('none');
    expect(cfg['authProvider.x509']).toBeUndefined();
    expect(find(objs, 'ConfigMap', 'zk').data).not.toHaveProperty('ZOOKEEPER_CLIENT_CERTIFICATE_CLASS');
  });

  test('refuses the class without server TLS, with a class the probe holds no certificate of, two tls classes and other providers', () => {
    expect(() =>
      synth(props, false, { tlsClasses: [{ name: 'peers' }], authenticationClasses: [mtls('peers')] }),
    ).toThrow(
      'spec.clusterConfig.authentication: the AuthenticationClass "mtls" asks clients for a certificate, which needs the servers\' client port on TLS: set spec.clusterConfig.tls.serverTlsClass',
    );
    expect(() =>
      synth(props, false, {
        tlsClasses: [{ name: 'tls' }, { name: 'clients' }],
        authenticationClasses: [mtls('clients')],
      }),
    ).toThrow(
      /the AuthenticationClass "mtls" accepts certificates of the TlsClass "clients", but the servers' own probe .* shows the pod's certificate, which is of the server class "tls" or the internal class "tls": give the AuthenticationClass one of those TlsClasses/,
    );
    expect(() =>
      synth(
        {
          clusterConfig: {
            authentication: [{ authenticationClass: 'mtls' }, { authenticationClass: 'mtls2' }],
          },
        },
        false,
        {
          tlsClasses: [{ name: 'tls' }],
          authenticationClasses: [mtls('tls'), { ...mtls('tls'), name: 'mtls2' }],
        },
      ),
    ).toThrow(
      /ZooKeeper checks client certificates against one TlsClass; name one tls AuthenticationClass, not 2 \(mtls, mtls2\)/,
    );
    expect(() =>
      synth({ clusterConfig: { authentication: [{ authenticationClass: 'users' }] } }, false, {
        tlsClasses: [{ name: 'tls' }],
        authenticationClasses: [
          { name: 'users', provider: 'static', spec: { static: { userCredentialsSecretName: 'u' } } },
        ],
      }),
    ).toThrow(
      'spec.clusterConfig.authentication[0].authenticationClass: the AuthenticationClass "users" has the static provider, which ZookeeperCluster does not support; it supports tls',
    );
  });
});

describe('configOverrides and logging', () => {
  test('configOverrides of zoo.cfg win over generated values', () => {
    const objs = synth({ servers: { configOverrides: { 'zoo.cfg': { tickTime: '3000' } } } });
    expect(zooCfg(objs).tickTime).toBe('3000');
  });

  test('rejects configOverrides of logback.xml, whose levels config.logging sets', () => {
    expect(() =>
      synth({
        servers: { configOverrides: { 'logback.xml': { 'org.apache.zookeeper': 'DEBUG' } } } as never,
      }),
    ).toThrow(/unknown field "logback\.xml"; expected one of this role's config files: zoo\.cfg$/m);
  });

  test('log levels of the zookeeper container go into logback.xml', () => {
    const objs = synth({
      servers: {
        config: {
          logging: {
            containers: { zookeeper: { console: { level: 'WARN' }, loggers: { x: { level: 'TRACE' } } } },
          },
        },
      },
    });
    const xml: string = find(objs, 'ConfigMap', 'zk-servers-default').data['logback.xml'];
    // The file keeps INFO, so the root logger does; the console filters to WARN.
    expect(xml).toContain('<root level="INFO">');
    expect(xml).toMatch(/<appender name="CONSOLE"[\s\S]*<level>WARN<\/level>/);
    expect(xml).toContain('<file>/keelson/log/zookeeper.json</file>');
    expect(xml).toContain('<logger name="x" level="TRACE"/>');
  });

  test('writes the structured log to an emptyDir and points logback at its file', () => {
    const objs = synth({});
    const pod = find(objs, 'StatefulSet', 'zk-servers-default').spec.template.spec;
    const main = pod.containers[0];
    expect(main.command[2]).toContain('-Dlogback.configurationFile=/conf/logback.xml ');
    expect(main.volumeMounts).toContainEqual(expect.objectContaining({ mountPath: '/keelson/log' }));
  });

  test("runs with the user's logback.xml from custom.configMap", () => {
    const objs = synth({
      servers: {
        config: { logging: { containers: { zookeeper: { custom: { configMap: 'zk-logging' } } } } },
      },
    });
    const pod = find(objs, 'StatefulSet', 'zk-servers-default').spec.template.spec;
    expect(pod.containers[0].command[2]).toContain(
      '-Dlogback.configurationFile=/keelson/log-config/logback.xml ',
    );
    expect(pod.volumes).toContainEqual({ name: 'log-config', configMap: { name: 'zk-logging' } });
    expect(find(objs, 'ConfigMap', 'zk-servers-default').data).not.toHaveProperty('logback.xml');
  });
});

describe('ZookeeperZnode', () => {
  const objs = synth({}, true);

  test('publishes only its discovery ConfigMap: the ensemble with its own chroot', () => {
    const own = objs.filter((o) => o.metadata.labels?.['app.kubernetes.io/instance'] === 'kafka-znode');
    expect(own.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['ConfigMap/kafka-znode']);
    const cluster = find(objs, 'ConfigMap', 'zk').data;
    const chroot = znodePath('data', 'kafka-znode');
    expect(chroot).toMatch(/^\/znode-[0-9a-f]{16}$/);
    expect(own[0].data).toEqual({
      ZOOKEEPER: `${cluster.ZOOKEEPER_HOSTS}${chroot}`,
      ZOOKEEPER_HOSTS: cluster.ZOOKEEPER_HOSTS,
      ZOOKEEPER_CLIENT_PORT: '2181',
      ZOOKEEPER_CHROOT: chroot,
    });
    expect(own[0].metadata.labels?.['app.kubernetes.io/version']).toBeUndefined();
  });

  test('the chroot is unique per namespace and name, and the same in every build', () => {
    expect(znodePath('data', 'a')).toBe(znodePath('data', 'a'));
    expect(znodePath('data', 'a')).not.toBe(znodePath('data', 'b'));
    expect(znodePath('data', 'a')).not.toBe(znodePath('other', 'a'));
  });
});

describe('bad input', () => {
  test('rejects an unsupported version, listing the supported ones', () => {
    expect(() => synth({ image: { productVersion: '3.4.14' } })).toThrow(
      /version "3\.4\.14" is not supported; supported versions: 3\.9\.3, 3\.9\.4/,
    );
  });

  test('a custom image bypasses the versions table', () => {
    const objs = synth({ image: { productVersion: '3.10.0', custom: 'registry.example/zk:3.10.0' } });
    expect(find(objs, 'StatefulSet', 'zk-servers-default').spec.template.spec.containers[0].image).toBe(
      'registry.example/zk:3.10.0',
    );
  });

  test('rejects role groups whose myid ranges overlap, naming both and the field to set', () => {
    expect(() =>
      synth({
        servers: {
          roleGroups: {
            a: { replicas: 3, config: { myidOffset: 1 } },
            b: { replicas: 2, config: { myidOffset: 3 } },
          },
        },
      }),
    ).toThrow(
      /spec\.servers\.roleGroups\.b\.config\.myidOffset: the ids 3-4 overlap the ids 1-3 of spec\.servers\.roleGroups\.a; set myidOffset/,
    );
  });

  test('rejects myids beyond 254', () => {
    expect(() =>
      synth({ servers: { roleGroups: { a: { replicas: 3, config: { myidOffset: 253 } } } } }),
    ).toThrow(/the ids 253-255 must lie within 1-254/);
  });

  test('rejects an unknown config file, listing the known ones', () => {
    expect(() => synth({ servers: { configOverrides: { 'log4j.properties': {} } } as never })).toThrow(
      /unknown field "log4j\.properties"; expected one of this role's config files: zoo\.cfg/,
    );
  });

  test('rejects a ZNode without a ZooKeeper, and one naming an unknown ConfigMap', () => {
    const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
    expect(problemsOf(new ZookeeperZnode(chart, 'a', {}))).toMatch(
      /spec\.clusterConfig\.zookeeperConfigMapName: is required/,
    );
    expect(
      problemsOf(new ZookeeperZnode(chart, 'b', { clusterConfig: { zookeeperConfigMapName: 'nowhere' } })),
    ).toMatch(
      /the discovery ConfigMap "nowhere" is not known; pass the stacklet it belongs to as a reference/,
    );
  });
});

test('the CRD carries the servers role and the myidOffset bounds', () => {
  const crd = productCrd(ZOOKEEPER as never) as any;
  const spec = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec;
  const config = spec.properties.servers.properties.roleGroups.additionalProperties.properties.config;
  expect(config.properties.myidOffset).toMatchObject({ type: 'integer', minimum: 1, maximum: 254 });
});
