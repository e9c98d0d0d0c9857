/**
 * The poison-record tests' run: a real coordinator and worker copy a 4-shard stream on the in-memory
 * Kinesis while a steady producer writes to every shard; the test puts one bad record (or an aggregate
 * holding one) into shard 1 half-way, and the run then checks what issue #24 asks of every such record:
 * every good record written before and after it arrives, the bad one is in the dead-letter queue with
 * its reason, every shard's checkpoint (the poisoned one's included) moves past where it was when the bad
 * record went in, and the worker stays up and ready throughout.
 */
import { PutRecordCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { comparePositionStrings } from '../../shared/position';
import type { DeadLetter } from '../../shared/records';
import { AppKeys } from '../../shared/redis/keys';
import { assertUp, opsUrl, readiness, type FaultPipelines, type Pipeline } from './fault-pipeline';
import { json, readAll } from './kinesis';
import { deadLetters } from './redis';
import { waitFor } from './wait';

export const SHARDS = 4;

/** An explicit hash key inside shard `index` of a stream of `SHARDS` evenly split shards. */
export function hashKeyOfShard(index: number): string {
  return ((BigInt(index) * (1n << 128n)) / BigInt(SHARDS) + 12345n).toString();
}

/** A stock record as `stock.py` writes it, with a unique id. */
export function stock(id: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ event_time: new Date().toISOString(), ticker: 'AMZN', price: 12.5, id, ...extra });
}

/** Puts one record into shard `index` (explicit hash key); returns where it landed. */
export async function putToShard(client: KinesisClient, streamArn: string, index: number, data: Uint8Array | string, partitionKey = 'poison'): Promise<{ shardId: string; sequenceNumber: string }> {
  const out = await client.send(new PutRecordCommand({ StreamARN: streamArn, PartitionKey: partitionKey, ExplicitHashKey: hashKeyOfShard(index), Data: typeof data === 'string' ? Buffer.from(data) : data }));
  return { shardId: out.ShardId!, sequenceNumber: out.SequenceNumber! };
}

export interface PoisonOutcome {
  letters: DeadLetter[];
  /** Where the bad record went in. */
  poison: { shardId: string; sequenceNumber: string };
  /** The worker's `/readyz` statuses sampled through the run. */
  readiness: number[];
}

/**
 * Runs the producer, puts the bad record in (`inject`) once records flow, produces as much again, and
 * checks delivery, checkpoints and readiness. `goodIds`: ids of good records `inject` wrote besides the
 * producer's (an aggregate's good user records). Returns the dead letters for the test's own checks.
 */
export async function poisonRun(
  f: FaultPipelines,
  p: Pipeline,
  inject: () => Promise<{ poison: { shardId: string; sequenceNumber: string }; goodIds: string[] }>,
  options: { letters?: number } = {},
): Promise<PoisonOutcome> {
  const worker = p.workers[0];
  const url = await opsUrl(worker);
  const statuses: number[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      statuses.push((await readiness(url).catch(() => ({ status: 0 }))).status);
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  try {
    const producer = f.h.producer(p.inArn, { perSecond: 200, keys: 16, prefix: p.app });
    await waitFor(() => producer.produced.length >= 200, 30_000, '200 records produced');
    const keys = new AppKeys(p.app).stream(p.inArn);
    const before = await f.h.redis.hgetall(keys.checkpoints);
    const { poison, goodIds } = await inject();
    const atPoison = producer.produced.length;
    await waitFor(() => producer.produced.length >= atPoison + 400, 30_000, '400 more records produced');
    const produced = await producer.stop();

    const expected = new Set([...produced.map((r) => r.id), ...goodIds]);
    await waitFor(
      async () => {
        const seen = new Set((await readAll(f.ep.client, p.outArn)).map((r) => String(json(r).id)));
        return [...expected].every((id) => seen.has(id));
      },
      60_000,
      () => `every good record (${expected.size}) in the output`,
      500,
      () => assertUp([p.coordinator, ...p.workers]),
    );
    const letters = await waitFor(
      async () => {
        const all = await deadLetters(f.h.redis, p.app);
        return all.length >= (options.letters ?? 1) ? all : undefined;
      },
      60_000,
      'the dead letters',
      500,
    );
    // Every shard moved on past where it was, the poisoned one past the bad record.
    await waitFor(
      async () => {
        const after = await f.h.redis.hgetall(keys.checkpoints);
        return Object.keys(after).length === SHARDS && Object.entries(after).every(([shard, cp]) => before[shard] === undefined || comparePositionStrings(cp, before[shard]) > 0) && comparePositionStrings(after[poison.shardId], poison.sequenceNumber) >= 0;
      },
      30_000,
      'every shard checkpointed past the bad record\'s time, its own shard past the bad record',
    );
    assertUp([p.coordinator, ...p.workers]);
    return { letters, poison, readiness: statuses };
  } finally {
    sampling = false;
    await sampler;
  }
}
