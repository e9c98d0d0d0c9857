/**
 * The re-read of the configuration every discovery interval: only a change of the set of input stream
 * ARNs is handed over; any other change is a warning given once; a file that cannot be read is logged
 * once per distinct problem, counted, and leaves the streams as they were.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppConfig, InputStreamConfig } from '../../shared/config/app-config';
import { InputWatcher } from '../../shared/config/input-watcher';
import { buildAppConfig, parsePropertyGroups } from '../../shared/config/properties';
import type { Logger } from '../../shared/logging';
import { initProcessMetrics, metrics } from '../../shared/metrics';

const arn = (name: string) => `arn:aws:kinesis:eu-west-1:123456789012:stream/${name}`;
const A = arn('a');
const B = arn('b');
const C = arn('c');
const OUT = 'arn:aws:kinesis:eu-west-1:123456789012:stream/out';

type Groups = Record<string, Record<string, string>>;

const properties = (groups: Groups) => Object.entries({ OutputStream0: { 'stream.arn': OUT }, ...groups }).map(([PropertyGroupId, PropertyMap]) => ({ PropertyGroupId, PropertyMap }));
const configOf = (groups: Groups): AppConfig => buildAppConfig(parsePropertyGroups(properties(groups)), {}).config;
const arns = (inputs: readonly InputStreamConfig[] | undefined) => inputs?.map((i) => i.stream.arn);

/** A logger that keeps every call, by level. */
function fakeLog() {
  const calls: Array<{ level: string; fields: Record<string, unknown>; msg: string }> = [];
  const at = (level: string) => (fields: Record<string, unknown>, msg: string) => void calls.push({ level, fields, msg });
  const log = { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') } as unknown as Logger;
  return { log, calls, at: (level: string) => calls.filter((c) => c.level === level) };
}

const failures = async () => (await metrics().configReloadFailures.get()).values[0]?.value ?? 0;

beforeEach(() => initProcessMetrics({ role: 'test' }));

function setup(initial: Groups = { InputStream0: { 'stream.arn': A }, InputStream1: { 'stream.arn': B } }) {
  const file: { load: () => AppConfig } = { load: () => configOf(initial) };
  const handed: InputStreamConfig[][] = [];
  const { log, calls, at } = fakeLog();
  const watcher = new InputWatcher({ file: '/conf/app.json', initial: configOf(initial), onInputs: (inputs) => void handed.push(inputs), log, load: () => file.load() });
  /** The file now holds `groups`. */
  const write = (groups: Groups) => {
    file.load = () => configOf(groups);
  };
  const breakWith = (message: string) => {
    file.load = () => {
      throw new Error(message);
    };
  };
  return { watcher, handed, calls, at, write, breakWith };
}

test('an unchanged file hands nothing over and logs nothing', () => {
  const s = setup();
  expect(s.watcher.check()).toBeUndefined();
  expect(s.watcher.check()).toBeUndefined();
  expect(s.handed).toEqual([]);
  expect(s.calls).toEqual([]);
});

test('a stream added is handed over, with every input of the file, once', () => {
  const s = setup();
  s.write({ InputStream0: { 'stream.arn': A }, InputStream1: { 'stream.arn': B }, InputStream2: { 'stream.arn': C } });
  const inputs = s.watcher.check();
  expect(arns(inputs)).toEqual([A, B, C]);
  expect(s.handed).toEqual([inputs]);
  expect(s.at('info')).toEqual([{ level: 'info', fields: { added: [C], removed: [] }, msg: 'input streams changed' }]);
  expect(s.at('warn')).toEqual([]);
  // Nothing new at the next re-read.
  expect(s.watcher.check()).toBeUndefined();
  expect(s.handed).toHaveLength(1);
});

test('a stream removed is handed over, and so is the same stream added back', () => {
  const s = setup();
  s.write({ InputStream0: { 'stream.arn': A } });
  expect(arns(s.watcher.check())).toEqual([A]);
  expect(s.at('info').at(-1)!.fields).toEqual({ added: [], removed: [B] });
  expect(s.watcher.check()).toBeUndefined();
  s.write({ InputStream0: { 'stream.arn': A }, InputStream3: { 'stream.arn': B } });
  expect(arns(s.watcher.check())).toEqual([A, B]);
  expect(s.at('info').at(-1)!.fields).toEqual({ added: [B], removed: [] });
  expect(s.handed.map(arns)).toEqual([[A], [A, B]]);
});

test('a stream replaced by another in the same group is one added and one removed', () => {
  const s = setup();
  s.write({ InputStream0: { 'stream.arn': A }, InputStream1: { 'stream.arn': C } });
  expect(arns(s.watcher.check())).toEqual([A, C]);
  expect(s.at('info')[0].fields).toEqual({ added: [C], removed: [B] });
});

test('a changed setting of a stream read now is a warning given once, not a change of the streams', () => {
  const s = setup();
  s.write({ InputStream0: { 'stream.arn': A, 'source.init.position': 'TRIM_HORIZON' }, InputStream1: { 'stream.arn': B } });
  for (let i = 0; i < 3; i++) expect(s.watcher.check()).toBeUndefined();
  expect(s.handed).toEqual([]);
  expect(s.at('warn')).toEqual([{ level: 'warn', fields: { stream: A }, msg: expect.stringContaining('the settings of an input stream changed: they take effect after a restart') }]);
  // Another value of it is another change, told once too.
  s.write({ InputStream0: { 'stream.arn': A, 'source.init.position': 'LATEST', 'source.shard.discovery.interval': '1 min' }, InputStream1: { 'stream.arn': B } });
  s.watcher.check();
  s.watcher.check();
  expect(s.at('warn')).toHaveLength(2);
  expect(s.handed).toEqual([]);
});

test('a changed output of a stream read now is a warning, not a change of the streams', () => {
  const s = setup({ InputStream0: { 'stream.arn': A }, OutputStream1: { 'stream.arn': arn('out-1') } });
  s.write({ InputStream0: { 'stream.arn': A, output: 'OutputStream1' }, OutputStream1: { 'stream.arn': arn('out-1') } });
  expect(s.watcher.check()).toBeUndefined();
  expect(s.watcher.check()).toBeUndefined();
  expect(s.handed).toEqual([]);
  expect(s.at('warn').map((w) => w.fields)).toEqual([{ stream: A }]);
});

test('a changed key outside the input groups (cluster, output) is a warning given once, and the streams stay', () => {
  const s = setup();
  s.write({ InputStream0: { 'stream.arn': A }, InputStream1: { 'stream.arn': B }, Cluster: { 'lease.timeout': '30 s' } });
  for (let i = 0; i < 3; i++) expect(s.watcher.check()).toBeUndefined();
  expect(s.at('warn')).toEqual([{ level: 'warn', fields: { file: '/conf/app.json' }, msg: 'keys outside the input stream groups changed: they take effect after a restart' }]);
  s.write({ InputStream0: { 'stream.arn': A }, InputStream1: { 'stream.arn': B }, OutputStream0: { 'stream.arn': OUT, 'sink.batch.max-size': '100' } });
  s.watcher.check();
  s.watcher.check();
  expect(s.at('warn')).toHaveLength(2);
  expect(s.handed).toEqual([]);
  expect(s.at('info')).toEqual([]);
});

test('a stream added together with another change is handed over, and the other change is warned about', () => {
  const s = setup();
  s.write({ InputStream0: { 'stream.arn': A }, InputStream1: { 'stream.arn': B }, InputStream2: { 'stream.arn': C }, Cluster: { 'worker.max-leases': '5' } });
  expect(arns(s.watcher.check())).toEqual([A, B, C]);
  expect(s.at('warn').map((w) => w.msg)).toEqual(['keys outside the input stream groups changed: they take effect after a restart']);
});

test('a file that cannot be read is logged once per distinct problem, counted every time, and keeps the streams', async () => {
  const s = setup();
  s.breakWith('Invalid configuration: the properties file is not JSON');
  for (let i = 0; i < 3; i++) expect(s.watcher.check()).toBeUndefined();
  expect(await failures()).toBe(3);
  expect(s.at('error')).toEqual([{ level: 'error', fields: { file: '/conf/app.json', err: 'Invalid configuration: the properties file is not JSON' }, msg: expect.stringContaining('cannot re-read the configuration') }]);
  s.breakWith('Invalid configuration: property group "InputStream1", key "stream.arn": value missing is not allowed');
  s.watcher.check();
  s.watcher.check();
  expect(await failures()).toBe(5);
  expect(s.at('error').map((e) => e.fields.err)).toEqual(['Invalid configuration: the properties file is not JSON', 'Invalid configuration: property group "InputStream1", key "stream.arn": value missing is not allowed']);
  expect(s.handed).toEqual([]);
  // The file back as it was: nothing changed, so nothing is handed over.
  s.write({ InputStream0: { 'stream.arn': A }, InputStream1: { 'stream.arn': B } });
  expect(s.watcher.check()).toBeUndefined();
  expect(s.handed).toEqual([]);
  expect(await failures()).toBe(5);
});

test('after a failed re-read, a good file with another stream applies', async () => {
  const s = setup();
  s.breakWith('cannot read');
  expect(s.watcher.check()).toBeUndefined();
  s.write({ InputStream0: { 'stream.arn': A }, InputStream1: { 'stream.arn': B }, InputStream2: { 'stream.arn': C } });
  expect(arns(s.watcher.check())).toEqual([A, B, C]);
  expect(s.handed.map(arns)).toEqual([[A, B, C]]);
  expect(await failures()).toBe(1);
});

test('without `load` it re-reads the properties file (and its streams file) from disk, every interval of `start`', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shardflow-watch-'));
  jest.useFakeTimers();
  try {
    const file = join(dir, 'app.json');
    const streams = join(dir, 'streams.json');
    const groups = { InputStream0: { 'stream.arn': A, 'source.shard.discovery.interval': '5 s' }, Application: { 'streams-file': 'streams.json' } };
    writeFileSync(file, JSON.stringify(properties(groups)));
    writeFileSync(streams, JSON.stringify({ streams: [B] }));
    const initial = buildAppConfig(parsePropertyGroups(properties(groups)), {}, dir).config;
    const handed: InputStreamConfig[][] = [];
    const { log, at } = fakeLog();
    const watcher = new InputWatcher({ file, initial, onInputs: (inputs) => void handed.push(inputs), log });
    watcher.start();
    jest.advanceTimersByTime(5000);
    expect(handed).toEqual([]);
    expect(at('warn')).toEqual([]);

    writeFileSync(streams, JSON.stringify({ streams: [B, C] }));
    jest.advanceTimersByTime(4999);
    expect(handed).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(handed.map(arns)).toEqual([[A, B, C]]);

    writeFileSync(streams, '{"streams": [');
    jest.advanceTimersByTime(5000);
    expect(at('error')).toHaveLength(1);
    expect(String(at('error')[0].fields.err)).toContain('property group "Application", key "streams-file"');

    watcher.stop();
    writeFileSync(streams, JSON.stringify({ streams: [B] }));
    jest.advanceTimersByTime(60_000);
    expect(handed).toHaveLength(1);
  } finally {
    jest.useRealTimers();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a stream renumbered (InputStream1 -> InputStream3) is the same stream: nothing handed over, no warning', () => {
  const s = setup();
  s.write({ InputStream0: { 'stream.arn': A }, InputStream3: { 'stream.arn': B } });
  expect(s.watcher.check()).toBeUndefined();
  expect(s.calls).toEqual([]);
});

test('an added stream naming an output group this process started without is not read (an error, once), while the others are', () => {
  const s = setup();
  s.write({ InputStream0: { 'stream.arn': A }, InputStream1: { 'stream.arn': B }, InputStream2: { 'stream.arn': C, output: 'OutputStream1' }, OutputStream1: { 'stream.arn': `${OUT}-1` } });
  expect(s.watcher.check()).toBeUndefined();
  expect(s.watcher.check()).toBeUndefined();
  expect(s.handed).toEqual([]);
  expect(s.at('error').filter((c) => c.msg.includes('names an output group this process started without'))).toHaveLength(1);
});
