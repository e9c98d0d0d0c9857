/**
 * Tests that start private Redis processes (restarted, frozen or emptied under the workers, TLS-only, a
 * Sentinel group, a Cluster, the local stack's own) need Debian's `redis-server` package on the PATH,
 * and `redis-cli` to build a Cluster. No npm package ships a Redis server, so `npm ci` cannot provide
 * one: on a machine without these programs, such tests are skipped with one line naming what is
 * missing, and the rest of `npm test` runs. `SHARDFLOW_TEST_REQUIRE_PROGRAMS=1` (set by `.ci/run`, which
 * installs them) turns a missing program into a failure instead, so CI never passes by skipping.
 */
import { programOnPath } from '../../cli/local/redis-server';

const onPathCache = new Map<string, boolean>();

/** How each program prints its version (openssl has no `--version`). */
const VERSION_ARGS: Record<string, string[]> = { openssl: ['version'] };

/** The programs of `programs` that are not on the PATH (each probed once per test file). */
function missingPrograms(programs: readonly string[]): string[] {
  return programs.filter((program) => {
    let found = onPathCache.get(program);
    if (found === undefined) {
      found = programOnPath(program, VERSION_ARGS[program]);
      onPathCache.set(program, found);
    }
    return !found;
  });
}

/** Skips, or under SHARDFLOW_TEST_REQUIRE_PROGRAMS=1 fails the test file, when a program is missing. */
function checkOrSkip(absent: string[]): void {
  const names = `${absent.join(' and ')} ${absent.length > 1 ? 'are' : 'is'} not on the PATH`;
  if (process.env.SHARDFLOW_TEST_REQUIRE_PROGRAMS === '1') throw new Error(`${names}, and SHARDFLOW_TEST_REQUIRE_PROGRAMS=1 asks for them`);
  const packages = [...new Set(absent.map((program) => PACKAGE_OF[program] ?? program))];
  // Straight to stderr: Jest drops the console output of a file whose tests are all skipped.
  process.stderr.write(`${names}: skipping the tests in this file that need ${absent.length > 1 ? 'them' : 'it'} (Debian's ${packages.join(' and ')} package${packages.length > 1 ? 's' : ''})\n`);
}

/** The Debian package that brings each program the tests may need. */
const PACKAGE_OF: Record<string, string> = { 'redis-server': 'redis-server', 'redis-cli': 'redis-server', openssl: 'openssl', promtool: 'prometheus', prometheus: 'prometheus' };

/** `test` when every one of `programs` is on the PATH; otherwise `test.skip`, after one line saying which is missing. */
export function testNeeding(...programs: string[]): jest.It {
  const absent = missingPrograms(programs);
  if (absent.length === 0) return test;
  checkOrSkip(absent);
  return test.skip;
}

/** `describe` when every one of `programs` is on the PATH; otherwise `describe.skip`, as `testNeeding`. */
export function describeNeeding(...programs: string[]): jest.Describe {
  const absent = missingPrograms(programs);
  if (absent.length === 0) return describe;
  checkOrSkip(absent);
  return describe.skip;
}
