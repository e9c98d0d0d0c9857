/**
 * Several outputs (docs/transforms.md, "Several outputs") against real processes: a coordinator and a
 * worker on the bench's in-memory Kinesis and a real Redis, with an `OutputStream1` group next to
 * `OutputStream0` and a transform module (test/fixtures/outputs/route.mjs) that routes each record by
 * its `to` field, or fans it out to both.
 *
 * Each output is its own sink: records reach exactly the stream they are routed to, counted with the
 * output's group and stream; readiness, `sink.fail-on-error` and credentials are per output; and a
 * record that goes to both is checkpointed only once both acknowledged it.
 */
import { join } from 'node:path';
import { ListShardsCommand, PutRecordsCommand, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { json, readAll, type ReadRecord } from '../support/kinesis';
import { assertUp, metric, opsUrl, readiness, useFaultPipelines, WORKER_UA, type Pipeline } from '../support/fault-pipeline';
import { localClientProperties, localProperties, writeProperties, type Groups } from '../support/properties';
import { stopCli, type CliProcess } from '../support/cli';
import { startStsServer } from '../support/sts-server';
import { startSigningLog } from '../support/signing-log';
import { uniqueName, waitFor } from '../support/wait';
import { AppKeys } from '../../shared/redis/keys';

const ROUTE_MODULE = join(__dirname, '..', 'fixtures', 'outputs', 'route.mjs');
const DENIED = { operation: 'PutRecords', userAgent: WORKER_UA, error: 'AccessDeniedException', message: 'User is not authorized to perform: kinesis:PutRecords' };
const ROLE_ACCOUNT = '111122223333';
const ROLE_ARN = `arn:aws:iam::${ROLE_ACCOUNT}:role/shardflow-second-output`;

const f = useFaultPipelines();

type Route = 'OutputStream0' | 'OutputStream1' | 'both' | undefined;

/** A record routed by the fixture module: `to` a group, "both", or none (OutputStream0). */
function entry(id: string, to: Route, explicitHashKey?: string): PutRecordsRequestEntry {
  const e: PutRecordsRequestEntry = { PartitionKey: `key-${id.slice(-1)}`, Data: Buffer.from(JSON.stringify(to === undefined ? { id } : { id, to })) };
  if (explicitHashKey !== undefined) e.ExplicitHashKey = explicitHashKey;
  return e;
}

/** Puts the entries in one request (all of them land at once); returns their sequence numbers. */
async function put(arn: string, entries: PutRecordsRequestEntry[]): Promise<string[]> {
  const out = await f.ep.client.send(new PutRecordsCommand({ StreamARN: arn, Records: entries }));
  expect(out.FailedRecordCount ?? 0).toBe(0);
  return out.Records!.map((r) => r.SequenceNumber!);
}

/** `n` records routed in turn: none (OutputStream0), OutputStream1, both; with the ids each output must hold. */
function routed(prefix: string, n: number): { entries: PutRecordsRequestEntry[]; to0: string[]; to1: string[] } {
  const routes: Route[] = [undefined, 'OutputStream1', 'both'];
  const entries: PutRecordsRequestEntry[] = [];
  const to0: string[] = [];
  const to1: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = `${prefix}-${i}`;
    const to = routes[i % 3];
    entries.push(entry(id, to));
    if (to !== 'OutputStream1') to0.push(id);
    if (to === 'OutputStream1' || to === 'both') to1.push(id);
  }
  return { entries, to0, to1 };
}

const ids = (records: readonly ReadRecord[]) => records.map((r) => String(json(r).id));
const sorted = (list: readonly string[]) => [...list].sort();

/** The second output's group: OutputStream0's client keys, its own stream. */
function secondOutput(arn: string, extra: Record<string, string> = {}): Record<string, string> {
  return { 'stream.arn': arn, ...localClientProperties(f.ep.endpoint), 'sink.flush-buffer.timeout': '100 ms', ...extra };
}

/** The pipeline's overrides: the routing module, and OutputStream1 writing to `out1Arn`. */
function twoOutputs(out1Arn: string, groups: Groups = {}): Groups {
  return { ...groups, Transform: { module: ROUTE_MODULE }, OutputStream1: secondOutput(out1Arn, groups.OutputStream1) };
}

