import { WorkQueue } from '../lib/operator/queue';

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('WorkQueue', () => {
  it('folds repeated adds of a waiting key into one run', async () => {
    const seen: string[] = [];
    const queue = new WorkQueue<string>({ process: async (k) => void seen.push(k), workers: 1 });
    queue.add('a');
    queue.add('b');
    queue.add('a');
    queue.add('a');
    queue.start();
    await tick(10);
    await queue.idle();
    expect(seen).toEqual(['a', 'b']);
  });

  it('never processes one key on two workers; an add during processing runs it once more', async () => {
    const gate = deferred();
    let concurrent = 0;
    let maxConcurrent = 0;
    let runs = 0;
    const queue = new WorkQueue<string>({
      workers: 4,
      process: async () => {
        concurrent++;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        runs++;
        if (runs === 1) await gate.promise;
        concurrent--;
      },
    });
    queue.start();
    queue.add('a');
    await tick();
    queue.add('a');
    queue.add('a');
    await tick();
    expect(runs).toBe(1);
    gate.resolve();
    await tick(10);
    await queue.idle();
    expect(runs).toBe(2);
    expect(maxConcurrent).toBe(1);
  });

  it('runs at most `workers` keys at once', async () => {
    let concurrent = 0;
    let maxConcurrent = 0;
    const queue = new WorkQueue<number>({
      workers: 3,
      process: async () => {
        concurrent++;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        await tick(5);
        concurrent--;
      },
    });
    for (let i = 0; i < 20; i++) queue.add(i);
    queue.start();
    await tick(100);
    await queue.idle();
    expect(maxConcurrent).toBe(3);
  });

  it('retries a failing key with growing delays and resets after a success', async () => {
    const attempts: number[] = [];
    const delays: number[] = [];
    const queue = new WorkQueue<string>({
      workers: 1,
      backoff: { baseMs: 10, maxMs: 1000, jitter: 0 },
      process: async () => {
        attempts.push(Date.now());
        if (attempts.length < 4) throw new Error('boom');
      },
      onError: (_k, _e, _f, retryInMs) => delays.push(retryInMs),
    });
    queue.start();
    queue.add('a');
    await tick(200);
    expect(attempts).toHaveLength(4);
    expect(delays).toEqual([10, 20, 40]);
  });

  it('requeues after the asked delay without counting a failure', async () => {
    let runs = 0;
    const queue = new WorkQueue<string>({
      process: async () => (++runs < 3 ? { requeueAfterMs: 5 } : undefined),
      onError: () => {
        throw new Error('not a failure');
      },
    });
    queue.start();
    queue.add('a');
    await tick(100);
    expect(runs).toBe(3);
  });

  it('reports its depth and drains in-flight keys on shutdown', async () => {
    const depths: number[] = [];
    const gate = deferred();
    let finished = false;
    const queue = new WorkQueue<string>({
      workers: 1,
      onDepth: (d) => depths.push(d),
      process: async () => {
        await gate.promise;
        finished = true;
      },
    });
    queue.add('a');
    queue.add('b');
    expect(queue.depth).toBe(2);
    queue.start();
    const done = queue.shutdown();
    gate.resolve();
    await done;
    expect(finished).toBe(true);
    expect(depths).toEqual([1, 2, 1]);
  });
});
