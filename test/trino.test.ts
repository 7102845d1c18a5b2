import { Chart, Testing } from 'cdk8s';
import { HiveCluster } from '../constructs/hive';
import {
  TRINO,
  TRINO_CATALOG,
  TrinoCatalog,
  TrinoCluster,
  type TrinoCatalogProps,
  type TrinoClusterProps,
} from '../constructs/trino';
import { productCrd, S3Connection, specProblems, Stacklet } from '../lib';
import { find, kerberosClassInfo, problemsOf, type Obj } from './support/synth';

function properties(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).replace(/\\:/g, ':')]),
  );
}

function synth(
  props: TrinoClusterProps = {},
  catalogs: Record<string, TrinoCatalogProps> = {},
): { objs: Obj[]; chart: Chart } {
  const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
  const hive = new HiveCluster(chart, 'hive', { clusterConfig: { database: { type: 'derby' } } });
  const s3 = new S3Connection(chart, 'minio', {
    host: 'minio',
    port: 9000,
    tls: { enabled: false },
    credentials: { secretName: 's3-creds' },
  });
  const made = Object.entries(catalogs).map(
    ([name, c]) =>
      new TrinoCatalog(chart, name, {
        ...c,
        ...(c.connector.hive || c.connector.iceberg ? { metastore: hive, s3 } : {}),
      }),
  );
  new TrinoCluster(chart, 'trino', { ...props, catalogs: made });
  return { objs: Testing.synth(chart) as Obj[], chart };
}

