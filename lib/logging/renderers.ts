/**
 * The shared logging model rendered into each log framework keelson's products use: logback,
 * Log4j 2 (properties) and airlift (Trino). Each writes the console in the product's own text
 * layout and the structured file of {@link LOG_FIELDS} as JSON lines, rolled at
 * {@link LOG_FILE_MAX_MIB} MiB with one older file kept.
 */
import {
  LOG_CONFIG_SCAN_SECONDS,
  LOG_FIELDS,
  LOG_FILE_MAX_MIB,
  logFilePath,
  type ContainerLogging,
} from './model';
import type { LogLevel } from '../spec/common';

const F = LOG_FIELDS;

/** A level in logback's words (no FATAL; NONE is OFF). */
function logbackLevel(level: LogLevel): string {
  return level === 'FATAL' ? 'ERROR' : level === 'NONE' ? 'OFF' : level;
}

/** A level in Log4j 2's words (NONE is OFF). */
function log4j2Level(level: LogLevel): string {
  return level === 'NONE' ? 'OFF' : level;
}

/** A level in airlift's words (no TRACE or FATAL; NONE is OFF). */
function airliftLevel(level: LogLevel): string {
  return level === 'TRACE' ? 'DEBUG' : level === 'FATAL' ? 'ERROR' : level === 'NONE' ? 'OFF' : level;
}

function xmlAttribute(text: string): string {
  return text.replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[ch]!);
}

/**
 * A logback pattern conversion that writes `conversion` as the inside of a JSON string: logback
 * has no JSON encoder in every version keelson runs (1.2 has none), so backslashes, quotes and
 * line breaks are escaped with `%replace` and other control characters become spaces. (logback
 * passes the options' backslashes to Java's regex and replacement as written.)
 */
function logbackJsonString(conversion: string): string {
  return (
    `%replace(%replace(%replace(%replace(%replace(${conversion})` +
    String.raw`{'\\','\\\\'}){'"','\\"'}){'\r?\n','\\n'}){'\t','\\t'}){'[\u0000-\u001f]',' '}`
  );
}

/** The logback pattern of one structured record per line. */
export const LOGBACK_JSON_PATTERN =
  `{"${F.time}":"%d{yyyy-MM-dd'T'HH:mm:ss.SSS'Z',UTC}","${F.level}":"%level",` +
  `"${F.thread}":"${logbackJsonString('%thread')}","${F.logger}":"${logbackJsonString('%logger')}",` +
  `"${F.message}":"${logbackJsonString('%msg')}"` +
  // The stack trace field, dropped again when the record has no exception.
  `%replace(,"${F.exception}":"${logbackJsonString('%ex')}"){',"${F.exception}":""$',''}}%n%nopex`;

/** The logback pattern of the console. */
export const LOGBACK_CONSOLE_PATTERN = '%d{ISO8601} %-5level [%thread] %logger - %msg%n';

/**
 * `logback.xml` for a container: the console at its level in {@link LOGBACK_CONSOLE_PATTERN}, the
 * structured file at its level, the root logger and every named logger at their levels. logback
 * scans it for changes every {@link LOG_CONFIG_SCAN_SECONDS} s.
 */
export function logbackConfig(logging: ContainerLogging): string {
  const file = logFilePath(logging.container);
  const appender = (level: LogLevel, body: string): string =>
    level === 'NONE'
      ? ''
      : body.replace(
          '  </appender>',
          '    <filter class="ch.qos.logback.classic.filter.ThresholdFilter">\n' +
            `      <level>${logbackLevel(level)}</level>\n` +
            '    </filter>\n' +
            '  </appender>',
        );
  const refs = [
    ...(logging.console === 'NONE' ? [] : ['CONSOLE']),
    ...(logging.file === 'NONE' ? [] : ['FILE']),
  ];
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    // Scanned for changes, so a level change applies without a restart (LOG_CONFIG_SCAN_SECONDS).
    `<configuration scan="true" scanPeriod="${LOG_CONFIG_SCAN_SECONDS} seconds">\n` +
    appender(
      logging.console,
      '  <appender name="CONSOLE" class="ch.qos.logback.core.ConsoleAppender">\n' +
        '    <encoder>\n' +
        `      <pattern>${xmlAttribute(LOGBACK_CONSOLE_PATTERN)}</pattern>\n` +
        '    </encoder>\n' +
        '  </appender>\n',
    ) +
    appender(
      logging.file,
      '  <appender name="FILE" class="ch.qos.logback.core.rolling.RollingFileAppender">\n' +
        `    <file>${xmlAttribute(file)}</file>\n` +
        '    <rollingPolicy class="ch.qos.logback.core.rolling.FixedWindowRollingPolicy">\n' +
        `      <fileNamePattern>${xmlAttribute(file)}.%i</fileNamePattern>\n` +
        '      <minIndex>1</minIndex>\n' +
        '      <maxIndex>1</maxIndex>\n' +
        '    </rollingPolicy>\n' +
        '    <triggeringPolicy class="ch.qos.logback.core.rolling.SizeBasedTriggeringPolicy">\n' +
        `      <maxFileSize>${LOG_FILE_MAX_MIB}MB</maxFileSize>\n` +
        '    </triggeringPolicy>\n' +
        '    <encoder>\n' +
        `      <pattern>${xmlAttribute(LOGBACK_JSON_PATTERN)}</pattern>\n` +
        '    </encoder>\n' +
        '  </appender>\n',
    ) +
    logging.loggers
      .map(([name, level]) => `  <logger name="${xmlAttribute(name)}" level="${logbackLevel(level)}"/>\n`)
      .join('') +
    `  <root level="${logbackLevel(logging.root)}">\n` +
    refs.map((ref) => `    <appender-ref ref="${ref}"/>\n`).join('') +
    '  </root>\n' +
    '</configuration>\n'
  );
}

