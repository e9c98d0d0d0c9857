/**
 * KPL aggregation end to end, with real processes (kinesis-local, Redis, `shardflow coordinator`,
 * `worker` and `dlq replay`). The aggregates are made by the independent `aws-kinesis-agg` package.
 * Every scenario runs through both readers.
 */
import { createHash } from 'node:crypto';
import { ListShardsCommand } from '@aws-sdk/client-kinesis';
import { Queue, Worker } from 'bullmq';
import { createStream, json, putAll, readAll, type ReadRecord } from '../support/kinesis';
import { localProperties, writeProperties } from '../support/properties';
import { runCli, waitForLog, type CliProcess } from '../support/cli';
import { deadLetters, REDIS_URL } from '../support/redis';
import { uniqueName, waitFor } from '../support/wait';
import { useClusterHarness } from '../support/harness';
import { compareDelivery } from '../support/delivery';
import { aggregateOf, withBadDigest } from '../support/aggregates';
import { AppKeys, DEAD_LETTER_QUEUE } from '../../shared/redis/keys';
import { parsePosition } from '../../shared/position';

const h = useClusterHarness();

interface Stock {
  event_time: string;
  ticker: string;
  price: number;
  id: string;
  key: string;
}

function stock(id: string, key: string, i: number): Stock {
  return { event_time: new Date(1_700_000_000_000 + i).toISOString(), ticker: 'MSFT', price: i % 100, id, key };
}

/** One Kinesis record aggregating `stocks` (each user record keyed by its stock's key); `outer` routes it to a shard. */
function aggregateEntry(stocks: readonly Stock[], outer: string) {
  const agg = aggregateOf(stocks.map((s) => ({ partitionKey: s.key, data: JSON.stringify(s) })));
  return { PartitionKey: outer, Data: agg.data };
}

/** The user records as `compareDelivery` reads input: in production order per key. */
const asInput = (stocks: readonly Stock[]): ReadRecord[] => stocks.map((s) => ({ shardId: '-', sequenceNumber: '-', partitionKey: s.key, data: Buffer.from(JSON.stringify(s)) }));

