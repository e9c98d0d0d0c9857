/**
 * Parks and replays dead letters. A new dead letter is parked at once: its job fails with the
 * reason, so it shows in the dashboard's failed list and can be retried there. A retried (or `shardflow
 * dlq replay`-ed) dead letter runs through the current transform and sink: it completes once the output
 * stream has acknowledged it, or fails again with its new reason and stays in the queue. Nothing leaves
 * the queue any other way than by reaching the output or an explicit purge.
 */
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AppConfig } from '../../shared/config/app-config';
import { KinesisGateway } from '../../shared/aws/kinesis-gateway';
import type { Logger } from '../../shared/logging';
import { metrics } from '../../shared/metrics';
import type { DeadLetter, SourceRecord } from '../../shared/records';
import { DEAD_LETTER_QUEUE, type AppKeys } from '../../shared/redis/keys';
import { recordSize } from '../sink/batch-packer';
import { KinesisSink, sinkSettings } from '../sink/kinesis-sink';
import { outputPartitionKey } from '../sink/partition-key';
import { createTransform } from '../transform/transform';

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
  private readonly output: KinesisGateway;
  private readonly sink: KinesisSink;
  private readonly transform;

  /** `connection` becomes the replayer's own: BullMQ does not close a connection it was given, so `stop` does. */
  constructor(
    private readonly connection: Redis,
    keys: AppKeys,
    private readonly config: AppConfig,
    private readonly log: Logger,
  ) {
    this.output = KinesisGateway.fromConfig(config.output.client);
    this.sink = new KinesisSink(this.output, config.output.stream.arn, { ...sinkSettings(config.output), lingerMs: 0 }, log.child({ component: 'replay-sink' }));
    this.transform = createTransform(config.serialization);
    this.worker = new Worker<ParkedDeadLetter, ReplayResult>(DEAD_LETTER_QUEUE, (job) => this.process(job), {
      connection,
      prefix: keys.bullPrefix,
      autorun: false,
      concurrency: 10,
      removeOnComplete: { count: 100_000 },
      removeOnFail: { count: 1_000_000 },
    });
    this.worker.on('error', (err) => log.warn({ err: err.message }, 'dead-letter replayer error'));
  }

  start(): void {
    void this.worker.run().catch((err) => this.log.error({ err: (err as Error).message }, 'dead-letter replayer stopped'));
  }

  async stop(): Promise<void> {
    // Forced: a replay still waiting on the output stream stays in the queue and is picked up again.
    await this.worker.close(true);
    await Promise.race([this.sink.flush(), new Promise((r) => setTimeout(r, 5000).unref())]);
    this.sink.close();
    this.output.destroy();
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
    const m = metrics();
    const result = this.transform.transform(record);
    if (!result.ok) {
      m.recordsReplayed.inc({ outcome: 'failed' });
      throw new UnrecoverableError(`replay failed: ${result.reason}`);
    }
    const partitionKey = outputPartitionKey(this.config.output.partitionKey, record, result.data);
    const size = recordSize(partitionKey, result.data);
    if (size > this.config.output.maxRecordBytes) {
      m.recordsReplayed.inc({ outcome: 'failed' });
      throw new UnrecoverableError(`replay failed: too large: the output record is ${size} bytes, over sink.max-record-size (${this.config.output.maxRecordBytes})`);
    }
    await this.sink.write([{ partitionKey, data: result.data }]);
    m.recordsReplayed.inc({ outcome: 'delivered' });
    this.log.info({ job: job.id, shardId: letter.shardId, sequenceNumber: letter.sequenceNumber }, 'dead letter replayed into the output stream');
    return { replayedAt: new Date().toISOString(), output: this.config.output.stream.arn };
  }
}
