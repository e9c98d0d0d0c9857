/**
 * A worker process: a BullMQ worker whose active jobs are its shard leases (the job lock is the
 * lease). For each lease it starts a ShardRunner; a finished shard completes the job, a graceful
 * stop puts the job back in the queue at once (so another worker takes it without waiting for a
 * lease timeout), and a lost lease abandons the job to its new owner.
 */
import { Queue, Worker, WaitingError, DelayedError, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AppConfig } from '../shared/config/app-config';
import { KinesisGateway } from '../shared/aws/kinesis-gateway';
import { describeError } from '../shared/aws/kinesis-errors';
import { backoffDelay } from '../shared/backoff';
import type { Logger } from '../shared/logging';
import { LEASE_QUEUE, type AppKeys } from '../shared/redis/keys';
import type { LeaseJobData } from '../shared/leases/lease-job';
import { CheckpointStore, SHARD_END } from '../shared/leases/checkpoint-store';
import { comparePositionStrings } from '../shared/position';
import { DeaggregatingReader } from './deaggregation/deaggregating-reader';
import { hashKeyRangeOf } from './deaggregation/deaggregate';
import { DeadLetterQueue } from './dead-letter/dead-letter-queue';
import { Lease } from './leases/lease';
import { LeaseBalancer } from './leases/lease-balancer';
import { PollingReader } from './polling/polling-reader';
import { EfoReader } from './efo/efo-reader';
import { PublishedConsumerArn } from './efo/consumer-arn';
import { ShardEndProbe } from './efo/shard-end-probe';
import { ShardRunner, type WorkerCounters } from './shard-runner';
import { resumeFrom, type Resume, type ShardReader, type StartPosition } from './shard-reader';
import { KinesisSink, sinkSettings } from './sink/kinesis-sink';
import { createTransform } from './transform/transform';
import { StatusReporter, type WorkerStatus } from './status-reporter';
import { metrics } from '../shared/metrics';

const PROGRESS_INTERVAL_MS = 5000;

export interface LeaseWorkerOptions {
  config: AppConfig;
  keys: AppKeys;
  /** For BullMQ's blocking calls. */
  connection: Redis;
  /** For checkpoints, dead letters and status (non-blocking commands). */
  redis: Redis;
  id: string;
  log: Logger;
  /** Called when `shardflow shutdown` asks the whole application to stop. */
  onShutdownRequested?: () => void;
}

export class LeaseWorker {
  private readonly worker: Worker<LeaseJobData>;
  private readonly input: KinesisGateway;
  private readonly output: KinesisGateway;
  /** The SubscribeToShard client and the consumer ARN, with the EFO reader only. */
  private readonly efo: { subscriber: KinesisGateway; consumerArn: PublishedConsumerArn } | undefined;
  readonly sink: KinesisSink;
  private readonly checkpoints: CheckpointStore;
  private readonly deadLetters: DeadLetterQueue;
  private readonly transform;
  readonly runners = new Map<string, { lease: Lease; runner: ShardRunner; job: Job<LeaseJobData> }>();
  private progressTimer: NodeJS.Timeout | undefined;
  private readonly status: StatusReporter;
  private stopping = false;
  private readonly leaseQueue: Queue<LeaseJobData>;
  private readonly balancer: LeaseBalancer;
  private capacity = 0;
  private started = false;
  private readonly counters: WorkerCounters = { recordsRead: 0, recordsDeadLettered: 0, recordsDuplicated: 0 };

  constructor(private readonly opts: LeaseWorkerOptions) {
    const { config, keys, log } = opts;
    this.input = KinesisGateway.fromConfig(config.input.client);
    this.output = KinesisGateway.fromConfig(config.output.client);
    if (config.input.readerType === 'EFO') {
      this.efo = {
        subscriber: KinesisGateway.fromConfig(config.input.client, { streaming: true }),
        consumerArn: new PublishedConsumerArn(opts.redis, keys, this.input, config.input.stream.arn, config.input.efo.consumerName!, log),
      };
    }
    this.sink = new KinesisSink(this.output, config.output.stream.arn, sinkSettings(config.output), log.child({ component: 'sink' }));
    this.checkpoints = new CheckpointStore(opts.redis, keys);
    this.deadLetters = new DeadLetterQueue(opts.redis, keys);
    this.transform = createTransform(config.serialization);
    this.status = new StatusReporter(opts.redis, keys, opts.id, () => this.snapshot());

    const leaseTimeout = config.cluster.leaseTimeoutMs;
    this.leaseQueue = new Queue<LeaseJobData>(LEASE_QUEUE, { connection: opts.redis, prefix: keys.bullPrefix });
    this.balancer = new LeaseBalancer({
      redis: opts.redis,
      keys,
      leaseQueue: this.leaseQueue,
      workerId: opts.id,
      leaseTimeoutMs: leaseTimeout,
      maxLeases: config.cluster.maxLeasesPerWorker,
      intervalMs: Math.min(1000, Math.floor(leaseTimeout / 4)),
      held: () => [...this.runners.values()].map((r) => r.lease),
      setCapacity: (n) => this.setCapacity(n),
      onShutdownRequested: opts.onShutdownRequested,
      log,
    });
    this.worker = new Worker<LeaseJobData>(LEASE_QUEUE, (job, token) => this.hold(job, token!), {
      connection: opts.connection,
      prefix: keys.bullPrefix,
      name: opts.id,
      autorun: false,
      concurrency: 1,
      lockDuration: leaseTimeout,
      // An expired lease is noticed within a quarter of the timeout, so failover takes at most ~1.25x it.
      stalledInterval: Math.max(250, Math.floor(leaseTimeout / 4)),
      // A stalled lease job is the normal failover path after a crash: it must go back to wait, never fail.
      maxStalledCount: Number.MAX_SAFE_INTEGER,
      drainDelay: 1,
      removeOnComplete: { count: 100_000 },
    });
    this.worker.on('lockRenewalFailed', (jobIds) => {
      for (const id of jobIds) this.runners.get(id)?.lease.lose('lock renewal failed: another worker may own the shard');
    });
    this.worker.on('locksRenewed', ({ jobIds }) => {
      const now = Date.now();
      for (const id of jobIds) this.runners.get(id)?.lease.renewed(now);
    });
    this.worker.on('error', (err) => log.warn({ err: err.message }, 'lease worker error'));
  }