describe('a TrinoCluster with hive, iceberg, tpch, postgresql and generic catalogs', () => {
  const { objs } = synth(
    { workers: { roleGroups: { default: { replicas: 3 } } } },
    {
      lake: { connector: { hive: {} } },
      ice: { connector: { iceberg: {} } },
      tpch: { connector: { tpch: {} } },
      tpcds: { connector: { tpcds: {} }, configOverrides: { 'tpcds.splits-per-node': '4' } },
      pg: { connector: { postgresql: { host: 'pg', database: 'sales', credentialsSecretName: 'pg-creds' } } },
      mem: {
        connector: {
          generic: {
            connectorName: 'memory',
            properties: { 'memory.max-data-per-node': '128MB' },
            secretProperties: { 'memory.token': { secretName: 'mem', key: 'token' } },
          },
        },
      },
    },
  );
  const coordinator = find(objs, 'ConfigMap', 'trino-coordinators-default').data;
  const worker = find(objs, 'ConfigMap', 'trino-workers-default').data;

  test('runs one coordinator and the workers from trinodb/trino, publishing the coordinator URL', () => {
    expect(find(objs, 'StatefulSet', 'trino-workers-default').spec.replicas).toBe(3);
    expect(
      find(objs, 'StatefulSet', 'trino-coordinators-default').spec.template.spec.containers[0].image,
    ).toBe('docker.io/trinodb/trino:476');
    expect(find(objs, 'ConfigMap', 'trino').data).toEqual({
      TRINO: 'http://trino-coordinators.data.svc.cluster.local:8080',
    });
  });

  test('writes config.properties key by key, memory derived from the container memory', () => {
    // 4Gi × 0.8 = 3276 MiB heap: 60 % for queries, 30 % headroom; no cluster-wide cap below the workers'.
    expect(properties(coordinator['config.properties'])).toEqual({
      'catalog.config-dir': '/keelson/catalog',
      coordinator: 'true',
      'discovery.uri': 'http://trino-coordinators.data.svc.cluster.local:8080',
      'http-server.http.port': '8080',
      'internal-communication.shared-secret': '${ENV:TRINO_INTERNAL_SHARED_SECRET}',
      // The structured log file, in airlift's JSON format (lib/logging).
      'log.enable-console': 'true',
      'log.format': 'json',
      'log.max-size': '10MB',
      'log.max-total-size': '20MB',
      'log.path': '/keelson/log/trino.json',
      'memory.heap-headroom-per-node': '982MB',
      'node-scheduler.include-coordinator': 'false',
      'query.max-memory': '1PB',
      'query.max-memory-per-node': '1965MB',
    });
    expect(properties(worker['config.properties'])).toMatchObject({
      coordinator: 'false',
      'shutdown.grace-period': '30s',
    });
    expect(properties(worker['node.properties'])).toEqual({
      'node.data-dir': '/data/trino',
      'node.environment': 'trino',
    });
    expect(properties(worker['log.properties'])).toEqual({ 'io.trino': 'INFO' });
    expect(worker['jvm.config'].split('\n')).toEqual(
      expect.arrayContaining(['-Xmx3276m', '-XX:+UseG1GC', '-XX:+ExitOnOutOfMemoryError']),
    );
  });

  test('renders each catalog into its own properties file', () => {
    expect(properties(worker['catalog.lake.properties'])).toEqual({
      'connector.name': 'hive',
      'fs.native-s3.enabled': 'true',
      'hive.metastore.uri': 'thrift://hive-metastores.data.svc.cluster.local:9083',
      's3.aws-access-key': '${ENV:CATALOG_LAKE_S3_ACCESS_KEY}',
      's3.aws-secret-key': '${ENV:CATALOG_LAKE_S3_SECRET_KEY}',
      's3.endpoint': 'http://minio:9000',
      's3.path-style-access': 'true',
      's3.region': 'us-east-1',
    });
    expect(properties(worker['catalog.ice.properties'])).toMatchObject({
      'connector.name': 'iceberg',
      'iceberg.catalog.type': 'hive_metastore',
    });
    expect(properties(worker['catalog.tpch.properties'])).toEqual({ 'connector.name': 'tpch' });
    expect(properties(worker['catalog.tpcds.properties'])).toEqual({
      'connector.name': 'tpcds',
      'tpcds.splits-per-node': '4',
    });
    expect(properties(worker['catalog.pg.properties'])).toEqual({
      'connector.name': 'postgresql',
      'connection-url': 'jdbc:postgresql://pg:5432/sales',
      'connection-user': '${ENV:CATALOG_PG_USERNAME}',
      'connection-password': '${ENV:CATALOG_PG_PASSWORD}',
    });
    expect(properties(worker['catalog.mem.properties'])).toEqual({
      'connector.name': 'memory',
      'memory.max-data-per-node': '128MB',
      'memory.token': '${ENV:CATALOG_MEM_MEMORY_TOKEN}',
    });
  });

  test('mounts the catalogs as a directory and takes every secret from a Secret', () => {
    const pod = find(objs, 'StatefulSet', 'trino-workers-default').spec.template.spec;
    const catalogVolume = pod.volumes.find((v: any) => v.name === 'catalog');
    expect(catalogVolume.configMap.items).toContainEqual({
      key: 'catalog.lake.properties',
      path: 'lake.properties',
    });
    const env = Object.fromEntries(
      pod.containers[0].env.map((e: any) => [e.name, e.valueFrom?.secretKeyRef]),
    );
    expect(env).toMatchObject({
      TRINO_INTERNAL_SHARED_SECRET: { name: 'trino-internal-secret', key: 'internalSharedSecret' },
      CATALOG_LAKE_S3_SECRET_KEY: { name: 's3-creds', key: 'secretKey' },
      CATALOG_PG_PASSWORD: { name: 'pg-creds', key: 'password' },
      CATALOG_MEM_MEMORY_TOKEN: { name: 'mem', key: 'token' },
    });
  });

  test('has started once Trino says so, not when /v1/info first answers; asked every 5 s for up to ten minutes', () => {
    for (const name of ['trino-coordinators-default', 'trino-workers-default']) {
      const probe = find(objs, 'StatefulSet', name).spec.template.spec.containers[0].startupProbe;
      expect(probe.httpGet).toBeUndefined();
      expect(probe.exec.command[2]).toBe(
        `curl -sf http://127.0.0.1:8080/v1/info | grep -q '"starting":false'`,
      );
      // A roll waits for each pod's first success after its port opens: looked at every 5 s.
      expect(probe).toMatchObject({ periodSeconds: 5, failureThreshold: 120 });
    }
  });

  test('once started, readiness and liveness are TCP connects the kubelet makes (no exec in the container)', () => {
    for (const name of ['trino-coordinators-default', 'trino-workers-default']) {
      const container = find(objs, 'StatefulSet', name).spec.template.spec.containers[0];
      expect(container.readinessProbe).toEqual({ tcpSocket: { port: 8080 }, periodSeconds: 10 });
      expect(container.livenessProbe).toEqual({ tcpSocket: { port: 8080 }, periodSeconds: 15 });
    }
  });

  test('drains workers before they stop', () => {
    const pod = find(objs, 'StatefulSet', 'trino-workers-default').spec.template.spec;
    expect(pod.terminationGracePeriodSeconds).toBe(300);
    expect(pod.containers[0].lifecycle.preStop.exec.command[2]).toMatch(
      /curl .*-X PUT .*"SHUTTING_DOWN".*\/v1\/info\/state; sleep 300$/,
    );
    const coordinatorPod = find(objs, 'StatefulSet', 'trino-coordinators-default').spec.template.spec;
    expect(coordinatorPod.containers[0].lifecycle).toBeUndefined();
  });

  test("lets the drain user, and only it, shut a worker down (Trino's default access control refuses everyone)", () => {
    const pod = find(objs, 'StatefulSet', 'trino-workers-default').spec.template.spec;
    expect(pod.containers[0].lifecycle.preStop.exec.command[2]).toContain("-H 'X-Trino-User: keelson-drain'");
    expect(properties(worker['config.properties'])['access-control.config-files']).toBe(
      '/keelson/config/access-control.properties',
    );
    expect(properties(worker['access-control.properties'])).toEqual({
      'access-control.name': 'file',
      'security.config-file': '/keelson/config/access-control-rules.json',
    });
    expect(JSON.parse(worker['access-control-rules.json'])).toEqual({
      system_information: [{ user: 'keelson-drain', allow: ['read', 'write'] }, { allow: ['read'] }],
    });
    // The coordinator authorizes queries; it keeps Trino's default access control.
    expect(coordinator['access-control.properties']).toBeUndefined();
    expect(properties(coordinator['config.properties'])['access-control.config-files']).toBeUndefined();
  });

  test('admits Trino to the Hive metastore', () => {
    const ingress = find(objs, 'NetworkPolicy', 'hive').spec.ingress;
    expect(ingress).toContainEqual(
      expect.objectContaining({
        from: [
          {
            podSelector: {
              matchLabels: { 'app.kubernetes.io/name': 'trino', 'app.kubernetes.io/instance': 'trino' },
            },
          },
        ],
      }),
    );
  });

  test("lets clients reach the coordinator's 8080, and only the coordinator (with the stacklet's pods) the workers'", () => {
    const own = { 'app.kubernetes.io/name': 'trino', 'app.kubernetes.io/instance': 'trino' };
    const stacklet = find(objs, 'NetworkPolicy', 'trino').spec;
    // The stacklet's policy, which admits the namespace and declared clients, selects the coordinator only.
    expect(stacklet.podSelector).toEqual({
      matchLabels: own,
      matchExpressions: [{ key: 'app.kubernetes.io/component', operator: 'In', values: ['coordinators'] }],
    });
    expect(stacklet.ingress).toContainEqual({
      from: [{ podSelector: {} }],
      ports: [{ port: 8080, protocol: 'TCP' }],
    });
    // The workers' policy admits the stacklet's own pods (the coordinator among them), and metrics
    // scrapers on the metrics port only.
    const workers = find(objs, 'NetworkPolicy', 'trino-workers').spec;
    expect(workers.podSelector).toEqual({
      matchLabels: { ...own, 'app.kubernetes.io/component': 'workers' },
    });
    expect(workers.ingress).toEqual([
      { from: [{ podSelector: { matchLabels: own } }] },
      { from: [{ namespaceSelector: {} }], ports: [{ port: 9404, protocol: 'TCP' }] },
    ]);
    expect(
      objs
        .filter(
          (o) => o.kind === 'NetworkPolicy' && o.metadata.labels?.['app.kubernetes.io/name'] === 'trino',
        )
        .map((o) => o.metadata.name),
    ).toEqual(['trino', 'trino-workers']);
  });

  test('catalogs produce no objects of their own', () => {
    expect(objs.filter((o) => ['lake', 'ice', 'tpch', 'pg', 'mem'].includes(o.metadata.name))).toEqual([]);
  });
});

