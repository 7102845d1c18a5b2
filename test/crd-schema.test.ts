import { Type } from '@sinclair/typebox';
import { defineRule, productCrd, QUANTITY_SYNTAX, tlsClassCrd, toStructuralSchema, withRules } from '../lib';
import { BEACON } from './example-product/beacon';

type Schema = Record<string, any>;

/** Every node of a structural schema has a type, or preserves unknown fields. */
function untypedNodes(schema: Schema, path = ''): string[] {
  const problems: string[] = [];
  if (
    !schema.type &&
    !schema['x-kubernetes-preserve-unknown-fields'] &&
    !schema['x-kubernetes-int-or-string']
  ) {
    problems.push(path || '<root>');
  }
  for (const [k, v] of Object.entries(schema.properties ?? {}))
    problems.push(...untypedNodes(v as Schema, `${path}.${k}`));
  if (typeof schema.additionalProperties === 'object')
    problems.push(...untypedNodes(schema.additionalProperties, `${path}.*`));
  if (schema.items) problems.push(...untypedNodes(schema.items, `${path}[]`));
  return problems;
}

function forbiddenKeywords(schema: unknown, path = ''): string[] {
  if (schema === null || typeof schema !== 'object') return [];
  const s = schema as Schema;
  const found = ['patternProperties', 'anyOf', 'const', '$id', 'x-keelson-expected']
    .filter((k) => k in s)
    .map((k) => `${path}: ${k}`);
  if (s.additionalProperties === false) found.push(`${path}: additionalProperties false`);
  for (const [k, v] of Object.entries(s))
    if (typeof v === 'object') found.push(...forbiddenKeywords(v, `${path}/${k}`));
  return found;
}

describe('the generated CRD', () => {
  const crd = productCrd(BEACON) as Schema;
  const version = crd.spec.versions[0];
  const spec = version.schema.openAPIV3Schema.properties.spec;

  test('is named and versioned as keelson resources are', () => {
    expect(crd.metadata.name).toBe('beaconclusters.keelson.dev');
    expect(crd.spec.group).toBe('keelson.dev');
    expect(version.name).toBe('v1alpha1');
    expect(version.subresources).toEqual({ status: {} });
    expect(crd.spec.names).toMatchObject({
      kind: 'BeaconCluster',
      plural: 'beaconclusters',
      shortNames: ['beacon'],
    });
    expect(version.additionalPrinterColumns.map((c: { name: string }) => c.name)).toEqual(
      expect.arrayContaining(['Available', 'Age']),
    );
  });

  test('is structural: every node is typed, and no JSON Schema keyword the API server refuses is left', () => {
    expect(untypedNodes(version.schema.openAPIV3Schema)).toEqual([]);
    expect(forbiddenKeywords(version.schema.openAPIV3Schema)).toEqual([]);
  });

  test('keeps unknown fields only where a field is open (pod overrides, object overrides, affinity)', () => {
    const servers = spec.properties.servers;
    expect(servers.properties.podOverrides['x-kubernetes-preserve-unknown-fields']).toBe(true);
    expect(spec.properties.objectOverrides.items['x-kubernetes-preserve-unknown-fields']).toBe(true);
    expect(servers.properties.config['x-kubernetes-preserve-unknown-fields']).toBeUndefined();
    expect(spec['x-kubernetes-preserve-unknown-fields']).toBeUndefined();
  });

  test('lists the config files a role accepts overrides for', () => {
    expect(Object.keys(spec.properties.servers.properties.configOverrides.properties)).toEqual([
      'beacon.properties',
      'log4j.properties',
    ]);
    expect(Object.keys(spec.properties.gateways.properties.configOverrides.properties)).toEqual([
      'gateway.yaml',
    ]);
  });

  test('carries the cross-field rules as CEL: cpu range, role group names, name lengths', () => {
    const config = spec.properties.servers.properties.config;
    expect(config.properties.resources.properties.cpu['x-kubernetes-validations'][0].rule).toContain(
      'quantity(self.min)',
    );
    const groups = spec.properties.servers.properties.roleGroups;
    expect(groups['x-kubernetes-validations'][0].rule).toContain('key.matches');
    expect(version.schema.openAPIV3Schema['x-kubernetes-validations']).toHaveLength(2);
  });

  test('carries the resource rules: positive amounts, whole bytes, StorageClass names', () => {
    const resources = spec.properties.servers.properties.config.properties.resources.properties;
    const messages = (node: Schema) =>
      node['x-kubernetes-validations'].map((v: { message: string }) => v.message);
    expect(messages(resources.cpu)).toEqual([
      'cpu.min must not exceed cpu.max',
      'cpu.min must not be negative',
      'cpu.max must be greater than 0',
    ]);
    expect(messages(resources.memory)).toEqual([
      'memory.limit must be greater than 0',
      expect.stringMatching(/^memory\.limit must be a whole number of bytes/),
    ]);
    const volume = resources.storage.additionalProperties;
    expect(messages(volume)).toEqual([
      'capacity must be greater than 0',
      expect.stringMatching(/^capacity must be a whole number of bytes/),
    ]);
    expect(volume.properties.storageClass).toMatchObject({ maxLength: 253, pattern: expect.any(String) });
    expect(volume.properties.capacity.pattern).toBe(QUANTITY_SYNTAX);
  });

  test('names the field a rule is about, so the API server reports it there (fieldPath)', () => {
    const resources = spec.properties.servers.properties.config.properties.resources.properties;
    const fieldPaths = (node: Schema) =>
      node['x-kubernetes-validations'].map((v: { fieldPath?: string }) => v.fieldPath);
    expect(fieldPaths(resources.cpu)).toEqual(['.min', '.min', '.max']);
    expect(fieldPaths(resources.memory)).toEqual(['.limit', '.limit']);
    expect(fieldPaths(resources.storage.additionalProperties)).toEqual(['.capacity', '.capacity']);
    // A rule about the map as a whole stays on the map.
    expect(fieldPaths(resources.storage)).toEqual([undefined]);
  });

  test('rejects a fieldPath that names no declared field, which the API server would refuse', () => {
    const rule = defineRule<{ size?: string }>({
      cel: 'has(self.size)',
      message: 'size is required',
      fieldPath: '.sise',
      check: (self) => self.size !== undefined,
    });
    const schema = Type.Object({ size: Type.Optional(Type.String()) }, withRules(rule));
    expect(() => toStructuralSchema(schema)).toThrow(
      'the fieldPath .sise of the CEL rule has(self.size) names no declared field',
    );
    const declared = Type.Object({ sise: Type.Optional(Type.String()) }, withRules(rule));
    expect(toStructuralSchema(declared)['x-kubernetes-validations']).toEqual([
      { rule: 'has(self.size)', message: 'size is required', fieldPath: '.sise' },
    ]);
  });

  test.each(['limit', "['limit']", '.limit[0]', '.'])(
    'rejects the fieldPath %j, which synth could not append as the API server prints it',
    (fieldPath) => {
      expect(() =>
        defineRule({ cel: `has(self.x) /* ${fieldPath} */`, message: 'm', fieldPath, check: () => true }),
      ).toThrow(/is not of the form \.field or \.field\.child/);
    },
  );

  test('turns unions of literals into enums', () => {
    expect(spec.properties.image.properties.pullPolicy).toEqual({
      type: 'string',
      enum: ['Always', 'IfNotPresent', 'Never'],
    });
  });

  test('rejects a schema that cannot be expressed structurally', () => {
    expect(() => toStructuralSchema({ anyOf: [{ type: 'string' }, { type: 'integer' }] } as never)).toThrow(
      /unions of literals/,
    );
  });
});

