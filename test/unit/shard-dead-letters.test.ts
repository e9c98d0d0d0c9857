/**
 * How a shard's runner dead-letters: a chunk's letters in one store and one log line per interval, and a
 * record Kinesis refused for itself dead-lettered from its input, read again by its position (a user
 * record out of its aggregate), or from the output record when the input cannot be read again.
 */
import pino from 'pino';
import type { ShardFetcher } from '../../shared/aws/kinesis-gateway';
import type { DeadLetter, SourceRecord } from '../../shared/records';
import type { StartPosition } from '../../shared/position';
import { inputRefetcher } from '../../worker/dead-letter/input-refetch';
import { ShardDeadLetters } from '../../worker/dead-letter/shard-dead-letters';
import { aggregateOf } from '../support/aggregates';

const log = pino({ level: 'silent' });
const STREAM = 'arn:aws:kinesis:us-east-1:123456789012:stream/in';
const SHARD = 'shardId-000000000001';
const seq = (i: number) => `4959033827149025660855969253836157109592157598913600000${i}`;

/** A shard of scripted records; GetShardIterator AT_SEQUENCE_NUMBER starts at the record with that number. */
class ScriptedShard implements Pick<ShardFetcher, 'getShardIterator' | 'getRecords'> {
  readonly calls: string[] = [];
  constructor(private readonly records: SourceRecord[]) {}
  async getShardIterator(_stream: string, _shard: string, start: StartPosition): Promise<string | undefined> {
    this.calls.push(`iterator ${start.type}`);
    const at = this.records.findIndex((r) => start.type === 'AT_SEQUENCE_NUMBER' && r.sequenceNumber >= start.sequenceNumber);
    return String(at === -1 ? this.records.length : at);
  }
  async getRecords(_stream: string, _shard: string, iterator: string, limit: number) {
    this.calls.push(`records ${limit}`);
    const from = Number(iterator);
    return { records: this.records.slice(from, from + limit), nextIterator: String(from + limit), childShardIds: [] };
  }
}

function setup(records: SourceRecord[], failing = false) {
  const stored: DeadLetter[] = [];
  const shard = new ScriptedShard(records);
  const refetch = inputRefetcher(shard as unknown as ShardFetcher, STREAM);
  const letters = new ShardDeadLetters({
    queue: { add: async (l: readonly DeadLetter[]) => void stored.push(...l) },
    streamArn: STREAM,
    shardId: SHARD,
    log,
    stored: () => undefined,
    held: () => true,
    clock: () => 0,
    refetch: failing ? async () => { throw new Error('GetRecords throttled'); } : refetch,
  });
  return { stored, shard, letters };
}

test('a refused plain record is dead-lettered from its input, read again at its sequence number', async () => {
  const input: SourceRecord = { shardId: SHARD, sequenceNumber: seq(2), partitionKey: 'in-key', data: Buffer.from('{"input":true}') };
  const t = setup([{ ...input, sequenceNumber: seq(1), data: Buffer.from('other') }, input]);
  expect(await t.letters.storeRefused([{ record: { partitionKey: 'out-key', data: Buffer.from('{"output":true}'), inputSequenceNumber: seq(2) }, reason: 'refused by Kinesis: ValidationException: x' }])).toBe(true);
  expect(t.shard.calls).toEqual(['iterator AT_SEQUENCE_NUMBER', 'records 1']);
  expect(t.stored).toHaveLength(1);
  expect(t.stored[0]).toMatchObject({ shardId: SHARD, sequenceNumber: seq(2), partitionKey: 'in-key', payload: Buffer.from('{"input":true}').toString('base64'), reason: 'refused by Kinesis: ValidationException: x' });
});

test('a refused user record is taken out of its aggregate', async () => {
  const agg = aggregateOf([0, 1, 2].map((k) => ({ partitionKey: `k${k}`, data: `user-${k}` })));
  const t = setup([{ shardId: SHARD, sequenceNumber: seq(3), partitionKey: agg.partitionKey, data: agg.data }]);
  await t.letters.storeRefused([{ record: { partitionKey: 'k1', data: Buffer.from('out'), inputSequenceNumber: seq(3), inputSubSequenceNumber: 1 }, reason: 'refused by Kinesis: V: y' }]);
  expect(t.stored[0]).toMatchObject({ sequenceNumber: seq(3), subSequenceNumber: 1, partitionKey: 'k1', payload: Buffer.from('user-1').toString('base64') });
});

test('an input that cannot be read again (trimmed, or the read fails): the letter holds the output record and says so', async () => {
  for (const t of [setup([]), setup([], true)]) {
    await t.letters.storeRefused([{ record: { partitionKey: 'out-key', data: Buffer.from('out'), inputSequenceNumber: seq(4) }, reason: 'refused by Kinesis: V: z' }]);
    expect(t.stored[0]).toMatchObject({ sequenceNumber: seq(4), partitionKey: 'out-key', payload: Buffer.from('out').toString('base64'), reason: 'refused by Kinesis: V: z (the payload is the output record: its input could not be read again)' });
  }
});
