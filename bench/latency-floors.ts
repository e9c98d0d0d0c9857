/**
 * The own-latency benchmark's bare readers in a process of their own, so their receive times are not
 * delayed by the benchmark's producer and output readers on the same event loop:
 *   node dist/bench/latency-floors.js <endpoint> <input stream ARN> <GetRecords interval ms> <consumer name>
 * Runs a bare GetRecords loop and a bare subscription on every shard of the input (see
 * `support/latency-readers.ts`), prints `ready` once both are up, then one line per record id's first
 * arrival, `<P|S> <id> <sent_at> <received at>` (P: the GetRecords loop, S: the subscription), until SIGTERM.
 */
import { Agent } from 'node:http';
import { KinesisClient, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { PollingFloor, SubscriptionFloor, type Watcher } from './support/latency-readers';

async function main(): Promise<void> {
  const [endpoint, inputArn, interval, consumerName] = process.argv.slice(2);
  const client = new KinesisClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: '000000000000', secretAccessKey: 'bench' },
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: 16 }) }),
  });
  const shards = ((await client.send(new ListShardsCommand({ StreamARN: inputArn }))).Shards ?? []).map((s) => s.ShardId!);
  let lines: string[] = [];
  const flush = () => {
    if (lines.length > 0) process.stdout.write(lines.join(''));
    lines = [];
  };
  const flusher = setInterval(flush, 20);
  const report = (tag: string, w: Watcher) => {
    w.onArrival = (id, a) => void lines.push(`${tag} ${id} ${a.sentAt} ${a.receivedAt}\n`);
  };
  const subscription = new SubscriptionFloor(endpoint, inputArn, consumerName);
  report('S', subscription);
  await subscription.start(shards);
  const polling = new PollingFloor(client, inputArn, Number(interval));
  report('P', polling);
  polling.start(shards);
  process.stdout.write('ready\n');
  process.once('SIGTERM', () => {
    void (async () => {
      clearInterval(flusher);
      await Promise.all([polling.stop(), subscription.stop()]);
      flush();
      process.stderr.write(`latency floors: errors ${JSON.stringify({ getRecords: polling.errors, subscription: subscription.errors })}\n`);
      client.destroy();
      process.exit(0);
    })();
  });
}

main().catch((err) => {
  process.stderr.write(`latency floors failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