  async start(): Promise<void> {
    await this.worker.waitUntilReady();
    // The first fair share is known before the first lease is taken.
    await this.balancer.tick();
    this.started = true;
    if (this.capacity > 0) {
      this.worker.concurrency = this.capacity;
      void this.worker.run().catch((err) => this.opts.log.error({ err: (err as Error).message }, 'lease worker loop failed'));
    } else {
      // resume() starts the loop once there is a share to take.
      await this.worker.pause(true);
    }
    this.balancer.start();
    this.status.start();
    // The dashboard shows each lease job's progress: owner, reader, checkpoint, counts and lag.
    this.progressTimer = setInterval(() => {
      for (const { job, runner } of this.runners.values()) void this.publishProgress(job, runner);
    }, PROGRESS_INTERVAL_MS);
    this.opts.log.info({ worker: this.opts.id, maxLeases: this.opts.config.cluster.maxLeasesPerWorker, share: this.capacity }, 'worker started; taking shard leases');
  }

  /** Graceful stop: stop reading, flush the sink, write checkpoints, give every lease back. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.opts.log.info({ leases: this.runners.size }, 'stopping: flushing, checkpointing and releasing leases');
    await this.balancer.stop();
    clearInterval(this.progressTimer);
    await this.worker.pause(true);
    for (const { lease } of this.runners.values()) lease.stop();
    await this.worker.close();
    await this.sink.flush();
    this.sink.close();
    await this.status.stop();
    await this.deadLetters.close();
    await this.leaseQueue.close();
    this.input.destroy();
    this.output.destroy();
    this.efo?.subscriber.destroy();
  }

  private async hold(job: Job<LeaseJobData>, token: string): Promise<string> {
    const shardId = job.data.shardId;
    const log = this.opts.log.child({ shardId, lease: job.id });
    const lease = new Lease(shardId, token, this.opts.config.cluster.leaseTimeoutMs);
    if (this.stopping) return this.release(job, token, 0);

    const checkpoint = await this.checkpoints.get(shardId);
    if (checkpoint === SHARD_END) {
      log.info('shard already finished; completing its lease');
      return 'finished';
    }
    // A checkpoint in the middle of a KPL aggregate resumes AT its record and skips the user records done.
    const resume: Resume = checkpoint ? resumeFrom(checkpoint) : { start: startOf(job.data) };
    const start = resume.start;
    // After a crash the previous owner may have sent records past its last checkpoint.
    const submitted = await this.checkpoints.submitted(shardId);
    const replayUntil = submitted && (!checkpoint || comparePositionStrings(submitted, checkpoint) > 0) ? submitted : undefined;
    if (replayUntil) log.info({ checkpoint, previouslySentUpTo: replayUntil }, 'taking over after an unclean hand-over: records up to the previous owner\'s last sent one may be written again');
    const runner = new ShardRunner(
      lease,
      {
        reader: new DeaggregatingReader(this.reader(shardId, start, log), {
          streamArn: this.opts.config.input.stream.arn,
          shardId,
          hashKeyRange: hashKeyRangeOf(job.data.hashKeyRange),
          skipThrough: resume.skipThrough,
          log,
        }),
        transform: this.transform,
        sink: this.sink,
        deadLetters: this.deadLetters,
        checkpoints: this.checkpoints,
        output: this.opts.config.output,
        inputStreamArn: this.opts.config.input.stream.arn,
        counters: this.counters,
        log,
      },
      checkpoint,
      replayUntil,
    );
    this.runners.set(job.id!, { lease, runner, job });
    void this.publishProgress(job, runner);
    const m = metrics();
    m.leaseGains.inc();
    m.leasesHeld.set(this.runners.size);
    log.info({ start, skipThrough: resume.skipThrough, worker: this.opts.id }, 'lease taken');
    try {
      const outcome = await runner.run();
      if (outcome.type === 'finished') return 'finished';
      if (outcome.type === 'lost') {
        m.leaseLosses.inc();
        log.warn({ reason: lease.lostReason }, 'lease lost: stopped reading and writing the shard; its new owner resumes from the checkpoint');
        // The job belongs to another worker now; moving it would touch their lease.
        throw new WaitingError();
      }
      m.leaseReleases.inc();
      log.info({ checkpoint: runner.progress.checkpoint }, 'lease released');
      return await this.release(job, token, 0);
    } catch (err) {
      if (err instanceof WaitingError || err instanceof DelayedError) throw err;
      if (lease.isLost) {
        m.leaseLosses.inc();
        log.warn({ reason: lease.lostReason, err: describeError(err) }, 'lease lost: stopped reading and writing the shard');
        throw new WaitingError();
      }
      const attempt = (job.data.failures ?? 0) + 1;
      const delay = backoffDelay(attempt, { baseMs: 1000, maxMs: 60_000 }) + 1000;
      log.error({ err: describeError(err), retryInMs: delay }, 'shard reader failed; releasing the lease to retry later');
      await job.updateData({ ...job.data, failures: attempt }).catch(() => undefined);
      return this.release(job, token, delay);
    } finally {
      this.runners.delete(job.id!);
      m.leasesHeld.set(this.runners.size);
      m.millisBehindLatest.remove({ shard: shardId, reader: runner.progress.reader });
    }
  }

  private async publishProgress(job: Job<LeaseJobData>, runner: ShardRunner): Promise<void> {
    const p = runner.progress;
    await job
      .updateProgress({
        owner: this.opts.id,
        reader: p.reader,
        checkpoint: p.checkpoint ?? null,
        recordsRead: p.recordsRead,
        bytesRead: p.bytesRead,
        recordsDeadLettered: p.recordsDeadLettered,
        millisBehindLatest: p.millisBehindLatest ?? null,
        updatedAt: new Date().toISOString(),
      })
      .catch(() => undefined);
  }

  /** How many leases the BullMQ worker may hold; 0 pauses taking new ones. */
  private async setCapacity(leases: number): Promise<void> {
    if (this.stopping || leases === this.capacity) return;
    const grow = leases > this.capacity;
    this.capacity = leases;
    if (!this.started) return; // start() applies the first share
    if (leases === 0) {
      await this.worker.pause(true);
      return;
    }
    this.worker.concurrency = leases;
    // BullMQ's fetch loop only sees a higher concurrency once it wakes up; pause+resume wakes it.
    if (grow || this.worker.isPaused()) {
      await this.worker.pause(true);
      await this.worker.resume();
    }
  }