describe('query memory', () => {
  const cfg = (objs: Obj[], name: string) =>
    properties(find(objs, 'ConfigMap', name).data['config.properties']);
  const hashOf = (objs: Obj[], name: string) =>
    find(objs, 'StatefulSet', name).spec.template.metadata.annotations['keelson.dev/config-hash'];
  const spec = (replicas: number): TrinoClusterProps => ({
    coordinators: { config: { resources: { memory: { limit: '2Gi' } } } },
    workers: {
      roleGroups: {
        small: { replicas, config: { resources: { memory: { limit: '2Gi' } } } },
        large: { replicas: 1, config: { resources: { memory: { limit: '8Gi' } } } },
      },
    },
  });

  test("each node's per-node limit comes from its own heap; every node has the same cluster-wide limit", () => {
    const { objs } = synth(spec(2));
    const [coordinator, small, large] = ['coordinators-default', 'workers-small', 'workers-large'].map((g) =>
      cfg(objs, `trino-${g}`),
    );
    // 2Gi × 0.8 = 1638 MiB heap → 982 MB; 8Gi × 0.8 = 6553 MiB heap → 3931 MB.
    expect(small['query.max-memory-per-node']).toBe('982MB');
    expect(large['query.max-memory-per-node']).toBe('3931MB');
    for (const c of [coordinator, small, large]) expect(c['query.max-memory']).toBe('1PB');
  });

  test('scaling the workers changes no config, so it restarts neither the coordinator nor the other workers', () => {
    const [two, three] = [synth(spec(2)).objs, synth(spec(3)).objs];
    for (const name of ['trino-coordinators-default', 'trino-workers-small', 'trino-workers-large']) {
      expect(hashOf(three, name)).toBe(hashOf(two, name));
    }
    expect(find(three, 'StatefulSet', 'trino-workers-small').spec.replicas).toBe(3);
  });

  test("a coordinators' override caps queries cluster-wide", () => {
    const { objs } = synth({
      coordinators: { configOverrides: { 'config.properties': { 'query.max-memory': '8GB' } } },
    });
    expect(cfg(objs, 'trino-coordinators-default')['query.max-memory']).toBe('8GB');
  });
});