/** A second output stream, created before the pipeline that writes to it. */
async function secondStream(): Promise<{ name: string; arn: string }> {
  const name = uniqueName('out1');
  return { name, arn: await f.ep.createStream(name, 2) };
}

/**
 * Waits until each output stream holds at least the ids it should and has stopped growing (two reads a
 * second apart see the same counts); returns the ids each holds. A record in the wrong stream fails at once.
 */
async function settledOutputs(p: Pipeline, out1Arn: string, want0: readonly string[], want1: readonly string[], alive: CliProcess[]): Promise<{ out0: string[]; out1: string[] }> {
  let last = '';
  let seen = { out0: [] as string[], out1: [] as string[] };
  let misrouted = '';
  return waitFor(
    async () => {
      const out0 = ids(await readAll(f.ep.client, p.outArn));
      const out1 = ids(await readAll(f.ep.client, out1Arn));
      const foreign = [...out0.filter((id) => !want0.includes(id)).map((id) => `${id} in OutputStream0`), ...out1.filter((id) => !want1.includes(id)).map((id) => `${id} in OutputStream1`)];
      if (foreign.length > 0) misrouted = foreign.slice(0, 5).join(', ');
      const counts = `${out0.length}/${out1.length}`;
      const complete = want0.every((id) => out0.includes(id)) && want1.every((id) => out1.includes(id));
      const settled = complete && counts === last;
      last = counts;
      seen = { out0, out1 };
      return settled ? seen : undefined;
    },
    60_000,
    () => `both outputs complete and settled (OutputStream0 ${seen.out0.length} of ${want0.length}, OutputStream1 ${seen.out1.length} of ${want1.length})`,
    1000,
    () => {
      if (misrouted) throw new Error(`records in a stream they were not routed to: ${misrouted}`);
      assertUp(alive);
    },
  );
}

