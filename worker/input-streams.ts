/**
 * The input streams a worker reads, one context per stream ARN: its settings, its Kinesis clients (its
 * own region, endpoint and credentials: a cross-account role per stream), its reader factory (POLLING or
 * EFO, with the stream's EFO consumer), its checkpoints, the dead-letter refetch and its transform
 * preparer (the stream's default output). `update` applies a re-read configuration: streams added get a
 * context; streams removed are reported so their leases stop, and their clients are closed once the last
 * lease using them ends.
 */
import type { InputStreamConfig } from '../shared/config/app-config';
import { KinesisGateway, type ShardLister } from '../shared/aws/kinesis-gateway';
import { CheckpointStore } from '../shared/leases/checkpoint-store';
import type { Logger } from '../shared/logging';
import type { RedisClient } from '../shared/redis/connection';
import type { AppKeys, StreamKeys } from '../shared/redis/keys';
import { inputRefetcher, type InputRefetch } from './dead-letter/input-refetch';
import { PublishedConsumerArn } from './efo/consumer-arn';
import { ReaderFactory } from './reader-factory';
import type { OutputPreparer } from './transform/transform';
import type { PreparerStream } from './transform/transform-runtime';

/** Everything reading one input stream needs. */
export interface StreamContext {
  readonly input: InputStreamConfig;
  readonly keys: StreamKeys;
  readonly checkpoints: CheckpointStore;
  readonly readers: ReaderFactory;
  /** Lists the stream's shards, to tell a trimmed shard from a missing stream. */
  readonly shards: ShardLister;
  readonly refetch: InputRefetch;
  readonly preparer: OutputPreparer;
}

interface Entry {
  context: StreamContext;
  clients: KinesisGateway[];
  /** Leases using it now. */
  users: number;
  removed: boolean;
}

export interface WorkerInputStreamsDeps {
  redis: RedisClient;
  keys: AppKeys;
  preparerFor(stream: PreparerStream): OutputPreparer;
  log: Logger;
}

export class WorkerInputStreams {
  private readonly entries = new Map<string, Entry>();
  /** Contexts of streams removed and added again while a lease still used the old one: closed at its last release. */
  private readonly retired = new Set<Entry>();

  constructor(private readonly deps: WorkerInputStreamsDeps) {}

  /** The ARNs read now. */
  get arns(): string[] {
    return [...this.entries].filter(([, e]) => !e.removed).map(([arn]) => arn);
  }

  /** Applies the configured inputs; returns the ARNs added and removed. */
  update(inputs: readonly InputStreamConfig[]): { added: string[]; removed: string[] } {
    const wanted = new Map(inputs.map((input) => [input.stream.arn, input]));
    const added: string[] = [];
    const removed: string[] = [];
    for (const [arn, entry] of this.entries) {
      if (wanted.has(arn) || entry.removed) continue;
      entry.removed = true;
      removed.push(arn);
      if (entry.users === 0) this.close(arn, entry);
    }
    for (const [arn, input] of wanted) {
      const entry = this.entries.get(arn);
      if (entry && !entry.removed) continue;
      if (entry) this.retired.add(entry); // removed, still in use, and back: start afresh; the old one closes at its last release
      this.entries.set(arn, this.open(input));
      added.push(arn);
    }
    return { added, removed };
  }

  /** The stream's context for a lease, counted as in use until `release`; undefined when the stream is not read (removed, or unknown here). */
  acquire(streamArn: string): StreamContext | undefined {
    const entry = this.entries.get(streamArn);
    if (!entry || entry.removed) return undefined;
    entry.users += 1;
    return entry.context;
  }

  release(context: StreamContext): void {
    const arn = context.input.stream.arn;
    const current = this.entries.get(arn);
    const entry = current?.context === context ? current : [...this.retired].find((e) => e.context === context);
    if (!entry) return;
    entry.users -= 1;
    if (entry.removed && entry.users === 0) this.close(arn, entry);
  }

  /** Closes every stream's clients (the worker has stopped). */
  destroy(): void {
    for (const [arn, entry] of this.entries) this.close(arn, entry);
    for (const entry of this.retired) this.close(entry.context.input.stream.arn, entry);
  }

  private open(input: InputStreamConfig): Entry {
    const { redis, keys, log } = this.deps;
    const streamKeys = keys.stream(input.stream.arn);
    const fetcher = KinesisGateway.fromConfig(input.client);
    const clients = [fetcher];
    let efo: ConstructorParameters<typeof ReaderFactory>[0]['efo'];
    if (input.readerType === 'EFO') {
      const subscriber = KinesisGateway.fromConfig(input.client, { streaming: true });
      clients.push(subscriber);
      efo = { subscriber, consumerArn: new PublishedConsumerArn(redis, streamKeys, fetcher, input.stream.arn, input.efo.consumerName!, log) };
    }
    const context: StreamContext = {
      input,
      keys: streamKeys,
      checkpoints: new CheckpointStore(redis, streamKeys),
      readers: new ReaderFactory({ input, fetcher, efo }),
      shards: fetcher,
      refetch: inputRefetcher(fetcher, input.stream.arn),
      preparer: this.deps.preparerFor({ arn: input.stream.arn, name: input.stream.name, output: input.output }),
    };
    return { context, clients, users: 0, removed: false };
  }

  private close(arn: string, entry: Entry): void {
    for (const client of entry.clients) client.destroy();
    this.retired.delete(entry);
    if (this.entries.get(arn) === entry) this.entries.delete(arn);
  }
}