describe('catalog selection', () => {
  const hash = (objs: Obj[]) =>
    find(objs, 'StatefulSet', 'trino-workers-default').spec.template.metadata.annotations[
      'keelson.dev/config-hash'
    ];
  const catalogs = {
    a: { connector: { tpch: {} }, labels: { env: 'prod' } },
    b: { connector: { tpcds: {} }, labels: { env: 'test' } },
  };

  test('a cluster without catalogs mounts an empty catalog folder, not its whole ConfigMap (found on the real node)', () => {
    const { objs } = synth({}, {});
    for (const name of ['trino-coordinators-default', 'trino-workers-default']) {
      const volumes = find(objs, 'StatefulSet', name).spec.template.spec.volumes;
      expect(volumes.find((v: { name: string }) => v.name === 'catalog')).toEqual({
        name: 'catalog',
        emptyDir: {},
      });
    }
  });

  test('takes the catalogs whose labels match catalogLabelSelector', () => {
    const { objs } = synth(
      { clusterConfig: { catalogLabelSelector: { matchExpressions: [{ key: 'env', operator: 'Exists' }] } } },
      catalogs,
    );
    const data = find(objs, 'ConfigMap', 'trino-workers-default').data;
    expect(Object.keys(data).filter((k) => k.startsWith('catalog.'))).toEqual([
      'catalog.a.properties',
      'catalog.b.properties',
    ]);
  });

  test('rejects a catalog passed in catalogs that the selector does not match, naming it, its labels and the selector', () => {
    expect(() =>
      synth({ clusterConfig: { catalogLabelSelector: { matchLabels: { env: 'prod' } } } }, catalogs),
    ).toThrow(
      'catalogs: the TrinoCatalog "b" (labels {"env":"test"}) does not match ' +
        'spec.clusterConfig.catalogLabelSelector {"matchLabels":{"env":"prod"}}, so the cluster would not serve it',
    );
  });

  test("reports an unselected catalog together with the spec's own problems", () => {
    expect(() =>
      synth(
        {
          clusterConfig: { catalogLabelSelector: { matchLabels: { env: 'prod' } } },
          workers: { replicas: -1 } as never,
        },
        catalogs,
      ),
    ).toThrow(/TrinoCatalog "b".*\n.*spec.workers|spec.workers.*\n.*TrinoCatalog "b"/s);
  });

  test('a catalog change or removal changes the config hash, rolling the pods', () => {
    const base = hash(synth({}, catalogs).objs);
    expect(hash(synth({}, { ...catalogs, b: { ...catalogs.b, configOverrides: { x: 'y' } } }).objs)).not.toBe(
      base,
    );
    expect(hash(synth({}, { a: catalogs.a }).objs)).not.toBe(base);
    expect(hash(synth({}, catalogs).objs)).toBe(base);
  });
});

