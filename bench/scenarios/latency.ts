/**
 * End-to-end latency of POLLING against Enhanced Fan-Out, side by side on the same records: one
 * kinesis-local input stream (2 shards) is read at once by two shardflow applications, each a real
 * coordinator and one real worker process (the CLI): app A with the POLLING reader writing to output
 * A, app B with the EFO reader (consumer managed by the job) writing to output B. All properties are at
 * their defaults except what a local run needs, so the figures include the default pacing
 * (`source.shard.get-records.interval`, `source.reader.empty-records-fetch-interval`,
 * `sink.flush-buffer.timeout`). kinesis-local slows down as its shards fill, so the volume is modest
 * (100 records/s) and every stream is fresh.
 *
 * Once both workers hold both leases and a few warm-up records have gone through both apps (so the
 * EFO subscriptions are up; warm-up records are not measured), a producer writes 100 records/s, in
 * batches of 10 every 100 ms, for 60 s (8 s in quick mode); each record carries `sent_at`, taken just
 * before its PutRecords call. Both output streams are read meanwhile (a GetRecords loop per shard,
 * 50 ms apart when empty). A record's latency is its output record's ApproximateArrivalTimestamp minus
 * its `sent_at`: kinesis-local stamps arrivals in milliseconds on the same clock, so the time the
 * benchmark's own readers take to notice the record does not count. The receive-time latency (which
 * includes up to 50 ms of reader pacing) is kept in the details for comparison.
 *
 * Caveat: kinesis-local pushes SubscribeToShard events only once a second, whereas AWS pushes records as
 * they arrive; on kinesis-local the EFO figures are therefore dominated by that 1 s cadence.
 */
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { randomUUID } from 'node:crypto';
import { randomStock } from '../../generator/stock-records';
import { createRedis, deleteKeysUnder } from '../../shared/redis/connection';
import { AppKeys } from '../../shared/redis/keys';
import { spawnCli, stopCli, waitForLog, type CliProcess } from '../../test/support/cli';
import { createStream, localClient, startKinesisLocal } from '../../test/support/kinesis';
import { writeProperties } from '../../test/support/properties';
import { uniqueName, waitFor } from '../../test/support/wait';
import { atMost, percentile, type Figure, type Scenario } from '../scenario';
import { leasesHeld, localRunProperties } from './cluster-timings';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const SHARDS = 2;
const PER_SECOND = 100;
const BATCH_EVERY_MS = 100;
const WARM_UP_RECORDS = 20;
const DRAIN_MS = 20_000;

type Reader = 'POLLING' | 'EFO';

interface Arrival {
  sentAt: number;
  arrivedAt: number;
  receivedAt: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Reads every shard of an output stream from TRIM_HORIZON until stopped; keeps each id's first arrival. */
class OutputWatcher {
  readonly arrivals = new Map<string, Arrival>();
  copies = 0;
  private stopped = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly client: KinesisClient,
    private readonly arn: string,
  ) {}

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
        await sleep(50); // throttled or a hiccup of kinesis-local: same iterator again
        continue;
      }
      const receivedAt = Date.now();
      for (const r of records) {
        this.copies++;
        const value = JSON.parse(Buffer.from(r.Data!).toString('utf8')) as { id: string; sent_at: number };
        if (!this.arrivals.has(value.id)) this.arrivals.set(value.id, { sentAt: value.sent_at, arrivedAt: r.ApproximateArrivalTimestamp!.getTime(), receivedAt });
      }
      if (records.length === 0) await sleep(50);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled(this.loops);
  }
}

