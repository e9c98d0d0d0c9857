/**
 * Parks and replays dead letters. A new dead letter is parked at once: its job fails with the
 * reason, so it shows in the dashboard's failed list and can be retried there. A retried (or `shardflow
 * dlq replay`-ed) dead letter runs through the current transform and sink: it completes once the output
 * stream has acknowledged it, or fails again with its new reason and stays in the queue. Nothing leaves
 * the queue any other way than by reaching the output or an explicit purge.
 *
 * A letter whose payload is a whole KPL aggregate (parked by versions that did not de-aggregate, as
 * "not valid UTF-8" or "not valid JSON", or parked as a corrupt aggregate) is de-aggregated here as the
 * readers do it: its user records are transformed and written in their order, all or none: when one of
 * them cannot be transformed (or the aggregate is corrupt) nothing is written and the letter fails
 * again with the reason, so a later replay does not send the others twice.
 *
 * A replay passes the same rules as a first delivery (`prepareOutput`: the transform contained, the
 * output record checked against what PutRecords accepts), and a record Kinesis still refuses for
 * itself fails its letter with Kinesis's message instead of waiting in the sink: one bad letter never
 * holds up the replays behind it. A replayed letter stays in the completed list for
 * `REPLAYED_RETENTION_SECONDS` (its payload with it), then goes: BullMQ removes older ones as a replay
 * completes, and every replayer (each coordinator's, `shardflow dashboard`'s) cleans them once an hour
 * besides, so an idle queue does not keep them either.
 */
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { RedisClient } from '../../shared/redis/connection';
import type { AppConfig, InputStreamConfig } from '../../shared/config/app-config';
import type { Logger } from '../../shared/logging';
import { metrics } from '../../shared/metrics';
import type { DeadLetter, OutputRecord, SourceRecord } from '../../shared/records';
import { DEAD_LETTER_QUEUE, streamNameOf, type AppKeys } from '../../shared/redis/keys';
import { OutputSinks } from '../sink/output-sinks';
import type { RejectedRecord } from '../sink/sink-port';
import type { TransformRuntime } from '../transform/transform-runtime';
import { deaggregate } from '../deaggregation/deaggregate';
import type { OutputPreparer } from '../transform/transform';

/** How long a replayed letter (and its payload) stays in the completed list: 7 days. */
export const REPLAYED_RETENTION_SECONDS = 7 * 24 * 3600;

/** How often a replayer removes replayed letters past their retention. */
const CLEAN_INTERVAL_MS = 3_600_000;

/** Removes the replayed (completed) letters finished more than `olderThanMs` ago; returns how many. */
export async function dropReplayedLetters(queue: Queue, olderThanMs: number): Promise<number> {
  let removed = 0;
  for (;;) {
    const batch = await queue.clean(olderThanMs, 10_000, 'completed');
    removed += batch.length;
    if (batch.length < 10_000) return removed;
  }
}

export interface ParkedDeadLetter extends DeadLetter {
  /** Set once the letter has been parked as a failed job; a later run of the job is a replay. */
  parked?: boolean;
}

export interface ReplayResult {
  replayedAt: string;
  output: string;
}

export class DeadLetterReplayer {
  private readonly worker: Worker<ParkedDeadLetter, ReplayResult>;
  private readonly sink: OutputSinks;
  /** Resolves when the letter taken before the current one has handed its records to the sink. */
  private writeTurn: Promise<void> = Promise.resolve();
  /** For the hourly removal of replayed letters past their retention. */
  private readonly queue: Queue;
  private cleanTimer: NodeJS.Timeout | undefined;

  /** `connection` becomes the replayer's own: BullMQ does not close a connection it was given, so `stop` does. */
  constructor(
    private readonly connection: RedisClient,
    keys: AppKeys,
    private readonly config: AppConfig,
    private readonly log: Logger,
    /** Opened by the process (once, shared with its worker if it has one), closed by it after this stops. */
    private readonly transform: TransformRuntime,
  ) {
    this.sink = OutputSinks.open(config.outputs, log, { component: 'replay-sink', override: { lingerMs: 0 } });
    this.worker = new Worker<ParkedDeadLetter, ReplayResult>(DEAD_LETTER_QUEUE, (job) => this.process(job), {
      connection,
      prefix: keys.bullPrefix,
      autorun: false,
      concurrency: 10,
      removeOnComplete: { age: REPLAYED_RETENTION_SECONDS, count: 100_000 },
      removeOnFail: { count: 1_000_000 },
    });
    this.worker.on('error', (err) => log.warn({ err: err.message }, 'dead-letter replayer error'));
    this.queue = new Queue(DEAD_LETTER_QUEUE, { connection, prefix: keys.bullPrefix });
  }