describe('bad Trino specs', () => {
  test('rejects a catalog pointing at a missing Hive', () => {
    const chart = new Chart(Testing.app(), 'p', { namespace: 'data' });
    expect(
      problemsOf(
        new TrinoCatalog(chart, 'lake', { connector: { hive: { metastore: { configMapName: 'no-hive' } } } }),
      ),
    ).toMatch(/spec.connector.hive.metastore.configMapName: the discovery ConfigMap "no-hive" is not known/);
  });

  test('rejects a catalog whose metastore is not a Hive', () => {
    const chart = new Chart(Testing.app(), 'p', { namespace: 'data' });
    const other = new TrinoCluster(chart, 'other');
    expect(
      problemsOf(new TrinoCatalog(chart, 'lake', { connector: { hive: {} }, metastore: other })),
    ).toMatch(/the ConfigMap "other" has no HIVE; name the discovery ConfigMap of a HiveCluster/);
  });

  test('rejects a catalog with no or two connectors, and S3 without credentials', () => {
    expect(specProblems(TRINO_CATALOG.specSchema, { connector: {} }).join('\n')).toMatch(
      /exactly one connector/,
    );
    expect(specProblems(TRINO_CATALOG.specSchema, { connector: { tpch: {}, tpcds: {} } }).join('\n')).toMatch(
      /exactly one connector/,
    );
    expect(
      specProblems(TRINO_CATALOG.specSchema, {
        connector: { hive: { metastore: { configMapName: 'hive' }, s3: { inline: { host: 'minio' } } } },
      }).join('\n'),
    ).toMatch(/spec.connector.hive.s3.inline.credentials/);
  });

  test('rejects configOverrides of a file Trino does not have (catalog files belong to their TrinoCatalog)', () => {
    expect(() => synth({ workers: { configOverrides: { 'lake.properties': { a: 'b' } } as never } })).toThrow(
      /spec.workers.configOverrides.*lake.properties.*config.properties, node.properties, log.properties/s,
    );
  });

  test('rejects two coordinators', () => {
    expect(() => synth({ coordinators: { roleGroups: { default: { replicas: 2 } } } })).toThrow(
      /exactly one coordinator, not 2/,
    );
  });

  test('the CRDs carry the connector rule for the API server', () => {
    expect(JSON.stringify(productCrd(TRINO_CATALOG))).toContain('exactly one connector');
    expect(productCrd(TRINO)).toBeDefined();
  });

  test('a catalog is a Stacklet other constructs can refer to', () => {
    const chart = new Chart(Testing.app(), 'p', { namespace: 'data' });
    expect(Stacklet.isStacklet(new TrinoCatalog(chart, 't', { connector: { tpch: {} } }))).toBe(true);
  });
});

