import { createHash } from 'node:crypto';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { decodeAggregate, encodeAggregate, isAggregated, KPL_MAGIC, type DecodeResult, type UserRecord } from '../../shared/kpl/aggregated-record';
import { AggregateBuilder } from '../../shared/kpl/aggregate-builder';
import { isExplicitHashKey, MAX_HASH_KEY, partitionKeyHash, userRecordHashKey } from '../../shared/kpl/hash-key';
import { theirAggregate, theirDeaggregate } from '../support/kinesis-agg';

/** A small seeded generator, so a failing random case can be replayed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KEY_POOL = ['a', 'AAPL', 'partitionkey', 'ключ', '鍵🔑', 'x'.repeat(256), ''.padEnd(130, 'é')];
const EHK_POOL = ['0', '1', '170141183460469231731687303715884105728', MAX_HASH_KEY.toString()];
/**
 * aws-kinesis-agg builds its key tables as object keys, and JavaScript lists integer-like keys
 * ("0", "1", ... up to 2^32 - 2) first in numeric order, so its encoder writes such keys in the
 * wrong table order whenever they are not first seen in ascending order. Inputs for its encoder
 * use keys outside that range.
 */
const EHK_POOL_FOR_THEIR_ENCODER = ['4294967295', '170141183460469231731687303715884105728', MAX_HASH_KEY.toString()];

function randomRecords(random: () => number, count: number, maxData: number, ehkPool = EHK_POOL, newKeyShare = 0.3): UserRecord[] {
  return Array.from({ length: count }, () => {
    // Generated keys start with a letter, for the same reason as EHK_POOL_FOR_THEIR_ENCODER.
    const partitionKey = random() >= newKeyShare ? KEY_POOL[Math.floor(random() * KEY_POOL.length)] : `k-${Math.floor(random() * 1e9)}`;
    const data = Uint8Array.from({ length: Math.floor(random() * maxData) }, () => Math.floor(random() * 256));
    return random() < 0.3 ? { partitionKey, explicitHashKey: ehkPool[Math.floor(random() * ehkPool.length)], data } : { partitionKey, data };
  });
}

function md5(bytes: Uint8Array): Buffer {
  return createHash('md5').update(bytes).digest();
}

/** Wraps a hand-written protobuf body the way an aggregate does, with a correct MD5. */
function frame(body: Uint8Array): Uint8Array {
  return Buffer.concat([KPL_MAGIC, body, md5(body)]);
}

function records(result: DecodeResult): UserRecord[] {
  if (!result.ok) throw new Error(`expected ok, got ${result.reason}`);
  return result.records;
}

const hex = (data: Uint8Array) => Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('hex');

/** Comparable records: data as hex, because deep-comparing arrays of a million numbers is slow. */
function plain(rs: readonly UserRecord[]): { partitionKey: string; explicitHashKey?: string; data: string }[] {
  return rs.map((r) => (r.explicitHashKey === undefined ? { partitionKey: r.partitionKey, data: hex(r.data) } : { partitionKey: r.partitionKey, explicitHashKey: r.explicitHashKey, data: hex(r.data) }));
}

const utf8 = (text: string) => Buffer.from(text, 'utf8');

