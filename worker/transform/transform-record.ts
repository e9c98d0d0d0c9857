/**
 * The record a transform module receives: a thin view over the source record, made once per record.
 * Its bytes are a Buffer over the record's own memory (no copy: a module that returns them writes them
 * as they came, at the cost of the built-in pass-through); text and JSON are decoded only when asked.
 */
import type { SourceRecord } from '../../shared/records';
import type { TransformRecord } from './module-api';

export interface InputStreamIdentity {
  readonly arn: string;
  readonly name: string;
}

export class TransformRecordView implements TransformRecord {
  private buffer: Buffer | undefined;

  constructor(
    private readonly source: SourceRecord,
    private readonly stream: InputStreamIdentity,
  ) {}

  get data(): Buffer {
    const d = this.source.data;
    return (this.buffer ??= Buffer.isBuffer(d) ? d : Buffer.from(d.buffer, d.byteOffset, d.byteLength));
  }

  text(): string {
    return this.data.toString('utf8');
  }

  json<T = unknown>(): T {
    return JSON.parse(this.text()) as T;
  }

  get partitionKey(): string {
    return this.source.partitionKey;
  }

  get explicitHashKey(): string | undefined {
    return this.source.explicitHashKey;
  }

  get sequenceNumber(): string {
    return this.source.sequenceNumber;
  }

  get subSequenceNumber(): number | undefined {
    return this.source.subSequenceNumber;
  }

  get shardId(): string {
    return this.source.shardId;
  }

  get streamName(): string {
    return this.stream.name;
  }

  get streamArn(): string {
    return this.stream.arn;
  }

  get approximateArrivalTimestamp(): Date | undefined {
    return this.source.approximateArrivalTimestamp;
  }

  /** What `console.log(record)` and `JSON.stringify(record)` show: the fields, not the getters' holder. */
  toJSON(): object {
    return {
      data: this.text(),
      partitionKey: this.partitionKey,
      explicitHashKey: this.explicitHashKey,
      sequenceNumber: this.sequenceNumber,
      subSequenceNumber: this.subSequenceNumber,
      shardId: this.shardId,
      streamName: this.streamName,
      streamArn: this.streamArn,
      approximateArrivalTimestamp: this.approximateArrivalTimestamp,
    };
  }
}
