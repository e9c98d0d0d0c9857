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
 * minutes, by ending the response. Shards never close here, so no event carries ChildShards. A
 * subscription whose stream is deleted or whose shard expires ends with a ResourceNotFoundException
 * exception event (`:message-type` = `exception`), which the SDK throws from the event iterator.
 *
 * DeleteStream (by StreamName or StreamARN) is immediate: every operation on the stream, its old
 * iterators and its consumers answers ResourceNotFoundException, and CreateStream of the name makes a
 * fresh, empty stream (new shards; sequence numbers go on from one counter, so they sort after the old).
 *
 * Routes that are not Kinesis, for the benchmark driver and the fault tests (errors as Kinesis's, with `__type`):
 *   GET    /_bench/calls                 → {"GetRecords": n, …}   Kinesis requests so far, by operation
 *   GET    /_bench/stats?stream=<name>   → {"records": n, "userRecords": n, "firstArrivalMs": t, "lastArrivalMs": t, "faultsPending": n}
 *   POST   /_bench/throttle {"stream": "<name>", "maxRecordsPerSecond": n}   (0 lifts the cap)
 *   POST   /_bench/faults {"stream": "<name>", "requests": [{"records": [{"index": 1, "code": "InternalFailure"}]}, …]}
 *   POST   /_bench/chaos {"rules": [rule, …]}   → {"rules": [{"rule": rule, "fired": n}, …]}   adds rules
 *   GET    /_bench/chaos                        → the same list: every rule since the last clear, with how often it fired
 *   DELETE /_bench/chaos                        clears every rule
 *   POST   /_bench/shards/expire {"stream": "<name>", "shard": "<id>"}
 *   GET    /_bench/puts?stream=<name>   → [{"at": ms, "userAgent": "…", "records": n, "accepted": n, "fault"?: "error" | "reset" | "reset-after"}, …]
 * A throttled stream refuses PutRecords entries beyond n per wall-clock second, each on its own, with
 * ErrorCode ProvisionedThroughputExceededException. The faults route scripts the stream's next
 * PutRecords requests, one element each: the entries at the given indexes ('*' for all) are refused
 * with the given code (ProvisionedThroughputExceededException or InternalFailure), the others written.
 * Stats report `faultsPending`, the scripted requests not yet seen.
 *
 * A chaos rule (chaos.ts) is {"operation": "GetRecords" | "PutRecords" | … | "*", "stream"?: name,
 * "shard"?: id, "userAgent"?: substring, "dataContains"?: substring of a put record's data, "times"?: n}
 * plus one effect:
 *   "error": "<AWS error type>" (optional "message"): answered with that `__type` and Kinesis's status,
 *       500 for InternalFailure, 503 for ServiceUnavailable, 400 for the rest;
 *   "reset": true: the connection is destroyed before the request is carried out (nothing written);
 *   "reset": "after": carried out (a put lands), then the connection is destroyed instead of answered;
 *   "delayMs": n: answered normally after n ms.
 * The first unspent matching rule fires; `times` spends it after n firings, otherwise it lasts until
 * cleared. `shard` matches only requests naming a shard (GetShardIterator, GetRecords by its iterator,
 * SubscribeToShard); `stream` matches by StreamName, StreamARN, ConsumerARN, iterator or NextToken.
 * Expiring a shard makes it gone as one trimmed past retention: records dropped, not listed, and
 * GetShardIterator, GetRecords (old iterators too) and SubscribeToShard on it ResourceNotFoundException.
 * The puts log keeps the newest 100,000 PutRecords requests per stream name, across a delete and
 * re-create; the SDK v3 writes `app/<id>` into the user agent of a process run with AWS_SDK_UA_APP_ID=<id>.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventStreamCodec, type MessageHeaders } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { ChaosPlan, statusOf, type ChaosEffect, type ChaosRequest } from './chaos';
import { KinesisError, LIMITS, SHARD_START_SEQUENCE, StreamStore, type IteratorType, type PutLogEntry, type PutOutcome, type Shard, type StartingPosition, type Stream } from './stream-store';

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
  /** Log each accepted record of a PutRecords request (`PutLogEntry.written`): tests that ask who wrote what; off by default, since a benchmark's millions of records would fill memory. */
  logWritten?: boolean;
}

function reply(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body), 'x-amzn-requestid': REQUEST_ID });
  res.end(body);
}

