import type { ChildShard } from '@aws-sdk/client-kinesis';
import type { _Record } from '@aws-sdk/client-kinesis';
import type { ShardFetcher } from '../../shared/aws/kinesis-gateway';
import { ShardEndProbe } from '../../worker/efo/shard-end-probe';
import { FakeFetcher } from '../support/fake-fetcher';

const ARN = 'arn:aws:kinesis:us-east-1:123456789012:stream/in';
const SHARD = 'shardId-000000000001';
const T = 1_700_000_000_000;
const NOT_ENDED = { ended: false, childShardIds: [] };



/** The probes' clock: each call below sets it first. */
let now = T;

function probe(fetcher: ShardFetcher, min = 1000, max = 8000): ShardEndProbe {
  return new ShardEndProbe(fetcher, ARN, SHARD, () => now, min, max);
}

/** The times (ms after T) in [from, to] at which maybeProbe actually probed, asking every `step` ms. */
async function probeTimes(p: ShardEndProbe, fetcher: FakeFetcher, from: number, to: number, step = 1): Promise<number[]> {
  const times: number[] = [];
  for (let t = from; t <= to; t += step) {
    const before = fetcher.probes;
    await (now = T + t, p).maybeProbe('seq-1');
    if (fetcher.probes > before) times.push(t);
  }
  return times;
}

describe('ShardEndProbe: when it probes', () => {
  it('does not probe before minIntervalMs of idleness, and probes after', async () => {
    const fetcher = new FakeFetcher();
    const p = probe(fetcher);
    await expect((now = T, p).maybeProbe('seq-1')).resolves.toBeUndefined();
    await expect((now = T + 999, p).maybeProbe('seq-1')).resolves.toBeUndefined();
    expect(fetcher.probes).toBe(0);
    await expect((now = T + 1000, p).maybeProbe('seq-1')).resolves.toEqual(NOT_ENDED);
    expect(fetcher.iteratorCalls).toEqual([{ arn: ARN, shardId: SHARD, start: { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: 'seq-1' } }]);
    expect(fetcher.getRecordsCalls).toEqual([{ arn: ARN, iterator: 'iterator-1', limit: 1 }]);
  });

  it('doubles the interval while the shard stays idle, up to maxIntervalMs', async () => {
    const fetcher = new FakeFetcher();
    const p = probe(fetcher, 1000, 8000);
    // Intervals: 1000 (first), then 2000, 4000, 8000, 8000 (capped), 8000.
    expect(await probeTimes(p, fetcher, 0, 40_000, 1)).toEqual([1000, 3000, 7000, 15_000, 23_000, 31_000, 39_000]);
  });

  it('keeps doubling without overflow after many idle probes', async () => {
    const fetcher = new FakeFetcher();
    const p = probe(fetcher, 1000, 30_000);
    now = T;
    await p.maybeProbe('seq-1');
    for (let i = 0; i < 100; i++) {
      now += 30_000;
      await p.maybeProbe('seq-1');
    }
    expect(fetcher.probes).toBe(100);
    // Still 30 s, not Infinity or NaN.
    const last = now;
    await expect((now = last + 29_999, p).maybeProbe('seq-1')).resolves.toBeUndefined();
    await expect((now = last + 30_000, p).maybeProbe('seq-1')).resolves.toEqual(NOT_ENDED);
  });

  it('busy() resets: the next idle spell starts at minIntervalMs again', async () => {
    const fetcher = new FakeFetcher();
    const p = probe(fetcher, 1000, 8000);
    expect(await probeTimes(p, fetcher, 0, 7000, 1)).toEqual([1000, 3000, 7000]);
    // Records arrive at 7500: nothing until 8500, then 2000 later, and so on.
    (now = T + 7500, p).busy();
    expect(await probeTimes(p, fetcher, 7500, 15_000, 1)).toEqual([8500, 10_500, 14_500]);
  });

  it('busy() before the first idle event also starts the clock', async () => {
    const fetcher = new FakeFetcher();
    const p = probe(fetcher, 1000, 8000);
    (now = T, p).busy();
    await expect((now = T + 999, p).maybeProbe('seq-1')).resolves.toBeUndefined();
    await expect((now = T + 1000, p).maybeProbe('seq-1')).resolves.toEqual(NOT_ENDED);
    expect(fetcher.probes).toBe(1);
  });

  it('does not probe without a sequence number to probe after', async () => {
    const fetcher = new FakeFetcher();
    const p = probe(fetcher);
    await expect((now = T, p).maybeProbe(undefined)).resolves.toBeUndefined();
    await expect((now = T + 60_000, p).maybeProbe(undefined)).resolves.toBeUndefined();
    await expect((now = T + 600_000, p).maybeProbe(undefined)).resolves.toBeUndefined();
    expect(fetcher.probes).toBe(0);
    expect(fetcher.getRecordsCalls).toEqual([]);
  });

  it('probes after the sequence number it is given', async () => {
    const fetcher = new FakeFetcher();
    const p = probe(fetcher);
    await (now = T, p).maybeProbe('seq-1');
    await (now = T + 1000, p).maybeProbe('seq-7');
    expect(fetcher.iteratorCalls.map((c) => c.start)).toEqual([{ type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: 'seq-7' }]);
  });

  it('a failed probe counts: it rejects, and the next one waits for the doubled interval', async () => {
    const fetcher = new FakeFetcher();
    const p = probe(fetcher, 1000, 8000);
    await (now = T, p).maybeProbe('seq-1');
    const throttled = Object.assign(new Error('slow down'), { name: 'ProvisionedThroughputExceededException' });
    fetcher.error = throttled;
    await expect((now = T + 1000, p).maybeProbe('seq-1')).rejects.toBe(throttled);
    fetcher.error = undefined;
    await expect((now = T + 2999, p).maybeProbe('seq-1')).resolves.toBeUndefined();
    expect(fetcher.probes).toBe(1);
    await expect((now = T + 3000, p).maybeProbe('seq-1')).resolves.toEqual(NOT_ENDED);
    expect(fetcher.probes).toBe(2);
  });
});

