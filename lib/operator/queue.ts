/**
 * The work queue between watch events and reconciles.
 *
 * Events arrive far more often than reconciles are useful: a StatefulSet's status changes several
 * times while its pods start, and each change names the same owner. The queue folds them: a key is
 * queued at most once, a key being processed is never handed to a second worker (events for it
 * mark it dirty and it runs once more afterwards), failures retry with per-key exponential backoff,
 * and a fixed number of workers bounds the load on the API server.
 */
import { backoffDelay, type BackoffOptions } from './backoff';

/** What processing a key asks of the queue. */
export interface ProcessResult {
  /** Process the key again after this many milliseconds (a wait, not a failure). */
  readonly requeueAfterMs?: number;
}

export interface WorkQueueOptions<K> {
  /** Reconciles one key. A throw is a failure: the key is retried with backoff. */
  readonly process: (key: K) => Promise<ProcessResult | void>;
  /** @default 2 */
  readonly workers?: number;
  /** Backoff of failing keys. @default - 200 ms doubling up to 60 s */
  readonly backoff?: BackoffOptions;
  /** Called whenever the number of waiting keys changes (for the queue-depth gauge). */
  readonly onDepth?: (depth: number) => void;
  /** Called with each failure (for logs); the queue itself never throws. */
  readonly onError?: (key: K, error: unknown, failures: number, retryInMs: number) => void;
}

export class WorkQueue<K = string> {
  private readonly pending: K[] = [];
  private readonly queued = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly dirty = new Set<K>();
  private readonly failures = new Map<K, number>();
  private readonly timers = new Map<K, { at: number; timer: NodeJS.Timeout }>();
  private readonly idleWaiters: (() => void)[] = [];
  private running = false;
  private stopping = false;
  private active = 0;

  constructor(private readonly options: WorkQueueOptions<K>) {}

  /** Queues `key` unless it is already waiting; a key being processed runs once more afterwards. */
  public add(key: K): void {
    if (this.stopping) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.pending.push(key);
    this.depthChanged();
    this.pump();
  }

  /** Queues `key` after `ms`; an earlier scheduled add for the same key wins. */
  public addAfter(key: K, ms: number): void {
    if (this.stopping) return;
    if (ms <= 0) return this.add(key);
    const at = Date.now() + ms;
    const existing = this.timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** Keys waiting to be processed (not counting those in progress or scheduled for later). */
  public get depth(): number {
    return this.pending.length;
  }

  /** Starts the workers; keys added before this wait until then. */
  public start(): void {
    this.running = true;
    this.pump();
  }

  /** Stops handing out keys and resolves when the keys in progress are done. */
  public async shutdown(): Promise<void> {
    this.stopping = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await this.idle();
  }

  /** Resolves when no key is being processed. */
  public idle(): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    const workers = this.options.workers ?? 2;
    while (this.running && !this.stopping && this.active < workers && this.pending.length > 0) {
      const key = this.pending.shift()!;
      this.queued.delete(key);
      this.depthChanged();
      this.active++;
      this.processing.add(key);
      void this.run(key);
    }
  }

  private async run(key: K): Promise<void> {
    let retryInMs: number | undefined;
    let failed = false;
    try {
      const result = await this.options.process(key);
      this.failures.delete(key);
      retryInMs = result?.requeueAfterMs;
    } catch (error) {
      failed = true;
      const failures = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, failures);
      retryInMs = backoffDelay(failures, this.options.backoff);
      this.options.onError?.(key, error, failures, retryInMs);
    } finally {
      this.processing.delete(key);
      this.active--;
    }
    // A failing key waits out its backoff even when new events arrived meanwhile (they fold into
    // the retry); a successful one runs again at once if it changed while it was processed.
    const changed = this.dirty.delete(key);
    if (failed) this.addAfter(key, retryInMs!);
    else if (changed) this.add(key);
    else if (retryInMs !== undefined) this.addAfter(key, retryInMs);
    if (this.active === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
    this.pump();
  }

  private depthChanged(): void {
    this.options.onDepth?.(this.pending.length);
  }
}
