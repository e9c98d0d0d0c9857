/**
 * One input record to the record the sink writes, or the reason it cannot be written: the transform
 * (contained: whatever it throws, a stack overflow on a deeply nested record included, becomes the
 * record's reason), the output partition key (`sink.partition-key`), and the checks PutRecords would
 * make (`record-validation.ts`). The shard runner and the dead-letter replayer both go through here,
 * so a record a replay writes passed the same rules as one the runner writes. Pure, no I/O.
 */
import type { OutputStreamConfig } from '../../shared/config/app-config';
import type { OutputRecord, SourceRecord } from '../../shared/records';
import { outputPartitionKey } from '../sink/partition-key';
import { outputRecordProblem } from '../sink/record-validation';
import type { RecordTransform, TransformResult } from './transform';

export type PreparedOutput = { ok: true; record: OutputRecord } | { ok: false; reason: string };

/** An error as one short line: `Name: message`, at most 500 characters. */
export function errorLine(err: unknown): string {
  const e = err as { name?: unknown; message?: unknown } | null;
  const text = e && typeof e.message === 'string' ? `${typeof e.name === 'string' ? e.name : 'Error'}: ${e.message}` : String(err);
  const line = text.split('\n')[0];
  return line.length > 500 ? `${line.slice(0, 497)}...` : line;
}

export function prepareOutput(transform: RecordTransform, record: SourceRecord, output: Pick<OutputStreamConfig, 'partitionKey' | 'maxRecordBytes'>): PreparedOutput {
  if (record.rejection !== undefined) return { ok: false, reason: record.rejection };
  let result: TransformResult;
  let partitionKey: string;
  try {
    result = transform.transform(record);
    if (!result.ok) return result;
    partitionKey = outputPartitionKey(output.partitionKey, record, result.data);
  } catch (err) {
    return { ok: false, reason: `transform failed: ${errorLine(err)}` };
  }
  const out: OutputRecord = { partitionKey, data: result.data, inputSequenceNumber: record.sequenceNumber, inputSubSequenceNumber: record.subSequenceNumber };
  const problem = outputRecordProblem(out, output.maxRecordBytes);
  return problem === undefined ? { ok: true, record: out } : { ok: false, reason: problem };
}
