/**
 * A worker process's wiring: the Kinesis clients, the sink, the checkpoint store, the reader factory,
 * the lease holder (what is done with a lease), the lease loop (which leases are held, and how each
 * ends) on the BullMQ lease store, the heartbeat (who is alive) and the balancer (how many to hold).
 * Start and stop in the right order; no lease logic lives here.
 */
import type { RedisClient } from '../shared/redis/connection';
import type { AppConfig, InputStreamConfig } from '../shared/config/app-config';
import type { Logger } from '../shared/logging';
import { parseLeaseKey, streamKey, type AppKeys } from '../shared/redis/keys';
import type { StateLostError } from '../shared/redis/app-state';
import { RedisLiveSet } from '../shared/redis/heartbeats';
import { monotonicClock, wallClock } from '../shared/clock';
import { metrics } from '../shared/metrics';
import { DeadLetterQueue } from './dead-letter/dead-letter-queue';
import { LeaseBalancer } from './leases/lease-balancer';
import { BullmqLeaseStore } from './leases/bullmq-lease-store';
import { RedisLeaseLoads } from './leases/lease-loads';
import { LeaseLoop } from './leases/lease-loop';
import { WorkerHeartbeat } from './leases/worker-heartbeat';
import { LeaseHolder } from './lease-holder';
import { WorkerInputStreams } from './input-streams';
import type { WorkerCounters } from './shard-runner';
import type { OutputStreamError } from './sink/kinesis-sink';
import { OutputSinks } from './sink/output-sinks';
import type { TransformRuntime } from './transform/transform-runtime';
import { StatusReporter, type WorkerStatus } from './status-reporter';
import { ProgressGate } from './progress-gate';

const PROGRESS_INTERVAL_MS = 5000;
/** An unchanged lease's progress (an idle shard's) is published again only this often. */
const PROGRESS_REFRESH_MS = 60_000;

export interface LeaseWorkerOptions {
  config: AppConfig;
  keys: AppKeys;
  /** For BullMQ's blocking calls. */
  connection: RedisClient;
  /** For checkpoints, dead letters and status (non-blocking commands). */
  redis: RedisClient;
  id: string;
  log: Logger;
  /** Called when `shardflow shutdown` asks the whole application to stop. */
  onShutdownRequested?: () => void;
  /** Called when Redis lost the application's state: the process must stop at once (exit 3). */
  onStateLost: (err: StateLostError) => void;
  /** With sink.fail-on-error of that output group: the output failed for good; the process stops and exits non-zero. */
  onOutputFatal?: (err: OutputStreamError, group: string) => void;
  /** The transform, opened before the worker takes a lease (the process closes it after the worker stopped). */
  transform: TransformRuntime;
}

export class LeaseWorker {
  readonly streams: WorkerInputStreams;
  readonly sink: OutputSinks;
  private readonly deadLetters: DeadLetterQueue;
  private readonly holder: LeaseHolder;
  private readonly store: BullmqLeaseStore;
  private readonly loop: LeaseLoop;
  private readonly heartbeat: WorkerHeartbeat;
  private readonly balancer: LeaseBalancer;
  private readonly status: StatusReporter;
  private progressTimer: NodeJS.Timeout | undefined;
  private readonly progressGate = new ProgressGate(PROGRESS_REFRESH_MS);
  private stopping = false;
  private hurried = false;
  private readonly counters: WorkerCounters = { recordsRead: 0, recordsDeadLettered: 0, deadLetteredByReason: {}, recordsFiltered: 0, recordsDuplicated: 0 };

  constructor(private readonly opts: LeaseWorkerOptions) {
    const { config, keys, log } = opts;
    const leaseTimeoutMs = config.cluster.leaseTimeoutMs;
    this.streams = new WorkerInputStreams({ redis: opts.redis, keys, preparerFor: (stream) => opts.transform.preparerFor(stream), log });
    this.streams.update(config.inputs);
    this.sink = OutputSinks.open(config.outputs, log, { component: 'sink', onFatal: opts.onOutputFatal });
    this.deadLetters = new DeadLetterQueue(opts.redis, keys);
    this.holder = new LeaseHolder({
      streams: this.streams,
      runner: {
        concurrency: config.transform.concurrency,
        sink: this.sink,
        deadLetters: this.deadLetters,
        output: config.output,
        counters: this.counters,
        // A graceful stop finishes well inside the lease timeout, even while the output fails.
        handOverMs: Math.floor(leaseTimeoutMs / 2),
        clock: monotonicClock,
      },
      workerId: opts.id,
      log,
    });
    this.store = new BullmqLeaseStore({ connection: opts.connection, redis: opts.redis, keys, workerId: opts.id, leaseTimeoutMs, wallClock, log });
    this.loop = new LeaseLoop({ store: this.store, leaseTimeoutMs, hold: (lease, data) => this.holder.hold(lease, data), clock: monotonicClock, log });
    this.heartbeat = new WorkerHeartbeat({
      liveSet: new RedisLiveSet(opts.redis, keys, keys.liveWorkers),
      keys,
      workerId: opts.id,
      freshMs: leaseTimeoutMs,
      onShutdownRequested: opts.onShutdownRequested,
      onStateLost: opts.onStateLost,
      log,
    });
    this.balancer = new LeaseBalancer({
      membership: this.heartbeat,
      leases: this.store,
      loads: new RedisLeaseLoads(opts.redis, keys),
      workerId: opts.id,
      maxLeases: config.cluster.maxLeasesPerWorker,
      balance: config.cluster.balance,
      cooldownMs: config.cluster.balanceCooldownMs,
      bytesRead: (leaseKey) => this.holder.runners.get(leaseKey)?.progress.bytesRead,
      intervalMs: Math.min(1000, Math.floor(leaseTimeoutMs / 4)),
      clock: monotonicClock,
      held: () => this.loop.leases,
      setCapacity: (n) => this.loop.setCapacity(n),
      log,
    });
    this.status = new StatusReporter(opts.redis, keys, opts.id, () => this.snapshot());
  }

