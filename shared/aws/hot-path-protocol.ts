/**
 * The SDK's AWS JSON 1.1 protocol for Kinesis, with the hot shapes read and written directly.
 *
 * Why: the SDK reads and writes every shape by walking its schema member by member (with a base64
 * check per blob and a timestamp parse per record). On the copy path this was a third of the worker's
 * CPU in a profile of 200,000 records (`BENCH_PROFILE_DIR`, docs/benchmarks.md): more than the
 * transform, the sink and the readers together. The four shapes that carry records are plain JSON
 * with one blob and one timestamp per record, so they are parsed with one `JSON.parse` and fixed up
 * in place, and PutRecords is written as one string:
 *   - GetRecordsOutput and SubscribeToShardEvent (EFO events): `Data` base64 → bytes,
 *     `ApproximateArrivalTimestamp` epoch seconds → Date;
 *   - PutRecordsOutput: plain JSON;
 *   - PutRecordsInput: written as a string.
 * Everything else (the request itself, signing, endpoints, errors, every other operation, the event
 * stream framing) stays the SDK's: only the protocol's serializer and deserializer are wrapped, through
 * the client's public `protocol` option. The shapes are the ones in the service model; the
 * `hot-path-protocol` unit test checks each against the SDK's own codec, record for record.
 */
import { GetRecordsOutput$, PutRecordsInput$, PutRecordsOutput$, SubscribeToShardEvent$, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { AwsJson1_1Protocol } from '@aws-sdk/core/protocols';
import { isAscii } from 'node:buffer';

type ProtocolSettings = ConstructorParameters<typeof AwsJson1_1Protocol>[0];

/** What the protocol's serializer and deserializer are, as far as this wrapper needs them. */
interface Serializer {
  write(schema: unknown, value: unknown): void;
  flush(): string | Uint8Array;
  setSerdeContext(context: never): void;
}
interface Deserializer {
  read(schema: unknown, data: string | Uint8Array): unknown;
  setSerdeContext(context: never): void;
}

/** The static structure a (normalized) schema stands for: schemas are compared by identity. */
function structureOf(schema: unknown): unknown {
  const normalized = schema as { getSchema?: () => unknown } | null;
  return typeof normalized?.getSchema === 'function' ? normalized.getSchema() : schema;
}

/**
 * A body as text. Kinesis bodies are almost always ASCII (base64 data, sequence numbers), and an ASCII
 * buffer read as latin1 is the same text, copied byte for byte; reading it as UTF-8 validates every byte
 * instead, which on Node 20 took as long as the JSON.parse after it (5.7 against 3.2 ms for a
 * 6,250-record page, about 6 % of a worker's CPU at full speed).
 */
function text(data: string | Uint8Array): string {
  if (typeof data === 'string') return data;
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
}

interface WireRecord {
  Data?: string | Uint8Array;
  ApproximateArrivalTimestamp?: number | string | Date;
}

/** Epoch seconds (the JSON protocol's timestamp format, possibly fractional or a numeric string) → Date. */
function arrival(value: number | string | Date): Date {
  if (value instanceof Date) return value;
  const seconds = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(seconds) ? new Date(Math.round(seconds * 1000)) : new Date(value);
}

/** Records as the SDK hands them over: `Data` as bytes, the arrival as a Date. In place. */
function readRecords(records: WireRecord[] | undefined): void {
  if (!Array.isArray(records)) return;
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    if (typeof r.Data === 'string') r.Data = Buffer.from(r.Data, 'base64');
    if (r.ApproximateArrivalTimestamp !== undefined && r.ApproximateArrivalTimestamp !== null) r.ApproximateArrivalTimestamp = arrival(r.ApproximateArrivalTimestamp);
  }
}

function base64(data: Uint8Array | string | undefined): string {
  if (data === undefined) return '';
  if (typeof data === 'string') return Buffer.from(data, 'utf8').toString('base64');
  return (Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength)).toString('base64');
}

const PUT_RECORDS_TOP_LEVEL = new Set(['Records', 'StreamName', 'StreamARN', 'StreamId']);

/** PutRecordsInput as its JSON body, or undefined when it holds a member this writer does not know. */
export function putRecordsBody(input: { Records?: PutRecordsRequestEntry[]; StreamName?: string; StreamARN?: string; StreamId?: string }): string | undefined {
  for (const key of Object.keys(input)) {
    const value = (input as Record<string, unknown>)[key];
    if (value !== undefined && (!PUT_RECORDS_TOP_LEVEL.has(key) || (key !== 'Records' && typeof value !== 'string'))) return undefined;
  }
  const entries = input.Records ?? [];
  const parts = new Array<string>(entries.length);
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    const hash = e.ExplicitHashKey === undefined ? '' : `,"ExplicitHashKey":${JSON.stringify(e.ExplicitHashKey)}`;
    parts[i] = `{"Data":"${base64(e.Data)}","PartitionKey":${JSON.stringify(e.PartitionKey)}${hash}}`;
  }
  let body = `{"Records":[${parts.join(',')}]`;
  if (input.StreamName !== undefined) body += `,"StreamName":${JSON.stringify(input.StreamName)}`;
  if (input.StreamARN !== undefined) body += `,"StreamARN":${JSON.stringify(input.StreamARN)}`;
  if (input.StreamId !== undefined) body += `,"StreamId":${JSON.stringify(input.StreamId)}`;
  return `${body}}`;
}

/** Parses the body of one of the record-carrying outputs (GetRecords, a SubscribeToShard event). */
export function readRecordPage(data: string | Uint8Array): Record<string, unknown> {
  const body = text(data);
  if (body.length === 0) return {};
  const parsed = JSON.parse(body) as { Records?: WireRecord[] };
  readRecords(parsed.Records);
  return parsed as Record<string, unknown>;
}

class HotPathSerializer implements Serializer {
  private body: string | undefined;

  constructor(private readonly inner: Serializer) {}

  write(schema: unknown, value: unknown): void {
    this.body = structureOf(schema) === PutRecordsInput$ && value !== null && typeof value === 'object' ? putRecordsBody(value) : undefined;
    if (this.body === undefined) this.inner.write(schema, value);
  }

  flush(): string | Uint8Array {
    // The protocol writes and flushes in one synchronous step, so one pending body is enough.
    const body = this.body;
    this.body = undefined;
    // As bytes: the signer hashes the body and the socket writes it, and a string body was encoded to
    // UTF-8 for each (about 4 % of a worker's CPU at full speed).
    return body === undefined ? this.inner.flush() : Buffer.from(body, 'utf8');
  }

  setSerdeContext(context: never): void {
    this.inner.setSerdeContext(context);
  }
}

class HotPathDeserializer implements Deserializer {
  constructor(private readonly inner: Deserializer) {}

  read(schema: unknown, data: string | Uint8Array): unknown {
    const structure = structureOf(schema);
    if (structure === GetRecordsOutput$ || structure === SubscribeToShardEvent$) return readRecordPage(data);
    if (structure === PutRecordsOutput$) {
      const body = text(data);
      return body.length === 0 ? {} : (JSON.parse(body) as unknown);
    }
    return this.inner.read(schema, data);
  }

  setSerdeContext(context: never): void {
    this.inner.setSerdeContext(context);
  }
}

/** AWS JSON 1.1 with the record-carrying shapes on the hot path (see the header). */
export class HotPathKinesisProtocol extends AwsJson1_1Protocol {
  constructor(settings: ProtocolSettings) {
    super(settings);
    this.serializer = new HotPathSerializer(this.serializer);
    this.deserializer = new HotPathDeserializer(this.deserializer);
  }
}
