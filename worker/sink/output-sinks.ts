/**
 * The sinks of every output group as one `SinkPort`: a write is split by each record's output
 * (`OutputRecord.output`, the index of its group) and resolves once every output has acknowledged its
 * part, so a chunk whose records go to several streams is checkpointed only when all of them are
 * written. Each output keeps its own batching, rate limiting, ordering, aggregation, credentials and
 * failure handling (`sink.fail-on-error` included); the room for buffered records is one budget for
 * them all (`OutputStream0`'s `sink.requests.max-buffered`), so a worker's memory is bounded as a whole.
 * While any output refuses writes for good, the runners read nothing new: their next records may be
 * bound for it, and the checkpoint cannot pass a record that is not written.
 */
import type { OutputStreamConfig } from '../../shared/config/app-config';
import { KinesisGateway } from '../../shared/aws/kinesis-gateway';
import type { Logger } from '../../shared/logging';
import type { OutputRecord } from '../../shared/records';
import { BufferBudget } from './buffer-budget';
import { KinesisSink, sinkSettings, type OutputFailure, type OutputStreamError, type SinkStats } from './kinesis-sink';
import { emptyStats, type SinkSettings } from './sink-settings';
import type { RecordOwner, RejectedRecord, SinkPort } from './sink-port';

export interface NamedSink {
  /** The output's property group. */
  readonly group: string;
  readonly sink: KinesisSink;
}

export interface OutputSinksOptions {
  /** `component` of the sinks' log lines. */
  component: string;
  /** With `sink.fail-on-error` of that output: its first non-retryable error. */
  onFatal?: (err: OutputStreamError, group: string) => void;
  /** Settings every output's sink takes instead of its group's (the replayer sends at once: `lingerMs: 0`). */
  override?: Partial<SinkSettings>;
}

export class OutputSinks implements SinkPort {
  /** The Kinesis clients of the outputs (one per group), destroyed by `destroy`. */
  private gateways: KinesisGateway[] = [];

  constructor(readonly outputs: readonly NamedSink[]) {
    if (outputs.length === 0) throw new Error('at least one output');
  }

  /** A sink per output group, each with its own Kinesis client (its region and credentials), sharing `outputs[0]`'s buffer room. */
  static open(outputs: readonly OutputStreamConfig[], log: Logger, options: OutputSinksOptions): OutputSinks {
    const budget = new BufferBudget(outputs[0].maxBufferedRecords);
    const gateways = outputs.map((o) => KinesisGateway.fromConfig(o.client));
    const sinks = new OutputSinks(
      outputs.map((o, i) => ({
        group: o.group,
        sink: new KinesisSink(gateways[i], o.stream.arn, { ...sinkSettings(o), ...options.override }, log.child({ component: options.component, output: o.group }), {
          budget,
          onFatal: options.onFatal && ((err) => options.onFatal!(err, o.group)),
        }),
      })),
    );
    sinks.gateways = gateways;
    return sinks;
  }

  get congested(): boolean {
    return this.outputs.some((o) => o.sink.congested);
  }

  /** The shared room: every output's sink reserves from the same budget. */
  get room(): number {
    return this.outputs[0].sink.room;
  }

  reserve(count: number, signal?: AbortSignal): Promise<void> {
    return this.outputs[0].sink.reserve(count, signal);
  }

  write(records: readonly OutputRecord[], owner?: RecordOwner): Promise<readonly RejectedRecord[]> {
    const outputs = this.outputs;
    if (outputs.length === 1) return outputs[0].sink.write(records, owner);
    const parts: OutputRecord[][] = outputs.map(() => []);
    for (const record of records) parts[record.output ?? 0].push(record);
    const writes: Array<Promise<readonly RejectedRecord[]>> = [];
    for (let i = 0; i < parts.length; i++) if (parts[i].length > 0) writes.push(outputs[i].sink.write(parts[i], owner));
    if (writes.length <= 1) return writes[0] ?? Promise.resolve([]);
    return Promise.all(writes).then((rejected) => rejected.flat());
  }

  get accepting(): boolean {
    return this.outputs.every((o) => o.sink.accepting);
  }

  async waitUntilAccepting(signal?: AbortSignal): Promise<void> {
    while (!signal?.aborted) {
      const failing = this.outputs.find((o) => !o.sink.accepting);
      if (failing === undefined) return;
      await failing.sink.waitUntilAccepting(signal);
    }
  }

  abandon(owner: RecordOwner): number {
    let dropped = 0;
    for (const o of this.outputs) dropped += o.sink.abandon(owner);
    return dropped;
  }

  /** Records written and not yet acknowledged, for all outputs. */
  get buffered(): number {
    let n = 0;
    for (const o of this.outputs) n += o.sink.buffered;
    return n;
  }

  /** The counters of all outputs added up. */
  get stats(): SinkStats {
    const total = emptyStats();
    for (const o of this.outputs) for (const key of Object.keys(total) as Array<keyof SinkStats>) total[key] += o.sink.stats[key];
    return total;
  }

  /** Each output that does not take writes now, with since when and why. */
  /** Each output's PutRecords requests allowed in flight now (its AIMD window). */
  requestLimits(): Array<{ group: string; limit: number }> {
    return this.outputs.map((o) => ({ group: o.group, limit: o.sink.requestLimit }));
  }

  failures(): Array<{ group: string; failure: OutputFailure }> {
    return this.outputs.flatMap((o) => (o.sink.outputFailure ? [{ group: o.group, failure: o.sink.outputFailure }] : []));
  }

  async flush(signal?: AbortSignal): Promise<void> {
    await Promise.all(this.outputs.map((o) => o.sink.flush(signal)));
  }

  close(): void {
    for (const o of this.outputs) o.sink.close();
  }

  /** Closes the outputs' Kinesis clients (after `close`). */
  destroy(): void {
    for (const gateway of this.gateways) gateway.destroy();
  }
}
