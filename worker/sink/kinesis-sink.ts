/**
 * The batched sink: buffers transformed records and writes them to the output stream with
 * PutRecords, flushing on count, bytes or linger. A partial failure re-sends only the failed
 * entries; throttling pauses sending with jittered backoff. The buffer is bounded: `reserve` waits
 * while it is full, so a slow or throttled output slows the readers down instead of growing memory.
 *
 * Order: with `ordering: 'KEY'` (the default) a partition key has at most one *request* in flight, and
 * that request carries the key's pending run in order (see `nextOrderedBatch`), so a hot key moves up
 * to a full request per round-trip instead of one record. Kinesis writes a request's accepted records
 * to a shard in request order, and refused entries go back to the front of the queue, so a refused
 * suffix of a run keeps its place. The one case no sink can repair (there is no un-write) is a refused
 * record followed by an accepted one of its key in the same request: it is re-sent, lands after that
 * newer record, and is counted (`orderViolations`, `shardflow_sink_order_violations_total`) and logged.
 * With 'NONE' requests are filled in arrival order and a retried record may land after newer ones of
 * its key.
 *
 * With `aggregation: 'KPL'` the records of a request are packed into KPL aggregates by output shard
 * (`aggregation/aggregate-packer.ts`), each placed inside its shard's hash range; all of a key's
 * records in a request share one aggregate, which Kinesis writes or refuses whole, so per-key order
 * has no exception there. A write resolves when the aggregates holding its records are acknowledged.
 * An aggregate that lands on another shard than predicted (the stream was resharded) reloads the shard
 * map, and its records outside the landed shard's range are re-sent: a range-checking reader (KCL)
 * drops those copies, so it loses nothing; other readers see them twice (at-least-once).
 *
 * Records of a lease that was lost are dropped before they are sent: the new owner re-reads them.
 *
 * When a partial request goes (`flushMode`): a full request always goes at once, and no record waits
 * longer than `lingerMs`. With 'FIXED' a partial request waits for `lingerMs`. With 'ADAPTIVE' (the
 * configuration's default) it follows Nagle's algorithm: at most one partial request is in flight. At the end of the
 * event-loop turn that brought it (records written in the same turn go together) a partial request
 * goes at once unless another partial one is still unanswered; else it waits for that answer, which
 * takes everything that gathered meanwhile, for a full request, or for `lingerMs`. A lone record on an
 * idle sink so pays no linger, a steady stream of small writes costs about one request per round-trip,
 * not one per record, and under load the buffer fills to full requests as with 'FIXED' (an earlier
 * rule, a partial request with every answer, sent many small requests then and cost 15% of the
 * unthrottled rate). While the output pushes back (fewer requests allowed than `maxInFlightRequests`)
 * only an idle sink sends a partial request. Only the moment a request goes changes: what it carries (key runs, aggregates) is packed
 * as before, so per-key order, aggregation and congestion control hold as they are.
 *
 * A non-retryable answer (the output stream deleted, access or its KMS key denied, a validation error;
 * see `output-health.ts`) puts the sink into a *failing* state at once: `outputFailure` is set and
 * `accepting` is false. Records are never dropped for it: they wait and are retried by one request at a
 * time, at most `FAILING_RETRY_MAX_MS` apart, so writing resumes soon after the output is back; the first
 * accepted request ends the state. With `failOnError` the first such answer calls `onFatal` instead and
 * the sink sends nothing more. Throttling and transient errors are retried as before and never start it.
 *
 * Congestion control, as Flink's sink does it (AIMD): a throttled answer halves the number of requests
 * allowed in flight, each fully accepted one adds one back, up to `maxInFlightRequests`. Without it, a
 * throttled stream sees every pause end in a burst of 50 full requests that is refused again, and the
 * backoff climbs to its ceiling: the sink then delivers a fraction of what the stream would accept.
 */
import type { PutRecordsRequestEntry, PutRecordsResultEntry } from '@aws-sdk/client-kinesis';
import type { OutputStreamConfig } from '../../shared/config/app-config';
import type { RecordPutter, ShardLister, StreamPing } from '../../shared/aws/kinesis-gateway';
import { partitionKeyHash } from '../../shared/kpl/hash-key';
import { classifyKinesisError, describeError, isRequestRefusal, type KinesisErrorKind } from '../../shared/aws/kinesis-errors';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from '../../shared/backoff';
import type { Logger } from '../../shared/logging';
import type { OutputRecord } from '../../shared/records';
import { metrics } from '../../shared/metrics';
import { isFullBatch, nextBatchLength, nextOrderedBatch, recordSize, type BatchLimits } from './batch-packer';
import { overtakenEntries } from './key-order';
import { packAggregates } from './aggregation/aggregate-packer';
import { OutputShardMap } from './aggregation/output-shard-map';
import { inRange } from './aggregation/shard-ranges';
import { OutputHealth, type OutputFailure, type WaitingRecords } from './output-health';
import { RefusedRequests, type RefusalSink } from './refused-requests';
import type { RecordOwner, RejectedRecord, SinkPort } from './sink-port';
import { Waiters } from './waiters';

