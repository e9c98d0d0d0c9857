/**
 * The transform-module tests' records and checks. Each input record is JSON `{ id, n, key, act }`: `act`
 * tells the fixture module (test/fixtures/transforms/behaviour.*) what to do with it, and the outputs
 * it writes carry `{ id, n, key, part?, prev, inflight, opened, pid }`, so a test can compute, from the
 * plan alone, exactly which output ids each output stream must hold, under which partition keys and in
 * which order, which records are dead-lettered and how many are filtered out.
 */
import { join } from 'node:path';
import { PutRecordsCommand, type KinesisClient, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import type { Redis } from 'ioredis';
import { comparePositionStrings } from '../../shared/position';
import type { DeadLetter } from '../../shared/records';
import { AppKeys } from '../../shared/redis/keys';
import { aggregateOf } from './aggregates';
import type { FaultPipelines, Pipeline, PipelineOptions } from './fault-pipeline';
import { readAll } from './kinesis';
import { localClientProperties, type Groups } from './properties';
import { deadLetters } from './redis';
import { uniqueName, waitFor } from './wait';

export const FIXTURES = join(__dirname, '..', 'fixtures', 'transforms');

export type Act = 'pass' | 'filter' | 'throw' | 'fan' | 'route' | 'hang' | 'late' | 'unknown-output' | 'fan-bad' | 'no-data';

export interface Planned {
  n: number;
  id: string;
  key: string;
  act: Act;
}

/** Twelve input keys; between them they hash to every shard of a 4-shard stream (`key-1` alone to shard 0). */
export const KEYS = Array.from({ length: 12 }, (_, i) => `key-${i}`);

/** Every kind of delivery, in a pattern whose period (10) is prime to the keys' (12), so each key sees every act. */
const MIXED: Act[] = ['pass', 'filter', 'pass', 'throw', 'fan', 'pass', 'route', 'filter', 'fan', 'route'];
export const mixed = (n: number): Act => MIXED[n % MIXED.length];

/** `count` records, key after key round-robin. */
export function plan(prefix: string, count: number, actOf: (n: number) => Act, keys: readonly string[] = KEYS): Planned[] {
  return Array.from({ length: count }, (_, n) => ({ n, id: `${prefix}-${n}`, key: keys[n % keys.length], act: actOf(n) }));
}

export function dataOf(r: Planned): string {
  return JSON.stringify({ id: r.id, n: r.n, key: r.key, act: r.act });
}

/** The pipeline with the transform module (or builtin) and, when asked, an `OutputStream1` on a stream of its own. */
export async function transformPipeline(
  f: FaultPipelines,
  prefix: string,
  options: { module: string; secondOutput?: boolean; groups?: Groups } & Omit<PipelineOptions, 'overrides'>,
): Promise<{ p: Pipeline; out1Arn: string | undefined }> {
  const { module, secondOutput = true, groups = {}, ...rest } = options;
  const overrides: Groups = { ...groups, Transform: { module, ...(groups.Transform ?? {}) } };
  let out1Arn: string | undefined;
  if (secondOutput) {
    out1Arn = await f.ep.createStream(uniqueName('out1'), 2);
    // OutputStream0's client keys, as localProperties gives them, with its own stream.
    overrides.OutputStream1 = { 'stream.arn': out1Arn, ...localClientProperties(f.ep.endpoint), 'sink.flush-buffer.timeout': '100 ms' };
  }
  const p = await f.pipeline(prefix, { ...rest, overrides });
  return { p, out1Arn };
}

export interface Producing {
  /** Records (user records, for aggregates) acknowledged so far. */
  readonly progress: { written: number };
  /** Each shard's last position written: `seq`, or `seq:sub` of an aggregate's last user record. */
  readonly done: Promise<Map<string, string>>;
}

/**
 * Puts `records` in batches of `batch`, one PutRecords after another with `pauseMs` between them, so
 * each key's input order is the plan's. With `aggregate`, each batch's records of one key go as KPL
 * aggregates (made by aws-kinesis-agg) of up to that many user records, keyed by that key, so a key's
 * records still land in one shard in plan order. A record Kinesis refuses fails the run (re-sending it
 * would change the key's order, and the bench endpoint refuses nothing without chaos rules).
 */
export function produce(client: KinesisClient, streamArn: string, records: readonly Planned[], options: { batch?: number; pauseMs?: number; aggregate?: number } = {}): Producing {
  const { batch = 50, pauseMs = 200, aggregate } = options;
  const progress = { written: 0 };
  const done = (async () => {
    const last = new Map<string, string>();
    for (let i = 0; i < records.length; i += batch) {
      const slice = records.slice(i, i + batch);
      const entries: Array<{ entry: PutRecordsRequestEntry; users: number }> = [];
      if (aggregate === undefined) {
        for (const r of slice) entries.push({ entry: { PartitionKey: r.key, Data: Buffer.from(dataOf(r)) }, users: 1 });
      } else {
        const byKey = new Map<string, Planned[]>();
        for (const r of slice) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r]);
        for (const [key, list] of byKey) {
          for (let j = 0; j < list.length; j += aggregate) {
            const users = list.slice(j, j + aggregate);
            const agg = aggregateOf(users.map((r) => ({ partitionKey: key, data: dataOf(r) })));
            entries.push({ entry: { PartitionKey: agg.partitionKey, Data: agg.data }, users: users.length });
          }
        }
      }
      const out = await client.send(new PutRecordsCommand({ StreamARN: streamArn, Records: entries.map((e) => e.entry) }));
      const refused = (out.Records ?? []).filter((r) => r.ErrorCode);
      if (refused.length > 0 || out.Records?.length !== entries.length) throw new Error(`the input stream refused ${refused.length} record(s): ${refused[0]?.ErrorCode} ${refused[0]?.ErrorMessage}`);
      out.Records.forEach((r, j) => last.set(r.ShardId!, aggregate === undefined ? r.SequenceNumber! : `${r.SequenceNumber!}:${entries[j].users - 1}`));
      progress.written += slice.length;
      if (i + batch < records.length) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
    return last;
  })();
  // Never an unhandled rejection: the test awaits `done`.
  done.catch(() => undefined);
  return { progress, done };
}

