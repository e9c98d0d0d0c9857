/**
 * What shardflow relies on in BullMQ's Redis layout, pinned against a real Redis and the installed
 * BullMQ: a lease job taken by a BullMQ Worker has its lock at exactly the key `AppKeys.leaseLock`
 * computes, holding exactly the token the worker was given; the job's hash and the queue's stalled set
 * are where `AppKeys` says. The fencing scripts (checkpoint writes, lock renewal) read those keys: if an
 * upgrade moved them, fencing would compare against nothing and fail every write, or worse. So a change
 * fails here, saying what moved.
 */
import { Queue } from 'bullmq';
import bullmqPackage from 'bullmq/package.json';
import { AppKeys, LEASE_QUEUE, leaseKey } from '../../shared/redis/keys';
import { holdLeaseJobs } from '../support/held-lease-jobs';
import { useAppRedis } from '../support/redis';
import { waitFor } from '../support/wait';

const ctx = useAppRedis('it-layout');
const BULLMQ_VERSION = bullmqPackage.version;

/** Fails with what shardflow expects, what this BullMQ does, and where to look. */
function pin(what: string, actual: unknown, expected: unknown): void {
  if (actual === expected) return;
  throw new Error(`BullMQ ${BULLMQ_VERSION} changed ${what}: shardflow expects ${JSON.stringify(expected)}, BullMQ has ${JSON.stringify(actual)}. Update AppKeys (shared/redis/keys.ts), which the fencing scripts read, before using this BullMQ.`);
}

test('a lease job taken by a BullMQ Worker has its lock at the key shardflow computes, holding the worker\'s token', async () => {
  const keys = new AppKeys(ctx.app);
  const streamArn = 'arn:aws:kinesis:us-east-1:123456789012:stream/it-layout-in';
  const shardId = 'shardId-000000000007';
  // The job id is the lease key, as the coordinator creates it.
  const id = leaseKey(streamArn, shardId);
  // No lock renewal, a quick stalled check: the job stays locked and lands in the stalled set.
  const jobs = await holdLeaseJobs(ctx.redis, keys, streamArn, [shardId], { lockDuration: 60_000, skipLockRenewal: true, stalledInterval: 250, maxStalledCount: Number.MAX_SAFE_INTEGER });
  const { queue } = jobs;
  const token = jobs.tokens.get(id);
  try {
    const lockValue = await ctx.redis.get(keys.leaseLock(id));
    if (lockValue !== token) {
      // Where did the token go? Every string key of the application holding it.
      const holders: string[] = [];
      for (const key of await ctx.redis.keys(`${keys.prefix}:*`)) if ((await ctx.redis.type(key)) === 'string' && (await ctx.redis.get(key)) === token) holders.push(key);
      pin(`where a taken job's lock lives (token ${token} found at ${JSON.stringify(holders)}; ${keys.leaseLock(id)} holds ${JSON.stringify(lockValue)})`, holders[0], keys.leaseLock(id));
    }
    pin('the lock key of a job', `${queue.toKey(id)}:lock`, keys.leaseLock(id));
    pin('the key of a job', queue.toKey(id), keys.leaseJob(id));
    pin("the lock key of a stream's shard (what the checkpoint fencing reads)", `${queue.toKey(id)}:lock`, keys.stream(streamArn).leaseLock(shardId));
    pin("the queue's key prefix", queue.toKey(''), keys.leaseJobPrefix);
    pin("the queue's stalled set", queue.keys.stalled, keys.leaseStalled);
    pin("a lease job's data in its hash", JSON.parse((await ctx.redis.hget(keys.leaseJob(id), 'data')) ?? 'null')?.shardId, shardId);
    // The stalled check marks active jobs in that set; a lock renewal takes them out.
    await waitFor(async () => (await ctx.redis.sismember(keys.leaseStalled, id)) === 1, 10_000, 'the stalled check to mark the active lease job in the stalled set');
    // The same layout under a Redis Cluster's hash tag.
    const tagged = new AppKeys(ctx.app, { cluster: true });
    const taggedQueue = new Queue(LEASE_QUEUE, { connection: ctx.redis, prefix: tagged.bullPrefix });
    pin('the key of a job under a hash tag', taggedQueue.toKey(id), tagged.leaseJob(id));
    pin('the stalled set under a hash tag', taggedQueue.keys.stalled, tagged.leaseStalled);
    await taggedQueue.close();
  } finally {
    await jobs.close();
  }
});
