/**
 * The benchmark's in-memory Kinesis store, without HTTP: the benchmark is only as honest as this store
 * is faithful to Kinesis in what shardflow relies on (hash routing, per-shard order, sequence number
 * comparison, iterator positions, limits and per-record throttling).
 */
import { createHash } from 'node:crypto';
import { encodeAggregate, KPL_MAGIC } from '../../shared/kpl/aggregated-record';
import { KinesisError, LIMITS, SHARD_START_SEQUENCE, StreamStore, hashKeyOf, sequenceNumberOf, type PutEntry, type PutOutcome, type Shard } from '../../bench/memory-kinesis/stream-store';

const TOP = (1n << 128n) - 1n;

interface StoredRecord {
  SequenceNumber: string;
  ApproximateArrivalTimestamp: number;
  Data: string;
  PartitionKey: string;
}

function fakeClock(startMs = 1_700_000_000_000) {
  let t = startMs;
  return {
    now: () => t,
    set: (ms: number) => {
      t = ms;
    },
    advance: (ms: number) => {
      t += ms;
    },
  };
}

const b64 = (text: string) => Buffer.from(text).toString('base64');
const entry = (key: string, data = key, ExplicitHashKey?: string): PutEntry => ({ PartitionKey: key, Data: b64(data), ...(ExplicitHashKey === undefined ? {} : { ExplicitHashKey }) });
const entries = (n: number, tag = 'r') => Array.from({ length: n }, (_, i) => entry(`key-${i}`, `${tag}-${i}`));

function recordsOf(store: StreamStore, shard: Shard, from = 0, limit: number = LIMITS.getRecords): StoredRecord[] {
  return JSON.parse(store.read(shard, from, limit).json) as StoredRecord[];
}

function errorType(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(KinesisError);
    return (err as KinesisError).type;
  }
  throw new Error('expected a KinesisError, nothing was thrown');
}

const accepted = (o: PutOutcome) => 'SequenceNumber' in o;
const totalRecords = (shards: readonly Shard[]) => shards.reduce((n, s) => n + s.fragments.length, 0);

describe('streams and shards', () => {
  test('shards split the hash key space evenly and contiguously, with Kinesis ids, ranges and ARN', () => {
    const store = new StreamStore();
    for (const n of [1, 3, 4, 7]) {
      const stream = store.createStream(`s${n}`, n);
      expect(stream.arn).toBe(`arn:aws:kinesis:us-east-1:000000000000:stream/s${n}`);
      expect(stream.shards.map((s) => s.id)).toEqual(Array.from({ length: n }, (_, i) => `shardId-${String(i).padStart(12, '0')}`));
      expect(stream.shards[0].startingHashKey).toBe(0n);
      expect(stream.shards[n - 1].endingHashKey).toBe(TOP);
      const widths = stream.shards.map((s) => s.endingHashKey - s.startingHashKey + 1n);
      for (let i = 1; i < n; i++) expect(stream.shards[i].startingHashKey).toBe(stream.shards[i - 1].endingHashKey + 1n);
      const spread = widths.reduce((a, b) => (a > b ? a : b)) - widths.reduce((a, b) => (a < b ? a : b));
      expect(spread <= 1n).toBe(true);
    }
    // The ranges AWS gives a new three-shard stream.
    expect(store.stream({ StreamName: 's3' }).shards[1].startingHashKey).toBe(113427455640312821154458202477256070485n);
  });

  test('a stream is found by name or by ARN; unknown and duplicate streams fail as in Kinesis', () => {
    const store = new StreamStore();
    const stream = store.createStream('orders', 2);
    expect(store.stream({ StreamName: 'orders' })).toBe(stream);
    expect(store.stream({ StreamARN: stream.arn })).toBe(stream);
    expect(errorType(() => store.stream({ StreamName: 'nope' }))).toBe('ResourceNotFoundException');
    expect(errorType(() => store.stream({}))).toBe('ResourceNotFoundException');
    expect(errorType(() => store.createStream('orders', 1))).toBe('ResourceInUseException');
    expect(errorType(() => store.shard(stream, 'shardId-000000000009'))).toBe('ResourceNotFoundException');
    expect(errorType(() => store.createStream('bad', 0))).toBe('InvalidArgumentException');
  });

  test('ListShards pages follow MaxResults and ExclusiveStartShardId; tokens name their stream', () => {
    const store = new StreamStore();
    const stream = store.createStream('five', 5);
    const ids: string[] = [];
    let page = store.listShards(stream, 0, 2);
    ids.push(...page.shards.map((s) => s.id));
    while (page.next !== null) {
      const token = store.decodeListToken(store.encodeListToken(stream, page.next));
      expect(token.stream).toBe(stream);
      page = store.listShards(token.stream, token.next, 2);
      ids.push(...page.shards.map((s) => s.id));
    }
    expect(ids).toEqual(stream.shards.map((s) => s.id));
    expect(store.listShards(stream, 0, undefined).shards).toHaveLength(5);
    expect(store.listShards(stream, 0, 10, 'shardId-000000000002').shards.map((s) => s.id)).toEqual(['shardId-000000000003', 'shardId-000000000004']);
    expect(errorType(() => store.listShards(stream, 0, 0))).toBe('InvalidArgumentException');
    expect(errorType(() => store.listShards(stream, 0, 10_001))).toBe('InvalidArgumentException');
    expect(errorType(() => store.decodeListToken('garbage'))).toBe('InvalidArgumentException');
  });

  test('a stream of 2,048 shards (the scale benchmark): listed in pages of 1,000, each shard found by id, records routed to every shard', () => {
    const store = new StreamStore();
    const stream = store.createStream('big', 2048);
    const ids: string[] = [];
    let page = store.listShards(stream, 0, 10_000);
    ids.push(...page.shards.map((s) => s.id));
    const pages = [page.shards.length];
    while (page.next !== null) {
      page = store.listShards(stream, page.next, 10_000);
      ids.push(...page.shards.map((s) => s.id));
      pages.push(page.shards.length);
    }
    expect(pages).toEqual([1000, 1000, 48]);
    expect(new Set(ids).size).toBe(2048);
    expect(store.shard(stream, 'shardId-000000002047')).toBe(stream.shards[2047]);
    expect(errorType(() => store.shard(stream, 'shardId-000000002048'))).toBe('ResourceNotFoundException');
    expect(store.shardFor(stream, { PartitionKey: 'x', ExplicitHashKey: ((1n << 128n) - 1n).toString() })).toBe(stream.shards[2047]);
    expect(errorType(() => store.createStream('too-big', LIMITS.shardsPerStream + 1))).toBe('InvalidArgumentException');
  });
});

