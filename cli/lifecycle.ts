/**
 * Process lifecycle shared by every command: exit codes (0 clean stop, 2 bad configuration or
 * arguments, 3 Redis lost the application's state, 1 anything else) and graceful SIGINT/SIGTERM handling.
 */
import { ConfigError } from '../shared/config/config-error';
import type { Logger } from '../shared/logging';
import { STATE_LOST_EXIT_CODE, StateLostError } from '../shared/redis/app-state';

export class FatalError extends Error {
  override readonly name = 'FatalError';
}

/**
 * Runs `stop` once on the first SIGINT/SIGTERM (or when the returned trigger is called, for example on
 * an application shutdown request), then exits 0 (or the trigger's exit code). A second signal calls
 * `hurry` when given (a worker then hands its leases over without waiting for the output, and still
 * releases them), and a third forces exit 1; without `hurry` the second one forces exit 1.
 */
export function onShutdownSignal(stop: (reason: string) => Promise<void>, hurry?: () => void): (reason: string, exitCode?: number) => void {
  let stopping = false;
  let signals = 0;
  const handler = (signal: string, exitCode = 0) => {
    if (signal.startsWith('SIG')) signals += 1;
    if (stopping && signal.startsWith('SIG')) {
      if (hurry && signals === 2) {
        process.stderr.write(`received ${signal} again; handing over now (a third one exits at once)\n`);
        hurry();
        return;
      }
      process.stderr.write(`received ${signal} again; exiting now\n`);
      process.exit(1);
    }
    if (stopping) return;
    stopping = true;
    stop(signal).then(
      () => process.exit(exitCode),
      (err) => {
        process.stderr.write(`error while stopping: ${(err as Error).stack ?? err}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', (signal) => handler(signal));
  process.on('SIGTERM', (signal) => handler(signal));
  // Started by the local stack: when the stack goes away, so do we (gracefully).
  if (process.send) process.once('disconnect', () => handler('SIGTERM'));
  return handler;
}

/** Prints a failure the way the exit-code contract says and exits. */
export function exitWithError(err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  if (err instanceof StateLostError) {
    process.stderr.write(`shardflow: ${err.message}\n`);
    process.exit(STATE_LOST_EXIT_CODE);
  }
  if (err instanceof FatalError) {
    process.stderr.write(`shardflow: ${err.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`shardflow: fatal error: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
}

/**
 * A running worker or coordinator that finds the application's state lost stops at once with exit
 * code 3: no flush, no checkpoint, no release, since the state those would write to is gone (and
 * writing it again would look like a fresh application).
 */
export function exitOnStateLost(log: Logger): (err: StateLostError) => void {
  let exiting = false;
  const handler = (err: StateLostError) => {
    if (exiting) return;
    exiting = true;
    log.error({ app: err.app, reason: err.reason, exitCode: STATE_LOST_EXIT_CODE }, err.message);
    process.exit(STATE_LOST_EXIT_CODE);
  };
  return handler;
}
