/** Compares what reached the output stream with what was in the input stream. */
import { json, type ReadRecord } from './kinesis';

export interface Delivery {
  inputCount: number;
  outputCount: number;
  missing: string[];
  duplicates: number;
  /** Keys whose records (first copies) reached the output in another order than the input's. */
  outOfOrderKeys: string[];
}

function idsByKey(records: readonly ReadRecord[]): Map<string, string[]> {
  const byKey = new Map<string, string[]>();
  for (const record of records) {
    const id = String(json(record).id);
    const list = byKey.get(record.partitionKey) ?? [];
    list.push(id);
    byKey.set(record.partitionKey, list);
  }
  return byKey;
}

/** `input` and `output` as readAll returns them: per shard in sequence order, parents before children. */
export function compareDelivery(input: readonly ReadRecord[], output: readonly ReadRecord[]): Delivery {
  const outputIds = output.map((r) => String(json(r).id));
  const seen = new Set(outputIds);
  const missing = input.map((r) => String(json(r).id)).filter((id) => !seen.has(id));
  const outByKey = idsByKey(output);
  const outOfOrderKeys: string[] = [];
  for (const [key, ids] of idsByKey(input)) {
    const firstCopies: string[] = [];
    const already = new Set<string>();
    for (const id of outByKey.get(key) ?? []) {
      if (!already.has(id)) {
        already.add(id);
        firstCopies.push(id);
      }
    }
    if (firstCopies.join() !== ids.join()) outOfOrderKeys.push(key);
  }
  return { inputCount: input.length, outputCount: output.length, missing, duplicates: output.length - seen.size, outOfOrderKeys };
}
