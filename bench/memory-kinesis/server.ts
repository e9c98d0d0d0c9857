/**
 * The benchmark's in-memory Kinesis over HTTP/1.1, speaking the real wire protocol so the unmodified AWS
 * SDK (and so shardflow) talks to it: JSON 1.1 (`X-Amz-Target: Kinesis_20131202.<Operation>`, errors as
 * HTTP 400 with `__type`) for the request/response operations, and the event-stream encoding, framed by
 * `@smithy/eventstream-codec`, for SubscribeToShard. Signatures are not checked.
 *
 * SubscribeToShard, as the SDK's event-stream deserializer reads it: every message carries the string
 * headers `:message-type` = `event`, `:event-type` and `:content-type` = `application/json`. The first
 * is an `initial-response` event (the SDK does not resolve `send()` until it arrives); then
 * `SubscribeToShardEvent` events whose JSON body is the event structure itself (Records with base64
 * Data, ContinuationSequenceNumber, MillisBehindLatest). The subscription ends, like AWS's after five
 * minutes, by ending the response. Shards never close here, so no event carries ChildShards.
 *
 * Two routes that are not Kinesis, for the benchmark driver:
 *   GET  /_bench/stats?stream=<name>   → {"records": n, "userRecords": n, "firstArrivalMs": t, "lastArrivalMs": t, "faultsPending": n}
 *   POST /_bench/throttle {"stream": "<name>", "maxRecordsPerSecond": n}   (0 lifts the cap)
 *   POST /_bench/faults {"stream": "<name>", "requests": [{"records": [{"index": 1, "code": "InternalFailure"}]}, …]}
 * A throttled stream refuses PutRecords entries beyond n per wall-clock second, each on its own, with
 * ErrorCode ProvisionedThroughputExceededException. The faults route scripts the stream's next
 * PutRecords requests, one element each: the entries at the given indexes ('*' for all) are refused
 * with the given code (ProvisionedThroughputExceededException or InternalFailure), the others written.
 * Stats report `faultsPending`, the scripted requests not yet seen.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventStreamCodec, type MessageHeaders } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { KinesisError, LIMITS, SHARD_START_SEQUENCE, StreamStore, type IteratorType, type PutOutcome, type Shard, type StartingPosition, type Stream } from './stream-store';

type Body = Record<string, unknown>;

const JSON_TYPE = 'application/x-amz-json-1.1';
const TARGET_PREFIX = 'Kinesis_20131202.';
const REQUEST_ID = '00000000-0000-0000-0000-000000000000';
/** AWS keeps an idle subscription alive with an empty event about every five seconds. */
const HEARTBEAT_MS = 5000;
const codec = new EventStreamCodec(toUtf8, fromUtf8);

export interface MemoryKinesisOptions {
  /** How long a SubscribeToShard call streams before it ends (AWS: 5 minutes). */
  subscriptionMs?: number;
}

function reply(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body), 'x-amzn-requestid': REQUEST_ID });
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

function parseBody(text: string): Body {
  const body: unknown = text ? JSON.parse(text) : {};
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new KinesisError('SerializationException', 'the request body must be a JSON object');
  return body as Body;
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
    SequenceNumberRange: { StartingSequenceNumber: SHARD_START_SEQUENCE },
  };
}

/** GetShardIterator's or SubscribeToShard's starting position; the JSON protocol sends timestamps as epoch seconds. */
function position(type: unknown, sequenceNumber: unknown, timestamp: unknown): StartingPosition {
  const timestampMs = typeof timestamp === 'number' ? timestamp * 1000 : typeof timestamp === 'string' ? (/^[\d.]+$/.test(timestamp) ? Number(timestamp) * 1000 : Date.parse(timestamp)) : undefined;
  return { type: type as IteratorType, sequenceNumber: sequenceNumber as string | undefined, timestampMs };
}

function putOutcomeJson(o: PutOutcome): string {
  return 'ErrorCode' in o ? `{"ErrorCode":"${o.ErrorCode}","ErrorMessage":${JSON.stringify(o.ErrorMessage)}}` : `{"SequenceNumber":"${o.SequenceNumber}","ShardId":"${o.ShardId}"}`;
}

function consumerJson(c: { name: string; arn: string; createdAt: number }) {
  return { ConsumerName: c.name, ConsumerARN: c.arn, ConsumerStatus: 'ACTIVE', ConsumerCreationTimestamp: c.createdAt / 1000 };
}

