/**
 * A transform module's function as an output preparer: the record shown to it as a `TransformRecord`,
 * its answer checked for shape (`result-shape.ts`), each output record routed to its group, keyed and
 * validated like a built-in's (`finishOutput`). Whatever one record makes the module do (throw, reject,
 * never answer, answer the wrong shape, name an unknown group) becomes that record's dead-letter reason.
 * All or nothing per input record: when one of its outputs is refused the whole input record is
 * dead-lettered, so a replay writes each output once.
 *
 * A synchronous answer stays synchronous (no promise, no timer): a module that answers at once costs
 * little more than a built-in. A promise gets `Transform.timeout`; a late answer is ignored.
 */
import type { SourceRecord } from '../../shared/records';
import { errorLine, stackLine } from './error-line';
import type { TransformFunction } from './module-api';
import type { OutputRoutes } from './output-routes';
import { finishOutput } from './prepare-output';
import { shapeResult } from './result-shape';
import type { OutputPreparer, Prepared } from './transform';
import { TransformRecordView, type InputStreamIdentity } from './transform-record';

export interface ModulePreparerOptions {
  /** For logs and reasons: the module's file. */
  name: string;
  fn: TransformFunction;
  routes: OutputRoutes;
  stream: InputStreamIdentity;
  timeoutMs: number;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}

function thrown(err: unknown): Prepared {
  const stack = stackLine(err);
  return stack === undefined ? { ok: false, reason: `transform failed: ${errorLine(err)}` } : { ok: false, reason: `transform failed: ${errorLine(err)}`, stack };
}

export class ModulePreparer implements OutputPreparer {
  readonly name: string;

  constructor(private readonly opts: ModulePreparerOptions) {
    this.name = opts.name;
  }

  prepare(record: SourceRecord): Prepared | Promise<Prepared> {
    if (record.rejection !== undefined) return { ok: false, reason: record.rejection };
    let result: unknown;
    try {
      result = this.opts.fn(new TransformRecordView(record, this.opts.stream));
    } catch (err) {
      return thrown(err);
    }
    return isThenable(result) ? this.settle(result, record) : this.finishContained(result, record);
  }

  private settle(answer: PromiseLike<unknown>, record: SourceRecord): Promise<Prepared> {
    const { timeoutMs } = this.opts;
    return new Promise<Prepared>((resolve) => {
      const timer = setTimeout(() => resolve({ ok: false, reason: `transform timed out: no answer within Transform.timeout (${timeoutMs} ms)` }), timeoutMs);
      // A stopping worker does not wait for a module that never answers.
      timer.unref();
      answer.then(
        (result) => {
          clearTimeout(timer);
          resolve(this.finishContained(result, record));
        },
        (err: unknown) => {
          clearTimeout(timer);
          resolve(thrown(err));
        },
      );
    });
  }

  /** As `finish`, with whatever reading the answer throws (a getter of the module's) as the record's reason. */
  private finishContained(result: unknown, record: SourceRecord): Prepared {
    try {
      return this.finish(result, record);
    } catch (err) {
      return thrown(err);
    }
  }

  private finish(result: unknown, record: SourceRecord): Prepared {
    const shaped = shapeResult(result);
    if (!shaped.ok) return shaped;
    const { routes } = this.opts;
    const drafts = shaped.drafts;
    const records = [];
    for (let i = 0; i < drafts.length; i++) {
      const draft = drafts[i];
      const target = draft.output === undefined ? routes.fallback : routes.get(draft.output);
      const which = drafts.length > 1 ? `output record ${i}: ` : '';
      if (target === undefined) return { ok: false, reason: `${which}unknown output group ${JSON.stringify(draft.output)}; the configuration has ${routes.names}` };
      const out = finishOutput(record, target, draft.data, draft.partitionKey, draft.explicitHashKey);
      if (!out.ok) return { ok: false, reason: `${which}${out.reason}` };
      records.push(out.record);
    }
    return { ok: true, records };
  }
}
