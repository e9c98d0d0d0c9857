/**
 * Waits on a condition with a deadline; never a sleep for luck. A probe that throws is retried (the
 * thing it reads may not be up yet); `giveUpIf` throwing ends the wait at once (a process it waits on
 * has died, so waiting out the deadline would only hide the cause).
 */
/**
 * How many times longer than its written deadline a wait may take. A deadline in a test is a safety net
 * that turns a hang into a failure, never a measurement (the figures belong to `npm run bench`), so a
 * busy machine must slow the tests down, not fail them: 3 by default; `TEST_PATIENCE=1` for quick
 * feedback while debugging. jest's own test timeout scales with it too (jest.config.js).
 */
export const PATIENCE = Number(process.env.TEST_PATIENCE) > 0 ? Number(process.env.TEST_PATIENCE) : 3;

/** A deadline scaled by PATIENCE. */
export function patient(ms: number): number {
  return ms * PATIENCE;
}

export async function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  what: string | (() => string),
  everyMs = 200,
  giveUpIf: () => void = () => undefined,
): Promise<T> {
  const allowed = patient(timeoutMs);
  const deadline = Date.now() + allowed;
  let lastError: unknown;
  for (;;) {
    giveUpIf();
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value as T;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${allowed} ms waiting for ${typeof what === 'function' ? what() : what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
