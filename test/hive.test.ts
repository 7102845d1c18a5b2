import { Chart, Testing } from 'cdk8s';
import { execSync, spawn, spawnSync, type ChildProcess } from 'child_process';
import * as net from 'node:net';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  HIVE,
  HiveCluster,
  keyStoreScript,
  METASTORE_KEYSTORE_DIR,
  portCheck,
  requireVariablesScript,
  SCHEMA_INIT_MEMORY,
  type HiveClusterProps,
} from '../constructs/hive';
import {
  parseQuantity,
  productCrd,
  S3Connection,
  specProblems,
  tlsFiles,
  type StackletOptions,
} from '../lib';
import { find, kerberosClassInfo, type Obj } from './support/synth';

const POSTGRES = {
  type: 'postgresql' as const,
  host: 'pg.db.svc',
  database: 'metastore',
  credentialsSecretName: 'hive-db',
};

function synth(props: HiveClusterProps, withS3 = false): Obj[] {
  const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
  const s3 = withS3
    ? new S3Connection(chart, 'minio', {
        host: 'minio.storage.svc',
        port: 9000,
        tls: { enabled: false },
        credentials: { secretName: 's3-creds' },
      })
    : undefined;
  new HiveCluster(chart, 'hive', { ...props, s3 });
  return Testing.synth(chart) as Obj[];
}

/** name → value of a Hadoop XML file. */
function xml(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/<name>(.*?)<\/name>\s*<value>(.*?)<\/value>/g)) out[m[1]] = m[2];
  return out;
}

