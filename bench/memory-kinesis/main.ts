/**
 * Runs the benchmark's in-memory Kinesis in its own process, so its CPU is not the measured process's:
 *   node dist/bench/memory-kinesis/main.js [--port N] [--host 127.0.0.1] [--subscription-seconds S]
 * `--port 0` (the default) takes any free port. Prints {"event":"listening","endpoint":"http://HOST:PORT"}
 * on stdout when ready; SIGTERM or SIGINT closes it and exits 0. Wrong arguments exit 2.
 *
 * Besides the Kinesis operations it serves the `/_bench/` routes (stats, throttle, faults, chaos,
 * shards/expire, puts); see server.ts.
 */
import { MemoryKinesis } from './server';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function numberArg(name: string, fallback: number, valid: (n: number) => boolean): number {
  const text = arg(name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!valid(n)) {
    process.stderr.write(`memory-kinesis: ${name} ${text} is not valid\n`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<void> {
  const port = numberArg('--port', 0, (n) => Number.isInteger(n) && n >= 0 && n <= 65535);
  const subscriptionSeconds = numberArg('--subscription-seconds', 300, (n) => Number.isFinite(n) && n > 0);
  const server = new MemoryKinesis({ subscriptionMs: subscriptionSeconds * 1000 });
  const endpoint = await server.listen(port, arg('--host') ?? '127.0.0.1');
  process.stdout.write(`${JSON.stringify({ event: 'listening', endpoint })}\n`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`memory-kinesis: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
