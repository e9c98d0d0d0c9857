/**
 * How long the cluster takes to move shard leases, with real processes (the CLI, as `docker compose up
 * --scale worker=N` runs them), real Redis and kinesis-local, a 6-shard input and a steady producer of
 * 50 records/s. Everything is at its default except what a local run needs; in particular
 * `Cluster.lease.timeout` is the default 10 s (set explicitly so the ratio below is honest) and the
 * shard discovery interval is the default.
 *   (a) scale-out: one worker holds all six leases; two more start; seconds from their spawn until
 *       each of the three holds exactly two (includes the new processes' start-up);
 *   (b) graceful leave: SIGTERM to one of the three; seconds until the other two hold all six, and
 *       until every shard's checkpoint has moved again (records flowing from every shard);
 *   (c) crash: kill -9 of one of the remaining two; seconds until the survivor holds all six, also as
 *       a multiple of lease.timeout (the documented bound is 1.25 × lease.timeout + about 2 s).
 * Who holds what is read from each worker's own log ("lease taken" / "lease released" / "lease lost",
 * with the shard id), polled every 50 ms: the status hash in Redis is only refreshed once a second.
 * At the end the producer stops and the whole input is compared with the output: records missing
 * (must be none) and written twice (expected only from the kill -9, bounded by its in-flight records).
 */
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { createRedis, deleteKeysUnder } from '../../shared/redis/connection';
import { AppKeys } from '../../shared/redis/keys';
import { spawnCli, stopCli, waitForLog, type CliProcess } from '../../test/support/cli';
import { compareDelivery } from '../../test/support/delivery';
import { createStream, localClient, readAll, startKinesisLocal, DEFAULT_ACCOUNT } from '../../test/support/kinesis';
import { SteadyProducer } from '../../test/support/producer';
import { writeProperties, type Groups } from '../../test/support/properties';
import { uniqueName, waitFor } from '../../test/support/wait';
import { atMost, type Figure, type Scenario } from '../scenario';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const SHARDS = 6;
const PER_SECOND = 50;
const LEASE_TIMEOUT_S = 10;

/** Properties at their defaults except what a run on kinesis-local needs. */
export function localRunProperties(endpoint: string, inputArn: string, outputArn: string, input: Record<string, string> = {}, extra: Groups = {}): Groups {
  const client = {
    'aws.endpoint': endpoint,
    'aws.region': 'us-east-1',
    'aws.credentials.provider': 'BASIC',
    'aws.credentials.provider.basic.accesskeyid': DEFAULT_ACCOUNT,
    'aws.credentials.provider.basic.secretkey': 'x',
  };
  return {
    InputStream0: { 'stream.arn': inputArn, ...client, 'source.init.position': 'TRIM_HORIZON', 'source.reader.type': 'POLLING', ...input },
    OutputStream0: { 'stream.arn': outputArn, ...client },
    Dashboard: { enabled: 'false' },
    ...extra,
  };
}

/**
 * The shards a worker holds now, replayed from its JSON log: a shard is held from its "lease taken" line
 * until a "lease released", "lease lost" or "shard already finished" line for it.
 */
export function leasesHeld(p: CliProcess): Set<string> {
  const held = new Set<string>();
  for (const line of p.output().split('\n')) {
    if (!line.startsWith('{') || !line.includes('"shardId"')) continue;
    let entry: { msg?: string; shardId?: string };
    try {
      entry = JSON.parse(line) as { msg?: string; shardId?: string };
    } catch {
      continue; // a line still being written
    }
    if (!entry.shardId || !entry.msg) continue;
    if (entry.msg === 'lease taken') held.add(entry.shardId);
    else if (entry.msg === 'lease released' || entry.msg.startsWith('lease lost') || entry.msg.startsWith('shard already finished')) held.delete(entry.shardId);
  }
  return held;
}

const seconds = (fromMs: number, toMs = Date.now()) => (toMs - fromMs) / 1000;

