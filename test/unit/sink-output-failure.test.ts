/**
 * The sink when the output stream refuses writes for good (issue #12): a non-retryable PutRecords
 * error (deleted stream, access or KMS key denied, validation) makes the sink *failing* instead of
 * retrying blindly and logging every retry. Everything runs on jest's fake clock.
 */
import type { PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import type { PutRecordsResult, RecordPutter } from '../../shared/aws/kinesis-gateway';
import type { Logger } from '../../shared/logging';
import { metrics } from '../../shared/metrics';
import type { OutputRecord } from '../../shared/records';
import type { OutputStreamConfig } from '../../shared/config/app-config';
import { FAILING_RETRY_MAX_MS, KinesisSink, OutputStreamError, sinkSettings, type SinkOptions, type SinkSettings } from '../../worker/sink/kinesis-sink';
import { FAILURE_LOG_INTERVAL_MS, OutputHealth } from '../../worker/sink/output-health';
import { track } from '../support/track';

const ARN = 'arn:aws:kinesis:us-east-1:123456789012:stream/out';

/** Answers every call at once: throws `failWith` while it is set, else accepts every entry. */
class ScriptedPutter implements RecordPutter {
  readonly calls: Array<{ at: number; labels: string[] }> = [];
  /** Accepted labels, in acceptance order. */
  readonly delivered: string[] = [];
  failWith: unknown;
  private sequence = 0;

  putRecords(_arn: string, records: PutRecordsRequestEntry[]): Promise<PutRecordsResult> {
    const labels = records.map((r) => Buffer.from(r.Data!).toString('utf8'));
    this.calls.push({ at: Date.now(), labels });
    if (this.failWith !== undefined) return Promise.reject(this.failWith);
    this.delivered.push(...labels);
    return Promise.resolve({ failedCount: 0, entries: records.map(() => ({ SequenceNumber: String(++this.sequence), ShardId: 'shardId-000000000000' })) });
  }
}

function awsError(name: string, httpStatusCode = 400): Error {
  return Object.assign(new Error('simulated'), { name, $metadata: { httpStatusCode } });
}

function recs(...labels: string[]): OutputRecord[] {
  return labels.map((label) => ({ partitionKey: `pk-${label}`, data: Buffer.from(label, 'utf8') }));
}

type FakeLog = Logger & { error: jest.Mock; warn: jest.Mock; info: jest.Mock; debug: jest.Mock };

function fakeLog(): FakeLog {
  return { error: jest.fn(), warn: jest.fn(), info: jest.fn(), debug: jest.fn() } as unknown as FakeLog;
}

/** Log calls whose message contains `text`. */
function lines(mock: jest.Mock, text: string): unknown[][] {
  return mock.mock.calls.filter((args: unknown[]) => args.some((arg) => typeof arg === 'string' && arg.includes(text)));
}

const sinks: KinesisSink[] = [];

function makeSink(putter: RecordPutter, log: Logger, overrides: Partial<SinkSettings> = {}, options: SinkOptions = {}): KinesisSink {
  const settings: SinkSettings = {
    maxRecords: 2,
    maxBytes: 5 * 1024 * 1024,
    lingerMs: 0,
    maxInFlightRequests: 4,
    maxBufferedRecords: 10_000,
    // A ceiling far above the failing cap, so only the cap keeps retries a few seconds apart.
    backoff: { baseMs: 100, maxMs: 120_000 },
    ...overrides,
  };
  const sink = new KinesisSink(putter, ARN, settings, log, options);
  sinks.push(sink);
  return sink;
}

/** Moves the fake clock (timers fire on the way) and lets the answers they start settle. */
async function advance(ms: number): Promise<void> {
  await jest.advanceTimersByTimeAsync(ms);
}

async function gaugeValue(): Promise<number> {
  return (await metrics().sinkOutputFailing.get()).values[0]?.value ?? 0;
}

async function fatalCount(error: string): Promise<number> {
  return (await metrics().sinkFatalErrors.get()).values.find((v) => v.labels.error === error)?.value ?? 0;
}

beforeEach(() => {
  jest.useFakeTimers();
  // The longest jittered pause each time, so the cap (not luck) is what keeps retries close.
  jest.spyOn(Math, 'random').mockReturnValue(0.999);
});

afterEach(() => {
  for (const sink of sinks.splice(0)) sink.close();
  jest.useRealTimers();
  jest.restoreAllMocks();
});

describe('a non-retryable PutRecords error', () => {
  test.each([
    ['fatal (access denied)', 'AccessDeniedException'],
    ['not-found (output stream deleted)', 'ResourceNotFoundException'],
  ])('%s: failing at once, nothing dropped, retried at most 5 s apart, every record acknowledged once after recovery', async (_kind, errorName) => {
    const putter = new ScriptedPutter();
    putter.failWith = awsError(errorName);
    const log = fakeLog();
    const sink = makeSink(putter, log);
    const written = track(sink.write(recs('a', 'b', 'c', 'd', 'e')));
    expect(sink.outputFailure).toBeUndefined();
    expect(sink.accepting).toBe(true);

    const start = Date.now();
    await advance(0);
    expect(Date.now()).toBe(start); // no time passed: the first answer alone made it fail
    expect(sink.outputFailure).toEqual({ error: `${errorName}: simulated`, since: start, attempts: expect.any(Number) });
    expect(sink.accepting).toBe(false);
    expect(sink.congested).toBe(true);

    await advance(60_000);
    const failedCalls = putter.calls.length;
    expect(failedCalls).toBeGreaterThanOrEqual(12);
    const gaps = putter.calls.slice(3).map((call, i) => call.at - putter.calls[i + 2].at);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(FAILING_RETRY_MAX_MS);
    expect(sink.outputFailure!.attempts).toBe(failedCalls);
    expect(sink.stats.droppedRecords).toBe(0);
    expect(sink.buffered).toBe(5);
    expect(written.done).toBe(false);

    putter.failWith = undefined;
    await advance(FAILING_RETRY_MAX_MS);
    await advance(0);
    expect(written.done).toBe(true);
    expect(written.error).toBeUndefined();
    expect([...putter.delivered].sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(sink.outputFailure).toBeUndefined();
    expect(sink.accepting).toBe(true);
    expect(sink.buffered).toBe(0);
    const recovered = lines(log.info, 'output stream writable again');
    expect(recovered).toHaveLength(1);
    expect(recovered[0][0]).toMatchObject({ failedAttempts: failedCalls, failedForMs: expect.any(Number) });
    expect((recovered[0][0] as { failedForMs: number }).failedForMs).toBeGreaterThanOrEqual(60_000);
  });

  test('logs one error line per minute while it lasts, not one per retry', async () => {
    const putter = new ScriptedPutter();
    putter.failWith = awsError('KMSDisabledException');
    const log = fakeLog();
    const sink = makeSink(putter, log);
    void sink.write(recs('a', 'b', 'c'));
    await advance(0);
    expect(log.error).toHaveBeenCalledTimes(1);
    expect(log.error.mock.calls[0][0]).toMatchObject({ err: 'KMSDisabledException: simulated', kind: 'fatal', waitingRecords: 3 });

    // Three minutes less a little: the lines come just after 1 and 2 minutes (a retry is at most 5 s off).
    await advance(3 * FAILURE_LOG_INTERVAL_MS - 10_000);
    expect(putter.calls.length).toBeGreaterThan(30);
    expect(log.error).toHaveBeenCalledTimes(3);
    expect(log.warn).not.toHaveBeenCalled();
    const [, second, third] = log.error.mock.calls.map((args) => args[0] as Record<string, number>);
    expect(second).toMatchObject({ waitingRecords: 3, failedAttempts: expect.any(Number) });
    expect(second.failingForMs).toBeGreaterThanOrEqual(FAILURE_LOG_INTERVAL_MS);
    expect(third.failingForMs - second.failingForMs).toBeGreaterThanOrEqual(FAILURE_LOG_INTERVAL_MS);
    // The attempts since the last line, together, are every failed call but the first.
    expect(second.failedAttempts + third.failedAttempts).toBeLessThanOrEqual(putter.calls.length - 1);
    expect(second.failedAttempts).toBeGreaterThanOrEqual(12);
    // Entry.attempts is read: the waiting records have been tried many times.
    expect(third.maxRecordAttempts).toBeGreaterThan(second.maxRecordAttempts);
    expect(sink.outputFailure!.attempts).toBe(putter.calls.length);
  });

  test('sets the failing gauge to 1 and back to 0, and counts each fatal answer by error name', async () => {
    const putter = new ScriptedPutter();
    putter.failWith = awsError('KMSAccessDeniedException');
    const sink = makeSink(putter, fakeLog());
    const before = await fatalCount('KMSAccessDeniedException');
    metrics().sinkOutputFailing.set({ output: 'OutputStream0' }, 0); // earlier tests leave sinks failing; the gauge is process-wide
    const written = track(sink.write(recs('a', 'b', 'c')));
    await advance(0);
    expect(await gaugeValue()).toBe(1);
    await advance(20_000);
    expect(await fatalCount('KMSAccessDeniedException')).toBe(before + putter.calls.length);
    putter.failWith = undefined;
    await advance(FAILING_RETRY_MAX_MS);
    expect(written.done).toBe(true);
    expect(await gaugeValue()).toBe(0);
  });

  test('a throttle or transient error while failing keeps the state; only an accepted request ends it', async () => {
    const putter = new ScriptedPutter();
    putter.failWith = awsError('AccessDeniedException');
    const log = fakeLog();
    const sink = makeSink(putter, log, { maxInFlightRequests: 1 });
    const written = track(sink.write(recs('a')));
    await advance(0);
    expect(sink.accepting).toBe(false);
    putter.failWith = awsError('ProvisionedThroughputExceededException');
    await advance(FAILING_RETRY_MAX_MS + 100);
    const throttledCalls = putter.calls.length;
    expect(throttledCalls).toBeGreaterThan(1);
    expect(sink.outputFailure).toMatchObject({ error: 'AccessDeniedException: simulated', attempts: throttledCalls });
    putter.failWith = awsError('InternalFailure', 500);
    await advance(FAILING_RETRY_MAX_MS + 100);
    expect(putter.calls.length).toBeGreaterThan(throttledCalls);
    expect(sink.outputFailure).toMatchObject({ error: 'AccessDeniedException: simulated', attempts: putter.calls.length });
    expect(log.warn).not.toHaveBeenCalled(); // retries while failing are in the once-a-minute line
    putter.failWith = undefined;
    await advance(FAILING_RETRY_MAX_MS + 100);
    expect(written.done).toBe(true);
    expect(sink.outputFailure).toBeUndefined();
  });

  test('throttling and transient errors alone never make the output failing', async () => {
    const putter = new ScriptedPutter();
    putter.failWith = awsError('ProvisionedThroughputExceededException');
    const log = fakeLog();
    const sink = makeSink(putter, log, { backoff: { baseMs: 1, maxMs: 5 } });
    const written = track(sink.write(recs('a', 'b')));
    await advance(0);
    expect(sink.outputFailure).toBeUndefined();
    putter.failWith = awsError('InternalFailure', 500);
    await advance(100);
    expect(sink.outputFailure).toBeUndefined();
    expect(sink.accepting).toBe(true);
    expect(await gaugeValue()).toBe(0);
    expect(log.error).not.toHaveBeenCalled();
    expect(log.warn).toHaveBeenCalled(); // as before: each failed request is a warning
    putter.failWith = undefined;
    await advance(100);
    expect(written.done).toBe(true);
  });

  test('close() while failing stops the retries, also of a request answered after it', async () => {
    const putter = new ScriptedPutter();
    putter.failWith = awsError('AccessDeniedException');
    let fail!: () => void;
    const held: RecordPutter = {
      putRecords: (arn, records) => {
        const answer = putter.putRecords(arn, records);
        return putter.calls.length === 1 ? answer : new Promise((resolve, reject) => (fail = () => answer.then(resolve, reject)));
      },
    };
    const sink = makeSink(held, fakeLog(), { maxRecords: 1, maxInFlightRequests: 1 });
    void sink.write(recs('a', 'b'));
    await advance(0);
    expect(sink.accepting).toBe(false);
    await advance(FAILING_RETRY_MAX_MS); // the retry is in flight now, held
    expect(putter.calls).toHaveLength(2);
    sink.close();
    fail();
    await advance(60_000);
    expect(putter.calls).toHaveLength(2);
  });
});

describe('with KPL aggregation', () => {
  test('a non-retryable ListShards error of the output makes it failing too; it ends when a put is accepted', async () => {
    const putter = new ScriptedPutter();
    let listError: unknown = awsError('ResourceNotFoundException');
    const lister = Object.assign(putter, {
      listShards: () =>
        listError === undefined
          ? Promise.resolve([{ ShardId: 'shardId-000000000000', HashKeyRange: { StartingHashKey: '0', EndingHashKey: String((1n << 128n) - 1n) }, SequenceNumberRange: { StartingSequenceNumber: '1' } }])
          : Promise.reject(listError),
    });
    const log = fakeLog();
    const sink = makeSink(lister, log, { aggregation: 'KPL', maxAggregateBytes: 51_200 });
    const written = track(sink.write(recs('a', 'b')));
    await advance(0);
    expect(sink.outputFailure).toMatchObject({ error: 'ResourceNotFoundException: simulated' });
    await advance(30_000);
    expect(log.error).toHaveBeenCalledTimes(1);
    expect(log.warn).not.toHaveBeenCalled();
    listError = undefined;
    await advance(FAILING_RETRY_MAX_MS);
    expect(written.done).toBe(true);
    expect(sink.outputFailure).toBeUndefined();
  });
});

describe('the worker-facing API while the output fails', () => {
  test('waitUntilAccepting() resolves when the output is back, or when its signal aborts', async () => {
    const putter = new ScriptedPutter();
    putter.failWith = awsError('AccessDeniedException');
    const sink = makeSink(putter, fakeLog());
    await expect(sink.waitUntilAccepting()).resolves.toBeUndefined(); // healthy: at once
    void sink.write(recs('a'));
    await advance(0);
    const controller = new AbortController();
    const aborted = track(sink.waitUntilAccepting(controller.signal));
    const healthy = track(sink.waitUntilAccepting());
    await advance(10_000);
    expect(aborted.done).toBe(false);
    controller.abort();
    await advance(0);
    expect(aborted.done).toBe(true);
    expect(healthy.done).toBe(false);
    putter.failWith = undefined;
    await advance(FAILING_RETRY_MAX_MS);
    expect(healthy.done).toBe(true);
  });

  test('flush(signal) returns when the signal aborts while failing; the write promises stay pending', async () => {
    const putter = new ScriptedPutter();
    putter.failWith = awsError('ResourceNotFoundException');
    const sink = makeSink(putter, fakeLog(), { lingerMs: 60_000 });
    const written = track(sink.write(recs('a', 'b', 'c')));
    const controller = new AbortController();
    const flushed = track(sink.flush(controller.signal));
    const unbounded = track(sink.flush());
    await advance(30_000);
    expect(sink.accepting).toBe(false);
    expect(flushed.done).toBe(false);
    controller.abort();
    await advance(0);
    expect(flushed.done).toBe(true);
    expect(written.done).toBe(false);
    expect(unbounded.done).toBe(false);
    expect(sink.buffered).toBe(3);
    expect(sink.stats.droppedRecords).toBe(0);
    // An already aborted signal returns at once too.
    expect(await sink.flush(controller.signal)).toBeUndefined();
    putter.failWith = undefined;
    await advance(FAILING_RETRY_MAX_MS);
    expect(written.done).toBe(true);
    expect(unbounded.done).toBe(true);
  });

  test("abandon(owner) removes the owner's unsent records at once and frees their room; other owners' records are kept", async () => {
    const putter = new ScriptedPutter();
    // The records must still be unsent when the owner is abandoned: they linger (FIXED).
    const sink = makeSink(putter, fakeLog(), { lingerMs: 60_000, flushMode: 'FIXED', maxRecords: 10, maxBufferedRecords: 6 });
    const handedBack = { isLost: false };
    const kept = { isLost: false };
    const abandonedWrite = track(sink.write(recs('x1', 'x2', 'x3'), handedBack));
    const keptWrite = track(sink.write(recs('y1', 'y2'), kept));
    const unowned = track(sink.write(recs('z1')));
    expect(sink.room).toBe(0);
    const reserved = track(sink.reserve(3));
    await advance(0);
    expect(reserved.done).toBe(false);

    expect(sink.abandon(handedBack)).toBe(3);
    expect(sink.buffered).toBe(3);
    expect(sink.room).toBe(3);
    expect(sink.stats.droppedRecords).toBe(3);
    await advance(0);
    expect(reserved.done).toBe(true);
    expect(putter.calls).toHaveLength(0); // nothing was sent by it

    await sink.flush();
    expect(putter.delivered).toEqual(['y1', 'y2', 'z1']);
    expect(keptWrite.done && unowned.done).toBe(true);
    expect(abandonedWrite.done).toBe(false);
    expect(sink.buffered).toBe(0);
    expect(sink.abandon(kept)).toBe(0);
  });

  test('abandon(owner) leaves its records in flight to finish', async () => {
    const putter = new ScriptedPutter();
    let answer!: (result: PutRecordsResult) => void;
    const held: RecordPutter = {
      putRecords: (arn, records) => {
        void putter.putRecords(arn, records);
        return new Promise((resolve) => (answer = resolve));
      },
    };
    const sink = makeSink(held, fakeLog());
    const owner = { isLost: false };
    const written = track(sink.write(recs('a', 'b'), owner));
    await advance(0);
    expect(putter.calls).toHaveLength(1);
    expect(sink.abandon(owner)).toBe(0);
    answer({ failedCount: 0, entries: [{ SequenceNumber: '1' }, { SequenceNumber: '2' }] });
    await advance(0);
    expect(written.done).toBe(true);
    expect(sink.buffered).toBe(0);
  });

  test("abandon(owner) drops the owner's records that come back for a retry", async () => {
    const putter = new ScriptedPutter();
    putter.failWith = awsError('AccessDeniedException');
    const sink = makeSink(putter, fakeLog(), { maxInFlightRequests: 1 });
    const owner = { isLost: false };
    const written = track(sink.write(recs('a', 'b'), owner));
    const other = track(sink.write(recs('c')));
    await advance(0);
    expect(sink.abandon(owner)).toBe(2);
    putter.failWith = undefined;
    await advance(FAILING_RETRY_MAX_MS);
    expect(other.done).toBe(true);
    expect(written.done).toBe(false);
    expect(putter.delivered).toEqual(['c']);
    expect(sink.buffered).toBe(0);
  });
});

describe('sink.fail-on-error', () => {
  test('sinkSettings carries it from the output configuration', () => {
    expect(sinkSettings({ failOnError: true } as OutputStreamConfig).failOnError).toBe(true);
    expect(sinkSettings({ failOnError: false } as OutputStreamConfig).failOnError).toBe(false);
  });

  test('the first non-retryable error calls onFatal once, with the error; nothing is retried or dropped', async () => {
    const putter = new ScriptedPutter();
    const denied = awsError('AccessDeniedException');
    putter.failWith = denied;
    const onFatal = jest.fn();
    const sink = makeSink(putter, fakeLog(), { failOnError: true }, { onFatal });
    const written = track(sink.write(recs('a', 'b', 'c', 'd', 'e')));
    await advance(0);
    expect(onFatal).toHaveBeenCalledTimes(1);
    const err = onFatal.mock.calls[0][0] as OutputStreamError;
    expect(err).toBeInstanceOf(OutputStreamError);
    expect(err.cause).toBe(denied);
    expect(err.kind).toBe('fatal');
    expect(err.message).toContain('AccessDeniedException: simulated');
    const calls = putter.calls.length;
    // The two full requests went out at once; the fifth record (waiting for its linger) never goes.
    expect(calls).toBe(2);
    await advance(120_000);
    expect(putter.calls).toHaveLength(calls);
    expect(onFatal).toHaveBeenCalledTimes(1);
    expect(sink.outputFailure).toBeDefined();
    expect(sink.accepting).toBe(false);
    expect(sink.buffered).toBe(5);
    expect(written.done).toBe(false);
    const controller = new AbortController();
    const flushed = track(sink.flush(controller.signal));
    await advance(1000);
    expect(flushed.done).toBe(false);
    controller.abort();
    await advance(0);
    expect(flushed.done).toBe(true);
    expect(putter.calls).toHaveLength(calls);
  });

  test('without an onFatal to stop the process, the sink says so once and retries', async () => {
    const putter = new ScriptedPutter();
    putter.failWith = awsError('AccessDeniedException');
    const log = fakeLog();
    const sink = makeSink(putter, log, { failOnError: true });
    expect(lines(log.warn, 'sink.fail-on-error')).toHaveLength(1);
    const written = track(sink.write(recs('a')));
    await advance(20_000);
    expect(putter.calls.length).toBeGreaterThan(1);
    putter.failWith = undefined;
    await advance(FAILING_RETRY_MAX_MS);
    expect(written.done).toBe(true);
  });
});

describe('OutputHealth on an injected clock', () => {
  test('one error line at once, then one per minute of failed attempts, with the attempts since the last line', () => {
    let now = 1_000_000;
    const log = fakeLog();
    const health = new OutputHealth(log, () => ({ records: 7, maxAttempts: 2 }), () => now, () => now);
    expect(health.nonRetryable(awsError('KMSDisabledException'), 'fatal')).toBe(true);
    // An attempt every second for three minutes.
    for (let s = 1; s <= 180; s++) {
      now += 1000;
      health.attemptFailed();
    }
    expect(log.error).toHaveBeenCalledTimes(4); // at 0, 60, 120 and 180 s
    expect(log.error.mock.calls.slice(1).map((args) => (args[0] as { failedAttempts: number }).failedAttempts)).toEqual([60, 60, 60]);
    expect(log.error.mock.calls[3][0]).toMatchObject({ failingForMs: 180_000, totalAttempts: 181, waitingRecords: 7, maxRecordAttempts: 2 });
    expect(health.failure).toEqual({ error: 'KMSDisabledException: simulated', since: 1_000_000, attempts: 181 });
    expect(health.nonRetryable(awsError('KMSDisabledException'), 'fatal')).toBe(false);
    now += 5000;
    health.succeeded();
    expect(health.failure).toBeUndefined();
    expect(log.info.mock.calls[0]).toEqual([expect.objectContaining({ failedForMs: 185_000, failedAttempts: 182, waitingRecords: 7 }), 'output stream writable again']);
    health.succeeded(); // healthy already: nothing more
    expect(log.info).toHaveBeenCalledTimes(1);
  });
});
