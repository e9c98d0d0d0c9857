#!/usr/bin/env node
'use strict';
/**
 * `npm run test:stress`: the integration tests while two busy-loop processes burn a core each, as on a
 * busy CI runner or a developer's laptop in the middle of a build. Every timing bound in those tests is a
 * safety net, not a measurement (the figures belong to `npm run bench`), so they must pass like this too.
 *
 * Usage: node test/stress.js [jest arguments…]   (default: the integration tests)
 * The burners are stopped when jest exits, when this process is interrupted, and if it crashes.
 */
const { spawn } = require('node:child_process');
const path = require('node:path');

const BURNERS = Number(process.env.STRESS_BURNERS ?? 2);
const root = path.join(__dirname, '..');

const burners = Array.from({ length: BURNERS }, () =>
  // A tight loop that never yields: one full core each, for as long as the tests run.
  spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }),
);
function stopBurners() {
  for (const b of burners) if (b.exitCode === null && b.signalCode === null) b.kill('SIGKILL');
}
process.on('exit', stopBurners);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    stopBurners();
    process.exit(130);
  });
}

const args = process.argv.slice(2);
const jestArgs = args.length > 0 ? args : ['test/integration'];
const started = Date.now();
process.stdout.write(`stress: ${BURNERS} busy-loop processes (pids ${burners.map((b) => b.pid).join(', ')}) beside jest ${jestArgs.join(' ')}\n`);
const jest = spawn(process.execPath, [require.resolve('jest/bin/jest'), ...jestArgs], { cwd: root, stdio: 'inherit' });
jest.on('exit', (code, signal) => {
  stopBurners();
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  process.stdout.write(`stress: jest ${code === 0 ? 'passed' : `failed (${signal ?? `exit ${code}`})`} in ${seconds} s with ${BURNERS} busy-loop processes beside it\n`);
  process.exit(code ?? 1);
});
