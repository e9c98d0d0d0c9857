/**
 * What a worker does with one lease: find where the shard resumes (checkpoint, or the lease's
 * initial position), count what a crashed previous owner may have sent already, run the shard, and
 * turn how the run ended into a lease outcome for the lease loop.
 *
 * A shard that disappears (ResourceNotFound on the shard while the stream still lists its other
 * shards: trimmed past retention) is finished, loudly: the records after its checkpoint may be lost,
 * and keeping its lease would only retry it forever, as KCL and Flink's connector also decide.
 */
import type { ShardLister } from '../shared/aws/kinesis-gateway';
import { classifyKinesisError, describeError } from '../shared/aws/kinesis-errors';
import { backoffDelay } from '../shared/backoff';
import type { Logger } from '../shared/logging';
import { metrics } from '../shared/metrics';
import { comparePositionStrings } from '../shared/position';
import { SHARD_END, type CheckpointStore } from '../shared/leases/checkpoint-store';
import { leaseStartPosition, type LeaseJobData } from '../shared/leases/lease-job';
import type { Lease } from './leases/lease';
import type { LeaseOutcome } from './leases/lease-loop';
import type { ReaderFactory } from './reader-factory';
import { resumeFrom, type Resume } from './shard-reader';
import { ShardRunner, type ShardRunnerDeps } from './shard-runner';

export interface LeaseHolderDeps {
  checkpoints: Pick<CheckpointStore, 'get' | 'submitted' | 'save' | 'finish' | 'markSubmitted'>;
  readers: Pick<ReaderFactory, 'create'>;
  /** Lists the input's shards, to tell a trimmed shard from a missing stream. */
  shards: ShardLister;
  /** Everything a runner needs besides its reader and checkpoints. */
  runner: Omit<ShardRunnerDeps, 'reader' | 'checkpoints' | 'log' | 'readers'>;
  workerId: string;
  log: Logger;
}

export class LeaseHolder {
  /** The runners of the leases held now, by shard id (for progress and status). */
  readonly runners = new Map<string, ShardRunner>();

  constructor(private readonly deps: LeaseHolderDeps) {}

  async hold(lease: Lease, data: LeaseJobData): Promise<LeaseOutcome> {
    const { shardId } = data;
    const log = this.deps.log.child({ shardId });
    const checkpoint = await this.deps.checkpoints.get(shardId);
    if (checkpoint === SHARD_END) {
      log.info('shard already finished; completing its lease');
      return { type: 'finished' };
    }
    // A checkpoint in the middle of a KPL aggregate resumes AT its record and skips the user records done.
    const resume: Resume = checkpoint ? resumeFrom(checkpoint) : { start: leaseStartPosition(data.start) };
    // After a crash the previous owner may have sent records past its last checkpoint.
    const submitted = await this.deps.checkpoints.submitted(shardId);
    const replayUntil = submitted && (!checkpoint || comparePositionStrings(submitted, checkpoint) > 0) ? submitted : undefined;
    if (replayUntil) log.info({ checkpoint, previouslySentUpTo: replayUntil }, "taking over after an unclean hand-over: records up to the previous owner's last sent one may be written again");

    const runner = new ShardRunner(lease, { ...this.deps.runner, reader: this.deps.readers.create(data, resume, log), checkpoints: this.deps.checkpoints, log, readers: () => this.runners.size }, checkpoint, replayUntil);
    this.runners.set(shardId, runner);
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
      if (classifyKinesisError(err) === 'not-found' && (await this.trimmed(shardId, log))) return this.finishTrimmed(lease, runner.progress.checkpoint, log);
      const failures = (data.failures ?? 0) + 1;
      const delayMs = backoffDelay(failures, { baseMs: 1000, maxMs: 60_000 }) + 1000;
      log.error({ err: describeError(err), retryInMs: delayMs, failures }, 'shard reader failed; releasing the lease to retry later');
      return { type: 'retry', delayMs, failures };
    } finally {
      this.runners.delete(shardId);
      m.leasesHeld.set(this.runners.size);
      await m.removeShardSeries(this.deps.runner.inputStreamArn, shardId);
    }
  }

  private lost(lease: Lease, log: Logger, err?: unknown): LeaseOutcome {
    metrics().leaseLosses.inc();
    log.warn({ reason: lease.lostReason, err: err === undefined ? undefined : describeError(err) }, 'lease lost: stopped reading and writing the shard; its new owner resumes from the checkpoint');
    return { type: 'lost' };
  }

  /** True when the stream answers and no longer lists the shard; false when that cannot be told. */
  private async trimmed(shardId: string, log: Logger): Promise<boolean> {
    try {
      const shards = await this.deps.shards.listShards(this.deps.runner.inputStreamArn);
      return !shards.some((s) => s.ShardId === shardId);
    } catch (err) {
      log.warn({ err: describeError(err) }, 'cannot list the input stream to tell whether the shard was trimmed');
      return false;
    }
  }

  private async finishTrimmed(lease: Lease, checkpoint: string | undefined, log: Logger): Promise<LeaseOutcome> {
    const result = await this.deps.checkpoints.finish(lease.shardId, lease.token, []);
    if (result === 'lease-lost') return this.lost(lease, log);
    metrics().shardsTrimmed.inc({ stream: this.deps.runner.inputStreamArn });
    log.error(
      { checkpoint: checkpoint ?? null },
      'shard no longer exists (trimmed past the stream\'s retention period before it was read to its end): records after the checkpoint may have been lost; the shard is finished',
    );
    return { type: 'finished' };
  }
}
