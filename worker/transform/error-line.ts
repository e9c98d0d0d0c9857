/** An error told in one line, as dead letters and log lines carry it. Pure. */

/** `Name: message`, the first line only, at most 500 characters. */
export function errorLine(err: unknown): string {
  let text: string;
  try {
    const e = err as { name?: unknown; message?: unknown } | null;
    text = e && typeof e.message === 'string' ? `${typeof e.name === 'string' ? e.name : 'Error'}: ${e.message}` : String(err);
  } catch {
    // A thrown value that cannot be shown: an object without a prototype, a throwing getter or toString.
    text = `a thrown ${err === null ? 'null' : typeof err} that cannot be shown as text`;
  }
  const line = text.split('\n')[0];
  return line.length > 500 ? `${line.slice(0, 497)}...` : line;
}

/**
 * Where the error was thrown: the first `at …` line of its stack (`at transform (file:///app/my.mjs:3:9)`),
 * or undefined for a thrown value that is not an Error or has no stack.
 */
export function stackLine(err: unknown): string | undefined {
  let stack: unknown;
  try {
    stack = (err as { stack?: unknown } | null)?.stack;
  } catch {
    return undefined;
  }
  if (typeof stack !== 'string') return undefined;
  const line = stack.split('\n').find((l) => /^\s+at /.test(l))?.trim();
  return line === undefined ? undefined : line.length > 500 ? `${line.slice(0, 497)}...` : line;
}
