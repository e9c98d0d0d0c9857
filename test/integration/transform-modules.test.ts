/**
 * Transform modules (docs/transforms.md) in real `shardflow` processes on the in-memory Kinesis: jest
 * cannot import an ES module, so the fixture modules (test/fixtures/transforms/) are only ever loaded by
 * spawned workers, coordinators and `dlq replay`. The fixtures do with each record what the record
 * says (`act`), so every check compares the output streams, the dead-letter queue and the metrics with
 * what the plan of input records must give (test/support/transform-pipeline.ts).
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { Queue } from 'bullmq';
import { runCli, stopCli, waitForLog } from '../support/cli';
import { assertUp, metric, opsUrl, useFaultPipelines, type Pipeline } from '../support/fault-pipeline';
import { json, readAll } from '../support/kinesis';
import { writeProperties, type Groups } from '../support/properties';
import { deadLetters, REDIS_URL } from '../support/redis';
import {
  checkpointedThrough,
  deliveryProblems,
  expectationOf,
  FIXTURES,
  lettersById,
  mixed,
  plan,
  produce,
  readWritten,
  stableWritten,
  transformOrderProblems,
  transformPipeline,
  type Act,
  type Planned,
} from '../support/transform-pipeline';
import { waitFor } from '../support/wait';
import { AppKeys, DEAD_LETTER_QUEUE } from '../../shared/redis/keys';

const f = useFaultPipelines();

const ESM = join(FIXTURES, 'behaviour.mjs');
const CJS = join(FIXTURES, 'behaviour.cjs');

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'shardflow-transform-'));
}

/** The pipeline's properties as groups, to write variants of. */
function groupsOf(properties: string): Groups {
  const list = JSON.parse(readFileSync(properties, 'utf8')) as Array<{ PropertyGroupId: string; PropertyMap: Record<string, string> }>;
  return Object.fromEntries(list.map((g) => [g.PropertyGroupId, g.PropertyMap]));
}

/**
 * One worker, every record transformed once: each output stream holds exactly the expected records,
 * in input order per key, the module saw each key's records one at a time in order, the throws are
 * dead-lettered with their reason and the fixture's stack line, and the worker's counters agree.
 */
async function exactDelivery(p: Pipeline, out1Arn: string, records: Planned[], produced: Map<string, string>, fixture: RegExp): Promise<void> {
  const worker = p.workers[0];
  const alive = () => assertUp([p.coordinator, worker]);
  const expected = expectationOf(records);
  // The plan's keys reach every shard of the input.
  expect(produced.size).toBe(4);
  await checkpointedThrough(f.h.redis, p.app, p.inArn, produced, alive);
  const out0 = await stableWritten(f.ep.client, p.outArn, alive);
  const out1 = await stableWritten(f.ep.client, out1Arn, alive);
  expect(deliveryProblems(expected.outputs.OutputStream0, out0, true)).toEqual([]);
  expect(deliveryProblems(expected.outputs.OutputStream1, out1, true)).toEqual([]);
  expect(transformOrderProblems(records, [...out0, ...out1])).toEqual([]);
  const letters = await lettersById(f.h.redis, p.app);
  expect(letters.map((l) => l.id).sort()).toEqual(expected.letters.map((r) => r.id).sort());
  for (const { id, letter } of letters) {
    expect(letter.reason).toBe(`transform failed: Error: boom ${id}`);
    expect(letter.stack).toMatch(fixture);
  }
  const url = await opsUrl(worker);
  expect(await metric(url, 'shardflow_records_filtered_total')).toBe(expected.filtered);
  expect(await metric(url, 'shardflow_records_dead_lettered_total')).toBe(expected.letters.length);
  expect(await metric(url, 'shardflow_records_transformed_total')).toBe(expected.total);
  expect(await metric(url, 'shardflow_records_written_total')).toBe(expected.total);
}

test('an ES module that filters, throws, fans out, routes to OutputStream1 and answers out of order: each output stream holds exactly the expected records in input order per key, the throws are dead-lettered with their stack, the filtered ones counted', async () => {
  const { p, out1Arn } = await transformPipeline(f, 'it-tm-esm', { module: ESM });
  const records = plan(p.app, 600, mixed);
  const produced = await produce(f.ep.client, p.inArn, records, { batch: 50, pauseMs: 200 }).done;
  await exactDelivery(p, out1Arn!, records, produced, /^at .*\(file:\/\/.*\/test\/fixtures\/transforms\/behaviour\.mjs:\d+:\d+\)$/);
});

