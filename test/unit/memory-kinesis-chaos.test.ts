/**
 * The in-memory Kinesis's fault plan and the store's stream deletion, shard expiry and puts log,
 * without HTTP: which request a rule hits, how often, and what is gone afterwards.
 */
import { ChaosPlan, parseRule, statusOf } from '../../bench/memory-kinesis/chaos';
import { KinesisError, PUT_LOG_CAP, StreamStore, type PutEntry } from '../../bench/memory-kinesis/stream-store';

const b64 = (text: string) => Buffer.from(text).toString('base64');
const entries = (n: number): PutEntry[] => Array.from({ length: n }, (_, i) => ({ PartitionKey: `key-${i}`, Data: b64(`r-${i}`) }));

function errorType(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(KinesisError);
    return (err as KinesisError).type;
  }
  throw new Error('expected a KinesisError, nothing was thrown');
}

describe('chaos rules', () => {
  test('an error rule fires on its operation, stream and shard only, and is spent after `times`', () => {
    const plan = new ChaosPlan();
    plan.add([{ operation: 'GetRecords', stream: 'in', shard: 'shardId-000000000001', error: 'ExpiredIteratorException', times: 2 }]);
    expect(plan.take({ operation: 'PutRecords', stream: 'in' })).toBeUndefined();
    expect(plan.take({ operation: 'GetRecords', stream: 'out', shard: 'shardId-000000000001' })).toBeUndefined();
    expect(plan.take({ operation: 'GetRecords', stream: 'in', shard: 'shardId-000000000000' })).toBeUndefined();
    expect(plan.take({ operation: 'GetRecords', stream: 'in' })).toBeUndefined();
    const hit = { operation: 'GetRecords', stream: 'in', shard: 'shardId-000000000001' };
    expect(plan.take(hit)).toEqual({ error: 'ExpiredIteratorException' });
    expect(plan.take(hit)).toEqual({ error: 'ExpiredIteratorException' });
    expect(plan.take(hit)).toBeUndefined();
    expect(plan.list()).toEqual([{ rule: expect.objectContaining({ operation: 'GetRecords', times: 2 }), fired: 2 }]);
  });

  test('"*" matches every operation; without times a rule lasts until cleared; the first matching unspent rule wins', () => {
    const plan = new ChaosPlan();
    plan.add([
      { operation: 'PutRecords', reset: true, times: 1 },
      { operation: '*', stream: 's', delayMs: 2000 },
      { operation: 'PutRecords', error: 'InternalFailure' },
    ]);
    expect(plan.take({ operation: 'PutRecords', stream: 's' })).toEqual({ reset: true });
    for (let i = 0; i < 5; i++) expect(plan.take({ operation: 'PutRecords', stream: 's' })).toEqual({ delayMs: 2000 });
    expect(plan.take({ operation: 'ListShards', stream: 's' })).toEqual({ delayMs: 2000 });
    expect(plan.take({ operation: 'PutRecords', stream: 'other' })).toEqual({ error: 'InternalFailure' });
    expect(plan.list().map((s) => s.fired)).toEqual([1, 6, 1]);
    plan.clear();
    expect(plan.list()).toEqual([]);
    expect(plan.take({ operation: 'PutRecords', stream: 's' })).toBeUndefined();
  });

  test('a userAgent rule picks one process by a substring of its user agent', () => {
    const plan = new ChaosPlan();
    plan.add([{ operation: 'PutRecords', userAgent: 'app/worker-2', error: 'AccessDeniedException' }]);
    expect(plan.take({ operation: 'PutRecords', userAgent: 'aws-sdk-js/3 app/worker-1' })).toBeUndefined();
    expect(plan.take({ operation: 'PutRecords' })).toBeUndefined();
    expect(plan.take({ operation: 'PutRecords', userAgent: 'aws-sdk-js/3 app/worker-2' })).toEqual({ error: 'AccessDeniedException' });
  });

  test('a dataContains rule fires only on puts carrying a record with that text (a poison record refusing its request)', () => {
    const plan = new ChaosPlan();
    plan.add([{ operation: 'PutRecords', dataContains: 'POISON', error: 'ValidationException', message: 'refused for a record' }]);
    expect(plan.take({ operation: 'PutRecords', stream: 'out', records: () => ['a', 'b'] })).toBeUndefined();
    expect(plan.take({ operation: 'PutRecords', stream: 'out' })).toBeUndefined();
    expect(plan.take({ operation: 'PutRecords', stream: 'out', records: () => ['a', 'x-POISON-y'] })).toEqual({ error: 'ValidationException', message: 'refused for a record' });
    expect(() => plan.add([{ operation: 'PutRecords', dataContains: '', error: 'ValidationException' }])).toThrow(/dataContains must be a non-empty string/);
  });

  test('a bad rule is refused and a list with one adds none', () => {
    const plan = new ChaosPlan();
    expect(errorType(() => plan.add([{ operation: 'GetRecords', error: 'InternalFailure' }, { operation: 'GetRecords' }]))).toBe('InvalidArgumentException');
    expect(plan.list()).toEqual([]);
    for (const bad of [
      { operation: 'GetRecords', error: 'InternalFailure', reset: true },
      { operation: 'getRecords', reset: true },
      { operation: 'GetRecords', reset: 'yes' },
      { operation: 'GetRecords', delayMs: -1 },
      { operation: 'GetRecords', delayMs: 10, times: 0 },
      { operation: 'GetRecords', delayMs: 10, stream: '' },
      { operation: 'GetRecords', delayMs: 10, shards: 'x' },
      { operation: 'GetRecords', delayMs: 10, message: 'only with error' },
      null,
    ]) {
      expect(errorType(() => parseRule(bad))).toBe('InvalidArgumentException');
    }
    expect(errorType(() => plan.add([]))).toBe('InvalidArgumentException');
    expect(errorType(() => plan.add({ operation: 'GetRecords', delayMs: 1 }))).toBe('InvalidArgumentException');
  });

  test('error statuses are Kinesis\'s: 500 InternalFailure, 503 ServiceUnavailable, 400 the client errors', () => {
    expect(statusOf('InternalFailure')).toBe(500);
    expect(statusOf('ServiceUnavailable')).toBe(503);
    for (const t of ['AccessDeniedException', 'KMSDisabledException', 'ExpiredIteratorException', 'ResourceNotFoundException']) expect(statusOf(t)).toBe(400);
  });
});

