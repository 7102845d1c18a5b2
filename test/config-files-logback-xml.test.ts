import { renderConfigFile, renderLogbackXml } from '../lib';

describe('logback XML files', () => {
  test('write loggers sorted by name, the root logger from ROOT, one console appender', () => {
    const xml = renderLogbackXml({ 'b.quorum': 'DEBUG', 'a.server': 'warn', ROOT: 'ERROR' });
    expect(xml).toContain(
      '<logger name="a.server" level="WARN"/>\n  <logger name="b.quorum" level="DEBUG"/>',
    );
    expect(xml).toContain('<root level="ERROR">');
    expect(xml.match(/<appender /g)).toHaveLength(1);
  });

  test('map FATAL and NONE onto logback levels and default the root logger to INFO', () => {
    const xml = renderLogbackXml({ x: 'FATAL', y: 'NONE' });
    expect(xml).toContain('<logger name="x" level="ERROR"/>');
    expect(xml).toContain('<logger name="y" level="OFF"/>');
    expect(xml).toContain('<root level="INFO">');
  });

  test('take configOverrides like any key/value file, null removing a logger', () => {
    const xml = renderConfigFile('logback-xml', { a: 'INFO', b: 'INFO' }, { a: 'TRACE', b: null });
    expect(xml).toContain('<logger name="a" level="TRACE"/>');
    expect(xml).not.toContain('name="b"');
  });

  test('rejects a level logback does not know, naming the logger', () => {
    expect(() => renderLogbackXml({ 'a.b': 'LOUD' })).toThrow(/"a\.b"="LOUD".*expected one of: TRACE/);
  });
});
