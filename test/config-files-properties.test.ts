import { renderProperties } from '../lib/config-files';

describe('renderProperties', () => {
  it('writes key=value lines sorted by key', () => {
    expect(renderProperties({ 'z.last': '1', 'a.first': '2', 'm.middle': '3' })).toBe(
      'a.first=2\nm.middle=3\nz.last=1\n',
    );
  });

  it('gives the same text whatever the insertion order', () => {
    expect(renderProperties({ b: '1', a: '2' })).toBe(renderProperties({ a: '2', b: '1' }));
  });

  it('writes nothing for no entries', () => {
    expect(renderProperties({})).toBe('');
  });

  it('escapes separators, spaces and backslashes in keys', () => {
    expect(renderProperties({ 'a key=with:all\\': 'v' })).toBe('a\\ key\\=with\\:all\\\\=v\n');
  });

  it('leaves separators in values readable', () => {
    expect(renderProperties({ listeners: 'PLAINTEXT://0.0.0.0:9092', 'a.b': 'x=y' })).toBe(
      'a.b=x=y\nlisteners=PLAINTEXT://0.0.0.0:9092\n',
    );
  });

  it('escapes backslashes in values', () => {
    expect(renderProperties({ path: 'C:\\dir' })).toBe('path=C:\\\\dir\n');
  });

  it('escapes a leading space of a value but not inner ones', () => {
    expect(renderProperties({ k: '  two leading, inner kept ' })).toBe('k=\\  two leading, inner kept \n');
  });

  it('escapes line breaks, tabs and form feeds', () => {
    expect(renderProperties({ 'multi\nline': 'a\nb\r\tc\f' })).toBe('multi\\nline=a\\nb\\r\\tc\\f\n');
  });

  it('escapes # and ! where they would start a comment', () => {
    expect(renderProperties({ '#not-a-comment': '#v', '!bang': 'a#b!c' })).toBe(
      '\\!bang=a#b!c\n\\#not-a-comment=\\#v\n',
    );
  });

  it('writes every non-ASCII character as \\uXXXX, since Java reads the file as Latin-1', () => {
    expect(renderProperties({ café: 'naïve €' })).toBe('caf\\u00E9=na\\u00EFve \\u20AC\n');
  });

  it('writes characters beyond the BMP as two escapes', () => {
    expect(renderProperties({ k: '😀' })).toBe('k=\\uD83D\\uDE00\n');
  });

  it('escapes other control characters', () => {
    expect(renderProperties({ k: 'a\u0001b\u007f' })).toBe('k=a\\u0001b\\u007F\n');
  });

  it('writes an empty key and an empty value', () => {
    expect(renderProperties({ '': 'x', k: '' })).toBe('=x\nk=\n');
  });
});
