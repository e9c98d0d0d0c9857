/**
 * One bad record never stops a shard or a worker (issue #24): against a real coordinator and worker on
 * the in-memory Kinesis, with a producer writing to every shard throughout, one bad record goes into
 * shard 1 and must end in the dead-letter queue with its reason while every good record before and after
 * it arrives, every shard's checkpoint moves on and the worker stays ready (`test/support/poison.ts`).
 * KPL aggregates are made by the independent `aws-kinesis-agg`.
 */
import { Queue } from 'bullmq';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { aggregateOf } from '../support/aggregates';
import { runCli, waitForLog } from '../support/cli';
import { assertUp, metric, opsUrl, readiness, useFaultPipelines, WORKER_UA } from '../support/fault-pipeline';
import { json, readAll } from '../support/kinesis';
import { poisonRun, putToShard, SHARDS, stock } from '../support/poison';
import { deadLetters, REDIS_URL } from '../support/redis';
import { waitFor } from '../support/wait';
import { AppKeys, DEAD_LETTER_QUEUE } from '../../shared/redis/keys';

const f = useFaultPipelines();

describe('a bad record is dead-lettered and everything else flows', () => {
  test('a KPL user record whose partition key is 300 characters', async () => {
    const p = await f.pipeline('it-poison-key', { shards: SHARDS });
    const ids = [`${p.app}-agg-0`, `${p.app}-agg-2`];
    const outcome = await poisonRun(f, p, async () => {
      const agg = aggregateOf([
        { partitionKey: 'fine', data: stock(ids[0]) },
        { partitionKey: 'k'.repeat(300), data: stock(`${p.app}-bad`) },
        { partitionKey: 'fine', data: stock(ids[1]) },
      ]);
      return { poison: await putToShard(f.ep.client, p.inArn, 1, agg.data, agg.partitionKey), goodIds: ids };
    });
    expect(outcome.letters.map((l) => [l.subSequenceNumber, l.reason])).toEqual([[1, 'invalid partition key: it has 300 characters; Kinesis takes 1 to 256']]);
    expect(outcome.letters[0].partitionKey).toHaveLength(300);
    expect(outcome.readiness.length).toBeGreaterThan(4);
    expect(outcome.readiness.every((s) => s === 200)).toBe(true);
    // Nothing reached Kinesis for it: no request refused.
    expect((await f.ep.puts(p.outName)).every((put) => put.fault === undefined)).toBe(true);
  });

  test('a KPL user record whose explicit hash key is not a decimal in range', async () => {
    const p = await f.pipeline('it-poison-ehk', { shards: SHARDS });
    const ids = [`${p.app}-agg-0`, `${p.app}-agg-2`];
    const outcome = await poisonRun(f, p, async () => {
      const agg = aggregateOf([
        { partitionKey: 'fine', data: stock(ids[0]) },
        { partitionKey: 'fine', explicitHashKey: (1n << 128n).toString(), data: stock(`${p.app}-bad`) },
        { partitionKey: 'fine', data: stock(ids[1]) },
      ]);
      return { poison: await putToShard(f.ep.client, p.inArn, 1, agg.data, agg.partitionKey), goodIds: ids };
    });
    expect(outcome.letters.map((l) => [l.subSequenceNumber, l.reason])).toEqual([[1, 'invalid explicit hash key: "340282366920938463463374607431768211456" is not a decimal integer in [0, 2^128)']]);
    expect(outcome.readiness.every((s) => s === 200)).toBe(true);
  });

  test('a valid stock record nested 5,000 levels deep', async () => {
    const p = await f.pipeline('it-poison-deep', { shards: SHARDS });
    let nested = '0';
    for (let i = 0; i < 5000; i++) nested = `{"a":${nested}}`;
    // Written by hand: JSON.stringify of it overflows the stack here too. 10 KB, valid JSON.
    const deep = `${stock(`${p.app}-deep`).slice(0, -1)},"deep":${nested}}`;
    expect(Buffer.byteLength(deep)).toBeLessThan(40_000);
    const outcome = await poisonRun(f, p, async () => ({ poison: await putToShard(f.ep.client, p.inArn, 1, deep), goodIds: [] }));
    expect(outcome.letters.map((l) => l.reason)).toEqual(['transform failed: RangeError: Maximum call stack size exceeded']);
    expect(outcome.readiness.every((s) => s === 200)).toBe(true);
    // The lease was never retried for it.
    expect(p.workers[0].output()).not.toContain('shard reader failed');
  });

  test('a request Kinesis refuses whole for one record that passed the checks is bisected to that record', async () => {
    const p = await f.pipeline('it-poison-bisect', { shards: SHARDS });
    const url = await opsUrl(p.workers[0]);
    await f.ep.chaos([{ operation: 'PutRecords', stream: p.outName, userAgent: WORKER_UA, dataContains: 'REFUSE-ME', error: 'ValidationException', message: '1 validation error detected: Value at \'records.1.member.data\' failed to satisfy constraint' }]);
    const outcome = await poisonRun(f, p, async () => ({ poison: await putToShard(f.ep.client, p.inArn, 1, stock(`${p.app}-REFUSE-ME`, { ticker: 'MSFT' })), goodIds: [] }));
    expect(outcome.letters.map((l) => l.reason)).toEqual(["refused by Kinesis: ValidationException: 1 validation error detected: Value at 'records.1.member.data' failed to satisfy constraint"]);
    // The letter holds the input record (read again by its position; the output's ticker is AMZN), so a replay transforms it again.
    expect(JSON.parse(Buffer.from(outcome.letters[0].payload, 'base64').toString()).ticker).toBe('MSFT');
    expect(outcome.letters[0].sequenceNumber).toBe(outcome.poison.sequenceNumber);
    expect(await metric(url, 'shardflow_sink_refused_records_total')).toBe(1);
    expect(await metric(url, 'shardflow_sink_output_failing')).toBe(0);
    expect(outcome.readiness.every((s) => s === 200)).toBe(true);
    await waitForLog(p.workers[0], 'PutRecords refused records for themselves');
  });
});