export const clusterTimings: Scenario = async ({ quick, log }) => {
  if (quick) return { scenario: 'cluster-timings', figures: [], details: { skipped: 'quick mode' } };

  const kinesis = await startKinesisLocal();
  let client: KinesisClient | undefined;
  let producer: SteadyProducer | undefined;
  const redis = createRedis(REDIS_URL);
  const app = uniqueName('bench-cluster');
  const keys = new AppKeys(app);
  const processes: CliProcess[] = [];
  const start = (command: 'coordinator' | 'worker', properties: string): CliProcess => {
    const p = spawnCli([command, '--properties', properties, '--redis', REDIS_URL, '--app', app]);
    processes.push(p);
    return p;
  };
  try {
    client = localClient(kinesis.endpoint);
    const inputArn = await createStream(client, uniqueName('ct-in'), SHARDS);
    const outputArn = await createStream(client, uniqueName('ct-out'), 2);
    const properties = writeProperties(localRunProperties(kinesis.endpoint, inputArn, outputArn, {}, { Cluster: { 'lease.timeout': `${LEASE_TIMEOUT_S} s` } }));
    producer = new SteadyProducer(client, inputArn, { perSecond: PER_SECOND, keys: 40, prefix: 'ct' });
    producer.start();

    const coordinator = start('coordinator', properties);
    await waitForLog(coordinator, 'coordinator started', 30_000);
    const w1 = start('worker', properties);
    const w1Spawned = Date.now();
    await waitFor(() => leasesHeld(w1).size === SHARDS, 60_000, () => `one worker holding all ${SHARDS} leases\n${w1.output()}`, 50);
    const firstWorkerAll = seconds(w1Spawned);
    log(`  one worker holds all ${SHARDS} leases ${firstWorkerAll.toFixed(1)} s after its spawn`);

    // (a) scale-out 1 -> 3
    const w2 = start('worker', properties);
    const w3 = start('worker', properties);
    const joinedAt = Date.now();
    await waitFor(() => [w1, w2, w3].every((w) => leasesHeld(w).size === 2), 90_000, () => `two leases on each of three workers (now ${[w1, w2, w3].map((w) => leasesHeld(w).size).join('/')})`, 50);
    const balanceS = seconds(joinedAt);
    log(`  (a) 1 -> 3 workers: two leases each ${balanceS.toFixed(1)} s after the spawn`);

    // (b) graceful leave of w3
    const termAt = Date.now();
    const stopped = stopCli(w3, 30_000);
    await waitFor(() => leasesHeld(w1).size + leasesHeld(w2).size === SHARDS, 60_000, 'the other two workers to hold all six leases', 50);
    const handoverS = seconds(termAt);
    const exitCode = await stopped;
    const settled = await redis.hgetall(keys.checkpoints);
    // Every shard's checkpoint moves past where it stood once the two had all leases: records flow from every shard.
    await waitFor(async () => {
      const now = await redis.hgetall(keys.checkpoints);
      return Object.keys(settled).length === SHARDS && Object.entries(settled).every(([shard, seq]) => now[shard] !== undefined && now[shard] !== seq);
    }, 60_000, 'every shard\'s checkpoint to move after the hand-over', 50);
    const flowingS = seconds(termAt);
    log(`  (b) SIGTERM to one of three: the other two hold all six ${handoverS.toFixed(1)} s later; every shard checkpointed again after ${flowingS.toFixed(1)} s (exit code ${exitCode})`);

    // (c) crash of w2: w1 must wait for w2's leases to time out.
    w2.child.kill('SIGKILL');
    const killedAt = Date.now();
    await w2.exited;
    await waitFor(() => leasesHeld(w1).size === SHARDS, 60_000, () => `the survivor to hold all six leases (now ${leasesHeld(w1).size})`, 50);
    const failoverS = seconds(killedAt);
    log(`  (c) kill -9 of one of two: the survivor holds all six ${failoverS.toFixed(1)} s later (${(failoverS / LEASE_TIMEOUT_S).toFixed(2)} × lease.timeout)`);

    // Let the producer run past the failover, then compare the whole input with the output.
    const sent = await producer.stop();
    const delivery = await waitFor(async () => {
      const d = compareDelivery(await readAll(client!, inputArn), await readAll(client!, outputArn));
      return d.missing.length === 0 ? d : undefined;
    }, 120_000, 'every input record in the output', 1000);
    log(`  delivery: ${delivery.inputCount} in, ${delivery.outputCount} out, ${delivery.duplicates} written twice, ${delivery.missing.length} missing`);

    const figures: Figure[] = [
      { name: 'first worker holds all 6 (from spawn)', value: firstWorkerAll, unit: 's' },
      { name: '(a) 1 -> 3 workers balanced 2/2/2 (from spawn)', value: balanceS, unit: 's' },
      { name: '(b) SIGTERM: other two hold all 6', value: handoverS, unit: 's' },
      { name: '(b) SIGTERM: every shard checkpointed again', value: flowingS, unit: 's' },
      atMost('(c) kill -9: survivor holds all 6', failoverS, 's', 1.25 * LEASE_TIMEOUT_S + 2),
      { name: '(c) kill -9 failover / lease.timeout', value: failoverS / LEASE_TIMEOUT_S, unit: 'x' },
      { name: 'records written twice (whole run)', value: delivery.duplicates, unit: 'records' },
      atMost('records missing (whole run)', delivery.missing.length, 'records', 0),
    ];
    return {
      scenario: 'cluster-timings',
      figures,
      details: {
        shards: SHARDS,
        producerPerSecond: PER_SECOND,
        recordsProduced: sent.length,
        leaseTimeout: `${LEASE_TIMEOUT_S} s (the default, set explicitly)`,
        discoveryInterval: 'default (10 s)',
        sigtermExitCode: exitCode,
        measuredBy: 'lease taken/released/lost lines of each worker\'s JSON log, polled every 50 ms; (a) includes the new workers\' process start-up',
        delivery: { input: delivery.inputCount, output: delivery.outputCount, duplicates: delivery.duplicates, missing: delivery.missing.length, outOfOrderKeys: delivery.outOfOrderKeys.length },
      },
    };
  } finally {
    await producer?.stop().catch(() => undefined);
    for (const p of processes.reverse()) await stopCli(p, 15_000);
    await deleteKeysUnder(redis, keys.prefix).catch(() => undefined);
    redis.disconnect();
    client?.destroy();
    await kinesis.stop();
  }
};