describe('a HiveCluster on PostgreSQL with S3', () => {
  const objs = synth({ clusterConfig: { database: POSTGRES, warehouseDir: 's3a://lake/warehouse' } }, true);
  const cm = find(objs, 'ConfigMap', 'hive-metastores-default');
  const pod = find(objs, 'StatefulSet', 'hive-metastores-default').spec.template.spec;

  test("runs one metastore from keelson's image with a thrift Service and publishes its URI", () => {
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
      [
        'ConfigMap/hive',
        'ConfigMap/hive-metastores-default',
        'NetworkPolicy/hive',
        'PodDisruptionBudget/hive-metastores',
        'Service/hive-metastores',
        'Service/hive-metastores-default-headless',
        'Service/hive-metastores-metrics',
        'ServiceAccount/hive',
        'StatefulSet/hive-metastores-default',
      ].sort(),
    );
    expect(pod.containers[0].image).toBe('ghcr.io/keelson/hive-metastore:4.0.1');
    expect(find(objs, 'Service', 'hive-metastores').spec.ports).toEqual([
      { name: 'thrift', port: 9083, targetPort: 9083, protocol: 'TCP' },
    ]);
    expect(find(objs, 'ConfigMap', 'hive').data).toEqual({
      HIVE: 'thrift://hive-metastores.data.svc.cluster.local:9083',
    });
  });

  test('a slow start is not killed: liveness begins once the port is open, after up to 10 minutes', () => {
    const c = pod.containers[0];
    // Looked at every 5 s (a roll waits for the first success), 120 times: 10 minutes.
    expect(c.startupProbe).toEqual({ tcpSocket: { port: 9083 }, periodSeconds: 5, failureThreshold: 120 });
    expect(c.livenessProbe).toEqual({ tcpSocket: { port: 9083 }, periodSeconds: 15 });
    expect(c.readinessProbe.tcpSocket).toEqual({ port: 9083 });
  });

  test('writes metastore-site.xml key by key, credentials as environment references', () => {
    expect(xml(cm.data['metastore-site.xml'])).toEqual({
      'datanucleus.schema.autoCreateAll': 'false',
      'javax.jdo.option.ConnectionDriverName': 'org.postgresql.Driver',
      'javax.jdo.option.ConnectionPassword': '${env.DB_PASSWORD}',
      'javax.jdo.option.ConnectionURL': 'jdbc:postgresql://pg.db.svc:5432/metastore',
      'javax.jdo.option.ConnectionUserName': '${env.DB_USERNAME}',
      'metastore.schema.verification': 'true',
      'metastore.thrift.port': '9083',
      'metastore.warehouse.dir': 's3a://lake/warehouse',
      'metastore.async.log.enabled': 'false',
      'metastore.metrics.enabled': 'true',
      'metastore.metrics.reporters': 'jmx',
      'metastore.task.threads.always': expect.stringContaining('events.EventCleanerTask'),
    });
  });

  test('names no housekeeping task the standalone metastore lacks (one missing class stops them all)', () => {
    const tasks = xml(cm.data['metastore-site.xml'])['metastore.task.threads.always'].split(',');
    expect(tasks).toHaveLength(6);
    expect(tasks).not.toContain('org.apache.hadoop.hive.metastore.HiveProtoEventsCleanerTask');
  });

  test('writes core-site.xml for S3A from the S3Connection', () => {
    expect(xml(cm.data['core-site.xml'])).toEqual({
      'fs.s3a.access.key': '${env.S3_ACCESS_KEY}',
      'fs.s3a.aws.credentials.provider': 'org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider',
      'fs.s3a.connection.ssl.enabled': 'false',
      'fs.s3a.endpoint': 'http://minio.storage.svc:9000',
      'fs.s3a.endpoint.region': 'us-east-1',
      'fs.s3a.path.style.access': 'true',
      'fs.s3a.secret.key': '${env.S3_SECRET_KEY}',
    });
  });

  test('takes credentials from the Secrets, in the init container and the metastore alike', () => {
    for (const container of [pod.initContainers[0], pod.containers[0]]) {
      const env = Object.fromEntries(container.env.map((e: any) => [e.name, e.valueFrom?.secretKeyRef]));
      expect(env).toMatchObject({
        DB_USERNAME: { name: 'hive-db', key: 'username' },
        DB_PASSWORD: { name: 'hive-db', key: 'password' },
        S3_ACCESS_KEY: { name: 's3-creds', key: 'accessKey' },
        S3_SECRET_KEY: { name: 's3-creds', key: 'secretKey' },
      });
    }
  });

  test("runs java with keelson's config directory first on the class path, not a distribution script", () => {
    const main = pod.containers[0];
    expect(main.command.slice(0, 2)).toEqual(['/bin/bash', '-c']);
    expect(main.command[3]).toBe('hive-metastore'); // $0, so cliOverrides arrive as "$@"
    const exec = main.command[2].split('\n').pop();
    expect(exec).toBe(
      'exec java -Xmx768m -Xms768m -XX:+ExitOnOutOfMemoryError -Djava.io.tmpdir=/tmp ' +
        '-javaagent:/opt/jmx-exporter/jmx_prometheus_javaagent.jar=9404:/keelson/config/jmx-exporter.yaml ' +
        '-Dlog4j2.configurationFile=/keelson/config/metastore-log4j2.properties ' +
        '-cp \'/keelson/config:/opt/hive/lib/*\' org.apache.hadoop.hive.metastore.HiveMetaStore "$@"',
    );
    expect(main.command[2]).not.toMatch(/bin\/hive|schematool|HADOOP_CLIENT_OPTS/);
    expect(main.env.find((e: any) => e.name === 'METASTORE_HOME')).toEqual({
      name: 'METASTORE_HOME',
      value: '/opt/hive',
    });
  });

  test('logs to stdout through the log4j2 file keelson writes', () => {
    const log4j2 = cm.data['metastore-log4j2.properties'];
    expect(log4j2).toMatch(/^appender\.console\.target=SYSTEM_OUT$/m);
    expect(log4j2).toMatch(/^rootLogger\.appenderRef\.console\.ref=console$/m);
  });

  test("runs the metastore's own schema tool, which reads metastore-site.xml, in the init container", () => {
    const init = pod.initContainers[0];
    expect(init.name).toBe('schema-init');
    expect(init.command[2]).toContain(
      "-cp '/keelson/config:/opt/hive/lib/*' org.apache.hadoop.hive.metastore.tools.schematool.MetastoreSchemaTool -dbType postgres -initOrUpgradeSchema",
    );
    expect(init.command[2]).not.toMatch(/bin\/schematool|HiveSchemaTool/);
    expect(init.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true });
  });

  test("gives the schema tool a heap below the init container's memory limit", () => {
    const init = pod.initContainers[0];
    expect(init.resources.limits.memory).toBe(SCHEMA_INIT_MEMORY);
    const heap = /-Xmx(\d+)m/.exec(init.command[2]);
    expect(heap).not.toBeNull();
    expect(Number(heap![1]) * 1024 * 1024).toBeLessThan(parseQuantity(init.resources.limits.memory));
    expect(init.command[2]).not.toContain('-Xmx768m'); // the metastore's heap, for 1Gi
  });

  test('only ordinal 0 of the first role group initialises the schema; the others wait for it', () => {
    const script = pod.initContainers[0].command[2];
    expect(script).toMatch(/^if \[ "\$POD_NAME" = hive-metastores-default-0 \]; then$/m);
    expect(script).toMatch(/^ {2}exec java .* -initOrUpgradeSchema$/m);
    expect(script).toMatch(/^until java .* -info > \/tmp\/schema-info.log 2>&1; do$/m);
    expect(pod.initContainers[0].env).toContainEqual({
      name: 'POD_NAME',
      valueFrom: { fieldRef: { fieldPath: 'metadata.name' } },
    });
    const groups = synth({
      clusterConfig: { database: POSTGRES },
      metastores: { roleGroups: { zeta: { replicas: 2 }, alpha: { replicas: 0 }, beta: { replicas: 1 } } },
    });
    for (const name of ['hive-metastores-zeta', 'hive-metastores-beta']) {
      const init = find(groups, 'StatefulSet', name).spec.template.spec.initContainers[0];
      expect(init.command[2]).toMatch(/^if \[ "\$POD_NAME" = hive-metastores-beta-0 \]; then$/m);
    }
  });

  test('checks at start that every ${env.X} the config files refer to is set', () => {
    const over = synth(
      {
        clusterConfig: { database: POSTGRES },
        metastores: {
          configOverrides: {
            'metastore-site.xml': { 'my.token': '${env.MY_TOKEN}', 'with.default': '${env.OPTIONAL:-x}' },
          },
          envOverrides: { MY_TOKEN: 't' },
        },
      },
      true,
    );
    const spec = find(over, 'StatefulSet', 'hive-metastores-default').spec.template.spec;
    const check = 'for name in DB_PASSWORD DB_USERNAME MY_TOKEN S3_ACCESS_KEY S3_SECRET_KEY; do';
    expect(spec.containers[0].command[2].split('\n')[1]).toBe(check);
    expect(spec.initContainers[0].command[2].split('\n')[1]).toBe(check);
    // envOverrides reach the schema tool too: it reads the same files.
    expect(spec.initContainers[0].env).toContainEqual({ name: 'MY_TOKEN', value: 't' });
  });

  test('stops with the name of an unset variable instead of passing "${env.X}" on', () => {
    const script = [
      'set -eu',
      ...requireVariablesScript(['DB_USERNAME', 'DB_PASSWORD']),
      'echo started',
    ].join('\n');
    const run = (env: Record<string, string>) =>
      spawnSync('/bin/bash', ['-c', script], { env: { PATH: process.env.PATH!, ...env }, encoding: 'utf8' });
    const missing = run({ DB_USERNAME: 'hive' });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('the environment variable DB_PASSWORD is not set');
    expect(missing.stderr).toContain('${env.DB_PASSWORD}');
    expect(missing.stdout).toBe('');
    const complete = run({ DB_USERNAME: 'hive', DB_PASSWORD: '' });
    expect(complete.status).toBe(0);
    expect(complete.stdout).toBe('started\n');
  });

  test('configOverrides replace generated keys', () => {
    const over = synth({
      clusterConfig: { database: POSTGRES },
      metastores: { configOverrides: { 'metastore-site.xml': { 'metastore.thrift.port': '9999' } } },
    });
    expect(xml(find(over, 'ConfigMap', 'hive-metastores-default').data['metastore-site.xml'])).toMatchObject({
      'metastore.thrift.port': '9999',
    });
  });
});

