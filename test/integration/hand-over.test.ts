/**
 * A worker's graceful stop is bounded whatever the output does (issue #24): against a real worker whose
 * output answers PutRecords only after a minute (slow, not failing), one SIGTERM hands every lease back
 * within the hand-over time, and a second SIGTERM hands them back at once instead of exiting without
 * releasing them. In both, the lease jobs are back in the queue the moment the worker is gone (no lease
 * timeout for the next owner to wait out), and a worker started afterwards delivers every record.
 */
import { Queue } from 'bullmq';
import { waitForLog } from '../support/cli';
import { assertUp, useFaultPipelines, WORKER_UA, type Pipeline } from '../support/fault-pipeline';
import { json, readAll } from '../support/kinesis';
import { patient, waitFor } from '../support/wait';
import { AppKeys, LEASE_QUEUE } from '../../shared/redis/keys';

const f = useFaultPipelines();
const SLOW_MS = 60_000;

/** A pipeline whose output takes a minute to answer, with records written and a PutRecords out. */
async function slowOutput(prefix: string): Promise<{ p: Pipeline; produced: string[] }> {
  const p = await f.pipeline(prefix, { shards: 4 });
  await f.ep.chaos([{ operation: 'PutRecords', stream: p.outName, userAgent: WORKER_UA, delayMs: SLOW_MS }]);
  const producer = f.h.producer(p.inArn, { perSecond: 200, keys: 16, prefix: p.app });
  await waitFor(async () => (await f.ep.chaosState())[0].fired >= 1 && producer.produced.length >= 100, 30_000, 'records produced and a PutRecords held by the slow output');
  const produced = (await producer.stop()).map((r) => r.id);
  return { p, produced };
}

/** Lease jobs active (held) and waiting (released), right now. */
async function leaseJobs(app: string): Promise<{ active: number; wait: number }> {
  const queue = new Queue(LEASE_QUEUE, { connection: f.h.redis, prefix: new AppKeys(app).bullPrefix });
  try {
    const counts = await queue.getJobCounts('active', 'wait');
    return { active: counts.active, wait: counts.wait };
  } finally {
    await queue.close();
  }
}

/** After the stop: a new worker on a prompt output takes the released leases and writes everything. */
async function everythingDelivered(p: Pipeline, produced: string[]): Promise<void> {
  await f.ep.clearChaos();
  const next = f.h.start('worker', p.properties, p.app, { AWS_SDK_UA_APP_ID: 'shardflow-worker-next' });
  await waitFor(
    async () => {
      const seen = new Set((await readAll(f.ep.client, p.outArn)).map((r) => String(json(r).id)));
      return produced.every((id) => seen.has(id));
    },
    60_000,
    'every record in the output',
    500,
    () => assertUp([p.coordinator, next]),
  );
}

test('one SIGTERM while the output is slow: every lease handed back within the hand-over time, not after the answer', async () => {
  const { p, produced } = await slowOutput('it-handover-slow');
  const worker = p.workers[0];
  const stopped = Date.now();
  worker.child.kill('SIGTERM');
  const { code } = await worker.exited;
  const tookMs = Date.now() - stopped;
  expect(code).toBe(0);
  // lease.timeout 4 s: the drain waits at most 1 s, the final checkpoints at most 1 s more; far from the minute the output takes.
  expect(tookMs).toBeLessThan(Math.min(SLOW_MS / 2, patient(10_000)));
  expect(worker.output()).toContain('handing the lease over with records not yet acknowledged by the output');
  expect(worker.output().split('\n').filter((l) => l.includes('"lease released"'))).toHaveLength(4);
  expect(await leaseJobs(p.app)).toEqual({ active: 0, wait: 4 });
  await everythingDelivered(p, produced);
});

test('a second SIGTERM hands every lease back at once, and still releases them (exit 0)', async () => {
  const { p, produced } = await slowOutput('it-handover-twice');
  const worker = p.workers[0];
  worker.child.kill('SIGTERM');
  await waitForLog(worker, 'stopping: flushing, checkpointing and releasing leases');
  worker.child.kill('SIGTERM');
  const { code } = await worker.exited;
  expect(code).toBe(0);
  expect(worker.output()).toContain('asked again to stop: handing every lease over now');
  expect(worker.output().split('\n').filter((l) => l.includes('"lease released"'))).toHaveLength(4);
  expect(await leaseJobs(p.app)).toEqual({ active: 0, wait: 4 });
  await everythingDelivered(p, produced);
});