/** An error answer as Kinesis gives it: the type in `__type` and the `x-amzn-ErrorType` header, its HTTP status. */
function replyError(res: ServerResponse, type: string, message: string): void {
  const body = JSON.stringify({ __type: type, message });
  res.writeHead(statusOf(type), { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body), 'x-amzn-requestid': REQUEST_ID, 'x-amzn-errortype': type });
  res.end(body);
}

/** The SDK v3 puts `app/<id>` here when its process has AWS_SDK_UA_APP_ID=<id>. */
function userAgentOf(req: IncomingMessage): string {
  return String(req.headers['user-agent'] ?? '');
}

/** The stream name an ARN names (a stream's or a consumer's). */
function streamNameOfArn(arn: unknown): string | undefined {
  return typeof arn === 'string' ? arn.split(':stream/')[1]?.split('/')[0] : undefined;
}

/** The stream and shard a request names, as far as its body tells without looking anything up. */
function scopeOf(body: Body): { stream?: string; shard?: string } {
  const stream =
    (typeof body.StreamName === 'string' ? body.StreamName : undefined) ??
    streamNameOfArn(body.StreamARN) ??
    streamNameOfArn(body.ConsumerARN) ??
    StreamStore.peekIterator(body.ShardIterator)?.stream ??
    StreamStore.peekListToken(body.NextToken);
  const shard = typeof body.ShardId === 'string' ? body.ShardId : StreamStore.peekIterator(body.ShardIterator)?.shard;
  return { stream, shard };
}

/** The data of the records a PutRecord or PutRecords request carries, decoded (for `dataContains` rules). */
function putData(body: Body): string[] {
  const entries = Array.isArray(body.Records) ? (body.Records as Array<{ Data?: unknown }>) : [{ Data: body.Data }];
  return entries.map((e) => (typeof e?.Data === 'string' ? Buffer.from(e.Data, 'base64').toString('utf8') : ''));
}

function exceptionEvent(type: string, message: string): Uint8Array {
  const headers: MessageHeaders = {
    ':message-type': { type: 'string', value: 'exception' },
    ':exception-type': { type: 'string', value: type },
    ':content-type': { type: 'string', value: 'application/json' },
  };
  return codec.encode({ headers, body: fromUtf8(JSON.stringify({ message })) });
}

