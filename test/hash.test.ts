import { canonicalJson, configHash } from '../lib/hash';

describe('canonicalJson', () => {
  it('sorts the keys of nested objects, keeping array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, 1, 2], c: null } })).toBe('{"a":{"c":null,"d":[3,1,2]},"b":1}');
  });

  it('sorts keys by code unit, not by locale', () => {
    expect(canonicalJson({ b: 1, B: 2, a: 3, _: 4 })).toBe('{"B":2,"_":4,"a":3,"b":1}');
  });

  it('leaves out undefined properties like JSON does', () => {
    expect(canonicalJson({ a: undefined, b: [undefined] })).toBe('{"b":[null]}');
  });

  it('keeps a "__proto__" key as data', () => {
    const parsed: unknown = JSON.parse('{"__proto__":{"x":1},"a":2}');
    expect(canonicalJson(parsed)).toBe('{"__proto__":{"x":1},"a":2}');
  });

  it('indents when asked', () => {
    expect(canonicalJson({ b: 1, a: 2 }, 2)).toBe('{\n  "a": 2,\n  "b": 1\n}');
  });

  it('answers null for a top-level undefined', () => {
    expect(canonicalJson(undefined)).toBe('null');
  });
});

describe('configHash', () => {
  it('is a 64-character hex sha256', () => {
    expect(configHash({ a: 1 })).toMatch(/^[0-9a-f]{64}$/);
    // sha256('{"a":1}')
    expect(configHash({ a: 1 })).toBe('015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862');
  });

  it('does not change with key order', () => {
    const one = { files: { 'a.properties': 'x=1\n', 'b.xml': '<c/>' }, env: { A: '1', B: '2' } };
    const other = { env: { B: '2', A: '1' }, files: { 'b.xml': '<c/>', 'a.properties': 'x=1\n' } };
    expect(configHash(one)).toBe(configHash(other));
  });

  it('changes when a nested value changes', () => {
    expect(configHash({ files: { a: 'x=1' } })).not.toBe(configHash({ files: { a: 'x=2' } }));
  });

  it('changes when array order changes', () => {
    expect(configHash({ args: ['-a', '-b'] })).not.toBe(configHash({ args: ['-b', '-a'] }));
  });

  it('tells a string from a number', () => {
    expect(configHash({ a: '1' })).not.toBe(configHash({ a: 1 }));
  });
});
