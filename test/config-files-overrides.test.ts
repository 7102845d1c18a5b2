import { parse } from 'yaml';
import { applyConfigOverrides, renderConfigFile } from '../lib/config-files';
import { roleSchema } from '../lib/spec/stacklet-spec';
import { specProblems } from '../lib/spec/validate';

describe('renderConfigFile', () => {
  it('sets override entries on top of a properties file', () => {
    expect(renderConfigFile('properties', { a: '1', b: '2' }, { b: '20', c: '30' })).toBe(
      'a=1\nb=20\nc=30\n',
    );
  });

  it('removes a key whose override is null', () => {
    expect(renderConfigFile('properties', { a: '1', b: '2' }, { a: null })).toBe('b=2\n');
    expect(renderConfigFile('hadoop-xml', { a: '1' }, { a: null })).not.toContain('<name>a</name>');
    expect(renderConfigFile('env', { A: '1', B: '2' }, { B: null })).toBe('A=1\n');
  });

  it('renders without overrides', () => {
    expect(renderConfigFile('properties', { a: '1' })).toBe('a=1\n');
    expect(renderConfigFile('json', { a: 1 }, null)).toBe('{\n  "a": 1\n}\n');
  });

  it('renders Hadoop XML and env files with overrides', () => {
    expect(renderConfigFile('hadoop-xml', { 'dfs.replication': '3' }, { 'dfs.replication': '2' })).toContain(
      '<name>dfs.replication</name>\n    <value>2</value>',
    );
    expect(renderConfigFile('env', { A: '1' }, { B: 'two words' })).toBe("A=1\nB='two words'\n");
  });

  it('deep-merges a YAML override, replacing arrays and removing nulls', () => {
    const base = { server: { port: 8080, hosts: ['a', 'b'], tls: { enabled: false } }, debug: true };
    const text = renderConfigFile('yaml', base, {
      server: { hosts: ['c'], tls: { enabled: true } },
      debug: null,
    });
    expect(parse(text)).toEqual({ server: { port: 8080, hosts: ['c'], tls: { enabled: true } } });
  });

  it('deep-merges a JSON override', () => {
    expect(JSON.parse(renderConfigFile('json', { a: { b: 1, c: 2 } }, { a: { c: 3 } }))).toEqual({
      a: { b: 1, c: 3 },
    });
  });

  it('does not change the product defaults', () => {
    const defaults = { a: '1' };
    const document = { a: { b: 1 } };
    renderConfigFile('properties', defaults, { a: null, b: '2' });
    renderConfigFile('yaml', document, { a: { b: 2 } });
    expect(defaults).toEqual({ a: '1' });
    expect(document).toEqual({ a: { b: 1 } });
  });

  it('rejects a key/value entry that is not a string', () => {
    expect(() => renderConfigFile('properties', { a: '1' }, { b: 2, c: { d: 1 } })).toThrow(
      'cannot write a key/value config file: the value of "b" must be a string, not 2; the value of "c" must be a string, not {"d":1}',
    );
  });

  it('rejects what the format cannot hold', () => {
    expect(() => renderConfigFile('env', {}, { 'NOT-VALID': 'x' })).toThrow(
      /"NOT-VALID" is not a valid environment variable name/,
    );
  });
});

describe('applyConfigOverrides', () => {
  it('gives the merged map for key/value formats', () => {
    expect(applyConfigOverrides('properties', { a: '1', b: '2' }, { a: null, c: '3' })).toEqual({
      b: '2',
      c: '3',
    });
  });

  it('gives the merged document for YAML and JSON', () => {
    expect(applyConfigOverrides('yaml', { a: { b: 1 } }, { a: { c: 2 } })).toEqual({ a: { b: 1, c: 2 } });
  });
});

// Which files a role's configOverrides may name is part of the role's spec schema
// (lib/spec/stacklet-spec.ts), enforced at admission and at synth alike.
describe('configOverrides validation (the role schema)', () => {
  const brokers = roleSchema({
    config: {},
    configFiles: ['broker.properties', 'log4j.properties'],
    jvm: true,
  });
  const problems = (role: unknown, schema = brokers) => specProblems(schema, role, 'spec.brokers');

  it('accepts overrides of known files', () => {
    expect(problems({ configOverrides: { 'broker.properties': { a: '1' } } })).toEqual([]);
    expect(problems({})).toEqual([]);
  });

  it("rejects an unknown file, listing the role's files", () => {
    const known = "expected one of this role's config files: broker.properties, log4j.properties";
    expect(problems({ configOverrides: { 'foo.properties': { a: '1' }, 'broker.properties': {} } })).toEqual([
      `spec.brokers.configOverrides: unknown field "foo.properties"; ${known}`,
    ]);
    expect(problems({ roleGroups: { default: { configOverrides: { 'bar.xml': {} } } } })).toEqual([
      `spec.brokers.roleGroups.default.configOverrides: unknown field "bar.xml"; ${known}`,
    ]);
  });

  it('rejects any file when the role has none', () => {
    const workers = roleSchema({ config: {}, configFiles: [], jvm: false });
    expect(problems({ configOverrides: { 'x.yaml': {} } }, workers)).toEqual([
      'spec.brokers.configOverrides: unknown field "x.yaml"; expected none; this role has no config files to override',
    ]);
  });

  it('rejects an override that is not a map, and values that are not strings', () => {
    expect(
      problems({
        configOverrides: { 'broker.properties': 'a=1', 'log4j.properties': ['x'] },
        roleGroups: { default: { configOverrides: { 'broker.properties': { a: 1 } } } },
      }),
    ).toEqual([
      'spec.brokers.configOverrides.broker.properties: must be a map, not "a=1"',
      'spec.brokers.configOverrides.log4j.properties: must be a map, not a list',
      'spec.brokers.roleGroups.default.configOverrides.broker.properties.a: must be a string',
    ]);
  });

  it('rejects an unknown kind of override, listing the ones there are', () => {
    expect(problems({ configOverride: {}, roleGroups: { default: { envOverride: {} } } })).toEqual([
      'spec.brokers: unknown field "configOverride"; expected one of: config, configOverrides, envOverrides, cliOverrides, podOverrides, jvmArgumentOverrides, roleConfig, roleGroups',
      'spec.brokers.roleGroups.default: unknown field "envOverride"; expected one of: replicas, config, configOverrides, envOverrides, cliOverrides, podOverrides, jvmArgumentOverrides',
    ]);
  });
});