describe('routing', () => {
  test('a partition key goes to the shard whose range holds the MD5 of its UTF-8 bytes', () => {
    expect(hashKeyOf('a')).toBe(BigInt('0x0cc175b9c0f1b6a831c399e269772661'));
    const store = new StreamStore();
    const stream = store.createStream('routing', 4);
    const keys = [...Array.from({ length: 400 }, (_, i) => `key-${i}`), 'AAPL', 'Ünïcødé ключ', '🦆'];
    for (const key of keys) {
      const [outcome] = store.putRecords(stream, [entry(key)]);
      const hash = BigInt(`0x${createHash('md5').update(Buffer.from(key, 'utf8')).digest('hex')}`);
      const owner = stream.shards.find((s) => s.startingHashKey <= hash && hash <= s.endingHashKey)!;
      expect(outcome).toEqual({ SequenceNumber: expect.any(String), ShardId: owner.id });
    }
    // 400 random-ish keys reach every shard.
    expect(stream.shards.every((s) => s.fragments.length > 0)).toBe(true);
  });

  test('an ExplicitHashKey overrides the partition key, exactly at range boundaries', () => {
    const store = new StreamStore();
    const stream = store.createStream('explicit', 3);
    const cases: Array<[bigint, number]> = [
      [0n, 0],
      [stream.shards[1].startingHashKey - 1n, 0],
      [stream.shards[1].startingHashKey, 1],
      [stream.shards[2].startingHashKey - 1n, 1],
      [stream.shards[2].startingHashKey, 2],
      [TOP, 2],
    ];
    for (const [key, shard] of cases) {
      const [outcome] = store.putRecords(stream, [entry('same-key', 'x', key.toString())]);
      expect(outcome).toMatchObject({ ShardId: stream.shards[shard].id });
    }
  });

  test('a bad ExplicitHashKey fails the whole request and writes nothing', () => {
    const store = new StreamStore();
    const stream = store.createStream('bad-hash', 2);
    for (const bad of [(TOP + 1n).toString(), '-1', 'abc', '']) {
      expect(errorType(() => store.putRecords(stream, [entry('ok'), entry('k', 'x', bad)]))).toBe('InvalidArgumentException');
    }
    expect(totalRecords(stream.shards)).toBe(0);
  });
});

