import { Type } from '@sinclair/typebox';
import { Chart, Testing } from 'cdk8s';
import {
  CLOSED,
  defineRole,
  matchesLabelSelector,
  resolveReferences,
  Stacklet,
  type ObjectReference,
  type ProductDefinition,
  type ReferencedObject,
} from '../lib';

const obj = (kind: string, name: string, labels: Record<string, string> = {}, spec: unknown = {}) =>
  ({ kind, name, labels, spec }) as ReferencedObject;

describe('label selectors', () => {
  test('match labels and expressions as Kubernetes does; an empty selector matches everything', () => {
    const labels = { tier: 'gold', team: 'data' };
    expect(matchesLabelSelector({}, labels)).toBe(true);
    expect(matchesLabelSelector({ matchLabels: { tier: 'gold' } }, labels)).toBe(true);
    expect(matchesLabelSelector({ matchLabels: { tier: 'silver' } }, labels)).toBe(false);
    const expr = (operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist', values?: string[]) =>
      matchesLabelSelector({ matchExpressions: [{ key: 'tier', operator, values }] }, labels);
    expect([expr('In', ['gold']), expr('In', ['x']), expr('NotIn', ['gold']), expr('NotIn', ['x'])]).toEqual([
      true,
      false,
      false,
      true,
    ]);
    expect([expr('Exists'), expr('DoesNotExist')]).toEqual([true, false]);
  });

  test("select nothing with an operator keelson does not know (a workload's selector read from the cluster)", () => {
    const labels = { replicas: '3' };
    expect(
      matchesLabelSelector(
        { matchExpressions: [{ key: 'replicas', operator: 'Gt', values: ['0'] }] },
        labels,
      ),
    ).toBe(false);
  });
});

describe('resolveReferences', () => {
  const objects = [
    obj('Catalog', 'b', { use: 'yes' }, { store: 'minio' }),
    obj('Catalog', 'a', { use: 'yes' }),
    obj('Catalog', 'c', { use: 'no' }),
    obj('Store', 'minio'),
  ];
  const lookup = (kind: string) => objects.filter((o) => o.kind === kind);

  test('selects by label sorted by name, and follows references of referenced objects', () => {
    const hook = (_spec: never, resolved: Record<string, readonly ReferencedObject[]>) => {
      const wanted: Record<string, { kind: string; name: string } | { kind: string; labelSelector: object }> =
        {
          'spec.catalogs': { kind: 'Catalog', labelSelector: { matchLabels: { use: 'yes' } } },
        };
      for (const c of resolved['spec.catalogs'] ?? []) {
        const store = (c.spec as { store?: string }).store;
        if (store) wanted[`catalog ${c.name}: store`] = { kind: 'Store', name: store };
      }
      return wanted;
    };
    const { references, missing } = resolveReferences(hook, {}, lookup);
    expect(missing).toEqual([]);
    expect(references['spec.catalogs'].map((o) => o.name)).toEqual(['a', 'b']);
    expect(references['catalog b: store'].map((o) => o.name)).toEqual(['minio']);
  });

  test('reports a named object that does not exist', () => {
    const { missing } = resolveReferences(
      () => ({ 'spec.store': { kind: 'Store', name: 'gone' } }),
      {},
      lookup,
    );
    expect(missing).toEqual(['spec.store: the Store "gone" does not exist in this namespace']);
  });
});

describe('a product with references and extra files', () => {
  const schema = Type.Object({ store: Type.Optional(Type.String()) }, CLOSED);
  const STORE: ProductDefinition = {
    name: 'store',
    kind: 'Store',
    plural: 'stores',
    description: 'only referred to',
    specSchema: Type.Object({ bucket: Type.String() }, CLOSED),
    roles: [],
  };
  const USER: ProductDefinition = {
    name: 'user',
    kind: 'User',
    plural: 'users',
    description: 'refers to a store',
    specSchema: schema,
    images: { repository: 'example/user', versions: { '1': '1' }, defaultVersion: '1' },
    roles: [
      defineRole({
        name: 'servers',
        config: {},
        defaults: () => ({
          resources: { cpu: { min: '100m', max: '1' }, memory: { limit: '1Gi' }, storage: {} },
          logging: {},
          gracefulShutdownTimeout: '30s',
        }),
        ports: [],
        configFiles: {},
        configMountPath: '/config',
        pod: (stacklet) => ({
          container: {},
          configFiles: {},
          extraFiles: Object.fromEntries(
            (stacklet.references['spec.store'] ?? []).map((s) => [
              `${s.name}.txt`,
              (s.spec as { bucket: string }).bucket,
            ]),
          ),
        }),
      }),
    ],
    references: (spec): Record<string, ObjectReference> => {
      const store = (spec as { store?: string }).store;
      return store ? { 'spec.store': { kind: 'Store', name: store } } : {};
    },
  };

  test('a product without roles and discovery emits nothing; its reference carries its spec and labels', () => {
    const chart = new Chart(Testing.app(), 'p', { namespace: 'data' });
    const store = new Stacklet(chart, 'minio', STORE, { bucket: 'lake' } as never, { labels: { a: 'b' } });
    expect(Testing.synth(chart)).toEqual([]);
    expect(store.reference).toEqual({
      kind: 'Store',
      name: 'minio',
      labels: { a: 'b' },
      spec: { bucket: 'lake' },
    });
  });

  test('extra files land in the role group ConfigMap and count in the config hash', () => {
    const build = (bucket: string) => {
      const chart = new Chart(Testing.app(), 'p', { namespace: 'data' });
      const store = new Stacklet(chart, 'minio', STORE, { bucket } as never);
      new Stacklet(chart, 'u', USER, { store: 'minio' } as never, { objects: store.knownObjects });
      const objs = Testing.synth(chart) as {
        kind: string;
        metadata: { name: string };
        data?: any;
        spec?: any;
      }[];
      const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'u-servers-default')!;
      const sts = objs.find((o) => o.kind === 'StatefulSet')!;
      return { data: cm.data, hash: sts.spec.template.metadata.annotations['keelson.dev/config-hash'] };
    };
    const one = build('lake');
    expect(one.data).toEqual({ 'minio.txt': 'lake' });
    expect(build('other').hash).not.toBe(one.hash);
  });

  test('rejects a reference to an object that was not passed', () => {
    const chart = new Chart(Testing.app(), 'p', { namespace: 'data' });
    const user = new Stacklet(chart, 'u', USER, { store: 'nowhere' } as never);
    expect(() => Testing.synth(chart)).toThrow(/Validation failed/);
    expect(user.problems.join('\n')).toMatch(
      /spec.store: the Store "nowhere" does not exist in this namespace; pass it as a reference/,
    );
  });
});
