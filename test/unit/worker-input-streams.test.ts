/**
 * The worker's input streams, one context per stream ARN: `update` adds and removes streams; a removed
 * stream is not handed to new leases, keeps its context (and its Kinesis clients) while a lease still
 * uses it and closes its clients with the last release; a stream added back gets a fresh context; each
 * stream's preparer is bound to its own default output. No Redis and no Kinesis: the clients connect
 * lazily and are never used here.
 */
import type { InputStreamConfig } from '../../shared/config/app-config';
import { buildAppConfig, parsePropertyGroups } from '../../shared/config/properties';
import { KinesisGateway } from '../../shared/aws/kinesis-gateway';
import type { RedisClient } from '../../shared/redis/connection';
import { AppKeys } from '../../shared/redis/keys';
import type { Logger } from '../../shared/logging';
import { WorkerInputStreams } from '../../worker/input-streams';
import type { OutputPreparer } from '../../worker/transform/transform';
import type { PreparerStream } from '../../worker/transform/transform-runtime';

const arn = (name: string, region = 'eu-west-1') => `arn:aws:kinesis:${region}:123456789012:stream/${name}`;
const A = arn('a');
const B = arn('b', 'us-east-1');
const C = arn('c');
const OUT = arn('out');
const OUT1 = arn('out-1');
const LOCAL = { 'aws.endpoint': 'http://127.0.0.1:1', 'aws.credentials.provider': 'BASIC', 'aws.credentials.provider.basic.accesskeyid': 'AKID', 'aws.credentials.provider.basic.secretkey': 'secret' };

/** The inputs of a configuration: A (polling), B (EFO, to OutputStream1) and C, as groups are given. */
function inputsOf(groups: Record<string, Record<string, string>>): InputStreamConfig[] {
  const all = { OutputStream0: { 'stream.arn': OUT }, OutputStream1: { 'stream.arn': OUT1 }, ...groups };
  return buildAppConfig(parsePropertyGroups(Object.entries(all).map(([PropertyGroupId, PropertyMap]) => ({ PropertyGroupId, PropertyMap }))), {}).config.inputs;
}
const [inA, inB, inC] = inputsOf({
  InputStream0: { 'stream.arn': A, ...LOCAL },
  InputStream1: { 'stream.arn': B, ...LOCAL, 'source.reader.type': 'EFO', 'source.efo.consumer.name': 'efo-b', output: 'OutputStream1' },
  InputStream2: { 'stream.arn': C, ...LOCAL },
});

const log = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined, child: () => log } as unknown as Logger;

afterEach(() => jest.restoreAllMocks());

function setup() {
  // The checkpoint store only defines its scripts on the client; nothing is sent.
  const redis = { defineCommand: jest.fn() } as unknown as RedisClient;
  const keys = new AppKeys('app');
  const preparers: Array<{ stream: PreparerStream; preparer: OutputPreparer }> = [];
  const preparerFor = jest.fn((stream: PreparerStream) => {
    const preparer: OutputPreparer = { name: `preparer ${preparers.length}`, prepare: () => ({ records: [] }) as never };
    preparers.push({ stream, preparer });
    return preparer;
  });
  const created = jest.spyOn(KinesisGateway, 'fromConfig');
  const destroy = jest.spyOn(KinesisGateway.prototype, 'destroy');
  const streams = new WorkerInputStreams({ redis, keys, preparerFor, log });
  /** The gateway made `i`-th. */
  const gateway = (i: number) => created.mock.results[i].value as KinesisGateway;
  /** The numbers (in the order made) of the gateways made from `input`'s settings: its fetcher, then its EFO subscriber. */
  const clientsOf = (input: InputStreamConfig) => created.mock.calls.flatMap(([config], i) => (config === input.client ? [i] : []));
  /** The numbers of the gateways destroyed so far, in order. */
  const destroyed = () => (destroy.mock.contexts as KinesisGateway[]).map((g) => created.mock.results.findIndex((r) => r.value === g)).sort((x, y) => x - y);
  return { streams, keys, preparerFor, preparers, created, destroy, gateway, clientsOf, destroyed };
}

test('update adds the configured streams, each with its own context, clients and keys', () => {
  const s = setup();
  expect(s.streams.update([inA, inB])).toEqual({ added: [A, B], removed: [] });
  expect(s.streams.arns).toEqual([A, B]);
  const a = s.streams.acquire(A)!;
  const b = s.streams.acquire(B)!;
  expect(a.input).toBe(inA);
  expect(b.input).toBe(inB);
  expect(a.keys.streamArn).toBe(A);
  expect(a.keys.prefix).toBe(s.keys.stream(A).prefix);
  expect(b.keys.prefix).toBe(s.keys.stream(B).prefix);
  // Each stream's clients are made from its own group's settings; EFO adds the streaming client.
  expect(s.created.mock.calls).toEqual([[inA.client], [inB.client], [inB.client, { streaming: true }]]);
  expect(s.clientsOf(inA)).toEqual([0]);
  expect(s.clientsOf(inB)).toEqual([1, 2]);
  expect(a.shards).toBe(s.gateway(0));
  expect(b.shards).toBe(s.gateway(1));
  expect(a.shards).not.toBe(b.shards);
  expect(s.destroy).not.toHaveBeenCalled();
});

test('each stream\'s preparer is made for its own default output', () => {
  const s = setup();
  s.streams.update([inA, inB]);
  expect(s.preparerFor.mock.calls).toEqual([[{ arn: A, name: 'a', output: 'OutputStream0' }], [{ arn: B, name: 'b', output: 'OutputStream1' }]]);
  expect(s.streams.acquire(A)!.preparer).toBe(s.preparers[0].preparer);
  expect(s.streams.acquire(B)!.preparer).toBe(s.preparers[1].preparer);
});

