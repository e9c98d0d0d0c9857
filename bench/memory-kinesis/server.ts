/**
 * The benchmark's in-memory Kinesis over HTTP/1.1, speaking the real wire protocol so the unmodified AWS
 * SDK (and so shardflow) talks to it: JSON 1.1 (`X-Amz-Target: Kinesis_20131202.<Operation>`, errors as
 * HTTP 400 with `__type`) for the request/response operations, and the event-stream encoding, framed by
 * `@smithy/eventstream-codec`, for SubscribeToShard. Signatures are not checked.
 *
 * Two routes that are not Kinesis, for the benchmark driver:
 *   GET  /_bench/stats?stream=<name>   → {"records": n, "firstArrivalMs": t, "lastArrivalMs": t}
 *   POST /_bench/throttle {"stream": "<name>", "maxRecordsPerSecond": n}   (0 lifts the cap)
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventStreamCodec, type MessageHeaders } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { KinesisError, StreamStore, type IteratorType, type PutEntry, type Shard, type StartingPosition, type Stream } from './stream-store';

type Body = Record<string, unknown> & { StreamName?: string; StreamARN?: string };

const JSON_TYPE = 'application/x-amz-json-1.1';
const codec = new EventStreamCodec(toUtf8, fromUtf8);

export interface MemoryKinesisOptions {
  /** How long a SubscribeToShard call streams before it ends (AWS: 5 minutes). */
  subscriptionMs?: number;
}

function reply(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body), 'x-amzn-requestid': '00000000-0000-0000-0000-000000000000' });
  res.end(body);
}

