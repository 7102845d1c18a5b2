/**
 * Logback configuration files (`logback.xml`) written from log levels by logger name, so that a
 * product's log config takes `configOverrides` like any key/value file:
 * `configOverrides: { "logback.xml": { "org.example.quorum": "DEBUG", "ROOT": "WARN" } }`.
 * `ROOT` is the root logger. Every logger writes to one console appender (the container's log).
 */
import { LOG_LEVELS } from '../spec/common';

/** The name under which the root logger's level is given. */
export const ROOT_LOGGER = 'ROOT';

/** Logback's word for each of keelson's log levels (logback has no FATAL and calls NONE OFF). */
const LOGBACK_LEVELS: Readonly<Record<string, string>> = {
  TRACE: 'TRACE',
  DEBUG: 'DEBUG',
  INFO: 'INFO',
  WARN: 'WARN',
  ERROR: 'ERROR',
  FATAL: 'ERROR',
  NONE: 'OFF',
  OFF: 'OFF',
};

function escapeAttribute(text: string): string {
  return text.replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[ch]!);
}

/**
 * `levels` (logger name → level) as a logback configuration: loggers sorted by name, the root
 * logger at INFO unless `ROOT` is given. Throws, naming the loggers, when a level is not one of
 * keelson's levels.
 */
export function renderLogbackXml(levels: Readonly<Record<string, string>>): string {
  const invalid = Object.entries(levels).filter(([, level]) => !(level.toUpperCase() in LOGBACK_LEVELS));
  if (invalid.length > 0) {
    throw new Error(
      `cannot write logback XML: ${invalid.map(([name, level]) => `${JSON.stringify(name)}=${JSON.stringify(level)}`).join(', ')}; ` +
        `expected one of: ${LOG_LEVELS.join(', ')}`,
    );
  }
  const level = (name: string) => LOGBACK_LEVELS[levels[name].toUpperCase()];
  const loggers = Object.keys(levels)
    .filter((name) => name !== ROOT_LOGGER)
    .sort()
    .map((name) => `  <logger name="${escapeAttribute(name)}" level="${level(name)}"/>\n`)
    .join('');
  const root = ROOT_LOGGER in levels ? level(ROOT_LOGGER) : 'INFO';
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<configuration>\n' +
    '  <appender name="CONSOLE" class="ch.qos.logback.core.ConsoleAppender">\n' +
    '    <encoder>\n' +
    '      <pattern>%d{ISO8601} %-5level [%thread] %logger - %msg%n</pattern>\n' +
    '    </encoder>\n' +
    '  </appender>\n' +
    loggers +
    `  <root level="${root}">\n` +
    '    <appender-ref ref="CONSOLE"/>\n' +
    '  </root>\n' +
    '</configuration>\n'
  );
}
