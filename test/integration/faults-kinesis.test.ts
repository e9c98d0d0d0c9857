/**
 * Kinesis faults against real processes (issue #12's failure table, the rows whose behaviour exists):
 * the benchmark's in-memory Kinesis scripts the faults (bench/memory-kinesis/server.ts), a real
 * coordinator and workers (POLLING reader) copy an input stream to an output stream over a real Redis,
 * and a producer writes records with unique ids so delivery is checked per id.
 *
 * The workers run with AWS_SDK_UA_APP_ID=shardflow-worker-N, so the fault rules pick the workers' own
 * requests by user agent and never the test's producer or its reads. Every row asserts that no record
 * is lost and that the processes stay up; each states its bound on duplicates.
 */
import { metric, opsUrl, useFaultPipelines, assertUp, WORKER_UA } from '../support/fault-pipeline';
import { waitForLog } from '../support/cli';
import { waitFor } from '../support/wait';

const RETRIED = 'shardflow_put_records_retried_records_total';
const f = useFaultPipelines({ subscriptionMs: 5000 }); // EFO readers subscribe again (and meet subscription faults) within seconds

describe('Kinesis faults, POLLING reader', () => {
  test('per-record InternalFailure on PutRecords: every record delivered, refused ones re-sent once, the retried metric moves', async () => {
    const p = await f.pipeline('it-fault-refuse', { workers: 1 });
    const url = await opsUrl(p.workers[0]);
    const retriedBefore = await metric(url, RETRIED);
    // The output's next five PutRecords requests: two refused whole, three with their first entries refused.
    const refusals = [
      { records: [{ index: '*' as const, code: 'InternalFailure' as const }] },
      { records: [{ index: 0, code: 'InternalFailure' as const }] },
      { records: [{ index: '*' as const, code: 'InternalFailure' as const }] },
      { records: [{ index: 0, code: 'InternalFailure' as const }, { index: 1, code: 'InternalFailure' as const }] },
      { records: [{ index: 2, code: 'InternalFailure' as const }] },
    ];
    await f.ep.refuseRecords(p.outName, refusals);
    const producer = f.h.producer(p.inArn, { perSecond: 300, keys: 16, prefix: p.app });
    await waitFor(async () => ((await (await fetch(`${f.ep.endpoint}/_bench/stats?stream=${p.outName}`)).json()) as { faultsPending: number }).faultsPending === 0, 30_000, 'the five scripted requests to be taken');
    await waitFor(() => producer.produced.length >= 1500, 30_000, '1,500 records produced');
    await producer.stop();

    const { result } = await f.delivery(p);
    expect(result.missing).toEqual([]);
    // A refused entry is not written, so its one re-send is its only copy: no duplicates at all.
    expect(result.duplicates).toBe(0);
    const puts = await f.ep.puts(p.outName);
    const refused = puts.reduce((n, e) => n + (e.records - e.accepted), 0);
    expect(refused).toBeGreaterThanOrEqual(4);
    expect(puts.every((e) => e.userAgent.includes(WORKER_UA))).toBe(true);
    expect((await metric(url, RETRIED)) - retriedBefore).toBe(refused);
    assertUp([p.coordinator, ...p.workers]);
    expect(await f.h.stopAll()).toEqual(p.workers.map(() => 0).concat(0));
  });

  test('ExpiredIteratorException on GetRecords: a new iterator after the last record, nothing lost or repeated, logged', async () => {
    const p = await f.pipeline('it-fault-expired', { workers: 1 });
    // Records already flowing, so the expiries hit readers mid-shard, after a last sequence number.
    const producer = f.h.producer(p.inArn, { perSecond: 300, keys: 16, prefix: p.app });
    await waitFor(() => producer.produced.length >= 300, 20_000, '300 records produced');
    await f.ep.chaos([
      { operation: 'GetRecords', stream: p.inName, userAgent: WORKER_UA, error: 'ExpiredIteratorException', message: 'Iterator expired. The iterator was created at time 0 while right now it is 300001 ms later.', times: 6 },
    ]);
    await f.rulesSpent(p);
    await waitFor(() => producer.produced.length >= 1500, 30_000, '1,500 records produced');
    await producer.stop();

    const { result } = await f.delivery(p);
    expect(result.missing).toEqual([]);
    // The new iterator starts AFTER the last record read, so nothing is read twice.
    expect(result.duplicates).toBe(0);
    await waitForLog(p.workers[0], 'shard iterator expired');
    assertUp([p.coordinator, ...p.workers]);
    expect(await f.h.stopAll()).toEqual(p.workers.map(() => 0).concat(0));
  });

  test('connection resets and 2 s answers on GetRecords and PutRecords: nothing lost, duplicates only from writes whose answer was reset, processes up', async () => {
    const p = await f.pipeline('it-fault-network', { workers: 2 });
    await f.ep.chaos([
      { operation: 'GetRecords', stream: p.inName, userAgent: WORKER_UA, reset: true, times: 3 },
      { operation: 'PutRecords', stream: p.outName, userAgent: WORKER_UA, reset: true, times: 2 },
      { operation: 'PutRecords', stream: p.outName, userAgent: WORKER_UA, reset: 'after', times: 2 },
      { operation: 'GetRecords', stream: p.inName, userAgent: WORKER_UA, delayMs: 2000, times: 3 },
      { operation: 'PutRecords', stream: p.outName, userAgent: WORKER_UA, delayMs: 2000, times: 2 },
    ]);
    await f.produceThrough(p, 1500);

    const { result } = await f.delivery(p);
    expect(result.missing).toEqual([]);
    // Bound: a write that landed but whose answer was reset is re-sent whole, so at most its records come
    // twice; a reset before the write and a slow answer add nothing.
    const puts = await f.ep.puts(p.outName);
    const landedUnanswered = puts.filter((e) => e.fault === 'reset-after').reduce((n, e) => n + e.accepted, 0);
    expect(puts.filter((e) => e.fault === 'reset-after')).toHaveLength(2);
    expect(result.duplicates).toBeLessThanOrEqual(landedUnanswered);
    // Both workers wrote (each has its own app id in the user agent).
    expect(new Set(puts.map((e) => /app\/(\S+)/.exec(e.userAgent)?.[1]))).toEqual(new Set(['shardflow-worker-1', 'shardflow-worker-2']));
    assertUp([p.coordinator, ...p.workers]);
    expect(await f.h.stopAll()).toEqual(p.workers.map(() => 0).concat(0));
  });
});

