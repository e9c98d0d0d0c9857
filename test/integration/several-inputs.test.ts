/**
 * Several input streams in one application (issue #27), against real processes: a coordinator and
 * workers on the bench's in-memory Kinesis and a real Redis.
 *
 * - two inputs, one POLLING from TRIM_HORIZON into OutputStream0 and one EFO from LATEST into
 *   OutputStream1 (`InputStream1.output`): every record reaches its input's output, per-key order holds,
 *   and a kill -9 mid-run loses nothing; leases and checkpoints are keyed by stream, metrics carry it;
 * - a stream added to the properties while the workers run is read within two discovery intervals; taken
 *   out, its leases end with final checkpoints (kept with a TTL); put back, it resumes where it stopped;
 * - a stream deleted in Kinesis is reported (log, metric, registry) and its leases end, while the other
 *   stream flows.
 */
import { PutRecordsCommand, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { writeFileSync } from 'node:fs';
import { json, readAll, type ReadRecord } from '../support/kinesis';
import { assertUp, metric, opsUrl, useFaultPipelines } from '../support/fault-pipeline';
import { localClientProperties, localProperties, writeProperties, type Groups } from '../support/properties';
import { compareDelivery } from '../support/delivery';
import { waitForLog, type CliProcess } from '../support/cli';
import { uniqueName, waitFor } from '../support/wait';
import { AppKeys, leaseKey } from '../../shared/redis/keys';

const f = useFaultPipelines();

const ids = (records: readonly ReadRecord[]) => records.map((r) => String(json(r).id));

/** The second input's group: the client keys of the local endpoint, its own stream and settings. */
function inputGroup(arn: string, extra: Record<string, string> = {}): Record<string, string> {
  return { 'stream.arn': arn, ...localClientProperties(f.ep.endpoint), 'source.shard.discovery.interval': '1 s', 'source.reader.empty-records-fetch-interval': '100 ms', ...extra };
}

/** Held leases by lease key, from the workers' published status. */
async function heldLeases(app: string): Promise<string[]> {
  const statuses = Object.values(await f.h.redis.hgetall(new AppKeys(app).workerStatus)).map((s) => JSON.parse(s) as { leases: Array<{ stream: string; shardId: string }> });
  return statuses.flatMap((s) => s.leases.map((l) => leaseKey(l.stream, l.shardId))).sort();
}

async function put(arn: string, entries: PutRecordsRequestEntry[]): Promise<void> {
  const out = await f.ep.client.send(new PutRecordsCommand({ StreamARN: arn, Records: entries }));
  expect(out.FailedRecordCount ?? 0).toBe(0);
}

function records(prefix: string, n: number, keys = 8): PutRecordsRequestEntry[] {
  return Array.from({ length: n }, (_, i) => ({ PartitionKey: `key-${i % keys}`, Data: Buffer.from(JSON.stringify({ id: `${prefix}-${i}`, n: i })) }));
}

/** Waits until `outArn` holds every id in `want` and stopped growing; returns its ids. */
async function settledIds(outArn: string, want: readonly string[], alive: CliProcess[]): Promise<ReadRecord[]> {
  let last = -1;
  let seen: ReadRecord[] = [];
  return waitFor(
    async () => {
      seen = await readAll(f.ep.client, outArn);
      const have = new Set(ids(seen));
      const settled = want.every((id) => have.has(id)) && seen.length === last;
      last = seen.length;
      return settled ? seen : undefined;
    },
    90_000,
    () => `every record in ${outArn.split('/').pop()} (${want.filter((id) => !ids(seen).includes(id)).length} of ${want.length} missing)`,
    1000,
    () => assertUp(alive),
  );
}

/** The input records whose id starts with `prefix`, in stream order. */
async function inputOf(arn: string, prefix: string): Promise<ReadRecord[]> {
  return (await readAll(f.ep.client, arn)).filter((r) => String(json(r).id).startsWith(prefix));
}

test('two inputs, POLLING from TRIM_HORIZON and EFO from LATEST, each into its own output: every record once in the right stream, per-key order kept, nothing lost to a kill -9', async () => {
  const app = f.h.app('it-inputs-two');
  f.apps.push(app);
  const in0 = await f.ep.createStream(uniqueName('in0'), 4);
  const in1 = await f.ep.createStream(uniqueName('in1'), 2);
  const out0 = await f.ep.createStream(uniqueName('out0'), 2);
  const out1 = await f.ep.createStream(uniqueName('out1'), 2);
  // Before any process runs: InputStream0 (TRIM_HORIZON) must deliver these, InputStream1 (LATEST) must not.
  await put(in0, records(`${app}-early0`, 40));
  await put(in1, records(`${app}-early1`, 40));
  const groups: Groups = localProperties(f.ep.endpoint, in0, out0, {
    SerializationType: { type: 'STRING' },
    InputStream1: inputGroup(in1, { 'source.reader.type': 'EFO', 'source.efo.consumer.name': `c-${app}`, 'source.init.position': 'LATEST', output: 'OutputStream1' }),
    OutputStream1: { 'stream.arn': out1, ...localClientProperties(f.ep.endpoint), 'sink.flush-buffer.timeout': '100 ms' },
  });
  const properties = writeProperties(groups);
  const coordinator = f.h.start('coordinator', properties, app);
  const w1 = f.h.start('worker', properties, app);
  const w2 = f.h.start('worker', properties, app);
  await waitFor(async () => (await heldLeases(app)).length === 6, 40_000, 'the six leases of both streams held', 250, () => assertUp([coordinator, w1, w2]));
  const held = await heldLeases(app);
  expect(held.filter((k) => k.startsWith(`${in0.split('/').pop()}@`))).toHaveLength(4);
  expect(held.filter((k) => k.startsWith(`${in1.split('/').pop()}@`))).toHaveLength(2);

  // EFO at LATEST reads what arrives once it is subscribed: probes until one shows on each shard.
  await waitFor(
    async () => {
      await put(in1, [
        { PartitionKey: 'probe', ExplicitHashKey: '0', Data: Buffer.from(JSON.stringify({ id: `${app}-probe-a` })) },
        { PartitionKey: 'probe', ExplicitHashKey: (2n ** 127n).toString(), Data: Buffer.from(JSON.stringify({ id: `${app}-probe-b` })) },
      ]);
      const out = ids(await readAll(f.ep.client, out1));
      return out.includes(`${app}-probe-a`) && out.includes(`${app}-probe-b`);
    },
    40_000,
    'the EFO subscriptions of InputStream1 to deliver probes',
    1000,
  );

  const p0 = f.h.producer(in0, { perSecond: 200, keys: 8, prefix: `${app}-s0` });
  const p1 = f.h.producer(in1, { perSecond: 200, keys: 8, prefix: `${app}-s1` });
  await waitFor(() => p0.produced.length >= 400 && p1.produced.length >= 400, 30_000, '400 records into each stream');
  w2.child.kill('SIGKILL');
  const w3 = f.h.start('worker', properties, app);
  await waitFor(() => p0.produced.length >= 1000 && p1.produced.length >= 1000, 30_000, '1,000 records into each stream');
  await p0.stop();
  await p1.stop();

  const input0 = await inputOf(in0, `${app}-`);
  const input1 = await inputOf(in1, `${app}-s1`);
  const output0 = await settledIds(out0, ids(input0), [coordinator, w1, w3]);
  const output1 = await settledIds(out1, ids(input1), [coordinator, w1, w3]);
  // Every input record in its own input's output, in per-key order, and nothing in the other one.
  const d0 = compareDelivery(input0, output0);
  expect(d0.missing).toEqual([]);
  expect(d0.outOfOrderKeys).toEqual([]);
  const d1 = compareDelivery(input1, output1.filter((r) => String(json(r).id).startsWith(`${app}-s1`)));
  expect(d1.missing).toEqual([]);
  expect(d1.outOfOrderKeys).toEqual([]);
  expect(ids(output0).filter((id) => id.includes('-s1-') || id.includes('early1') || id.includes('probe'))).toEqual([]);
  expect(ids(output1).filter((id) => id.includes('-s0-') || id.includes('early'))).toEqual([]);

  // Checkpoints per stream, keyed by shard within it; metrics name the stream of each shard series.
  const keys = new AppKeys(app);
  for (const arn of [in0, in1]) {
    const last = new Map((await readAll(f.ep.client, arn)).map((r) => [r.shardId, r.sequenceNumber]));
    await waitFor(async () => {
      const cps = await f.h.redis.hgetall(keys.stream(arn).checkpoints);
      return [...last].every(([shard, seq]) => cps[shard] === seq);
    }, 20_000, `${arn.split('/').pop()}'s checkpoints, each shard's at its last record`);
  }
  const text = await (await fetch(`${await opsUrl(w1)}/metrics`)).text();
  const lag = text.split('\n').filter((l) => l.startsWith('shardflow_millis_behind_latest{'));
  expect(lag.length).toBeGreaterThan(0);
  for (const line of lag) expect(line).toMatch(/stream="arn:aws:kinesis:[^"]+:stream\/in[01]-/);
  const registry = await f.h.redis.hgetall(keys.streams);
  expect(Object.fromEntries(Object.entries(registry).map(([arn, r]) => [arn, (JSON.parse(r) as { state: string }).state]))).toEqual({ [in0]: 'active', [in1]: 'active' });
});