function event(type: string, body: string): Uint8Array {
  const headers: MessageHeaders = {
    ':message-type': { type: 'string', value: 'event' },
    ':event-type': { type: 'string', value: type },
    ':content-type': { type: 'string', value: 'application/json' },
  };
  return codec.encode({ headers, body: fromUtf8(body) });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function summary(stream: Stream, consumers: number) {
  return {
    StreamName: stream.name,
    StreamARN: stream.arn,
    StreamStatus: 'ACTIVE',
    StreamModeDetails: { StreamMode: 'PROVISIONED' },
    RetentionPeriodHours: 24,
    StreamCreationTimestamp: stream.createdAt / 1000,
    EnhancedMonitoring: [{ ShardLevelMetrics: [] }],
    EncryptionType: 'NONE',
    OpenShardCount: stream.shards.length,
    ConsumerCount: consumers,
  };
}

function shardJson(shard: Shard) {
  return {
    ShardId: shard.id,
    HashKeyRange: { StartingHashKey: shard.startingHashKey.toString(), EndingHashKey: shard.endingHashKey.toString() },
    SequenceNumberRange: { StartingSequenceNumber: `49${'0'.repeat(54)}` },
  };
}

function position(p: { Type?: string; SequenceNumber?: string; Timestamp?: number } | undefined): StartingPosition {
  return { type: (p?.Type ?? 'LATEST') as IteratorType, sequenceNumber: p?.SequenceNumber, timestampMs: p?.Timestamp === undefined ? undefined : Number(p.Timestamp) * 1000 };
}

export class MemoryKinesis {
  readonly store = new StreamStore();
  private readonly server: Server;
  private readonly waiting = new Map<Shard, Set<() => void>>();

  constructor(private readonly options: MemoryKinesisOptions = {}) {
    this.store.onAppend = (_stream, shard) => {
      const wakers = this.waiting.get(shard);
      if (!wakers) return;
      this.waiting.delete(shard);
      for (const wake of wakers) wake();
    };
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 65_000;
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(port, host, resolve));
    return `http://${host}:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const text = await readBody(req);
      if (req.url?.startsWith('/_bench/')) return this.benchRoute(req, res, text);
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.startsWith('Kinesis_20131202.') ? target.slice('Kinesis_20131202.'.length) : '';
      const body = (text ? JSON.parse(text) : {}) as Body;
      if (operation === 'SubscribeToShard') return this.subscribe(body, req, res);
      reply(res, 200, this.operation(operation, body));
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const type = err instanceof KinesisError ? err.type : err instanceof SyntaxError ? 'SerializationException' : 'InternalFailure';
      reply(res, type === 'InternalFailure' ? 500 : 400, JSON.stringify({ __type: type, message: (err as Error).message }));
    }
  }

  private operation(operation: string, body: Body): string {
    const store = this.store;
    switch (operation) {
      case 'CreateStream':
        store.createStream(String(body.StreamName), Number(body.ShardCount ?? 1));
        return '{}';
      case 'DescribeStreamSummary': {
        const stream = store.stream(body);
        return JSON.stringify({ StreamDescriptionSummary: summary(stream, store.consumersOf(stream).length) });
      }
      case 'DescribeStream': {
        const stream = store.stream(body);
        return JSON.stringify({ StreamDescription: { ...summary(stream, 0), Shards: stream.shards.map(shardJson), HasMoreShards: false } });
      }
      case 'ListShards': {
        // One page holds every shard, so a NextToken (which names no stream) never arrives.
        const stream = store.stream(body);
        return JSON.stringify({ Shards: stream.shards.map(shardJson) });
      }
      case 'GetShardIterator': {
        const stream = store.stream(body);
        const shard = store.shard(stream, String(body.ShardId));
        const index = store.startIndex(shard, position({ Type: body.ShardIteratorType as string, SequenceNumber: body.StartingSequenceNumber as string, Timestamp: body.Timestamp as number }));
        return JSON.stringify({ ShardIterator: store.encodeIterator(stream, shard, index) });
      }
      case 'GetRecords': {
        const { stream, shard, index } = store.decodeIterator(String(body.ShardIterator));
        const limit = Math.min(10_000, Math.max(1, Number(body.Limit ?? 10_000)));
        const page = store.read(shard, index, limit);
        return `{"Records":${page.json},"NextShardIterator":"${store.encodeIterator(stream, shard, page.next)}","MillisBehindLatest":${page.millisBehindLatest}}`;
      }
      case 'PutRecords': {
        const stream = store.stream(body);
        const outcomes = store.putRecords(stream, body.Records as PutEntry[]);
        const failed = outcomes.filter((o) => 'ErrorCode' in o).length;
        return JSON.stringify({ FailedRecordCount: failed, Records: outcomes, EncryptionType: 'NONE' });
      }
      case 'PutRecord': {
        const stream = store.stream(body);
        const [outcome] = store.putRecords(stream, [body as unknown as PutEntry]);
        if ('ErrorCode' in outcome) throw new KinesisError(outcome.ErrorCode, outcome.ErrorMessage);
        return JSON.stringify({ ...outcome, EncryptionType: 'NONE' });
      }
      case 'RegisterStreamConsumer': {
        const c = store.registerConsumer(store.stream(body), String(body.ConsumerName));
        return JSON.stringify({ Consumer: { ConsumerName: c.name, ConsumerARN: c.arn, ConsumerStatus: 'ACTIVE', ConsumerCreationTimestamp: c.createdAt / 1000 } });
      }
      case 'DescribeStreamConsumer': {
        const c = store.consumer(body as { ConsumerARN?: string; StreamARN?: string; ConsumerName?: string });
        return JSON.stringify({ ConsumerDescription: { ConsumerName: c.name, ConsumerARN: c.arn, ConsumerStatus: 'ACTIVE', ConsumerCreationTimestamp: c.createdAt / 1000, StreamARN: c.streamArn } });
      }
      case 'DeregisterStreamConsumer':
        store.deregisterConsumer(store.consumer(body as { ConsumerARN?: string; StreamARN?: string; ConsumerName?: string }));
        return '{}';
      case 'ListStreamConsumers': {
        const consumers = store.consumersOf(store.stream(body));
        return JSON.stringify({ Consumers: consumers.map((c) => ({ ConsumerName: c.name, ConsumerARN: c.arn, ConsumerStatus: 'ACTIVE', ConsumerCreationTimestamp: c.createdAt / 1000 })) });
      }
      default:
        throw new KinesisError('UnknownOperationException', `operation ${operation || '(none)'} is not supported by the benchmark endpoint`);
    }
  }

  /** Streams events for as long as the subscription lasts: every record as soon as it lands. */
  private async subscribe(body: Body, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const consumer = this.store.consumer({ ConsumerARN: String(body.ConsumerARN) });
    const stream = this.store.stream({ StreamARN: consumer.streamArn });
    const shard = this.store.shard(stream, String(body.ShardId));
    let index = this.store.startIndex(shard, position(body.StartingPosition as { Type?: string; SequenceNumber?: string; Timestamp?: number }));
    res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': '00000000-0000-0000-0000-000000000000' });
    res.write(event('initial-response', '{}'));
    let open = true;
    const ends = Date.now() + (this.options.subscriptionMs ?? 300_000);
    let wake: () => void = () => undefined;
    const stop = () => {
      open = false;
      wake();
    };
    req.on('close', stop);
    res.on('close', stop);
    const timer = setTimeout(stop, Math.max(0, ends - Date.now()));
    try {
      while (open) {
        const page = this.store.read(shard, index, 10_000);
        if (page.count > 0 || index === 0) {
          index = page.next;
          const continuation = index > 0 ? shard.sequenceNumbers[index - 1] : `49${'0'.repeat(54)}`;
          const payload = `{"Records":${page.json},"ContinuationSequenceNumber":"${continuation}","MillisBehindLatest":${page.millisBehindLatest}}`;
          if (!res.write(event('SubscribeToShardEvent', payload))) await new Promise<void>((r) => res.once('drain', r).once('close', r));
          if (page.count > 0) continue;
        }
        // Nothing new: wait for an append (or, like AWS, send an empty event every 5 s).
        await new Promise<void>((resolve) => {
          const set = this.waiting.get(shard) ?? new Set<() => void>();
          const done = () => {
            clearTimeout(heartbeat);
            set.delete(done);
            resolve();
          };
          const heartbeat = setTimeout(done, 5000);
          wake = done;
          set.add(done);
          this.waiting.set(shard, set);
        });
        if (open && this.store.read(shard, index, 1).count === 0) {
          res.write(event('SubscribeToShardEvent', `{"Records":[],"ContinuationSequenceNumber":"${index > 0 ? shard.sequenceNumbers[index - 1] : `49${'0'.repeat(54)}`}","MillisBehindLatest":0}`));
        }
      }
    } finally {
      clearTimeout(timer);
      res.end();
    }
  }

  private benchRoute(req: IncomingMessage, res: ServerResponse, text: string): void {
    const url = new URL(req.url!, 'http://bench');
    if (req.method === 'GET' && url.pathname === '/_bench/stats') {
      const s = this.store.stream({ StreamName: url.searchParams.get('stream') ?? '' });
      return reply(res, 200, JSON.stringify({ records: s.records, firstArrivalMs: s.firstArrivalMs, lastArrivalMs: s.lastArrivalMs }));
    }
    if (req.method === 'POST' && url.pathname === '/_bench/throttle') {
      const { stream, maxRecordsPerSecond } = JSON.parse(text) as { stream: string; maxRecordsPerSecond: number };
      this.store.stream({ StreamName: stream }).maxRecordsPerSecond = Math.max(0, Number(maxRecordsPerSecond) || 0);
      return reply(res, 200, '{}');
    }
    reply(res, 404, JSON.stringify({ __type: 'NotFound', message: `no bench route ${req.method} ${url.pathname}` }));
  }
}