export type OutputGroup = 'OutputStream0' | 'OutputStream1';

export interface Expected {
  /** Per output group: output id (`<id>`, or `<id>#<part>` for a fan-out) → its partition key. */
  outputs: Record<OutputGroup, Map<string, string>>;
  filtered: number;
  /** Input ids the worker must dead-letter. */
  letters: Planned[];
  /** Output records in all (what `shardflow_records_transformed_total` counts). */
  total: number;
}

/** What the fixture makes of the plan. */
export function expectationOf(records: readonly Planned[]): Expected {
  const outputs: Record<OutputGroup, Map<string, string>> = { OutputStream0: new Map(), OutputStream1: new Map() };
  const letters: Planned[] = [];
  let filtered = 0;
  for (const r of records) {
    switch (r.act) {
      case 'pass':
        outputs.OutputStream0.set(r.id, r.key);
        break;
      case 'route':
        // No partitionKey in the answer: OutputStream1's sink.partition-key, the input's key by default.
        outputs.OutputStream1.set(r.id, r.key);
        break;
      case 'fan':
        outputs.OutputStream0.set(`${r.id}#0`, `${r.key}.fan0`);
        outputs.OutputStream0.set(`${r.id}#1`, `${r.key}.fan1`);
        break;
      case 'filter':
        filtered += 1;
        break;
      default:
        letters.push(r);
    }
  }
  return { outputs, filtered, letters, total: outputs.OutputStream0.size + outputs.OutputStream1.size };
}

/** An output record as the fixture wrote it. */
export interface Written {
  shardId: string;
  sequenceNumber: string;
  partitionKey: string;
  outId: string;
  body: { id: string; n: number; key: string; part?: number; prev: number | null; inflight: number; opened: number; pid: number };
}

export async function readWritten(client: KinesisClient, streamArn: string): Promise<Written[]> {
  return (await readAll(client, streamArn)).map((r) => {
    const body = JSON.parse(r.data.toString('utf8')) as Written['body'];
    return { shardId: r.shardId, sequenceNumber: r.sequenceNumber, partitionKey: r.partitionKey, outId: body.part === undefined ? body.id : `${body.id}#${body.part}`, body };
  });
}

/**
 * The stream's records once it stopped growing (two reads a second apart see the same count, so late
 * duplicates are counted too). Read after `checkpointedThrough`: a checkpoint passes a record only once
 * every output stream acknowledged its outputs, so everything the pipeline will write is there by then,
 * and a missing or misrouted record fails the test at once, with the whole list. `check` throws when a
 * process under test died.
 */
export async function stableWritten(client: KinesisClient, streamArn: string, check: () => void): Promise<Written[]> {
  let last = -1;
  return waitFor(
    async () => {
      const written = await readWritten(client, streamArn);
      const settled = written.length === last;
      last = written.length;
      return settled ? written : undefined;
    },
    30_000,
    () => `the records of ${streamArn} to stop growing (${last} records)`,
    1000,
    check,
  );
}

