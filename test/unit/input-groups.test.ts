/**
 * Several input streams in one configuration (issue #27): every `InputStream<n>` group in the order of n,
 * each with its own region, credentials, reader, EFO consumer and start; its `output` checked against the
 * output groups; one input per stream ARN; `Application.streams-file` entries as input groups of their
 * own; `Application.removed-stream.retention`; and the legacy FlinkKinesisConsumer keys in any input group.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildAppConfig, parsePropertyGroups } from '../../shared/config/properties';
import { ConfigError } from '../../shared/config/config-error';
import { inputGroupNames } from '../../shared/config/input-groups';
import * as o from '../../shared/config/options';

const arn = (name: string, region = 'eu-west-1', account = '123456789012', partition = 'aws') => `arn:${partition}:kinesis:${region}:${account}:stream/${name}`;
const OUT_ARN = arn('out', 'us-west-2', '210987654321');
const OUT1_ARN = arn('out-1', 'us-west-2', '210987654321');

type Groups = Record<string, Record<string, string | number | boolean>>;

function file(groups: Groups): unknown {
  return Object.entries(groups).map(([PropertyGroupId, PropertyMap]) => ({ PropertyGroupId, PropertyMap }));
}

/** `groups` with OutputStream0 added unless given. */
function build(groups: Groups, baseDir?: string) {
  return buildAppConfig(parsePropertyGroups(file({ OutputStream0: { 'stream.arn': OUT_ARN }, ...groups })), {}, baseDir);
}

