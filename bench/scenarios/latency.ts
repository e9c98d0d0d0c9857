/**
 * End-to-end latency of POLLING against Enhanced Fan-Out, side by side on the same records: one
 * kinesis-local input stream (2 shards) is read at once by two shardflow applications, each a real
 * coordinator and one real worker process (the CLI): app A with the POLLING reader writing to output A,
 * app B with the EFO reader (consumer registered by the job, JOB_MANAGED) writing to output B. Every
 * property is at its default except what a local run needs, so the figures include the default pacing:
 * `source.shard.get-records.interval` 200 ms, `source.reader.empty-records-fetch-interval` 250 ms and
 * the sink's `sink.flush-buffer.timeout` 200 ms. kinesis-local slows down as its shards fill, so the
 * volume is modest (100 records/s) and every stream is fresh.
 *
 * Once both workers hold both leases and warm-up records have gone through both apps (so the EFO
 * subscriptions are up; warm-up records are not measured), a producer writes 100 records/s, 10 every
 * 100 ms, for 60 s (10 s in quick mode); each record is a stock record plus `id` and `sent_at`, taken
 * just before its PutRecords call. A record's latency is its output record's ApproximateArrivalTimestamp
 * minus its `sent_at`: kinesis-local stamps arrivals with millisecond precision on the same clock, so the
 * benchmark's own output readers (a GetRecords loop per output shard, 200 ms apart when empty, kept
 * slow so they take little of kinesis-local's time from the apps) add nothing to the figure. Their
 * receive time minus `sent_at` is kept in the details as a cross-check, as are percentiles per 10 s of
 * production (kinesis-local slows down as shards fill), kinesis-local's CPU use and the load average.
 *
 * kinesis-local pushes SubscribeToShard events once a second (checked with a bare SDK subscription:
 * events 1000 ms apart), where AWS pushes records as they arrive, so on kinesis-local EFO latency is
 * about uniform over 0–1000 ms plus shardflow's own time. To tell the two apart, the same run also holds
 * a bare SDK subscription (no Redis, no transform, no sink) on the input stream with its own consumer:
 * the EFO floor of this endpoint. "shardflow EFO p50 − floor p50" is shardflow's share of EFO latency.
 */
import { ListShardsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { loadavg } from 'node:os';
import { createStream, localClient } from '../../test/support/kinesis';
import { writeProperties } from '../../test/support/properties';
import { uniqueName, waitFor } from '../../test/support/wait';
import { OutputWatcher, SubscriptionFloor, latencies, produce, summary, BATCH_EVERY_MS, type Latencies, type Watcher } from '../support/latency-readers';
import { readProcess } from '../support/process-stats';
import { BenchProcesses, leasesHeld, localRunProperties, waitForLog, type CliProcess } from '../support/processes';
import { atMost, percentile, type Figure, type Scenario } from '../scenario';

const SHARDS = 2;
const PER_SECOND = 100;
const WARM_UP_RECORDS = 20;
const DRAIN_MS = 20_000;
const WINDOW_S = 10;
const TARGET_P99_MS: Record<Reader, number> = { POLLING: 1000, EFO: 300 };

type Reader = 'POLLING' | 'EFO';
const READERS: Reader[] = ['POLLING', 'EFO'];

/** p50 and p99 per WINDOW_S of production, by each record's place in the production order. */
function windows(watcher: Watcher, ids: readonly string[]): Array<{ fromS: number; p50Ms: number; p99Ms: number }> {
  const perWindow = PER_SECOND * WINDOW_S;
  const out = [];
  for (let from = 0; from < ids.length; from += perWindow) {
    const ms = ids.slice(from, from + perWindow).flatMap((id) => {
      const a = watcher.arrivals.get(id);
      return a ? [a.arrivedAt - a.sentAt] : [];
    });
    out.push({ fromS: from / PER_SECOND, p50Ms: percentile(ms, 50), p99Ms: percentile(ms, 99) });
  }
  return out;
}


export const latency: Scenario = async ({ quick, log }) => {
  const durationS = quick ? 10 : 60;
  const total = PER_SECOND * durationS;
  const run = new BenchProcesses();
  const watchers: Watcher[] = [];
  let client: KinesisClient | undefined;
  try {
    const kinesis = await run.kinesis();
    client = localClient(kinesis.endpoint);
    const inputArn = await createStream(client, uniqueName('lat-in'), SHARDS);
    const outputs = {} as Record<Reader, string>;
    for (const reader of READERS) outputs[reader] = await createStream(client, uniqueName(`lat-out-${reader.toLowerCase()}`), SHARDS);

    const apps = {} as Record<Reader, string>;
    const properties = {} as Record<Reader, string>;
    const coordinators = {} as Record<Reader, CliProcess>;
    for (const reader of READERS) {
      apps[reader] = run.app(`bench-lat-${reader.toLowerCase()}`);
      const efo: Record<string, string> = reader === 'EFO' ? { 'source.efo.consumer.name': uniqueName('bench-efo'), 'source.efo.consumer.lifecycle': 'JOB_MANAGED' } : {};
      properties[reader] = writeProperties(localRunProperties(kinesis.endpoint, inputArn, outputs[reader], { 'source.reader.type': reader, ...efo }));
      coordinators[reader] = run.shardflow('coordinator', properties[reader], apps[reader]);
    }
    for (const reader of READERS) await waitForLog(coordinators[reader], 'coordinator started', 30_000);
    const workers = {} as Record<Reader, CliProcess>;
    for (const reader of READERS) workers[reader] = run.shardflow('worker', properties[reader], apps[reader]);
    await waitFor(
      () => READERS.every((r) => leasesHeld(workers[r]).size === SHARDS),
      60_000,
      () => `both workers holding both leases (POLLING ${leasesHeld(workers.POLLING).size}, EFO ${leasesHeld(workers.EFO).size})\n${workers.EFO.output().slice(-3000)}`,
      50,
    );
    log('  both workers hold both leases');

    const output: Record<Reader, OutputWatcher> = { POLLING: new OutputWatcher(client, outputs.POLLING), EFO: new OutputWatcher(client, outputs.EFO) };
    for (const reader of READERS) {
      watchers.push(output[reader]);
      await output[reader].start();
    }
    const floor = new SubscriptionFloor(kinesis.endpoint, inputArn, uniqueName('bench-floor'));
    watchers.push(floor);
    const inputShards = ((await client.send(new ListShardsCommand({ StreamARN: inputArn }))).Shards ?? []).map((s) => s.ShardId!);
    await floor.start(inputShards);

    // Warm-up: both readers running and every subscription up before anything is measured.
    const warmSince = Date.now();
    const warm = await produce(client, inputArn, 'warm', WARM_UP_RECORDS, WARM_UP_RECORDS);
    await waitFor(() => watchers.every((w) => w.has(warm)), 60_000, 'the warm-up records in both outputs and the floor subscription', 50);
    log(`  warm-up records through both apps after ${Date.now() - warmSince} ms`);

    log(`  producing ${PER_SECOND} records/s for ${durationS} s`);
    const producedAt = Date.now();
    const loadBefore = loadavg()[0];
    const kinesisCpuBefore = readProcess(kinesis.process.pid!)?.cpuSeconds;
    const ids = await produce(client, inputArn, 'lat', total, (PER_SECOND * BATCH_EVERY_MS) / 1000);
    const productionS = (Date.now() - producedAt) / 1000;
    const kinesisCpuAfter = readProcess(kinesis.process.pid!)?.cpuSeconds;
    const loadAfter = loadavg()[0];
    const drainSince = Date.now();
    // A record that never arrives is a figure below (records missing), not a failure of the run.
    const allArrived = await waitFor(() => watchers.every((w) => w.has(ids)), DRAIN_MS, 'every record in both outputs', 50).then(
      () => true,
      () => false,
    );
    const drainMs = Date.now() - drainSince;
    for (const w of watchers) await w.stop();

    const measured: Record<Reader, Latencies> = { POLLING: latencies('POLLING', output.POLLING, ids), EFO: latencies('EFO', output.EFO, ids) };
    const efoFloor = latencies('EFO floor (bare subscription)', floor, ids);
    const figures: Figure[] = [];
    for (const reader of READERS) {
      const l = measured[reader];
      const [p50, p95, p99] = [50, 95, 99].map((p) => percentile(l.ms, p));
      log(`  ${reader}: p50 ${p50} ms, p95 ${p95} ms, p99 ${p99} ms, ${l.received}/${ids.length} received`);
      figures.push({ name: `${reader} latency p50`, value: p50, unit: 'ms' });
      figures.push({ name: `${reader} latency p95`, value: p95, unit: 'ms' });
      figures.push(atMost(`${reader} latency p99`, p99, 'ms', TARGET_P99_MS[reader]));
      figures.push(atMost(`${reader} records missing (of ${ids.length})`, l.missing, 'records', 0));
    }
    const [floorP50, floorP99] = [50, 99].map((p) => percentile(efoFloor.ms, p));
    log(`  EFO floor (bare subscription on kinesis-local): p50 ${floorP50} ms, p99 ${floorP99} ms`);
    figures.push({ name: 'EFO p50 / POLLING p50', value: percentile(measured.EFO.ms, 50) / percentile(measured.POLLING.ms, 50), unit: 'x' });
    figures.push({ name: 'EFO floor (bare subscription) p50', value: floorP50, unit: 'ms' });
    figures.push({ name: 'EFO floor (bare subscription) p99', value: floorP99, unit: 'ms' });
    figures.push({ name: 'shardflow EFO p50 − floor p50', value: percentile(measured.EFO.ms, 50) - floorP50, unit: 'ms' });

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
        allArrived,
        drainMs,
        measuredAs: 'output record ApproximateArrivalTimestamp (ms precision on kinesis-local, same clock) − sent_at taken just before PutRecords; receive-time figures include up to 200 ms of the benchmark reader\'s pacing',
        settings: 'all defaults: source.shard.get-records.interval 200 ms, source.reader.empty-records-fetch-interval 250 ms, sink.flush-buffer.timeout 200 ms; source.init.position TRIM_HORIZON',
        efoCaveat:
          'kinesis-local pushes SubscribeToShard events once a second, so any EFO consumer on it (the bare floor subscription included) sees about uniform 0–1000 ms; AWS pushes records as they arrive, so the ≤ 300 ms EFO target can only be judged on AWS; on kinesis-local the meaningful EFO figure is shardflow EFO − floor, mostly the sink\'s linger (each event\'s records start a fresh batch that waits sink.flush-buffer.timeout, 200 ms) plus one PutRecords',
        floorSubscriptionErrors: floor.errors,
        machine: {
          loadAverage1m: { before: loadBefore, after: loadAfter },
          kinesisLocalCpuShare: kinesisCpuBefore !== undefined && kinesisCpuAfter !== undefined ? (kinesisCpuAfter - kinesisCpuBefore) / productionS : null,
        },
        perWindow: { windowS: WINDOW_S, POLLING: windows(output.POLLING, ids), EFO: windows(output.EFO, ids), efoFloor: windows(floor, ids) },
        readers: { POLLING: summary(measured.POLLING), EFO: summary(measured.EFO), efoFloor: summary(efoFloor) },
      },
    };
  } finally {
    for (const w of watchers) await w.stop();
    client?.destroy();
    await run.stopAll();
  }
};
