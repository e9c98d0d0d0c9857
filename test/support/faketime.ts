/**
 * A skewed host clock for one process: with libfaketime (Debian package `faketime`) when it is
 * installed, which moves every clock of the process; otherwise with a Node preload
 * (`skew-clock.js`) that moves `Date`, the clock a host-clock dependence in shardflow would read.
 *
 * The `faketime` command forks its program and does not pass signals on, so a process started under it
 * could not be stopped by its pid. `faketime` is asked instead for the environment it would give its
 * program (the preload and the offset), and the process is started directly with it: same clock, own pid.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** The environment that runs a process `offset` off the host clock (seconds, libfaketime syntax: '-30s', '+45s'). */
export function skewedClockEnv(offset: string): NodeJS.ProcessEnv {
  const seconds = /^([+-]\d+)s$/.exec(offset);
  if (!seconds) throw new Error(`clock offset ${JSON.stringify(offset)}: expected seconds such as "-30s"`);
  const run = spawnSync('faketime', ['-f', offset, 'env'], { encoding: 'utf8' });
  if (run.error || run.status !== 0) {
    // No libfaketime on this machine: skew the process's Date instead.
    const preload = join(__dirname, 'skew-clock.js');
    return { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${preload}`.trim(), SHARDFLOW_TEST_CLOCK_OFFSET_MS: String(Number(seconds[1]) * 1000) };
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