describe('a HiveCluster on MySQL (proven on the real node with MariaDB 10.11)', () => {
  const MYSQL = {
    type: 'mysql' as const,
    host: 'mysql.db.svc',
    database: 'metastore',
    credentialsSecretName: 'hive-db',
  };
  const configOf = (objs: Obj[]) =>
    find(objs, 'ConfigMap', 'hive-metastores-default').data['metastore-site.xml'];
  const initScriptOf = (objs: Obj[]) =>
    find(objs, 'StatefulSet', 'hive-metastores-default').spec.template.spec.initContainers[0].command[2];

  test("uses Connector/J's driver class and a plain jdbc:mysql URL on port 3306, with no connector options of keelson's", () => {
    expect(xml(configOf(synth({ clusterConfig: { database: MYSQL } })))).toMatchObject({
      'javax.jdo.option.ConnectionDriverName': 'com.mysql.cj.jdbc.Driver',
      'javax.jdo.option.ConnectionURL': 'jdbc:mysql://mysql.db.svc:3306/metastore',
      'javax.jdo.option.ConnectionUserName': '${env.DB_USERNAME}',
      'javax.jdo.option.ConnectionPassword': '${env.DB_PASSWORD}',
    });
  });

  test("runs the schema tool with Hive's MySQL scripts, to initialise and to wait alike", () => {
    const script = initScriptOf(synth({ clusterConfig: { database: MYSQL } }));
    expect(script).toMatch(/^ {2}exec java .* -dbType mysql -initOrUpgradeSchema$/m);
    expect(script).toMatch(/^until java .* -dbType mysql -info > /m);
  });

  test('passes connector options from `parameters` into the URL, escaped for the XML file', () => {
    const site = configOf(
      synth({
        clusterConfig: {
          database: {
            ...MYSQL,
            port: 3307,
            parameters: { sslMode: 'VERIFY_IDENTITY', allowPublicKeyRetrieval: 'false' },
          },
        },
      }),
    );
    expect(site).toContain(
      '<value>jdbc:mysql://mysql.db.svc:3307/metastore?sslMode=VERIFY_IDENTITY&amp;allowPublicKeyRetrieval=false</value>',
    );
  });
});