test('the same module in two workers, one killed with SIGKILL mid-run: nothing is lost on either output stream', async () => {
  const { p, out1Arn } = await transformPipeline(f, 'it-tm-kill', { module: ESM, workers: 2 });
  const [victim, survivor] = p.workers;
  const records = plan(p.app, 900, mixed);
  const expected = expectationOf(records);
  // A third of the input, until the victim has written outputs of its own; the rest flows while it is killed.
  const first = await produce(f.ep.client, p.inArn, records.slice(0, 300), { batch: 30, pauseMs: 200 }).done;
  await waitFor(
    async () => (await readWritten(f.ep.client, p.outArn)).some((w) => w.body.pid === victim.child.pid),
    30_000,
    'the first worker writing',
    250,
    () => assertUp([p.coordinator, ...p.workers]),
  );
  const producing = produce(f.ep.client, p.inArn, records.slice(300), { batch: 30, pauseMs: 200 });
  await waitFor(() => producing.progress.written > 0, 10_000, 'the rest of the input flowing');
  victim.child.kill('SIGKILL');
  await victim.exited;
  const produced = new Map([...first, ...(await producing.done)]);
  const alive = () => assertUp([p.coordinator, survivor]);
  await checkpointedThrough(f.h.redis, p.app, p.inArn, produced, alive);
  const out0 = await stableWritten(f.ep.client, p.outArn, alive);
  const out1 = await stableWritten(f.ep.client, out1Arn!, alive);
  // Duplicates are fine (the victim's unacknowledged records are transformed again); nothing missing or misplaced.
  expect(deliveryProblems(expected.outputs.OutputStream0, out0, false)).toEqual([]);
  expect(deliveryProblems(expected.outputs.OutputStream1, out1, false)).toEqual([]);
  // The survivor took the victim's shards over: it wrote records of every key.
  const survivorKeys = new Set([...out0, ...out1].filter((w) => w.body.pid === survivor.child.pid).map((w) => w.body.key));
  expect([...survivorKeys].sort()).toEqual([...new Set(records.map((r) => r.key))].sort());
  const letters = await lettersById(f.h.redis, p.app);
  expect(new Set(letters.map((l) => l.id))).toEqual(new Set(expected.letters.map((r) => r.id)));
  for (const { id, letter } of letters) expect(letter.reason).toBe(`transform failed: Error: boom ${id}`);
});

test('a CommonJS module (module.exports = { transform, open }) answering at once and late, over KPL-aggregated input: the same exact delivery', async () => {
  const { p, out1Arn } = await transformPipeline(f, 'it-tm-cjs', { module: CJS });
  const records = plan(p.app, 600, mixed);
  const produced = await produce(f.ep.client, p.inArn, records, { batch: 60, pauseMs: 200, aggregate: 5 }).done;
  await exactDelivery(p, out1Arn!, records, produced, /^at .*\(\/.*\/test\/fixtures\/transforms\/behaviour\.cjs:\d+:\d+\)$/);
  // The letters are of user records inside aggregates.
  const letters = await lettersById(f.h.redis, p.app);
  expect(letters.every(({ letter }) => typeof letter.subSequenceNumber === 'number')).toBe(true);
  for (const { id, letter } of letters) expect(JSON.parse(Buffer.from(letter.payload, 'base64').toString('utf8'))).toEqual({ id, n: Number(id.split('-').pop()), key: letter.partitionKey, act: 'throw' });
});

test('CommonJS modules that are the function (module.exports = fn) or export it as tsc does (exports.default = fn) are found', async () => {
  const dir = scratch();
  const input = join(dir, 'input.jsonl');
  writeFileSync(input, '{"a":1}\n');
  const run = async (fixture: string) => {
    const result = await runCli(['transform', '--module', join(FIXTURES, fixture), '--input', input, '--json']);
    expect(result.code).toBe(0);
    return result.output
      .split('\n')
      .filter((line) => line.startsWith('{"input"'))
      .map((line) => JSON.parse(line) as { outcome: string; outputs: Array<{ output: string; partitionKey: string; data: string }> });
  };
  const [fn, dflt] = await Promise.all([run('function-export.cjs'), run('default-export.cjs')]);
  expect(fn).toMatchObject([{ outcome: 'written', outputs: [{ output: 'OutputStream0', partitionKey: 'partitionkey', data: 'fn:{"a":1}' }] }]);
  expect(dflt).toMatchObject([{ outcome: 'written', outputs: [{ output: 'OutputStream0', partitionKey: 'from-default', data: 'default:{"a":1}' }] }]);
});

