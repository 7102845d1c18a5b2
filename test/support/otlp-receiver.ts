/**
 * A test aggregator: an HTTP server taking OTLP/HTTP log exports (JSON, gzip or not) at `/v1/logs`,
 * as keelson's log agent sends them, and keeping every record with its resource flattened into
 * plain attributes.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as zlib from 'node:zlib';
import { keelsonCacheDir } from '../../lib/image';
import { logAgentBinaryPath } from '../../lib/logging/image';

/** One received log record. */
export interface ReceivedLogRecord {
  /** The request's path (`/v1/logs`). */
  readonly url: string;
  /** The resource's attributes, by key (string values). */
  readonly resource: Record<string, string>;
  /** The record's own attributes, by key (string values). */
  readonly attributes: Record<string, string>;
  readonly severityText?: string;
  readonly body?: string;
  readonly timeUnixNano?: string;
}

export interface OtlpReceiver {
  /** The base URL the agent is given (`http://<host>:<port>`). */
  readonly endpoint: string;
  /** Every record received so far, in arrival order. */
  records(): ReceivedLogRecord[];
  /** Waits until `accept` holds for some record (polling every 250 ms); returns the matches. */
  waitFor(
    what: string,
    accept: (r: ReceivedLogRecord) => boolean,
    timeoutMs?: number,
  ): Promise<ReceivedLogRecord[]>;
  close(): Promise<void>;
}

/** The log agent's binary in keelson's cache, where building its image puts it. */
export function cachedLogAgentBinary(): string | undefined {
  const binary = logAgentBinaryPath(keelsonCacheDir());
  return fs.existsSync(binary) ? binary : undefined;
}

function strings(list: any[] | undefined): Record<string, string> {
  return Object.fromEntries(
    (list ?? []).map((a) => [a.key, a.value?.stringValue ?? JSON.stringify(a.value)]),
  );
}

/** Starts a receiver listening on `host` (a free port). */
export async function startOtlpReceiver(host = '127.0.0.1'): Promise<OtlpReceiver> {
  const received: ReceivedLogRecord[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = zlib.gunzipSync(body);
        const doc = JSON.parse(body.toString()) as { resourceLogs?: any[] };
        for (const rl of doc.resourceLogs ?? []) {
          for (const sl of rl.scopeLogs ?? []) {
            for (const l of sl.logRecords ?? []) {
              received.push({
                url: req.url ?? '',
                resource: strings(rl.resource?.attributes),
                attributes: strings(l.attributes),
                severityText: l.severityText,
                body: l.body?.stringValue,
                timeUnixNano: l.timeUnixNano,
              });
            }
          }
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      } catch (error) {
        res.writeHead(400);
        res.end(String(error));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as { port: number }).port;
  return {
    endpoint: `http://${host}:${port}`,
    records: () => [...received],
    waitFor: async (what, accept, timeoutMs = 60_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = received.filter(accept);
        if (found.length > 0) return found;
        if (Date.now() > deadline) {
          const sample = received
            .slice(-5)
            .map((r) => JSON.stringify(r))
            .join('\n');
          throw new Error(
            `the test aggregator received no record that is ${what} in ${timeoutMs / 1000} s ` +
              `(${received.length} records; the last ones:\n${sample || '(none)'})`,
          );
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
