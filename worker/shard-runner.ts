/**
 * Runs one leased shard: reader -> transform -> sink, with dead-lettering of bad records and
 * fenced checkpoints that move only past acknowledged records, at most once per chunk of records.
 *
 * Records are plain Kinesis records or user records of KPL aggregates (the reader de-aggregates), and
 * every position here counts in (sequence number, sub-sequence number): a batch is handed to the sink
 * in chunks of at most one PutRecords request's worth of records, each with its own checkpoint
 * ticket, so a large aggregate is checkpointed in its middle (`"<seq>:<sub>"`) as its user records are
 * acknowledged, and a restart neither re-sends nor skips any of them.
 *
 * A record is the unit of failure: whatever the transform does with one (throws, overflows the stack on
 * a deeply nested record), whatever it becomes (a key or a size Kinesis refuses), it ends in the output
 * or in the dead-letter queue with a reason (`transform/prepare-output.ts`), and so does a record
 * Kinesis refuses for itself (the sink's bisection); every other record goes on.
 *
 * A graceful hand-over (the lease stops: fair share, shutdown) waits for the acknowledgements for at
 * most half of `handOverMs`, whatever the output does (slow, throttled, refusing writes), and not at
 * all once the lease is hurried (a second SIGTERM): records not acknowledged then leave the sink's
 * buffer and stay behind the checkpoint for the next owner. The final checkpoint write is retried
 * while the lease is still held, since one lost write there means the next owner re-sends everything
 * acknowledged since the previous one.
 */
import type { OutputStreamConfig } from '../shared/config/app-config';
import type { Logger } from '../shared/logging';
import type { SourceRecord } from '../shared/records';
import { AcknowledgedCheckpoints } from './checkpoint/acknowledged-checkpoints';
import { HandOver } from './hand-over';
import { comparePositions, parsePosition, type Position } from '../shared/position';
import type { CheckpointStore } from '../shared/leases/checkpoint-store';
import type { DeadLetterQueue } from './dead-letter/dead-letter-queue';
import { ShardDeadLetters } from './dead-letter/shard-dead-letters';
import type { InputRefetch } from './dead-letter/input-refetch';
import type { Clock } from '../shared/clock';
import type { Lease } from './leases/lease';
import type { ShardReader } from './shard-reader';
import type { SinkPort } from './sink/sink-port';
import { metrics } from '../shared/metrics';
import type { OutputPreparer } from './transform/transform';
import { OrderedTransforms, type PreparedChunk } from './transform/ordered-transforms';


export interface ShardProgress {
  /** The input stream's ARN. */
  stream: string;
  shardId: string;
  reader: 'POLLING' | 'EFO';
  recordsRead: number;
  bytesRead: number;
  recordsDeadLettered: number;
  /** Dead letters by reason (the reason's text before its first colon, as the metric's label). */
  deadLetteredByReason: Record<string, number>;
  /** Records a transform module filtered out (answered nothing). */
  recordsFiltered: number;
  recordsDuplicated: number;
  checkpoint?: string;
  millisBehindLatest?: number;
}

/** Counters of a whole worker process, shared by its runners. */
export interface WorkerCounters {
  recordsRead: number;
  recordsDeadLettered: number;
  /** Dead letters by reason, over the worker's life. */
  deadLetteredByReason: Record<string, number>;
  recordsFiltered: number;
  /** Records read again after an unclean hand-over that the previous owner had already sent on. */
  recordsDuplicated: number;
}

export interface ShardRunnerDeps {
  /** The shard read (the lease's key also names its stream). */
  shardId: string;
  reader: ShardReader;
  /** The transform, with output routing and validation: a built-in's or a module's. */
  preparer: OutputPreparer;
  /** Transform.concurrency: a module's records in flight at once on this shard. */
  concurrency: number;
  sink: SinkPort;
  deadLetters: Pick<DeadLetterQueue, 'add'>;
  checkpoints: Pick<CheckpointStore, 'save' | 'finish' | 'markSubmitted'>;
  output: Pick<OutputStreamConfig, 'maxBatchRecords' | 'maxBufferedRecords'>;
  /** How many shards the worker reads now: a page is at most this runner's share of the sink's buffer. */
  readers?: () => number;
  inputStreamArn: string;
  counters: WorkerCounters;
  log: Logger;
  /** Reads an input record again by its position, for the dead letter of a record Kinesis refused. */
  refetch?: InputRefetch;
  /** A graceful hand-over waits at most half of this for a failing output, and half for the final checkpoint. */
  handOverMs: number;
  /** Monotonic time, for the hand-over's deadline and the log intervals. */
  clock: Clock;
}