describe('KPL aggregation against aws-kinesis-agg', () => {
  const cases: [string, UserRecord[]][] = [
    ['one record', [{ partitionKey: 'pk', data: utf8('{"ticker":"AAPL"}') }]],
    ['a shared partition key', [{ partitionKey: 'same', data: utf8('1') }, { partitionKey: 'same', data: utf8('2') }, { partitionKey: 'same', data: utf8('3') }]],
    ['distinct partition keys', [{ partitionKey: 'a', data: utf8('1') }, { partitionKey: 'b', data: utf8('2') }, { partitionKey: 'a', data: utf8('3') }, { partitionKey: 'c', data: utf8('4') }]],
    ['unicode keys', [{ partitionKey: 'ключ', data: utf8('1') }, { partitionKey: '鍵🔑', data: utf8('2') }, { partitionKey: 'ключ', data: utf8('3') }]],
    ['empty data', [{ partitionKey: 'pk', data: new Uint8Array(0) }, { partitionKey: 'pk', data: utf8('x') }]],
    ['binary data', [{ partitionKey: 'pk', data: Uint8Array.from({ length: 256 }, (_, i) => i) }, { partitionKey: 'pk', data: Uint8Array.of(0xf3, 0x89, 0x9a, 0xc2, 0, 0xff) }]],
  ];

  it.each(cases)('our encode -> their deaggregate (MD5 checked): %s', (_name, input) => {
    const theirs = theirDeaggregate(encodeAggregate(input));
    expect(theirs.map((r) => ({ partitionKey: r.partitionKey, data: hex(r.data) }))).toEqual(input.map((r) => ({ partitionKey: r.partitionKey, data: hex(r.data) })));
  });

  it.each(cases)('their aggregate -> our decode: %s', async (_name, input) => {
    const encoded = await theirAggregate(input);
    expect(encoded).toHaveLength(1);
    expect(isAggregated(encoded[0].data)).toBe(true);
    expect(plain(records(decodeAggregate(encoded[0].data)))).toEqual(plain(input));
    // Both sides lay the message out the same way, field by field.
    expect(Buffer.from(encodeAggregate(input)).equals(encoded[0].data)).toBe(true);
  });

  it('keeps explicit hash keys both ways (their decoder reports a missing index as entry 0, so only set ones are compared)', async () => {
    const input: UserRecord[] = [
      { partitionKey: 'a', explicitHashKey: '0', data: utf8('1') },
      { partitionKey: 'b', explicitHashKey: MAX_HASH_KEY.toString(), data: utf8('2') },
      { partitionKey: 'a', data: utf8('3') },
      { partitionKey: 'c', explicitHashKey: '0', data: utf8('4') },
    ];
    const theirs = theirDeaggregate(encodeAggregate(input));
    expect(theirs.map((r) => r.partitionKey)).toEqual(['a', 'b', 'a', 'c']);
    expect([theirs[0], theirs[1], theirs[3]].map((r) => r.explicitHashKey)).toEqual(['0', MAX_HASH_KEY.toString(), '0']);
    const [ours] = await theirAggregate(input);
    expect(plain(records(decodeAggregate(ours.data)))).toEqual(plain(input));
  });

  it('round-trips many random inputs both ways', async () => {
    const random = seeded(42);
    for (let round = 0; round < 60; round++) {
      const input = randomRecords(random, 1 + Math.floor(random() * 40), 300);
      expect(plain(records(decodeAggregate(encodeAggregate(input))))).toEqual(plain(input));
      const theirs = theirDeaggregate(encodeAggregate(input));
      expect(theirs.map((r) => [r.partitionKey, hex(r.data)])).toEqual(input.map((r) => [r.partitionKey, hex(r.data)]));
      const forThem = randomRecords(random, 1 + Math.floor(random() * 40), 300, EHK_POOL_FOR_THEIR_ENCODER);
      const [encoded] = await theirAggregate(forThem);
      expect(plain(records(decodeAggregate(encoded.data)))).toEqual(plain(forThem));
    }
  });

  it('handles an aggregate of about 1 MiB', async () => {
    const random = seeded(7);
    const input = Array.from({ length: 1000 }, (_, i) => ({ partitionKey: `key-${i % 37}`, data: Uint8Array.from({ length: 1000 }, () => Math.floor(random() * 256)) }));
    const ours = encodeAggregate(input);
    expect(ours.length).toBeGreaterThan(1_000_000);
    expect(ours.length).toBeLessThan(1024 * 1024);
    expect(plain(records(decodeAggregate(ours)))).toEqual(plain(input));
    expect(theirDeaggregate(ours)).toHaveLength(1000);
    const encoded = await theirAggregate(input);
    expect(encoded).toHaveLength(1);
    expect(plain(records(decodeAggregate(encoded[0].data)))).toEqual(plain(input));
  });

  it('decodes a single user record of nearly 1 MiB', () => {
    const data = new Uint8Array(1024 * 1024 - 64).fill(0xab);
    const decoded = records(decodeAggregate(encodeAggregate([{ partitionKey: 'big', data }])));
    expect(decoded).toHaveLength(1);
    expect(Buffer.from(decoded[0].data).equals(Buffer.from(data))).toBe(true);
  });
});