export type { OutputFailure } from './output-health';
export type { RecordOwner, RejectedRecord };

/** While the output fails, retries are at most this far apart (whatever `backoff.maxMs` says). */
export const FAILING_RETRY_MAX_MS = 5000;

export interface SinkSettings extends BatchLimits {
  lingerMs: number;
  /** ADAPTIVE: send a partial request when the sink is idle (see the header); FIXED: wait `lingerMs`. FIXED when unset here; the configuration's default is ADAPTIVE. */
  flushMode?: 'ADAPTIVE' | 'FIXED';
  maxInFlightRequests: number;
  maxBufferedRecords: number;
  /** KEY: at most one request per partition key in flight, carrying the key's run in order. Default KEY. */
  ordering?: 'KEY' | 'NONE';
  /** KPL: pack records into aggregated records by output shard. Default NONE. */
  aggregation?: 'NONE' | 'KPL';
  /** With KPL: the largest aggregate. */
  maxAggregateBytes?: number;
  backoff?: BackoffPolicy;
  /**
   * sink.fail-on-error: the first non-retryable PutRecords error calls `onFatal` and the sink sends
   * nothing more, instead of retrying until the output is back. Needs `onFatal`; without one the sink
   * retries (and says so once). Default false.
   */
  failOnError?: boolean;
}

/** What the process around the sink plugs in. */
export interface SinkOptions {
  /** With `failOnError`: called once, with the first non-retryable error; the worker exits non-zero. */
  onFatal?: (err: OutputStreamError) => void;
  /** The clock of the failure log lines and `outputFailure.since` (tests move it). Default Date.now. */
  now?: () => number;
}

/** A non-retryable PutRecords error of the output stream, as `onFatal` gets it. */
export class OutputStreamError extends Error {
  override readonly name = 'OutputStreamError';

  constructor(
    readonly streamArn: string,
    readonly kind: KinesisErrorKind,
    override readonly cause: unknown,
  ) {
    super(`PutRecords to ${streamArn} failed with a non-retryable error (${kind}): ${describeError(cause)}`);
  }
}

export function sinkSettings(output: OutputStreamConfig): SinkSettings {
  return {
    maxRecords: output.maxBatchRecords,
    maxBytes: output.maxBatchBytes,
    lingerMs: output.lingerMs,
    flushMode: output.flushMode,
    maxInFlightRequests: output.maxInFlightRequests,
    maxBufferedRecords: output.maxBufferedRecords,
    ordering: output.ordering,
    aggregation: output.aggregation,
    maxAggregateBytes: output.maxAggregateBytes,
    failOnError: output.failOnError,
  };
}

export interface SinkStats {
  recordsWritten: number;
  bytesWritten: number;
  requests: number;
  retriedRecords: number;
  throttledRecords: number;
  failedRequests: number;
  /** Unsent records dropped because their lease was lost or handed back (`abandon`). */
  droppedRecords: number;
  /** With KEY ordering: records that land after a newer record of their key (refused while it was accepted in the same request). */
  orderViolations: number;
  /** With KPL: Kinesis records written that were aggregates (the others carried one record each). */
  aggregatesWritten: number;
  /** With KPL: records re-sent because their aggregate landed on a shard whose range does not hold them (after a reshard). */
  misplacedRecords: number;
  /** Records Kinesis refused for themselves (found by bisection): their writers dead-letter them. */
  refusedRecords: number;
}

const NONE_REJECTED: readonly RejectedRecord[] = Object.freeze([]);

/**
 * One `write` call's records: resolved when every one of them is acknowledged by Kinesis or refused
 * for itself, with the refused ones (usually none).
 */
class WriteGroup {
  private remaining: number;
  readonly done: Promise<readonly RejectedRecord[]>;
  private resolve!: (rejected: readonly RejectedRecord[]) => void;
  private rejected: RejectedRecord[] | undefined;

  constructor(count: number) {
    this.remaining = count;
    this.done = new Promise((resolve) => (this.resolve = resolve));
    if (count === 0) this.resolve(NONE_REJECTED);
  }

  acknowledge(): void {
    this.remaining -= 1;
    if (this.remaining === 0) this.resolve(this.rejected ?? NONE_REJECTED);
  }

  reject(record: OutputRecord, reason: string): void {
    (this.rejected ??= []).push({ record, reason });
    this.acknowledge();
  }
}

interface Entry {
  readonly data: Uint8Array;
  readonly key: string;
  readonly explicitHashKey?: string;
  /** Where its input record lies, for the dead letter if Kinesis refuses this one for itself. */
  readonly inputSequenceNumber?: string;
  readonly inputSubSequenceNumber?: number;
  /** With KPL: the partition key's hash key, which picks the output shard (0n otherwise). */
  readonly hashKey: bigint;
  readonly size: number;
  readonly group: WriteGroup;
  readonly owner?: RecordOwner;
  /** PutRecords requests that carried it and did not get it accepted (for the failure log lines). */
  attempts: number;
  /** Overtaken by a newer record of its key already: counted once, however often that happens again. */
  late?: boolean;
}

