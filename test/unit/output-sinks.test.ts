/**
 * The sinks of several output groups as one `SinkPort` (`worker/sink/output-sinks.ts`), opened as the
 * worker opens them (`OutputSinks.open` over the configuration's outputs), each group's Kinesis client
 * replaced by a scripted putter: a write is split by `record.output`, resolves only once every output
 * acknowledged its part, hands back what any of them refused; one buffer budget (`OutputStream0`'s
 * `sink.requests.max-buffered`) bounds them together; failures, `sink.fail-on-error`, `abandon` and the
 * counters are per output and add up. Real timers with millisecond lingers and backoffs; no I/O.
 */
import pino from 'pino';
import type { PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import type { OutputStreamConfig } from '../../shared/config/app-config';
import { KinesisGateway } from '../../shared/aws/kinesis-gateway';
import type { OutputRecord } from '../../shared/records';
import { OutputStreamError, type SinkStats } from '../../worker/sink/kinesis-sink';
import { OutputSinks, type OutputSinksOptions } from '../../worker/sink/output-sinks';
import type { RecordOwner } from '../../worker/sink/sink-port';
import { FakePutter, type Call } from '../support/fake-putter';
import { track } from '../support/track';
import { waitFor } from '../support/wait';

const log = pino({ level: 'silent' });
const MiB = 1024 * 1024;
const GROUPS = ['OutputStream0', 'OutputStream1', 'OutputStream2'];
const arnOf = (i: number) => `arn:aws:kinesis:us-east-1:123456789012:stream/out-${i}`;
const text = (e: PutRecordsRequestEntry) => Buffer.from(e.Data!).toString('utf8');
const awsError = (name: string, status = 400) => Object.assign(new Error(`${name}: simulated`), { name, $metadata: { httpStatusCode: status } });

/** A group's Kinesis client: a putter the test answers, which `destroy` marks. */
class GroupPutter extends FakePutter {
  destroyed = false;

  destroy(): void {
    this.destroyed = true;
  }

  /** Every payload sent so far, in sending order. */
  sent(): string[] {
    return this.allLabels().flat();
  }

  /** Payloads of calls answered with success, in answer order of the calls. */
  accepted(): string[] {
    return this.calls.filter((c) => c.settled && !this.failed.has(c)).flatMap((c) => c.entries.map(text));
  }
}

/** One output group's configuration, as `buildAppConfig` makes it (only what the sink reads matters). */
function outputConfig(i: number, overrides: Partial<OutputStreamConfig> = {}): OutputStreamConfig {
  const group = GROUPS[i];
  return {
    group,
    stream: { arn: arnOf(i), name: `out-${i}`, account: '123456789012', region: 'us-east-1' },
    client: { group, region: 'us-east-1', credentials: { provider: 'AUTO' }, maxConcurrency: 50, readTimeoutMs: 10_000 },
    maxBatchRecords: 500,
    maxBatchBytes: 5 * MiB,
    maxRecordBytes: MiB,
    lingerMs: 1,
    flushMode: 'FIXED',
    maxInFlightRequests: 4,
    maxBufferedRecords: 10_000,
    partitionKey: { type: 'INPUT' },
    ordering: 'KEY',
    aggregation: 'NONE',
    maxAggregateBytes: MiB,
    failOnError: false,
    ...overrides,
  };
}

const opened: OutputSinks[] = [];

/**
 * `OutputSinks.open` over `configs`, each group's client the putter of the same index. Millisecond
 * backoffs so a failing output is probed again at once.
 */
function open(configs: OutputStreamConfig[], options: Partial<OutputSinksOptions> = {}): { sinks: OutputSinks; putters: GroupPutter[] } {
  const putters = configs.map(() => new GroupPutter());
  jest.spyOn(KinesisGateway, 'fromConfig').mockImplementation((client) => putters[configs.findIndex((c) => c.client === client)] as unknown as KinesisGateway);
  const sinks = OutputSinks.open(configs, log, { component: 'sink', ...options, override: { backoff: { baseMs: 1, maxMs: 5 }, ...options.override } });
  opened.push(sinks);
  return { sinks, putters };
}

/** Answers each call at once, with success. */
function autoSucceed(putter: FakePutter): void {
  putter.auto = (call: Call) => queueMicrotask(() => call.succeed());
}

/** A record for output `output` (undefined: none set, the first), labelled by its data. */
function rec(label: string, output?: number): OutputRecord {
  const record: OutputRecord = { partitionKey: `pk-${label}`, data: Buffer.from(label, 'utf8') };
  if (output !== undefined) record.output = output;
  return record;
}

const until = (cond: () => boolean, what: string) => waitFor(() => cond(), 5000, what, 1);

/** Lets queued callbacks and immediates run, without waiting for time to pass. */
async function drain(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

afterEach(() => {
  for (const sinks of opened.splice(0)) {
    sinks.close();
    sinks.destroy();
  }
  jest.restoreAllMocks();
});

describe('OutputSinks: writes split by output', () => {
  test('each record goes to the sink of its output index (none set: OutputStream0), in write order, on that output\'s stream', async () => {
    const { sinks, putters } = open([outputConfig(0), outputConfig(1), outputConfig(2)]);
    putters.forEach(autoSucceed);
    const first = sinks.write([rec('a', 0), rec('b', 1), rec('c'), rec('d', 2), rec('e', 1), rec('f', 0)]);
    const second = sinks.write([rec('g', 2), rec('h', 1), rec('i')]);
    expect(await first).toEqual([]);
    expect(await second).toEqual([]);
    expect(putters[0].accepted()).toEqual(['a', 'c', 'f', 'i']);
    expect(putters[1].accepted()).toEqual(['b', 'e', 'h']);
    expect(putters[2].accepted()).toEqual(['d', 'g']);
    putters.forEach((putter, i) => expect(new Set(putter.calls.map((c) => c.arn))).toEqual(new Set([arnOf(i)])));
  });

  test('a write resolves only once every output has acknowledged its part', async () => {
    const { sinks, putters } = open([outputConfig(0), outputConfig(1)]);
    autoSucceed(putters[0]);
    // OutputStream1's answers are held by the test.
    const write = track(sinks.write([rec('a', 0), rec('b', 1), rec('c', 0)]));
    await until(() => putters[0].accepted().length === 2 && putters[1].open().length === 1, 'OutputStream0 to acknowledge its part while OutputStream1 holds its request');
    await drain();
    expect(write.done).toBe(false);
    expect(putters[1].open()[0].entries.map(text)).toEqual(['b']);

    // A write of OutputStream0's alone does not wait for the other output.
    const alone = track(sinks.write([rec('d', 0)]));
    await until(() => alone.done, 'the write to OutputStream0 alone');
    expect(write.done).toBe(false);

    putters[1].open()[0].succeed();
    await until(() => write.done, 'the split write once OutputStream1 answered');
    expect(write.error).toBeUndefined();
    expect(write.value).toEqual([]);
  });

  test('records Kinesis refused for themselves on several outputs all come back to the writer', async () => {
    const { sinks, putters } = open([outputConfig(0), outputConfig(1)]);
    // Each output refuses the requests that carry its bad record (its bisection finds it); the rest is written.
    putters.forEach((putter, i) => {
      putter.auto = (call: Call) => {
        const bad = call.entries.map(text).includes(`bad${i}`);
        queueMicrotask(() => (bad ? call.fail(awsError('ValidationException')) : call.succeed()));
      };
    });
    const rejected = await sinks.write([rec('a', 0), rec('bad0', 0), rec('b', 1), rec('bad1', 1), rec('c', 0), rec('d', 1)]);
    expect(rejected.map((r) => Buffer.from(r.record.data).toString()).sort()).toEqual(['bad0', 'bad1']);
    expect(rejected.every((r) => r.reason.includes('ValidationException'))).toBe(true);
    expect(putters[0].accepted().sort()).toEqual(['a', 'c']);
    expect(putters[1].accepted().sort()).toEqual(['b', 'd']);
  });
});

describe('OutputSinks: one buffer for all outputs', () => {
  test("OutputStream0's max-buffered bounds the outputs together: records held for OutputStream1 take room OutputStream0's reserve sees, which waits until they settle", async () => {
    // OutputStream1's own figure is not a second budget.
    const { sinks, putters } = open([outputConfig(0, { maxBufferedRecords: 10, maxBatchRecords: 10 }), outputConfig(1, { maxBufferedRecords: 10_000, maxBatchRecords: 10 })]);
    autoSucceed(putters[0]);
    expect(sinks.room).toBe(10);
    const held = track(sinks.write(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((l) => rec(l, 1))));
    await until(() => putters[1].open().length === 1, "OutputStream1's request in flight");
    expect(sinks.buffered).toBe(8);
    expect(sinks.room).toBe(2);
    expect(sinks.outputs[0].sink.room).toBe(2);
    expect(sinks.outputs[1].sink.room).toBe(2);

    const fits = track(sinks.reserve(2));
    const tooMany = track(sinks.reserve(3));
    const viaOutput0 = track(sinks.outputs[0].sink.reserve(3));
    await until(() => fits.done, 'a reservation that fits');
    await drain();
    expect(tooMany.done).toBe(false);
    expect(viaOutput0.done).toBe(false);

    // OutputStream0's own traffic flows meanwhile, and gives its room back.
    expect(await sinks.write([rec('x', 0)])).toEqual([]);
    await drain();
    expect(tooMany.done).toBe(false);
    expect(sinks.room).toBe(2);

    putters[1].open()[0].succeed();
    await until(() => tooMany.done && viaOutput0.done && held.done, 'the reservations once OutputStream1 settled');
    expect(sinks.room).toBe(10);
    expect(sinks.buffered).toBe(0);
  });
});

describe('OutputSinks: failures per output', () => {
  test('not accepting while any output fails (the failing one named); accepting again, and the held write resolved, once it takes writes', async () => {
    const { sinks, putters } = open([outputConfig(0), outputConfig(1)]);
    autoSucceed(putters[0]);
    let denied = true;
    putters[1].auto = (call: Call) => queueMicrotask(() => (denied ? call.fail(awsError('AccessDeniedException')) : call.succeed()));
    expect(sinks.accepting).toBe(true);
    const write = track(sinks.write([rec('a', 0), rec('b', 1)]));
    await until(() => !sinks.accepting, 'OutputStream1 to fail');
    expect(sinks.outputs[0].sink.accepting).toBe(true);
    expect(sinks.failures()).toEqual([{ group: 'OutputStream1', failure: expect.objectContaining({ error: expect.stringContaining('AccessDeniedException') }) }]);
    const waiting = track(sinks.waitUntilAccepting());
    await until(() => putters[1].calls.length >= 3, 'OutputStream1 probed again');
    expect(sinks.accepting).toBe(false);
    expect(waiting.done).toBe(false);
    expect(write.done).toBe(false);
    expect(putters[0].accepted()).toEqual(['a']);

    denied = false;
    await until(() => waiting.done && write.done, 'accepting again and the write resolved');
    expect(sinks.accepting).toBe(true);
    expect(sinks.failures()).toEqual([]);
    expect(write.value).toEqual([]);
    expect(putters[1].accepted()).toEqual(['b']);
  });

  test('waitUntilAccepting waits for every failing output, not just the first', async () => {
    const { sinks, putters } = open([outputConfig(0), outputConfig(1)]);
    const denied = [true, true];
    putters.forEach((putter, i) => (putter.auto = (call: Call) => queueMicrotask(() => (denied[i] ? call.fail(awsError('AccessDeniedException')) : call.succeed()))));
    void sinks.write([rec('a', 0), rec('b', 1)]);
    await until(() => sinks.failures().length === 2, 'both outputs failing');
    const waiting = track(sinks.waitUntilAccepting());
    denied[0] = false;
    await until(() => sinks.outputs[0].sink.accepting, 'OutputStream0 back');
    const probes = putters[1].calls.length;
    await until(() => putters[1].calls.length >= probes + 2, 'OutputStream1 probed again');
    expect(waiting.done).toBe(false);
    expect(sinks.accepting).toBe(false);
    denied[1] = false;
    await until(() => waiting.done, 'both outputs back');
    expect(sinks.accepting).toBe(true);
  });

  test("sink.fail-on-error is each group's own: OutputStream1's calls onFatal naming OutputStream1; OutputStream0's does not fire for OutputStream1's failure", async () => {
    const failing = (putters: GroupPutter[]) => {
      autoSucceed(putters[0]);
      putters[1].auto = (call: Call) => queueMicrotask(() => call.fail(awsError('AccessDeniedException')));
    };

    const onFatal = jest.fn();
    const strict = open([outputConfig(0), outputConfig(1, { failOnError: true })], { onFatal });
    failing(strict.putters);
    void strict.sinks.write([rec('a', 0), rec('b', 1)]);
    await until(() => onFatal.mock.calls.length > 0, 'onFatal');
    expect(onFatal).toHaveBeenCalledTimes(1);
    const [err, group] = onFatal.mock.calls[0] as [OutputStreamError, string];
    expect(group).toBe('OutputStream1');
    expect(err).toBeInstanceOf(OutputStreamError);
    expect(err.streamArn).toBe(arnOf(1));
    expect(err.message).toContain('AccessDeniedException');

    const elsewhere = jest.fn();
    const lenient = open([outputConfig(0, { failOnError: true }), outputConfig(1)], { onFatal: elsewhere });
    failing(lenient.putters);
    void lenient.sinks.write([rec('a', 0), rec('b', 1)]);
    await until(() => lenient.putters[1].calls.length >= 3, 'OutputStream1 failing and probed again');
    expect(lenient.sinks.accepting).toBe(false);
    expect(elsewhere).not.toHaveBeenCalled();
  });
});

describe('OutputSinks: abandon and counters', () => {
  test("abandon drops the owner's unsent records on every output and counts them all", async () => {
    // One request of one record in flight per output, the rest pending behind it.
    const one = { maxBatchRecords: 1, maxInFlightRequests: 1 };
    const { sinks, putters } = open([outputConfig(0, one), outputConfig(1, one)]);
    const owner: RecordOwner = { isLost: false };
    const write = track(sinks.write([rec('a', 0), rec('b', 1), rec('c', 0), rec('d', 1), rec('e', 0)], owner));
    await until(() => putters[0].open().length === 1 && putters[1].open().length === 1, 'one request in flight per output');
    expect(sinks.buffered).toBe(5);

    expect(sinks.abandon(owner)).toBe(3); // c, e on OutputStream0; d on OutputStream1
    expect(sinks.stats.droppedRecords).toBe(3);
    expect(sinks.buffered).toBe(2);
    for (const putter of putters) putter.open()[0].succeed();
    await until(() => sinks.buffered === 0, 'the requests in flight acknowledged');
    await drain();
    expect(putters[0].sent()).toEqual(['a']);
    expect(putters[1].sent()).toEqual(['b']);
    // The writer stopped waiting: a handed-back lease's records are read again by the next owner.
    expect(write.done).toBe(false);
  });

  test('stats and buffered add up over the outputs', async () => {
    const { sinks, putters } = open([outputConfig(0), outputConfig(1), outputConfig(2)]);
    putters.forEach(autoSucceed);
    // A throttled record on OutputStream1 is retried: the retries are counted too.
    let throttled = false;
    putters[1].auto = (call: Call) =>
      queueMicrotask(() => {
        const codes = call.entries.map((e) => (!throttled && text(e) === 'b' ? ((throttled = true), 'ProvisionedThroughputExceededException') : undefined));
        call.reply(codes);
      });
    expect(await sinks.write([rec('a', 0), rec('b', 1), rec('c', 1), rec('d', 2), rec('e', 0), rec('f', 0)])).toEqual([]);
    const total = sinks.stats;
    expect(total.recordsWritten).toBe(6);
    expect(total.retriedRecords).toBe(1);
    expect(total.throttledRecords).toBe(1);
    for (const key of Object.keys(total) as Array<keyof SinkStats>) {
      expect([key, total[key]]).toEqual([key, sinks.outputs.reduce((n, o) => n + o.sink.stats[key], 0)]);
    }
    expect(sinks.outputs.map((o) => o.sink.stats.recordsWritten)).toEqual([3, 2, 1]);
    expect(total.requests).toBe(putters.reduce((n, p) => n + p.calls.length, 0));
    expect(sinks.buffered).toBe(0);
  });

  test("open gives each group its own client, and destroy closes every one", () => {
    const configs = [outputConfig(0), outputConfig(1)];
    const { sinks, putters } = open(configs);
    expect(KinesisGateway.fromConfig).toHaveBeenCalledTimes(2);
    expect((KinesisGateway.fromConfig as jest.Mock).mock.calls.map((c: unknown[]) => c[0])).toEqual(configs.map((c) => c.client));
    expect(sinks.outputs.map((o) => o.group)).toEqual(['OutputStream0', 'OutputStream1']);
    sinks.close();
    sinks.destroy();
    expect(putters.map((p) => p.destroyed)).toEqual([true, true]);
    opened.splice(opened.indexOf(sinks), 1);
  });
});
