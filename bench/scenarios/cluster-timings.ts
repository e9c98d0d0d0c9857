/**
 * How long the cluster takes to move shard leases, with real processes (the CLI, as `docker compose up
 * --scale worker=N` runs them), real Redis and kinesis-local, a 6-shard input stream and a steady
 * producer of 50 records/s over 40 partition keys. Everything is at its default except what a local run
 * needs, in particular the shard discovery interval (10 s) and `Cluster.lease.timeout`:
 *   (a) scale-out: one worker holds all six leases; two more start; seconds until each of the three
 *       holds exactly two, counted from their spawn (process start-up included) and from the later of
 *       their "worker started" log lines (the balancing alone);
 *   (b) graceful leave: SIGTERM to one of the three; seconds until the other two hold all six, and until
 *       records flow again from the shards it handed over: each such shard's checkpoint in Redis has
 *       moved past the one the leaving worker logged when it released the lease (the new owner read,
 *       wrote and had acknowledged records of it);
 *   (c) crash: kill -9 of one of the remaining two; seconds until the survivor holds all six, also as a
 *       multiple of lease.timeout, against docs/how-it-works.md's bound of 1.25 × lease.timeout + about 2 s.
 * At the end of each pass the producer stops and the whole input is compared with the output: records
 * missing (must be none) and written twice (expected only from the kill -9, at most what the killed
 * worker had sent but not checkpointed).
 *
 * The full run makes two passes, each on its own kinesis-local and application: lease.timeout at its
 * default 10 s, then at 4 s, the setting of the "Cluster timings measured" table in docs/how-it-works.md (which also
 * used a 1 s discovery interval, irrelevant here: no shard appears during the run). Quick mode makes one
 * pass at the default with (a) and (b) only.
 *
 * Who holds what is read from each worker's own JSON log ("lease taken" / "lease released" / "lease
 * lost" with the shard id), polled every 50 ms, because the workers' status hash in Redis, which the
 * integration tests read, is refreshed only once a second. After each step the log view is checked
 * against that status (`statusAgrees` in the details).
 */
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { loadavg } from 'node:os';
import { compareDelivery, type Delivery } from '../../test/support/delivery';
import { createStream, localClient, readAll } from '../../test/support/kinesis';
import { SteadyProducer } from '../../test/support/producer';
import { writeProperties } from '../../test/support/properties';
import { uniqueName, waitFor } from '../../test/support/wait';
import { AppKeys } from '../../shared/redis/keys';
import { readWorkerStatuses } from '../../worker/status-reporter';
import { BenchProcesses, leasesHeld, localRunProperties, loggedAt, releasedCheckpoints, statusLeases, waitForLog, workerIdOf, type CliProcess } from '../support/processes';
import { atMost, type Figure, type Scenario } from '../scenario';

const SHARDS = 6;
const PER_SECOND = 50;
const KEYS = 40;
const DEFAULT_LEASE_TIMEOUT_S = 10;
const README_LEASE_TIMEOUT_S = 4;
const POLL_MS = 50;

interface PassResult {
  leaseTimeoutS: number;
  firstWorkerAllS: number;
  balanceFromSpawnS: number;
  balanceFromStartedS: number | undefined;
  handoverS: number;
  flowingS: number;
  handedOver: string[];
  sigtermExitCode: number | null;
  failoverS?: number;
  statusAgrees: Record<string, boolean>;
  recordsProduced: number;
  delivery: Delivery;
  /** What the workers counted as possibly written twice (records re-read after an unclean hand-over). */
  countedAsPossibleDuplicates: number;
  loadAverage1m: { before: number; after: number };
}

const seconds = (fromMs: number, toMs = Date.now()) => (toMs - fromMs) / 1000;
const sizes = (workers: readonly CliProcess[]) => workers.map((w) => leasesHeld(w).size).join('/');

/** Whether the workers' published status agrees with their logs (within a few status refreshes). */
async function statusAgrees(run: BenchProcesses, app: string, workers: readonly CliProcess[]): Promise<boolean> {
  const same = async () => {
    const status = await statusLeases(run.redis, app);
    return workers.every((w) => {
      const fromLog = [...leasesHeld(w)].sort().join();
      return (status.get(workerIdOf(w)) ?? []).slice().sort().join() === fromLog;
    });
  };
  return waitFor(same, 5000, 'the status hash to agree with the logs', 100).then(
    () => true,
    () => false,
  );
}

