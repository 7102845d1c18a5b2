/**
 * Exponential backoff with jitter, shared by the work queue (retries of a failing key) and the
 * informers (restarts of a broken list or watch). Jitter keeps many failing keys or many watches
 * from retrying in lockstep against an API server that just came back.
 */

export interface BackoffOptions {
  /** Delay after the first failure. @default 200 */
  readonly baseMs?: number;
  /** Largest delay. @default 60000 */
  readonly maxMs?: number;
  /** Fraction of the delay added at random (0 = none). @default 0.1 */
  readonly jitter?: number;
}

/** The delay before retry number `failures` (1 = first retry). */
export function backoffDelay(failures: number, options: BackoffOptions = {}): number {
  const base = options.baseMs ?? 200;
  const max = options.maxMs ?? 60_000;
  const jitter = options.jitter ?? 0.1;
  const delay = Math.min(max, base * 2 ** Math.max(0, failures - 1));
  return Math.round(delay * (1 + jitter * Math.random()));
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
