import { renderHadoopXml } from '../lib/config-files';

describe('renderHadoopXml', () => {
  it('writes a configuration of properties sorted by name', () => {
    expect(renderHadoopXml({ 'fs.defaultFS': 'hdfs://hdfs', 'dfs.replication': '3' })).toBe(
      [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<configuration>',
        '  <property>',
        '    <name>dfs.replication</name>',
        '    <value>3</value>',
        '  </property>',
        '  <property>',
        '    <name>fs.defaultFS</name>',
        '    <value>hdfs://hdfs</value>',
        '  </property>',
        '</configuration>',
        '',
      ].join('\n'),
    );
  });

  it('writes an empty configuration for no entries', () => {
    expect(renderHadoopXml({})).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n<configuration>\n</configuration>\n',
    );
  });

  it('gives the same text whatever the insertion order', () => {
    expect(renderHadoopXml({ b: '1', a: '2' })).toBe(renderHadoopXml({ a: '2', b: '1' }));
  });

  it('escapes markup in names and values', () => {
    const xml = renderHadoopXml({ 'a<b>&c': 'x < y && z > "q" \'r\'' });
    expect(xml).toContain('<name>a&lt;b&gt;&amp;c</name>');
    expect(xml).toContain('<value>x &lt; y &amp;&amp; z &gt; "q" \'r\'</value>');
  });

  it('keeps a carriage return from turning into a line feed', () => {
    expect(renderHadoopXml({ k: 'a\r\nb\tc' })).toContain('<value>a&#13;\nb\tc</value>');
  });

  it('keeps non-ASCII text as is', () => {
    expect(renderHadoopXml({ k: 'café 😀' })).toContain('<value>café 😀</value>');
  });

  it('rejects control characters XML cannot hold, naming every property', () => {
    expect(() => renderHadoopXml({ ok: 'fine', bad: 'a\u0000b', 'also\u0007bad': 'x' })).toThrow(
      'cannot write Hadoop XML: "also\\u0007bad", "bad" contain characters XML 1.0 cannot represent',
    );
  });

  it('rejects a lone surrogate', () => {
    expect(() => renderHadoopXml({ k: 'a\uD800b' })).toThrow(/cannot write Hadoop XML: "k"/);
  });
});
