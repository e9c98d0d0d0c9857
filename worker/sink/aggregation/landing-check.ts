/**
 * Aggregates that landed on another shard than predicted: the output stream was resharded. The shard map
 * is reloaded; records inside the landed shard's range are acknowledged, the others are returned to be
 * re-sent (a range-checking reader, the KCL or shardflow, drops the copies that landed outside; other
 * readers see them twice, which at-least-once allows). All of a key's records share one hash key, so a
 * key's run is kept or re-sent whole and its order holds.
 */
import { describeError } from '../../../shared/aws/kinesis-errors';
import type { Logger } from '../../../shared/logging';
import type { SinkEntry } from '../sink-entry';
import type { OutputShardMap } from './output-shard-map';
import { inRange } from './shard-ranges';

export interface Landing {
  /** Acknowledges records accepted where they belong (`aggregate`: they were one aggregate's). */
  acknowledge(entries: readonly SinkEntry[], aggregate: boolean): void;
  /** Counts records re-sent for landing outside their range. */
  misplaced(count: number): void;
}

/** Returns the records to re-send. */
export async function checkLanded(shardMap: OutputShardMap, landed: ReadonlyArray<{ members: SinkEntry[]; shardId: string }>, landing: Landing, log: Logger): Promise<SinkEntry[]> {
  const resend: SinkEntry[] = [];
  let ranges;
  try {
    ranges = await shardMap.refresh();
  } catch (err) {
    // Unknown ranges: nothing can be judged in range, so everything is re-sent (duplicates, no loss).
    log.warn({ err: describeError(err) }, 'ListShards of the output stream failed after a put landed on an unexpected shard; re-sending its records');
  }
  for (const { members, shardId } of landed) {
    const range = ranges?.shard(shardId);
    const misplaced = members.filter((entry) => !range || !inRange(range, entry.hashKey));
    if (misplaced.length === 0) {
      landing.acknowledge(members, members.length > 1);
      continue;
    }
    landing.acknowledge(
      members.filter((entry) => !misplaced.includes(entry)),
      members.length > 1,
    );
    landing.misplaced(misplaced.length);
    resend.push(...misplaced);
  }
  log.info({ shards: ranges?.size, predictedElsewhere: landed.length, misplaced: resend.length }, 'a put landed on an unexpected shard: the output stream was resharded; shard map reloaded');
  return resend;
}