describe('stream deletion', () => {
  test('a deleted stream, its iterators and consumers are not found; the name makes a fresh, empty stream whose sequence numbers sort after the old', () => {
    const store = new StreamStore();
    const old = store.createStream('out', 2);
    const consumer = store.registerConsumer(old, 'c');
    const before = store.putRecords(old, entries(10));
    const iterator = store.encodeIterator(old, old.shards[0], 0);
    const gone: string[] = [];
    store.onAppend = (_s, shard) => gone.push(shard.id);

    store.deleteStream(old);
    expect(old.deleted).toBe(true);
    expect(gone).toEqual(['shardId-000000000000', 'shardId-000000000001']);
    expect(errorType(() => store.stream({ StreamName: 'out' }))).toBe('ResourceNotFoundException');
    expect(errorType(() => store.stream({ StreamARN: old.arn }))).toBe('ResourceNotFoundException');
    expect(errorType(() => store.decodeIterator(iterator))).toBe('ResourceNotFoundException');
    expect(errorType(() => store.consumer({ ConsumerARN: consumer.arn }))).toBe('ResourceNotFoundException');

    const fresh = store.createStream('out', 1);
    expect(fresh.shards).toHaveLength(1);
    expect(fresh.records).toBe(0);
    expect(store.read(fresh.shards[0], 0, 100).count).toBe(0);
    // The old stream's iterator names a shard id the new stream has too, and still finds nothing.
    expect(errorType(() => store.decodeIterator(iterator))).toBe('ResourceNotFoundException');
    const [after] = store.putRecords(fresh, entries(1));
    const lastOld = before.map((o) => ('SequenceNumber' in o ? BigInt(o.SequenceNumber) : 0n)).reduce((a, b) => (a > b ? a : b));
    expect('SequenceNumber' in after && BigInt(after.SequenceNumber) > lastOld).toBe(true);
    expect(store.consumersOf(fresh)).toEqual([]);
  });
});

describe('shard expiry', () => {
  test('an expired shard loses its records, leaves ListShards and is not found by id or by an iterator issued before', () => {
    const store = new StreamStore();
    const stream = store.createStream('in', 3);
    store.putRecords(stream, entries(60));
    const target = stream.shards[1];
    expect(target.fragments.length).toBeGreaterThan(0);
    const iterator = store.encodeIterator(stream, target, 0);
    const others = () => [0, 2].map((i) => store.read(stream.shards[i], 0, 1000).json);
    const othersBefore = others();

    store.expireShard(stream, 'shardId-000000000001');
    expect(target.fragments).toEqual([]);
    expect(store.listShards(stream, 0).shards.map((s) => s.id)).toEqual(['shardId-000000000000', 'shardId-000000000002']);
    expect(store.liveShards(stream)).toHaveLength(2);
    expect(errorType(() => store.shard(stream, 'shardId-000000000001'))).toBe('ResourceNotFoundException');
    expect(errorType(() => store.decodeIterator(iterator))).toBe('ResourceNotFoundException');
    expect(errorType(() => store.expireShard(stream, 'shardId-000000000001'))).toBe('ResourceNotFoundException');
    // The others are untouched.
    expect(others()).toEqual(othersBefore);
  });

  test('a put into an expired shard\'s hash range fails the request, so nothing lands in a shard no one can read', () => {
    const store = new StreamStore();
    const stream = store.createStream('in', 1);
    store.expireShard(stream, 'shardId-000000000000');
    expect(errorType(() => store.putRecords(stream, entries(1)))).toBe('ResourceNotFoundException');
  });
});

describe('puts log', () => {
  test('kept per stream name across a delete and re-create, newest PUT_LOG_CAP only', () => {
    const store = new StreamStore();
    store.logPut('out', { at: 1, userAgent: 'a app/w1', records: 5, accepted: 5 });
    store.logPut('out', { at: 2, userAgent: 'a app/w2', records: 5, accepted: 0, fault: 'reset' });
    store.logPut('other', { at: 3, userAgent: 'x', records: 1, accepted: 1 });
    expect(store.puts('out').map((p) => p.at)).toEqual([1, 2]);
    expect(store.puts('never')).toEqual([]);
    for (let i = 0; i < PUT_LOG_CAP; i++) store.logPut('big', { at: i, userAgent: '', records: 1, accepted: 1 });
    store.logPut('big', { at: PUT_LOG_CAP, userAgent: '', records: 1, accepted: 1 });
    expect(store.puts('big')).toHaveLength(PUT_LOG_CAP);
    expect(store.puts('big')[0].at).toBe(1);
  });
});