test('a stream added to the properties is read within two discovery intervals; removed, its leases end with final checkpoints kept for the retention; added back, it resumes where it stopped', async () => {
  const app = f.h.app('it-inputs-live');
  f.apps.push(app);
  const in0 = await f.ep.createStream(uniqueName('in0'), 2);
  const in1 = await f.ep.createStream(uniqueName('in1'), 2);
  const out0 = await f.ep.createStream(uniqueName('out0'), 2);
  const base = localProperties(f.ep.endpoint, in0, out0, { SerializationType: { type: 'STRING' }, Application: { 'removed-stream.retention': '1 h' } });
  const properties = writeProperties(base);
  const rewrite = (groups: Groups) => writeFileSync(properties, JSON.stringify(Object.entries(groups).map(([PropertyGroupId, PropertyMap]) => ({ PropertyGroupId, PropertyMap }))));
  const coordinator = f.h.start('coordinator', properties, app);
  const w1 = f.h.start('worker', properties, app);
  const w2 = f.h.start('worker', properties, app);
  const alive = [coordinator, w1, w2];
  await waitFor(async () => (await heldLeases(app)).length === 2, 30_000, 'the first stream\'s two leases held', 250, () => assertUp(alive));
  await put(in1, records(`${app}-a`, 30));

  // Added: both kinds of process re-read the file every discovery interval (1 s here).
  rewrite({ ...base, InputStream1: inputGroup(in1, { 'source.init.position': 'TRIM_HORIZON' }) });
  const addedAt = Date.now();
  await waitFor(async () => (await heldLeases(app)).length === 4, 30_000, 'the added stream\'s leases held', 100, () => assertUp(alive));
  const takenMs = Date.now() - addedAt;
  await settledIds(out0, ids(await inputOf(in1, `${app}-a`)), alive);
  // Two discovery intervals of 1 s, and the lease taking itself, on a machine that may be busy.
  expect(takenMs).toBeLessThan(2 * 1000 + 8000);

  // Removed: its leases end gracefully, each with a final checkpoint at the shard's last record.
  rewrite(base);
  await waitFor(async () => (await heldLeases(app)).length === 2, 30_000, 'the removed stream\'s leases handed back', 250, () => assertUp(alive));
  await waitForLog(w1, 'input streams removed from the configuration');
  const keys = new AppKeys(app).stream(in1);
  const input1 = await readAll(f.ep.client, in1);
  const lastByShard = new Map(input1.map((r) => [r.shardId, r.sequenceNumber]));
  await waitFor(async () => {
    const cps = await f.h.redis.hgetall(keys.checkpoints);
    return [...lastByShard].every(([shard, seq]) => cps[shard] === seq);
  }, 20_000, 'final checkpoints at each shard\'s last record');
  await waitFor(async () => (await f.h.redis.pttl(keys.checkpoints)) > 0, 20_000, 'the removed stream\'s checkpoints kept with a TTL');
  const ttl = await f.h.redis.pttl(keys.checkpoints);
  expect(ttl).toBeGreaterThan(50 * 60_000);
  expect(ttl).toBeLessThanOrEqual(60 * 60_000);
  await waitFor(async () => (await f.h.redis.keys(`${new AppKeys(app).leaseJobPrefix}${keys.streamKey}*`)).filter((k) => !k.includes(':lock')).length === 0, 20_000, 'the removed stream\'s lease jobs gone');
  expect(JSON.parse((await f.h.redis.hget(new AppKeys(app).streams, in1))!)).toMatchObject({ state: 'removed' });

  // Written while removed, then added back: read from the checkpoints on, none of the first 30 again.
  await put(in1, records(`${app}-b`, 30));
  rewrite({ ...base, InputStream1: inputGroup(in1, { 'source.init.position': 'TRIM_HORIZON' }) });
  const output = await settledIds(out0, ids(await inputOf(in1, `${app}-`)), alive);
  const fromIn1 = ids(output).filter((id) => id.startsWith(`${app}-a`) || id.startsWith(`${app}-b`));
  expect(fromIn1.filter((id) => id.startsWith(`${app}-a`))).toHaveLength(30);
  expect(fromIn1.filter((id) => id.startsWith(`${app}-b`))).toHaveLength(30);
  expect(await f.h.redis.pttl(keys.checkpoints)).toBe(-1);
  expect(JSON.parse((await f.h.redis.hget(new AppKeys(app).streams, in1))!)).toMatchObject({ state: 'active' });
});

