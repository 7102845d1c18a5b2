// Prints one closing line that CI and people can read the same way: "tests: N passed, N failed, N skipped".
// Under test/run-tests.ts (one jest process per shard) it also writes the counts and each suite's
// run time to the file named by KEELSON_TEST_RESULTS, from which the runner prints the run's total
// line and a fresh table of suite times. Before the closing line it lists the slowest tests, the
// first place to look when the run nears CI's time limit.
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const counts = {
      passed: results.numPassedTests,
      failed: results.numFailedTests,
      skipped: results.numPendingTests + results.numTodoTests,
    };
    process.stdout.write(slowestTests(results.testResults, 12));
    process.stdout.write(
      `tests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`,
    );
    const file = process.env.KEELSON_TEST_RESULTS;
    if (!file) return;
    const suiteSeconds = {};
    for (const suite of results.testResults) {
      const relative = path.relative(root, suite.testFilePath).split(path.sep).join('/');
      suiteSeconds[relative] = Math.round((suite.perfStats.end - suite.perfStats.start) / 1000);
    }
    const failedSuites = results.numFailedTestSuites + results.numRuntimeErrorTestSuites;
    fs.writeFileSync(file, JSON.stringify({ ...counts, failedSuites, suiteSeconds }));
  }
}

/** The `count` slowest tests of the run, one line each: seconds, file, full name. */
function slowestTests(suites, count) {
  const tests = suites.flatMap((suite) =>
    suite.testResults.map((test) => ({
      seconds: (test.duration ?? 0) / 1000,
      file: path.relative(root, suite.testFilePath).split(path.sep).join('/'),
      name: test.fullName,
    })),
  );
  const slowest = tests.sort((a, b) => b.seconds - a.seconds).slice(0, count);
  if (slowest.length === 0) return '';
  const lines = slowest.map((t) => `  ${t.seconds.toFixed(0).padStart(5)} s  ${t.file}: ${t.name}`);
  return `slowest tests:\n${lines.join('\n')}\n`;
}
module.exports = SummaryReporter;