describe('sequence numbers', () => {
  test('increase strictly per shard and compare the same as BigInts and as (length, lexicographic) strings', () => {
    const store = new StreamStore();
    const a = store.createStream('a', 4);
    const b = store.createStream('b', 2);
    for (let i = 0; i < 10; i++) {
      store.putRecords(a, entries(100, `a${i}`));
      store.putRecords(b, entries(50, `b${i}`));
    }
    const all: string[] = [];
    for (const shard of [...a.shards, ...b.shards]) {
      const seqs = recordsOf(store, shard).map((r) => r.SequenceNumber);
      expect(seqs.length).toBe(shard.fragments.length);
      for (const seq of seqs) expect(seq).toMatch(/^\d{56}$/);
      for (let i = 1; i < seqs.length; i++) expect(BigInt(seqs[i]) > BigInt(seqs[i - 1])).toBe(true);
      all.push(...seqs);
    }
    const byBigInt = [...all].sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : BigInt(x) > BigInt(y) ? 1 : 0));
    const byString = [...all].sort((x, y) => x.length - y.length || (x < y ? -1 : x > y ? 1 : 0));
    expect(byString).toEqual(byBigInt);
    expect(SHARD_START_SEQUENCE).toMatch(/^\d{56}$/);
    expect(BigInt(SHARD_START_SEQUENCE) < BigInt(byBigInt[0])).toBe(true);
  });

  test('PutRecords answers one outcome per entry, in order, naming the shard and sequence number stored', () => {
    const store = new StreamStore();
    const stream = store.createStream('outcomes', 4);
    const outcomes = store.putRecords(stream, entries(200));
    outcomes.forEach((o, i) => {
      if (!('SequenceNumber' in o)) throw new Error(`entry ${i} refused`);
      const shard = store.shard(stream, o.ShardId);
      const record = recordsOf(store, shard).find((r) => r.SequenceNumber === o.SequenceNumber)!;
      expect(Buffer.from(record.Data, 'base64').toString()).toBe(`r-${i}`);
      expect(record.PartitionKey).toBe(`key-${i}`);
    });
  });
});