  async start(): Promise<void> {
    await this.store.waitUntilReady();
    // The first fair share is known before the first lease is taken.
    await this.balancer.tick();
    await this.loop.start();
    this.balancer.start();
    this.status.start();
    // The dashboard shows each lease job's progress: owner, reader, checkpoint, counts and lag.
    this.progressTimer = setInterval(() => this.publishProgress(), PROGRESS_INTERVAL_MS);
    this.opts.log.info({ worker: this.opts.id, maxLeases: this.opts.config.cluster.maxLeasesPerWorker, balance: this.opts.config.cluster.balance, share: this.balancer.target }, 'worker started; taking shard leases');
  }

  /** Graceful stop: stop reading, flush the sink, write checkpoints, give every lease back. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.opts.log.info({ leases: this.loop.leases.length }, 'stopping: flushing, checkpointing and releasing leases');
    this.balancer.stop();
    await this.heartbeat.stop();
    clearInterval(this.progressTimer);
    await this.loop.pause();
    for (const lease of this.loop.leases) lease.stop();
    await this.loop.close();
    // Every lease has been handed over; what is left in flight gets a short while, never a hang.
    if (!this.hurried) await this.sink.flush(AbortSignal.timeout(Math.floor(this.opts.config.cluster.leaseTimeoutMs / 4)));
    this.sink.close();
    this.sink.destroy();
    await this.status.stop();
    await this.deadLetters.close();
    this.streams.destroy();
  }

  /**
   * A second stop request (a second SIGTERM): every lease still held hands over now, without waiting
   * for the output's acknowledgements. Final checkpoints (of what was acknowledged) are still written
   * and the leases released, so the next owners start at once instead of after the lease timeout.
   */
  hurry(): void {
    this.hurried = true;
    this.opts.log.warn({ leases: this.loop.leases.length }, 'asked again to stop: handing every lease over now, without waiting for the output; unacknowledged records are read again by the next owners');
    for (const lease of this.loop.leases) lease.hurry();
  }

  /**
   * The input streams named by a re-read configuration: a new stream's leases can be taken from now on;
   * the leases of a removed one are handed back gracefully (final checkpoints written), and the
   * coordinator removes its lease jobs.
   */
  updateInputs(inputs: readonly InputStreamConfig[]): void {
    const { removed } = this.streams.update(inputs);
    if (removed.length === 0) return;
    const gone = new Set(removed.map((arn) => streamKey(arn)));
    const leases = this.loop.leases.filter((lease) => gone.has(parseLeaseKey(lease.leaseKey)?.streamKey ?? ''));
    this.opts.log.info({ streams: removed, leases: leases.length }, 'input streams removed from the configuration: handing their leases back');
    for (const lease of leases) lease.stop();
  }

  /** Readiness of one output: unready from the first non-retryable PutRecords answer until one succeeds. */
  outputReadiness(group: string): { ok: boolean; detail: string } {
    const failure = this.sink.failures().find((f) => f.group === group)?.failure;
    if (!failure) return { ok: true, detail: 'ok' };
    return { ok: false, detail: `output stream not writable since ${new Date(failure.since).toISOString()} (${failure.attempts} failed attempts): ${failure.error}` };
  }

  private publishProgress(): void {
    this.progressGate.retain(this.holder.runners);
    const now = Date.now();
    const { orderViolations, misplacedRecords } = this.sink.stats;
    const ownerSink = orderViolations || misplacedRecords ? { orderViolations, misplacedRecords } : undefined;
    for (const [leaseKey, runner] of this.holder.runners) {
      const p = runner.progress;
      const progress = {
        owner: this.opts.id,
        reader: p.reader,
        checkpoint: p.checkpoint ?? null,
        recordsRead: p.recordsRead,
        bytesRead: p.bytesRead,
        recordsDeadLettered: p.recordsDeadLettered,
        deadLetteredByReason: p.deadLetteredByReason,
        recordsFiltered: p.recordsFiltered,
        ownerSink,
        millisBehindLatest: p.millisBehindLatest ?? null,
      };
      if (this.progressGate.due(leaseKey, progress, now)) void this.loop.publishProgress(leaseKey, { ...progress, updatedAt: new Date(now).toISOString() });
    }
  }

  snapshot(): WorkerStatus {
    const m = metrics();
    m.sinkBuffered.set(this.sink.buffered);
    for (const { group, limit } of this.sink.requestLimits()) m.sinkRequestLimit.set({ output: group }, limit);
    return {
      worker: this.opts.id,
      updatedAt: Date.now(),
      totals: {
        read: this.counters.recordsRead,
        written: this.sink.stats.recordsWritten,
        deadLettered: this.counters.recordsDeadLettered,
        deadLetteredByReason: { ...this.counters.deadLetteredByReason },
        filtered: this.counters.recordsFiltered,
        duplicated: this.counters.recordsDuplicated,
      },
      sinkBuffered: this.sink.buffered,
      sink: { ...this.sink.stats },
      leases: [...this.holder.runners.values()].map((runner) => ({ ...runner.progress })),
    };
  }
}
