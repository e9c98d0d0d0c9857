/**
 * One input record to the records the sinks write, or the reason it cannot be written, for the
 * built-in transforms: the transform (contained: whatever it throws, a stack overflow on a deeply
 * nested record included, becomes the record's reason), the output partition key
 * (`sink.partition-key`), and the checks PutRecords would make (`record-validation.ts`). A transform
 * module's records take the same last step (`finishOutput`). The shard runner and the dead-letter
 * replayer both go through here, so a record a replay writes passed the same rules as one the runner
 * writes. Pure, no I/O.
 */
import type { OutputRecord, SourceRecord } from '../../shared/records';
import { outputPartitionKey } from '../sink/partition-key';
import { outputRecordProblem } from '../sink/record-validation';
import type { OutputTarget } from './output-routes';
import type { OutputPreparer, Prepared, RecordTransform, TransformResult } from './transform';
import { errorLine } from './error-line';

export type PreparedOutput = { ok: true; record: OutputRecord } | { ok: false; reason: string };

/**
 * The output record for `data` bound for `target`, with the key given (a module's) or the one the
 * target's `sink.partition-key` gives, or the rule Kinesis would refuse it under.
 */
export function finishOutput(record: SourceRecord, target: OutputTarget, data: Uint8Array, partitionKey?: string, explicitHashKey?: string): PreparedOutput {
  let key: string;
  try {
    key = partitionKey ?? outputPartitionKey(target.partitionKey, record, data);
  } catch (err) {
    return { ok: false, reason: `transform failed: ${errorLine(err)}` };
  }
  const out: OutputRecord = { partitionKey: key, data, inputSequenceNumber: record.sequenceNumber, inputSubSequenceNumber: record.subSequenceNumber };
  if (explicitHashKey !== undefined) out.explicitHashKey = explicitHashKey;
  if (target.index !== 0) out.output = target.index;
  const problem = outputRecordProblem(out, target.maxRecordBytes);
  return problem === undefined ? { ok: true, record: out } : { ok: false, reason: problem };
}

export function prepareOutput(transform: RecordTransform, record: SourceRecord, target: OutputTarget): PreparedOutput {
  if (record.rejection !== undefined) return { ok: false, reason: record.rejection };
  let result: TransformResult;
  try {
    result = transform.transform(record);
  } catch (err) {
    return { ok: false, reason: `transform failed: ${errorLine(err)}` };
  }
  return result.ok ? finishOutput(record, target, result.data) : result;
}

/** A built-in transform (`builtinTransform`), every record to the input's default output. */
export class BuiltinPreparer implements OutputPreparer {
  readonly name: string;

  constructor(
    private readonly transform: RecordTransform,
    private readonly target: OutputTarget,
  ) {
    this.name = transform.name;
  }

  prepare(record: SourceRecord): Prepared {
    const prepared = prepareOutput(this.transform, record, this.target);
    return prepared.ok ? { ok: true, records: [prepared.record] } : prepared;
  }
}