describe('Kinesis faults, EFO reader', () => {
  test('subscriptions reset before and during streaming and 2 s slow to start: nothing lost, duplicates only from writes whose answer was reset', async () => {
    const p = await f.pipeline('it-fault-efo', { workers: 1, reader: 'EFO' });
    const producer = f.h.producer(p.inArn, { perSecond: 300, keys: 16, prefix: p.app });
    await waitFor(() => producer.produced.length >= 300, 20_000, '300 records produced');
    await f.ep.chaos([
      // 'after' starts the subscription and breaks it mid-stream; true refuses the connection outright.
      { operation: 'SubscribeToShard', stream: p.inName, userAgent: WORKER_UA, reset: 'after', times: 2 },
      { operation: 'SubscribeToShard', stream: p.inName, userAgent: WORKER_UA, reset: true, times: 1 },
      { operation: 'SubscribeToShard', stream: p.inName, userAgent: WORKER_UA, delayMs: 2000, times: 2 },
      { operation: 'PutRecords', stream: p.outName, userAgent: WORKER_UA, reset: 'after', times: 1 },
    ]);
    await f.rulesSpent(p);
    await waitFor(() => producer.produced.length >= 1500, 30_000, '1,500 records produced');
    await producer.stop();

    const { result } = await f.delivery(p);
    expect(result.missing).toEqual([]);
    // Bound: the records of the one write whose answer was reset; a re-subscription resumes after the last record received.
    const puts = await f.ep.puts(p.outName);
    expect(result.duplicates).toBeLessThanOrEqual(puts.filter((e) => e.fault === 'reset-after').reduce((n, e) => n + e.accepted, 0));
    assertUp([p.coordinator, ...p.workers]);
    expect(await f.h.stopAll()).toEqual([0, 0]);
  });
});
