/**
 * The hot-path protocol reads and writes the record-carrying shapes exactly as the SDK's own codec
 * does: the same clients, one with the SDK's protocol and one with ours, over a canned transport.
 */
import { Readable } from 'node:stream';
import { GetRecordsCommand, KinesisClient, PutRecordsCommand, SubscribeToShardCommand, type SubscribeToShardEventStream } from '@aws-sdk/client-kinesis';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { HotPathKinesisProtocol, putRecordsBody } from '../../shared/aws/hot-path-protocol';

interface Canned {
  statusCode: number;
  headers: Record<string, string>;
  body: Buffer;
}
interface SentRequest {
  headers: Record<string, string>;
  body: string;
  /** Ours writes a string; the SDK's codec a byte buffer. */
  bodyIsBuffer: boolean;
}

function client(hotPath: boolean, respond: () => Canned, sent: SentRequest[] = []): KinesisClient {
  return new KinesisClient({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    maxAttempts: 1,
    ...(hotPath ? { protocol: HotPathKinesisProtocol } : {}),
    requestHandler: {
      handle: async (request: { headers: Record<string, string>; body?: unknown }) => {
        const raw = request.body;
        const body = typeof raw === 'string' ? raw : raw instanceof Uint8Array ? Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8') : String(raw);
        sent.push({ headers: { ...request.headers }, body, bodyIsBuffer: Buffer.isBuffer(raw) });
        const canned = respond();
        return { response: { statusCode: canned.statusCode, headers: { ...canned.headers }, body: Readable.from([canned.body]) } };
      },
    },
  });
}

