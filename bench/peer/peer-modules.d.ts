/**
 * The little of lifion-kinesis and dynalite that the peer contender uses (neither ships types). Both are
 * dev dependencies, loaded only by `bench/peer/lifion-copier.ts`.
 */
declare module 'lifion-kinesis' {
  import { PassThrough } from 'node:stream';

  namespace Kinesis {
    /** A record as lifion's polling consumer hands it over: `data` parsed as JSON when it looks like JSON. */
    interface ConsumedRecord {
      data: unknown;
      partitionKey: string;
      sequenceNumber: string;
      approximateArrivalTimestamp?: Date;
    }

    /** One GetRecords page; with `usePausedPolling` the shard is not polled again until `continuePolling()`. */
    interface ConsumedBatch {
      records: ConsumedRecord[];
      shardId: string;
      streamName: string;
      millisBehindLatest: number;
      continuePolling?: () => void;
    }

    interface PutRecordsResult {
      /** lifion drops ErrorCode: a refused entry is one without a sequence number. */
      records: Array<{ sequenceNumber?: string; shardId?: string }>;
    }
  }

  class Kinesis extends PassThrough {
    constructor(options: Record<string, unknown>);
    startConsumer(): Promise<void>;
    stopConsumer(): void;
    putRecords(params: { streamName?: string; records: Array<{ data: unknown; partitionKey?: string }> }): Promise<Kinesis.PutRecordsResult>;
    on(event: 'data', listener: (batch: Kinesis.ConsumedBatch) => void): this;
    on(event: 'error', listener: (err: Error) => void): this;
  }

  export = Kinesis;
}

declare module 'dynalite' {
  import type { Server } from 'node:http';

  function dynalite(options?: { path?: string; createTableMs?: number; deleteTableMs?: number; updateTableMs?: number }): Server;
  export = dynalite;
}