test('the same inputs again change nothing: same contexts, no new clients', () => {
  const s = setup();
  s.streams.update([inA, inB]);
  const a = s.streams.acquire(A)!;
  s.streams.release(a);
  // Settings read again (other objects, another order) are the same streams.
  const again = inputsOf({ InputStream0: { 'stream.arn': B, ...LOCAL, 'source.reader.type': 'EFO', 'source.efo.consumer.name': 'efo-b', output: 'OutputStream1' }, InputStream1: { 'stream.arn': A, ...LOCAL } });
  expect(s.streams.update(again)).toEqual({ added: [], removed: [] });
  expect(s.streams.acquire(A)).toBe(a);
  expect(s.created).toHaveBeenCalledTimes(3);
  expect(s.preparerFor).toHaveBeenCalledTimes(2);
  expect(s.destroy).not.toHaveBeenCalled();
});

test('a stream removed while no lease uses it is closed at once and no longer handed out', () => {
  const s = setup();
  s.streams.update([inA, inB]);
  s.streams.release(s.streams.acquire(B)!);
  expect(s.streams.update([inA])).toEqual({ added: [], removed: [B] });
  expect(s.streams.arns).toEqual([A]);
  expect(s.streams.acquire(B)).toBeUndefined();
  // Both of B's clients (fetcher and EFO subscriber), none of A's.
  expect(s.clientsOf(inB)).toEqual([1, 2]);
  expect(s.destroyed()).toEqual([1, 2]);
  // Removed once is reported once.
  expect(s.streams.update([inA])).toEqual({ added: [], removed: [] });
  expect(s.destroy).toHaveBeenCalledTimes(2);
});

test('acquire of a stream never configured is undefined', () => {
  const s = setup();
  s.streams.update([inA]);
  expect(s.streams.acquire(C)).toBeUndefined();
});

test('a removed stream keeps its context while leases use it, and closes its clients with the last release', () => {
  const s = setup();
  s.streams.update([inA, inC]);
  const first = s.streams.acquire(C)!;
  const second = s.streams.acquire(C)!;
  expect(second).toBe(first);
  expect(s.streams.update([inA])).toEqual({ added: [], removed: [C] });
  expect(s.streams.arns).toEqual([A]);
  expect(s.streams.acquire(C)).toBeUndefined(); // no new lease of it
  // Removed once is reported once, even while its context lives on.
  expect(s.streams.update([inA])).toEqual({ added: [], removed: [] });
  expect(s.destroy).not.toHaveBeenCalled();
  s.streams.release(first);
  expect(s.destroy).not.toHaveBeenCalled();
  s.streams.release(second);
  expect(s.destroyed()).toEqual(s.clientsOf(inC));
  // A release too many changes nothing.
  s.streams.release(second);
  expect(s.destroy).toHaveBeenCalledTimes(1);
});

test('a stream added back after its removal gets a fresh context; the old context\'s release does not touch the new one', () => {
  const s = setup();
  s.streams.update([inA, inC]);
  const old = s.streams.acquire(C)!;
  s.streams.update([inA]);
  const changed = inputsOf({ InputStream0: { 'stream.arn': C, ...LOCAL, output: 'OutputStream1' } })[0];
  expect(s.streams.update([inA, changed])).toEqual({ added: [C], removed: [] });
  expect(s.streams.arns).toEqual([A, C]);
  const fresh = s.streams.acquire(C)!;
  expect(fresh).not.toBe(old);
  expect(fresh.input).toBe(changed);
  expect(fresh.shards).not.toBe(old.shards);
  expect(s.preparerFor).toHaveBeenLastCalledWith({ arn: C, name: 'c', output: 'OutputStream1' });
  expect(fresh.preparer).toBe(s.preparers.at(-1)!.preparer);
  const [oldClient] = s.clientsOf(inC);
  const [freshClient] = s.clientsOf(changed);
  expect(fresh.shards).toBe(s.gateway(freshClient));
  expect(s.destroyed()).not.toContain(freshClient);
  // The old lease ends: the new context is still counted as in use by the new lease.
  s.streams.release(old);
  expect(s.streams.update([inA])).toEqual({ added: [], removed: [C] });
  expect(s.destroyed()).not.toContain(freshClient);
  s.streams.release(fresh);
  expect(s.destroyed()).toEqual([oldClient, freshClient]);
});

test('a stream removed and added back with no lease between gets a fresh context too', () => {
  const s = setup();
  s.streams.update([inA]);
  const before = s.streams.acquire(A)!;
  s.streams.release(before);
  s.streams.update([]);
  expect(s.streams.arns).toEqual([]);
  s.streams.update([inA]);
  const after = s.streams.acquire(A)!;
  expect(after).not.toBe(before);
  expect(s.destroyed()).toEqual([0]);
  expect(before.shards).toBe(s.gateway(0));
  expect(after.shards).toBe(s.gateway(1));
});

test('destroy closes every stream\'s clients, removed ones still in use included', () => {
  const s = setup();
  s.streams.update([inA, inB, inC]);
  s.streams.acquire(C);
  s.streams.update([inA, inB]);
  s.streams.destroy();
  expect(s.destroyed()).toEqual([0, 1, 2, 3]);
  expect(s.destroy).toHaveBeenCalledTimes(4);
  expect(s.streams.arns).toEqual([]);
});