test('a refusal that is about the stream (every record refused alone, the same way) still puts the output into its failing state, and nothing is dead-lettered', async () => {
  const p = await f.pipeline('it-poison-stream', { shards: SHARDS });
  const url = await opsUrl(p.workers[0]);
  const producer = f.h.producer(p.inArn, { perSecond: 200, keys: 16, prefix: p.app });
  await waitFor(() => producer.produced.length >= 200, 30_000, '200 records produced');
  await f.ep.chaos([{ operation: 'PutRecords', stream: p.outName, userAgent: WORKER_UA, error: 'ValidationException', message: 'Stream is misconfigured' }]);
  const unready = await waitFor(async () => {
    const r = await readiness(url);
    return r.status === 503 && r.checks['output-writes']?.ok === false ? r : undefined;
  }, 30_000, '/readyz 503 on output-writes');
  expect(unready.checks['output-writes'].detail).toContain('ValidationException: Stream is misconfigured');
  expect(await metric(url, 'shardflow_sink_bisections_total')).toBeGreaterThanOrEqual(1);
  await f.ep.clearChaos();
  const produced = await producer.stop();
  await waitFor(async () => {
    const seen = new Set((await readAll(f.ep.client, p.outArn)).map((r) => String(json(r).id)));
    return produced.every((r) => seen.has(r.id));
  }, 60_000, 'every record in the output once the stream takes writes again', 500, () => assertUp([p.coordinator, ...p.workers]));
  expect(await deadLetters(f.h.redis, p.app)).toEqual([]);
  await waitFor(async () => (await readiness(url)).status === 200, 20_000, '/readyz 200 again');
});