/**
 * One PutRecords request: its entries and the records they carry, in order. Without KPL each entry
 * carries one record, entry i record i; so a plain request costs one request entry per record and no
 * more (a wrapper and an array per record, flattened back per request, were 2 % of a worker's CPU at
 * full speed).
 */
interface Request {
  readonly entries: PutRecordsRequestEntry[];
  readonly members: Entry[];
  /** With KPL: entry i carries `members` from `starts[i]` up to `starts[i + 1]` (one more start than entries). */
  readonly starts?: number[];
  /** With KPL: the shard each entry should land on. */
  readonly shardIds?: string[];
}

function requestEntry(entry: Entry): PutRecordsRequestEntry {
  return entry.explicitHashKey === undefined ? { Data: entry.data, PartitionKey: entry.key } : { Data: entry.data, PartitionKey: entry.key, ExplicitHashKey: entry.explicitHashKey };
}

function isAccepted(outcome: PutRecordsResultEntry | undefined): boolean {
  return Boolean(outcome && !outcome.ErrorCode && outcome.SequenceNumber);
}

export class KinesisSink implements SinkPort {
  readonly stats: SinkStats = { recordsWritten: 0, bytesWritten: 0, requests: 0, retriedRecords: 0, throttledRecords: 0, failedRequests: 0, droppedRecords: 0, orderViolations: 0, aggregatesWritten: 0, misplacedRecords: 0, refusedRecords: 0 };
  private pending: Entry[] = [];
  /** How many pending entries each writer has, so finding a lost lease's entries does not scan them all. */
  private readonly pendingByOwner = new Map<RecordOwner, number>();
  /** With KEY ordering: the partition keys of the requests in flight (one request per key). */
  private readonly inFlightKeys = new Set<string>();
  private pendingBytes = 0;
  /** Entries accepted and not yet acknowledged: pending, in flight or waiting to be retried. */
  private unacknowledged = 0;
  private inFlight = 0;
  /**
   * With KEY ordering: the pending entries before this position all belong to keys in flight, as the
   * last ordered scan, which took nothing, found. Until an answer frees a key or the front of the queue
   * changes, a new scan starts here: a hot key's request in flight otherwise had every write rescan the
   * whole buffer (25,000 entries) to find nothing, a cost per record that grew with the buffer.
   */
  private blockedUpTo = 0;
  /** Requests allowed in flight now: halved on throttling, grown by one per accepted request. */
  private inFlightLimit: number;
  private lingerTimer: NodeJS.Timeout | undefined;
  private lingerExpired = false;
  /** ADAPTIVE: the end of the current event-loop turn, when partial requests may go. */
  private turnEnd: NodeJS.Immediate | undefined;
  /** ADAPTIVE: an answer came back during the current turn. */
  private answeredThisTurn = false;
  /** ADAPTIVE: partial requests in flight (at most one, but for ones sent by a flush or the linger). */
  private partialsInFlight = 0;
  private pausedUntil = 0;
  private pauseTimer: NodeJS.Timeout | undefined;
  private throttleStreak = 0;
  private readonly flushWaiters = new Waiters();
  private readonly roomWaiters = new Waiters();
  private closed = false;
  /** Owners whose lease was handed back: their unsent records leave the buffer, as a lost lease's do. */
  private readonly abandoned = new WeakSet<RecordOwner>();
  private readonly health: OutputHealth;
  /** With failOnError, after the first non-retryable error: nothing more is sent. */
  private halted = false;
  /** With KPL: the output's shard ranges. */
  private readonly shardMap: OutputShardMap | undefined;
  private shardMapLoading = false;
  /** Requests refused whole for what they carry, bisected to the records at fault. */
  private readonly refusals: RefusedRequests<Entry>;

  /** With `aggregation: 'KPL'` the putter must also list shards (the gateway does both); `ping` lets a bisection ask the stream. */
  constructor(
    private readonly putter: RecordPutter & Partial<ShardLister> & Partial<StreamPing>,
    private readonly streamArn: string,
    private readonly settings: SinkSettings,
    private readonly log: Logger,
    private readonly options: SinkOptions = {},
  ) {
    this.inFlightLimit = settings.maxInFlightRequests;
    this.health = new OutputHealth(log, () => this.waitingRecords(), options.now);
    this.refusals = new RefusedRequests(this.refusalSink(), log, options.now);
    if (settings.failOnError && !options.onFatal) log.warn('sink.fail-on-error is set but nothing stops the process on a failure here; non-retryable PutRecords errors are retried instead');
    if (settings.aggregation === 'KPL') {
      if (!putter.listShards) throw new Error('KPL aggregation needs a putter that lists shards');
      this.shardMap = new OutputShardMap(putter as ShardLister, streamArn);
    }
  }

  private get adaptive(): boolean {
    return this.settings.flushMode === 'ADAPTIVE';
  }

  private get perKey(): boolean {
    return this.settings.ordering !== 'NONE';
  }

  /** Requests currently allowed in flight. */
  get requestLimit(): number {
    return this.inFlightLimit;
  }

  /** True while the output pushes back: throttled recently (fewer requests allowed), pausing to retry, or failing. */
  get congested(): boolean {
    return this.inFlightLimit < this.settings.maxInFlightRequests || Date.now() < this.pausedUntil || this.health.failing;
  }

