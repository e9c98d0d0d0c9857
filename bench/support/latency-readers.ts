/**
 * The latency benchmarks' side readers and producer, shared by `scenarios/latency.ts` (kinesis-local)
 * and `scenarios/own-latency.ts` (the bench endpoint): a producer that writes stock records carrying
 * their id and send time (`sent_at`), readers of the output streams that keep each id's first arrival,
 * and the bare SDK floors, a subscription and a GetRecords loop on the input stream with nothing behind
 * them, which tell the endpoint's own latency from shardflow's.
 */
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { randomUUID } from 'node:crypto';
import { randomStock } from '../../generator/stock-records';
import { createKinesisClient } from '../../shared/aws/kinesis-client';
import { KinesisGateway } from '../../shared/aws/kinesis-gateway';
import type { StartPosition } from '../../shared/position';
import { DEFAULT_ACCOUNT } from '../../test/support/kinesis';
import { waitFor } from '../../test/support/wait';
import { percentile } from '../scenario';

export const BATCH_EVERY_MS = 100;
const OUTPUT_POLL_MS = 200;

export interface Arrival {
  sentAt: number;
  /** When the record reached the stream it was read from (ApproximateArrivalTimestamp), or was received. */
  arrivedAt: number;
  /** When the benchmark's reader had it in hand. */
  receivedAt: number;
}

interface Payload {
  id: string;
  sent_at: number;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A side reader that keeps each record id's first arrival and counts every copy. */
export abstract class Watcher {
  readonly arrivals = new Map<string, Arrival>();
  copies = 0;
  protected stopped = false;
  protected loops: Promise<void>[] = [];

  /** Called with each id's first arrival (the bare readers' own process reports them to the benchmark). */
  onArrival?: (id: string, arrival: Arrival) => void;

  protected note(data: Uint8Array, arrivedAt: number, receivedAt: number): void {
    this.copies++;
    const value = JSON.parse(Buffer.from(data).toString('utf8')) as Payload;
    if (!this.arrivals.has(value.id)) this.add(value.id, { sentAt: value.sent_at, arrivedAt, receivedAt });
  }

  add(id: string, arrival: Arrival): void {
    this.arrivals.set(id, arrival);
    this.onArrival?.(id, arrival);
  }

  has(ids: readonly string[]): boolean {
    return ids.every((id) => this.arrivals.has(id));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled(this.loops);
  }
}

/** Arrivals another process reports (see `bench/latency-floors.ts`). */
export class ReportedArrivals extends Watcher {}

/** Reads every shard of an output stream from TRIM_HORIZON with GetRecords until stopped. */
export class OutputWatcher extends Watcher {
  constructor(
    private readonly client: KinesisClient,
    private readonly arn: string,
    /** The pause after an empty page; the figures use arrival stamps, so it only sets how soon the run sees them. */
    private readonly pollMs = OUTPUT_POLL_MS,
  ) {
    super();
  }

  async start(): Promise<void> {
    const shards = (await this.client.send(new ListShardsCommand({ StreamARN: this.arn }))).Shards ?? [];
    this.loops = shards.map((s) => this.readShard(s.ShardId!));
  }