/** One pass: (a), (b) and, unless `withCrash` is false, (c), on a fresh kinesis-local and application. */
async function pass(leaseTimeoutS: number, withCrash: boolean, log: (line: string) => void): Promise<PassResult> {
  const run = new BenchProcesses();
  let client: KinesisClient | undefined;
  let producer: SteadyProducer | undefined;
  const tag = `[lease.timeout ${leaseTimeoutS} s]`;
  const loadBefore = loadavg()[0];
  try {
    const kinesis = await run.kinesis();
    client = localClient(kinesis.endpoint);
    const inputArn = await createStream(client, uniqueName('ct-in'), SHARDS);
    const outputArn = await createStream(client, uniqueName('ct-out'), 2);
    const app = run.app('bench-cluster');
    const properties = writeProperties(localRunProperties(kinesis.endpoint, inputArn, outputArn, {}, { Cluster: { 'lease.timeout': `${leaseTimeoutS} s` } }));
    producer = new SteadyProducer(client, inputArn, { perSecond: PER_SECOND, keys: KEYS, prefix: 'ct' });
    producer.start();
    const agreed: Record<string, boolean> = {};

    const coordinator = run.shardflow('coordinator', properties, app);
    await waitForLog(coordinator, 'coordinator started', 30_000);
    const w1 = run.shardflow('worker', properties, app);
    const w1Spawned = Date.now();
    await waitFor(() => leasesHeld(w1).size === SHARDS, 60_000, () => `one worker holding all ${SHARDS} leases (now ${leasesHeld(w1).size})`, POLL_MS);
    const firstWorkerAllS = seconds(w1Spawned);
    log(`  ${tag} one worker holds all ${SHARDS} leases ${firstWorkerAllS.toFixed(1)} s after its spawn`);

    // (a) scale-out 1 -> 3
    const w2 = run.shardflow('worker', properties, app);
    const w3 = run.shardflow('worker', properties, app);
    const joinedAt = Date.now();
    await waitFor(() => [w1, w2, w3].every((w) => leasesHeld(w).size === 2), 90_000, () => `two leases on each of three workers (now ${sizes([w1, w2, w3])})`, POLL_MS);
    const balancedAt = Date.now();
    const started = [w2, w3].map((w) => loggedAt(w, 'worker started'));
    const balanceFromStartedS = started.every((t) => t !== undefined) ? seconds(Math.max(...(started as number[])), balancedAt) : undefined;
    const balanceFromSpawnS = seconds(joinedAt, balancedAt);
    agreed['(a)'] = await statusAgrees(run, app, [w1, w2, w3]);
    log(`  ${tag} (a) 1 -> 3 workers: two leases each ${balanceFromSpawnS.toFixed(1)} s after the spawn, ${balanceFromStartedS?.toFixed(1)} s after both logged "worker started"`);

    // (b) graceful leave of w3
    const handedOver = [...leasesHeld(w3)];
    const termAt = Date.now();
    const exit = run.stop(w3, 30_000);
    await waitFor(() => leasesHeld(w1).size + leasesHeld(w2).size === SHARDS, 60_000, () => `the other two workers to hold all six leases (now ${sizes([w1, w2])})`, POLL_MS);
    const handoverS = seconds(termAt);
    const sigtermExitCode = await exit;
    const released = releasedCheckpoints(w3);
    const keys = new AppKeys(app).stream(inputArn);
    await waitFor(
      async () => {
        if (handedOver.length === 0) return true;
        const now = await run.redis.hmget(keys.checkpoints, ...handedOver);
        return handedOver.every((shard, i) => now[i] !== null && now[i] !== released.get(shard));
      },
      60_000,
      'a new checkpoint on every handed-over shard',
      POLL_MS,
    );
    const flowingS = seconds(termAt);
    agreed['(b)'] = await statusAgrees(run, app, [w1, w2]);
    log(`  ${tag} (b) SIGTERM to one of three: the other two hold all six ${handoverS.toFixed(1)} s later; records flow from its ${handedOver.length} shards again after ${flowingS.toFixed(1)} s (exit code ${sigtermExitCode})`);

    // (c) crash of w2: w1 must wait for w2's leases to time out.
    let failoverS: number | undefined;
    if (withCrash) {
      await run.kill(w2);
      const killedAt = Date.now();
      await waitFor(() => leasesHeld(w1).size === SHARDS, 60_000, () => `the survivor to hold all six leases (now ${leasesHeld(w1).size})`, POLL_MS);
      failoverS = seconds(killedAt);
      agreed['(c)'] = await statusAgrees(run, app, [w1]);
      log(`  ${tag} (c) kill -9 of one of two: the survivor holds all six ${failoverS.toFixed(1)} s later (${(failoverS / leaseTimeoutS).toFixed(2)} × lease.timeout)`);
      // Records keep flowing past the failover before the producer stops: a checkpoint moves on every shard.
      const before = await run.redis.hgetall(keys.checkpoints);
      await waitFor(async () => {
        const now = await run.redis.hgetall(keys.checkpoints);
        return Object.keys(before).every((shard) => now[shard] !== before[shard]);
      }, 60_000, 'a new checkpoint on every shard after the failover', POLL_MS);
    }

    const sent = await producer.stop();
    const delivery = await waitFor(
      async () => {
        const d = compareDelivery(await readAll(client!, inputArn), await readAll(client!, outputArn));
        return d.missing.length === 0 ? d : undefined;
      },
      60_000,
      'every input record in the output',
      500,
    ).catch(async () => compareDelivery(await readAll(client!, inputArn), await readAll(client!, outputArn)));
    const counted = (await readWorkerStatuses(run.redis, new AppKeys(app))).reduce((sum, s) => sum + s.totals.duplicated, 0);
    log(`  ${tag} delivery: ${delivery.inputCount} in, ${delivery.outputCount} out, ${delivery.duplicates} written twice (${counted} counted as possible duplicates), ${delivery.missing.length} missing`);

    return {
      leaseTimeoutS,
      firstWorkerAllS,
      balanceFromSpawnS,
      balanceFromStartedS,
      handoverS,
      flowingS,
      handedOver,
      sigtermExitCode,
      failoverS,
      statusAgrees: agreed,
      recordsProduced: sent.length,
      delivery,
      countedAsPossibleDuplicates: counted,
      loadAverage1m: { before: loadBefore, after: loadavg()[0] },
    };
  } finally {
    await producer?.stop().catch(() => undefined);
    client?.destroy();
    await run.stopAll();
  }
}

