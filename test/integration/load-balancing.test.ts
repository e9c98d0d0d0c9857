/**
 * `worker.balance = THROUGHPUT` with real processes on the bench's in-memory Kinesis and real Redis:
 * 8 shards, 2 of them carrying 10 times the bytes of the others, 2 workers. The two hot shards start on
 * the same worker (the test makes them hot after the leases settled), so the split needs a move. Each
 * worker must end with one hot shard, through graceful hand-overs only, and once the split is reached
 * no lease may move more than once (the cooldown is cut to 5 s, so it is the margin and the gap rule
 * that hold the leases still, not the cooldown).
 */
import { ListShardsCommand, PutRecordsCommand, type Shard } from '@aws-sdk/client-kinesis';
import { useFaultPipelines } from '../support/fault-pipeline';
import { waitFor } from '../support/wait';
import { AppKeys } from '../../shared/redis/keys';
import type { CliProcess } from '../support/cli';
import type { WorkerStatus } from '../../worker/status-reporter';

const f = useFaultPipelines();

/** Writes `perTick[shard]` records of ~500 bytes to each shard every 100 ms, placed by explicit hash key. */
class ShardProducer {
  private stopped = false;
  private n = 0;
  private readonly loop: Promise<void>;

  constructor(
    private readonly arn: string,
    private readonly shards: Shard[],
    private readonly perTick: (shardId: string) => number,
  ) {
    this.loop = this.run();
    this.loop.catch(() => undefined);
  }

  private async run(): Promise<void> {
    const pad = 'x'.repeat(400);
    while (!this.stopped) {
      const started = Date.now();
      const records = this.shards.flatMap((shard) =>
        Array.from({ length: this.perTick(shard.ShardId!) }, () => {
          const n = this.n++;
          const key = `${shard.ShardId}-key-${n % 4}`;
          const id = `lb-${n}`;
          const data = JSON.stringify({ event_time: new Date().toISOString(), ticker: 'MSFT', price: n % 100, id, key, pad });
          return { PartitionKey: key, ExplicitHashKey: shard.HashKeyRange!.StartingHashKey!, Data: Buffer.from(data) };
        }),
      );
      const out = await f.ep.client.send(new PutRecordsCommand({ StreamARN: this.arn, Records: records }));
      if (out.FailedRecordCount) throw new Error(`${out.FailedRecordCount} records refused by the bench endpoint`);
      await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - started))));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}

interface Take {
  shardId: string;
  worker: string;
  time: number;
}

/** Every "lease taken" of a worker's log, with its time. */
function takes(p: CliProcess): Take[] {
  return p
    .output()
    .split('\n')
    .filter((line) => line.includes('"lease taken"'))
    .map((line) => JSON.parse(line) as { shardId: string; worker: string; time: number });
}

test('THROUGHPUT: 2 hot shards of 8 on 2 workers end one on each; no lease moves more than once after the split', async () => {
  const p = await f.pipeline('it-balance', {
    workers: 2,
    shards: 8,
    overrides: { Cluster: { 'worker.balance': 'THROUGHPUT', 'worker.balance.cooldown': '5 s' } },
  });
  const keys = new AppKeys(p.app);
  const statuses = async () => Object.values(await f.h.redis.hgetall(keys.workerStatus)).map((s) => JSON.parse(s) as WorkerStatus);
  const shards = (await f.ep.client.send(new ListShardsCommand({ StreamARN: p.inArn }))).Shards!;
  // With no traffic yet the split is by count (pipeline() waited for four each): both hot shards on one worker.
  const [first] = await statuses();
  const hot = new Set(first.leases.slice(0, 2).map((l) => l.shardId));
  const producerStarted = Date.now();
  const producer = new ShardProducer(p.inArn, shards, (shardId) => (hot.has(shardId) ? 10 : 1));
  try {
    const hotOf = (s: WorkerStatus) => s.leases.filter((l) => hot.has(l.shardId)).length;
    const split = async () => {
      const now = await statuses();
      return now.length === 2 && now.every((s) => hotOf(s) === 1 && Date.now() - s.updatedAt < 3000) && now.reduce((n, s) => n + s.leases.length, 0) === 8;
    };
    await waitFor(split, 60_000, `each worker holding one hot shard (hot: ${[...hot].join(', ')})`);
    const splitAt = Date.now();
    process.stdout.write(`measured: split reached ${Math.round((splitAt - producerStarted) / 1000)} s after the traffic started\n`);

    // Watch for 30 s (six cooldowns, three time constants of the rate average): the observation window
    // itself, not a wait for something to happen.
    const watchUntil = splitAt + 30_000;
    await waitFor(() => Date.now() >= watchUntil, 40_000, 'the observation window', 1000, () => {
      for (const w of p.workers) if (w.child.exitCode !== null) throw new Error(`a worker exited:\n${w.output().slice(-3000)}`);
    });
    expect(await split()).toBe(true);

    const all = p.workers.flatMap(takes);
    const movesAfter = new Map<string, number>();
    for (const t of all.filter((t) => t.time > splitAt - 1000)) movesAfter.set(t.shardId, (movesAfter.get(t.shardId) ?? 0) + 1);
    process.stdout.write(`measured: ${all.length} lease takes in all; after the split: ${JSON.stringify(Object.fromEntries(movesAfter))}\n`);
    for (const count of movesAfter.values()) expect(count).toBeLessThanOrEqual(1);
    // The move was a graceful hand-over for load, and no lease was lost.
    const logs = p.workers.map((w) => w.output()).join('\n');
    expect(logs).toContain('over load share: handing the lease over');
    expect(logs).not.toContain('lease lost');
  } finally {
    await producer.stop().catch(() => undefined);
  }
  const { result } = await f.delivery(p);
  expect(result.missing).toEqual([]);
  expect(result.outOfOrderKeys).toEqual([]);
  expect(result.duplicates).toBe(0);
});
