/**
 * What a worker does with one lease: find where the shard resumes (checkpoint, or the lease's
 * initial position), count what a crashed previous owner may have sent already, run the shard, and
 * turn how the run ended into a lease outcome for the lease loop.
 *
 * A shard that disappears (ResourceNotFound on the shard while the stream still lists its other
 * shards: trimmed past retention) is finished, loudly: the records after its checkpoint may be lost,
 * and keeping its lease would only retry it forever, as KCL and Flink's connector also decide.
 */
import { classifyKinesisError, describeError } from '../shared/aws/kinesis-errors';
import { backoffDelay } from '../shared/backoff';
import type { Logger } from '../shared/logging';
import { metrics } from '../shared/metrics';
import { comparePositionStrings } from '../shared/position';
import { SHARD_END } from '../shared/leases/checkpoint-store';
import { leaseStartPosition, type LeaseJobData } from '../shared/leases/lease-job';
import type { Lease } from './leases/lease';
import type { LeaseOutcome } from './leases/lease-loop';
import type { StreamContext, WorkerInputStreams } from './input-streams';
import { resumeFrom, type Resume } from './shard-reader';
import { ShardRunner, type ShardRunnerDeps } from './shard-runner';

/** How long a lease of a stream this worker does not read waits before it may be taken again (the coordinator removes it meanwhile). */
export const UNKNOWN_STREAM_RETRY_MS = 5000;
/** How long a lease of a deleted stream waits before it may be taken again (the coordinator removes it meanwhile). */
export const STREAM_GONE_RETRY_MS = 30_000;

export interface LeaseHolderDeps {
  /** The input streams read now: a lease's stream gives its reader, checkpoints, lister, refetch and transform. */
  streams: Pick<WorkerInputStreams, 'acquire' | 'release'>;
  /** Everything a runner needs besides what its stream and shard give. */
  runner: Omit<ShardRunnerDeps, 'shardId' | 'reader' | 'checkpoints' | 'log' | 'readers' | 'preparer' | 'inputStreamArn' | 'refetch'>;
  workerId: string;
  log: Logger;
}

export class LeaseHolder {
  /** The runners of the leases held now, by lease key (for progress and status). */
  readonly runners = new Map<string, ShardRunner>();

  constructor(private readonly deps: LeaseHolderDeps) {}

  async hold(lease: Lease, data: LeaseJobData): Promise<LeaseOutcome> {
    const stream = data.streamArn === undefined ? undefined : this.deps.streams.acquire(data.streamArn);
    if (!stream) {
      // A stream taken out of the configuration (or not in this worker's yet), or a lease job of the
      // single-stream layout: not read here. The coordinator removes such jobs; until then it waits.
      this.deps.log.warn({ lease: lease.leaseKey, stream: data.streamArn ?? null }, 'lease of an input stream this worker does not read (removed from the configuration, or not re-read here yet): putting it back');
      return { type: 'retry', delayMs: UNKNOWN_STREAM_RETRY_MS, failures: data.failures ?? 0 };
    }
    try {
      return await this.holdShard(lease, data, stream);
    } finally {
      this.deps.streams.release(stream);
    }
  }

