/**
 * A skewed host clock for one process, with libfaketime (Debian package `faketime`).
 *
 * The `faketime` command forks its program and does not pass signals on, so a process started under it
 * could not be stopped by its pid. `faketime` is asked instead for the environment it would give its
 * program (the preload and the offset), and the process is started directly with it: same clock, own pid.
 */
import { spawnSync } from 'node:child_process';

/** The environment that runs a process `offset` off the host clock (libfaketime syntax: '-30s', '+2m'). */
export function skewedClockEnv(offset: string): NodeJS.ProcessEnv {
  const run = spawnSync('faketime', ['-f', offset, 'env'], { encoding: 'utf8' });
  if (run.error || run.status !== 0) {
    throw new Error(`faketime is needed to skew a process's clock and could not run (${run.error?.message ?? run.stderr.trim()}): apt-get install faketime`);
  }
  const env: NodeJS.ProcessEnv = {};
  for (const line of run.stdout.split('\n')) {
    const [name, ...value] = line.split('=');
    // FAKETIME_SHARED names shared memory that the faketime parent removes when it exits: not wanted.
    if (name === 'LD_PRELOAD' || (name.startsWith('FAKETIME') && name !== 'FAKETIME_SHARED')) env[name] = value.join('=');
  }
  if (!env.LD_PRELOAD || env.FAKETIME !== offset) throw new Error(`faketime did not give its preload and offset (${run.stdout}): apt-get install faketime`);
  return env;
}