describe('isAggregated', () => {
  it('is false for plain JSON, short data and magic without a body', () => {
    expect(isAggregated(utf8('{"event_time":"2026-01-01T00:00:00Z","ticker":"AAPL","price":1}'))).toBe(false);
    expect(isAggregated(new Uint8Array(0))).toBe(false);
    expect(isAggregated(KPL_MAGIC)).toBe(false);
    // Magic + MD5 and nothing between: the KCL reads this as a plain record.
    expect(isAggregated(Buffer.concat([KPL_MAGIC, new Uint8Array(16)]))).toBe(false);
    expect(isAggregated(Buffer.concat([KPL_MAGIC, new Uint8Array(17)]))).toBe(true);
    expect(isAggregated(Buffer.concat([Uint8Array.of(0xf3, 0x89, 0x9a, 0xc3), new Uint8Array(40)]))).toBe(false);
  });

  it('is true for our aggregates', () => {
    expect(isAggregated(encodeAggregate([{ partitionKey: 'pk', data: new Uint8Array(0) }]))).toBe(true);
  });
});

describe('decodeAggregate on corrupt input', () => {
  const valid = encodeAggregate([
    { partitionKey: 'a', explicitHashKey: '12345', data: utf8('first') },
    { partitionKey: 'bb', data: utf8('second record') },
  ]);

  const expectCorrupt = (result: DecodeResult, reason: RegExp) => {
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).toMatch(/^corrupt aggregate: /);
      expect(result.reason).toMatch(reason);
    }
  };

  it('rejects every truncated prefix without throwing', () => {
    for (let length = 0; length < valid.length; length++) {
      const prefix = valid.subarray(0, length);
      if (!isAggregated(prefix)) continue;
      expectCorrupt(decodeAggregate(prefix), /./);
    }
  });

  it('rejects every single flipped byte after the magic (MD5 mismatch, or bad digest bytes)', () => {
    for (let i = KPL_MAGIC.length; i < valid.length; i++) {
      const copy = Uint8Array.from(valid);
      copy[i] ^= 0x01;
      expectCorrupt(decodeAggregate(copy), /MD5 mismatch/);
    }
  });

  it('is not fooled by data that only looks aggregated', () => {
    expectCorrupt(decodeAggregate(utf8('{"plain":true}')), /no magic/);
  });

  it('rejects garbage protobuf under a valid MD5', () => {
    expectCorrupt(decodeAggregate(frame(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff))), /bad protobuf/);
    expectCorrupt(decodeAggregate(frame(Uint8Array.of(0x0a, 0x05, 0x61))), /bad protobuf/); // string longer than the body
    expectCorrupt(decodeAggregate(frame(Uint8Array.of(0x00, 0x01))), /field number 0/);
    expectCorrupt(decodeAggregate(frame(Uint8Array.of(0x0f))), /bad protobuf/); // wire type 7
  });

  const body = (build: (w: BinaryWriter) => void) => {
    const w = new BinaryWriter();
    build(w);
    return w.finish();
  };
  const record = (w: BinaryWriter, fields: (r: BinaryWriter) => void) => {
    w.tag(3, WireType.LengthDelimited).fork();
    fields(w);
    w.join();
  };

  it('rejects an index outside its table', () => {
    const pkOutside = body((w) => {
      w.tag(1, WireType.LengthDelimited).string('a');
      record(w, (r) => r.tag(1, WireType.Varint).uint32(1).tag(3, WireType.LengthDelimited).bytes(utf8('x')));
    });
    expectCorrupt(decodeAggregate(frame(pkOutside)), /record 0: partition key index 1 outside its table of 1/);
    const ehkOutside = body((w) => {
      w.tag(1, WireType.LengthDelimited).string('a');
      record(w, (r) => r.tag(1, WireType.Varint).uint32(0).tag(2, WireType.Varint).uint32(0).tag(3, WireType.LengthDelimited).bytes(utf8('x')));
    });
    expectCorrupt(decodeAggregate(frame(ehkOutside)), /explicit hash key index 0 outside its table of 0/);
    // 2^32: BinaryReader.uint32 alone would wrap this to index 0, a valid entry.
    const wrapping = body((w) => {
      w.tag(1, WireType.LengthDelimited).string('a');
      record(w, (r) => r.tag(1, WireType.Varint).uint64(2n ** 32n).tag(3, WireType.LengthDelimited).bytes(utf8('x')));
    });
    expectCorrupt(decodeAggregate(frame(wrapping)), /partition key index 4294967296 outside/);
  });

  it('rejects a record without a required field', () => {
    const noIndex = body((w) => {
      w.tag(1, WireType.LengthDelimited).string('a');
      record(w, (r) => r.tag(3, WireType.LengthDelimited).bytes(utf8('x')));
    });
    expectCorrupt(decodeAggregate(frame(noIndex)), /record 0: required partition_key_index missing/);
    const noData = body((w) => {
      w.tag(1, WireType.LengthDelimited).string('a');
      record(w, (r) => r.tag(1, WireType.Varint).uint32(0));
    });
    expectCorrupt(decodeAggregate(frame(noData)), /record 0: required data missing/);
  });

  it('marks only the user records whose explicit hash key is not a 128-bit decimal; their siblings decode', () => {
    const hexKey = body((w) => {
      w.tag(1, WireType.LengthDelimited).string('a').tag(2, WireType.LengthDelimited).string('0x10').tag(2, WireType.LengthDelimited).string('7');
      record(w, (r) => r.tag(1, WireType.Varint).uint32(0).tag(3, WireType.LengthDelimited).bytes(utf8('before')));
      record(w, (r) => r.tag(1, WireType.Varint).uint32(0).tag(2, WireType.Varint).uint32(0).tag(3, WireType.LengthDelimited).bytes(utf8('x')));
      record(w, (r) => r.tag(1, WireType.Varint).uint32(0).tag(2, WireType.Varint).uint32(1).tag(3, WireType.LengthDelimited).bytes(utf8('after')));
    });
    const result = decodeAggregate(frame(hexKey));
    if (!result.ok) throw new Error(result.reason);
    expect(result.records.map((r) => [Buffer.from(r.data).toString(), r.explicitHashKey, r.problem])).toEqual([
      ['before', undefined, undefined],
      ['x', '0x10', 'invalid explicit hash key: "0x10" is not a decimal integer in [0, 2^128)'],
      ['after', '7', undefined],
    ]);
    const tooBig = body((w) => {
      w.tag(1, WireType.LengthDelimited).string('a').tag(2, WireType.LengthDelimited).string((1n << 128n).toString());
      record(w, (r) => r.tag(1, WireType.Varint).uint32(0).tag(2, WireType.Varint).uint32(0).tag(3, WireType.LengthDelimited).bytes(utf8('x')));
    });
    const big = decodeAggregate(frame(tooBig));
    expect(big.ok && big.records[0].problem).toMatch(/^invalid explicit hash key: "340282366920938463463374607431768211456" is not a decimal/);
  });

  it('decodes an aggregate with an empty records list as ok with no records, as the KCL emits nothing for it', () => {
    expect(records(decodeAggregate(frame(body((w) => w.tag(1, WireType.LengthDelimited).string('lonely')))))).toEqual([]);
  });

  it('skips unknown fields and tags, and accepts tables after the records', () => {
    const shuffled = body((w) => {
      w.tag(9, WireType.Varint).uint32(5);
      record(w, (r) => {
        r.tag(4, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string('tag-key').tag(2, WireType.LengthDelimited).string('v').join();
        r.tag(3, WireType.LengthDelimited).bytes(utf8('payload'));
        r.tag(7, WireType.Bit64).fixed64(1n);
        r.tag(1, WireType.Varint).uint32(1);
        r.tag(2, WireType.Varint).uint32(0);
      });
      w.tag(1, WireType.LengthDelimited).string('zero').tag(1, WireType.LengthDelimited).string('one');
      w.tag(2, WireType.LengthDelimited).string('99');
      w.tag(12, WireType.Bit32).fixed32(3);
    });
    expect(plain(records(decodeAggregate(frame(shuffled))))).toEqual([
      { partitionKey: 'one', explicitHashKey: '99', data: hex(utf8('payload')) },
    ]);
  });

  it('never throws on random mutations of a valid aggregate with a fixed-up MD5', () => {
    const random = seeded(3);
    const input = randomRecords(random, 20, 50);
    const encoded = encodeAggregate(input);
    const bodyOf = encoded.subarray(KPL_MAGIC.length, encoded.length - 16);
    for (let round = 0; round < 2000; round++) {
      const mutated = Uint8Array.from(bodyOf);
      for (let k = 0; k < 1 + Math.floor(random() * 4); k++) mutated[Math.floor(random() * mutated.length)] = Math.floor(random() * 256);
      const cut = random() < 0.3 ? mutated.subarray(0, 1 + Math.floor(random() * mutated.length)) : mutated;
      const result = decodeAggregate(frame(cut));
      if (!result.ok) expect(result.reason).toMatch(/^corrupt aggregate: /);
    }
  });
});