  /**
   * Undefined while the output takes writes; else since when it fails, with what error, and how many
   * attempts failed since. Set in the same tick as the first non-retryable answer (`/readyz` reads it).
   */
  get outputFailure(): OutputFailure | undefined {
    return this.health.failure;
  }

  /** False while the output fails: readers should not read more (see `waitUntilAccepting`). */
  get accepting(): boolean {
    return !this.health.failing;
  }

  /**
   * Resolves when the output takes writes again (at once if it does), or when the signal aborts. It
   * never resolves by itself after `failOnError` stopped the sink.
   */
  waitUntilAccepting(signal?: AbortSignal): Promise<void> {
    return this.health.waitUntilHealthy(signal);
  }

  /** How many more records the buffer takes before `reserve` waits. */
  get room(): number {
    return Math.max(0, this.settings.maxBufferedRecords - this.unacknowledged);
  }

  /** Records accepted but not yet acknowledged. */
  get buffered(): number {
    return this.unacknowledged;
  }

  /**
   * Waits until the buffer has room for `count` more records (a request larger than the whole buffer
   * is let in once the buffer is empty), or the signal aborts.
   */
  async reserve(count: number, signal?: AbortSignal): Promise<void> {
    while (!signal?.aborted && !this.hasRoom(count)) await this.roomWaiters.wait(signal);
  }

  private hasRoom(count: number): boolean {
    return this.unacknowledged === 0 || this.unacknowledged + count <= this.settings.maxBufferedRecords;
  }

  /**
   * Queues records; the returned promise resolves once Kinesis has acknowledged each of them or refused
   * it for itself (found by bisection; the refused ones are what it resolves with, for their writer to
   * dead-letter). It never resolves for records dropped because `owner` lost its lease.
   */
  write(records: readonly OutputRecord[], owner?: RecordOwner): Promise<readonly RejectedRecord[]> {
    if (this.closed) throw new Error('sink is closed');
    if (owner) this.abandoned.delete(owner);
    const group = new WriteGroup(records.length);
    for (const record of records) {
      const size = recordSize(record.partitionKey, record.data);
      const hashKey = this.shardMap ? partitionKeyHash(record.partitionKey) : 0n;
      const entry: Entry = { data: record.data, key: record.partitionKey, hashKey, size, group, owner, attempts: 0, inputSequenceNumber: record.inputSequenceNumber, inputSubSequenceNumber: record.inputSubSequenceNumber };
      if (record.explicitHashKey !== undefined) (entry as { explicitHashKey?: string }).explicitHashKey = record.explicitHashKey;
      this.pending.push(entry);
      this.pendingBytes += size;
    }
    if (owner && records.length > 0) this.pendingByOwner.set(owner, (this.pendingByOwner.get(owner) ?? 0) + records.length);
    this.unacknowledged += records.length;
    if (this.pending.length > 0 && !this.lingerTimer && !this.lingerExpired) {
      this.lingerTimer = setTimeout(() => {
        this.lingerTimer = undefined;
        this.lingerExpired = true;
        this.pump();
      }, this.settings.lingerMs);
    }
    this.pump();
    if (this.adaptive && records.length > 0) this.endTurnLater();
    return group.done;
  }

  /**
   * Sends everything buffered now and resolves when nothing is left unacknowledged, or when the signal
   * aborts (while the output fails, say): then the records not acknowledged stay so, and their `write`
   * promises stay pending, so nothing is checkpointed past them.
   */
  flush(signal?: AbortSignal): Promise<void> {
    if (this.unacknowledged === 0) return Promise.resolve();
    this.lingerExpired = true;
    this.pump();
    if (this.unacknowledged === 0) return Promise.resolve();
    return this.flushWaiters.wait(signal);
  }

  /**
   * The owner's lease was handed back: its unsent records leave the buffer at once (their `write`
   * promises never resolve; the next owner re-reads them) and free their room. Its records in flight
   * finish; if they come back for a retry, they are dropped then. A later `write` by the owner is kept.
   * Returns how many records were removed.
   */
  abandon(owner: RecordOwner): number {
    const before = this.stats.droppedRecords;
    this.abandoned.add(owner);
    this.dropLost();
    return this.stats.droppedRecords - before;
  }

  /** Stops timers and sending (answers of requests in flight are still taken); call after flush. */
  close(): void {
    this.closed = true;
    clearTimeout(this.lingerTimer);
    clearImmediate(this.turnEnd);
    clearTimeout(this.pauseTimer);
  }

  /** ADAPTIVE: looks at the pending records once the current turn's writes and answers are in. */
  private endTurnLater(): void {
    if (this.turnEnd || this.closed) return;
    this.turnEnd = setImmediate(() => this.endTurn());
  }

  /**
   * ADAPTIVE, at the end of a turn: a partial request goes when nothing is in flight, or when no other
   * partial request is (unless the output pushes back). Otherwise the records wait for the next answer
   * (which looks again), a full request or the linger timer.
   */
  private endTurn(): void {
    this.turnEnd = undefined;
    const answered = this.answeredThisTurn;
    this.answeredThisTurn = false;
    if (this.pending.length === 0) return;
    const pushedBack = this.inFlightLimit < this.settings.maxInFlightRequests;
    if (this.inFlight === 0 || (this.partialsInFlight === 0 && !pushedBack && (answered || this.inFlight < this.inFlightLimit))) this.pump(true);
  }

