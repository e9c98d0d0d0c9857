/**
 * The transform seams. A built-in `RecordTransform` maps one input record's bytes to one output
 * record's bytes (the example's stock mapping, or the bytes as they are). An `OutputPreparer` is what
 * the shard runner and the dead-letter replayer call: one input record to every output record it
 * becomes (none when filtered out), each valid and with its output group, or the reason it is
 * dead-lettered. The built-ins' preparer is synchronous; a transform module's (`module-preparer.ts`)
 * may answer with a promise.
 */
import type { OutputRecord, SourceRecord } from '../../shared/records';
import { stockTransform } from './stock-transform';
import { passThroughTransform } from './pass-through-transform';

export type TransformResult = { ok: true; data: Uint8Array } | { ok: false; reason: string };

export interface RecordTransform {
  readonly name: string;
  transform(record: SourceRecord): TransformResult;
}

export type BuiltinName = 'stock' | 'pass-through';

export function builtinTransform(name: BuiltinName): RecordTransform {
  return name === 'stock' ? stockTransform : passThroughTransform;
}

/** What becomes of one input record: its output records (none: filtered out), or a dead letter's reason. */
export type Prepared = { ok: true; records: OutputRecord[] } | { ok: false; reason: string; stack?: string };

export interface OutputPreparer {
  /** For logs: `builtin:stock`, `builtin:pass-through` or the module's file. */
  readonly name: string;
  prepare(record: SourceRecord): Prepared | Promise<Prepared>;
}