describe('the TlsClass CRD', () => {
  const crd = tlsClassCrd() as Schema;
  const version = crd.spec.versions[0];
  const root = version.schema.openAPIV3Schema;
  const spec = root.properties.spec;
  const rules = (node: Schema) =>
    node['x-kubernetes-validations'].map((v: { message: string; fieldPath?: string }) =>
      [v.fieldPath, v.message.slice(0, 24)].filter(Boolean).join(': '),
    );

  test('is cluster-scoped, named tlsclasses.keelson.dev, and requires a spec', () => {
    expect(crd.metadata.name).toBe('tlsclasses.keelson.dev');
    expect(crd.spec.scope).toBe('Cluster');
    expect(crd.spec.names).toMatchObject({
      kind: 'TlsClass',
      plural: 'tlsclasses',
      listKind: 'TlsClassList',
    });
    expect(version.name).toBe('v1alpha1');
    expect(root.required).toEqual(['spec']);
    expect(version.additionalPrinterColumns.map((c: { name: string }) => c.name)).toEqual([
      'Available',
      'Age',
    ]);
  });

  test('is structural, with closed providers', () => {
    expect(untypedNodes(root)).toEqual([]);
    expect(forbiddenKeywords(root)).toEqual([]);
    expect(Object.keys(spec.properties)).toEqual(['keelsonCa', 'secretCa', 'certManager']);
    expect(spec.properties.certManager.required).toEqual(['issuerRef']);
    expect(spec.properties.certManager.properties.issuerRef.properties.kind.enum).toEqual([
      'Issuer',
      'ClusterIssuer',
    ]);
    expect(spec.properties.secretCa.required).toEqual(['secretName', 'secretNamespace']);
    expect(spec.properties.keelsonCa.properties.caLifetime.pattern).toBe('^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$');
  });

  test('carries the rules as CEL: one provider, the lifetimes, and a name fit for a signer and a label', () => {
    expect(spec['x-kubernetes-validations']).toEqual([
      {
        rule: '[has(self.keelsonCa), has(self.secretCa), has(self.certManager)].filter(p, p).size() == 1',
        message: 'exactly one provider must be given: keelsonCa or secretCa or certManager',
      },
    ]);
    expect(rules(spec.properties.keelsonCa)).toEqual([
      '.certificateLifetime: must be between 1h and 2',
      '.certificateRefreshAfter: must be at least 6m and ',
      '.caRotationOverlap: must be at least certifi',
      '.caLifetime: must be at least twice c',
    ]);
    expect(rules(spec.properties.secretCa)).toEqual([
      '.certificateLifetime: must be between 1h and 2',
      '.certificateRefreshAfter: must be at least 6m and ',
    ]);
    expect(rules(spec.properties.certManager)).toEqual(['.certificateLifetime: must be at least 1h: cer']);
    expect(spec.properties.keelsonCa['x-kubernetes-validations'][0].rule).toContain(
      "duration(has(self.certificateLifetime) ? self.certificateLifetime : '24h') >= duration('1h')",
    );
    expect(root['x-kubernetes-validations']).toEqual([
      expect.objectContaining({ rule: "self.metadata.name.matches('^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$')" }),
    ]);
  });
});