  /** Sends full requests while there is room; partial ones too when the linger ran out, on flush, or when `eager`. */
  private pump(eager = false): void {
    if (this.closed || this.halted) return;
    if (Date.now() < this.pausedUntil) return;
    if (this.shardMap && !this.shardMap.ranges) return this.loadShardMap();
    this.dropLost();
    while (this.inFlight < this.inFlightLimit && this.pending.length > 0) {
      const full = isFullBatch(this.pending.length, this.pendingBytes, this.settings);
      const flushing = eager || this.lingerExpired || this.flushWaiters.size > 0;
      if (!flushing && !full) break;
      const request = this.takeBatch();
      if (!request) break; // every pending key is in flight: wait for an answer
      for (const entry of request.members) this.pendingBytes -= entry.size;
      // Nagle: one partial request per eager pump; what gathers meanwhile waits for its answer.
      if (!full) eager = false;
      void this.send(request, !full);
    }
    if (this.pending.length === 0) {
      // The next record starts a new linger period.
      this.lingerExpired = false;
      clearTimeout(this.lingerTimer);
      this.lingerTimer = undefined;
    }
    // After the sends above, so an idle sink means nothing could be sent (see RefusalSink.idle).
    this.refusals.pump();
  }

  /** The first shard map comes before the first aggregate; a failed load is retried after a backoff. */
  private loadShardMap(): void {
    if (this.shardMapLoading) return;
    this.shardMapLoading = true;
    this.shardMap!.refresh().then(
      () => {
        this.shardMapLoading = false;
        this.pump();
        if (this.adaptive) this.endTurnLater();
      },
      (err: unknown) => {
        this.shardMapLoading = false;
        this.throttleStreak += 1;
        const kind = classifyKinesisError(err);
        if (kind === 'fatal' || kind === 'not-found') {
          if (this.nonRetryable(err, kind)) return;
        } else if (this.health.failing) {
          this.health.attemptFailed();
        } else {
          this.log.warn({ err: describeError(err) }, 'ListShards of the output stream failed; retrying before sending');
        }
        this.pause(backoffDelay(this.throttleStreak - 1, this.retryBackoff()));
      },
    );
  }

  /** The next request's records, taken out of the buffer; undefined when none may go now. */
  private takeBatch(): Request | undefined {
    if (this.shardMap) return this.takeAggregates();
    const batch = this.perKey ? this.takeOrderedBatch() : this.pending.splice(0, nextBatchLength(this.pending, this.settings));
    if (batch.length === 0) return undefined;
    this.countTaken(batch);
    const entries = new Array<PutRecordsRequestEntry>(batch.length);
    for (let i = 0; i < batch.length; i++) entries[i] = requestEntry(batch[i]);
    return { entries, members: batch };
  }

  private takeAggregates(): Request | undefined {
    const limits = { maxRecords: this.settings.maxRecords, maxBytes: this.settings.maxBytes, maxAggregateBytes: this.settings.maxAggregateBytes ?? 51_200 };
    const packed = packAggregates(this.pending, this.shardMap!.ranges!, limits, this.perKey, this.inFlightKeys);
    if (packed.length === 0) return undefined;
    const taken = new Set<number>();
    const request = { entries: [] as PutRecordsRequestEntry[], members: [] as Entry[], starts: [] as number[], shardIds: [] as string[] };
    for (const p of packed) {
      request.entries.push(p.request);
      request.shardIds.push(p.shard.shardId);
      request.starts.push(request.members.length);
      for (const i of p.positions) {
        taken.add(i);
        request.members.push(this.pending[i]);
      }
    }
    request.starts.push(request.members.length);
    if (taken.size === this.pending.length) this.pending = [];
    // A prefix (a hot key's run is one) is cut off without copying what stays.
    else if (taken.size > 0 && [...taken].every((i) => i < taken.size)) this.pending.splice(0, taken.size);
    else if (taken.size > 0) this.pending = this.pending.filter((_, i) => !taken.has(i));
    this.countTaken(request.members);
    if (this.perKey) for (const entry of request.members) this.inFlightKeys.add(entry.key);
    return request;
  }

  private countTaken(batch: readonly Entry[]): void {
    for (const entry of batch) {
      if (!entry.owner) continue;
      const left = this.pendingByOwner.get(entry.owner)! - 1;
      if (left === 0) this.pendingByOwner.delete(entry.owner);
      else this.pendingByOwner.set(entry.owner, left);
    }
  }

