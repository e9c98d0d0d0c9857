/**
 * The transform seam: one function from an input record to an output payload or a reason why the
 * record cannot be transformed. Swap in your own by implementing RecordTransform and returning it
 * from createTransform.
 */
import type { SourceRecord } from '../../shared/records';
import { stockTransform } from './stock-transform';
import { passThroughTransform } from './pass-through-transform';

export type TransformResult = { ok: true; data: Uint8Array } | { ok: false; reason: string };

export interface RecordTransform {
  readonly name: string;
  transform(record: SourceRecord): TransformResult;
}

export function createTransform(serialization: 'JSON' | 'STRING'): RecordTransform {
  return serialization === 'JSON' ? stockTransform : passThroughTransform;
}
