/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  setupFiles: ['<rootDir>/test/support/setup.ts'],
  // Integration tests start kinesis-local and CLI processes; a 2-core machine runs two at a time.
  maxWorkers: 2,
  // A safety net, scaled like every wait in the tests (test/support/wait.ts: TEST_PATIENCE, default 3).
  testTimeout: 120000 * (Number(process.env.TEST_PATIENCE) > 0 ? Number(process.env.TEST_PATIENCE) : 3),
};