export class MemoryKinesis {
  readonly store = new StreamStore();
  private readonly server: Server;
  /** Subscriptions waiting for records, woken by the store as soon as a PutRecords lands in their shard. */
  private readonly waiting = new Map<Shard, Set<() => void>>();
  private streaming = 0;

  constructor(private readonly options: MemoryKinesisOptions = {}) {
    this.store.onAppend = (_stream, shard) => {
      const wakers = this.waiting.get(shard);
      if (!wakers) return;
      this.waiting.delete(shard);
      for (const wake of wakers) wake();
    };
    this.server = createServer((req, res) => void this.handle(req, res));
    // Longer than the SDK agent keeps idle sockets, so the server never closes one under a request.
    this.server.keepAliveTimeout = 65_000;
  }

  /** SubscribeToShard responses still streaming. */
  get subscriptions(): number {
    return this.streaming;
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const bound = (this.server.address() as AddressInfo).port;
    return host.includes(':') ? `http://[${host}]:${bound}` : `http://${host}:${bound}`;
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
      const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
      const body = parseBody(text);
      if (operation === 'SubscribeToShard') return await this.subscribe(body, res);
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
        return JSON.stringify({ StreamDescription: { ...summary(stream, store.consumersOf(stream).length), Shards: stream.shards.map(shardJson), HasMoreShards: false } });
      }
      case 'ListShards':
        return this.listShards(body);
      case 'GetShardIterator': {
        const stream = store.stream(body);
        const shard = store.shard(stream, body.ShardId);
        const index = store.startIndex(shard, position(body.ShardIteratorType, body.StartingSequenceNumber, body.Timestamp));
        return `{"ShardIterator":"${store.encodeIterator(stream, shard, index)}"}`;
      }
      case 'GetRecords': {
        const { stream, shard, index } = store.decodeIterator(body.ShardIterator);
        const limit = body.Limit === undefined ? LIMITS.getRecords : Number(body.Limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > LIMITS.getRecords) throw new KinesisError('InvalidArgumentException', `Limit ${String(body.Limit)} is not between 1 and ${LIMITS.getRecords}`);
        const page = store.read(shard, index, limit);
        return `{"Records":${page.json},"NextShardIterator":"${store.encodeIterator(stream, shard, page.next)}","MillisBehindLatest":${page.millisBehindLatest}}`;
      }
      case 'PutRecords': {
        const outcomes = store.putRecords(store.stream(body), body.Records);
        let failed = 0;
        const records = outcomes.map((o) => {
          if ('ErrorCode' in o) failed++;
          return putOutcomeJson(o);
        });
        return `{"FailedRecordCount":${failed},"Records":[${records.join(',')}],"EncryptionType":"NONE"}`;
      }
      case 'PutRecord': {
        const [outcome] = store.putRecords(store.stream(body), [{ Data: body.Data, PartitionKey: body.PartitionKey, ExplicitHashKey: body.ExplicitHashKey }]);
        if ('ErrorCode' in outcome) throw new KinesisError(outcome.ErrorCode, outcome.ErrorMessage);
        return `{"SequenceNumber":"${outcome.SequenceNumber}","ShardId":"${outcome.ShardId}","EncryptionType":"NONE"}`;
      }
      case 'RegisterStreamConsumer':
        return JSON.stringify({ Consumer: consumerJson(store.registerConsumer(store.stream(body), body.ConsumerName)) });
      case 'DescribeStreamConsumer': {
        const c = store.consumer(body);
        return JSON.stringify({ ConsumerDescription: { ...consumerJson(c), StreamARN: c.streamArn } });
      }
      case 'DeregisterStreamConsumer':
        store.deregisterConsumer(store.consumer(body));
        return '{}';
      case 'ListStreamConsumers':
        // AWS allows 20 consumers a stream, so one page always holds them all.
        return JSON.stringify({ Consumers: store.consumersOf(store.stream(body)).map(consumerJson) });
      default:
        throw new KinesisError('UnknownOperationException', `operation ${operation || '(none)'} is not supported by the benchmark endpoint`);
    }
  }

  private listShards(body: Body): string {
    const store = this.store;
    let stream: Stream;
    let from = 0;
    if (body.NextToken !== undefined) {
      if (body.StreamName !== undefined || body.StreamARN !== undefined) throw new KinesisError('InvalidArgumentException', 'NextToken and StreamName/StreamARN cannot be provided together.');
      ({ stream, next: from } = store.decodeListToken(body.NextToken));
    } else {
      stream = store.stream(body);
    }
    const maxResults = body.MaxResults === undefined ? undefined : Number(body.MaxResults);
    const page = store.listShards(stream, from, maxResults, typeof body.ExclusiveStartShardId === 'string' ? body.ExclusiveStartShardId : undefined);
    const out: { Shards: unknown[]; NextToken?: string } = { Shards: page.shards.map(shardJson) };
    if (page.next !== null) out.NextToken = store.encodeListToken(stream, page.next);
    return JSON.stringify(out);
  }

  /**
   * Streams one shard to one consumer until the subscription's time is up or the client goes away:
   * an event at once, then one as soon as records land (the store wakes us; nothing polls), and an
   * empty one after each quiet HEARTBEAT_MS.
   */
  private async subscribe(body: Body, res: ServerResponse): Promise<void> {
    const store = this.store;
    const consumer = store.consumer({ ConsumerARN: body.ConsumerARN });
    const stream = store.stream({ StreamARN: consumer.streamArn });
    const shard = store.shard(stream, body.ShardId);
    const start = (body.StartingPosition ?? {}) as { Type?: unknown; SequenceNumber?: unknown; Timestamp?: unknown };
    let index = store.startIndex(shard, position(start.Type, start.SequenceNumber, start.Timestamp));

    let open = true;
    let wake: () => void = () => undefined;
    const stop = () => {
      open = false;
      wake();
    };
    // The response's close, not the request's: in Node 20 a request "closes" as soon as its body is read.
    res.on('close', stop);
    const timer = setTimeout(stop, this.options.subscriptionMs ?? 300_000);
    this.streaming++;
    try {
      res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': REQUEST_ID });
      res.write(event('initial-response', '{}'));
      let due = true;
      while (open) {
        const page = store.read(shard, index, LIMITS.getRecords);
        if (page.count > 0 || due) {
          index = page.next;
          const payload = `{"Records":${page.json},"ContinuationSequenceNumber":"${store.continuationBefore(shard, index)}","MillisBehindLatest":${page.millisBehindLatest}}`;
          due = false;
          if (!res.write(event('SubscribeToShardEvent', payload))) {
            // A slow reader holds the shard back rather than the server buffering without bound.
            await new Promise<void>((resolve) => {
              wake = resolve;
              res.once('drain', resolve);
            });
          }
          continue;
        }
        due = await new Promise<boolean>((resolve) => {
          const waiters = this.waiting.get(shard) ?? new Set<() => void>();
          const settle = (quiet: boolean) => {
            clearTimeout(heartbeat);
            waiters.delete(woken);
            resolve(quiet);
          };
          const woken = () => settle(false);
          const heartbeat = setTimeout(() => settle(true), HEARTBEAT_MS);
          wake = woken;
          waiters.add(woken);
          this.waiting.set(shard, waiters);
        });
      }
    } finally {
      this.streaming--;
      clearTimeout(timer);
      res.off('close', stop);
      res.end();
    }
  }

  private benchRoute(req: IncomingMessage, res: ServerResponse, text: string): void {
    const url = new URL(req.url ?? '/', 'http://bench');
    if (req.method === 'GET' && url.pathname === '/_bench/stats') {
      const s = this.store.stream({ StreamName: url.searchParams.get('stream') ?? '' });
      return reply(res, 200, JSON.stringify({ records: s.records, userRecords: s.userRecords, firstArrivalMs: s.firstArrivalMs, lastArrivalMs: s.lastArrivalMs, faultsPending: s.faults.length }));
    }
    if (req.method === 'POST' && url.pathname === '/_bench/faults') {
      const { stream, requests } = parseBody(text);
      this.store.scriptFaults(this.store.stream({ StreamName: stream }), requests);
      return reply(res, 200, '{}');
    }
    if (req.method === 'POST' && url.pathname === '/_bench/throttle') {
      const { stream, maxRecordsPerSecond } = parseBody(text);
      this.store.setThrottle(this.store.stream({ StreamName: stream }), Number(maxRecordsPerSecond ?? 0));
      return reply(res, 200, '{}');
    }
    reply(res, 404, JSON.stringify({ __type: 'NotFound', message: `no bench route ${req.method} ${url.pathname}` }));
  }
}