const json = (value: unknown): Canned => ({ statusCode: 200, headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': 'req-1' }, body: Buffer.from(JSON.stringify(value)) });

const b64 = (bytes: number[] | string) => Buffer.from(typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : Buffer.from(bytes)).toString('base64');
const wireRecords = [
  { SequenceNumber: '49590338271490256608559692538361571095921575989136588898', ApproximateArrivalTimestamp: 1.764306000123e9, Data: b64('{"event_time":"2026-11-28T05:00:00","ticker":"AAPL","price":12.5}'), PartitionKey: 'partitionkey' },
  { SequenceNumber: '49590338271490256608559692538361571095921575989136588899', ApproximateArrivalTimestamp: 1764306000.9999, Data: b64([0, 255, 254, 10, 13, 34, 92]), PartitionKey: 'quote " back \\ snow ☃ 🚀', EncryptionType: 'KMS' },
  { SequenceNumber: '49590338271490256608559692538361571095921575989136588900', ApproximateArrivalTimestamp: 1764306001, Data: '', PartitionKey: 'empty' },
];

/** Bytes as numbers, so the SDK's Uint8Array and our Buffer compare by content. */
function comparable(output: unknown): unknown {
  return JSON.parse(JSON.stringify(output, (_key, value: unknown) => (value instanceof Uint8Array ? { bytes: Array.from(value) } : value && typeof value === 'object' && (value as { type?: string }).type === 'Buffer' ? { bytes: (value as { data: number[] }).data } : value)));
}

test('GetRecords: records, arrival times (to the millisecond), child shards and metadata read as the SDK reads them', async () => {
  const page = {
    Records: wireRecords,
    NextShardIterator: 'AAAAAAAAAAE=',
    MillisBehindLatest: 1234,
    ChildShards: [{ ShardId: 'shardId-000000000002', ParentShards: ['shardId-000000000000'], HashKeyRange: { StartingHashKey: '0', EndingHashKey: '170141183460469231731687303715884105727' } }],
  };
  const request = { StreamARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/in', ShardIterator: 'AAAA', Limit: 10_000 };
  const sdk = await client(false, () => json(page)).send(new GetRecordsCommand(request));
  const ours = await client(true, () => json(page)).send(new GetRecordsCommand(request));
  expect(comparable(ours)).toEqual(comparable(sdk));
  expect(ours.Records!.map((r) => r.ApproximateArrivalTimestamp!.getTime())).toEqual(sdk.Records!.map((r) => r.ApproximateArrivalTimestamp!.getTime()));
  expect(ours.Records![0].ApproximateArrivalTimestamp).toBeInstanceOf(Date);
  // Read by the hot path (a Buffer), not by the SDK's codec (a plain Uint8Array).
  expect(ours.Records!.every((r) => Buffer.isBuffer(r.Data))).toBe(true);
  expect(sdk.Records!.some((r) => Buffer.isBuffer(r.Data))).toBe(false);
  expect(Buffer.from(ours.Records![1].Data!)).toEqual(Buffer.from([0, 255, 254, 10, 13, 34, 92]));
  expect(ours.$metadata.requestId).toBe('req-1');
});

test('GetRecords errors are still the SDK\'s: the exception class, name and message', async () => {
  const throttled = (): Canned => ({ statusCode: 400, headers: { 'x-amzn-requestid': 'req-2' }, body: Buffer.from(JSON.stringify({ __type: 'ProvisionedThroughputExceededException', message: 'Rate exceeded for shard' })) });
  const request = { ShardIterator: 'AAAA' };
  const sdk = await client(false, throttled).send(new GetRecordsCommand(request)).catch((e: Error) => e);
  const ours = await client(true, throttled).send(new GetRecordsCommand(request)).catch((e: Error) => e);
  expect(ours).toBeInstanceOf(sdk.constructor as new () => Error);
  expect([(ours as Error).name, (ours as Error).message]).toEqual([(sdk as Error).name, (sdk as Error).message]);
  expect((ours as Error).name).toBe('ProvisionedThroughputExceededException');
});

test('PutRecords: the same request body as the SDK writes (bytes from any view, keys escaped, explicit hash keys) and the same answer read', async () => {
  const backing = Buffer.from('xx{"ticker":"AMZN"}yy');
  const records = [
    { Data: backing.subarray(2, backing.length - 2), PartitionKey: 'partitionkey' },
    { Data: new Uint8Array([0, 1, 2, 255]), PartitionKey: 'quote " back \\ snow ☃ 🚀\n', ExplicitHashKey: '340282366920938463463374607431768211455' },
    { Data: new Uint8Array(), PartitionKey: 'k' },
    { Data: new Uint8Array(new Uint8Array([9, 9, 9, 65, 66, 67, 9]).buffer, 3, 3), PartitionKey: 'a view into a larger buffer' },
  ];
  const answer = { FailedRecordCount: 1, Records: [{ SequenceNumber: '1', ShardId: 'shardId-000000000000' }, { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded' }, { SequenceNumber: '2', ShardId: 'shardId-000000000001' }, { SequenceNumber: '3', ShardId: 'shardId-000000000001' }], EncryptionType: 'NONE' };
  const sdkSent: SentRequest[] = [];
  const oursSent: SentRequest[] = [];
  const input = { StreamARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/out', Records: records };
  const sdk = await client(false, () => json(answer), sdkSent).send(new PutRecordsCommand(input));
  const ours = await client(true, () => json(answer), oursSent).send(new PutRecordsCommand(input));
  expect(JSON.parse(oursSent[0].body)).toEqual(JSON.parse(sdkSent[0].body));
  expect([oursSent[0].bodyIsBuffer, sdkSent[0].bodyIsBuffer]).toEqual([true, false]);
  expect(JSON.parse(oursSent[0].body).Records[0].Data).toBe(Buffer.from('{"ticker":"AMZN"}').toString('base64'));
  expect(JSON.parse(oursSent[0].body).Records[3].Data).toBe(Buffer.from('ABC').toString('base64'));
  for (const header of ['content-type', 'x-amz-target', 'content-length']) expect(oursSent[0].headers[header]).toBe(sdkSent[0].headers[header]);
  expect(comparable(ours)).toEqual(comparable(sdk));

  const byName = { StreamName: 'out', Records: records.slice(0, 1) };
  await client(false, () => json(answer), sdkSent).send(new PutRecordsCommand(byName));
  await client(true, () => json(answer), oursSent).send(new PutRecordsCommand(byName));
  expect(JSON.parse(oursSent[1].body)).toEqual(JSON.parse(sdkSent[1].body));
});

test('a PutRecords input with a member the fast writer does not know is left to the SDK', () => {
  expect(putRecordsBody({ Records: [], StreamARN: 'arn' })).toBe('{"Records":[],"StreamARN":"arn"}');
  expect(putRecordsBody({ Records: [], StreamARN: 'arn', Future: 1 } as never)).toBeUndefined();
  expect(putRecordsBody({ Records: [], StreamARN: 7 } as never)).toBeUndefined();
});

test('SubscribeToShard events: records, continuation and child shards read as the SDK reads them', async () => {
  const codec = new EventStreamCodec(toUtf8, fromUtf8);
  const event = (type: string, payload: unknown) =>
    Buffer.from(
      codec.encode({
        headers: { ':message-type': { type: 'string', value: 'event' }, ':event-type': { type: 'string', value: type }, ':content-type': { type: 'string', value: 'application/json' } },
        body: Buffer.from(JSON.stringify(payload)),
      }),
    );
  const events = [
    { Records: wireRecords, ContinuationSequenceNumber: '49590338271490256608559692538361571095921575989136588900', MillisBehindLatest: 0 },
    { Records: [], ContinuationSequenceNumber: '49590338271490256608559692538361571095921575989136588901', MillisBehindLatest: 5, ChildShards: [{ ShardId: 'shardId-000000000003', ParentShards: ['shardId-000000000000', 'shardId-000000000001'], HashKeyRange: { StartingHashKey: '0', EndingHashKey: '1' } }] },
  ];
  const respond = (): Canned => ({
    statusCode: 200,
    headers: { 'content-type': 'application/vnd.amazon.eventstream' },
    body: Buffer.concat([event('initial-response', {}), ...events.map((e) => event('SubscribeToShardEvent', e))]),
  });
  const read = async (hotPath: boolean) => {
    const out = await client(hotPath, respond).send(new SubscribeToShardCommand({ ConsumerARN: 'arn:c', ShardId: 'shardId-000000000000', StartingPosition: { Type: 'TRIM_HORIZON' } }));
    const got: SubscribeToShardEventStream[] = [];
    for await (const e of out.EventStream!) got.push(e);
    return got;
  };
  const sdk = await read(false);
  const ours = await read(true);
  expect(ours).toHaveLength(2);
  expect(comparable(ours)).toEqual(comparable(sdk));
  expect(ours[0].SubscribeToShardEvent!.Records![0].ApproximateArrivalTimestamp).toBeInstanceOf(Date);
  expect(Buffer.isBuffer(ours[0].SubscribeToShardEvent!.Records![0].Data)).toBe(true);
  expect(Buffer.isBuffer(sdk[0].SubscribeToShardEvent!.Records![0].Data)).toBe(false);
});
