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

/**
 * Polls `pod`'s structured file every 2 s until it holds a record that `matches`, for at most 90 s
 * (the kubelet's ConfigMap sync, 10 s on the test node, plus the framework's 10 s look at its file,
 * with room). Returns the matching records and the seconds it took; throws naming `what`, with
 * `explain()`'s text, when none came.
 */
export async function waitForRecords(
  namespace: string,
  pod: string,
  container: string,
  what: string,
  matches: (record: LogRecord) => boolean,
  explain: () => Promise<string> = async () => '',
): Promise<{ records: LogRecord[]; seconds: number }> {
  const started = Date.now();
  let found: LogRecord[] = [];
  while (found.length === 0 && Date.now() - started < 90_000) {
    await new Promise((r) => setTimeout(r, 2000));
    found = (await readStructuredLog(namespace, pod, container)).filter(matches);
  }
  if (found.length === 0) {
    throw new Error(`no ${what} in ${namespace}/${pod}'s structured file after 90 s\n${await explain()}`);
  }
  return { records: found, seconds: (Date.now() - started) / 1000 };
}