describe('TLS', () => {
  const build = (tls: TrinoClusterProps['clusterConfig'] = {}, classes = [{ name: 'tls' }]) => {
    const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
    new TrinoCluster(chart, 'trino', { clusterConfig: tls }, { tlsClasses: classes });
    const objs = Testing.synth(chart) as Obj[];
    const cfg = (name: string) => properties(find(objs, 'ConfigMap', name).data['config.properties']);
    const container = (name: string) => find(objs, 'StatefulSet', name).spec.template.spec.containers[0];
    return { objs, cfg, container };
  };
  const groups = ['trino-coordinators-default', 'trino-workers-default'];

  test('with a TlsClass, every node serves HTTPS only on 8080 from the PEM bundle, and the nodes talk HTTPS verifying each other', () => {
    const { cfg } = build();
    for (const name of groups) {
      expect(cfg(name)).toMatchObject({
        'http-server.http.enabled': 'false',
        'http-server.https.enabled': 'true',
        'http-server.https.port': '8080',
        'http-server.https.keystore.path': '/keelson/tls/server/tls.pem',
        'internal-communication.https.required': 'true',
        'internal-communication.https.truststore.path': '/keelson/tls/server/ca.crt',
        'internal-communication.shared-secret': '${ENV:TRINO_INTERNAL_SHARED_SECRET}',
        'node.internal-address': '${ENV:TRINO_NODE_ADDRESS}',
        'discovery.uri': 'https://trino-coordinators.data.svc.cluster.local:8080',
      });
      expect(cfg(name)['http-server.http.port']).toBeUndefined();
    }
  });

  test('each node announces its stable DNS name, which its certificate carries', () => {
    const { container } = build();
    expect(container('trino-workers-default').env).toContainEqual({
      name: 'TRINO_NODE_ADDRESS',
      value: '$(POD_NAME).trino-workers-default-headless.data.svc.cluster.local',
    });
  });

  test('the startup probe and the drain speak HTTPS to the pod itself, checking its certificate and name', () => {
    const { container } = build();
    const https =
      '--cacert /keelson/tls/server/ca.crt --resolve "${TRINO_NODE_ADDRESS}:8080:127.0.0.1" "https://${TRINO_NODE_ADDRESS}:8080';
    for (const name of groups) {
      expect(container(name).startupProbe.exec.command[2]).toBe(
        `curl -sf ${https}/v1/info" | grep -q '"starting":false'`,
      );
    }
    expect(container('trino-workers-default').lifecycle.preStop.exec.command[2]).toContain(
      `${https}/v1/info/state"; sleep 300`,
    );
  });

  test('the discovery ConfigMap gives the https URL and the class clients trust', () => {
    const { objs } = build();
    expect(find(objs, 'ConfigMap', 'trino').data).toEqual({
      TRINO: 'https://trino-coordinators.data.svc.cluster.local:8080',
      TRINO_TLS_CLASS: 'tls',
    });
  });

  test('the server class names the certificate; internal TLS alone still makes the one port HTTPS, with the internal certificate', () => {
    const both = build({ tls: { serverTlsClass: 'public', internalTlsClass: 'tls' } }, [
      { name: 'tls' },
      { name: 'public' },
    ]);
    expect(find(both.objs, 'ConfigMap', 'trino').data.TRINO_TLS_CLASS).toBe('public');
    const volumes = find(both.objs, 'StatefulSet', 'trino-coordinators-default').spec.template.spec.volumes;
    expect(volumes.map((v: { name: string }) => v.name)).toEqual(
      expect.arrayContaining(['tls-server', 'tls-internal']),
    );
    const internal = build({ tls: { internalTlsClass: 'peers' } }, [{ name: 'peers' }]);
    expect(find(internal.objs, 'ConfigMap', 'trino').data).toEqual({
      TRINO: 'https://trino-coordinators.data.svc.cluster.local:8080',
      TRINO_TLS_CLASS: 'peers',
    });
    for (const name of groups) {
      expect(internal.cfg(name)).toMatchObject({
        'http-server.http.enabled': 'false',
        'http-server.https.keystore.path': '/keelson/tls/internal/tls.pem',
        'internal-communication.https.truststore.path': '/keelson/tls/internal/ca.crt',
      });
    }
  });

  test('without a TlsClass, or with TLS disabled, Trino speaks plain HTTP as before', () => {
    for (const { objs, cfg, container } of [build({}, []), build({ tls: { enabled: false } })]) {
      expect(find(objs, 'ConfigMap', 'trino').data).toEqual({
        TRINO: 'http://trino-coordinators.data.svc.cluster.local:8080',
      });
      for (const name of groups) {
        expect(cfg(name)['http-server.http.port']).toBe('8080');
        expect(cfg(name)['http-server.https.enabled']).toBeUndefined();
        expect(cfg(name)['internal-communication.https.required']).toBeUndefined();
        expect(cfg(name)['node.internal-address']).toBeUndefined();
        expect(container(name).startupProbe.exec.command[2]).toBe(
          `curl -sf http://127.0.0.1:8080/v1/info | grep -q '"starting":false'`,
        );
      }
    }
  });
});

