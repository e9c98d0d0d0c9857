/** Output preparers for runner tests: a built-in-style transform bound for one default output. */
import type { PartitionKeyRule } from '../../shared/config/app-config';
import type { OutputTarget } from '../../worker/transform/output-routes';
import { BuiltinPreparer } from '../../worker/transform/prepare-output';
import type { RecordTransform } from '../../worker/transform/transform';
import { passThroughTransform } from '../../worker/transform/pass-through-transform';

export function outputTarget(overrides: Partial<OutputTarget> = {}): OutputTarget {
  return { group: 'OutputStream0', index: 0, partitionKey: { type: 'INPUT' } as PartitionKeyRule, maxRecordBytes: 1024 * 1024, ...overrides };
}

export function preparerOf(transform: RecordTransform = passThroughTransform, target: OutputTarget = outputTarget()): BuiltinPreparer {
  return new BuiltinPreparer(transform, target);
}