/** Sums every series of a Prometheus counter of a running shardflow process. */
async function counter(p: CliProcess, name: string): Promise<number> {
  const url = /"metrics":"(http:[^"]+)"/.exec(p.output())?.[1];
  if (!url) throw new Error('no metrics URL in the output yet');
  const text = await (await fetch(url)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

interface ReaderCase {
  name: string;
  input: (app: string) => Record<string, string>;
}

const READERS: ReaderCase[] = [
  { name: 'POLLING', input: () => ({ 'source.reader.type': 'POLLING' }) },
  { name: 'EFO', input: (app) => ({ 'source.reader.type': 'EFO', 'source.efo.consumer.name': `consumer-${app}` }) },
];

describe.each(READERS)('$name reader', ({ input }) => {
  test('aggregated input is delivered user record by user record, transformed, in per-key order; a corrupt aggregate is dead-lettered whole and the shard goes on', async () => {
    const app = h.app('it-kpl');
    const inputArn = await createStream(h.client, uniqueName('in'), 2);
    const outputArn = await createStream(h.client, uniqueName('out'), 1);
    const properties = writeProperties(localProperties(h.kinesis.endpoint, inputArn, outputArn, { InputStream0: input(app) }));

    // Two groups of keys; each group's aggregates share an outer key, so a key's user records stay in one shard.
    const groups = [['a1', 'a2', 'a3'], ['b1', 'b2']];
    const stocks: Stock[] = [];
    const entries: Array<{ PartitionKey: string; Data: Uint8Array }> = [];
    let n = 0;
    for (let round = 0; round < 6; round++) {
      for (const [g, keys] of groups.entries()) {
        const batch = Array.from({ length: 40 + 10 * g }, () => {
          const s = stock(`u-${n}`, keys[n % keys.length], n);
          n += 1;
          return s;
        });
        stocks.push(...batch);
        entries.push(aggregateEntry(batch, `group-${g}`));
      }
      // A plain (not aggregated) record passes through as it is.
      const single = stock(`p-${round}`, 'group-0', n++);
      stocks.push(single);
      entries.push({ PartitionKey: `group-0`, Data: Buffer.from(JSON.stringify(single)) });
    }
    const corrupt = withBadDigest(aggregateEntry([stock('lost-0', 'a1', 0), stock('lost-1', 'a2', 1)], 'group-0').Data as Buffer);
    entries.splice(5, 0, { PartitionKey: 'group-0', Data: corrupt });
    // One PutRecords call at a time keeps the order within a group.
    for (const entry of entries) await putAll(h.client, inputArn, [entry]);

    h.start('coordinator', properties, app);
    const worker = h.start('worker', properties, app);
    const output = await waitFor(async () => {
      const records = await readAll(h.client, outputArn);
      return records.length >= stocks.length ? records : undefined;
    }, 90_000, `all ${stocks.length} user records in the output`, 500, () => {
      if (worker.child.exitCode !== null) throw new Error(`the worker exited:\n${worker.output()}`);
    });

    const delivery = compareDelivery(asInput(stocks), output);
    expect(delivery).toMatchObject({ missing: [], duplicates: 0, outOfOrderKeys: [] });
    expect(output).toHaveLength(stocks.length);
    const byId = new Map(output.map((r) => [json(r).id as string, r]));
    for (const s of stocks) {
      // Transformed (the ticker becomes AMZN); the user record's own partition key goes on.
      expect(json(byId.get(s.id)!)).toEqual({ ...s, ticker: 'AMZN' });
      expect(byId.get(s.id)!.partitionKey).toBe(s.key);
    }

    const letters = await deadLetters(h.redis, app);
    expect(letters).toHaveLength(1);
    expect(letters[0].reason).toMatch(/^corrupt aggregate: /);
    expect(Buffer.from(letters[0].payload, 'base64').equals(corrupt)).toBe(true);
    expect(letters[0].subSequenceNumber).toBeUndefined();

    // User records whose own hash key lies outside the shard that got their aggregate are counted.
    const shards = (await h.client.send(new ListShardsCommand({ StreamARN: inputArn }))).Shards!;
    const shardOf = (key: string) => {
      const hash = BigInt(`0x${createHash('md5').update(key).digest('hex')}`);
      return shards.find((s) => hash >= BigInt(s.HashKeyRange!.StartingHashKey!) && hash <= BigInt(s.HashKeyRange!.EndingHashKey!))!.ShardId;
    };
    const aggregatedStocks = stocks.filter((s) => s.id.startsWith('u-'));
    const outside = aggregatedStocks.filter((s) => shardOf(s.key) !== shardOf(s.key.startsWith('a') ? 'group-0' : 'group-1')).length;
    await waitFor(async () => (await counter(worker, 'shardflow_user_records_outside_shard_total')) === outside || undefined, 10_000, `${outside} user records counted outside their shard`);
    expect(await h.stopAll()).toEqual([0, 0]);
  });

  test('kill -9 of a worker in the middle of an aggregate: nothing lost, acknowledged user records not re-sent, re-sent ones counted', async () => {
    const app = h.app('it-kpl-crash');
    const inputArn = await createStream(h.client, uniqueName('in'), 1);
    const outputArn = await createStream(h.client, uniqueName('out'), 1);
    // A slow output: ten keys (one record per key in flight), one request of at most 10 at a time, so checkpoints move every 10 user records.
    const properties = writeProperties(
      localProperties(h.kinesis.endpoint, inputArn, outputArn, {
        InputStream0: input(app),
        OutputStream0: { 'sink.batch.max-size': '10', 'sink.requests.max-inflight': '1', 'sink.flush-buffer.timeout': '0 ms' },
      }),
    );
    const perAggregate = 300;
    const stocks: Stock[] = [];
    const entries = [];
    for (let a = 0; a < 3; a++) {
      const batch = Array.from({ length: perAggregate }, (_, k) => stock(`c-${a}-${k}`, `k${k % 10}`, a * perAggregate + k));
      stocks.push(...batch);
      entries.push(aggregateEntry(batch, 'outer'));
    }
    for (const entry of entries) await putAll(h.client, inputArn, [entry]);
    const inputRecords = await readAll(h.client, inputArn);
    expect(inputRecords).toHaveLength(3);

    h.start('coordinator', properties, app);
    const victim = h.start('worker', properties, app);
    const keys = new AppKeys(app).stream(inputArn);
    const shardId = inputRecords[0].shardId;
    // The kill lands while the checkpoint is well inside the first aggregate.
    await waitFor(async () => {
      const checkpoint = await h.redis.hget(keys.checkpoints, shardId);
      if (!checkpoint?.includes(':')) return undefined;
      const sub = parsePosition(checkpoint).subSequenceNumber!;
      return parsePosition(checkpoint).sequenceNumber === inputRecords[0].sequenceNumber && sub >= 50 && sub <= 200;
    }, 60_000, 'a checkpoint inside the first aggregate', 20);
    victim.child.kill('SIGKILL');
    await victim.exited;
    const checkpoint = parsePosition((await h.redis.hget(keys.checkpoints, shardId))!);
    expect(checkpoint.sequenceNumber).toBe(inputRecords[0].sequenceNumber);
    expect(checkpoint.subSequenceNumber).toBeDefined();
    const acknowledged = stocks.slice(0, checkpoint.subSequenceNumber! + 1).map((s) => s.id);

    const survivor = h.start('worker', properties, app);
    let seen = 0;
    const output = await waitFor(async () => {
      const records = await readAll(h.client, outputArn);
      const ids = new Set(records.map((r) => json(r).id));
      seen = ids.size;
      return stocks.every((s) => ids.has(s.id)) ? records : undefined;
    }, 150_000, () => `every user record in the output (${seen} of ${stocks.length} so far)`, 500);
    await waitForLog(survivor, '"type":"AT_SEQUENCE_NUMBER"');
    const delivery = compareDelivery(asInput(stocks), output);
    expect(delivery.missing).toEqual([]);
    expect(delivery.outOfOrderKeys).toEqual([]);
    // The user records acknowledged before the crash (up to the checkpoint) were not sent again.
    const counts = new Map<string, number>();
    for (const r of output) counts.set(json(r).id as string, (counts.get(json(r).id as string) ?? 0) + 1);
    expect(acknowledged.filter((id) => counts.get(id) !== 1)).toEqual([]);
    // Every user record written twice was counted by the survivor as a possible duplicate.
    const duplicated = await waitFor(async () => {
      const value = await counter(survivor, 'shardflow_records_duplicated_total');
      return value >= delivery.duplicates ? value : undefined;
    }, 10_000, () => `the survivor's duplicates counter to reach ${delivery.duplicates}`);
    expect(duplicated).toBeGreaterThanOrEqual(delivery.duplicates);
    expect(duplicated).toBeLessThanOrEqual(stocks.length - acknowledged.length);
    // The survivor and the coordinator stop cleanly (the victim has no exit code).
    expect(await h.stopAll()).toEqual([0, null, 0]);
  }, 300_000);
});

test('dlq replay: aggregates dead-lettered whole by an older version come back as their user records, in order, each once', async () => {
  const app = h.app('it-kpl-dlq');
  const inputArn = await createStream(h.client, uniqueName('in'), 1);
  const outputArn = await createStream(h.client, uniqueName('out'), 1);
  const properties = writeProperties(localProperties(h.kinesis.endpoint, inputArn, outputArn));
  const first = Array.from({ length: 7 }, (_, k) => stock(`d-0-${k}`, `k${k % 3}`, k));
  const second = Array.from({ length: 5 }, (_, k) => stock(`d-1-${k}`, `k${k % 3}`, 10 + k));
  const shardId = 'shardId-000000000000';
  // A third aggregate holds a user record that is not JSON: all or nothing, so none of its records go out at first.
  const mixed = aggregateOf([{ partitionKey: 'm0', data: 'plain text 0' }, { partitionKey: 'm1', data: JSON.stringify(stock('m-1', 'm1', 1)) }, { partitionKey: 'm2', data: 'plain text 2' }]).data;
  const letters = [
    { data: aggregateEntry(first, 'outer').Data, sequenceNumber: '49590338271490256608559692538361571095921575989136588898', reason: 'not valid UTF-8' },
    { data: aggregateEntry(second, 'outer').Data, sequenceNumber: '49590338271490256608559692538361571095921575989136588899', reason: 'not valid JSON: Unexpected token' },
    { data: mixed, sequenceNumber: '49590338271490256608559692538361571095921575989136588900', reason: 'not valid UTF-8' },
  ];
  // Parked as an older version parked them: a failed job `<shard>-<sequence>` with the raw record, base64.
  const queue = new Queue(DEAD_LETTER_QUEUE, { connection: h.redis, prefix: new AppKeys(app).bullPrefix });
  const parkerConnection = h.redis.duplicate();
  const parker = new Worker(DEAD_LETTER_QUEUE, null, { connection: parkerConnection, prefix: new AppKeys(app).bullPrefix, autorun: false });
  try {
    for (const l of letters) {
      const data = { stream: inputArn, shardId, sequenceNumber: l.sequenceNumber, partitionKey: 'outer', payload: Buffer.from(l.data).toString('base64'), reason: l.reason, deadLetteredAt: new Date().toISOString(), parked: true };
      await queue.add(l.reason.split(':')[0], data, { jobId: `${shardId}-${l.sequenceNumber}`, removeOnComplete: false, removeOnFail: false });
      const job = await parker.getNextJob('parker');
      expect(job?.id).toBe(`${shardId}-${l.sequenceNumber}`);
      await job!.moveToFailed(new Error(l.reason), 'parker');
    }
    expect((await queue.getJobCounts('failed')).failed).toBe(3);

    const replay = await runCli(['dlq', 'replay', '--properties', properties, '--redis', REDIS_URL, '--app', app, '--timeout', '60']);
    expect(replay.output).toContain('replayed 3 dead letter(s): 2 reached the output stream, 1 failed again');
    expect(replay.code).toBe(1);
    const mixedJob = await queue.getJob(`${shardId}-${letters[2].sequenceNumber}`);
    expect(mixedJob!.failedReason).toMatch(/^replay failed: user record 0 of 3: not valid JSON/);
    const output = await readAll(h.client, outputArn);
    const all = [...first, ...second];
    // Each user record once; each key's records in their input order, within a letter and across the two.
    expect(compareDelivery(asInput(all), output)).toMatchObject({ missing: [], duplicates: 0, outOfOrderKeys: [] });
    expect(output).toHaveLength(all.length);
    for (const r of output) expect(json(r).ticker).toBe('AMZN');

    // With the cause fixed (bytes passed through), the third letter's user records go out, each once;
    // the two delivered letters are not sent again.
    const fixed = await runCli(['dlq', 'replay', '--properties', writeProperties(localProperties(h.kinesis.endpoint, inputArn, outputArn, { SerializationType: { type: 'STRING' } })), '--redis', REDIS_URL, '--app', app, '--timeout', '30']);
    expect(fixed.output).toContain('replayed 1 dead letter(s): 1 reached the output stream, 0 failed again');
    expect(fixed.code).toBe(0);
    const after = await readAll(h.client, outputArn);
    expect(after).toHaveLength(all.length + 3);
    expect(after.slice(all.length).map((r) => [r.partitionKey, r.data.toString()]).sort()).toEqual([
      ['m0', 'plain text 0'],
      ['m1', JSON.stringify(stock('m-1', 'm1', 1))],
      ['m2', 'plain text 2'],
    ]);
  } finally {
    await parker.close();
    parkerConnection.disconnect();
    await queue.close();
  }
});