test('a 1 MiB aggregate of 170,000 empty user records: all dead-lettered in batches, with bounded memory and event-loop stalls, while the other records flow', async () => {
  const p = await f.pipeline('it-poison-huge', { shards: SHARDS, workerNodeArgs: ['--require', join(__dirname, '..', 'support', 'stall-monitor.js')] });
  const worker = p.workers[0];
  const pid = worker.child.pid!;
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
  let rssBefore = 0;
  let injectedAt = 0;
  const ids = [`${p.app}-before`, `${p.app}-after`];
  const outcome = await poisonRun(
    f,
    p,
    async () => {
      const agg = aggregateOf(Array.from({ length: 170_000 }, () => ({ partitionKey: 'empty', data: '' })));
      expect(agg.data.length).toBeLessThanOrEqual(1024 * 1024);
      // Peak RSS from now on (Linux: writing 5 resets VmHWM to the current RSS).
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
      rssBefore = kib('VmRSS');
      injectedAt = Date.now();
      await putToShard(f.ep.client, p.inArn, 1, stock(ids[0]));
      const poison = await putToShard(f.ep.client, p.inArn, 1, agg.data, agg.partitionKey);
      await putToShard(f.ep.client, p.inArn, 1, stock(ids[1]));
      return { poison, goodIds: ids };
    },
    { letters: 170_000 },
  );
  const peak = kib('VmHWM');
  const growthMiB = (peak - rssBefore) / 1024;
  // What the worker spent running in a stall is its own block; the rest it spent descheduled (the
  // coordinator, Redis and this test share the machine's two cores, and `npm run test:stress` burns both),
  // which is the machine's, and is reported apart.
  const stalls = [...worker.output().matchAll(/stall-monitor: (\d+) ms cpu (\d+) ms at (\d+)/g)].filter((m) => Number(m[3]) >= injectedAt).map((m) => ({ ms: Number(m[1]), cpu: Number(m[2]) }));
  const own = stalls.map((s) => Math.min(s.ms, s.cpu)).filter((ms) => ms > 20);
  const longest = Math.max(0, ...own);
  const longestWall = Math.max(0, ...stalls.map((s) => s.ms));
  console.log(`170,000-record aggregate: worker RSS growth ${growthMiB.toFixed(1)} MiB (peak ${(peak / 1024).toFixed(0)} MiB over ${(rssBefore / 1024).toFixed(0)} MiB before), longest event-loop stall of its own ${longest} ms (${own.length} over 20 ms; with the machine's ${longestWall} ms, ${stalls.length})`);
  expect(outcome.letters).toHaveLength(170_000);
  expect(new Set(outcome.letters.map((l) => l.reason.split(':')[0]))).toEqual(new Set(['not valid JSON']));
  expect(growthMiB).toBeLessThanOrEqual(64);
  // Before the fix one block of 1.1 s; since, 41 to 109 ms depending on the shared machine's moment (the
  // same build measured 41-75 ms one day and 98-109 ms another, quiet both times), so the bound keeps the
  // order of magnitude without timing the machine.
  expect(longest).toBeLessThanOrEqual(250);
  // One log line for the lot, not one per chunk.
  expect(worker.output().split('\n').filter((l) => l.includes('records dead-lettered')).length).toBeLessThan(10);
}, 600_000);

test('replayed beside a good letter, a letter whose key Kinesis refuses fails again with the rule while the good one is written', async () => {
  const p = await f.pipeline('it-poison-replay', { shards: SHARDS });
  const agg = aggregateOf([{ partitionKey: 'k'.repeat(300), data: 'plain text with a bad key' }]);
  // The Kinesis record's own key is short (Kinesis would refuse the put); the user record's is not.
  await putToShard(f.ep.client, p.inArn, 1, agg.data, 'aggregate');
  await putToShard(f.ep.client, p.inArn, 2, 'plain text that is not JSON', 'good-key');
  const queue = new Queue(DEAD_LETTER_QUEUE, { connection: f.h.redis, prefix: new AppKeys(p.app).bullPrefix });
  try {
    await waitFor(async () => (await queue.getJobCounts('failed')).failed === 2 || undefined, 30_000, 'both letters parked');
    // The replay runs with the fixed properties alone (the coordinator's replayer would take the letters with the old ones).
    await f.h.stopAll();
    // The fix for the good one: copy bytes as they are (STRING).
    const props = JSON.parse(readFileSync(p.properties, 'utf8')) as Array<{ PropertyGroupId: string; PropertyMap: Record<string, string> }>;
    props.push({ PropertyGroupId: 'SerializationType', PropertyMap: { type: 'STRING' } });
    const fixed = p.properties.replace(/\.json$/, '-string.json');
    writeFileSync(fixed, JSON.stringify(props));
    const replay = await runCli(['dlq', 'replay', '--properties', fixed, '--redis', REDIS_URL, '--app', p.app, '--timeout', '60'], {}, 120_000);
    expect(replay.code).toBe(1);
    expect(replay.output).toContain('invalid partition key: it has 300 characters');
    const output = (await readAll(f.ep.client, p.outArn)).map((r) => r.data.toString());
    expect(output).toContain('plain text that is not JSON');
    expect(output).not.toContain('plain text with a bad key');
    expect((await queue.getJobCounts('completed', 'failed')).completed).toBe(1);
    expect((await queue.getJobCounts('failed')).failed).toBe(1);
  } finally {
    await queue.close();
  }
});