describe('a HiveCluster on Derby (tests)', () => {
  test('embeds the database in the pod and needs no credentials', () => {
    const objs = synth({ clusterConfig: { database: { type: 'derby' } } });
    const site = xml(find(objs, 'ConfigMap', 'hive-metastores-default').data['metastore-site.xml']);
    expect(site['javax.jdo.option.ConnectionURL']).toBe(
      'jdbc:derby:;databaseName=/keelson/data/metastore_db;create=true',
    );
    expect(site['javax.jdo.option.ConnectionPassword']).toBeUndefined();
  });
});

describe('bad Hive specs', () => {
  test('rejects a metastore without a database', () => {
    expect(() => synth({})).toThrow(/spec.clusterConfig.database: required/);
  });
  test('rejects PostgreSQL without host, database or credentials', () => {
    expect(() => synth({ clusterConfig: { database: { type: 'postgresql', host: 'pg' } } })).toThrow(
      /needs host, database and credentialsSecretName/,
    );
  });
  test('rejects S3 without credentials', () => {
    expect(
      specProblems(HIVE.specSchema, {
        clusterConfig: { database: POSTGRES, s3: { inline: { host: 'minio' } } },
      }).join('\n'),
    ).toMatch(/spec.clusterConfig.s3.inline.credentials/);
  });
  test('rejects a reference to an S3Connection that was not passed', () => {
    expect(() => synth({ clusterConfig: { database: POSTGRES, s3: { reference: 'nowhere' } } })).toThrow(
      /spec.clusterConfig.s3.reference: the S3Connection "nowhere" does not exist/,
    );
  });
  test('rejects two Derby metastores', () => {
    expect(() =>
      synth({
        clusterConfig: { database: { type: 'derby' } },
        metastores: { roleGroups: { a: { replicas: 2 } } },
      }),
    ).toThrow(/embedded Derby/);
  });
  test('the CRD carries the database rule for the API server, as a missing value', () => {
    expect(JSON.stringify(productCrd(HIVE))).toContain(
      '"message":"a postgresql or mysql database needs host, database and credentialsSecretName","reason":"FieldValueRequired"',
    );
  });
});

