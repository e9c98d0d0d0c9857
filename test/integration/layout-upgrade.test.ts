/**
 * The upgrade from the single-stream layout (issue #27): an application whose Redis state was written by
 * the build before several input streams (commit 4500954; the fixture in test/fixtures/upgrade/, captured
 * from a real run by its capture.mjs) is taken over by this build without reading a record again or
 * skipping one. coordinator/layout-upgrade.ts states how the old keys map to the new.
 *
 * The Kinesis side is rebuilt on a fresh in-memory Kinesis: the same streams and the same puts in the
 * same order give the same sequence numbers (checked), so the fixture's checkpoints point where they did.
 */
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { json, readAll } from '../support/kinesis';
import { assertUp, useFaultPipelines } from '../support/fault-pipeline';
import { loadRedisFixture } from '../support/redis-fixture';
import { writeProperties, type Groups } from '../support/properties';
import { runCli } from '../support/cli';
import { REDIS_URL } from '../support/redis';
import { waitFor } from '../support/wait';
import { AppKeys, LEASE_QUEUE } from '../../shared/redis/keys';

const FIXTURE = join(__dirname, '..', 'fixtures', 'upgrade');

interface PhaseA {
  input: { stream: string; arn: string; shards: number };
  output: { stream: string; arn: string; shards: number };
  endpointPlaceholder: string;
  properties: Array<{ PropertyGroupId: string; PropertyMap: Record<string, string> }>;
  puts: Array<{ partitionKey: string; explicitHashKey: string; data: string; shardId: string; sequenceNumber: string }>;
}

const f = useFaultPipelines();

test('an application of the single-stream build resumes at its checkpoints after the upgrade: phase-B records only, the old keys moved, the old leases replaced, its dead letter kept', async () => {
  const phaseA = JSON.parse(readFileSync(join(FIXTURE, 'phase-a-records.json'), 'utf8')) as PhaseA;
  // A fresh server (this file's own), the streams in the capture's order, then phase A exactly as captured.
  await f.ep.createStream(phaseA.input.stream, phaseA.input.shards);
  await f.ep.createStream(phaseA.output.stream, phaseA.output.shards);
  for (const put of phaseA.puts) {
    const out = await f.ep.client.send(new PutRecordsCommand({ StreamARN: phaseA.input.arn, Records: [{ PartitionKey: put.partitionKey, ExplicitHashKey: put.explicitHashKey, Data: Buffer.from(put.data) }] }));
    expect(out.Records?.[0]).toMatchObject({ ShardId: put.shardId, SequenceNumber: put.sequenceNumber });
  }
  const app = f.h.app('it-upgrade');
  f.apps.push(app);
  const keys = new AppKeys(app);
  expect(await loadRedisFixture(f.h.redis, join(FIXTURE, 'redis-state.json'), app)).toBeGreaterThan(10);
  const before = await f.h.redis.hgetall(keys.legacy.checkpoints);
  expect(Object.keys(before).sort()).toEqual(['shardId-000000000000', 'shardId-000000000001']);

  // Phase B, written while nothing runs: exactly these must come out.
  const phaseB = Array.from({ length: 30 }, (_, i) => ({ PartitionKey: 'partitionkey', ExplicitHashKey: i % 2 === 0 ? '0' : (2n ** 127n).toString(), Data: Buffer.from(JSON.stringify({ event_time: '2026-12-06T00:00:00', ticker: 'AAPL', price: i, id: `b-${i}` })) }));
  await f.ep.client.send(new PutRecordsCommand({ StreamARN: phaseA.input.arn, Records: phaseB }));

  const groups: Groups = Object.fromEntries(
    phaseA.properties.map((g) => [g.PropertyGroupId, Object.fromEntries(Object.entries(g.PropertyMap).map(([k, v]) => [k, v === phaseA.endpointPlaceholder ? f.ep.endpoint : v]))]),
  );
  const properties = writeProperties(groups);
  const coordinator = f.h.start('coordinator', properties, app);
  const worker = f.h.start('worker', properties, app);
  const alive = [coordinator, worker];

  const want = phaseB.map((_, i) => `b-${i}`);
  let got: string[] = [];
  let last = -1;
  await waitFor(
    async () => {
      got = (await readAll(f.ep.client, phaseA.output.arn)).map((r) => String(json(r).id));
      const settled = want.every((id) => got.includes(id)) && got.length === last;
      last = got.length;
      return settled;
    },
    60_000,
    () => `the 30 phase-B records in the output (${got.length} there)`,
    1000,
    () => assertUp(alive),
  );
  // Neither re-read (no phase-A record) nor skipped (every phase-B record), each once.
  expect(got.sort()).toEqual([...want].sort());

  // The old keys moved to the stream's own; the layout marker names the stream they went to.
  const stream = keys.stream(phaseA.input.arn);
  expect(await f.h.redis.exists(keys.legacy.checkpoints, keys.legacy.submitted, keys.legacy.initialShards)).toBe(0);
  expect((await f.h.redis.smembers(stream.initialShards)).sort()).toEqual(['shardId-000000000000', 'shardId-000000000001']);
  expect(JSON.parse((await f.h.redis.get(keys.layout))!)).toMatchObject({ version: 2, from: 'single-stream', stream: phaseA.input.arn });
  const lastB = new Map((await readAll(f.ep.client, phaseA.input.arn)).map((r) => [r.shardId, r.sequenceNumber]));
  await waitFor(async () => {
    const now = await f.h.redis.hgetall(stream.checkpoints);
    return [...lastB].every(([shard, seq]) => now[shard] === seq);
  }, 20_000, 'checkpoints at the last phase-B record of each shard');

  // The old lease jobs (ids = bare shard ids) are gone; the new ones are keyed by stream and shard.
  const jobKeys = (await f.h.redis.keys(`${keys.leaseJobPrefix}*`)).map((k) => k.slice(keys.leaseJobPrefix.length)).filter((k) => k.startsWith('shardId') || k.includes('|'));
  expect(jobKeys.filter((k) => !k.includes(':')).sort()).toEqual([`${stream.streamKey}|shardId-000000000000`, `${stream.streamKey}|shardId-000000000001`]);
  expect(LEASE_QUEUE).toBe('leases');

  // The dead letter of the old build keeps its id, and names its stream.
  const list = await runCli(['dlq', 'list', '--stream', phaseA.input.stream, '--properties', properties, '--redis', REDIS_URL, '--app', app]);
  expect(list.code).toBe(0);
  expect(list.output).toContain(`shardId-000000000000-${phaseA.puts[20].sequenceNumber}\tfailed\t${phaseA.input.stream}\tshardId-000000000000`);
  expect(list.output).toContain(`1 dead letter(s) of stream ${phaseA.input.stream}`);
});