  private async holdShard(lease: Lease, data: LeaseJobData, stream: StreamContext): Promise<LeaseOutcome> {
    const { shardId } = data;
    const streamArn = stream.input.stream.arn;
    const log = this.deps.log.child({ stream: stream.input.stream.name, shardId });
    const checkpoints = stream.checkpoints;
    const checkpoint = await checkpoints.get(shardId);
    if (checkpoint === SHARD_END) {
      log.info('shard already finished; completing its lease');
      return { type: 'finished' };
    }
    // A checkpoint in the middle of a KPL aggregate resumes AT its record and skips the user records done.
    const resume: Resume = checkpoint ? resumeFrom(checkpoint) : { start: leaseStartPosition(data.start) };
    // After a crash the previous owner may have sent records past its last checkpoint.
    const submitted = await checkpoints.submitted(shardId);
    const replayUntil = submitted && (!checkpoint || comparePositionStrings(submitted, checkpoint) > 0) ? submitted : undefined;
    if (replayUntil) log.info({ checkpoint, previouslySentUpTo: replayUntil }, "taking over after an unclean hand-over: records up to the previous owner's last sent one may be written again");

    const runner = new ShardRunner(
      lease,
      {
        ...this.deps.runner,
        shardId,
        inputStreamArn: streamArn,
        preparer: stream.preparer,
        refetch: stream.refetch,
        reader: stream.readers.create(data, resume, log),
        checkpoints,
        log,
        readers: () => this.runners.size,
      },
      checkpoint,
      replayUntil,
    );
    this.runners.set(lease.leaseKey, runner);
    const m = metrics();
    m.leaseGains.inc();
    m.leasesHeld.set(this.runners.size);
    log.info({ start: resume.start, skipThrough: resume.skipThrough, worker: this.deps.workerId }, 'lease taken');
    try {
      const outcome = await runner.run();
      if (outcome.type === 'finished') return { type: 'finished' };
      if (outcome.type === 'lost') return this.lost(lease, log);
      m.leaseReleases.inc();
      log.info({ checkpoint: runner.progress.checkpoint }, 'lease released');
      return { type: 'released' };
    } catch (err) {
      if (lease.isLost) return this.lost(lease, log, err);
      if (classifyKinesisError(err) === 'not-found') {
        const gone = await this.shardGone(stream, shardId, log);
        if (gone === 'shard') return this.finishTrimmed(lease, stream, shardId, runner.progress.checkpoint, log);
        if (gone === 'stream') {
          // The coordinator reports the stream and removes its lease jobs; this one waits meanwhile.
          log.error({ retryInMs: STREAM_GONE_RETRY_MS }, 'the input stream no longer exists (deleted in Kinesis): ending the lease; the other streams go on');
          return { type: 'retry', delayMs: STREAM_GONE_RETRY_MS, failures: data.failures ?? 0 };
        }
      }
      const failures = (data.failures ?? 0) + 1;
      const delayMs = backoffDelay(failures, { baseMs: 1000, maxMs: 60_000 }) + 1000;
      log.error({ err: describeError(err), retryInMs: delayMs, failures }, 'shard reader failed; releasing the lease to retry later');
      return { type: 'retry', delayMs, failures };
    } finally {
      // Only this hold's runner: a hand-over that outlived its lock may end after the same lease was taken again.
      if (this.runners.get(lease.leaseKey) === runner) this.runners.delete(lease.leaseKey);
      m.leasesHeld.set(this.runners.size);
      await m.removeShardSeries(streamArn, shardId);
    }
  }

  private lost(lease: Lease, log: Logger, err?: unknown): LeaseOutcome {
    metrics().leaseLosses.inc();
    log.warn({ reason: lease.lostReason, err: err === undefined ? undefined : describeError(err) }, 'lease lost: stopped reading and writing the shard; its new owner resumes from the checkpoint');
    return { type: 'lost' };
  }

  /** 'shard' when the stream answers and no longer lists the shard, 'stream' when the stream itself is gone, undefined when that cannot be told. */
  private async shardGone(stream: StreamContext, shardId: string, log: Logger): Promise<'shard' | 'stream' | undefined> {
    try {
      const shards = await stream.shards.listShards(stream.input.stream.arn);
      return shards.some((s) => s.ShardId === shardId) ? undefined : 'shard';
    } catch (err) {
      if (classifyKinesisError(err) === 'not-found') return 'stream';
      log.warn({ err: describeError(err) }, 'cannot list the input stream to tell whether the shard was trimmed');
      return undefined;
    }
  }

  private async finishTrimmed(lease: Lease, stream: StreamContext, shardId: string, checkpoint: string | undefined, log: Logger): Promise<LeaseOutcome> {
    const result = await stream.checkpoints.finish(shardId, lease.token, []);
    if (result === 'lease-lost') return this.lost(lease, log);
    metrics().shardsTrimmed.inc({ stream: stream.input.stream.arn });
    log.error(
      { checkpoint: checkpoint ?? null },
      'shard no longer exists (trimmed past the stream\'s retention period before it was read to its end): records after the checkpoint may have been lost; the shard is finished',
    );
    return { type: 'finished' };
  }
}