describe('iterators', () => {
  function filled() {
    const clock = fakeClock();
    const store = new StreamStore(clock.now);
    const stream = store.createStream('it', 1);
    const other = store.createStream('other', 1);
    const shard = stream.shards[0];
    for (let i = 0; i < 5; i++) {
      store.putRecords(stream, [entry(`k${i}`, `d${i}`)]);
      // Leaves gaps between this shard's sequence numbers, as other shards do in Kinesis.
      store.putRecords(other, [entry(`k${i}`)]);
      clock.advance(1000);
    }
    return { clock, store, stream, shard, seqs: recordsOf(store, shard).map((r) => r.SequenceNumber) };
  }

  test('TRIM_HORIZON, LATEST, AT_ and AFTER_SEQUENCE_NUMBER start where Kinesis starts', () => {
    const { store, shard, seqs } = filled();
    expect(store.startIndex(shard, { type: 'TRIM_HORIZON' })).toBe(0);
    expect(store.startIndex(shard, { type: 'LATEST' })).toBe(5);
    expect(store.startIndex(shard, { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: seqs[2] })).toBe(2);
    expect(store.startIndex(shard, { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: seqs[2] })).toBe(3);
    expect(store.startIndex(shard, { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: seqs[4] })).toBe(5);
    // Resuming after a shard's starting sequence number reads it from the start.
    expect(store.startIndex(shard, { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: SHARD_START_SEQUENCE })).toBe(0);
    // A number no record here has falls between its neighbours.
    const between = (BigInt(seqs[1]) + 1n).toString();
    expect(store.startIndex(shard, { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: between })).toBe(2);
    expect(store.startIndex(shard, { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: between })).toBe(2);
    expect(store.startIndex(shard, { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: '1' })).toBe(0);
    expect(store.startIndex(shard, { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: `000${seqs[3]}` })).toBe(3);
    expect(store.startIndex(shard, { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: '9'.repeat(56) })).toBe(5);
    expect(store.startIndex(shard, { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: '1'.repeat(80) })).toBe(5);
    expect(errorType(() => store.startIndex(shard, { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: 'abc' }))).toBe('InvalidArgumentException');
    expect(errorType(() => store.startIndex(shard, { type: 'AT_SEQUENCE_NUMBER' }))).toBe('InvalidArgumentException');
    expect(errorType(() => store.startIndex(shard, { type: 'SOMEWHERE' as 'LATEST' }))).toBe('InvalidArgumentException');
  });

  test('AT_TIMESTAMP starts at the first record that arrived at or after the timestamp', () => {
    const { clock, store, stream, shard } = filled();
    const t0 = 1_700_000_000_000;
    expect(store.startIndex(shard, { type: 'AT_TIMESTAMP', timestampMs: t0 - 1 })).toBe(0);
    expect(store.startIndex(shard, { type: 'AT_TIMESTAMP', timestampMs: t0 })).toBe(0);
    expect(store.startIndex(shard, { type: 'AT_TIMESTAMP', timestampMs: t0 + 1 })).toBe(1);
    expect(store.startIndex(shard, { type: 'AT_TIMESTAMP', timestampMs: t0 + 2000 })).toBe(2);
    expect(store.startIndex(shard, { type: 'AT_TIMESTAMP', timestampMs: t0 + 60_000 })).toBe(5);
    expect(errorType(() => store.startIndex(shard, { type: 'AT_TIMESTAMP' }))).toBe('InvalidArgumentException');
    // A clock that steps back does not reorder arrival times.
    clock.set(t0);
    store.putRecords(stream, [entry('late')]);
    expect(shard.arrivalMs[5]).toBe(shard.arrivalMs[4]);
    expect(recordsOf(store, shard)[0].ApproximateArrivalTimestamp).toBe(t0 / 1000);
  });

  test('an iterator is opaque and round-trips; a broken one is an InvalidArgumentException', () => {
    const { store, stream, shard } = filled();
    const iterator = store.encodeIterator(stream, shard, 3);
    expect(iterator).not.toContain(shard.id);
    expect(store.decodeIterator(iterator)).toEqual({ stream, shard, index: 3 });
    expect(errorType(() => store.decodeIterator('not an iterator'))).toBe('InvalidArgumentException');
    expect(errorType(() => store.decodeIterator(undefined))).toBe('InvalidArgumentException');
    expect(errorType(() => store.decodeIterator(Buffer.from('gone|1|shardId-000000000000|0').toString('base64')))).toBe('ResourceNotFoundException');
  });
});

describe('reading', () => {
  test('a page holds at most Limit records, exactly as written, and says where to continue', () => {
    const clock = fakeClock();
    const store = new StreamStore(clock.now);
    const stream = store.createStream('read', 1);
    const key = 'quote " backslash \\ ünïcødé';
    const data = Buffer.from([0, 1, 2, 250, 255]).toString('base64');
    store.putRecords(stream, [{ PartitionKey: key, Data: data }, ...entries(9)]);
    const shard = stream.shards[0];
    const first = store.read(shard, 0, 4);
    expect(first.count).toBe(4);
    expect(first.next).toBe(4);
    const [record] = JSON.parse(first.json) as StoredRecord[];
    expect(record).toEqual({ SequenceNumber: sequenceNumberOf(1), ApproximateArrivalTimestamp: clock.now() / 1000, Data: data, PartitionKey: key });
    expect(store.read(shard, 4, 100).count).toBe(6);
    expect(store.read(shard, 10, 100)).toEqual({ json: '[]', count: 0, next: 10, millisBehindLatest: 0 });
  });

  test('MillisBehindLatest is the age of the oldest record left unread, 0 at the tip', () => {
    const clock = fakeClock();
    const store = new StreamStore(clock.now);
    const stream = store.createStream('lag', 1);
    const shard = stream.shards[0];
    store.putRecords(stream, [entry('a')]);
    clock.advance(500);
    store.putRecords(stream, [entry('b')]);
    clock.advance(1500);
    expect(store.read(shard, 0, 1).millisBehindLatest).toBe(1500);
    expect(store.read(shard, 0, 2).millisBehindLatest).toBe(0);
  });

  test('a page stops near 10 MiB, like GetRecords, but always holds one record', () => {
    const store = new StreamStore();
    const stream = store.createStream('big', 1);
    const shard = stream.shards[0];
    // 1,200,000 base64 characters are 900,000 bytes: under the 1 MiB record limit.
    const big = 'A'.repeat(1_200_000);
    store.putRecords(stream, Array.from({ length: 12 }, (_, i) => ({ PartitionKey: `k${i}`, Data: big })));
    const page = store.read(shard, 0, LIMITS.getRecords);
    expect(page.count).toBeGreaterThan(0);
    expect(page.count).toBeLessThan(12);
    expect(page.json.length).toBeLessThanOrEqual(LIMITS.readChars + 100);
    expect(page.count + store.read(shard, page.next, LIMITS.getRecords).count).toBe(12);
  });
});