describe('a HiveCluster with TLS', () => {
  const build = (props: HiveClusterProps = {}, classes = [{ name: 'tls' }]) => {
    const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
    new HiveCluster(
      chart,
      'hive',
      { clusterConfig: { database: POSTGRES }, ...props },
      { tlsClasses: classes },
    );
    const objs = Testing.synth(chart) as Obj[];
    const site = xml(find(objs, 'ConfigMap', 'hive-metastores-default').data['metastore-site.xml']);
    const pod = find(objs, 'StatefulSet', 'hive-metastores-default').spec.template.spec;
    return { objs, site, pod };
  };

  test('serves Thrift over TLS only, from a PKCS#12 key store whose password is a variable, never a value', () => {
    const { site, objs } = build();
    expect(site).toMatchObject({
      'metastore.thrift.port': '9083',
      'metastore.use.SSL': 'true',
      'metastore.keystore.path': '/tmp/keelson-tls/metastore.p12',
      'metastore.keystore.type': 'PKCS12',
      'metastore.keystore.password': '${env.KEELSON_METASTORE_KEYSTORE_PASSWORD}',
    });
    // No key, certificate or key store in anything synthesized.
    expect(JSON.stringify(objs)).not.toMatch(/BEGIN|PRIVATE KEY|\.p12"|keystore\.password":"[^$]/);
  });

  test('mounts the server certificate of its class and builds the key store from tls.pem at start', () => {
    const { pod } = build();
    expect(pod.volumes).toContainEqual(
      expect.objectContaining({
        name: 'tls-server',
        projected: expect.objectContaining({
          sources: expect.arrayContaining([
            expect.objectContaining({
              podCertificate: expect.objectContaining({ signerName: 'keelson.dev/tls' }),
            }),
          ]),
        }),
      }),
    );
    expect(pod.containers[0].volumeMounts).toContainEqual({
      name: 'tls-server',
      mountPath: '/keelson/tls/server',
      readOnly: true,
    });
    const lines = pod.containers[0].command[2].split('\n');
    expect(lines.slice(0, 5)).toEqual([
      'set -eu',
      'mkdir -p -m 0700 /tmp/keelson-tls',
      'KEELSON_METASTORE_KEYSTORE_PASSWORD=$(openssl rand -hex 32)',
      'export KEELSON_METASTORE_KEYSTORE_PASSWORD',
      '(umask 077 && openssl pkcs12 -export -in /keelson/tls/server/tls.pem -name metastore ' +
        '-out /tmp/keelson-tls/metastore.p12 -passout env:KEELSON_METASTORE_KEYSTORE_PASSWORD)',
    ]);
    // The password is made before the check that every ${env.X} is set, which now includes it.
    expect(lines[5]).toBe('for name in DB_PASSWORD DB_USERNAME KEELSON_METASTORE_KEYSTORE_PASSWORD; do');
    expect(lines[lines.length - 1]).toMatch(
      /^exec java .* org\.apache\.hadoop\.hive\.metastore\.HiveMetaStore "\$@"$/,
    );
    // The schema tool does not serve Thrift: it neither needs nor checks the password.
    expect(pod.initContainers[0].command[2]).not.toContain('KEELSON_METASTORE_KEYSTORE_PASSWORD');
    expect(pod.initContainers[0].command[2]).toContain('for name in DB_PASSWORD DB_USERNAME; do');
    // The probes complete a handshake (a bare connect makes the metastore log an error each time).
    for (const probe of ['readinessProbe', 'startupProbe', 'livenessProbe']) {
      expect(pod.containers[0][probe].exec.command).toEqual([
        '/bin/bash',
        '-c',
        "timeout 8 openssl s_client -connect 127.0.0.1:9083 -brief </dev/null 2>&1 | grep -q '^CONNECTION ESTABLISHED$'",
      ]);
      expect(pod.containers[0][probe].timeoutSeconds).toBe(10);
    }
    expect(pod.containers[0].securityContext).toMatchObject({ readOnlyRootFilesystem: true });
    expect(pod.securityContext).toMatchObject({ runAsUser: 10001 });
  });

  test('the start script makes a key store Java opens with the password, holding the key and its chain', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-hive-tls-'));
    try {
      const run = (cmd: string) => execSync(cmd, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
      run(
        'openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=hive -days 1 -keyout k.pem -out c.pem 2>/dev/null',
      );
      run('openssl pkcs8 -topk8 -nocrypt -in k.pem -out k8.pem && cat k8.pem c.pem > tls.pem');
      const script = keyStoreScript({ server: { ...tlsFiles('server'), bundle: path.join(dir, 'tls.pem') } })
        .join('\n')
        .replaceAll(METASTORE_KEYSTORE_DIR, path.join(dir, 'ks'));
      const out = spawnSync(
        '/bin/bash',
        [
          '-c',
          `set -eu\n${script}\nkeytool -list -keystore ${dir}/ks/metastore.p12 -storetype PKCS12 -storepass:env KEELSON_METASTORE_KEYSTORE_PASSWORD; stat -c %a ${dir}/ks ${dir}/ks/metastore.p12`,
        ],
        { encoding: 'utf8' },
      );
      expect(out.stderr).toBe('');
      expect(out.status).toBe(0);
      expect(out.stdout).toMatch(/^metastore, .*PrivateKeyEntry,\s*$/m);
      expect(out.stdout).toMatch(/^700\n600\n$/m);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the TLS probe passes on a TLS port and fails on a plaintext one', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-hive-probe-'));
    const servers: ChildProcess[] = [];
    try {
      execSync(
        'openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=hive -days 1 -keyout k.pem -out c.pem 2>/dev/null',
        { cwd: dir },
      );
      const probe = (port: number) =>
        spawnSync(
          '/bin/bash',
          [
            '-c',
            (
              portCheck({ server: tlsFiles('server') }) as { exec: { command: string[] } }
            ).exec.command[2].replace(':9083', `:${port}`),
          ],
          { encoding: 'utf8' },
        ).status;
      const free = () =>
        new Promise<number>((resolve) => {
          const srv = net.createServer().listen(0, '127.0.0.1', () => {
            const { port } = srv.address() as net.AddressInfo;
            srv.close(() => resolve(port));
          });
        });
      const [tlsPort, plainPort] = [await free(), await free()];
      servers.push(
        spawn(
          'openssl',
          ['s_server', '-accept', `127.0.0.1:${tlsPort}`, '-cert', 'c.pem', '-key', 'k.pem', '-quiet'],
          {
            cwd: dir,
            stdio: 'ignore',
          },
        ),
      );
      const plain = net.createServer((socket) => socket.end()).listen(plainPort, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 1000));
      expect(probe(tlsPort)).toBe(0);
      expect(probe(plainPort)).not.toBe(0);
      plain.close();
    } finally {
      for (const server of servers) server.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('its discovery ConfigMap names the class clients trust; without a class or with TLS off, plaintext as before', () => {
    expect(find(build().objs, 'ConfigMap', 'hive').data).toEqual({
      HIVE: 'thrift://hive-metastores.data.svc.cluster.local:9083',
      HIVE_TLS_CLASS: 'tls',
    });
    const named = build({ clusterConfig: { database: POSTGRES, tls: { serverTlsClass: 'lake' } } }, [
      { name: 'lake' },
    ]);
    expect(find(named.objs, 'ConfigMap', 'hive').data.HIVE_TLS_CLASS).toBe('lake');
    for (const off of [
      build({}, []),
      build({ clusterConfig: { database: POSTGRES, tls: { enabled: false } } }),
    ]) {
      expect(find(off.objs, 'ConfigMap', 'hive').data).toEqual({
        HIVE: 'thrift://hive-metastores.data.svc.cluster.local:9083',
      });
      expect(off.site['metastore.use.SSL']).toBeUndefined();
      expect(off.pod.containers[0].command[2]).not.toContain('openssl');
      expect(off.pod.containers[0].readinessProbe.tcpSocket.port).toBe(9083);
      expect(off.pod.volumes.map((v: { name: string }) => v.name)).not.toContain('tls-server');
    }
  });
});

describe('a HiveCluster that authenticates clients with Kerberos', () => {
  const REALM_CLASS = kerberosClassInfo();
  const PRINCIPAL = 'hive/hive-metastores.data.svc.cluster.local@DATA.EXAMPLE.ORG';
  const build = (
    props: HiveClusterProps = {
      clusterConfig: { database: POSTGRES, authentication: [{ authenticationClass: 'realm' }] },
    },
    classes: StackletOptions['authenticationClasses'] = [REALM_CLASS],
  ) => {
    const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
    new HiveCluster(chart, 'hive', props, { authenticationClasses: classes });
    return Testing.synth(chart) as Obj[];
  };

  test('Thrift speaks SASL as one principal named after the client Service, from the keytab in memory', () => {
    const objs = build();
    const cm = find(objs, 'ConfigMap', 'hive-metastores-default').data;
    expect(xml(cm['metastore-site.xml'])).toMatchObject({
      'hive.metastore.sasl.enabled': 'true',
      'hive.metastore.kerberos.principal': PRINCIPAL,
      'hive.metastore.kerberos.keytab.file': '/keelson/kerberos/keytab',
    });
    expect(xml(cm['core-site.xml'])).toEqual({ 'hadoop.security.authentication': 'kerberos' });
    expect(cm['krb5.conf']).toContain('default_realm = DATA.EXAMPLE.ORG');
    const pod = find(objs, 'StatefulSet', 'hive-metastores-default').spec.template.spec;
    const hive = pod.containers.find((c: { name: string }) => c.name === 'hive');
    expect(hive.command[2]).toContain('-Djava.security.krb5.conf=/keelson/config/krb5.conf');
    expect(hive.volumeMounts).toContainEqual({
      name: 'kerberos-keytab',
      mountPath: '/keelson/kerberos',
      readOnly: true,
    });
    // The keytab is written first; the schema tool follows.
    expect(pod.initContainers.map((c: { name: string }) => c.name)).toEqual([
      'kerberos-keytab',
      'schema-init',
    ]);
    const script: string = pod.initContainers[0].command[2];
    // Every pod exports the same keys, so no pod's start invalidates another's.
    expect(script).toContain(`principal="${PRINCIPAL}"`);
    expect(script).toContain('principals=("$principal")');
    expect(script).toContain('kadm "ktadd -k /keelson/kerberos/keytab -norandkey ${principals[*]}"');
    expect(script).not.toContain('listener');
    expect(script).toContain("needs the admin principal's e right");
    // Only the init container mounts the admin Secret.
    for (const c of [...pod.containers, pod.initContainers[1]]) {
      expect(JSON.stringify(c.volumeMounts ?? [])).not.toContain('kerberos-admin');
    }
  });

  test('the discovery ConfigMap tells clients the principal, its realm and the class; without a class, nothing changes', () => {
    expect(find(build(), 'ConfigMap', 'hive').data).toMatchObject({
      HIVE: 'thrift://hive-metastores.data.svc.cluster.local:9083',
      HIVE_KERBEROS_PRINCIPAL: PRINCIPAL,
      HIVE_KERBEROS_REALM: 'DATA.EXAMPLE.ORG',
      HIVE_KERBEROS_CLASS: 'realm',
    });
    const plain = build({ clusterConfig: { database: POSTGRES } });
    expect(Object.keys(find(plain, 'ConfigMap', 'hive').data)).toEqual(['HIVE']);
    const site = xml(find(plain, 'ConfigMap', 'hive-metastores-default').data['metastore-site.xml']);
    expect(JSON.stringify(plain)).not.toMatch(/kerberos|krb5|sasl/i);
    expect(site['hive.metastore.sasl.enabled']).toBeUndefined();
  });

  test('refuses two kerberos classes and other providers, naming the field', () => {
    const two = {
      clusterConfig: {
        database: POSTGRES,
        authentication: [{ authenticationClass: 'realm' }, { authenticationClass: 'other' }],
      },
    };
    expect(() => build(two, [REALM_CLASS, { ...REALM_CLASS, name: 'other' }])).toThrow(
      /spec.clusterConfig.authentication: the metastores accept one Kerberos principal, of one realm; name one kerberos AuthenticationClass, not 2 \(realm, other\)/,
    );
    const ldap = {
      name: 'directory',
      provider: 'ldap' as const,
      spec: { ldap: { host: 'ldap', searchBase: 'dc=example' } },
    };
    expect(() =>
      build(
        { clusterConfig: { database: POSTGRES, authentication: [{ authenticationClass: 'directory' }] } },
        [ldap as never],
      ),
    ).toThrow(
      /authentication\[0\].authenticationClass: the AuthenticationClass "directory" has the ldap provider, which HiveCluster does not support; it supports kerberos/,
    );
  });
});
