/**
 * GetShardIterator and GetRecords in unit tests: answers as scripted (an SDK-shaped page, mapped at the
 * boundary as the gateway maps it), recording each call. The iterator is numbered per call
 * (`iterator-1`, `iterator-2`, …) unless the test sets one (`undefined`: the shard is gone). No I/O.
 */
import type { ChildShard, _Record } from '@aws-sdk/client-kinesis';
import type { RecordPage, ShardFetcher } from '../../shared/aws/kinesis-gateway';
import { childShardIds, sourceRecords } from '../../shared/aws/record-mapping';
import type { StartPosition } from '../../shared/position';

/** A GetRecords answer in the SDK's shape. */
export interface SdkPage {
  records: _Record[];
  nextIterator?: string;
  childShards?: ChildShard[];
}

export class FakeFetcher implements ShardFetcher {
  readonly iteratorCalls: Array<{ arn: string; shardId: string; start: StartPosition }> = [];
  readonly getRecordsCalls: Array<{ arn: string; iterator: string; limit: number }> = [];
  /** What the next GetRecords answers. */
  answer: SdkPage = { records: [], nextIterator: 'more' };
  /** What GetShardIterator answers: null, a numbered iterator; undefined, none (the shard is gone). */
  iterator: string | undefined | null = null;
  /** Set: GetShardIterator throws it. */
  error: Error | undefined;

  async getShardIterator(arn: string, shardId: string, start: StartPosition): Promise<string | undefined> {
    this.iteratorCalls.push({ arn, shardId, start: { ...start } });
    if (this.error) throw this.error;
    return this.iterator === null ? `iterator-${this.iteratorCalls.length}` : this.iterator;
  }

  async getRecords(arn: string, shardId: string, iterator: string, limit: number): Promise<RecordPage> {
    this.getRecordsCalls.push({ arn, iterator, limit });
    const { records, nextIterator, childShards } = this.answer;
    return { records: sourceRecords(shardId, records), nextIterator, childShardIds: nextIterator === undefined ? childShardIds(childShards) : [] };
  }

  /** GetShardIterator calls so far (a shard-end probe's probes). */
  get probes(): number {
    return this.iteratorCalls.length;
  }
}
