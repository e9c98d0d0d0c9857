import type { ChildShard } from '@aws-sdk/client-kinesis';
import type { _Record } from '@aws-sdk/client-kinesis';
import type { RecordPage, ShardFetcher } from '../../shared/aws/kinesis-gateway';
import { childShardIds, sourceRecords } from '../../shared/aws/record-mapping';
import type { StartPosition } from '../../shared/position';
import { ShardEndProbe } from '../../worker/efo/shard-end-probe';

const ARN = 'arn:aws:kinesis:us-east-1:123456789012:stream/in';
const SHARD = 'shardId-000000000001';
const T = 1_700_000_000_000;
const NOT_ENDED = { ended: false, childShardIds: [] };

/** A GetRecords answer in the SDK's shape. */
interface SdkPage {
  records: _Record[];
  nextIterator?: string;
  childShards?: ChildShard[];
}

/** Answers GetShardIterator and GetRecords as scripted, recording each call. */
class FakeFetcher implements ShardFetcher {
  readonly iteratorCalls: Array<{ arn: string; shardId: string; start: StartPosition }> = [];
  readonly getRecordsCalls: Array<{ arn: string; iterator: string; limit: number }> = [];
  iterator: string | undefined = 'iterator-1';
  answer: SdkPage = { records: [], nextIterator: 'iterator-2' };
  error: Error | undefined;

  async getShardIterator(arn: string, shardId: string, start: StartPosition): Promise<string | undefined> {
    this.iteratorCalls.push({ arn, shardId, start: { ...start } });
    if (this.error) throw this.error;
    return this.iterator;
  }

  /** Answers as the gateway does: the SDK page mapped at the boundary. */
  async getRecords(arn: string, shardId: string, iterator: string, limit: number): Promise<RecordPage> {
    this.getRecordsCalls.push({ arn, iterator, limit });
    const { records, nextIterator, childShards } = this.answer;
    return { records: sourceRecords(shardId, records), nextIterator, childShardIds: nextIterator === undefined ? childShardIds(childShards) : [] };
  }

  get probes(): number {
    return this.iteratorCalls.length;
  }
}

function probe(fetcher: ShardFetcher, min = 1000, max = 8000): ShardEndProbe {
  return new ShardEndProbe(fetcher, ARN, SHARD, min, max);
}

/** The times (ms after T) in [from, to] at which maybeProbe actually probed, asking every `step` ms. */
async function probeTimes(p: ShardEndProbe, fetcher: FakeFetcher, from: number, to: number, step = 1): Promise<number[]> {
  const times: number[] = [];
  for (let t = from; t <= to; t += step) {
    const before = fetcher.probes;
    await p.maybeProbe('seq-1', T + t);
    if (fetcher.probes > before) times.push(t);
  }
  return times;
}

describe('ShardEndProbe: when it probes', () => {
  it('does not probe before minIntervalMs of idleness, and probes after', async () => {
    const fetcher = new FakeFetcher();
    const p = probe(fetcher);
    await expect(p.maybeProbe('seq-1', T)).resolves.toBeUndefined();
    await expect(p.maybeProbe('seq-1', T + 999)).resolves.toBeUndefined();
    expect(fetcher.probes).toBe(0);
    await expect(p.maybeProbe('seq-1', T + 1000)).resolves.toEqual(NOT_ENDED);
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
    let now = T;
    await p.maybeProbe('seq-1', now);
    for (let i = 0; i < 100; i++) {
      now += 30_000;
      await p.maybeProbe('seq-1', now);
    }
    expect(fetcher.probes).toBe(100);
    // Still 30 s, not Infinity or NaN.
    await expect(p.maybeProbe('seq-1', now + 29_999)).resolves.toBeUndefined();
    await expect(p.maybeProbe('seq-1', now + 30_000)).resolves.toEqual(NOT_ENDED);
  });

  it('busy() resets: the next idle spell starts at minIntervalMs again', async () => {
    const fetcher = new FakeFetcher();
    const p = probe(fetcher, 1000, 8000);
    expect(await probeTimes(p, fetcher, 0, 7000, 1)).toEqual([1000, 3000, 7000]);
    // Records arrive at 7500: nothing until 8500, then 2000 later, and so on.
    p.busy(T + 7500);
    expect(await probeTimes(p, fetcher, 7500, 15_000, 1)).toEqual([8500, 10_500, 14_500]);
  });

  it('busy() before the first idle event also starts the clock', async () => {
    const fetcher = new FakeFetcher();
    const p = probe(fetcher, 1000, 8000);
    p.busy(T);
    await expect(p.maybeProbe('seq-1', T + 999)).resolves.toBeUndefined();
    await expect(p.maybeProbe('seq-1', T + 1000)).resolves.toEqual(NOT_ENDED);
    expect(fetcher.probes).toBe(1);
  });

  it('does not probe without a sequence number to probe after', async () => {
    const fetcher = new FakeFetcher();
    const p = probe(fetcher);
    await expect(p.maybeProbe(undefined, T)).resolves.toBeUndefined();
    await expect(p.maybeProbe(undefined, T + 60_000)).resolves.toBeUndefined();
    await expect(p.maybeProbe(undefined, T + 600_000)).resolves.toBeUndefined();
    expect(fetcher.probes).toBe(0);
    expect(fetcher.getRecordsCalls).toEqual([]);
  });

  it('probes after the sequence number it is given', async () => {
    const fetcher = new FakeFetcher();
    const p = probe(fetcher);
    await p.maybeProbe('seq-1', T);
    await p.maybeProbe('seq-7', T + 1000);
    expect(fetcher.iteratorCalls.map((c) => c.start)).toEqual([{ type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: 'seq-7' }]);
  });

  it('a failed probe counts: it rejects, and the next one waits for the doubled interval', async () => {
    const fetcher = new FakeFetcher();
    const p = probe(fetcher, 1000, 8000);
    await p.maybeProbe('seq-1', T);
    const throttled = Object.assign(new Error('slow down'), { name: 'ProvisionedThroughputExceededException' });
    fetcher.error = throttled;
    await expect(p.maybeProbe('seq-1', T + 1000)).rejects.toBe(throttled);
    fetcher.error = undefined;
    await expect(p.maybeProbe('seq-1', T + 2999)).resolves.toBeUndefined();
    expect(fetcher.probes).toBe(1);
    await expect(p.maybeProbe('seq-1', T + 3000)).resolves.toEqual(NOT_ENDED);
    expect(fetcher.probes).toBe(2);
  });
});

describe('ShardEndProbe: what it concludes', () => {
  /** A probe that is due at once. */
  async function due(fetcher: FakeFetcher) {
    const p = probe(fetcher, 1000, 8000);
    await p.maybeProbe('seq-9', T);
    return (sequence = 'seq-9') => p.maybeProbe(sequence, T + 1000);
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