test('a module that cannot be loaded or opened stops shardflow worker and shardflow coordinator with exit code 2 and one line naming the file, before any lease', async () => {
  // A coordinator of the app leads, so a worker that got past loading would take the shards' leases.
  const p = await f.pipeline('it-tm-load', { workers: 0, settle: false });
  await waitForLog(p.coordinator, 'coordinator started');
  await waitFor(async () => (await f.h.redis.exists(new AppKeys(p.app).coordinatorLeader)) === 1, 20_000, 'the coordinator leading');
  // A coordinator's own app, with no coordinator: one that got past loading would lead it.
  const lonely = f.h.app('it-tm-load-c');
  f.apps.push(lonely);
  const dir = scratch();
  const syntaxError = join(dir, 'syntax-error.mjs');
  writeFileSync(syntaxError, 'export default function transform(record) {\n  return record.data;\n}}\n');
  const cases = [
    { file: join(dir, 'missing.mjs'), problem: 'cannot be loaded: no such file' },
    { file: syntaxError, problem: "cannot be loaded: SyntaxError: Unexpected token '}'" },
    { file: join(FIXTURES, 'no-function.mjs'), problem: 'exports no transform function: export one as `default` or as `transform` (it exports helper)' },
    { file: join(FIXTURES, 'open-throws.mjs'), problem: 'could not open: its open() failed: Error: no API key' },
  ];
  const groups = groupsOf(p.properties);
  const runs = cases.flatMap(({ file, problem }) => {
    const properties = writeProperties({ ...groups, Transform: { module: file } });
    return [
      { role: 'worker', app: p.app },
      { role: 'coordinator', app: lonely },
    ].map(async ({ role, app }) => ({ role, file, problem, ...(await runCli([role, '--properties', properties, '--redis', REDIS_URL, '--app', app])) }));
  });
  for (const run of await Promise.all(runs)) {
    const what = `shardflow ${run.role} with ${run.file}:\n${run.output}`;
    expect({ what, code: run.code }).toEqual({ what, code: 2 });
    const lines = run.output.split('\n').filter((line) => line.includes('Invalid transform module'));
    expect({ what, lines }).toEqual({ what, lines: [`Invalid transform module: property group "Transform", key "module": ${JSON.stringify(run.file)} ${run.problem}`] });
    for (const text of ['lease taken', 'coordinator started', 'leader lease acquired', 'worker running']) expect({ what, leased: run.output.includes(text) }).toEqual({ what, leased: false });
  }
  // Nothing of them reached Redis: no worker status, no leader.
  expect(await f.h.redis.hgetall(new AppKeys(p.app).workerStatus)).toEqual({});
  expect(await f.h.redis.exists(new AppKeys(lonely).coordinatorLeader)).toBe(0);
  assertUp([p.coordinator]);
});

test('Transform.timeout (300 ms): a record the module never answers, or answers too late, is dead-lettered as timed out and its late answer ignored; the others flow', async () => {
  const log = join(scratch(), 'fixture.log');
  const { p, out1Arn } = await transformPipeline(f, 'it-tm-timeout', { module: ESM, groups: { Transform: { timeout: '300 ms' }, FixtureLog: { file: log } } });
  const acts: Act[] = ['pass', 'hang', 'route', 'fan', 'late', 'pass', 'filter'];
  const records = plan(p.app, 140, (n) => acts[n % acts.length]);
  const expected = expectationOf(records);
  const alive = () => assertUp([p.coordinator, ...p.workers]);
  const produced = await produce(f.ep.client, p.inArn, records, { batch: 35, pauseMs: 200 }).done;
  await checkpointedThrough(f.h.redis, p.app, p.inArn, produced, alive);
  const late = records.filter((r) => r.act === 'late').map((r) => r.id);
  // Every late answer has been given by now, and must not be in the output.
  await waitFor(() => late.every((id) => readFileSync(log, 'utf8').includes(`late ${id}\n`)), 30_000, 'every late answer given');
  const out0 = await stableWritten(f.ep.client, p.outArn, alive);
  const out1 = await stableWritten(f.ep.client, out1Arn!, alive);
  expect(deliveryProblems(expected.outputs.OutputStream0, out0, true)).toEqual([]);
  expect(deliveryProblems(expected.outputs.OutputStream1, out1, true)).toEqual([]);
  const letters = await lettersById(f.h.redis, p.app);
  expect(letters.map((l) => l.id).sort()).toEqual(expected.letters.map((r) => r.id).sort());
  for (const { letter } of letters) expect(letter.reason).toBe('transform timed out: no answer within Transform.timeout (300 ms)');
});