describe('PutRecords limits', () => {
  test('an empty or oversized request, or any malformed entry, fails whole and writes nothing', () => {
    const store = new StreamStore();
    const stream = store.createStream('limits', 2);
    const bad: unknown[] = [
      [],
      entries(501),
      'not a list',
      [entry('ok'), { PartitionKey: '', Data: b64('x') }],
      [entry('ok'), { PartitionKey: 'k'.repeat(257), Data: b64('x') }],
      [entry('ok'), { PartitionKey: 'k', Data: 'not base64!' }],
      [entry('ok'), { PartitionKey: 'k', Data: 'AAAA"}' }],
      [entry('ok'), { PartitionKey: 'k' }],
      [entry('ok'), { PartitionKey: 'k', Data: 'A'.repeat(1_400_000) }],
      [entry('ok'), null],
    ];
    for (const request of bad) expect(['ValidationException', 'SerializationException']).toContain(errorType(() => store.putRecords(stream, request)));
    expect(totalRecords(stream.shards)).toBe(0);
    expect(store.putRecords(stream, entries(500)).every(accepted)).toBe(true);
    // Empty data is allowed, as in Kinesis.
    expect(store.putRecords(stream, [{ PartitionKey: 'k', Data: '' }]).every(accepted)).toBe(true);
  });

  test('onAppend fires once per shard a request wrote to', () => {
    const store = new StreamStore();
    const stream = store.createStream('notify', 4);
    const seen: string[] = [];
    store.onAppend = (s, shard) => seen.push(`${s.name}/${shard.id}`);
    store.putRecords(stream, entries(100));
    expect(seen.sort()).toEqual(stream.shards.map((s) => `notify/${s.id}`));
  });
});

describe('throttle', () => {
  test('entries past the budget of the current second are refused one by one; the next second renews it', () => {
    const clock = fakeClock(1_700_000_010_300);
    const store = new StreamStore(clock.now);
    const stream = store.createStream('throttled', 2);
    store.setThrottle(stream, 100);

    const first = store.putRecords(stream, entries(150));
    expect(first.slice(0, 100).every(accepted)).toBe(true);
    for (const o of first.slice(100)) {
      expect(o).toEqual({ ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: expect.stringContaining('Rate exceeded') });
    }
    expect(totalRecords(stream.shards)).toBe(100);

    clock.set(1_700_000_010_999);
    expect(store.putRecords(stream, entries(10)).some(accepted)).toBe(false);

    // A fixed window, not a rolling one: the budget renews at the second's boundary.
    clock.set(1_700_000_011_000);
    const next = store.putRecords(stream, entries(120));
    expect(next.filter(accepted)).toHaveLength(100);
    expect(totalRecords(stream.shards)).toBe(200);

    store.setThrottle(stream, 0);
    expect(store.putRecords(stream, entries(500)).every(accepted)).toBe(true);
    expect(errorType(() => store.setThrottle(stream, -1))).toBe('InvalidArgumentException');
  });

  test('a throttle applies to its stream only', () => {
    const store = new StreamStore();
    const slow = store.createStream('slow', 1);
    const fast = store.createStream('fast', 1);
    store.setThrottle(slow, 1);
    store.putRecords(slow, entries(5));
    expect(store.putRecords(fast, entries(500)).every(accepted)).toBe(true);
  });
});