function figuresOf(r: PassResult, suffix: string): Figure[] {
  const figures: Figure[] = [
    { name: `(a) 1 -> 3 workers balanced 2/2/2, from spawn${suffix}`, value: r.balanceFromSpawnS, unit: 's' },
    { name: `(a) 1 -> 3 workers balanced 2/2/2, from "worker started"${suffix}`, value: r.balanceFromStartedS ?? Number.NaN, unit: 's' },
    { name: `(b) SIGTERM 1 of 3: the others hold all 6${suffix}`, value: r.handoverS, unit: 's' },
    { name: `(b) SIGTERM 1 of 3: records flow again from its shards${suffix}`, value: r.flowingS, unit: 's' },
  ];
  if (r.failoverS !== undefined) {
    figures.push(atMost(`(c) kill -9 1 of 2: the survivor holds all 6${suffix}`, r.failoverS, 's', 1.25 * r.leaseTimeoutS + 2));
    figures.push({ name: `(c) kill -9 failover / lease.timeout${suffix}`, value: r.failoverS / r.leaseTimeoutS, unit: 'x' });
  }
  figures.push({ name: `records written twice${suffix}`, value: r.delivery.duplicates, unit: 'records' });
  figures.push(atMost(`records missing${suffix}`, r.delivery.missing.length, 'records', 0));
  return figures;
}

function detailsOf(r: PassResult) {
  return {
    leaseTimeout: `${r.leaseTimeoutS} s`,
    firstWorkerHoldsAllS: r.firstWorkerAllS,
    handedOverShards: r.handedOver,
    sigtermExitCode: r.sigtermExitCode,
    statusAgrees: r.statusAgrees,
    recordsProduced: r.recordsProduced,
    countedAsPossibleDuplicates: r.countedAsPossibleDuplicates,
    loadAverage1m: r.loadAverage1m,
    delivery: { input: r.delivery.inputCount, output: r.delivery.outputCount, duplicates: r.delivery.duplicates, missing: r.delivery.missing.length, outOfOrderKeys: r.delivery.outOfOrderKeys.length },
  };
}

export const clusterTimings: Scenario = async ({ quick, log }) => {
  const passes = quick ? [await pass(DEFAULT_LEASE_TIMEOUT_S, false, log)] : [await pass(DEFAULT_LEASE_TIMEOUT_S, true, log), await pass(README_LEASE_TIMEOUT_S, true, log)];
  const [main, ...others] = passes;
  return {
    scenario: 'cluster-timings',
    figures: [...figuresOf(main, ''), ...others.flatMap((r) => figuresOf(r, ` [lease.timeout ${r.leaseTimeoutS} s]`))],
    details: {
      shards: SHARDS,
      producerPerSecond: PER_SECOND,
      partitionKeys: KEYS,
      settings: `defaults except what kinesis-local needs; source.shard.discovery.interval at its default (10 s); unmarked figures at the default lease.timeout (${DEFAULT_LEASE_TIMEOUT_S} s)${quick ? '' : `, figures marked [lease.timeout ${README_LEASE_TIMEOUT_S} s] from a second pass at the README table's setting`}`,
      quick: quick ? 'one pass at the default lease.timeout with (a) and (b) only; (c), the kill -9 failover, needs at least a lease.timeout and runs in the full benchmark' : undefined,
      measuredBy: "each worker's JSON log (lease taken / released / lost), polled every 50 ms, checked against the workers' status hash after each step; records flowing = the handed-over shards' checkpoints in Redis move",
      passes: passes.map(detailsOf),
    },
  };
};