describe('encodeAggregate', () => {
  it('de-duplicates keys into the tables in first-seen order', () => {
    const encoded = encodeAggregate([
      { partitionKey: 'b', data: utf8('1') },
      { partitionKey: 'a', explicitHashKey: '7', data: utf8('2') },
      { partitionKey: 'b', explicitHashKey: '7', data: utf8('3') },
    ]);
    const bodyBytes = Buffer.from(encoded.subarray(4, encoded.length - 16));
    // Table entries: "b", "a" (field 1), then "7" once (field 2), before the records.
    expect([...bodyBytes.subarray(0, 9)]).toEqual([0x0a, 1, 0x62, 0x0a, 1, 0x61, 0x12, 1, 0x37]);
    expect(Buffer.from(encoded.subarray(encoded.length - 16)).equals(md5(bodyBytes))).toBe(true);
  });

  it('refuses no records and a bad explicit hash key', () => {
    expect(() => encodeAggregate([])).toThrow(RangeError);
    expect(() => encodeAggregate([{ partitionKey: 'a', explicitHashKey: '-1', data: utf8('x') }])).toThrow(/128-bit decimal/);
    expect(() => encodeAggregate([{ partitionKey: 'a', explicitHashKey: (MAX_HASH_KEY + 1n).toString(), data: utf8('x') }])).toThrow(RangeError);
  });
});

