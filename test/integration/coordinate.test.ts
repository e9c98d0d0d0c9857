/**
 * `shardflow worker --coordinate`: a fleet of one kind of process. Each process runs a worker and a
 * coordinator; one coordinator leads and the others stand by. Killing the process that leads (kill -9)
 * takes a worker and the leader away at once: the survivor must take the leader key, keep discovering,
 * and take the dead worker's leases from their checkpoints, with nothing lost. Runs on the benchmark's
 * in-memory Kinesis with a real Redis.
 */
import { assertUp, metric, opsUrl, useFaultPipelines } from '../support/fault-pipeline';
import { localProperties, writeProperties } from '../support/properties';
import { stopCli, waitForLog } from '../support/cli';
import { uniqueName, waitFor } from '../support/wait';
import { statusLeases } from '../support/status';

const LEADER = 'shardflow_coordinator_leader';
const f = useFaultPipelines();

test('two worker --coordinate processes: one leads, the leases split; kill -9 of the leader: the other leads and holds every lease; nothing lost', async () => {
  const { h, ep } = f;
  const app = h.app('it-coordinate');
  f.apps.push(app);
  const inArn = await ep.createStream(uniqueName('in'), 4);
  const outArn = await ep.createStream(uniqueName('out'), 2);
  const properties = writeProperties(localProperties(ep.endpoint, inArn, outArn, { InputStream0: { 'source.reader.type': 'POLLING' } }));
  const processes = [0, 1].map((i) => h.start('worker', properties, app, { AWS_SDK_UA_APP_ID: `shardflow-worker-${i + 1}` }, undefined, ['--coordinate']));
  for (const p of processes) await waitForLog(p, 'coordinator started');
  const urls = await Promise.all(processes.map((p) => opsUrl(p)));
  const leading = async () => Promise.all(urls.map((u) => metric(u, LEADER)));
  await waitFor(async () => (await leading()).reduce((a, b) => a + b, 0) === 1, 20_000, 'exactly one of the two to lead', 200, () => assertUp(processes));
  const leasesPerWorker = async () => [...(await statusLeases(h.redis, app)).values()].map((leases) => leases.length);
  await waitFor(async () => (await leasesPerWorker()).join() === '2,2', 30_000, 'two leases on each process', 200, () => assertUp(processes));

  const producer = h.producer(inArn, { perSecond: 300, keys: 16, prefix: app });
  await waitFor(() => producer.produced.length >= 600, 20_000, '600 records produced');
  const leaderIndex = (await leading()).indexOf(1);
  const [leader, survivor] = leaderIndex === 0 ? processes : [...processes].reverse();
  leader.child.kill('SIGKILL');
  await leader.exited;

  const survivorUrl = urls[1 - leaderIndex];
  await waitFor(async () => (await metric(survivorUrl, LEADER)) === 1, 30_000, 'the survivor to lead', 200, () => assertUp([survivor]));
  await waitFor(async () => (await leasesPerWorker()).join() === '4', 40_000, 'every lease on the survivor', 200, () => assertUp([survivor]));
  await waitFor(() => producer.produced.length >= 1500, 30_000, '1,500 records produced');
  await producer.stop();

  const { result } = await f.delivery({ app, inName: '', outName: '', inArn, outArn, properties, coordinator: survivor, workers: [] }, [survivor]);
  expect(result.missing).toEqual([]);
  // Stopping the survivor hands its leases back and stops its coordinator: a clean exit.
  expect(await stopCli(survivor)).toBe(0);
});