/**
 * What is wrong with one output stream's records: missing or unexpected ids, duplicates (when
 * `exactlyOnce`), wrong partition keys, and order: the records of one output partition key (each holds
 * the records of one input key: the input's own, or a fan-out's `<key>.fan<part>`) must be in input
 * order (first copies: a re-sent record is a later copy). Records of different output keys may
 * interleave, even on one shard: the sink has one request in flight per key, not per shard.
 */
export function deliveryProblems(expected: ReadonlyMap<string, string>, written: readonly Written[], exactlyOnce: boolean): string[] {
  const problems: string[] = [];
  const counts = new Map<string, number>();
  for (const w of written) counts.set(w.outId, (counts.get(w.outId) ?? 0) + 1);
  const missing = [...expected.keys()].filter((id) => !counts.has(id));
  if (missing.length > 0) problems.push(`${missing.length} missing: ${missing.slice(0, 10).join(', ')}`);
  const unexpected = [...counts.keys()].filter((id) => !expected.has(id));
  if (unexpected.length > 0) problems.push(`${unexpected.length} unexpected: ${unexpected.slice(0, 10).join(', ')}`);
  if (exactlyOnce) {
    const twice = [...counts].filter(([, n]) => n > 1).map(([id, n]) => `${id} x${n}`);
    if (twice.length > 0) problems.push(`${twice.length} duplicated: ${twice.slice(0, 10).join(', ')}`);
  }
  const wrongKey = written.filter((w) => expected.has(w.outId) && expected.get(w.outId) !== w.partitionKey).map((w) => `${w.outId} under ${w.partitionKey} (expected ${expected.get(w.outId)})`);
  if (wrongKey.length > 0) problems.push(`${wrongKey.length} with the wrong partition key: ${wrongKey.slice(0, 5).join(', ')}`);
  const seen = new Set<string>();
  const lastOf = new Map<string, { n: number; part: number; outId: string }>();
  for (const w of written) {
    if (seen.has(w.outId)) continue;
    seen.add(w.outId);
    const slot = w.partitionKey;
    const here = { n: w.body.n, part: w.body.part ?? 0, outId: w.outId };
    const before = lastOf.get(slot);
    if (before !== undefined && (here.n < before.n || (here.n === before.n && here.part <= before.part))) {
      problems.push(`out of order under output key ${w.partitionKey}: ${here.outId} after ${before.outId}`);
    }
    lastOf.set(slot, here);
  }
  return problems;
}

/**
 * Whether the fixture saw each key's records one at a time and in input order (what it wrote with each
 * output: the key's previous record when it was called, and how many of the key's records were in
 * flight), and `open` ran once before. Only for a run where every record was transformed once.
 */
export function transformOrderProblems(records: readonly Planned[], written: readonly Written[]): string[] {
  const previous = new Map<string, number | null>();
  const lastOfKey = new Map<string, number>();
  for (const r of records) {
    previous.set(r.id, lastOfKey.get(r.key) ?? null);
    lastOfKey.set(r.key, r.n);
  }
  const problems: string[] = [];
  for (const w of written) {
    const expectedPrev = previous.get(w.body.id);
    if (w.body.prev !== expectedPrev) problems.push(`${w.outId}: called after record ${w.body.prev} of ${w.body.key}, expected after ${expectedPrev}`);
    if (w.body.inflight !== 0) problems.push(`${w.outId}: called while ${w.body.inflight} record(s) of ${w.body.key} were in flight`);
    if (w.body.opened !== 1) problems.push(`${w.outId}: open() had run ${w.body.opened} time(s)`);
  }
  return problems.slice(0, 20);
}

/** Waits until every shard's checkpoint (in input stream `inArn`) is at or past its last position written (everything was submitted: dead letters stored, metrics counted). */
export async function checkpointedThrough(redis: Redis, app: string, inArn: string, last: ReadonlyMap<string, string>, check: () => void): Promise<void> {
  let seen: Record<string, string> = {};
  await waitFor(
    async () => {
      seen = await redis.hgetall(new AppKeys(app).stream(inArn).checkpoints);
      return [...last].every(([shard, position]) => seen[shard] !== undefined && comparePositionStrings(seen[shard], position) >= 0);
    },
    60_000,
    () => `every shard checkpointed through its last record (last ${JSON.stringify(Object.fromEntries(last))}, checkpoints ${JSON.stringify(seen)})`,
    500,
    check,
  );
}

/** The application's dead letters with the input id each holds. */
export async function lettersById(redis: Redis, app: string): Promise<Array<{ id: string; letter: DeadLetter }>> {
  return (await deadLetters(redis, app)).map((letter) => ({ id: String((JSON.parse(Buffer.from(letter.payload, 'base64').toString('utf8')) as { id: unknown }).id), letter }));
}