describe('hash keys', () => {
  const independent = (key: string) => BigInt(`0x${createHash('md5').update(Buffer.from(key, 'utf8')).digest('hex')}`);

  it('maps a partition key to the MD5 of its UTF-8 bytes, big-endian', () => {
    // MD5("") = d41d8cd98f00b204e9800998ecf8427e, a published test vector.
    expect(partitionKeyHash('')).toBe(0xd41d8cd98f00b204e9800998ecf8427en);
    // MD5("a") = 0cc175b9c0f1b6a831c399e269772661.
    expect(partitionKeyHash('a')).toBe(0x0cc175b9c0f1b6a831c399e269772661n);
    for (const key of KEY_POOL) expect(partitionKeyHash(key)).toBe(independent(key));
    expect(partitionKeyHash('鍵🔑')).not.toBe(partitionKeyHash('??'));
  });

  it('prefers the explicit hash key as a decimal', () => {
    expect(userRecordHashKey({ partitionKey: 'a', data: new Uint8Array(0) })).toBe(independent('a'));
    expect(userRecordHashKey({ partitionKey: 'a', explicitHashKey: MAX_HASH_KEY.toString(), data: new Uint8Array(0) })).toBe(MAX_HASH_KEY);
    expect(() => userRecordHashKey({ partitionKey: 'a', explicitHashKey: '0x1', data: new Uint8Array(0) })).toThrow(RangeError);
    expect(isExplicitHashKey('')).toBe(false);
    expect(isExplicitHashKey(' 1')).toBe(false);
  });

  it('agrees with the keys aws-kinesis-agg gives the aggregate: the first record\'s partition key and explicit hash key', async () => {
    const input: UserRecord[] = [
      { partitionKey: 'first', explicitHashKey: '42', data: utf8('1') },
      { partitionKey: 'second', data: utf8('2') },
    ];
    const [encoded] = await theirAggregate(input);
    expect(encoded.partitionKey).toBe('first');
    expect(BigInt(encoded.ExplicitHashKey as string)).toBe(userRecordHashKey(input[0]));
    const [plainKeyed] = await theirAggregate([{ partitionKey: 'only', data: utf8('1') }]);
    expect(partitionKeyHash(plainKeyed.partitionKey)).toBe(userRecordHashKey({ partitionKey: 'only', data: utf8('1') }));
  });
});