  start(): void {
    void this.worker.run().catch((err) => this.log.error({ err: (err as Error).message }, 'dead-letter replayer stopped'));
    const clean = () =>
      void dropReplayedLetters(this.queue, REPLAYED_RETENTION_SECONDS * 1000).then(
        (removed) => removed > 0 && this.log.info({ removed }, `removed replayed dead letters older than ${REPLAYED_RETENTION_SECONDS / 86_400} days`),
        (err: unknown) => this.log.warn({ err: (err as Error).message }, 'removing old replayed dead letters failed; will try again in an hour'),
      );
    clean();
    this.cleanTimer = setInterval(clean, CLEAN_INTERVAL_MS);
    this.cleanTimer.unref();
  }

  async stop(): Promise<void> {
    // Forced: a replay still waiting on the output stream stays in the queue and is picked up again.
    clearInterval(this.cleanTimer);
    await this.worker.close(true);
    await this.queue.close();
    await Promise.race([this.sink.flush(), new Promise((r) => setTimeout(r, 5000).unref())]);
    this.sink.close();
    this.sink.destroy();
    await this.connection.quit().catch(() => this.connection.disconnect());
  }

  private async process(job: Job<ParkedDeadLetter, ReplayResult>): Promise<ReplayResult> {
    const letter = job.data;
    if (!letter.parked) {
      await job.updateData({ ...letter, parked: true });
      throw new UnrecoverableError(letter.reason);
    }
    const record: SourceRecord = {
      shardId: letter.shardId,
      sequenceNumber: letter.sequenceNumber,
      partitionKey: letter.partitionKey,
      data: Buffer.from(letter.payload, 'base64'),
      approximateArrivalTimestamp: letter.arrivalTime ? new Date(letter.arrivalTime) : undefined,
    };
    if (letter.subSequenceNumber !== undefined) record.subSequenceNumber = letter.subSequenceNumber;
    if (letter.explicitHashKey !== undefined) record.explicitHashKey = letter.explicitHashKey;
    const m = metrics();
    // Letters are taken in order (oldest first per shard, as `dlq replay` sorts them) and up to ten are
    // prepared at once; their writes go to the sink in the order they were taken, so a module that
    // answers by promise cannot reorder a key's records across letters.
    const turn = this.writeTurn;
    let pass!: () => void;
    this.writeTurn = new Promise<void>((resolve) => (pass = resolve));
    let written: Promise<readonly RejectedRecord[]>;
    let outputs: OutputRecord[];
    try {
      outputs = await this.prepare(letter, record);
      await turn;
      if (outputs.length === 0) {
        // The module filters it out now: nothing to write, and the letter is done.
        m.recordsReplayed.inc({ outcome: 'filtered' });
        return { replayedAt: new Date().toISOString(), output: 'none: filtered out by the transform' };
      }
      written = this.sink.write(outputs);
    } finally {
      pass();
    }
    const rejected = await written;
    if (rejected.length > 0) {
      m.recordsReplayed.inc({ outcome: 'failed' });
      const which = outputs.length > 1 ? `${outputs.length - rejected.length} of ${outputs.length} user records written; refused: ` : '';
      throw new UnrecoverableError(`replay failed: ${which}${rejected[0].reason}`);
    }
    m.recordsReplayed.inc({ outcome: 'delivered' });
    this.log.info({ job: job.id, shardId: letter.shardId, sequenceNumber: letter.sequenceNumber, records: outputs.length }, 'dead letter replayed into the output stream');
    const streams = [...new Set(outputs.map((o) => this.config.outputs[o.output ?? 0].stream.arn))];
    return { replayedAt: new Date().toISOString(), output: streams.join(', ') };
  }

  /** The input streams named now (a re-read configuration may add some): a letter goes to its input's default output. */
  updateInputs(inputs: readonly InputStreamConfig[]): void {
    this.inputs = inputs;
  }

  private inputs: readonly InputStreamConfig[] | undefined;

  /** The transform of the letter's input stream (its default output is that input's, or OutputStream0 for a stream no longer configured). */
  private preparerOf(streamArn: string): OutputPreparer {
    const input = (this.inputs ?? this.config.inputs).find((i) => i.stream.arn === streamArn);
    return this.transform.preparerFor({ arn: streamArn, name: streamNameOf(streamArn), output: input?.output });
  }

  /** The letter's output records, through the transform; throws the reason (unrecoverable) when one user record fails. */
  private async prepare(letter: ParkedDeadLetter, record: SourceRecord): Promise<OutputRecord[]> {
    // A user record's letter is one record already; a whole Kinesis record may be a KPL aggregate.
    const records = letter.subSequenceNumber === undefined ? deaggregate([record]).records : [record];
    const outputs: OutputRecord[] = [];
    for (const userRecord of records) {
      const answer = this.preparerOf(letter.stream).prepare(userRecord);
      const prepared = answer instanceof Promise ? await answer : answer;
      if (!prepared.ok) {
        metrics().recordsReplayed.inc({ outcome: 'failed' });
        const which = records.length > 1 ? `user record ${userRecord.subSequenceNumber} of ${records.length}: ` : '';
        throw new UnrecoverableError(`replay failed: ${which}${prepared.reason}`);
      }
      for (const out of prepared.records) outputs.push(out);
    }
    return outputs;
  }
}
