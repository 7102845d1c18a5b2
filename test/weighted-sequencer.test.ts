import * as path from 'node:path';

// The sequencer is plain JavaScript because jest loads it before any transform.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const WeightedSequencer = require('./support/weighted-sequencer.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const measured: Record<string, number> = require('./support/suite-seconds.json');

const root = path.resolve(__dirname, '..');
const suite = (relative: string) => ({ path: path.join(root, relative), context: {} });

const suites = [
  ...Object.keys(measured).map(suite),
  suite('test/integration/brand-new-real-node.test.ts'),
  suite('test/brand-new.test.ts'),
];

function shards(count: number): string[][] {
  const sequencer = new WeightedSequencer({ contexts: [], globalConfig: {} });
  return Array.from({ length: count }, (_, i) =>
    sequencer.shard(suites, { shardIndex: i + 1, shardCount: count }).map((t: { path: string }) => t.path),
  );
}

describe('the weighted sequencer', () => {
  it.each([1, 2, 3])('gives each suite to exactly one of %i shards', (count) => {
    const all = shards(count).flat();
    expect(all.sort()).toEqual(suites.map((s) => s.path).sort());
  });

  it('splits by measured time, so no shard waits on the other for longer than the longest suite', () => {
    const seconds = shards(2).map((paths) =>
      paths.reduce((sum, p) => sum + WeightedSequencer.expectedSeconds(p), 0),
    );
    const longest = Math.max(...Object.values(measured));
    expect(Math.abs(seconds[0] - seconds[1])).toBeLessThanOrEqual(longest);
    // A split by count would put the two longest real-node suites together half the time; by time
    // they always land in different shards.
    const [first, second] = Object.entries(measured)
      .sort(([, a], [, b]) => b - a)
      .map(([file]) => path.join(root, file));
    const [one] = shards(2);
    expect(one.includes(first)).not.toBe(one.includes(second));
  });

  it('guesses the time of a suite it has not measured from its kind', () => {
    expect(
      WeightedSequencer.expectedSeconds(path.join(root, 'test/integration/brand-new-real-node.test.ts')),
    ).toBe(120);
    expect(WeightedSequencer.expectedSeconds(path.join(root, 'test/brand-new.test.ts'))).toBe(3);
  });

  it('runs the longest suites first', () => {
    const sequencer = new WeightedSequencer({ contexts: [], globalConfig: {} });
    const order = sequencer
      .sort(suites)
      .map((t: { path: string }) => WeightedSequencer.expectedSeconds(t.path));
    expect(order).toEqual([...order].sort((a: number, b: number) => b - a));
  });
});