describe('consumers', () => {
  test('register (ACTIVE at once), describe by ARN or by stream and name, list per stream, deregister', () => {
    const clock = fakeClock();
    const store = new StreamStore(clock.now);
    const stream = store.createStream('efo', 1);
    const other = store.createStream('other', 1);
    const consumer = store.registerConsumer(stream, 'app');
    expect(consumer.arn).toBe(`${stream.arn}/consumer/app:${Math.floor(clock.now() / 1000)}`);
    store.registerConsumer(other, 'app');
    expect(store.consumer({ ConsumerARN: consumer.arn })).toBe(consumer);
    expect(store.consumer({ StreamARN: stream.arn, ConsumerName: 'app' })).toBe(consumer);
    expect(store.consumersOf(stream)).toEqual([consumer]);
    expect(errorType(() => store.registerConsumer(stream, 'app'))).toBe('ResourceInUseException');
    store.deregisterConsumer(consumer);
    expect(errorType(() => store.consumer({ ConsumerARN: consumer.arn }))).toBe('ResourceNotFoundException');
    expect(store.consumersOf(stream)).toEqual([]);
    expect(store.consumersOf(other)).toHaveLength(1);
  });
});

describe('fault plan', () => {
  test('the next requests refuse the scripted entries with the scripted codes; the others are written in request order', () => {
    const store = new StreamStore();
    const stream = store.createStream('faulty', 1);
    store.scriptFaults(stream, [
      { records: [{ index: 1, code: 'InternalFailure' }, { index: 3, code: 'ProvisionedThroughputExceededException' }] },
      { records: [{ index: '*', code: 'ProvisionedThroughputExceededException' }] },
    ]);
    const first = store.putRecords(stream, [entry('k', 'a'), entry('k', 'b'), entry('k', 'c'), entry('k', 'd'), entry('k', 'e')]);
    expect(first.map(accepted)).toEqual([true, false, true, false, true]);
    expect(first[1]).toEqual({ ErrorCode: 'InternalFailure', ErrorMessage: 'Internal service failure.' });
    expect(first[3]).toEqual({ ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: expect.stringContaining('Rate exceeded') });
    // The premise of per-key batching: accepted entries of one shard are stored in request order.
    const stored = () => recordsOf(store, stream.shards[0]).map((r) => Buffer.from(r.Data, 'base64').toString());
    expect(stored()).toEqual(['a', 'c', 'e']);
    expect(store.putRecords(stream, entries(3)).some(accepted)).toBe(false);
    expect(stream.faults).toHaveLength(0);
    // The plan is used up: the next request is written whole.
    expect(store.putRecords(stream, entries(3)).every(accepted)).toBe(true);
  });

  test('a malformed request takes no fault; a plan applies to its stream only; a bad plan is refused whole', () => {
    const store = new StreamStore();
    const a = store.createStream('a', 1);
    const b = store.createStream('b', 1);
    store.scriptFaults(a, [{ records: [{ index: 0, code: 'InternalFailure' }] }]);
    expect(errorType(() => store.putRecords(a, []))).toBe('ValidationException');
    expect(store.putRecords(b, entries(1)).every(accepted)).toBe(true);
    expect(store.putRecords(a, entries(2)).map(accepted)).toEqual([false, true]);
    expect(errorType(() => store.scriptFaults(a, [{ records: [{ index: 500, code: 'InternalFailure' }] }]))).toBe('InvalidArgumentException');
    expect(errorType(() => store.scriptFaults(a, [{ records: [{ index: 0, code: 'AccessDenied' }] }]))).toBe('InvalidArgumentException');
    expect(errorType(() => store.scriptFaults(a, { records: [] }))).toBe('InvalidArgumentException');
    expect(a.faults).toHaveLength(0);
  });

  test('scripted refusals do not use the throttle budget', () => {
    const store = new StreamStore();
    const stream = store.createStream('both', 1);
    store.setThrottle(stream, 2);
    store.scriptFaults(stream, [{ records: [{ index: 0, code: 'InternalFailure' }] }]);
    expect(store.putRecords(stream, entries(4)).map(accepted)).toEqual([false, true, true, false]);
  });
});

describe('user record count', () => {
  test('a KPL aggregate counts its user records, a plain record (or one that only looks aggregated) counts one', () => {
    const store = new StreamStore();
    const stream = store.createStream('agg', 1);
    const aggregate = Buffer.from(encodeAggregate([1, 2, 3].map((i) => ({ partitionKey: `k${i}`, data: Buffer.from(`u${i}`) })))).toString('base64');
    const broken = Buffer.concat([Buffer.from(KPL_MAGIC), Buffer.from('not protobuf, no digest')]).toString('base64');
    store.putRecords(stream, [{ PartitionKey: 'k1', Data: aggregate }, entry('plain'), { PartitionKey: 'k', Data: broken }]);
    expect(stream.records).toBe(3);
    expect(stream.userRecords).toBe(5);
  });
});