  /** Puts the lease job back so any worker can take it (after `delayMs`). */
  private async release(job: Job<LeaseJobData>, token: string, delayMs: number): Promise<never> {
    if (delayMs > 0) {
      await job.moveToDelayed(Date.now() + delayMs, token);
      throw new DelayedError();
    }
    await job.moveToWait(token);
    throw new WaitingError();
  }

  private reader(shardId: string, start: StartPosition, log: Logger): ShardReader {
    const input = this.opts.config.input;
    if (this.efo) {
      return new EfoReader(
        this.efo.subscriber,
        this.efo.consumerArn,
        shardId,
        start,
        { subscriptionTimeoutMs: input.efo.subscriptionTimeoutMs, maxSubscriptionMs: input.efo.maxSubscriptionMs, minSubscribeGapMs: 1000 },
        log,
        new ShardEndProbe(this.input, input.stream.arn, shardId),
      );
    }
    return new PollingReader(
      this.input,
      input.stream.arn,
      shardId,
      start,
      { maxRecords: input.getRecordsMaxCount, intervalMs: input.getRecordsIntervalMs, emptyIntervalMs: input.emptyFetchIntervalMs },
      log,
    );
  }

  snapshot(): WorkerStatus {
    metrics().sinkBuffered.set(this.sink.buffered);
    return {
      worker: this.opts.id,
      updatedAt: Date.now(),
      totals: { read: this.counters.recordsRead, written: this.sink.stats.recordsWritten, deadLettered: this.counters.recordsDeadLettered, duplicated: this.counters.recordsDuplicated },
      sinkBuffered: this.sink.buffered,
      sink: { ...this.sink.stats },
      leases: [...this.runners.values()].map(({ runner }) => ({ ...runner.progress })),
    };
  }
}

function startOf(data: LeaseJobData): StartPosition {
  return data.start.type === 'AT_TIMESTAMP' ? { type: 'AT_TIMESTAMP', timestamp: new Date(data.start.timestamp) } : { type: data.start.type };
}