describe('catalogs on a Hive metastore with TLS', () => {
  const build = (trinoClasses: { name: string }[] = []) => {
    const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
    const hive = new HiveCluster(
      chart,
      'hive',
      { clusterConfig: { database: { type: 'derby' }, tls: { serverTlsClass: 'lake' } } },
      { tlsClasses: [{ name: 'lake' }] },
    );
    const labels = { trino: 'trino' };
    const catalogs = [
      new TrinoCatalog(chart, 'lake', { connector: { hive: {} }, metastore: hive, labels }),
      new TrinoCatalog(chart, 'ice', { connector: { iceberg: {} }, metastore: hive, labels }),
      new TrinoCatalog(chart, 'tpch', { connector: { tpch: {} }, labels }),
    ];
    new TrinoCluster(
      chart,
      'trino',
      { clusterConfig: { catalogLabelSelector: { matchLabels: labels } }, catalogs },
      { tlsClasses: trinoClasses },
    );
    const objs = Testing.synth(chart) as Obj[];
    const catalog = (name: string) =>
      properties(find(objs, 'ConfigMap', 'trino-coordinators-default').data[`catalog.${name}.properties`]);
    const pod = (name: string) => find(objs, 'StatefulSet', name).spec.template.spec;
    return { objs, catalog, pod };
  };

  test('hive and iceberg catalogs speak Thrift over TLS, trusting the CAs of the metastore’s class', () => {
    const { catalog } = build();
    for (const name of ['lake', 'ice']) {
      expect(catalog(name)).toMatchObject({
        'hive.metastore.uri': 'thrift://hive-metastores.data.svc.cluster.local:9083',
        'hive.metastore.thrift.client.ssl.enabled': 'true',
        'hive.metastore.thrift.client.ssl.trust-certificate': '/keelson/tls/trust/lake/ca.crt',
      });
    }
    expect(catalog('tpch')['hive.metastore.thrift.client.ssl.enabled']).toBeUndefined();
  });

  test('every pod mounts that class’s trust bundle once, as a client, though Trino itself speaks plain HTTP', () => {
    const { objs, pod } = build();
    expect(find(objs, 'ConfigMap', 'trino').data.TRINO).toMatch(/^http:/);
    for (const name of ['trino-coordinators-default', 'trino-workers-default']) {
      const spec = pod(name);
      const trust = spec.volumes.filter((v: { name: string }) => v.name.startsWith('tls'));
      expect(trust).toEqual([
        {
          name: 'tls-trust-lake',
          projected: {
            sources: [
              {
                clusterTrustBundle: {
                  signerName: 'keelson.dev/lake',
                  labelSelector: { matchLabels: { 'keelson.dev/tls-class': 'lake' } },
                  path: 'ca.crt',
                },
              },
            ],
          },
        },
      ]);
      expect(spec.containers[0].volumeMounts).toContainEqual({
        name: 'tls-trust-lake',
        mountPath: '/keelson/tls/trust/lake',
        readOnly: true,
      });
    }
  });

  test('with TLS of its own in another class, a pod mounts both: its certificate and the metastore’s CAs', () => {
    const { pod } = build([{ name: 'tls' }]);
    const names = pod('trino-workers-default').volumes.map((v: { name: string }) => v.name);
    expect(names).toEqual(expect.arrayContaining(['tls-server', 'tls-internal', 'tls-trust-lake']));
  });

  test('a metastore in plaintext gets a plaintext catalog and no trust bundle', () => {
    const { objs } = synth({}, { lake: { connector: { hive: {} } } });
    const cm = find(objs, 'ConfigMap', 'trino-coordinators-default');
    expect(
      properties(cm.data['catalog.lake.properties'])['hive.metastore.thrift.client.ssl.enabled'],
    ).toBeUndefined();
    const spec = find(objs, 'StatefulSet', 'trino-workers-default').spec.template.spec;
    expect(spec.volumes.map((v: { name: string }) => v.name)).not.toContain('tls-trust-lake');
  });
});

