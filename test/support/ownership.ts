/**
 * Who wrote which input shard's records, and when: the bench endpoint's PutRecords log (with
 * `logWritten`) names each output record a process wrote, the output record's id names its input
 * record, and so its input shard. A split brain is two workers writing one shard's records at once.
 */
import { json, type ReadRecord } from './kinesis';
import type { PutLogEntry } from './fault-endpoint';

/** One worker's writes of one input shard during one tenure (from one "lease taken" to the next). */
export interface WriteSpan {
  shardId: string;
  writer: string;
  from: number;
  to: number;
  writes: number;
}

/**
 * Each (input shard, writer, tenure)'s first and last write. `taken(writer, shardId)` lists the times
 * (epoch ms) the writer logged "lease taken" for the shard: a span never reaches across a new tenure.
 */
export function writeSpans(input: readonly ReadRecord[], output: readonly ReadRecord[], puts: readonly PutLogEntry[], writerOf: (userAgent: string) => string, taken: (writer: string, shardId: string) => number[]): WriteSpan[] {
  const inputShardById = new Map(input.map((r) => [String(json(r).id), r.shardId]));
  const inputShardByOutput = new Map(output.map((r) => [`${r.shardId}/${r.sequenceNumber}`, inputShardById.get(String(json(r).id))]));
  const spans = new Map<string, WriteSpan>();
  for (const put of puts) {
    const writer = writerOf(put.userAgent);
    for (const written of put.written ?? []) {
      const shardId = inputShardByOutput.get(written);
      if (shardId === undefined) continue;
      const tenure = taken(writer, shardId).filter((t) => t <= put.at).length;
      const key = `${shardId} ${writer} ${tenure}`;
      const span = spans.get(key) ?? { shardId, writer, from: put.at, to: put.at, writes: 0 };
      span.from = Math.min(span.from, put.at);
      span.to = Math.max(span.to, put.at);
      span.writes++;
      spans.set(key, span);
    }
  }
  return [...spans.values()];
}

/** Pairs of spans of one shard by two different writers that overlap in time. */
export function overlappingSpans(spans: readonly WriteSpan[]): Array<[WriteSpan, WriteSpan]> {
  const overlaps: Array<[WriteSpan, WriteSpan]> = [];
  for (const a of spans) {
    for (const b of spans) {
      if (a.shardId === b.shardId && a.writer < b.writer && a.from <= b.to && b.from <= a.to) overlaps.push([a, b]);
    }
  }
  return overlaps;
}