// Unref: a slow answer scripted for a minute must not keep a finished test process alive after close().
const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

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
    OpenShardCount: stream.shards.filter((s) => !s.expired).length,
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
  readonly chaos = new ChaosPlan();
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

  /** Kinesis requests answered so far, by operation (the scale benchmark's calls per lease). */
  private readonly calls = new Map<string, number>();

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const text = await readBody(req);
      if (req.url?.startsWith('/_bench/')) return this.benchRoute(req, res, text);
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
      const body = parseBody(text);
      this.calls.set(operation, (this.calls.get(operation) ?? 0) + 1);
      const request: ChaosRequest = { operation, ...scopeOf(body), userAgent: userAgentOf(req), records: () => putData(body) };
      const effect = this.chaos.take(request);
      if (effect && 'delayMs' in effect) await pause(effect.delayMs);
      else if (effect && !this.sufferBefore(effect, request, body, req, res)) return;
      if (operation === 'SubscribeToShard') {
        // A reset after the start of a stream is a subscription broken mid-way.
        if (effect && 'reset' in effect) setImmediate(() => req.socket.destroy());
        return await this.subscribe(body, res);
      }
      const resetAfter = effect !== undefined && 'reset' in effect;
      const answer = this.operation(operation, body, request, resetAfter ? 'reset-after' : undefined);
      if (resetAfter) {
        req.socket.destroy();
        return;
      }
      reply(res, 200, answer);
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const type = err instanceof KinesisError ? err.type : err instanceof SyntaxError ? 'SerializationException' : 'InternalFailure';
      replyError(res, type, (err as Error).message);
    }
  }

  /**
   * Carries out an error or a reset that comes before the request is: answers or drops the request and
   * returns false. A `reset: 'after'` returns true, for the caller to reset after carrying it out.
   */
  private sufferBefore(effect: Exclude<ChaosEffect, { delayMs: number }>, request: ChaosRequest, body: Body, req: IncomingMessage, res: ServerResponse): boolean {
    if ('reset' in effect && effect.reset === 'after') return true;
    if (request.operation === 'PutRecords' && request.stream !== undefined) {
      const records = Array.isArray(body.Records) ? body.Records.length : 0;
      this.store.logPut(request.stream, { at: Date.now(), userAgent: request.userAgent ?? '', records, accepted: 0, fault: 'error' in effect ? 'error' : 'reset' });
    }
    if ('error' in effect) {
      replyError(res, effect.error, effect.message ?? `${effect.error} (scripted by the benchmark endpoint's fault plan)`);
    } else {
      // No answer at all: the client sees its connection reset (ECONNRESET / socket hang up).
      req.socket.destroy();
    }
    return false;
  }

  private operation(operation: string, body: Body, request: ChaosRequest, fault?: PutLogEntry['fault']): string {
    const store = this.store;
    switch (operation) {
      case 'CreateStream':
        store.createStream(String(body.StreamName), Number(body.ShardCount ?? 1));
        return '{}';
      case 'DeleteStream':
        store.deleteStream(store.stream(body));
        return '{}';
      case 'DescribeStreamSummary': {
        const stream = store.stream(body);
        return JSON.stringify({ StreamDescriptionSummary: summary(stream, store.consumersOf(stream).length) });
      }
      case 'DescribeStream': {
        const stream = store.stream(body);
        return JSON.stringify({ StreamDescription: { ...summary(stream, store.consumersOf(stream).length), Shards: store.liveShards(stream).map(shardJson), HasMoreShards: false } });
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
        const stream = store.stream(body);
        const outcomes = store.putRecords(stream, body.Records);
        let failed = 0;
        const written: string[] = [];
        const records = outcomes.map((o) => {
          if ('ErrorCode' in o) failed++;
          else if (this.options.logWritten) written.push(`${o.ShardId}/${o.SequenceNumber}`);
          return putOutcomeJson(o);
        });
        const entry: PutLogEntry = { at: Date.now(), userAgent: request.userAgent ?? '', records: outcomes.length, accepted: outcomes.length - failed, ...(this.options.logWritten ? { written } : {}) };
        store.logPut(stream.name, fault ? { ...entry, fault } : entry);
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
        if (stream.deleted || shard.expired) {
          // As AWS ends a subscription whose shard or stream went away: an exception event, then the end.
          const what = stream.deleted ? `Stream ${stream.name}` : `Shard ${shard.id} in stream ${stream.name}`;
          res.write(exceptionEvent('ResourceNotFoundException', `${what} under account 000000000000 not found.`));
          break;
        }
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
    if (req.method === 'GET' && url.pathname === '/_bench/calls') return reply(res, 200, JSON.stringify(Object.fromEntries(this.calls)));
    if (req.method === 'GET' && url.pathname === '/_bench/stats') {
      const s = this.store.stream({ StreamName: url.searchParams.get('stream') ?? '' });
      return reply(res, 200, JSON.stringify({ records: s.records, userRecords: s.userRecords, firstArrivalMs: s.firstArrivalMs, lastArrivalMs: s.lastArrivalMs, faultsPending: s.faults.length }));
    }
    if (req.method === 'POST' && url.pathname === '/_bench/faults') {
      const { stream, requests } = parseBody(text);
      this.store.scriptFaults(this.store.stream({ StreamName: stream }), requests);
      return reply(res, 200, '{}');
    }
    if (url.pathname === '/_bench/chaos') {
      if (req.method === 'POST') {
        this.chaos.add(parseBody(text).rules);
        return reply(res, 200, JSON.stringify({ rules: this.chaos.list() }));
      }
      if (req.method === 'DELETE') {
        this.chaos.clear();
        return reply(res, 200, '{}');
      }
      if (req.method === 'GET') return reply(res, 200, JSON.stringify({ rules: this.chaos.list() }));
    }
    if (req.method === 'POST' && url.pathname === '/_bench/shards/expire') {
      const { stream, shard } = parseBody(text);
      this.store.expireShard(this.store.stream({ StreamName: stream }), shard);
      return reply(res, 200, '{}');
    }
    if (req.method === 'GET' && url.pathname === '/_bench/puts') {
      const stream = url.searchParams.get('stream');
      if (!stream) throw new KinesisError('InvalidArgumentException', 'GET /_bench/puts needs ?stream=<name>');
      return reply(res, 200, JSON.stringify(this.store.puts(stream)));
    }
    if (req.method === 'POST' && url.pathname === '/_bench/throttle') {
      const { stream, maxRecordsPerSecond } = parseBody(text);
      this.store.setThrottle(this.store.stream({ StreamName: stream }), Number(maxRecordsPerSecond ?? 0));
      return reply(res, 200, '{}');
    }
    reply(res, 404, JSON.stringify({ __type: 'NotFound', message: `no bench route ${req.method} ${url.pathname}` }));
  }
}
