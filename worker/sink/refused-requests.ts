/**
 * What the sink does with PutRecords requests Kinesis refused whole with `ValidationException` or
 * `InvalidArgumentException`: bisects them one at a time (`bisection.ts`), sending the halves as
 * plain requests (one entry per record, even with KPL aggregation: a refusal there is rare, and plain
 * records need no shard prediction), one sub-request at a time, and carries out each verdict:
 *
 * - records: each record refused alone is rejected with Kinesis's message (its writer dead-letters it);
 *   the rest were acknowledged on the way;
 * - stream: the records go back to the front of the queue and the output fails, as for any answer
 *   about the stream (`output-health.ts`);
 * - undecided (a request of one record, nothing accepted meanwhile): the record waits, keeping its
 *   key's place, for the sink's other traffic to decide: any accepted request rejects it. With nothing
 *   else in flight, one cheap call (ListShards of one shard) asks the stream itself: if it answers, the
 *   record is at fault; if it is not found or access is denied, the output fails.
 *
 * Keys of the records under bisection stay in flight until their verdict, so a newer record of such a
 * key never overtakes them. The sink stays the owner of its entries and their counts; this class only
 * decides and calls back.
 */
import type { PutRecordsResultEntry } from '@aws-sdk/client-kinesis';
import type { PutRecordsResult } from '../../shared/aws/kinesis-gateway';
import { classifyKinesisError, describeError, isRequestRefusal, type KinesisErrorKind } from '../../shared/aws/kinesis-errors';
import type { Clock } from '../../shared/clock';
import { LogThrottle } from '../../shared/log-throttle';
import type { Logger } from '../../shared/logging';
import { metrics } from '../../shared/metrics';
import { Bisection, type RefusedItem } from './bisection';

/** What the sink lends the bisection. */
export interface RefusalSink<E> {
  /** One plain PutRecords request carrying these records, in order. */
  put(entries: readonly E[]): Promise<PutRecordsResult>;
  acknowledge(entry: E): void;
  /** The record is refused for itself: its write resolves with it among the rejected. */
  reject(entry: E, reason: string): void;
  /** The record's lease was lost or handed back: it must not be sent. */
  isGone(entry: E): boolean;
  /** Records of gone leases leave without being sent (their writers stopped waiting). */
  drop(entries: readonly E[]): void;
  /** The stream is at fault: these go back to the front of the queue, in this order. */
  requeue(entries: readonly E[]): void;
  /** These records' keys may have a request in flight again. */
  release(entries: readonly E[]): void;
  /** The output fails from now on (a non-retryable answer about the stream). */
  streamFailed(err: unknown, kind: KinesisErrorKind): void;
  /** A retryable answer: the sink pauses with backoff and calls `pump` when the pause ends. */
  backOff(throttled: boolean): void;
  /** The sink is pausing or stopped: send nothing now. */
  readonly paused: boolean;
  /** Nothing else is in flight (whatever waits is held back): no other traffic will decide an undecided record. */
  readonly idle: boolean;
  /** One cheap call that succeeds when the output stream exists and answers. */
  probe?(): Promise<void>;
}

const isAccepted = (outcome: PutRecordsResultEntry | undefined): boolean => Boolean(outcome && !outcome.ErrorCode && outcome.SequenceNumber);

/** At most one warning line per this period about records refused by Kinesis. */
export const REFUSAL_LOG_INTERVAL_MS = 10_000;

interface Session<E> {
  readonly bisection: Bisection<E>;
  /** The last refusal seen in it (for the failing state's error). */
  lastError: unknown;
}

export class RefusedRequests<E> {
  private readonly sessions: Array<Session<E>> = [];
  private undecided: Array<RefusedItem<E>> = [];
  /** A sub-request or a probe is out. */
  private busy = false;
  private readonly logThrottle: LogThrottle;

  constructor(
    private readonly sink: RefusalSink<E>,
    private readonly log: Logger,
    clock: Clock,
    /** The `output` label of its metrics. */
    private readonly output = 'OutputStream0',
  ) {
    this.logThrottle = new LogThrottle(REFUSAL_LOG_INTERVAL_MS, clock);
  }

  /**
   * A request refused whole with a refusal (`isRequestRefusal`); its records' keys are still in flight.
   * It is bisected on its own even when an undecided lone record was refused the same way: two lone
   * records of a key refused alike (a message naming the entry's index says the same for both) are no
   * proof that the stream is at fault, and a wrong "stream" would hold them, and their key, for good.
   */
  add(entries: readonly E[], err: unknown): void {
    this.sessions.push({ bisection: new Bisection(entries, describeError(err)), lastError: err });
    this.pump();
  }

  /** Another request of the sink got records accepted: the stream takes writes. */
  noteAccepted(): void {
    for (const s of this.sessions) s.bisection.noteAccepted();
    if (this.undecided.length > 0) {
      const decided = this.undecided;
      this.undecided = [];
      this.rejectAll(decided);
    }
  }