describe('ShardEndProbe: what it concludes', () => {
  /** A probe that is due at once. */
  async function due(fetcher: FakeFetcher) {
    const p = probe(fetcher, 1000, 8000);
    await (now = T, p).maybeProbe('seq-9');
    return (sequence = 'seq-9') => (now = T + 1000, p).maybeProbe(sequence);
  }

  it('ended, with the children, when GetRecords returns no records and no next iterator', async () => {
    const fetcher = new FakeFetcher();
    const children: ChildShard[] = [
      { ShardId: 'shardId-000000000002', ParentShards: [SHARD], HashKeyRange: { StartingHashKey: '0', EndingHashKey: '1' } },
      { ShardId: 'shardId-000000000003', ParentShards: [SHARD], HashKeyRange: { StartingHashKey: '2', EndingHashKey: '3' } },
    ];
    fetcher.answer = { records: [], nextIterator: undefined, childShards: children };
    await expect((await due(fetcher))()).resolves.toEqual({ ended: true, childShardIds: ['shardId-000000000002', 'shardId-000000000003'] });
  });

  it('ended without children when GetRecords names none; child shards without an id are left out', async () => {
    const fetcher = new FakeFetcher();
    fetcher.answer = { records: [], nextIterator: undefined };
    await expect((await due(fetcher))()).resolves.toEqual({ ended: true, childShardIds: [] });
    const other = new FakeFetcher();
    other.answer = { records: [], nextIterator: undefined, childShards: [{ ShardId: 'c1' }, { ShardId: undefined }] as ChildShard[] };
    await expect((await due(other))()).resolves.toStrictEqual({ ended: true, childShardIds: ['c1'] });
  });

  it('ended, without calling GetRecords, when GetShardIterator returns no iterator', async () => {
    const fetcher = new FakeFetcher();
    fetcher.iterator = undefined;
    await expect((await due(fetcher))()).resolves.toEqual({ ended: true, childShardIds: [] });
    expect(fetcher.probes).toBe(1);
    expect(fetcher.getRecordsCalls).toEqual([]);
  });

  it('not ended when a next iterator comes back', async () => {
    const fetcher = new FakeFetcher();
    fetcher.answer = { records: [], nextIterator: 'iterator-2', childShards: [{ ShardId: 'c1' }] as ChildShard[] };
    await expect((await due(fetcher))()).resolves.toEqual(NOT_ENDED);
  });

  it('not ended when records come back, even without a next iterator', async () => {
    const fetcher = new FakeFetcher();
    fetcher.answer = { records: [{ SequenceNumber: 'seq-10', PartitionKey: 'k', Data: new Uint8Array([1]) }], nextIterator: undefined, childShards: [{ ShardId: 'c1' }] as ChildShard[] };
    await expect((await due(fetcher))()).resolves.toEqual(NOT_ENDED);
  });

  it('not ended when both records and a next iterator come back', async () => {
    const fetcher = new FakeFetcher();
    fetcher.answer = { records: [{ SequenceNumber: 'seq-10', PartitionKey: 'k', Data: new Uint8Array([1]) }], nextIterator: 'iterator-2' };
    await expect((await due(fetcher))()).resolves.toEqual(NOT_ENDED);
  });
});
