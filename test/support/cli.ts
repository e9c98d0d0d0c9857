/** Spawns the real `shardflow` CLI (built by `npm test`'s build step) as a child process. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { patient, waitFor } from './wait';

// From test/support under ts-jest, or from dist/test/support when the benchmark (compiled) uses it.
export const BIN = [join(__dirname, '..', '..', 'bin', 'shardflow.js'), join(__dirname, '..', '..', '..', 'bin', 'shardflow.js')].find((p) => existsSync(p))!;

export interface CliProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `nodeArgs` go to node itself, e.g. `--cpu-prof`, which NODE_OPTIONS does not accept. */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}, nodeArgs: string[] = []): CliProcess {
  const child = spawn(process.execPath, [...nodeArgs, BIN, ...args], {
    // Any free port for /metrics, so parallel processes never collide.
    env: { ...process.env, SHARDFLOW_LOG_FORMAT: 'json', LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'info', METRICS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => text, exited };
}

/** Runs the CLI to completion; one that has not exited within `timeoutMs` is killed and fails the test. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 90_000): Promise<{ code: number | null; output: string }> {
  const p = spawnCli(args, env);
  const allowed = patient(timeoutMs);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), allowed);
  const { code, signal } = await p.exited;
  clearTimeout(timer);
  if (signal === 'SIGKILL') throw new Error(`shardflow ${args.join(' ')} did not exit within ${allowed / 1000} s:\n${p.output()}`);
  return { code, output: p.output() };
}

/** SIGTERM and wait for the exit; SIGKILL if it takes longer than the grace period. */
export async function stopCli(p: CliProcess, graceMs = 20_000): Promise<number | null> {
  if (p.child.exitCode !== null) return p.child.exitCode;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), patient(graceMs));
  const { code } = await p.exited;
  clearTimeout(timer);
  return code;
}

/**
 * Waits for `text` in the process's output. A process that exited without printing it fails the wait at
 * once (once its output is read to the end) instead of at the deadline. `tailChars` keeps a failure's
 * message to the end of a long output.
 */
export async function waitForLog(p: CliProcess, text: string, timeoutMs = 20_000, everyMs = 200, tailChars = Infinity): Promise<void> {
  const describe = () => `"${text}" in the output of shardflow ${p.child.spawnargs.slice(2).join(' ')}\n${p.output().slice(-tailChars)}`;
  await waitFor(() => p.output().includes(text), timeoutMs, describe, everyMs, () => {
    const exited = p.child.exitCode !== null || p.child.signalCode !== null;
    const allRead = (p.child.stdout?.readableEnded ?? true) && (p.child.stderr?.readableEnded ?? true);
    if (exited && allRead && !p.output().includes(text)) throw new Error(`the process exited (${p.child.exitCode ?? p.child.signalCode}) before printing ${describe()}`);
  });
}