  private takeOrderedBatch(): Entry[] {
    const positions = nextOrderedBatch(this.pending, this.settings, this.inFlightKeys, Math.min(this.blockedUpTo, this.pending.length));
    if (positions.length === 0) {
      this.blockedUpTo = this.pending.length;
      return [];
    }
    this.blockedUpTo = 0;
    let batch: Entry[];
    if (positions.length === this.pending.length) {
      batch = this.pending.splice(0);
    } else if (positions[positions.length - 1] === positions.length - 1) {
      // A prefix (a hot key's run is one): cut it off without copying what stays.
      batch = this.pending.splice(0, positions.length);
    } else {
      // One pass: positions are ascending, so the kept entries are the gaps between them.
      batch = new Array<Entry>(positions.length);
      const kept: Entry[] = [];
      let next = 0;
      for (let i = 0; i < this.pending.length; i++) {
        if (next < positions.length && positions[next] === i) batch[next++] = this.pending[i];
        else kept.push(this.pending[i]);
      }
      this.pending = kept;
    }
    for (const entry of batch) this.inFlightKeys.add(entry.key);
    return batch;
  }

  private isGone(owner: RecordOwner | undefined): boolean {
    return owner !== undefined && (owner.isLost || this.abandoned.has(owner));
  }

  /** Unsent records of lost or handed-back leases leave the buffer; their writers have stopped waiting for them. */
  private dropLost(): void {
    let anyLost = false;
    for (const owner of this.pendingByOwner.keys()) {
      if (this.isGone(owner)) {
        anyLost = true;
        this.pendingByOwner.delete(owner);
      }
    }
    if (!anyLost) return;
    const kept: Entry[] = [];
    for (const entry of this.pending) {
      if (this.isGone(entry.owner)) {
        this.pendingBytes -= entry.size;
        this.unacknowledged -= 1;
        this.stats.droppedRecords += 1;
      } else {
        kept.push(entry);
      }
    }
    this.pending = kept;
    this.blockedUpTo = 0;
    this.settle();
  }

  private async send(request: Request, partial = false): Promise<void> {
    this.inFlight += 1;
    if (partial) this.partialsInFlight += 1;
    this.stats.requests += 1;
    const batch = request.members;
    let retry: Entry[] = [];
    let throttled = false;
    /** Refused whole for what it carries: its records went to the bisection, keys still held. */
    let bisected = false;
    /** A non-retryable error of the whole request. */
    let fatal: { err: unknown; kind: KinesisErrorKind } | undefined;
    const m = metrics();
    const stopTimer = m.putRecordsDuration.startTimer();
    try {
      const result = await this.putter.putRecords(this.streamArn, request.entries);
      stopTimer();
      const elsewhere: Array<{ members: Entry[]; shardId: string }> = [];
      for (let i = 0; i < request.entries.length; i++) {
        const outcome = result.entries[i];
        // The records entry i carried, as positions in `batch`.
        const start = request.starts ? request.starts[i] : i;
        const end = request.starts ? request.starts[i + 1] : i + 1;
        if (!isAccepted(outcome)) {
          for (let k = start; k < end; k++) retry.push(batch[k]);
          if (outcome?.ErrorCode === 'ProvisionedThroughputExceededException') throttled = true;
        } else if (request.shardIds && outcome!.ShardId !== undefined && outcome!.ShardId !== request.shardIds[i]) {
          elsewhere.push({ members: batch.slice(start, end), shardId: outcome!.ShardId });
        } else {
          this.acknowledgeCarried(batch, start, end);
        }
      }
      if (elsewhere.length > 0) retry.push(...(await this.checkLandedElsewhere(elsewhere)));
      m.recordsWritten.inc({ stream: this.streamArn }, batch.length - retry.length);
      if (retry.length < batch.length) this.refusals.noteAccepted();
      if (retry.length > 0) {
        // Without KPL, entry i is record i.
        if (retry.length < batch.length && this.perKey && !this.shardMap) this.countOrderViolations(batch, batch.map((_, i) => isAccepted(result.entries[i])));
        this.stats.retriedRecords += retry.length;
        m.putRecordsRetried.inc(retry.length);
        if (throttled) {
          this.stats.throttledRecords += retry.length;
          m.putRecordsThrottled.inc(retry.length);
        }
        this.log.debug({ failed: retry.length, of: batch.length, code: result.entries.find((e) => e.ErrorCode)?.ErrorCode }, 'PutRecords partial failure; re-sending the failed entries');
      }
    } catch (err) {
      stopTimer();
      this.stats.failedRequests += 1;
      if (isRequestRefusal(err) && !this.failingWith(err)) {
        // About its records until shown otherwise: bisected, not retried as it is.
        bisected = true;
        this.refusals.add(batch, err);
        return;
      }
      retry = batch;
      this.stats.retriedRecords += batch.length;
      m.putRecordsRetried.inc(batch.length);
      const kind = classifyKinesisError(err);
      throttled = kind === 'throttled';
      if (throttled) {
        this.stats.throttledRecords += batch.length;
        m.putRecordsThrottled.inc(batch.length);
      }
      // Non-retryable errors and retries while failing are logged by the output health, once a minute.
      if (kind === 'fatal' || kind === 'not-found') fatal = { err, kind };
      else if (!this.health.failing) this.log.warn({ err: describeError(err), kind, records: batch.length }, 'PutRecords failed; the whole request will be retried');
    } finally {
      this.inFlight -= 1;
      if (partial) this.partialsInFlight -= 1;
      if (this.perKey && !bisected) for (const entry of batch) this.inFlightKeys.delete(entry.key);
      this.blockedUpTo = 0;
      if (bisected) this.pump();
    }
    if (retry.length > 0) {
      for (const entry of retry) entry.attempts += 1;
      // Back to the front, in their original order, so they go out before anything newer.
      this.pending.unshift(...retry);
      for (const entry of retry) {
        this.pendingBytes += entry.size;
        if (entry.owner) this.pendingByOwner.set(entry.owner, (this.pendingByOwner.get(entry.owner) ?? 0) + 1);
      }
      if (throttled) this.inFlightLimit = Math.max(1, Math.floor(this.inFlightLimit / 2));
    }
    // Any accepted record shows the output takes writes; a request refused whole proves nothing.
    if (retry.length < batch.length) {
      this.health.succeeded();
    } else if (fatal) {
      if (this.nonRetryable(fatal.err, fatal.kind)) return this.settle();
    } else {
      this.health.attemptFailed(); // retryable, while failing or not (counted only while failing)
    }
    if (retry.length > 0) {
      // The answers of one burst count as one step of the backoff, not one step each.
      if (Date.now() >= this.pausedUntil) {
        this.throttleStreak += 1;
        this.pause(backoffDelay(this.throttleStreak - 1, this.retryBackoff()) + (throttled ? 50 : 0));
      }
    } else {
      this.throttleStreak = 0;
      this.inFlightLimit = Math.min(this.settings.maxInFlightRequests, this.inFlightLimit + 1);
      this.pump();
      if (this.adaptive && this.pending.length > 0) {
        this.answeredThisTurn = true;
        this.endTurnLater();
      }
    }
    this.settle();
  }

