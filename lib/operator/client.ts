/**
 * A thin Kubernetes REST client over node:https.
 *
 * The operator sends the construct's JSON exactly as built (typed client models rename or drop
 * fields, e.g. NetworkPolicy `from`), streams watches line by line with its own timeouts, and
 * counts every request by verb for its metrics; a generated client gets in the way of all three.
 * Credentials come from an {@link ApiAccess} (kubeconfig file or in-cluster), refreshed
 * periodically so a rotated ServiceAccount token is picked up.
 */
import * as https from 'node:https';
import * as http from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import { accessFromKubeConfig, type ApiAccess } from './api-access';
import type { OperatorMetrics } from './metrics';

/** A failed API request: the HTTP status and the API server's Status reason and message. */
export class ApiError extends Error {
  constructor(
    public readonly status: number,
    public readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** True when `error` is an API error with one of `statuses`. */
export function isStatus(error: unknown, ...statuses: number[]): boolean {
  return error instanceof ApiError && statuses.includes(error.status);
}

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'apply' | 'patch' | 'update' | 'delete';

export interface RequestOptions {
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly body?: unknown;
  readonly contentType?: string;
  /** The response's media type, e.g. a metadata-only transformation. @default 'application/json' */
  readonly accept?: string;
}

/** The field manager of every keelson write. */
export const FIELD_MANAGER = 'keelson';

const AUTH_REFRESH_MS = 60_000;

/** Connections the operator's requests (not its watches) use at once. */
export const REQUEST_SOCKETS = 32;

export class KubeClient {
  private readonly server: URL;
  /** Requests: kept-alive connections, at most {@link REQUEST_SOCKETS} at once. */
  private readonly agent: https.Agent | http.Agent;
  /**
   * Watches: each holds its connection for minutes, one per watched kind (about 30 with every
   * product, cert-manager and prometheus-operator). On the requests' pool they would take every
   * socket, and each write would wait in the pool until a watch ended (up to 5 minutes).
   */
  private readonly watchAgent: https.Agent | http.Agent;
  private readonly access: ApiAccess;
  private headers: Readonly<Record<string, string>> = {};
  private headersAt = 0;

  /** `access` may also be a client-node KubeConfig the caller already holds. */
  constructor(
    access: ApiAccess | KubeConfig,
    private readonly metrics?: OperatorMetrics,
  ) {
    this.access = 'credentials' in access ? access : accessFromKubeConfig(access);
    this.server = new URL(this.access.server);
    const Agent = this.server.protocol === 'https:' ? https.Agent : http.Agent;
    this.agent = new Agent({ keepAlive: true, maxSockets: REQUEST_SOCKETS });
    this.watchAgent = new Agent({ keepAlive: false });
  }

  /** A request that returns a JSON body. `resource` labels the metric (e.g. `statefulsets`). */
  public async request<T = Record<string, unknown>>(
    verb: Verb,
    method: string,
    path: string,
    resource: string,
    options: RequestOptions = {},
  ): Promise<T> {
    const response = await this.send(method, path, options, undefined);
    const body = await readBody(response);
    this.metrics?.apiRequests.inc({ verb, resource, code: String(response.statusCode) });
    const status = response.statusCode ?? 0;
    if (status >= 400) throw apiError(status, body, `${method} ${path}`);
    return (body ? JSON.parse(body) : {}) as T;
  }

  /**
   * Opens a watch and calls `onEvent` for each event line. Resolves when the server ends the
   * stream; rejects on a connection error or when `signal` aborts. `onData` is called on every
   * chunk (bookmarks included), so the caller's watchdog can tell a silent stream from a quiet one.
   * `accept` asks for another media type of the event objects (see RequestOptions).
   */
  public async watch(
    path: string,
    resource: string,
    query: RequestOptions['query'],
    onEvent: (event: { type: string; object: Record<string, unknown> }) => void,
    signal: AbortSignal,
    onData: () => void = () => undefined,
    accept?: string,
  ): Promise<void> {
    const response = await this.send(
      'GET',
      path,
      { query: { ...query, watch: true }, accept },
      signal,
      this.watchAgent,
    );
    this.metrics?.apiRequests.inc({ verb: 'watch', resource, code: String(response.statusCode) });
    if ((response.statusCode ?? 0) >= 400) {
      throw apiError(response.statusCode ?? 0, await readBody(response), `watch ${path}`);
    }
    await new Promise<void>((resolve, reject) => {
      let buffered = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        onData();
        buffered += chunk;
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          if (!line) continue;
          try {
            onEvent(JSON.parse(line) as { type: string; object: Record<string, unknown> });
          } catch (error) {
            response.destroy(error as Error);
            return;
          }
        }
      });
      response.on('end', resolve);
      response.on('error', reject);
      response.on('close', () =>
        response.complete ? resolve() : reject(new Error('watch connection closed')),
      );
    });
  }

  private async send(
    method: string,
    path: string,
    options: RequestOptions,
    signal: AbortSignal | undefined,
    agent: https.Agent | http.Agent = this.agent,
  ): Promise<http.IncomingMessage> {
    const tls = await this.credentials();
    const url = new URL(path, this.server);
    for (const [k, v] of Object.entries(options.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: Record<string, string> = {
      ...this.headers,
      accept: options.accept ?? 'application/json',
    };
    if (payload !== undefined) {
      headers['content-type'] = options.contentType ?? 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    const request = url.protocol === 'https:' ? https.request : http.request;
    const attempt = (): Promise<http.IncomingMessage> =>
      new Promise((resolve, reject) => {
        const req = request(url, { method, headers, agent, signal, ...tls }, resolve);
        req.on('error', (error: NodeJS.ErrnoException) =>
          reject(Object.assign(error, { staleSocket: req.reusedSocket && error.code === 'ECONNRESET' })),
        );
        req.end(payload);
      });
    // A kept-alive socket the server closed while it sat idle fails the next request on it before
    // the server read a byte ("socket hang up"); Node cannot see the close coming. That request
    // never arrived, so it is sent once more, on a new connection. Any other failure is the caller's.
    return attempt().catch((error: NodeJS.ErrnoException & { staleSocket?: boolean }) => {
      if (!error.staleSocket) throw error;
      return attempt();
    });
  }

  /** TLS material and auth headers, re-read every minute. */
  private tls: https.RequestOptions = {};
  private async credentials(): Promise<https.RequestOptions> {
    if (Date.now() - this.headersAt < AUTH_REFRESH_MS) return this.tls;
    const { tls, headers } = await this.access.credentials();
    this.headers = headers;
    this.tls = tls;
    this.headersAt = Date.now();
    return this.tls;
  }
}

function readBody(response: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => (body += chunk));
    response.on('end', () => resolve(body));
    response.on('error', reject);
  });
}

function apiError(status: number, body: string, what: string): ApiError {
  let reason = '';
  let message = body.slice(0, 1000);
  try {
    const parsed = JSON.parse(body) as { reason?: string; message?: string };
    reason = parsed.reason ?? '';
    message = parsed.message ?? message;
  } catch {
    // not a Status object: keep the text
  }
  return new ApiError(status, reason, `${what}: HTTP ${status}: ${message}`);
}