/** How a run ended: the shard is finished for good, or the lease is to be released or was lost. */
export type RunOutcome = { type: 'finished'; childShardIds: string[] } | { type: 'released' } | { type: 'lost' };

export class ShardRunner {
  readonly progress: ShardProgress;
  private readonly deadLetters: ShardDeadLetters;
  private readonly acknowledged: AcknowledgedCheckpoints;
  private readonly handOver: HandOver;
  private readonly transforms: OrderedTransforms;
  private readonly submitChunk = (chunk: PreparedChunk) => this.submit(chunk);

  constructor(
    private readonly lease: Lease,
    private readonly deps: ShardRunnerDeps,
    startCheckpoint: string | undefined,
    replayUntil?: string,
  ) {
    this.progress = { stream: deps.inputStreamArn, shardId: deps.shardId, reader: deps.reader.kind, recordsRead: 0, bytesRead: 0, recordsDeadLettered: 0, deadLetteredByReason: {}, recordsFiltered: 0, recordsDuplicated: 0, checkpoint: startCheckpoint };
    const clock = deps.clock;
    this.acknowledged = new AcknowledgedCheckpoints({ lease, shardId: deps.shardId, checkpoints: deps.checkpoints, log: deps.log, written: (position) => (this.progress.checkpoint = position) }, startCheckpoint);
    this.handOver = new HandOver({ lease, checkpoints: this.acknowledged, sink: deps.sink, log: deps.log, handOverMs: deps.handOverMs, clock });
    this.deadLetters = new ShardDeadLetters({
      queue: deps.deadLetters,
      streamArn: deps.inputStreamArn,
      shardId: deps.shardId,
      log: deps.log,
      stored: (count, byReason) => {
        this.progress.recordsDeadLettered += count;
        deps.counters.recordsDeadLettered += count;
        for (const [reason, n] of byReason) {
          this.progress.deadLetteredByReason[reason] = (this.progress.deadLetteredByReason[reason] ?? 0) + n;
          deps.counters.deadLetteredByReason[reason] = (deps.counters.deadLetteredByReason[reason] ?? 0) + n;
        }
      },
      held: () => !lease.isLost && !lease.isStopping,
      refetch: deps.refetch,
      clock,
    });
    this.replayUntil = replayUntil === undefined ? undefined : parsePosition(replayUntil);
    this.transforms = new OrderedTransforms({ preparer: deps.preparer, concurrency: deps.concurrency, chunkSize: Math.max(1, deps.output.maxBatchRecords), inputStreamArn: deps.inputStreamArn });
  }

  /** Up to here (inclusive), records read again were already sent on by a previous owner that crashed. */
  private replayUntil: Position | undefined;

  async run(): Promise<RunOutcome> {
    const { reader, log } = this.deps;
    try {
      while (!this.lease.signal.aborted) {
        if (!this.deps.sink.accepting) {
          // The output refuses writes for good (deleted, access denied, …): read nothing new until it is back.
          await this.deps.sink.waitUntilAccepting(this.lease.signal);
          continue;
        }
        const page = await this.readPage();
        if (page === undefined) break; // the lease was lost while reading
        const { shardEnded, childShardIds } = page;
        // The page's records go to the transforms, and this frame keeps no hold on them (see `run`).
        await this.transforms.run(page, this.lease.signal, this.submitChunk);
        if (this.lease.signal.aborted) break;
        if (shardEnded) {
          if (!(await this.handOver.drain())) break; // stopped while waiting for the output: hand over instead
          if (this.lease.isLost) return { type: 'lost' };
          const result = await this.deps.checkpoints.finish(this.deps.shardId, this.lease.token, childShardIds);
          if (result === 'lease-lost') return this.lost('lease taken over before the shard end was recorded');
          log.info({ children: childShardIds }, 'shard finished: every record delivered');
          return { type: 'finished', childShardIds };
        }
      }
      if (this.lease.isLost) return { type: 'lost' };
      await this.handOver.run();
      return this.lease.isLost ? { type: 'lost' } : { type: 'released' };
    } catch (err) {
      // The lease ends here (retried later): what it queued must not be sent after it, as for a lost lease.
      this.deps.sink.abandon(this.lease);
      throw err;
    } finally {
      await reader.close();
    }
  }