/** The ConfigError thrown by `fn`; fails the test when nothing (or something else) is thrown. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).exitCode).toBe(2);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

const invalid = (group: string, key: string, value: string | undefined, allowed: string) =>
  `Invalid configuration: property group "${group}", key "${key}": value ${value === undefined ? 'missing' : JSON.stringify(value)} is not allowed; allowed: ${allowed}`;

describe('InputStream<n> groups', () => {
  it('reads every InputStream<n> group in the order of n (InputStream10 after InputStream2), InputStream0 first as `input`', () => {
    const { config, warnings } = build({
      InputStream10: { 'stream.arn': arn('ten') },
      InputStream2: { 'stream.arn': arn('two') },
      InputStream0: { 'stream.arn': arn('zero') },
      InputStream1: { 'stream.arn': arn('one') },
    });
    expect(warnings).toEqual([]);
    expect(config.inputs.map((i) => [i.group, i.stream.name])).toEqual([
      ['InputStream0', 'zero'],
      ['InputStream1', 'one'],
      ['InputStream2', 'two'],
      ['InputStream10', 'ten'],
    ]);
    expect(config.input).toBe(config.inputs[0]);
  });

  it('needs no InputStream0 when another input group is there', () => {
    const { config } = build({ InputStream3: { 'stream.arn': arn('three') } });
    expect(config.inputs.map((i) => i.group)).toEqual(['InputStream3']);
    expect(config.input.group).toBe('InputStream3');
  });

  it('counts only InputStream<n> with a plain number as input groups', () => {
    const names = inputGroupNames(new Map(['InputStream01', 'InputStream-1', 'InputStream', 'inputstream1', 'InputStream12345', 'InputStream9999', 'InputStream7', 'OutputStream1'].map((g) => [g, {}])));
    expect(names).toEqual(['InputStream7', 'InputStream9999']);
  });

  it('reads each group with its own region, endpoint, credentials, reader, EFO consumer, start and intervals', () => {
    const { config } = build({
      InputStream0: { 'stream.arn': arn('a', 'eu-west-1') },
      InputStream1: {
        'stream.arn': arn('b', 'cn-north-1', '444455556666', 'aws-cn'),
        'aws.endpoint': 'http://localhost:4567',
        'aws.credentials.provider': 'ASSUME_ROLE',
        'aws.credentials.provider.role.arn': 'arn:aws-cn:iam::444455556666:role/reader',
        'aws.credentials.provider.role.externalId': 'tenant-b',
        'source.reader.type': 'EFO',
        'source.efo.consumer.name': 'consumer-b',
        'source.efo.consumer.lifecycle': 'SELF_MANAGED',
        'source.init.position': 'AT_TIMESTAMP',
        'source.init.timestamp': '2024-05-01T12:00:00.000Z',
        'source.shard.discovery.interval': '30 s',
      },
      InputStream2: {
        'stream.arn': arn('c', 'us-east-1'),
        'aws.region': 'us-east-2',
        'aws.credentials.provider': 'BASIC',
        'aws.credentials.provider.basic.accesskeyid': 'AKIDC',
        'aws.credentials.provider.basic.secretkey': 'secret-c',
        'source.init.position': 'TRIM_HORIZON',
      },
    });
    const [a, b, c] = config.inputs;
    expect(a).toMatchObject({ group: 'InputStream0', stream: { region: 'eu-west-1' }, client: { group: 'InputStream0', region: 'eu-west-1', endpoint: undefined, credentials: { provider: 'AUTO' } } });
    expect(a.readerType).toBe('POLLING');
    expect(a.initialPosition).toEqual({ type: 'LATEST' });
    expect(a.discoveryIntervalMs).toBe(10_000);

    expect(b.stream).toEqual({ arn: arn('b', 'cn-north-1', '444455556666', 'aws-cn'), name: 'b', account: '444455556666', region: 'cn-north-1' });
    expect(b.client).toMatchObject({ group: 'InputStream1', region: 'cn-north-1', endpoint: 'http://localhost:4567' });
    expect(b.client.credentials).toEqual({
      provider: 'ASSUME_ROLE',
      roleArn: 'arn:aws-cn:iam::444455556666:role/reader',
      sessionName: 'shardflow',
      externalId: 'tenant-b',
      stsEndpoint: undefined,
      base: { provider: 'AUTO' },
    });
    expect(b.readerType).toBe('EFO');
    expect(b.efo).toMatchObject({ consumerName: 'consumer-b', lifecycle: 'SELF_MANAGED' });
    expect(b.initialPosition).toEqual({ type: 'AT_TIMESTAMP', timestamp: new Date('2024-05-01T12:00:00.000Z') });
    expect(b.discoveryIntervalMs).toBe(30_000);

    expect(c.stream.region).toBe('us-east-2');
    expect(c.client).toMatchObject({ group: 'InputStream2', region: 'us-east-2', credentials: { provider: 'BASIC', accessKeyId: 'AKIDC', secretAccessKey: 'secret-c' } });
    expect(c.readerType).toBe('POLLING');
    expect(c.efo.consumerName).toBeUndefined();
    expect(c.initialPosition).toEqual({ type: 'TRIM_HORIZON' });
  });

  it('does not let one group\'s settings leak into another (InputStream1 takes InputStream0\'s options, not its values)', () => {
    const { config } = build({
      InputStream0: { 'stream.arn': arn('a'), 'source.reader.type': 'EFO', 'source.efo.consumer.name': 'c0', 'source.init.position': 'TRIM_HORIZON', 'aws.endpoint': 'http://localhost:1' },
      InputStream1: { 'stream.arn': arn('b') },
    });
    expect(config.inputs[1]).toMatchObject({ readerType: 'POLLING', initialPosition: { type: 'LATEST' }, client: { endpoint: undefined } });
    expect(config.inputs[1].efo.consumerName).toBeUndefined();
  });

  it('refuses EFO without a consumer name, naming the group that lacks it (InputStream1, not InputStream0)', () => {
    const err = configError(() =>
      build({
        InputStream0: { 'stream.arn': arn('a'), 'source.reader.type': 'EFO', 'source.efo.consumer.name': 'c0' },
        InputStream1: { 'stream.arn': arn('b'), 'source.reader.type': 'EFO' },
      }),
    );
    expect(err.message).toBe(invalid('InputStream1', 'source.efo.consumer.name', undefined, `${o.EFO_CONSUMER_NAME.allowed} (required with source.reader.type=EFO)`));
  });

  it('names the input group in any bad value of it', () => {
    const err = configError(() => build({ InputStream0: { 'stream.arn': arn('a') }, InputStream4: { 'stream.arn': arn('b'), 'source.init.position': 'EARLIEST' } }));
    expect(err.message).toContain('property group "InputStream4", key "source.init.position": value "EARLIEST"');
  });

  it('refuses a configuration without any input group', () => {
    expect(configError(() => build({ Cluster: { 'lease.timeout': '10 s' } })).message).toBe(
      invalid('InputStream0', 'stream.arn', undefined, `a property group "InputStream0" (or another InputStream<n>, or Application.streams-file) with ${o.STREAM_ARN.allowed}`),
    );
  });

  it('refuses the same stream ARN in two groups, naming both', () => {
    const twice = arn('twice');
    const err = configError(() => build({ InputStream0: { 'stream.arn': arn('a') }, InputStream1: { 'stream.arn': twice }, InputStream2: { 'stream.arn': twice } }));
    expect(err.message).toBe(invalid('InputStream2', 'stream.arn', twice, 'a stream no other input group reads (InputStream1 reads it already)'));
  });

  it('reads two streams of the same name in other regions or accounts as two inputs', () => {
    const { config } = build({ InputStream0: { 'stream.arn': arn('s', 'eu-west-1') }, InputStream1: { 'stream.arn': arn('s', 'us-east-1') }, InputStream2: { 'stream.arn': arn('s', 'eu-west-1', '999988887777') } });
    expect(config.inputs).toHaveLength(3);
  });
});

describe('the output of an input', () => {
  it('is OutputStream0 by default', () => {
    const { config } = build({ InputStream0: { 'stream.arn': arn('a') }, InputStream1: { 'stream.arn': arn('b') }, OutputStream1: { 'stream.arn': OUT1_ARN } });
    expect(config.inputs.map((i) => i.output)).toEqual(['OutputStream0', 'OutputStream0']);
  });

  it('may name another output group that exists', () => {
    const { config, warnings } = build({ InputStream0: { 'stream.arn': arn('a') }, InputStream1: { 'stream.arn': arn('b'), output: 'OutputStream1' }, OutputStream1: { 'stream.arn': OUT1_ARN } });
    expect(warnings).toEqual([]);
    expect(config.inputs.map((i) => i.output)).toEqual(['OutputStream0', 'OutputStream1']);
  });

  it('refuses an output group that does not exist, naming the group, the key, the value and the output groups there are', () => {
    const err = configError(() => build({ InputStream0: { 'stream.arn': arn('a') }, InputStream1: { 'stream.arn': arn('b'), output: 'OutputStream2' }, OutputStream1: { 'stream.arn': OUT1_ARN } }));
    expect(err.message).toBe(invalid('InputStream1', 'output', 'OutputStream2', 'one of the output groups configured: OutputStream0, OutputStream1'));
  });

  it('refuses OutputStream1 when only OutputStream0 is configured', () => {
    const err = configError(() => build({ InputStream1: { 'stream.arn': arn('b'), output: 'OutputStream1' } }));
    expect(err.message).toBe(invalid('InputStream1', 'output', 'OutputStream1', 'one of the output groups configured: OutputStream0'));
  });
});

describe('Application.streams-file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'shardflow-streams-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, content: unknown) => writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));

  it('reads each entry (an ARN, or keys over the defaults) as an input group named `<file>[i]`, relative to the base folder', () => {
    write('streams.json', {
      defaults: { 'source.init.position': 'TRIM_HORIZON', 'aws.region': 'eu-central-1', 'source.shard.discovery.interval': 20000 },
      streams: [arn('t1'), { 'stream.arn': arn('t2'), 'source.init.position': 'LATEST', 'source.reader.type': 'EFO', 'source.efo.consumer.name': 'efo-t2' }, { 'stream.arn': arn('t3'), output: 'OutputStream1' }],
    });
    const { config, warnings } = build({ InputStream0: { 'stream.arn': arn('main') }, OutputStream1: { 'stream.arn': OUT1_ARN }, Application: { 'streams-file': 'streams.json' } }, dir);
    expect(warnings).toEqual([]);
    expect(config.application.streamsFile).toBe(join(dir, 'streams.json'));
    expect(config.inputs.map((i) => i.group)).toEqual(['InputStream0', 'streams.json[0]', 'streams.json[1]', 'streams.json[2]']);
    const [main, t1, t2, t3] = config.inputs;
    expect(main.initialPosition).toEqual({ type: 'LATEST' }); // the defaults are the file's, not InputStream0's
    expect(main.stream.region).toBe('eu-west-1');
    expect(t1).toMatchObject({ stream: { arn: arn('t1'), name: 't1', region: 'eu-central-1' }, initialPosition: { type: 'TRIM_HORIZON' }, readerType: 'POLLING', discoveryIntervalMs: 20_000, output: 'OutputStream0' });
    expect(t1.client).toMatchObject({ group: 'streams.json[0]', region: 'eu-central-1' });
    expect(t2).toMatchObject({ stream: { arn: arn('t2') }, initialPosition: { type: 'LATEST' }, readerType: 'EFO', efo: { consumerName: 'efo-t2' }, discoveryIntervalMs: 20_000 });
    expect(t3.output).toBe('OutputStream1');
  });

  it('is enough on its own: no InputStream<n> group is needed', () => {
    write('only.json', { streams: [arn('x'), arn('y')] });
    const { config } = build({ Application: { 'streams-file': join(dir, 'only.json') } }, '/elsewhere');
    expect(config.inputs.map((i) => [i.group, i.stream.name])).toEqual([
      [`${join(dir, 'only.json')}[0]`, 'x'],
      [`${join(dir, 'only.json')}[1]`, 'y'],
    ]);
    expect(config.input).toBe(config.inputs[0]);
  });

  it('names the entry in a bad value of it (EFO without a consumer name)', () => {
    write('streams.json', { streams: [arn('t1'), { 'stream.arn': arn('t2'), 'source.reader.type': 'EFO' }] });
    const err = configError(() => build({ Application: { 'streams-file': 'streams.json' } }, dir));
    expect(err.message).toBe(invalid('streams.json[1]', 'source.efo.consumer.name', undefined, `${o.EFO_CONSUMER_NAME.allowed} (required with source.reader.type=EFO)`));
  });

  it('refuses a stream named both by a group and by the file, naming both', () => {
    write('streams.json', { streams: [arn('t1'), arn('main')] });
    const err = configError(() => build({ InputStream0: { 'stream.arn': arn('main') }, Application: { 'streams-file': 'streams.json' } }, dir));
    expect(err.message).toBe(invalid('streams.json[1]', 'stream.arn', arn('main'), 'a stream no other input group reads (InputStream0 reads it already)'));
  });

  it('refuses a stream named twice in the file', () => {
    write('streams.json', { streams: [arn('t1'), { 'stream.arn': arn('t1') }] });
    expect(configError(() => build({ Application: { 'streams-file': 'streams.json' } }, dir)).message).toContain('(streams.json[0] reads it already)');
  });

  it.each([
    ['missing', undefined, 'a readable JSON file (ENOENT'],
    ['not JSON', '{"streams": [', 'a readable JSON file ('],
    ['without "streams"', { defaults: {} }, 'problem at streams:'],
    ['with "streams" not an array', { streams: arn('x') }, 'problem at streams:'],
    ['with an empty ARN', { streams: [''] }, 'problem at streams.0'],
    ['with a nested value in an entry', { streams: [{ 'stream.arn': arn('x'), nested: { a: 1 } }] }, 'problem at streams.0'],
    ['with a null default', { defaults: { 'aws.region': null }, streams: [arn('x')] }, 'problem at defaults.aws.region:'],
    ['an array', [arn('x')], 'problem at the top level:'],
  ])('refuses a streams file %s with a ConfigError naming Application and streams-file', (_what, content, allowed) => {
    if (content !== undefined) write('bad.json', content);
    const err = configError(() => build({ InputStream0: { 'stream.arn': arn('main') }, Application: { 'streams-file': 'bad.json' } }, dir));
    expect(err.message).toContain('Invalid configuration: property group "Application", key "streams-file": value "bad.json" is not allowed; allowed: ');
    expect(err.message).toContain(allowed);
  });

  it('warns about unknown keys of an entry and of the defaults, naming the entry', () => {
    write('streams.json', { defaults: { 'source.init.postion': 'TRIM_HORIZON' }, streams: [{ 'stream.arn': arn('t1'), 'sink.batch.max-size': 10 }] });
    const { config, warnings } = build({ InputStream0: { 'stream.arn': arn('main') }, Application: { 'streams-file': 'streams.json' } }, dir);
    expect(config.inputs[1].initialPosition).toEqual({ type: 'LATEST' });
    expect(warnings).toEqual([
      'Unknown key "source.init.postion" in property group "streams.json[0]" is ignored: shardflow has no setting of that name for this group',
      'Unknown key "sink.batch.max-size" in property group "streams.json[0]" is ignored: shardflow has no setting of that name for this group',
    ]);
  });

  it('warns about an unknown key of the Application group', () => {
    const { warnings } = build({ InputStream0: { 'stream.arn': arn('main') }, Application: { 'streams.file': 'x.json' } });
    expect(warnings).toEqual(['Unknown key "streams.file" in property group "Application" is ignored: shardflow has no setting of that name for this group']);
  });
});

describe('Application.removed-stream.retention', () => {
  const retention = (value?: string) => build({ InputStream0: { 'stream.arn': arn('a') }, ...(value === undefined ? {} : { Application: { 'removed-stream.retention': value } }) }).config.application.removedStreamRetentionMs;

  it('is 7 days by default', () => {
    expect(retention()).toBe(7 * 24 * 3_600_000);
  });

  it('reads durations such as "1 h"', () => {
    expect(retention('1 h')).toBe(3_600_000);
    expect(retention('30 d')).toBe(30 * 24 * 3_600_000);
  });

  it('refuses less than a minute, naming Application and the key', () => {
    expect(configError(() => retention('10 s')).message).toContain('property group "Application", key "removed-stream.retention": value "10 s" is not allowed');
  });
});

describe('legacy FlinkKinesisConsumer keys in any input group', () => {
  const notice = (group: string, legacy: string, key: string) => `Legacy FlinkKinesisConsumer key "${legacy}" in property group "${group}" is read as "${key}"; use "${key}" in new files`;

  it('reads them in InputStream1 as in InputStream0, with a notice naming InputStream1', () => {
    const { config, warnings } = build({
      InputStream0: { 'stream.arn': arn('a') },
      InputStream1: { 'stream.arn': arn('b'), 'flink.stream.initpos': 'TRIM_HORIZON', 'flink.stream.recordpublisher': 'EFO', 'flink.stream.efo.consumername': 'legacy-b' },
    });
    expect(config.inputs[0]).toMatchObject({ initialPosition: { type: 'LATEST' }, readerType: 'POLLING' });
    expect(config.inputs[1]).toMatchObject({ initialPosition: { type: 'TRIM_HORIZON' }, readerType: 'EFO', efo: { consumerName: 'legacy-b' } });
    expect(warnings).toEqual(
      expect.arrayContaining([
        notice('InputStream1', 'flink.stream.initpos', 'source.init.position'),
        notice('InputStream1', 'flink.stream.recordpublisher', 'source.reader.type'),
        notice('InputStream1', 'flink.stream.efo.consumername', 'source.efo.consumer.name'),
      ]),
    );
    expect(warnings).toHaveLength(3);
  });

  it('names an unused legacy key of InputStream1 as such', () => {
    const { warnings } = build({ InputStream1: { 'stream.arn': arn('b'), 'flink.shard.adaptivereads': 'true' } });
    expect(warnings).toEqual(['Unknown key "flink.shard.adaptivereads" in property group "InputStream1" is ignored: it is a key of Flink\'s legacy FlinkKinesisConsumer that shardflow does not use']);
  });

  it('refuses a legacy key and its shardflow key with different values, naming InputStream1', () => {
    const err = configError(() => build({ InputStream1: { 'stream.arn': arn('b'), 'source.init.position': 'LATEST', 'flink.stream.initpos': 'TRIM_HORIZON' } }));
    expect(err.message).toContain('property group "InputStream1", keys "source.init.position" and "flink.stream.initpos"');
  });
});

test('an ARN without its region (given by aws.region) is completed, so the stream has one ARN, in its keys too', () => {
  const { config } = buildAppConfig(parsePropertyGroups([
    { PropertyGroupId: 'InputStream0', PropertyMap: { 'stream.arn': 'arn:aws:kinesis::123456789012:stream/x', 'aws.region': 'us-east-1' } },
    { PropertyGroupId: 'OutputStream0', PropertyMap: { 'stream.arn': 'arn:aws:kinesis:us-east-1:123456789012:stream/out' } },
  ]), {});
  expect(config.input.stream.arn).toBe('arn:aws:kinesis:us-east-1:123456789012:stream/x');
});
