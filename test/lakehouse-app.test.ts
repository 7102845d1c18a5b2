import { App } from 'cdk8s';
import { lakehousePlatform } from '../apps/lakehouse';
import { PRODUCTS } from '../apps/keelson';
import { find, type Obj } from './support/synth';

describe('the example lakehouse', () => {
  const objs = lakehousePlatform(new App()).toJson() as Obj[];

  test('runs Hive and Trino with hive, iceberg and tpch catalogs', () => {
    expect(objs.filter((o) => o.kind === 'StatefulSet').map((o) => o.metadata.name)).toEqual([
      'hive-metastores-default',
      'trino-coordinators-default',
      'trino-workers-default',
    ]);
    const data = find(objs, 'ConfigMap', 'trino-coordinators-default').data;
    expect(Object.keys(data).filter((k) => k.startsWith('catalog.'))).toEqual([
      'catalog.iceberg.properties',
      'catalog.lake.properties',
      'catalog.tpch.properties',
    ]);
  });

  test('synthesizes no Secret and refers to credentials only through secretKeyRefs', () => {
    expect(objs.filter((o) => o.kind === 'Secret')).toEqual([]);
    const text = JSON.stringify(objs);
    const refs = [...text.matchAll(/"secretKeyRef":\{[^}]*"name":"([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(refs)).toEqual(
      new Set(['hive-db-credentials', 's3-credentials', 'trino-internal-secret']),
    );
    // No env var anywhere carries a literal credential value.
    expect(text).not.toMatch(/"name":"[A-Z_]*(PASSWORD|SECRET_KEY|ACCESS_KEY|SHARED_SECRET)","value"/);
  });

  test('the keelson bin ships the lakehouse kinds', () => {
    expect(PRODUCTS.map((p) => p.kind)).toEqual(
      expect.arrayContaining(['S3Connection', 'HiveCluster', 'TrinoCatalog', 'TrinoCluster']),
    );
  });
});