  /**
   * How many records to ask for: at most this runner's share of the sink's buffer
   * (`sink.requests.max-buffered` split over the worker's shards, at least one PutRecords request's
   * worth), so the pages that wait for room never hold more than the sink can take: with 25,000
   * buffered records (the default) and 4 shards a page is 6,250 records, not 10,000 per shard. One
   * shard alone still gets the full page. At 5 calls per second a share of 6,250 reads 31,250
   * records/s per shard, more than a shard's 2 MiB/s read limit allows for records over 67 bytes.
   * While the output pushes back (throttling), the sink's free room:
   * readers then hold small pages instead of full ones while they wait, so memory stays flat.
   *
   * A page is read only once the sink has room for it (for at most half the buffer, so a lone reader
   * still reads its next page while the previous one is being sent). Reading as soon as the previous
   * page was handed over had every runner hold a transformed page waiting for room on top of a full
   * sink: up to twice the buffer in memory. Waiting here lowered the worker's peak RSS by about 3 %
   * (POLLING) and, with the EFO reader's parts, 7 % (EFO) at full speed, with the same rate and CPU
   * (docs/benchmarks.md); the page still arrives while the sink has the rest of the buffer to send.
   */
  private async readLimit(): Promise<number | undefined> {
    const { sink, output } = this.deps;
    if (!sink.congested) {
      const share = Math.max(output.maxBatchRecords, Math.floor(output.maxBufferedRecords / Math.max(1, this.deps.readers?.() ?? 1)));
      await sink.reserve(Math.min(share, Math.ceil(output.maxBufferedRecords / 2)), this.lease.signal);
      return share;
    }
    await sink.reserve(1, this.lease.signal);
    return Math.max(sink.room, output.maxBatchRecords);
  }

  /**
   * Reads one page and counts it. Undefined when the lease was lost while reading. Its records go to the
   * ordered transforms (`transform/ordered-transforms.ts`), which hand the chunks on in input order.
   */
  private async readPage(): Promise<{ records: SourceRecord[] | undefined; shardEnded: boolean; childShardIds: string[] } | undefined> {
    const { reader } = this.deps;
    const batch = await reader.next(this.lease.signal, await this.readLimit());
    if (this.lease.isLost) return undefined;
    this.progress.millisBehindLatest = batch.millisBehindLatest;
    if (batch.millisBehindLatest !== undefined) metrics().millisBehindLatest.set({ stream: this.deps.inputStreamArn, shard: this.deps.shardId, reader: reader.kind }, batch.millisBehindLatest);
    const records = batch.records;
    if (records.length > 0) this.count(records);
    return { records, shardEnded: batch.shardEnded, childShardIds: batch.childShardIds };
  }

  private count(records: readonly SourceRecord[]): void {
    let bytes = 0;
    for (const record of records) {
      if (this.replayUntil !== undefined) this.countPossibleDuplicate(record);
      bytes += record.data.byteLength;
    }
    this.progress.recordsRead += records.length;
    this.progress.bytesRead += bytes;
    this.deps.counters.recordsRead += records.length;
    metrics().recordsRead.inc({ stream: this.deps.inputStreamArn, shard: this.deps.shardId }, records.length);
  }

  /** Dead-letters a chunk's bad records, then hands its good ones to the sink with their own checkpoint ticket. */
  private async submit(chunk: PreparedChunk): Promise<void> {
    const { good, letters, last } = chunk;
    const m = metrics();
    m.recordsTransformed.inc({ stream: this.deps.inputStreamArn }, good.length);
    if (chunk.filtered > 0) {
      m.recordsFiltered.inc({ stream: this.deps.inputStreamArn }, chunk.filtered);
      this.progress.recordsFiltered += chunk.filtered;
      this.deps.counters.recordsFiltered += chunk.filtered;
    }
    // Stored before the checkpoint can pass these records.
    if (letters.length > 0) await this.deadLetters.store(letters);
    this.deps.checkpoints.markSubmitted(this.deps.shardId, last);
    const ticket = this.acknowledged.ticket(last);
    await this.deps.sink.reserve(good.length, this.lease.signal);
    // Records Kinesis refused for themselves are dead-lettered before the checkpoint may pass them.
    const done = this.deps.sink.write(good, this.lease).then((rejected) => rejected.length === 0 || this.deadLetters.storeRefused(rejected));
    this.acknowledged.follow(ticket, done);
  }

  /** Counts a record the previous owner had sent on already; past its last one, counting stops. */
  private countPossibleDuplicate(record: SourceRecord): void {
    if (comparePositions(record, this.replayUntil!) > 0) {
      this.replayUntil = undefined;
      return;
    }
    this.progress.recordsDuplicated += 1;
    this.deps.counters.recordsDuplicated += 1;
    metrics().recordsDuplicated.inc({ stream: this.deps.inputStreamArn, shard: this.deps.shardId });
  }

  private lost(reason: string): RunOutcome {
    this.lease.lose(reason);
    return { type: 'lost' };
  }
}