  /** While the output fails with this very answer, a refusal is one more failed attempt, not a new bisection. */
  private failingWith(err: unknown): boolean {
    return this.health.failing && this.health.failure?.error === describeError(err);
  }

  /** What the bisection of refused requests may do to this sink's entries. */
  private refusalSink(): RefusalSink<Entry> {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the getters below read the sink's state
    const sink = this;
    return {
      put: (entries) => {
        this.stats.requests += 1;
        return this.putter.putRecords(this.streamArn, entries.map(requestEntry));
      },
      acknowledge: (entry) => {
        this.health.succeeded();
        metrics().recordsWritten.inc({ stream: this.streamArn });
        this.acknowledge(entry);
      },
      reject: (entry, reason) => {
        if (this.isGone(entry.owner)) return this.dropEntries([entry]);
        this.unacknowledged -= 1;
        this.stats.refusedRecords += 1;
        const record: OutputRecord = { partitionKey: entry.key, data: entry.data, inputSequenceNumber: entry.inputSequenceNumber, inputSubSequenceNumber: entry.inputSubSequenceNumber };
        if (entry.explicitHashKey !== undefined) record.explicitHashKey = entry.explicitHashKey;
        entry.group.reject(record, reason);
        this.settle();
      },
      release: (entries) => {
        if (this.perKey) for (const entry of entries) this.inFlightKeys.delete(entry.key);
        this.blockedUpTo = 0;
      },
      requeue: (entries) => {
        if (entries.length === 0) return;
        this.pending.unshift(...entries);
        for (const entry of entries) {
          this.pendingBytes += entry.size;
          if (entry.owner) this.pendingByOwner.set(entry.owner, (this.pendingByOwner.get(entry.owner) ?? 0) + 1);
        }
      },
      isGone: (entry) => this.isGone(entry.owner),
      drop: (entries) => this.dropEntries(entries),
      streamFailed: (err, kind) => {
        if (this.nonRetryable(err, kind)) return this.settle();
        this.throttleStreak += 1;
        this.pause(backoffDelay(this.throttleStreak - 1, this.retryBackoff()));
      },
      backOff: (throttled) => {
        if (throttled) this.inFlightLimit = Math.max(1, Math.floor(this.inFlightLimit / 2));
        if (Date.now() < this.pausedUntil) return;
        this.throttleStreak += 1;
        this.pause(backoffDelay(this.throttleStreak - 1, this.retryBackoff()) + (throttled ? 50 : 0));
      },
      get paused() {
        return sink.closed || sink.halted || Date.now() < sink.pausedUntil;
      },
      // Nothing in flight after a pump: what waits is held back (by the refused record's own key, say,
      // when every record has one key, as stock.py writes them) and will not decide anything.
      get idle() {
        return sink.inFlight === 0;
      },
      probe: this.putter.ping ? () => this.putter.ping!(this.streamArn) : undefined,
    };
  }

  /** Entries of gone leases that leave without being sent. */
  private dropEntries(entries: readonly Entry[]): void {
    this.unacknowledged -= entries.length;
    this.stats.droppedRecords += entries.length;
    this.settle();
  }

