/**
 * Runs the benchmark's in-memory Kinesis in its own process (so its CPU is not the measured process's):
 *   node dist/bench/memory-kinesis/main.js [--port N] [--host 127.0.0.1] [--subscription-seconds S]
 * Prints {"event":"listening","endpoint":"http://127.0.0.1:PORT"} when ready; SIGTERM or SIGINT stops it.
 */
import { MemoryKinesis } from './server';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const subscription = arg('--subscription-seconds');
  const server = new MemoryKinesis({ subscriptionMs: subscription ? Number(subscription) * 1000 : undefined });
  const endpoint = await server.listen(Number(arg('--port') ?? 0), arg('--host') ?? '127.0.0.1');
  process.stdout.write(`${JSON.stringify({ event: 'listening', endpoint })}\n`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

void main();
