/**
 * A steady producer for cluster tests: records with unique ids over a fixed set of partition keys.
 * A failed PutRecords is retried (a busy machine makes kinesis-local slow, not wrong); once stopped the
 * loop ends quietly, so a test that fails half-way never leaves a rejection behind when its Kinesis goes.
 */
import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';

export interface Produced {
  id: string;
  key: string;
}

export class SteadyProducer {
  readonly produced: Produced[] = [];
  private stopped = false;
  private loop: Promise<void> | undefined;
  private n = 0;

  constructor(
    private readonly client: KinesisClient,
    private readonly streamArn: string,
    private readonly options: { perSecond: number; keys: number; prefix: string },
  ) {}

  start(): void {
    // Never an unhandled rejection: stop() reports a failure of the loop to the test that awaits it.
    this.loop = this.run();
    this.loop.catch(() => undefined);
  }

  private async run(): Promise<void> {
    const batch = Math.max(1, Math.round(this.options.perSecond / 10));
    const started = Date.now();
    while (!this.stopped) {
      const entries = Array.from({ length: batch }, () => {
        const n = this.n++;
        const key = `key-${n % this.options.keys}`;
        const id = `${this.options.prefix}-${n}`;
        return { id, key, entry: { PartitionKey: key, Data: Buffer.from(JSON.stringify({ event_time: new Date().toISOString(), ticker: 'MSFT', price: n % 100, id, key })) } };
      });
      // Sent one after another (not in parallel) so each key's input order is the production order.
      let pending = entries;
      let failures = 0;
      while (pending.length > 0 && !this.stopped) {
        let out;
        try {
          out = await this.client.send(new PutRecordsCommand({ StreamARN: this.streamArn, Records: pending.map((e) => e.entry) }));
        } catch (err) {
          if (this.stopped) return;
          // A record whose put failed may or may not be in the stream: only acknowledged ones count as
          // produced, and the delivery checks compare against the input stream itself.
          if (++failures >= 20) throw err;
          await new Promise((r) => setTimeout(r, 100 * failures));
          continue;
        }
        const failed = pending.filter((_, i) => out.Records?.[i]?.ErrorCode);
        // A key's failed record and everything after it of that key go again, in order.
        const okCount = pending.length - failed.length;
        this.produced.push(...pending.filter((_, i) => !out.Records?.[i]?.ErrorCode).map(({ id, key }) => ({ id, key })));
        if (okCount === pending.length) break;
        pending = failed;
      }
      const due = started + (this.n / this.options.perSecond) * 1000;
      await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
    }
  }

  /** Ends the loop after its current request; rejects if the loop had failed. Safe to call twice. */
  async stop(): Promise<Produced[]> {
    this.stopped = true;
    await this.loop;
    return this.produced;
  }
}
