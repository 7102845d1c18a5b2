import { Chart, Testing } from 'cdk8s';
import { HIVE, HiveCluster, schemaInitScript, type HiveClusterProps } from '../constructs/hive';
import { productCrd, S3Connection, specProblems } from '../lib';
import { find, type Obj } from './support/synth';

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

  test('runs one metastore from apache/hive with a thrift Service and publishes its URI', () => {
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
      [
        'ConfigMap/hive',
        'ConfigMap/hive-metastores-default',
        'NetworkPolicy/hive',
        'PodDisruptionBudget/hive-metastores',
        'Service/hive-metastores',
        'Service/hive-metastores-default-headless',
        'ServiceAccount/hive',
        'StatefulSet/hive-metastores-default',
      ].sort(),
    );
    expect(pod.containers[0].image).toBe('docker.io/apache/hive:4.0.1');
    expect(find(objs, 'Service', 'hive-metastores').spec.ports).toEqual([
      { name: 'thrift', port: 9083, targetPort: 9083, protocol: 'TCP' },
    ]);
    expect(find(objs, 'ConfigMap', 'hive').data).toEqual({
      HIVE: 'thrift://hive-metastores.data.svc.cluster.local:9083',
    });
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
    });
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

  test('initialises the schema in an init container only when schematool finds none', () => {
    const init = pod.initContainers[0];
    expect(init.name).toBe('schema-init');
    expect(init.command[2]).toBe(schemaInitScript(POSTGRES));
    expect(init.command[2]).toMatch(/schematool -dbType postgres -info .*\n.*\nelse\n.*\n.*-initSchema\nfi$/);
    expect(init.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true });
    expect(pod.containers[0].command[2]).toBe(
      'exec /opt/hive/bin/hive --skiphadoopversion --skiphbasecp --service metastore',
    );
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
