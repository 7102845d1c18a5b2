// Splits the suites of a sharded run (`jest --shard=i/n`, as test/run-tests.ts starts them) so that
// each shard gets about the same run time, not the same number of files: the real-node suites take
// minutes and the unit suites seconds, so jest's own split by count leaves one shard running long
// after the other. Each shard process computes the same split from the same table, so every suite
// runs exactly once.
//
// Times come from test/support/suite-seconds.json (measured by an earlier full run; `npm test`
// writes a fresh table to build/suite-seconds.json). A suite missing from it gets a guess from its
// kind. Within a shard the longest suites run first, so no long suite starts last.
const Sequencer = require('@jest/test-sequencer').default;
const path = require('node:path');
const measured = require('./suite-seconds.json');

const root = path.resolve(__dirname, '..', '..');

/** A suite's expected run time in seconds. */
function expectedSeconds(testPath) {
  const relative = path.relative(root, testPath).split(path.sep).join('/');
  if (measured[relative] !== undefined) return measured[relative];
  if (relative.endsWith('-real-node.test.ts')) return 120;
  if (relative.startsWith('test/integration/')) return 20;
  return 3;
}

/** Longest first; ties by path, so every process orders the same way. */
function longestFirst(a, b) {
  return (
    expectedSeconds(b.path) - expectedSeconds(a.path) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
  );
}

class WeightedSequencer extends Sequencer {
  shard(tests, { shardIndex, shardCount }) {
    // Longest-processing-time first: each suite goes to the shard with the least time so far.
    const loads = Array.from({ length: shardCount }, () => 0);
    const chosen = [];
    for (const test of [...tests].sort(longestFirst)) {
      const lightest = loads.indexOf(Math.min(...loads));
      loads[lightest] += expectedSeconds(test.path);
      if (lightest === shardIndex - 1) chosen.push(test);
    }
    return chosen;
  }

  sort(tests) {
    return [...tests].sort(longestFirst);
  }
}

module.exports = WeightedSequencer;
module.exports.expectedSeconds = expectedSeconds;