describe('catalogs on a Hive metastore that takes Kerberos clients', () => {
  const REALM = kerberosClassInfo();
  const OTHER = kerberosClassInfo('other', 'OTHER.ORG');
  const hiveOf = (chart: Chart, name: string, realm: typeof REALM) =>
    new HiveCluster(
      chart,
      name,
      {
        clusterConfig: { database: { type: 'derby' }, authentication: [{ authenticationClass: realm.name }] },
      },
      { authenticationClasses: [realm] },
    );
  const build = (trinoClasses: (typeof REALM)[] = [REALM], secondRealm?: typeof REALM) => {
    const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
    const hive = hiveOf(chart, 'hive', REALM);
    const labels = { trino: 'trino' };
    const catalogs = [
      new TrinoCatalog(chart, 'lake', { connector: { hive: {} }, metastore: hive, labels }),
      new TrinoCatalog(chart, 'ice', { connector: { iceberg: {} }, metastore: hive, labels }),
      new TrinoCatalog(chart, 'tpch', { connector: { tpch: {} }, labels }),
      ...(secondRealm
        ? [
            new TrinoCatalog(chart, 'far', {
              connector: { hive: {} },
              metastore: hiveOf(chart, 'far-hive', secondRealm),
              labels,
            }),
          ]
        : []),
    ];
    new TrinoCluster(
      chart,
      'trino',
      { clusterConfig: { catalogLabelSelector: { matchLabels: labels } }, catalogs },
      { authenticationClasses: trinoClasses },
    );
    return chart;
  };
  const synthOf = (chart: Chart) => {
    const objs = Testing.synth(chart) as Obj[];
    const catalog = (name: string) =>
      properties(find(objs, 'ConfigMap', 'trino-workers-default').data[`catalog.${name}.properties`]);
    const pod = (name: string) => find(objs, 'StatefulSet', name).spec.template.spec;
    return { objs, catalog, pod };
  };

  test('hive and iceberg catalogs log in to the metastore as the pod’s own principal, from its keytab', () => {
    const { catalog } = synthOf(build());
    for (const name of ['lake', 'ice']) {
      expect(catalog(name)).toMatchObject({
        'hive.metastore.authentication.type': 'KERBEROS',
        'hive.metastore.service.principal': 'hive/hive-metastores.data.svc.cluster.local@DATA.EXAMPLE.ORG',
        'hive.metastore.client.principal': '${ENV:KEELSON_KERBEROS_PRINCIPAL}',
        'hive.metastore.client.keytab': '/keelson/kerberos/keytab',
      });
    }
    expect(catalog('tpch')['hive.metastore.authentication.type']).toBeUndefined();
  });

  test('every pod writes the keytab of trino/<its DNS name> with the metastore’s class, and names that principal', () => {
    const { objs, pod } = synthOf(build());
    for (const role of ['coordinators', 'workers']) {
      const name = `trino-${role}-default`;
      const spec = pod(name);
      const init = spec.initContainers.find((c: { name: string }) => c.name === 'kerberos-keytab');
      expect(init.command[2]).toContain(
        `principal="trino/\${POD_NAME}.${name}-headless.\${POD_NAMESPACE}.svc.cluster.local@DATA.EXAMPLE.ORG"`,
      );
      // Each pod its own principal and keys: no shared principal, so no export of unchanged keys.
      expect(init.command[2]).not.toContain('-norandkey');
      const trino = spec.containers[0];
      expect(trino.env).toEqual(
        expect.arrayContaining([
          { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
          {
            name: 'KEELSON_KERBEROS_PRINCIPAL',
            value: `trino/$(POD_NAME).${name}-headless.$(POD_NAMESPACE).svc.cluster.local@DATA.EXAMPLE.ORG`,
          },
        ]),
      );
      // Kubernetes expands $(VAR) only of variables listed before; no name twice.
      const names = trino.env.map((e: { name: string }) => e.name);
      expect(new Set(names).size).toBe(names.length);
      expect(names.indexOf('POD_NAME')).toBeLessThan(names.indexOf('KEELSON_KERBEROS_PRINCIPAL'));
      expect(names.indexOf('POD_NAMESPACE')).toBeLessThan(names.indexOf('KEELSON_KERBEROS_PRINCIPAL'));
      expect(trino.volumeMounts).toContainEqual({
        name: 'kerberos-keytab',
        mountPath: '/keelson/kerberos',
        readOnly: true,
      });
      // Only the init container mounts the admin Secret.
      expect(JSON.stringify(trino.volumeMounts)).not.toContain('kerberos-admin');
      const cm = find(objs, 'ConfigMap', name).data;
      expect(cm['jvm.config']).toContain('-Djava.security.krb5.conf=/keelson/config/krb5.conf');
      expect(cm['krb5.conf']).toContain('kdc = kdc.security.svc.cluster.local:88');
      expect(spec.volumes).toContainEqual({
        name: 'kerberos-keytab',
        emptyDir: { medium: 'Memory', sizeLimit: '1Mi' },
      });
    }
  });

  test('a catalog of a metastore without Kerberos changes nothing', () => {
    const { objs } = synth({}, { lake: { connector: { hive: {} } } });
    expect(JSON.stringify(objs)).not.toMatch(/kerberos|krb5/i);
  });

  test('refuses a metastore class that does not exist, and catalogs of two classes, naming the field', () => {
    expect(() => Testing.synth(build([]))).toThrow(
      /TrinoCatalog ice spec.connector.iceberg.metastore.configMapName: the metastore takes Kerberos clients of the AuthenticationClass "realm", which does not exist; create it/,
    );
    expect(() => Testing.synth(build([REALM, OTHER], OTHER))).toThrow(
      /the catalogs' metastores take Kerberos clients of 2 AuthenticationClasses, other \(catalogs far\) and realm \(catalogs ice, lake\); Trino's pods hold one keytab, of one class/,
    );
  });
});
