import { parse } from 'yaml';
import { renderJson, renderYaml } from '../lib/config-files';

describe('renderYaml', () => {
  it('sorts keys at every level', () => {
    expect(renderYaml({ b: { d: 1, c: [{ z: 1, p: 2 }] }, a: 'x' })).toBe(
      'a: x\nb:\n  c:\n    - p: 2\n      z: 1\n  d: 1\n',
    );
  });

  it('gives the same text whatever the insertion order', () => {
    expect(renderYaml({ b: 1, a: { y: 1, x: 2 } })).toBe(renderYaml({ a: { x: 2, y: 1 }, b: 1 }));
  });

  it('writes a repeated object twice rather than as an alias', () => {
    const shared = { level: 'INFO' };
    const text = renderYaml({ a: shared, b: shared });
    expect(text).not.toMatch(/[&*]/);
    expect(parse(text)).toEqual({ a: { level: 'INFO' }, b: { level: 'INFO' } });
  });

  it('does not fold long strings', () => {
    const long = 'word '.repeat(40).trim();
    expect(renderYaml({ long })).toBe(`long: ${long}\n`);
  });

  it.each([
    'on',
    'off',
    'yes',
    'no',
    'y',
    'n',
    'Y',
    'NO',
    '0755',
    '12:30',
    '0b101',
    '1_000',
    '2024-01-01',
    'true',
    '1.5',
    'null',
    '~',
    '',
  ])('quotes the string %j so YAML 1.1 and 1.2 parsers both read a string', (value) => {
    const text = renderYaml({ value, [value || 'k']: 'key' });
    expect(parse(text, { version: '1.1' })).toEqual({ value, [value || 'k']: 'key' });
    expect(parse(text, { version: '1.2' })).toEqual({ value, [value || 'k']: 'key' });
  });

  it('leaves ordinary strings plain', () => {
    expect(renderYaml({ name: 'kafka', url: 'http://x:8080/path' })).toBe(
      'name: kafka\nurl: http://x:8080/path\n',
    );
  });

  it('renders a document anew after it changes', () => {
    const doc: Record<string, unknown> = { greeting: 'hello', listen: { port: 8080 } };
    expect(renderYaml(doc)).toBe('greeting: hello\nlisten:\n  port: 8080\n');
    (doc.listen as Record<string, unknown>).port = 8081;
    expect(renderYaml(doc)).toBe('greeting: hello\nlisten:\n  port: 8081\n');
  });

  it('tells values apart that JSON writes alike', () => {
    expect(renderYaml({ a: 0 })).toBe('a: 0\n');
    expect(renderYaml({ a: -0 })).toBe('a: -0\n');
    expect(renderYaml({ a: null })).toBe('a: null\n');
    expect(renderYaml({ a: NaN })).toBe('a: .nan\n');
    expect(renderYaml({ a: '1' })).toBe('a: "1"\n');
  });

  it('writes numbers, booleans and null as themselves', () => {
    const doc = { n: 3, f: 1.5, t: true, z: null, list: [1, 'two'] };
    expect(parse(renderYaml(doc), { version: '1.1' })).toEqual(doc);
    expect(renderYaml({ t: true })).toBe('t: true\n');
  });

  it('round-trips multi-line strings', () => {
    const doc = { script: 'line one\nline two\n' };
    expect(parse(renderYaml(doc))).toEqual(doc);
  });
});

describe('renderJson', () => {
  it('writes sorted, indented JSON ending with a newline', () => {
    expect(renderJson({ b: [2, 1], a: { d: null, c: 'x' } })).toBe(
      '{\n  "a": {\n    "c": "x",\n    "d": null\n  },\n  "b": [\n    2,\n    1\n  ]\n}\n',
    );
  });

  it('gives the same text whatever the insertion order', () => {
    expect(renderJson({ b: 1, a: 2 })).toBe(renderJson({ a: 2, b: 1 }));
  });
});