describe('AggregateBuilder', () => {
  it('knows the exact encoded size of many random inputs', () => {
    const random = seeded(1234);
    for (let round = 0; round < 100; round++) {
      const builder = new AggregateBuilder(Number.MAX_SAFE_INTEGER);
      // Up to 300 records and up to all of them with a new key, so table indexes pass 127 and take two
      // varint bytes; data up to 300 bytes, so lengths do too.
      const input = randomRecords(random, 1 + Math.floor(random() * 300), 300, EHK_POOL, random());
      // One expect per round, not per record: thousands of expect calls dominate the run time.
      const mispredicted = input.filter((r) => {
        const predicted = builder.sizeWith(r);
        return !builder.tryAdd(r) || builder.size !== predicted;
      });
      expect(mispredicted).toEqual([]);
      expect(builder.count).toBe(input.length);
      const expectedSize = builder.size;
      const built = builder.build();
      expect(built.length).toBe(expectedSize);
      expect(built.length).toBe(encodeAggregate(input).length);
      expect(builder.count).toBe(0);
      expect(builder.size).toBe(0);
    }
  });

  it('is exact across many distinct keys (table indexes over 16383 take three varint bytes)', () => {
    const builder = new AggregateBuilder(Number.MAX_SAFE_INTEGER);
    const input = Array.from({ length: 17000 }, (_, i) => ({ partitionKey: `k${i}`, explicitHashKey: String(i), data: utf8('v') }));
    for (const r of input) builder.tryAdd(r);
    expect(builder.size).toBe(encodeAggregate(input).length);
  });

  it('stays within maxBytes and keeps arrival order across aggregates', () => {
    const random = seeded(99);
    const input = randomRecords(random, 500, 400);
    const maxBytes = 5000;
    const builder = new AggregateBuilder(maxBytes);
    const out: UserRecord[] = [];
    for (const r of input) {
      if (builder.tryAdd(r)) continue;
      expect(builder.count).toBeGreaterThan(0); // no single record here is near maxBytes
      const aggregate = builder.build();
      expect(aggregate.length).toBeLessThanOrEqual(maxBytes);
      out.push(...records(decodeAggregate(aggregate)));
      expect(builder.tryAdd(r)).toBe(true);
    }
    out.push(...records(decodeAggregate(builder.build())));
    expect(plain(out)).toEqual(plain(input));
  });

  it('fills up to exactly maxBytes', () => {
    const first = { partitionKey: 'pk', data: new Uint8Array(10) };
    const probe = new AggregateBuilder(1000);
    probe.tryAdd(first);
    const exact = new AggregateBuilder(probe.sizeWith(first));
    expect(exact.tryAdd(first)).toBe(true);
    expect(exact.tryAdd(first)).toBe(true);
    expect(exact.size).toBe(probe.sizeWith(first));
    expect(exact.tryAdd(first)).toBe(false);
  });

  it('refuses a record that alone exceeds maxBytes, even when empty: the caller sends it as a plain record', () => {
    const builder = new AggregateBuilder(100);
    const big = { partitionKey: 'pk', data: new Uint8Array(100) };
    expect(builder.sizeWith(big)).toBeGreaterThan(100);
    expect(builder.tryAdd(big)).toBe(false);
    expect(builder.count).toBe(0);
    expect(() => builder.build()).toThrow(RangeError);
  });

  it('reports the first record\'s partition key as the aggregate\'s', () => {
    const builder = new AggregateBuilder(1000);
    expect(builder.partitionKey).toBeUndefined();
    builder.tryAdd({ partitionKey: 'first', data: utf8('1') });
    builder.tryAdd({ partitionKey: 'second', data: utf8('2') });
    expect(builder.partitionKey).toBe('first');
  });

  it('refuses a bad explicit hash key when it is added', () => {
    expect(() => new AggregateBuilder(1000).tryAdd({ partitionKey: 'a', explicitHashKey: 'abc', data: utf8('x') })).toThrow(RangeError);
  });
});