  private async readShard(shardId: string): Promise<void> {
    let iterator = (await this.client.send(new GetShardIteratorCommand({ StreamARN: this.arn, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
    while (!this.stopped && iterator) {
      let records;
      try {
        const page = await this.client.send(new GetRecordsCommand({ StreamARN: this.arn, ShardIterator: iterator }));
        iterator = page.NextShardIterator;
        records = page.Records ?? [];
      } catch {
        await pause(this.pollMs); // a hiccup of the endpoint: the same iterator again
        continue;
      }
      const receivedAt = Date.now();
      for (const r of records) this.note(r.Data!, r.ApproximateArrivalTimestamp!.getTime(), receivedAt);
      if (records.length === 0) await pause(this.pollMs);
    }
  }
}

/**
 * The EFO floor: a bare SubscribeToShard per input shard through shardflow's own Kinesis gateway and
 * client factory (HTTP/1.1 to kinesis-local, as the EFO reader uses), with nothing behind it.
 */
export class SubscriptionFloor extends Watcher {
  private readonly abort = new AbortController();
  private readonly gateway: KinesisGateway;
  errors = 0;

  constructor(
    endpoint: string,
    private readonly streamArn: string,
    private readonly consumerName: string,
  ) {
    super();
    this.gateway = new KinesisGateway(
      createKinesisClient(
        { group: 'bench', region: 'us-east-1', endpoint, credentials: { provider: 'BASIC', accessKeyId: DEFAULT_ACCOUNT, secretAccessKey: 'bench' }, maxConcurrency: 10, readTimeoutMs: 60_000 },
        { streaming: true },
      ),
    );
  }

  async start(shardIds: readonly string[]): Promise<void> {
    await this.gateway.registerConsumer(this.streamArn, this.consumerName);
    const consumerArn = await waitFor(
      async () => {
        const d = await this.gateway.describeConsumer(this.streamArn, this.consumerName);
        return d?.ConsumerStatus === 'ACTIVE' ? d.ConsumerARN : undefined;
      },
      30_000,
      `the floor's consumer ${this.consumerName} to become ACTIVE`,
      50,
    );
    this.loops = shardIds.map((shardId) => this.subscribe(consumerArn!, shardId));
  }

  private async subscribe(consumerArn: string, shardId: string): Promise<void> {
    // The input stream is fresh: from its start, so no warm-up record falls before the subscription is up.
    let position: StartPosition = { type: 'TRIM_HORIZON' };
    while (!this.stopped) {
      try {
        const pages = await this.gateway.subscribe(consumerArn, shardId, position, this.abort.signal);
        for await (const page of pages) {
          const receivedAt = Date.now();
          for (const r of page.records) this.note(r.data, receivedAt, receivedAt);
          if (page.continuation) position = { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: page.continuation };
        }
      } catch {
        if (this.stopped) return;
        this.errors++;
        await pause(100); // re-subscribe after the last event's continuation
      }
    }
  }

  override async stop(): Promise<void> {
    if (this.abort.signal.aborted) return;
    this.stopped = true;
    this.abort.abort();
    await super.stop();
    this.gateway.destroy();
  }
}

/**
 * The POLLING floor: a bare GetRecords loop per input shard with the SDK client it is given, from
 * TRIM_HORIZON, one call every `intervalMs` (start to start, as shardflow's
 * `source.shard.get-records.interval`), with nothing behind it. A record's figure is its receive time.
 */
export class PollingFloor extends Watcher {
  errors = 0;

  constructor(
    private readonly client: KinesisClient,
    private readonly streamArn: string,
    private readonly intervalMs: number,
  ) {
    super();
  }

  start(shardIds: readonly string[]): void {
    this.loops = shardIds.map((shardId) => this.readShard(shardId));
  }

  private async readShard(shardId: string): Promise<void> {
    let iterator = (await this.client.send(new GetShardIteratorCommand({ StreamARN: this.streamArn, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
    while (!this.stopped && iterator) {
      const calledAt = Date.now();
      try {
        const page = await this.client.send(new GetRecordsCommand({ StreamARN: this.streamArn, ShardIterator: iterator }));
        const receivedAt = Date.now();
        iterator = page.NextShardIterator;
        for (const r of page.Records ?? []) this.note(r.Data!, receivedAt, receivedAt);
      } catch {
        this.errors++;
      }
      await pause(calledAt + this.intervalMs - Date.now());
    }
  }
}

/** Writes `count` stock records with ids `<prefix>-<n>`, `perBatch` every BATCH_EVERY_MS; failed entries go again. */
export async function produce(client: KinesisClient, arn: string, prefix: string, count: number, perBatch: number): Promise<string[]> {
  const ids: string[] = [];
  const started = Date.now();
  for (let n = 0, batch = 0; n < count; batch++) {
    const due = started + batch * BATCH_EVERY_MS;
    if (due > Date.now()) await pause(due - Date.now()); // the producer's pacing
    let pending = Array.from({ length: Math.min(perBatch, count - n) }, () => `${prefix}-${n++}`);
    while (pending.length > 0) {
      const sentAt = Date.now();
      const records = pending.map((id) => ({ PartitionKey: randomUUID(), Data: Buffer.from(JSON.stringify({ ...randomStock(new Date(sentAt)), id, sent_at: sentAt }), 'utf8') }));
      const out = await client.send(new PutRecordsCommand({ StreamARN: arn, Records: records }));
      ids.push(...pending.filter((_, i) => !out.Records?.[i]?.ErrorCode));
      pending = pending.filter((_, i) => out.Records?.[i]?.ErrorCode);
    }
  }
  return ids;
}

export interface Latencies {
  name: string;
  received: number;
  missing: number;
  copies: number;
  /** Arrival − sent_at, ms, for every record that arrived. */
  ms: number[];
  /** Receive time − sent_at, ms. */
  receivedMs: number[];
}

export function latencies(name: string, watcher: Watcher, ids: readonly string[]): Latencies {
  const ms: number[] = [];
  const receivedMs: number[] = [];
  for (const id of ids) {
    const a = watcher.arrivals.get(id);
    if (!a) continue;
    ms.push(a.arrivedAt - a.sentAt);
    receivedMs.push(a.receivedAt - a.sentAt);
  }
  return { name, received: ms.length, missing: ids.length - ms.length, copies: watcher.copies, ms, receivedMs };
}

export function summary(l: Latencies) {
  return {
    received: l.received,
    missing: l.missing,
    copiesRead: l.copies,
    // A loop, not Math.min(...ms): a spread of some 100,000 samples overflows the call stack.
    minMs: l.ms.length ? l.ms.reduce((a, b) => Math.min(a, b)) : null,
    p50Ms: percentile(l.ms, 50),
    p95Ms: percentile(l.ms, 95),
    p99Ms: percentile(l.ms, 99),
    maxMs: l.ms.length ? l.ms.reduce((a, b) => Math.max(a, b)) : null,
    receiveTimeP50Ms: percentile(l.receivedMs, 50),
    receiveTimeP99Ms: percentile(l.receivedMs, 99),
  };
}
