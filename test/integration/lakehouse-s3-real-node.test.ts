/**
 * The lakehouse on the real node with its data in S3: an S3-compatible store (S3Proxy from Maven
 * Central, test/integration/s3-store.ts) and PostgreSQL in pods of their own, the Hive metastore from
 * keelson's manifests with its warehouse on `s3a://`, and Trino (a coordinator and one worker) with
 * a hive catalog on that metastore and store — every pod under the restricted Pod Security profile
 * with keelson's security context. The metastore speaks Thrift over TLS only (a TlsClass of the
 * test's; the certificate is the test's own, test-pki.ts, delivered in a Secret at the path of
 * keelson's mount contract), and Trino, itself on plain HTTP, reaches it over TLS with no setting
 * of the user's: its catalog trusts the class's CA, which its pods mount from the class's
 * ClusterTrustBundle (published here by the test, as keelson's operator would):
 * - a TLS handshake with the metastore's port succeeds for a client trusting the CA, checking the
 *   Service's name, and fails for one trusting another CA;
 * - Trino's `CREATE SCHEMA` reaches the metastore over TLS, which makes the schema's folder in the
 *   bucket (S3A), and `SHOW SCHEMAS` lists it;
 * - Trino's `CREATE TABLE … AS SELECT … FROM tpch.tiny.nation` writes the table into the bucket
 *   (Trino's native S3 file system) and `SELECT count(*)` reads 25 rows back;
 * - the objects are in the bucket, listed through the S3 API (ListObjectsV2, signed requests), and
 *   the store refuses an unsigned request.
 * A failure prints every pod's log.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { App, Chart } from 'cdk8s';
import { HiveCluster } from '../../constructs/hive';
import { hiveImageRecipe } from '../../constructs/hive/image';
import { TrinoCatalog, TrinoCluster } from '../../constructs/trino';
import { trinoImageRecipe } from '../../constructs/trino/image';
import { S3Connection, tlsSignerName, tlsVolumeName, TLS_CLASS_LABEL } from '../../lib';
import { KubeClient } from '../../lib/operator/client';
import { applyAll, RESTRICTED, type Manifest } from './admission';
import { startPostgres, postgresMetastoreDatabase } from './hive-real-node-support';
import {
  FIRST_TIER_JIT,
  CLIENT_JVM_OPTIONS,
  buildImageOnRealNode,
  podsLogs,
  realNode,
  REAL_NODE_PLACEMENT,
  runClientPod,
  waitPodsReady,
} from './real-node-support';
import {
  listObjectsCommand,
  listStatusCommand,
  s3StoreImageRecipe,
  s3StoreObjects,
  S3_STORE_PORT,
} from './s3-store';
import { adminKubeConfig, useTestNamespace } from './support';
import { podDnsNames, TestPki } from './test-pki';

// A cold machine builds the node and four images first.
jest.setTimeout(45 * 60_000);

const HIVE_VERSION = '4.0.1';
const TRUST_BUNDLES = '/apis/certificates.k8s.io/v1beta1/clustertrustbundles';
const TRINO_VERSION = '476';
const BUCKET = 'lake';
const S3_SECRET = 'lake-s3';
/** The metastore's TlsClass: a name of this test's own, as its ClusterTrustBundle is cluster-wide. */
const TLS_CLASS = 'lake-s3-test-tls';
const METASTORE = 'hive-metastores-default-0';

type Pod = {
  metadata: { name: string; uid?: string };
  spec?: {
    nodeName?: string;
    containers: { name: string; securityContext?: Record<string, unknown> }[];
    initContainers?: { name: string; securityContext?: Record<string, unknown> }[];
  };
  status?: {
    phase?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { name: string; user?: { linux?: { uid?: number } } }[];
  };
};