  /**
   * A non-retryable answer: the output fails from now on (logged by the health, once a minute). With
   * failOnError the sink stops and hands the error on; else one request at a time probes the output.
   * Returns true when the sink stopped.
   */
  private nonRetryable(err: unknown, kind: KinesisErrorKind): boolean {
    this.health.nonRetryable(err, kind);
    if (this.settings.failOnError && this.options.onFatal) {
      if (this.halted) return true;
      this.halted = true;
      clearTimeout(this.pauseTimer);
      try {
        this.options.onFatal(new OutputStreamError(this.streamArn, kind, err));
      } catch (callbackErr) {
        this.log.error({ err: describeError(callbackErr) }, 'the sink\'s onFatal callback threw');
      }
      return true;
    }
    this.inFlightLimit = 1;
    return false;
  }

  /** The backoff of retries: capped at FAILING_RETRY_MAX_MS while the output fails. */
  private retryBackoff(): BackoffPolicy | undefined {
    if (!this.health.failing) return this.settings.backoff;
    const policy = this.settings.backoff ?? DEFAULT_BACKOFF;
    return { baseMs: Math.min(policy.baseMs, FAILING_RETRY_MAX_MS), maxMs: Math.min(policy.maxMs, FAILING_RETRY_MAX_MS) };
  }

  /** For the failure log lines: what waits, and the most attempts a waiting record has had. */
  private waitingRecords(): WaitingRecords {
    let maxAttempts = 0;
    for (const entry of this.pending) if (entry.attempts > maxAttempts) maxAttempts = entry.attempts;
    return { records: this.unacknowledged, maxAttempts };
  }

  /**
   * Refused records overtaken by an accepted record of their key in the same request land late once
   * re-sent; nothing can move the accepted one back, so the break is counted and logged, never hidden.
   */
  private countOrderViolations(batch: readonly Entry[], accepted: readonly boolean[]): void {
    const overtaken = overtakenEntries(batch.map((entry) => entry.key), accepted).filter((i) => !batch[i].late);
    if (overtaken.length === 0) return;
    for (const i of overtaken) batch[i].late = true;
    this.stats.orderViolations += overtaken.length;
    metrics().sinkOrderViolations.inc(overtaken.length);
    const keys = [...new Set(overtaken.map((i) => batch[i].key))];
    this.log.warn({ records: overtaken.length, keys: keys.slice(0, 5), moreKeys: Math.max(0, keys.length - 5) }, 'per-key order broken: Kinesis refused records but accepted newer ones of the same key in the same request; the refused ones are re-sent and land after them');
  }

  /** The records one accepted entry carried, `members` from `start` up to `end`. */
  private acknowledgeCarried(members: readonly Entry[], start = 0, end = members.length): void {
    if (end - start > 1) this.stats.aggregatesWritten += 1;
    for (let k = start; k < end; k++) this.acknowledge(members[k]);
  }

  /**
   * Aggregates that landed on another shard than predicted: the stream was resharded. The shard map is
   * reloaded; records inside the landed shard's range are acknowledged, the others are returned to be
   * re-sent (a range-checking reader drops them there). All of a key's records share one hash key, so
   * a key's run is kept or re-sent whole and its order holds.
   */
  private async checkLandedElsewhere(landed: ReadonlyArray<{ members: Entry[]; shardId: string }>): Promise<Entry[]> {
    const resend: Entry[] = [];
    let ranges;
    try {
      ranges = await this.shardMap!.refresh();
    } catch (err) {
      // Unknown ranges: nothing can be judged in range, so everything is re-sent (duplicates, no loss).
      this.log.warn({ err: describeError(err) }, 'ListShards of the output stream failed after a put landed on an unexpected shard; re-sending its records');
    }
    for (const { members, shardId } of landed) {
      const range = ranges?.shard(shardId);
      const misplaced = members.filter((entry) => !range || !inRange(range, entry.hashKey));
      if (misplaced.length === 0) {
        this.acknowledgeCarried(members);
        continue;
      }
      if (members.length > 1) this.stats.aggregatesWritten += 1;
      for (const entry of members) if (!misplaced.includes(entry)) this.acknowledge(entry);
      this.stats.misplacedRecords += misplaced.length;
      metrics().sinkMisplacedRecords.inc(misplaced.length);
      resend.push(...misplaced);
    }
    this.log.info({ shards: ranges?.size, predictedElsewhere: landed.length, misplaced: resend.length }, 'a put landed on an unexpected shard: the output stream was resharded; shard map reloaded');
    return resend;
  }

  private acknowledge(entry: Entry): void {
    this.unacknowledged -= 1;
    this.stats.recordsWritten += 1;
    this.stats.bytesWritten += entry.size;
    entry.group.acknowledge();
  }

  private pause(ms: number): void {
    if (this.closed) return;
    this.pausedUntil = Math.max(this.pausedUntil, Date.now() + ms);
    clearTimeout(this.pauseTimer);
    this.pauseTimer = setTimeout(() => {
      this.pauseTimer = undefined;
      // Timers may fire a little before Date.now() reaches pausedUntil; the pause is over either way.
      this.pausedUntil = 0;
      this.lingerExpired = true; // retries do not wait for another linger period
      this.pump();
    }, this.pausedUntil - Date.now());
  }

  /** Wakes writers waiting for room and flushers waiting for an empty buffer. */
  private settle(): void {
    this.roomWaiters.wakeAll();
    if (this.unacknowledged === 0) this.flushWaiters.wakeAll();
  }
}