  /** Sends the next sub-request, concludes a settled bisection, or probes for an undecided record. */
  pump(): void {
    if (this.sessions.length === 0 && this.undecided.length === 0) return;
    while (!this.busy && !this.sink.paused) {
      const session = this.sessions[0];
      if (session === undefined) {
        if (this.undecided.length > 0 && this.sink.idle) this.probe();
        return;
      }
      const batch = session.bisection.next();
      if (batch !== undefined) {
        this.busy = true;
        void this.send(session, batch);
        return;
      }
      if (!session.bisection.settled) return;
      this.sessions.shift();
      this.conclude(session);
    }
  }

  private async send(session: Session<E>, taken: E[]): Promise<void> {
    const { bisection } = session;
    // A lost lease's records are never sent: its new owner reads them again.
    const gone = taken.filter((entry) => this.sink.isGone(entry));
    const batch = gone.length === 0 ? taken : taken.filter((entry) => !this.sink.isGone(entry));
    if (gone.length > 0) {
      this.sink.drop(gone);
      bisection.discard(gone);
    }
    if (batch.length === 0) {
      bisection.answered([]);
      this.busy = false;
      this.pump();
      return;
    }
    try {
      const result = await this.sink.put(batch);
      const accepted: E[] = [];
      const again: E[] = [];
      let throttled = false;
      for (let i = 0; i < batch.length; i++) {
        if (isAccepted(result.entries[i])) {
          accepted.push(batch[i]);
          this.sink.acknowledge(batch[i]);
        } else {
          again.push(batch[i]);
          if (result.entries[i]?.ErrorCode === 'ProvisionedThroughputExceededException') throttled = true;
        }
      }
      bisection.answered(accepted, again);
      if (accepted.length > 0) this.noteAccepted();
      if (again.length > 0) this.sink.backOff(throttled);
    } catch (err) {
      const kind = classifyKinesisError(err);
      if (isRequestRefusal(err)) {
        session.lastError = err;
        bisection.refusedWhole(describeError(err));
      } else if (kind === 'fatal' || kind === 'not-found') {
        bisection.answered([], batch);
        this.busy = false;
        this.failStream(err, []);
        return;
      } else {
        bisection.answered([], batch);
        this.sink.backOff(kind === 'throttled');
      }
    }
    this.busy = false;
    this.pump();
  }

  private conclude(session: Session<E>): void {
    const verdict = session.bisection.verdict();
    const items = session.bisection.items;
    if (verdict.type === 'stream') {
      metrics().sinkBisections.inc({ output: this.output, verdict: 'stream' });
      this.log.error({ records: items.length, err: verdict.error }, 'PutRecords refused every record of a request alone, the same way, with nothing accepted: the answer is about the output stream, not its records');
      this.sessions.unshift(session);
      this.failStream(session.lastError, []);
      return;
    }
    if (verdict.type === 'undecided') {
      this.undecided.push(...verdict.rejected);
      return;
    }
    metrics().sinkBisections.inc({ output: this.output, verdict: 'records' });
    this.rejectAll(verdict.rejected);
    this.sink.release(items);
  }

  /** Asks the stream itself whether it answers, for the records nothing else can decide. */
  private probe(): void {
    if (!this.sink.probe) {
      // Nothing to ask: a record refused alone is taken to be at fault, as the message says.
      const decided = this.undecided;
      this.undecided = [];
      this.rejectAll(decided);
      return;
    }
    this.busy = true;
    this.sink.probe().then(
      () => {
        this.busy = false;
        const decided = this.undecided;
        this.undecided = [];
        this.rejectAll(decided);
        this.pump();
      },
      (err: unknown) => {
        this.busy = false;
        const kind = classifyKinesisError(err);
        if (kind === 'fatal' || kind === 'not-found') {
          this.failStream(err, []);
          return;
        }
        this.sink.backOff(kind === 'throttled');
      },
    );
  }

  private rejectAll(rejected: ReadonlyArray<RefusedItem<E>>): void {
    if (rejected.length === 0) return;
    for (const { item, error } of rejected) this.sink.reject(item, `refused by Kinesis: ${error}`);
    metrics().sinkRefusedRecords.inc({ output: this.output }, rejected.length);
    this.sink.release(rejected.map((r) => r.item));
    const lines = this.logThrottle.take(rejected.length);
    if (lines !== undefined) this.log.warn({ records: lines, err: rejected[0].error }, 'PutRecords refused records for themselves (found by bisecting the request): they go to the dead-letter queue; the others were written');
  }

  /**
   * The stream is at fault: every record under bisection or waiting goes back to the front of the
   * queue in order (`extra` after them), and the output fails.
   */
  private failStream(err: unknown, extra: readonly E[]): void {
    const back: E[] = [];
    for (const s of this.sessions.splice(0)) back.push(...s.bisection.unresolved());
    back.push(...this.undecided.splice(0).map((u) => u.item));
    back.push(...extra);
    this.sink.release(back);
    this.sink.requeue(back);
    this.sink.streamFailed(err, classifyKinesisError(err));
  }
}