/** Writes `count` stock records with ids `<prefix>-<n>`, `perBatch` at a time every BATCH_EVERY_MS; failed entries go again. */
async function produce(client: KinesisClient, arn: string, prefix: string, count: number, perBatch: number): Promise<string[]> {
  const ids: string[] = [];
  const started = Date.now();
  for (let n = 0, batch = 0; n < count; batch++) {
    const due = started + batch * BATCH_EVERY_MS;
    if (due > Date.now()) await sleep(due - Date.now()); // pacing of the producer
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

interface ReaderResult {
  reader: Reader;
  received: number;
  latenciesMs: number[];
  receiveLatenciesMs: number[];
  copies: number;
}

function summarize(reader: Reader, watcher: OutputWatcher, ids: readonly string[]): ReaderResult {
  const latenciesMs: number[] = [];
  const receiveLatenciesMs: number[] = [];
  for (const id of ids) {
    const a = watcher.arrivals.get(id);
    if (!a) continue;
    latenciesMs.push(a.arrivedAt - a.sentAt);
    receiveLatenciesMs.push(a.receivedAt - a.sentAt);
  }
  return { reader, received: latenciesMs.length, latenciesMs, receiveLatenciesMs, copies: watcher.copies };
}

export const latency: Scenario = async ({ quick, log }) => {
  const durationS = quick ? 8 : 60;
  const total = PER_SECOND * durationS;
  const kinesis = await startKinesisLocal();
  const client = localClient(kinesis.endpoint);
  const redis = createRedis(REDIS_URL);
  const apps: Record<Reader, string> = { POLLING: uniqueName('bench-lat-polling'), EFO: uniqueName('bench-lat-efo') };
  const processes: CliProcess[] = [];
  const watchers: OutputWatcher[] = [];
  try {
    const inputArn = await createStream(client, uniqueName('lat-in'), SHARDS);
    const outputs: Record<Reader, string> = {
      POLLING: await createStream(client, uniqueName('lat-out-polling'), SHARDS),
      EFO: await createStream(client, uniqueName('lat-out-efo'), SHARDS),
    };
    const readers: Reader[] = ['POLLING', 'EFO'];
    const workers = {} as Record<Reader, CliProcess>;
    for (const reader of readers) {
      const efo: Record<string, string> = reader === 'EFO' ? { 'source.efo.consumer.name': 'bench-efo', 'source.efo.consumer.lifecycle': 'JOB_MANAGED' } : {};
      const properties = writeProperties(localRunProperties(kinesis.endpoint, inputArn, outputs[reader], { 'source.reader.type': reader, ...efo }));
      const args = (command: string) => [command, '--properties', properties, '--redis', REDIS_URL, '--app', apps[reader]];
      const coordinator = spawnCli(args('coordinator'));
      processes.push(coordinator);
      await waitForLog(coordinator, 'coordinator started', 30_000);
      workers[reader] = spawnCli(args('worker'));
      processes.push(workers[reader]);
    }
    await waitFor(() => readers.every((r) => leasesHeld(workers[r]).size === SHARDS), 60_000, () => `both workers holding both leases (POLLING ${leasesHeld(workers.POLLING).size}, EFO ${leasesHeld(workers.EFO).size})`, 50);
    log('  both workers hold both leases');

    const watch: Record<Reader, OutputWatcher> = { POLLING: new OutputWatcher(client, outputs.POLLING), EFO: new OutputWatcher(client, outputs.EFO) };
    for (const reader of readers) {
      await watch[reader].start();
      watchers.push(watch[reader]);
    }
    // Warm-up: readers running and EFO subscriptions up before anything is measured.
    const warm = await produce(client, inputArn, 'warm', WARM_UP_RECORDS, WARM_UP_RECORDS);
    const warmSince = Date.now();
    await waitFor(() => readers.every((r) => warm.every((id) => watch[r].arrivals.has(id))), 60_000, 'the warm-up records in both outputs', 50);
    log(`  warm-up records through both apps after ${Date.now() - warmSince} ms`);

    log(`  producing ${PER_SECOND} records/s for ${durationS} s`);
    const producedAt = Date.now();
    const ids = await produce(client, inputArn, 'lat', total, (PER_SECOND * BATCH_EVERY_MS) / 1000);
    const productionS = (Date.now() - producedAt) / 1000;
    const drainedAt = Date.now();
    const drained = await waitFor(() => readers.every((r) => ids.every((id) => watch[r].arrivals.has(id))), DRAIN_MS, 'every record in both outputs', 50).then(
      () => true,
      () => false,
    );
    const drainMs = Date.now() - drainedAt;
    for (const w of watchers) await w.stop();

    const results = readers.map((r) => summarize(r, watch[r], ids));
    const figures: Figure[] = [];
    const limits: Record<Reader, number> = { POLLING: 1000, EFO: 300 };
    for (const r of results) {
      const [p50, p95, p99] = [50, 95, 99].map((p) => percentile(r.latenciesMs, p));
      log(`  ${r.reader}: p50 ${p50} ms, p95 ${p95} ms, p99 ${p99} ms, ${r.received}/${ids.length} received`);
      figures.push({ name: `${r.reader} latency p50`, value: p50, unit: 'ms' });
      figures.push({ name: `${r.reader} latency p95`, value: p95, unit: 'ms' });
      figures.push(atMost(`${r.reader} latency p99`, p99, 'ms', limits[r.reader]));
      figures.push({ name: `${r.reader} records received / sent`, value: (100 * r.received) / ids.length, unit: '%' });
    }
    const [polling, efo] = results;
    figures.push({ name: 'EFO p50 / POLLING p50', value: percentile(efo.latenciesMs, 50) / percentile(polling.latenciesMs, 50), unit: 'x' });

    return {
      scenario: 'latency',
      figures,
      details: {
        shards: SHARDS,
        perSecond: PER_SECOND,
        batchEveryMs: BATCH_EVERY_MS,
        durationS,
        sent: ids.length,
        productionS,
        allArrived: drained,
        drainMs,
        measuredAs: 'output ApproximateArrivalTimestamp (ms precision on kinesis-local, same clock) − sent_at taken just before PutRecords',
        settings: 'all defaults: source.shard.get-records.interval 200 ms, source.reader.empty-records-fetch-interval 250 ms, sink.flush-buffer.timeout 200 ms',
        efoCaveat:
          'kinesis-local sends SubscribeToShard events once a second (a bare SDK subscription sees events 1000 ms apart and 40-990 ms record latency), so on it EFO latency is about uniform 0-1000 ms plus the sink flush (up to 200 ms); AWS pushes records as they arrive, so the ≤ 300 ms EFO target can only be judged against AWS',
        readers: results.map((r) => ({
          reader: r.reader,
          received: r.received,
          outputCopies: r.copies,
          minMs: Math.min(...r.latenciesMs),
          maxMs: Math.max(...r.latenciesMs),
          receiveTimeP50Ms: percentile(r.receiveLatenciesMs, 50),
          receiveTimeP99Ms: percentile(r.receiveLatenciesMs, 99),
        })),
      },
    };
  } finally {
    for (const w of watchers) await w.stop();
    for (const p of processes.reverse()) await stopCli(p, 15_000);
    for (const app of Object.values(apps)) await deleteKeysUnder(redis, new AppKeys(app).prefix).catch(() => undefined);
    redis.disconnect();
    client.destroy();
    await kinesis.stop();
  }
};
