/**
 * The peer contender of the throughput benchmark: lifion-kinesis, the best-known pure-Node Kinesis
 * consumer, copying a stream the way its README shows, in one process:
 *   - its polling consumer (`useEnhancedFanOut: false`) with its own leases, heartbeats and checkpoints,
 *     kept in DynamoDB served by dynalite in memory, in this same process;
 *   - `usePausedPolling`, so a shard's next GetRecords (and the checkpoint of the page before) waits until
 *     that page is written: at-least-once, as shardflow checkpoints only what its output acknowledged;
 *   - the stock transform shardflow runs (`worker/transform/stock-transform.ts`) on every record;
 *   - lifion's own putRecords, 500 entries a request, a page's requests in parallel, refused entries re-sent.
 * Run as its own process so its CPU time and memory are measured like the floor's and shardflow's:
 *   node dist/bench/peer/lifion-copier.js <endpoint> <input stream name> <output stream name> <records to copy>
 * Prints one JSON line when done: {"records": N, "rejected": N, "elapsedMs": T}, exits 0 five seconds later; exits 1 when
 * lifion reports an error it does not retry itself.
 */
import { Agent } from 'node:http';
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import Kinesis from 'lifion-kinesis';
import type { Stock } from '../../worker/transform/stock-transform';
import { transformConsumed } from './consumed-transform';

const PUT_BATCH = 500;
const LINGER_MS = 5000;
const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: '000000000000', secretAccessKey: 'bench' };

async function startDynalite(): Promise<{ endpoint: string; close: () => void }> {
  // No `path`: dynalite keeps its tables in memory (memory-level), so leveldown's native binding is never used.
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

async function main(): Promise<void> {
  const [endpoint, input, output, total] = process.argv.slice(2);
  const target = Number(total);
  const dynamo = await startDynalite();
  const agent = new Agent({ keepAlive: true, maxSockets: 50 });
  const warn = (...args: unknown[]) => process.stderr.write(`lifion: ${args.map(String).join(' ')}\n`);
  const kinesis = new Kinesis({
    streamName: input,
    consumerGroup: 'bench-peer',
    createStreamIfNeeded: false,
    initialPositionInStream: 'TRIM_HORIZON',
    useEnhancedFanOut: false,
    usePausedPolling: true,
    useAutoCheckpoints: true,
    limit: 10_000,
    logger: { debug: () => undefined, warn, error: warn },
    // aws-sdk v2 options for the Kinesis client: the bench endpoint over HTTP/1.1 keep-alive, as the floor's.
    endpoint,
    region: REGION,
    ...CREDENTIALS,
    httpOptions: { agent },
    dynamoDb: { endpoint: dynamo.endpoint, region: REGION, ...CREDENTIALS, httpOptions: { agent }, tableName: 'bench-peer-state' },
  });

  let copied = 0;
  let rejected = 0;
  let started = 0;
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    process.stdout.write(`${JSON.stringify({ records: copied, rejected, elapsedMs: Date.now() - started })}\n`);
    kinesis.stopConsumer();
    // Alive a little longer, so the benchmark's last CPU reading of this process is taken while it is there.
    setTimeout(() => {
      dynamo.close();
      agent.destroy();
      process.exit(0);
    }, LINGER_MS);
  };

  const write = async (entries: Array<{ data: Stock | string; partitionKey: string }>): Promise<void> => {
    let batch = entries;
    while (batch.length > 0) {
      const res = await kinesis.putRecords({ streamName: output, records: batch });
      const sent = batch.length;
      batch = batch.filter((_, i) => res.records[i]?.sequenceNumber === undefined);
      copied += sent - batch.length;
    }
  };

  kinesis.on('error', (err) => {
    process.stderr.write(`lifion-copier failed: ${err.stack ?? String(err)}\n`);
    process.exit(1);
  });
  kinesis.on('data', ({ records, shardId, continuePolling }) => {
    if (started === 0) started = Date.now();
    const entries: Array<{ data: Stock | string; partitionKey: string }> = [];
    for (const r of records) {
      const t = transformConsumed(r, shardId);
      if (t.ok) entries.push({ data: t.data, partitionKey: r.partitionKey });
      else rejected += 1; // shardflow sends these to its dead-letter queue; the bench input has none
    }
    const puts: Array<Promise<void>> = [];
    for (let i = 0; i < entries.length; i += PUT_BATCH) puts.push(write(entries.slice(i, i + PUT_BATCH)));
    Promise.all(puts).then(
      () => (copied + rejected >= target ? finish() : continuePolling?.()),
      (err: Error) => {
        process.stderr.write(`lifion-copier: putRecords failed: ${err.stack ?? String(err)}\n`);
        process.exit(1);
      },
    );
  });
  await kinesis.startConsumer();
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`lifion-copier failed: ${(err as Error).stack}\n`);
    process.exit(1);
  });
}
