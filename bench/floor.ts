/**
 * The floor the throughput benchmark compares shardflow with: the same AWS SDK client and transport
 * (HTTP/1.1 keep-alive) in a plain loop per shard, GetRecords → PutRecords of the same bytes, with no
 * Redis, no transform, no leases and no checkpoints. Run as its own process so its CPU time and memory
 * are its own:
 *   node dist/bench/floor.js <endpoint> <input stream ARN> <output stream ARN> <records to copy> [JSON]
 * With `JSON` the loop applies shardflow's own stock transform (the same `stockTransform`: UTF-8 decode,
 * one parse, the mapping, one stringify, UTF-8 encode) to each record before it is put: the floor for the
 * same work, so the distance from it is shardflow's own machinery (leases, checkpoints, the sink's
 * ordering and buffering, Redis), where the bare floor's distance also holds the transform.
 * Prints one JSON line when done: {"records": N, "elapsedMs": T}.
 */
import { Agent } from 'node:http';
import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListShardsCommand, PutRecordsCommand, type PutRecordsRequestEntry, type _Record } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { stockTransform } from '../worker/transform/stock-transform';

const PUT_BATCH = 500;

/** The record's bytes as shardflow's stock transform writes them; bench records are all stock records. */
function transformed(shardId: string, r: _Record): Uint8Array {
  const result = stockTransform.transform({ shardId, sequenceNumber: r.SequenceNumber!, partitionKey: r.PartitionKey!, data: r.Data! });
  if (!result.ok) throw new Error(`record ${r.SequenceNumber} is not a stock record: ${result.reason}`);
  return result.data;
}

async function copyShard(client: KinesisClient, input: string, output: string, shardId: string, transform: boolean, done: () => boolean, count: (n: number) => void): Promise<void> {
  let iterator = (await client.send(new GetShardIteratorCommand({ StreamARN: input, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
  while (iterator && !done()) {
    const out = await client.send(new GetRecordsCommand({ StreamARN: input, ShardIterator: iterator, Limit: 10_000 }));
    iterator = out.NextShardIterator;
    const records = out.Records ?? [];
    if (records.length === 0) {
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    const puts: Array<Promise<unknown>> = [];
    for (let i = 0; i < records.length; i += PUT_BATCH) {
      let batch: PutRecordsRequestEntry[] = records.slice(i, i + PUT_BATCH).map((r) => ({ PartitionKey: r.PartitionKey, Data: transform ? transformed(shardId, r) : r.Data }));
      puts.push(
        (async () => {
          while (batch.length > 0) {
            const res = await client.send(new PutRecordsCommand({ StreamARN: output, Records: batch }));
            const sent = batch.length;
            batch = res.FailedRecordCount ? batch.filter((_, j) => res.Records?.[j]?.ErrorCode) : [];
            count(sent - batch.length);
          }
        })(),
      );
    }
    await Promise.all(puts);
  }
}

async function main(): Promise<void> {
  const [endpoint, input, output, total, serialization] = process.argv.slice(2);
  const transform = serialization === 'JSON';
  const target = Number(total);
  const client = new KinesisClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: 50 }) }),
  });
  const shards = (await client.send(new ListShardsCommand({ StreamARN: input }))).Shards ?? [];
  let copied = 0;
  const started = Date.now();
  await Promise.all(shards.map((s) => copyShard(client, input, output, s.ShardId!, transform, () => copied >= target, (n) => (copied += n))));
  process.stdout.write(`${JSON.stringify({ records: copied, elapsedMs: Date.now() - started })}\n`);
  client.destroy();
}

main().catch((err) => {
  process.stderr.write(`floor failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