test('a stream deleted in Kinesis is reported (log, metric, registry) and its leases end, while the other stream flows', async () => {
  const app = f.h.app('it-inputs-deleted');
  f.apps.push(app);
  const in0 = await f.ep.createStream(uniqueName('in0'), 2);
  const gone = uniqueName('in1');
  const in1 = await f.ep.createStream(gone, 2);
  const out0 = await f.ep.createStream(uniqueName('out0'), 2);
  const properties = writeProperties(localProperties(f.ep.endpoint, in0, out0, { SerializationType: { type: 'STRING' }, InputStream1: inputGroup(in1, { 'source.init.position': 'TRIM_HORIZON' }) }));
  const coordinator = f.h.start('coordinator', properties, app);
  const worker = f.h.start('worker', properties, app);
  const alive = [coordinator, worker];
  await waitFor(async () => (await heldLeases(app)).length === 4, 30_000, 'four leases held', 250, () => assertUp(alive));

  await f.ep.deleteStream(gone);
  await waitForLog(coordinator, 'input stream not found in Kinesis', 30_000);
  const url = await opsUrl(coordinator);
  await waitFor(async () => (await metric(url, 'shardflow_input_stream_deleted')) === 1, 20_000, 'shardflow_input_stream_deleted = 1');
  await waitFor(async () => (await heldLeases(app)).length === 2, 60_000, 'the deleted stream\'s leases ended', 500, () => assertUp(alive));
  expect(JSON.parse((await f.h.redis.hget(new AppKeys(app).streams, in1))!)).toMatchObject({ state: 'deleted' });

  // The other stream still flows.
  await put(in0, records(`${app}-after`, 20));
  await settledIds(out0, ids(await inputOf(in0, `${app}-after`)), alive);
  assertUp(alive);
});