/** keelson's lakehouse on the store: the S3Connection, the metastore, the catalogs and Trino. */
function lakehouseManifests(namespace: string): Manifest[] {
  const chart = new Chart(new App(), 'lakehouse-s3', { namespace });
  const placement = { podOverrides: { spec: REAL_NODE_PLACEMENT } };
  const s3 = new S3Connection(chart, 's3', {
    host: `s3.${namespace}.svc.cluster.local`,
    port: S3_STORE_PORT,
    tls: { enabled: false },
    credentials: { secretName: S3_SECRET },
  });
  const hive = new HiveCluster(
    chart,
    'hive',
    {
      image: { productVersion: HIVE_VERSION, pullPolicy: 'Never' },
      clusterConfig: {
        database: postgresMetastoreDatabase(`postgres.${namespace}.svc.cluster.local`),
        warehouseDir: `s3a://${BUCKET}/warehouse`,
        tls: { serverTlsClass: TLS_CLASS },
      },
      s3,
      // The test's certificate in place of the pod certificate keelson's operator would sign.
      metastores: {
        podOverrides: {
          spec: {
            ...REAL_NODE_PLACEMENT,
            volumes: [{ name: tlsVolumeName('server'), secret: { secretName: 'hive-tls' } }],
          },
        },
      },
    },
    // The class exists as far as the build is concerned; the metastore's certificate is the test's.
    { tlsClasses: [{ name: TLS_CLASS }] },
  );
  const labels = { trino: 'trino' };
  const lake = new TrinoCatalog(chart, 'lake', { connector: { hive: {} }, metastore: hive, s3, labels });
  const tpch = new TrinoCatalog(chart, 'tpch', { connector: { tpch: {} }, labels });
  const small = { resources: { cpu: { min: '200m', max: '2' }, memory: { limit: '1536Mi' } } };
  const trino = new TrinoCluster(chart, 'trino', {
    image: { productVersion: TRINO_VERSION, pullPolicy: 'IfNotPresent' },
    clusterConfig: { catalogLabelSelector: { matchLabels: labels } },
    catalogs: [lake, tpch],
    coordinators: { config: small, ...placement, ...FIRST_TIER_JIT },
    workers: { config: small, roleGroups: { default: { replicas: 1 } }, ...placement, ...FIRST_TIER_JIT },
  });
  trino.addAllowedClient({ podSelector: { matchLabels: { app: 'lake-client' } } });
  return chart.toJson() as Manifest[];
}