/** The Log4j 2 pattern of one structured record per line (`%enc{…}{JSON}` escapes for JSON). */
export const LOG4J2_JSON_PATTERN =
  `{"${F.time}":"%d{yyyy-MM-dd'T'HH:mm:ss.SSS'Z'}{UTC}","${F.level}":"%p",` +
  `"${F.thread}":"%enc{%t}{JSON}","${F.logger}":"%enc{%c}{JSON}","${F.message}":"%enc{%m}{JSON}"` +
  `%notEmpty{,"${F.exception}":"%enc{%ex}{JSON}"}}%n`;

/**
 * Log4j 2 properties for a container: the console (to stdout) at its level in `consolePattern`,
 * the structured file at its level, the root logger and every named logger at their levels.
 * Keys, so `configOverrides` of the file set or remove any of them. Log4j 2 checks it for changes
 * every {@link LOG_CONFIG_SCAN_SECONDS} s (`monitorInterval`).
 */
export function log4j2Config(logging: ContainerLogging, consolePattern: string): Record<string, string> {
  const file = logFilePath(logging.container);
  const config: Record<string, string> = {
    status: 'WARN',
    // Checked for changes, so a level change applies without a restart (LOG_CONFIG_SCAN_SECONDS).
    monitorInterval: String(LOG_CONFIG_SCAN_SECONDS),
    'appender.console.type': 'Console',
    'appender.console.name': 'console',
    'appender.console.target': 'SYSTEM_OUT',
    'appender.console.layout.type': 'PatternLayout',
    'appender.console.layout.pattern': consolePattern,
    'appender.console.filter.threshold.type': 'ThresholdFilter',
    'appender.console.filter.threshold.level': log4j2Level(logging.console),
    'appender.file.type': 'RollingFile',
    'appender.file.name': 'file',
    'appender.file.fileName': file,
    'appender.file.filePattern': `${file}.%i`,
    'appender.file.layout.type': 'PatternLayout',
    'appender.file.layout.pattern': LOG4J2_JSON_PATTERN,
    // The stack trace is written once, inside the record, not again after it.
    'appender.file.layout.alwaysWriteExceptions': 'false',
    'appender.file.policies.type': 'Policies',
    'appender.file.policies.size.type': 'SizeBasedTriggeringPolicy',
    'appender.file.policies.size.size': `${LOG_FILE_MAX_MIB}MB`,
    'appender.file.strategy.type': 'DefaultRolloverStrategy',
    'appender.file.strategy.max': '1',
    'appender.file.filter.threshold.type': 'ThresholdFilter',
    'appender.file.filter.threshold.level': log4j2Level(logging.file),
    'rootLogger.level': log4j2Level(logging.root),
  };
  if (logging.console !== 'NONE') config['rootLogger.appenderRef.console.ref'] = 'console';
  if (logging.file !== 'NONE') config['rootLogger.appenderRef.file.ref'] = 'file';
  logging.loggers.forEach(([name, level], i) => {
    config[`logger.l${i}.name`] = name;
    config[`logger.l${i}.level`] = log4j2Level(level);
  });
  if (logging.loggers.length > 0) config.loggers = logging.loggers.map((_, i) => `l${i}`).join(',');
  return config;
}

/**
 * airlift's (Trino's) levels file, `log.properties`: the named loggers at their levels, and
 * `rootLogger` for ROOT (airlift's levels apply to the console and the file alike, so the root is
 * the more verbose of the two unless ROOT is given; each output cannot have a level of its own).
 */
export function airliftLevels(logging: ContainerLogging, rootLogger: string): Record<string, string> {
  const levels: Record<string, string> = { [rootLogger]: airliftLevel(logging.root) };
  for (const [name, level] of logging.loggers) levels[name] = airliftLevel(level);
  return levels;
}

/**
 * airlift's logging settings (Trino's `config.properties`): the structured file in airlift's JSON
 * format (whose field names {@link LOG_FIELDS} are), rolled like the others, and whether the console
 * is written. The console keeps airlift's text format.
 */
export function airliftLogSettings(logging: ContainerLogging): Record<string, string> {
  return {
    ...(logging.file === 'NONE'
      ? {}
      : {
          'log.path': logFilePath(logging.container),
          'log.format': 'json',
          'log.max-size': `${LOG_FILE_MAX_MIB}MB`,
          'log.max-total-size': `${2 * LOG_FILE_MAX_MIB}MB`,
        }),
    'log.enable-console': String(logging.console !== 'NONE'),
  };
}
