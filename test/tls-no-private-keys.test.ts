/**
 * No private key, and no certificate, in anything keelson synthesizes with TLS on: the bundled
 * example platform (ZooKeeper, Kafka in both modes, Hive, Trino and its catalogs) under a `tls`
 * class of each provider, and the operator's own manifests (`keelson deploy`, with the Role on a
 * user's CA Secret). Keys live in Secrets (a CA's), on the node (a pod certificate's) or in
 * cert-manager's Secrets; synth output only names them. The operator's side (its log, Events,
 * statuses) is scanned on the real node: pod-certificates-real-node (keelsonCa), secret-ca-real-node
 * (secretCa), cert-manager-real-node (certManager).
 */
import { App, Chart } from 'cdk8s';
import { lakehousePlatform } from '../apps/lakehouse';
import { PRODUCTS } from '../apps/keelson';
import { streamingPlatform } from '../apps/streaming';
import { TlsClass, tlsVolumeName, type TlsClassSpec } from '../lib';
import { OperatorDeployment } from '../lib/operator/deployment';
import type { Obj } from './support/synth';

/** Text that would give a key or a certificate away, as PEM or base64 of PEM (a Secret's `data`). */
const PEM_TEXTS = [
  /PRIVATE KEY/,
  /-----BEGIN/,
  new RegExp(Buffer.from('-----BEGIN').toString('base64').slice(0, 12)), // LS0tLS1CRUdJ
];

function pemIn(objects: readonly Obj[]): string[] {
  return objects.flatMap((o) => {
    const text = JSON.stringify(o);
    return PEM_TEXTS.filter((p) => p.test(text)).map((p) => `${o.kind}/${o.metadata.name}: ${p}`);
  });
}

/** Every object of the example platform, with a TlsClass `tls` of `spec` defined first. */
function platformWithTls(spec: TlsClassSpec): Obj[] {
  const app = new App();
  new TlsClass(new Chart(app, 'tls'), 'tls', spec);
  streamingPlatform(app);
  lakehousePlatform(app);
  return app.charts.flatMap((c) => c.toJson() as Obj[]);
}

/** The StatefulSets whose pods mount TLS files of `use`. */
function mounting(objects: readonly Obj[], use: 'server' | 'internal'): string[] {
  return objects
    .filter((o) => o.kind === 'StatefulSet')
    .filter((o) =>
      (o.spec.template.spec.volumes ?? []).some((v: { name: string }) => v.name === tlsVolumeName(use)),
    )
    .map((o) => o.metadata.name)
    .sort();
}

const PROVIDERS: [string, TlsClassSpec][] = [
  ['keelsonCa', { keelsonCa: {} }],
  ['secretCa', { secretCa: { secretName: 'corp-ca', secretNamespace: 'security' } }],
  ['certManager', { certManager: { issuerRef: { name: 'corp-ca', kind: 'ClusterIssuer' } } }],
];

describe('no private key or certificate in synth output', () => {
  test.each(PROVIDERS)(
    'the example platform with a %s class: every product speaks TLS, no PEM',
    (_, spec) => {
      const objects = platformWithTls(spec);
      // The scan looks at TLS output: every product's pods mount their certificates.
      expect(mounting(objects, 'server')).toEqual([
        'hive-metastores-default',
        'kafka-brokers-default',
        'kafka-legacy-brokers-default',
        'trino-coordinators-default',
        'trino-workers-default',
        'zookeeper-servers-default',
      ]);
      expect(mounting(objects, 'internal')).toEqual([
        'kafka-brokers-default',
        'kafka-controllers-default',
        'kafka-legacy-brokers-default',
        'trino-coordinators-default',
        'trino-workers-default',
        'zookeeper-servers-default',
      ]);
      if (spec.certManager) expect(objects.filter((o) => o.kind === 'Certificate').length).toBeGreaterThan(0);
      // keelson writes no Secret at all: the certificates' Secrets are cert-manager's or the node's.
      expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
      expect(pemIn(objects)).toEqual([]);
    },
  );

  test("the operator's manifests (keelson deploy): CRDs, RBAC on a user's CA Secret, Deployment", () => {
    const app = new App();
    new OperatorDeployment(new Chart(app, 'operator'), 'keelson', {
      products: PRODUCTS,
      namespace: 'keelson-system',
      caSecrets: [{ namespace: 'security', name: 'corp-ca' }],
    });
    const objects = app.charts.flatMap((c) => c.toJson() as Obj[]);
    expect(
      objects.some((o) => o.kind === 'CustomResourceDefinition' && o.metadata.name.startsWith('tlsclasses.')),
    ).toBe(true);
    expect(objects.filter((o) => o.kind === 'Role').map((o) => o.metadata.name)).toContain(
      'keelson-operator-ca-secrets',
    );
    expect(pemIn(objects)).toEqual([]);
  });

  test('the scan finds a key where one is (a Secret holding a PEM key, as data or stringData)', () => {
    const key =
      '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n';
    const secret = (body: object): Obj => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'leak' },
      ...body,
    });
    expect(pemIn([secret({ stringData: { 'tls.key': key } })])).toHaveLength(2);
    expect(pemIn([secret({ data: { 'tls.key': Buffer.from(key).toString('base64') } })])).toEqual([
      'Secret/leak: /LS0tLS1CRUdJ/',
    ]);
  });
});