describe('the lakehouse on the real node, with its data in S3', () => {
  const ns = useTestNamespace('lake-s3', RESTRICTED);
  const client = new KubeClient(adminKubeConfig());
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-lake-s3-'));
  const ca = new TestPki('keelson lake test CA');
  const otherCa = new TestPki('keelson lake test other CA');
  const bundle = `${tlsSignerName(TLS_CLASS).replace(/\//g, ':')}:test`;
  afterAll(async () => {
    fs.rmSync(work, { recursive: true, force: true });
    ca.remove();
    otherCa.remove();
    await client
      .request('delete', 'DELETE', `${TRUST_BUNDLES}/${bundle}`, 'clustertrustbundles')
      .catch(() => undefined);
  });

  const api = <T>(method: 'GET' | 'POST', rest: string, body?: unknown) =>
    client.request<T>(method === 'GET' ? 'get' : 'create', method, rest, 'test', body ? { body } : {});
  const pods = () => api<{ items: Pod[] }>('GET', `/api/v1/namespaces/${ns.name}/pods`);
  const create = (resource: string, body: object) =>
    api('POST', `/api/v1/namespaces/${ns.name}/${resource}`, body);

  /** Every pod's phase and log, for a failure's message. */
  async function allLogs(): Promise<string> {
    const items = (await pods().catch(() => ({ items: [] as Pod[] }))).items;
    const phases = items.map((p) => `${p.metadata.name}: ${p.status?.phase}`).join(', ');
    return `pods: ${phases}\n${await podsLogs(
      ns.name,
      items.map((p) => p.metadata.name),
    )}`;
  }

  const waitReady = (names: string[], timeoutMs = 15 * 60_000) =>
    waitPodsReady(ns.name, names, timeoutMs, allLogs);

  /** Runs `command` in a client pod of `image` (restricted, uid 10001); returns its log. */
  const runClient = (name: string, image: string, command: string[], env: k8s.V1EnvVar[] = []) =>
    runClientPod(
      ns.name,
      {
        name,
        image,
        command,
        env,
        labels: { app: 'lake-client' },
        volumes: [{ volume: { name: 'trust', secret: { secretName: 'lake-trust' } }, mountPath: '/trust' }],
      },
      allLogs,
      10 * 60_000,
    );

  it('keeps the metastore’s databases and Trino’s tables in the bucket', async () => {
    const node = await realNode();
    const progress = (m: string) => process.stderr.write(`${m}\n`);
    const store = await buildImageOnRealNode(await s3StoreImageRecipe(), progress);
    for (const recipe of [hiveImageRecipe(HIVE_VERSION), trinoImageRecipe(TRINO_VERSION)]) {
      await buildImageOnRealNode(recipe, progress);
    }

    // The store, with its bucket and keys, and PostgreSQL.
    await create('secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: S3_SECRET },
      stringData: { accessKey: 'keelson-lake', secretKey: 'lake-secret-4d1f9a' },
    });
    await create('secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'trino-internal-secret' },
      stringData: { internalSharedSecret: 'lake-internal-secret' },
    });
    for (const object of s3StoreObjects({
      name: 's3',
      image: store.reference,
      bucket: BUCKET,
      secretName: S3_SECRET,
    })) {
      await create((object as { kind: string }).kind === 'Pod' ? 'pods' : 'services', object);
    }
    await startPostgres(ns.name);
    // The metastore's certificate, the CAs a client may trust, and the class's ClusterTrustBundle.
    await create('secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'hive-tls' },
      stringData: ca.issue(
        'metastore',
        podDnsNames(METASTORE, 'hive-metastores-default-headless', ns.name, ['hive-metastores']),
      ),
    });
    await create('secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'lake-trust' },
      stringData: { 'ca.crt': ca.caPem, 'other-ca.crt': otherCa.caPem },
    });
    await client.request('create', 'POST', TRUST_BUNDLES, 'clustertrustbundles', {
      body: {
        apiVersion: 'certificates.k8s.io/v1beta1',
        kind: 'ClusterTrustBundle',
        metadata: { name: bundle, labels: { [TLS_CLASS_LABEL]: TLS_CLASS } },
        spec: { signerName: tlsSignerName(TLS_CLASS), trustBundle: ca.caPem },
      },
    });
    // Ready once S3Proxy answers, after the bucket was made.
    await waitReady(['s3'], 5 * 60_000);

    // keelson's metastore and Trino.
    expect(await applyAll(client, lakehouseManifests(ns.name), ns.name)).toEqual([]);
    await waitReady([METASTORE, 'trino-coordinators-default-0', 'trino-workers-default-0']);
    for (const p of (await pods()).items) {
      expect(p.spec?.nodeName).toBe(node.nodeName);
      for (const c of [...(p.spec?.containers ?? []), ...(p.spec?.initContainers ?? [])]) {
        expect([p.metadata.name, c.name, c.securityContext]).toMatchObject([
          p.metadata.name,
          c.name,
          { readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } },
        ]);
      }
    }

    const s3Env = [
      { name: 'S3_ACCESS_KEY', valueFrom: { secretKeyRef: { name: S3_SECRET, key: 'accessKey' } } },
      { name: 'S3_SECRET_KEY', valueFrom: { secretKeyRef: { name: S3_SECRET, key: 'secretKey' } } },
    ];
    const endpoint = `http://s3.${ns.name}.svc.cluster.local:${S3_STORE_PORT}`;

    // The metastore's port speaks TLS: a handshake verifying the chain and the Service's name
    // succeeds with the CA and fails with another CA (openssl's verdict is read, not its exit status).
    const host = `hive-metastores.${ns.name}.svc.cluster.local`;
    const handshake = (trust: string) =>
      `echo "${trust}: $(openssl x509 -noout -subject -in /trust/${trust})"; ` +
      // timeout: s_client once waited on after a completed handshake; its verdict is printed by then.
      `timeout 30 openssl s_client -connect ${host}:9083 -CAfile /trust/${trust} -verify_return_error -verify_hostname ${host} </dev/null 2>&1 ` +
      `| grep -E '^(depth|verify|Verification|Verify return code|Protocol)|error' | sed 's|^|${trust}: |'`;
    const tls = await runClient('thrift-tls', hiveImageRecipe(HIVE_VERSION).reference, [
      '/bin/bash',
      '-c',
      `${handshake('ca.crt')}; ${handshake('other-ca.crt')}`,
    ]);
    const tlsLines = tls.split('\n');
    const tlsCheck = async (ok: boolean, what: string) => {
      if (!ok) throw new Error(`${what}\n--- client:\n${tls}\n${await allLogs()}`);
    };
    await tlsCheck(
      // depth=0: the server's certificate arrived (a plaintext server sends none, and openssl then
      // reports nothing to verify as "OK").
      tlsLines.some((l) => l.startsWith('ca.crt: depth=0 CN = metastore')) &&
        tlsLines.includes('ca.crt: Verification: OK') &&
        tlsLines.includes('ca.crt: Verify return code: 0 (ok)'),
      'a client trusting the CA did not complete a verified handshake for the Service name',
    );
    await tlsCheck(
      tlsLines.includes('other-ca.crt: Verification error: unable to get local issuer certificate') &&
        !tlsLines.includes('other-ca.crt: Verification: OK'),
      'a client trusting another CA was not refused',
    );

    // Trino writes a table into the bucket and reads it back; the S3 API lists what it wrote.
    const trinoImage = `docker.io/trinodb/trino:${TRINO_VERSION}`;
    const cli = `trino --server http://trino-coordinators.${ns.name}.svc.cluster.local:8080 --user keelson`;
    const script = [
      'set -eu',
      // The store checks signatures: a request without one, or signed with a wrong key, is refused.
      `echo "unsigned=$(${listStatusCommand(endpoint, BUCKET)})"`,
      `echo "wrong-key=$(${listStatusCommand(endpoint, BUCKET, '$S3_ACCESS_KEY:not-the-secret-key')})"`,
      // The folder the metastore made for the database (S3A writes an empty `sales.db/` marker).
      listObjectsCommand(endpoint, BUCKET, 'warehouse/'),
      // The coordinator is ready before the worker has announced itself: wait for it.
      `until [ "$(${cli} --execute "SELECT count(*) FROM system.runtime.nodes WHERE state = 'active'" 2>/dev/null)" = '"2"' ]; do sleep 2; done`,
      'echo nodes=2',
      // Trino's catalog asks the metastore, over TLS, to create the schema; the metastore makes its folder.
      `${cli} --execute "CREATE SCHEMA lake.sales"`,
      `echo "schemas=$(${cli} --execute "SHOW SCHEMAS FROM lake LIKE 'sales'")"`,
      listObjectsCommand(endpoint, BUCKET, 'warehouse/'),
      'echo ---',
      `${cli} --execute "CREATE TABLE lake.sales.nation AS SELECT * FROM tpch.tiny.nation"`,
      `echo "count=$(${cli} --execute "SELECT count(*) FROM lake.sales.nation")"`,
      `echo "location=$(${cli} --execute "SELECT DISTINCT regexp_replace(\\"\\$path\\", '/[^/]*$', '') FROM lake.sales.nation")"`,
      'echo ---',
      listObjectsCommand(endpoint, BUCKET, 'warehouse/sales.db/nation/'),
    ].join('\n');
    const log = await runClient(
      'ctas',
      trinoImage,
      ['/bin/bash', '-c', script],
      [...s3Env, { name: 'JAVA_TOOL_OPTIONS', value: CLIENT_JVM_OPTIONS }],
    );
    const [before, queries, after] = log
      .split(/^---$/m)
      .map((part) =>
        part.split('\n').filter((l) => l.trim() && !l.startsWith('WARNING') && !l.startsWith('Picked up')),
      );
    expect(before).toEqual(
      expect.arrayContaining(['unsigned=403', 'wrong-key=403', 'nodes=2', 'schemas="sales"']),
    );
    expect(before).toContain('key: warehouse/sales.db/');
    expect(queries).toEqual(
      expect.arrayContaining(['count="25"', `location="s3a://${BUCKET}/warehouse/sales.db/nation"`]),
    );
    // The table's data files, written by Trino's S3 file system.
    expect(after.length).toBeGreaterThan(0);
    for (const line of after) expect(line).toMatch(/^key: warehouse\/sales\.db\/nation\/[^/]+$/);
  });
});
