/**
 * The operator's structured JSON logger (pino). Each reconcile logs through a child carrying the
 * stacklet's kind, namespace and name. Objects are never logged whole: Secret data must not reach
 * a log, and the redaction below is a second line of defence should anyone log one anyway.
 */
import pino, { type Logger } from 'pino';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export function createLogger(level: LogLevel = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { component: 'keelson-operator' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: [
          '*.data',
          '*.stringData',
          '*.token',
          '*.password',
          '*.*.data',
          '*.*.stringData',
          'headers.authorization',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