/** Every sample of a metric on a process's /metrics, with its labels. */
async function series(url: string, name: string): Promise<Array<{ labels: Record<string, string>; value: number }>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`))
    .map((line) => {
      const labels: Record<string, string> = {};
      for (const [, key, value] of line.slice(name.length + 1, line.lastIndexOf('}')).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key] = value;
      return { labels, value: Number(line.split(' ').pop()) };
    });
}

/** The value of one output's series of a metric labelled by `output`; undefined when it has none. */
async function ofOutput(url: string, name: string, group: string): Promise<number | undefined> {
  return (await series(url, name)).find((s) => s.labels.output === group)?.value;
}

/** The checkpoint in Redis of the input stream's shard, as a sequence number (undefined before the first). */
async function checkpoint(app: string, inArn: string, shardId: string): Promise<bigint | undefined> {
  const value = await f.h.redis.hget(new AppKeys(app).stream(inArn).checkpoints, shardId);
  return value === null ? undefined : BigInt(value.split(':')[0]);
}

test('records routed to OutputStream0 and OutputStream1 reach exactly their stream; records_written counts each with its output and stream', async () => {
  const out1 = await secondStream();
  const p = await f.pipeline('it-outputs-route', { workers: 1, shards: 2, overrides: twoOutputs(out1.arn) });
  const [worker] = p.workers;
  const url = await opsUrl(worker);
  // An explicit OutputStream0 too, beside the ones that name none.
  const { entries, to0, to1 } = routed(p.app, 60);
  entries.push(entry(`${p.app}-explicit`, 'OutputStream0'));
  to0.push(`${p.app}-explicit`);
  await put(p.inArn, entries);

  const { out0, out1: written1 } = await settledOutputs(p, out1.arn, to0, to1, [p.coordinator, worker]);
  expect(sorted(out0)).toEqual(sorted(to0));
  expect(sorted(written1)).toEqual(sorted(to1));

  const written = await series(url, 'shardflow_records_written_total');
  expect(written.filter((s) => s.labels.output === 'OutputStream1')).toEqual([{ labels: expect.objectContaining({ output: 'OutputStream1', stream: out1.arn }), value: to1.length }]);
  expect(written.filter((s) => s.labels.output === 'OutputStream0')).toEqual([{ labels: expect.objectContaining({ output: 'OutputStream0', stream: p.outArn }), value: to0.length }]);
  // The input-side counters name the input stream; a fan-out of two counts two transformed records.
  expect(await metric(url, 'shardflow_records_read_total')).toBe(entries.length);
  expect(await metric(url, 'shardflow_records_transformed_total')).toBe(to0.length + to1.length);
  assertUp([p.coordinator, worker]);
  expect(await f.h.stopAll()).toEqual([0, 0]);
});

test('OutputStream1 denied: /readyz 503 with output-writes:OutputStream1 failing and naming the error, OutputStream0 ready and still sending; after access returns everything arrives once', async () => {
  const out1 = await secondStream();
  // One input shard and one put: the worker reads every record in one page, before the output fails.
  const p = await f.pipeline('it-outputs-ready', { workers: 1, shards: 1, overrides: twoOutputs(out1.arn) });
  const [worker] = p.workers;
  const url = await opsUrl(worker);
  await waitFor(async () => (await readiness(url)).status === 200, 20_000, 'the worker ready');
  await f.ep.chaos([{ ...DENIED, stream: out1.name }]);
  const { entries, to0, to1 } = routed(p.app, 60);
  await put(p.inArn, entries);

  await waitFor(async () => !(await readiness(url)).checks['output-writes:OutputStream1'].ok, 20_000, 'output-writes:OutputStream1 unready', 100, () => assertUp([worker]));
  const ready = await readiness(url);
  expect(ready.status).toBe(503);
  expect(ready.checks['output-writes:OutputStream1'].detail).toMatch(/AccessDeniedException/);
  expect(ready.checks['output-writes']).toEqual({ ok: true, detail: 'ok' });
  expect(ready.checks['output-stream'].ok).toBe(true);
  expect(ready.checks['output-stream:OutputStream1'].ok).toBe(true);
  expect(await ofOutput(url, 'shardflow_sink_output_failing', 'OutputStream1')).toBe(1);
  // OutputStream0 is not failing (its series, when there is one, is 0).
  expect((await ofOutput(url, 'shardflow_sink_output_failing', 'OutputStream0')) ?? 0).toBe(0);
  expect(await ofOutput(url, 'shardflow_sink_fatal_errors_total', 'OutputStream1')).toBeGreaterThanOrEqual(1);

  // OutputStream0 sends what it holds while OutputStream1 fails.
  await waitFor(async () => sorted(ids(await readAll(f.ep.client, p.outArn))).join() === sorted(to0).join(), 30_000, "OutputStream0's records while OutputStream1 fails", 500, () => assertUp([worker]));
  expect(await readAll(f.ep.client, out1.arn)).toEqual([]);
  expect((await readiness(url)).status).toBe(503);

  await f.ep.clearChaos();
  const { out0, out1: written1 } = await settledOutputs(p, out1.arn, to0, to1, [p.coordinator, worker]);
  expect(sorted(out0)).toEqual(sorted(to0));
  expect(sorted(written1)).toEqual(sorted(to1));
  await waitFor(async () => (await readiness(url)).status === 200, 20_000, 'ready again');
  expect(await ofOutput(url, 'shardflow_sink_output_failing', 'OutputStream1')).toBe(0);
  expect(await metric(url, 'shardflow_records_dead_lettered_total')).toBe(0);
  // Each output has its series, 0 while it takes writes ("0 otherwise"), also one that never failed.
  expect(await ofOutput(url, 'shardflow_sink_output_failing', 'OutputStream0')).toBe(0);
  expect(await f.h.stopAll()).toEqual([0, 0]);
});

test("sink.fail-on-error is per output: on OutputStream0 only, OutputStream1's failure is waited out; on OutputStream1, its failure exits the worker 1 naming OutputStream1", async () => {
  const out1 = await secondStream();
  const groups = (failOn: 'OutputStream0' | 'OutputStream1'): Groups => twoOutputs(out1.arn, { [failOn]: { 'sink.fail-on-error': 'true' } });
  const p = await f.pipeline('it-outputs-fail', { workers: 1, shards: 1, overrides: groups('OutputStream0') });
  const [lenient] = p.workers;
  const url = await opsUrl(lenient);
  await f.ep.chaos([{ ...DENIED, stream: out1.name }]);
  const { entries, to0, to1 } = routed(p.app, 30);
  await put(p.inArn, entries);

  // Failing and probed again and again, the worker stays up: fail-on-error is OutputStream0's, not OutputStream1's.
  await waitFor(async () => ((await ofOutput(url, 'shardflow_sink_fatal_errors_total', 'OutputStream1')) ?? 0) >= 3, 60_000, 'three refused attempts on OutputStream1', 500, () => assertUp([lenient]));
  assertUp([p.coordinator, lenient]);
  expect((await readiness(url)).checks['output-writes:OutputStream1'].ok).toBe(false);
  expect(lenient.output()).not.toContain('sink.fail-on-error is true');
  expect(await stopCli(lenient)).toBe(0);

  // The same failure with fail-on-error in OutputStream1: exit 1, naming the group.
  const input = { InputStream0: { 'source.reader.type': 'POLLING' } };
  const strictProps = writeProperties(localProperties(f.ep.endpoint, p.inArn, p.outArn, { ...input, ...groups('OutputStream1') }));
  const strict = f.h.start('worker', strictProps, p.app, { AWS_SDK_UA_APP_ID: 'shardflow-worker-2' });
  const { code } = await waitFor(async () => (strict.child.exitCode === null ? undefined : { code: strict.child.exitCode }), 60_000, 'the worker with fail-on-error in OutputStream1 to exit');
  expect(code).toBe(1);
  const line = strict
    .output()
    .split('\n')
    .find((l) => l.includes('sink.fail-on-error is true in'));
  expect(line).toBeDefined();
  expect(JSON.parse(line!)).toMatchObject({ output: 'OutputStream1', msg: expect.stringContaining('sink.fail-on-error is true in OutputStream1') });
  expect(line).toContain('AccessDeniedException');

  await f.ep.clearChaos();
  const restored = f.h.start('worker', p.properties, p.app, { AWS_SDK_UA_APP_ID: 'shardflow-worker-3' });
  const { out0, out1: written1 } = await settledOutputs(p, out1.arn, to0, to1, [p.coordinator, restored]);
  // Records read again after the stops may reach OutputStream0 twice (at least once), none is missing.
  expect(new Set(out0)).toEqual(new Set(to0));
  expect(sorted(written1)).toEqual(sorted(to1));
  // Newest first: the restored worker, the fail-on-error one (exited 1), the stopped one, the coordinator.
  expect(await f.h.stopAll()).toEqual([0, 1, 0, 0]);
});

test("per-output credentials: OutputStream1 assumes a role, OutputStream0 signs with its basic keys; each stream's PutRecords carry its own", async () => {
  const [sts, signing] = await Promise.all([startStsServer(), startSigningLog(f.ep.endpoint)]);
  try {
    const out1 = await secondStream();
    // The second output's stream as the role's account names it (the in-memory endpoint finds it by name).
    const out1Arn = out1.arn.replace(':000000000000:', `:${ROLE_ACCOUNT}:`);
    const overrides = twoOutputs(out1Arn, {
      OutputStream0: { 'aws.endpoint': signing.endpoint },
      OutputStream1: {
        'aws.endpoint': signing.endpoint,
        'aws.credentials.provider': 'ASSUME_ROLE',
        'aws.credentials.provider.role.arn': ROLE_ARN,
        'aws.credentials.provider.role.sessionName': 'shardflow-second-output',
        'aws.credentials.provider.role.provider': 'BASIC',
        'aws.credentials.provider.role.stsEndpoint': sts.endpoint,
      },
    });
    const p = await f.pipeline('it-outputs-creds', { workers: 1, shards: 2, overrides });
    const [worker] = p.workers;
    const { entries, to0, to1 } = routed(p.app, 30);
    await put(p.inArn, entries);
    const { out0, out1: written1 } = await settledOutputs(p, out1.arn, to0, to1, [p.coordinator, worker]);
    expect(sorted(out0)).toEqual(sorted(to0));
    expect(sorted(written1)).toEqual(sorted(to1));

    const to = (stream: string) => signing.puts.filter((s) => s.stream === stream);
    expect(to(out1.name).length).toBeGreaterThan(0);
    expect(to(p.outName).length).toBeGreaterThan(0);
    for (const put1 of to(out1.name)) expect(put1).toEqual({ stream: out1.name, accessKeyId: ROLE_ACCOUNT, sessionToken: 'assumed-session-token' });
    for (const put0 of to(p.outName)) expect(put0).toEqual({ stream: p.outName, accessKeyId: '000000000000', sessionToken: undefined });
    // The role was assumed with OutputStream1's base keys; OutputStream0 and the input never assume it.
    expect(sts.calls.length).toBeGreaterThanOrEqual(1);
    for (const call of sts.calls) expect(call).toEqual({ roleArn: ROLE_ARN, sessionName: 'shardflow-second-output', callerAccessKeyId: '000000000000' });
    assertUp([p.coordinator, worker]);
    expect(await f.h.stopAll()).toEqual([0, 0]);
  } finally {
    await f.h.stopAll();
    await Promise.all([sts.close(), signing.close()]);
  }
});

test('a record fanned out to both outputs is checkpointed only once both acknowledged it, while the shard beside it checkpoints on', async () => {
  const out1 = await secondStream();
  const p = await f.pipeline('it-outputs-ckpt', { workers: 1, shards: 2, overrides: twoOutputs(out1.arn) });
  const [worker] = p.workers;
  const alive = () => assertUp([p.coordinator, worker]);
  const shards = (await f.ep.client.send(new ListShardsCommand({ StreamARN: p.inArn }))).Shards!;
  const [x, y] = shards.map((s) => ({ id: s.ShardId!, hashKey: s.HashKeyRange!.StartingHashKey! }));
  const holds = async (arn: string, id: string) => ids(await readAll(f.ep.client, arn)).includes(id);

  // A first record checkpointed on shard x.
  const [a] = await put(p.inArn, [entry(`${p.app}-a`, undefined, x.hashKey)]);
  await waitFor(async () => (await checkpoint(p.app, p.inArn, x.id)) === BigInt(a), 30_000, `shard ${x.id} checkpointed at its first record`, 200, alive);

  // OutputStream1 refuses every request for a while (retryable: the worker keeps reading).
  await f.ep.chaos([{ operation: 'PutRecords', stream: out1.name, userAgent: WORKER_UA, error: 'InternalFailure', message: 'held by the test' }]);
  const [b, d] = await put(p.inArn, [entry(`${p.app}-b`, 'both', x.hashKey), entry(`${p.app}-d`, undefined, x.hashKey)]);
  await waitFor(async () => (await holds(p.outArn, `${p.app}-b`)) && (await holds(p.outArn, `${p.app}-d`)), 30_000, "OutputStream0's part of b, and d after it", 200, alive);
  // Put after b's OutputStream0 part was acknowledged: once shard y's checkpoint passes c, checkpoints were written since.
  const [c] = await put(p.inArn, [entry(`${p.app}-c`, undefined, y.hashKey)]);
  await waitFor(async () => ((await checkpoint(p.app, p.inArn, y.id)) ?? 0n) >= BigInt(c), 30_000, `shard ${y.id} checkpointed past c`, 200, alive);
  expect(await checkpoint(p.app, p.inArn, x.id)).toBe(BigInt(a));
  expect(BigInt(a)).toBeLessThan(BigInt(b));
  expect(await holds(out1.arn, `${p.app}-b`)).toBe(false);
  expect((await f.ep.chaosState())[0].fired).toBeGreaterThan(0);

  await f.ep.clearChaos();
  await waitFor(async () => ((await checkpoint(p.app, p.inArn, x.id)) ?? 0n) >= BigInt(d), 60_000, `shard ${x.id} checkpointed past b and d`, 200, alive);
  expect(ids(await readAll(f.ep.client, out1.arn))).toEqual([`${p.app}-b`]);
  expect(await f.h.stopAll()).toEqual([0, 0]);
});
