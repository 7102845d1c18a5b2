/**
 * Reads a product's structured log file (lib/logging) in a running pod, as an agent would: every
 * line must be one JSON object with the shared field names.
 */
import { LOG_FIELDS, logFilePath } from '../../lib';
import { execInPod } from './real-node-support';

/** A structured log record, by field name. */
export type LogRecord = Record<string, string>;

/**
 * The records of `container`'s structured log file in `pod` (its first container). Throws, with
 * the line, when a line is not a JSON object with string time, level, thread, logger and message.
 */
export async function readStructuredLog(
  namespace: string,
  pod: string,
  container: string,
): Promise<LogRecord[]> {
  const text = await execInPod(namespace, pod, `cat ${logFilePath(container)}`);
  const required = [
    LOG_FIELDS.time,
    LOG_FIELDS.level,
    LOG_FIELDS.thread,
    LOG_FIELDS.logger,
    LOG_FIELDS.message,
  ];
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch (e) {
        throw new Error(`${namespace}/${pod} ${logFilePath(container)}: not JSON (${String(e)}): ${line}`);
      }
      const missing = required.filter((f) => typeof (record as LogRecord)?.[f] !== 'string');
      if (missing.length > 0) {
        throw new Error(`${namespace}/${pod} ${logFilePath(container)}: no ${missing.join(', ')} in ${line}`);
      }
      return record as LogRecord;
    });
}

/** Asserts the shape every product's records share: an ISO 8601 UTC time, a known level. */
export function expectSharedRecordShape(records: readonly LogRecord[]): void {
  expect(records.length).toBeGreaterThan(0);
  for (const r of records) {
    expect(r[LOG_FIELDS.time]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    expect(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR']).toContain(r[LOG_FIELDS.level]);
  }
}
