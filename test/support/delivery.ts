/** Compares what reached the output stream with what was in the input stream. */
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { json, readAll, type ReadRecord } from './kinesis';
import { waitFor } from './wait';

export interface Delivery {
  inputCount: number;
  outputCount: number;
  missing: string[];
  duplicates: number;
  /** Keys whose records (first copies) reached the output in another order than the input's. */
  outOfOrderKeys: string[];
}

/** Each key's ids in stream order, first copies only. */
function idsByKey(records: readonly ReadRecord[]): Map<string, string[]> {
  const byKey = new Map<string, string[]>();
  const seen = new Set<string>();
  for (const record of records) {
    const id = String(json(record).id);
    if (seen.has(id)) continue;
    seen.add(id);
    const list = byKey.get(record.partitionKey) ?? [];
    list.push(id);
    byKey.set(record.partitionKey, list);
  }
  return byKey;
}

function countById(records: readonly ReadRecord[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const record of records) {
    const id = String(json(record).id);
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/**
 * `input` and `output` as readAll returns them: per shard in sequence order, parents before children.
 * A record is a duplicate when the output holds more copies of its id than the input does (a producer
 * that retried a put whose answer it never got may have written one twice; the pipeline did not).
 */
export function compareDelivery(input: readonly ReadRecord[], output: readonly ReadRecord[]): Delivery {
  const inCounts = countById(input);
  const outCounts = countById(output);
  const missing = [...inCounts.keys()].filter((id) => !outCounts.has(id));
  let duplicates = 0;
  for (const [id, n] of outCounts) duplicates += Math.max(0, n - (inCounts.get(id) ?? 0));
  const outByKey = idsByKey(output);
  const outOfOrderKeys: string[] = [];
  for (const [key, ids] of idsByKey(input)) {
    if ((outByKey.get(key) ?? []).join() !== ids.join()) outOfOrderKeys.push(key);
  }
  return { inputCount: input.length, outputCount: output.length, missing, duplicates, outOfOrderKeys };
}

/**
 * Waits until every input record is in the output and the output stopped growing (two reads a second
 * apart see the same count), then returns the output. `check` throws when a process under test died.
 */
export async function settledOutput(client: KinesisClient, outArn: string, input: readonly ReadRecord[], check: () => void, timeoutMs = 60_000): Promise<ReadRecord[]> {
  let last = -1;
  return waitFor(
    async () => {
      const out = await readAll(client, outArn);
      const settled = out.length === last && compareDelivery(input, out).missing.length === 0;
      last = out.length;
      return settled ? out : undefined;
    },
    timeoutMs,
    () => `every input record in the output (input ${input.length}, output ${last})`,
    1000,
    check,
  );
}
