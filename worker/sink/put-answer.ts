/**
 * Reads a PutRecords answer against the request it answers, entry by entry: an accepted entry's records
 * are acknowledged (through `accepted`, without an array per entry), a refused entry's go to `retry` in
 * request order (a throttled refusal marks the answer `throttled`), and with KPL an aggregate accepted
 * on another shard than predicted goes to `elsewhere` (the output was resharded; see
 * `aggregation/landing-check.ts`). Pure.
 */
import type { PutRecordsResult } from '../../shared/aws/kinesis-gateway';
import { isAccepted, type PutRequest, type SinkEntry } from './sink-entry';

export interface SortedAnswer {
  /** Records to send again, in request order. */
  readonly retry: SinkEntry[];
  /** Some were refused for throttling. */
  readonly throttled: boolean;
  /** With KPL: aggregates accepted on a shard other than predicted, with the shard they landed on. */
  readonly elsewhere: Array<{ members: SinkEntry[]; shardId: string }>;
}

/** `accepted(start, end)`: the records from `start` up to `end` of `request.members` were accepted where meant. */
export function sortAnswer(request: PutRequest, result: PutRecordsResult, accepted: (start: number, end: number) => void): SortedAnswer {
  const batch = request.members;
  const retry: SinkEntry[] = [];
  const elsewhere: Array<{ members: SinkEntry[]; shardId: string }> = [];
  let throttled = false;
  for (let i = 0; i < request.entries.length; i++) {
    const outcome = result.entries[i];
    // The records entry i carried, as positions in `batch`.
    const start = request.starts ? request.starts[i] : i;
    const end = request.starts ? request.starts[i + 1] : i + 1;
    if (!isAccepted(outcome)) {
      for (let k = start; k < end; k++) retry.push(batch[k]);
      if (outcome?.ErrorCode === 'ProvisionedThroughputExceededException') throttled = true;
    } else if (request.shardIds && outcome!.ShardId !== undefined && outcome!.ShardId !== request.shardIds[i]) {
      elsewhere.push({ members: batch.slice(start, end), shardId: outcome!.ShardId });
    } else {
      accepted(start, end);
    }
  }
  return { retry, throttled, elsewhere };
}

/** Without KPL, entry i is record i: whether each record was accepted (for the order-violation count). */
export function acceptedFlags(result: PutRecordsResult, count: number): boolean[] {
  const flags = new Array<boolean>(count);
  for (let i = 0; i < count; i++) flags[i] = isAccepted(result.entries[i]);
  return flags;
}
