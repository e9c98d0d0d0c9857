/**
 * Reads one input record again by its position, for the dead letter of a record Kinesis refused for
 * itself at the output: the sink keeps only each buffered record's position (`OutputRecord`), not its
 * input, and such a refusal is rare, so the input is read again (GetShardIterator AT_SEQUENCE_NUMBER and
 * one GetRecords of one record; a user record is taken out of its aggregate) instead of kept.
 */
import type { ShardFetcher } from '../../shared/aws/kinesis-gateway';
import type { SourceRecord } from '../../shared/records';
import { deaggregate } from '../deaggregation/deaggregate';

/** The input record at (sequence number, sub-sequence number), or undefined when it is not there any more. */
export type InputRefetch = (shardId: string, sequenceNumber: string, subSequenceNumber: number | undefined) => Promise<SourceRecord | undefined>;

export function inputRefetcher(fetcher: ShardFetcher, streamArn: string): InputRefetch {
  return async (shardId, sequenceNumber, subSequenceNumber) => {
    const iterator = await fetcher.getShardIterator(streamArn, shardId, { type: 'AT_SEQUENCE_NUMBER', sequenceNumber });
    if (iterator === undefined) return undefined;
    const [record] = (await fetcher.getRecords(streamArn, shardId, iterator, 1)).records;
    if (record?.sequenceNumber !== sequenceNumber) return undefined;
    if (subSequenceNumber === undefined) return record;
    return deaggregate([record]).records.find((r) => r.subSequenceNumber === subSequenceNumber);
  };
}
