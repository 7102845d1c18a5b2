/**
 * The operator's HTTP endpoints: `/metrics` for Prometheus, `/healthz` (the process serves) and
 * `/readyz` (the caches have synced; a standby replica is ready too, it just does not lead).
 */
import * as http from 'node:http';
import type { Registry } from 'prom-client';

export interface HealthServerOptions {
  /** `host:port`; port 0 picks a free one. */
  readonly address: string;
  readonly registry: Registry;
  readonly ready: () => boolean;
}

export async function startHealthServer(
  options: HealthServerOptions,
): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (code: number, body: string, type = 'text/plain') => {
      res.writeHead(code, { 'content-type': type });
      res.end(body);
    };
    if (path === '/healthz') return reply(200, 'ok');
    if (path === '/readyz') return options.ready() ? reply(200, 'ok') : reply(503, 'caches not synced');
    if (path === '/metrics') {
      options.registry.metrics().then(
        (text) => reply(200, text, options.registry.contentType),
        (error: unknown) => reply(500, String(error)),
      );
      return;
    }
    reply(404, 'not found');
  });
  const [host, port] = splitAddress(options.address);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return { server, port: (server.address() as { port: number }).port };
}

function splitAddress(address: string): [string, number] {
  const colon = address.lastIndexOf(':');
  if (colon < 0) return ['0.0.0.0', Number(address)];
  return [address.slice(0, colon) || '0.0.0.0', Number(address.slice(colon + 1))];
}