test('an output naming an unknown output group, or without data, dead-letters its input record whole with a reason naming the problem; the others flow', async () => {
  const { p, out1Arn } = await transformPipeline(f, 'it-tm-shape', { module: ESM });
  const acts: Act[] = ['pass', 'unknown-output', 'fan', 'no-data', 'route', 'fan-bad', 'filter'];
  const records = plan(p.app, 140, (n) => acts[n % acts.length]);
  const byId = new Map(records.map((r) => [r.id, r]));
  const expected = expectationOf(records);
  const alive = () => assertUp([p.coordinator, ...p.workers]);
  const produced = await produce(f.ep.client, p.inArn, records, { batch: 35, pauseMs: 200 }).done;
  await checkpointedThrough(f.h.redis, p.app, p.inArn, produced, alive);
  const out0 = await stableWritten(f.ep.client, p.outArn, alive);
  const out1 = await stableWritten(f.ep.client, out1Arn!, alive);
  // All or nothing: the good first output of a fan-out whose second names an unknown group is not written either.
  expect(deliveryProblems(expected.outputs.OutputStream0, out0, true)).toEqual([]);
  expect(deliveryProblems(expected.outputs.OutputStream1, out1, true)).toEqual([]);
  const letters = await lettersById(f.h.redis, p.app);
  expect(letters.map((l) => l.id).sort()).toEqual(expected.letters.map((r) => r.id).sort());
  const reasons: Partial<Record<Act, string>> = {
    'unknown-output': 'unknown output group "OutputStream7"; the configuration has OutputStream0, OutputStream1',
    'fan-bad': 'output record 1: unknown output group "OutputStream7"; the configuration has OutputStream0, OutputStream1',
    'no-data': 'wrong result shape: "data" is missing; return a string, a Buffer, { data, partitionKey?, explicitHashKey?, output? }, an array of those, or null to filter the record out',
  };
  for (const { id, letter } of letters) expect({ id, reason: letter.reason }).toEqual({ id, reason: reasons[byId.get(id)!.act] });
  expect(await metric(await opsUrl(p.workers[0]), 'shardflow_records_filtered_total')).toBe(expected.filtered);
});

test('open and close run once per process: a worker stopped with SIGTERM wrote one open and one close line, the coordinator its own', async () => {
  const log = join(scratch(), 'fixture.log');
  const { p } = await transformPipeline(f, 'it-tm-open', { module: ESM, secondOutput: false, groups: { FixtureLog: { file: log } } });
  const [worker] = p.workers;
  const records = plan(p.app, 48, () => 'pass');
  const expected = expectationOf(records);
  const produced = await produce(f.ep.client, p.inArn, records, { batch: 24, pauseMs: 100 }).done;
  const alive = () => assertUp([p.coordinator, worker]);
  await checkpointedThrough(f.h.redis, p.app, p.inArn, produced, alive);
  expect(deliveryProblems(expected.outputs.OutputStream0, await stableWritten(f.ep.client, p.outArn, alive), true)).toEqual([]);
  const wpid = worker.child.pid!;
  const cpid = p.coordinator.child.pid!;
  const linesOf = (pid: number) => readFileSync(log, 'utf8').split('\n').filter((line) => line.endsWith(` ${pid}`));
  expect(await stopCli(worker)).toBe(0);
  expect(linesOf(wpid)).toEqual([expect.stringMatching(new RegExp(`^open worker-.+-${wpid} ${wpid}$`)), `close ${wpid}`]);
  // The coordinator opened it too (its dead-letter replayer transforms), once, and has not closed it yet.
  expect(linesOf(cpid)).toEqual([expect.stringMatching(new RegExp(`^open coordinator-.+-${cpid} ${cpid}$`))]);
  expect(await stopCli(p.coordinator)).toBe(0);
  expect(linesOf(cpid)).toEqual([expect.stringMatching(new RegExp(`^open coordinator-.+-${cpid} ${cpid}$`)), `close ${cpid}`]);
  expect(readFileSync(log, 'utf8').trim().split('\n')).toHaveLength(4);
  // A module's own property group is no typo.
  expect(worker.output()).not.toContain('Unknown property group');
});

