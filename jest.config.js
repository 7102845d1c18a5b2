// Unit tests run without a cluster; integration tests share one real control plane per run
// (started in globalSetup, stopped in globalTeardown), so `jest --selectProjects unit` pays nothing.
//
// Tests are transpiled by @swc/jest (no type check: `npm test` runs `tsc --noEmit` once instead).
// @kubernetes/client-node 1.x and the auth libraries it pulls in ship ES modules only, so they are
// let through the transformer rather than ignored like the rest of node_modules.
const esmOnly = ['@kubernetes/client-node', 'openid-client', 'oauth4webapi', 'jose'];

const shared = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.(t|j|mj)s$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnly.join('|')})/)`],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
  modulePathIgnorePatterns: ['<rootDir>/build/', '<rootDir>/dist/'],
  // The example apps import the package by its name, as a user's program does (Node resolves the
  // name to the package itself); tests load the sources instead of build/.
  moduleNameMapper: { '^keelson$': '<rootDir>/index.ts', '^keelson/framework$': '<rootDir>/framework.ts' },
};

/** @type {import('jest').Config} */
module.exports = {
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  // Splits `--shard` runs by measured suite time and runs the longest suites first.
  testSequencer: '<rootDir>/test/support/weighted-sequencer.js',
  projects: [
    {
      ...shared,
      displayName: 'unit',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/integration/'],
      // Tests assert behaviour, not speed: jest's 5 s default fails a test that loads
      // client-node's ES modules while the machine is busy.
      testTimeout: 120_000,
    },
    {
      ...shared,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/integration/global-setup.ts',
      globalTeardown: '<rootDir>/test/integration/global-teardown.ts',
      // Waits are for conditions, not speed: the real-node product tests load both cores while the
      // kwok tests run beside them, so a wait's limit only bounds a test that would never pass.
      testTimeout: 600_000,
    },
  ],
};