test('Transform.module = builtin:stock runs the built-in stock mapping (the ticker becomes AMZN), whatever SerializationType says', async () => {
  const { p } = await transformPipeline(f, 'it-tm-builtin', { module: 'builtin:stock', secondOutput: false, groups: { SerializationType: { type: 'STRING' } } });
  const ids = Array.from({ length: 12 }, (_, i) => `${p.app}-${i}`);
  const entries = ids.map((id, i) => ({ PartitionKey: `key-${i}`, Data: Buffer.from(JSON.stringify({ event_time: new Date().toISOString(), ticker: 'MSFT', price: i, id })) }));
  // Pass-through (STRING's built-in) would write this one; the stock mapping dead-letters it.
  entries.push({ PartitionKey: 'key-0', Data: Buffer.from('not json') });
  await f.ep.client.send(new PutRecordsCommand({ StreamARN: p.inArn, Records: entries }));
  const alive = () => assertUp([p.coordinator, ...p.workers]);
  const output = await waitFor(async () => {
    const out = await readAll(f.ep.client, p.outArn);
    return out.length >= ids.length ? out : undefined;
  }, 30_000, 'the stock records in the output', 500, alive);
  expect(output.map((r) => json(r).id).sort()).toEqual([...ids].sort());
  expect(output.every((r) => json(r).ticker === 'AMZN')).toBe(true);
  const letters = await waitFor(async () => {
    const all = await deadLetters(f.h.redis, p.app);
    return all.length > 0 ? all : undefined;
  }, 30_000, 'the letter of the record that is not JSON', 500, alive);
  expect(letters.map((l) => [Buffer.from(l.payload, 'base64').toString(), l.reason])).toEqual([['not json', expect.stringMatching(/^not valid JSON/)]]);
  await waitForLog(p.workers[0], '"transform":"builtin:stock"');
});

test('shardflow dlq replay of a record the module threw for, after the module file is fixed: the record reaches the output stream', async () => {
  const dir = scratch();
  const module = join(dir, 'replay.mjs');
  copyFileSync(join(FIXTURES, 'replay-broken.mjs'), module);
  const { p } = await transformPipeline(f, 'it-tm-replay', { module, secondOutput: false });
  const records = plan(p.app, 24, (n) => (n === 7 ? 'throw' : 'pass'));
  const produced = await produce(f.ep.client, p.inArn, records, { batch: 24 }).done;
  const alive = () => assertUp([p.coordinator, ...p.workers]);
  await checkpointedThrough(f.h.redis, p.app, p.inArn, produced, alive);
  const [letter] = await lettersById(f.h.redis, p.app);
  expect(letter.id).toBe(records[7].id);
  expect(letter.letter.reason).toBe(`transform failed: Error: boom ${records[7].id}`);
  expect(letter.letter.stack).toMatch(new RegExp(`^at .*\\(file://${dir}/replay\\.mjs:\\d+:\\d+\\)$`));
  const before = await readAll(f.ep.client, p.outArn);
  expect(before.map((r) => json(r).id)).not.toContain(records[7].id);

  // The replay runs alone, with the fixed module (the coordinator's replayer would replay with the old one).
  await f.h.stopAll();
  copyFileSync(join(FIXTURES, 'replay-fixed.mjs'), module);
  const replay = await runCli(['dlq', 'replay', '--properties', p.properties, '--redis', REDIS_URL, '--app', p.app, '--timeout', '60']);
  expect(replay.output).toContain('1 reached the output stream, 0 failed again');
  expect(replay.code).toBe(0);
  const after = (await readAll(f.ep.client, p.outArn)).map((r) => json(r));
  expect(after.filter((o) => o.id === records[7].id)).toEqual([{ id: records[7].id, n: 7, key: records[7].key, act: 'throw', version: 'fixed' }]);
  expect(after).toHaveLength(records.length);
  const queue = new Queue(DEAD_LETTER_QUEUE, { connection: f.h.redis, prefix: new AppKeys(p.app).bullPrefix });
  try {
    expect((await queue.getJobCounts('failed')).failed).toBe(0);
  } finally {
    await queue.close();
  }
});
