import { buildAppConfig, parsePropertyGroups, type PropertyGroups } from '../../shared/config/properties';
import { ConfigError } from '../../shared/config/config-error';
import * as o from '../../shared/config/options';

const IN_ARN = 'arn:aws:kinesis:eu-west-1:123456789012:stream/ExampleInputStream';
const OUT_ARN = 'arn:aws:kinesis:us-west-2:210987654321:stream/Example.Output_Stream-2';

type Groups = Record<string, Record<string, string | number | boolean>>;

function file(groups: Groups): unknown {
  return Object.entries(groups).map(([PropertyGroupId, PropertyMap]) => ({ PropertyGroupId, PropertyMap }));
}

function groupsOf(overrides: Groups = {}, base: Groups = { InputStream0: { 'stream.arn': IN_ARN }, OutputStream0: { 'stream.arn': OUT_ARN } }): PropertyGroups {
  const merged: Groups = {};
  for (const [g, m] of Object.entries(base)) merged[g] = { ...m };
  for (const [g, m] of Object.entries(overrides)) merged[g] = { ...(merged[g] ?? {}), ...m };
  return parsePropertyGroups(file(merged));
}

function build(overrides: Groups = {}) {
  return buildAppConfig(groupsOf(overrides));
}

/** The ConfigError thrown by `fn`; fails the test when nothing (or something else) is thrown. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

/** Asserts the message names the group, the key, the bad value and what is allowed. */
function expectInvalid(fn: () => unknown, group: string, key: string, value: string | undefined, allowed: string): ConfigError {
  const err = configError(fn);
  expect(err.exitCode).toBe(2);
  expect(err.name).toBe('ConfigError');
  expect(err.message).toContain(`property group "${group}"`);
  expect(err.message).toContain(`key "${key}"`);
  expect(err.message).toContain(value === undefined ? 'value missing' : `value ${JSON.stringify(value)}`);
  expect(err.message).toContain(`allowed: ${allowed}`);
  expect(err.message).toBe(
    `Invalid configuration: property group "${group}", key "${key}": value ${value === undefined ? 'missing' : JSON.stringify(value)} is not allowed; allowed: ${allowed}`,
  );
  return err;
}

describe('parsePropertyGroups', () => {
  it('reads an array of {PropertyGroupId, PropertyMap} into a map of groups', () => {
    const groups = parsePropertyGroups(file({ A: { x: '1' }, B: { y: 'two' } }));
    expect([...groups.keys()]).toEqual(['A', 'B']);
    expect(groups.get('A')).toEqual({ x: '1' });
    expect(groups.get('B')).toEqual({ y: 'two' });
  });

  it('accepts numbers and booleans in a PropertyMap as strings', () => {
    const groups = parsePropertyGroups(file({ A: { n: 100, f: 1.5, t: true, no: false, s: 'text' } }));
    expect(groups.get('A')).toEqual({ n: '100', f: '1.5', t: 'true', no: 'false', s: 'text' });
  });

  it('merges a group that appears twice, the later value winning', () => {
    const groups = parsePropertyGroups([
      { PropertyGroupId: 'A', PropertyMap: { x: '1', y: '2' } },
      { PropertyGroupId: 'A', PropertyMap: { y: '3', z: '4' } },
    ]);
    expect(groups.get('A')).toEqual({ x: '1', y: '3', z: '4' });
  });

  it('accepts an empty array', () => {
    expect(parsePropertyGroups([]).size).toBe(0);
  });

  it.each([
    ['an object', { PropertyGroupId: 'A', PropertyMap: {} }, 'the top level'],
    ['a string', 'not properties', 'the top level'],
    ['null', null, 'the top level'],
    ['a number', 42, 'the top level'],
    ['an array of strings', ['A'], '0'],
    ['an entry without PropertyMap', [{ PropertyGroupId: 'A' }], '0.PropertyMap'],
    ['an entry without PropertyGroupId', [{ PropertyMap: {} }], '0.PropertyGroupId'],
    ['an entry with an empty PropertyGroupId', [{ PropertyGroupId: '', PropertyMap: {} }], '0.PropertyGroupId'],
    ['a PropertyMap that is an array', [{ PropertyGroupId: 'A', PropertyMap: ['x'] }], '0.PropertyMap'],
    ['a nested object value', [{ PropertyGroupId: 'A', PropertyMap: { x: { y: 1 } } }], '0.PropertyMap.x'],
    ['a null value', [{ PropertyGroupId: 'A', PropertyMap: { x: null } }], '0.PropertyMap.x'],
    ['a bad second entry', [{ PropertyGroupId: 'A', PropertyMap: {} }, { PropertyGroupId: 7, PropertyMap: {} }], '1.PropertyGroupId'],
  ])('rejects %s with a ConfigError naming the problem', (_what, json, where) => {
    const err = configError(() => parsePropertyGroups(json, 'app.json'));
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain('Invalid configuration: app.json must be a JSON array of {"PropertyGroupId": string, "PropertyMap": {key: string}}');
    expect(err.message).toContain(`problem at ${where}:`);
  });

  it('names the default source "properties"', () => {
    expect(configError(() => parsePropertyGroups({})).message).toContain('Invalid configuration: properties must be a JSON array');
  });
});

describe('buildAppConfig: defaults', () => {
  const { config, warnings } = build();

  it('produces no warnings for a minimal file', () => {
    expect(warnings).toEqual([]);
  });

  it('fills every input default', () => {
    expect(config.input).toEqual({
      group: 'InputStream0',
      output: 'OutputStream0',
      stream: { arn: IN_ARN, name: 'ExampleInputStream', account: '123456789012', region: 'eu-west-1' },
      client: {
        group: 'InputStream0',
        region: 'eu-west-1',
        endpoint: undefined,
        credentials: { provider: 'AUTO' },
        maxConcurrency: 50,
        readTimeoutMs: 60_000,
      },
      initialPosition: { type: 'LATEST' },
      readerType: 'POLLING',
      // The EFO group carries more tuning settings (tested with the EFO reader); these two are the base.
      efo: expect.objectContaining({ consumerName: undefined, lifecycle: 'JOB_MANAGED' }),
      discoveryIntervalMs: 10_000,
      getRecordsMaxCount: 10_000,
      getRecordsIntervalMs: 200,
      emptyFetchIntervalMs: 250,
      idleIntervalMs: 2000,
    });
  });

  it('reads the one input group as the only input stream, with the Application defaults', () => {
    expect(config.inputs).toEqual([config.input]);
    expect(config.application).toEqual({ streamsFile: undefined, removedStreamRetentionMs: 7 * 24 * 3600 * 1000 });
  });

  it('fills every output default', () => {
    expect(config.output).toEqual({
      group: 'OutputStream0',
      stream: { arn: OUT_ARN, name: 'Example.Output_Stream-2', account: '210987654321', region: 'us-west-2' },
      client: {
        group: 'OutputStream0',
        region: 'us-west-2',
        endpoint: undefined,
        credentials: { provider: 'AUTO' },
        maxConcurrency: 50,
        readTimeoutMs: 60_000,
      },
      maxBatchRecords: 500,
      maxBatchBytes: 5 * 1024 * 1024,
      maxRecordBytes: 1024 * 1024,
      lingerMs: 200,
      flushMode: 'ADAPTIVE',
      maxInFlightRequests: 50,
      maxBufferedRecords: 25_000,
      partitionKey: { type: 'INPUT' },
      ordering: 'KEY',
      aggregation: 'NONE',
      maxAggregateBytes: 51_200,
      failOnError: false,
    });
  });

  it('fills the serialization and cluster defaults', () => {
    expect(config.serialization).toBe('JSON');
    expect(config.cluster).toEqual({ leaseTimeoutMs: 10_000, maxLeasesPerWorker: 1000, balance: 'COUNT', balanceCooldownMs: 60_000 });
  });

  it('reads every setting when given', () => {
    const { config: c, warnings: w } = build({
      InputStream0: {
        'aws.region': 'ap-south-1',
        'aws.endpoint': 'http://localhost:4567',
        'aws.http-client.max-concurrency': '7',
        'aws.http-client.read-timeout': '3 s',
        'source.init.position': 'TRIM_HORIZON',
        'source.efo.consumer.name': 'my-consumer',
        'source.efo.consumer.lifecycle': 'SELF_MANAGED',
        'source.shard.discovery.interval': '1 min',
        'source.shard.get-records.max-record-count': '123',
        'source.shard.get-records.interval': '0',
        'source.reader.empty-records-fetch-interval': '1 s',
      },
      OutputStream0: {
        'aws.endpoint': 'https://kinesis.example.com/base',
        'sink.batch.max-size': '10',
        'sink.flush-buffer.size': '64 kb',
        'sink.max-record-size': '64kb',
        'sink.flush-buffer.timeout': '0',
        'sink.flush-buffer.mode': 'FIXED',
        'sink.requests.max-inflight': '3',
        'sink.requests.max-buffered': '10',
        'sink.partition-key': 'RANDOM',
      },
      SerializationType: { type: 'STRING' },
      Cluster: { 'lease.timeout': '30 s', 'worker.max-leases': '4' },
    });
    expect(w).toEqual([]);
    expect(c.input.stream.region).toBe('ap-south-1');
    expect(c.input.client).toEqual({ group: 'InputStream0', region: 'ap-south-1', endpoint: 'http://localhost:4567', credentials: { provider: 'AUTO' }, maxConcurrency: 7, readTimeoutMs: 3000 });
    expect(c.input.initialPosition).toEqual({ type: 'TRIM_HORIZON' });
    expect(c.input.efo.consumerName).toBe('my-consumer');
    expect(c.input.efo.lifecycle).toBe('SELF_MANAGED');
    expect(c.input.discoveryIntervalMs).toBe(60_000);
    expect(c.input.getRecordsMaxCount).toBe(123);
    expect(c.input.getRecordsIntervalMs).toBe(0);
    expect(c.input.emptyFetchIntervalMs).toBe(1000);
    expect(c.output.client.endpoint).toBe('https://kinesis.example.com/base');
    expect(c.output).toMatchObject({
      maxBatchRecords: 10,
      maxBatchBytes: 65_536,
      maxRecordBytes: 65_536,
      lingerMs: 0,
      flushMode: 'FIXED',
      maxInFlightRequests: 3,
      maxBufferedRecords: 10,
      partitionKey: { type: 'RANDOM' },
    });
    expect(c.serialization).toBe('STRING');
    expect(c.cluster).toEqual({ leaseTimeoutMs: 30_000, maxLeasesPerWorker: 4, balance: 'COUNT', balanceCooldownMs: 60_000 });
  });

  it('accepts numbers in a PropertyMap as settings', () => {
    const { config: c } = build({
      InputStream0: { 'source.shard.get-records.max-record-count': 42, 'source.shard.get-records.interval': 150 },
      OutputStream0: { 'sink.batch.max-size': 20, 'sink.flush-buffer.size': 2048, 'sink.max-record-size': 1024 },
    });
    expect(c.input.getRecordsMaxCount).toBe(42);
    expect(c.input.getRecordsIntervalMs).toBe(150);
    expect(c.output.maxBatchRecords).toBe(20);
    expect(c.output.maxBatchBytes).toBe(2048);
    expect(c.output.maxRecordBytes).toBe(1024);
  });
});

describe('buildAppConfig: streams and region', () => {
  it('requires an input stream: the InputStream0 group, another InputStream<n>, or a streams file', () => {
    expectInvalid(
      () => buildAppConfig(parsePropertyGroups(file({ OutputStream0: { 'stream.arn': OUT_ARN } }))),
      'InputStream0',
      'stream.arn',
      undefined,
      `a property group "InputStream0" (or another InputStream<n>, or Application.streams-file) with ${o.STREAM_ARN.allowed}`,
    );
  });

  it('requires the OutputStream0 group', () => {
    expectInvalid(
      () => buildAppConfig(parsePropertyGroups(file({ InputStream0: { 'stream.arn': IN_ARN } }))),
      'OutputStream0',
      'stream.arn',
      undefined,
      `a property group "OutputStream0" with ${o.STREAM_ARN.allowed}`,
    );
  });

  it.each(['InputStream0', 'OutputStream0'])('requires stream.arn in %s', (group) => {
    const base: Groups = { InputStream0: { 'stream.arn': IN_ARN }, OutputStream0: { 'stream.arn': OUT_ARN } };
    base[group] = { 'aws.region': 'us-east-1' };
    expectInvalid(() => buildAppConfig(groupsOf({}, base)), group, 'stream.arn', undefined, o.STREAM_ARN.allowed);
  });

  it.each([
    'not-an-arn',
    'arn:aws:kinesis:us-east-1:123456789012:stream/',
    'arn:aws:kinesis:us-east-1:12345:stream/s', // account is 12 digits
    'arn:aws:sqs:us-east-1:123456789012:stream/s',
    'arn:aws:kinesis:us-east-1:123456789012:table/s',
    'arn:aws:kinesis:us-east-1:123456789012:stream/has space',
    'ExampleInputStream',
  ])('rejects the stream ARN %j', (arn) => {
    expectInvalid(() => build({ OutputStream0: { 'stream.arn': arn } }), 'OutputStream0', 'stream.arn', arn, o.STREAM_ARN.allowed);
  });

  it('describes the allowed ARN with an example', () => {
    expect(o.STREAM_ARN.allowed).toBe('a Kinesis stream ARN such as "arn:aws:kinesis:us-east-1:123456789012:stream/ExampleInputStream"');
  });

  it('accepts other partitions and trims the ARN', () => {
    const arn = 'arn:aws-cn:kinesis:cn-north-1:123456789012:stream/cn';
    const { config } = build({ InputStream0: { 'stream.arn': `  ${arn} ` } });
    expect(config.input.stream).toEqual({ arn, name: 'cn', account: '123456789012', region: 'cn-north-1' });
  });

  it('takes the region from the ARN when aws.region is absent, per group', () => {
    const { config } = build();
    expect(config.input.stream.region).toBe('eu-west-1');
    expect(config.input.client.region).toBe('eu-west-1');
    expect(config.output.stream.region).toBe('us-west-2');
    expect(config.output.client.region).toBe('us-west-2');
  });

  it('prefers aws.region over the region in the ARN', () => {
    const { config } = build({ OutputStream0: { 'aws.region': 'us-east-1' } });
    expect(config.output.stream.region).toBe('us-east-1');
    expect(config.output.client.region).toBe('us-east-1');
    expect(config.input.client.region).toBe('eu-west-1');
  });

  it('requires aws.region when the ARN names no region', () => {
    const arn = 'arn:aws:kinesis::123456789012:stream/NoRegion';
    expectInvalid(
      () => build({ InputStream0: { 'stream.arn': arn } }),
      'InputStream0',
      'aws.region',
      undefined,
      `an AWS region such as "us-east-1" (the ARN "${arn}" names no region)`,
    );
    const { config } = build({ InputStream0: { 'stream.arn': arn, 'aws.region': 'us-east-2' } });
    expect(config.input.stream).toEqual({ arn: 'arn:aws:kinesis:us-east-2:123456789012:stream/NoRegion', name: 'NoRegion', account: '123456789012', region: 'us-east-2' });
  });

  it('rejects an empty aws.region', () => {
    expectInvalid(() => build({ InputStream0: { 'aws.region': '  ' } }), 'InputStream0', 'aws.region', '  ', 'an AWS region such as "us-east-1"');
  });

  it.each(['localhost:4567', 'ftp://host', 'http://', 'http://host name'])('rejects the endpoint %j', (endpoint) => {
    expectInvalid(() => build({ InputStream0: { 'aws.endpoint': endpoint } }), 'InputStream0', 'aws.endpoint', endpoint, 'an http:// or https:// URL');
  });
});

describe('buildAppConfig: invalid values name the group, key, value and what is allowed', () => {
  it.each<[string, string, string, string]>([
    ['InputStream0', 'source.init.position', 'latest', 'one of LATEST | TRIM_HORIZON | AT_TIMESTAMP'],
    ['InputStream0', 'source.init.position', 'EARLIEST', 'one of LATEST | TRIM_HORIZON | AT_TIMESTAMP'],
    ['InputStream0', 'source.reader.type', 'FANOUT', 'one of POLLING | EFO'],
    ['InputStream0', 'source.efo.consumer.lifecycle', 'MANUAL', 'one of JOB_MANAGED | SELF_MANAGED'],
    ['InputStream0', 'aws.credentials.provider', 'ENV', 'one of AUTO | BASIC | ASSUME_ROLE | PROFILE | WEB_IDENTITY_TOKEN'],
    ['OutputStream0', 'aws.credentials.provider', 'basic', 'one of AUTO | BASIC | ASSUME_ROLE | PROFILE | WEB_IDENTITY_TOKEN'],
    ['InputStream0', 'aws.http-client.max-concurrency', '0', 'an integer from 1 to 10000'],
    ['InputStream0', 'aws.http-client.max-concurrency', '10001', 'an integer from 1 to 10000'],
    ['InputStream0', 'aws.http-client.max-concurrency', '1.5', 'an integer from 1 to 10000'],
    ['InputStream0', 'aws.http-client.max-concurrency', 'many', 'an integer from 1 to 10000'],
    ['InputStream0', 'aws.http-client.max-concurrency', '1e3', 'an integer from 1 to 10000'],
    ['InputStream0', 'aws.http-client.read-timeout', '50 ms', 'a duration from 100 ms to 1 d, such as "10 s" or "250 ms" (a bare number is milliseconds)'],
    ['InputStream0', 'aws.http-client.read-timeout', '2 d', 'a duration from 100 ms to 1 d, such as "10 s" or "250 ms" (a bare number is milliseconds)'],
    ['InputStream0', 'source.shard.discovery.interval', 'often', 'a duration from 100 ms to 1 d, such as "10 s" or "250 ms" (a bare number is milliseconds)'],
    ['InputStream0', 'source.shard.discovery.interval', '10 mb', 'a duration from 100 ms to 1 d, such as "10 s" or "250 ms" (a bare number is milliseconds)'],
    ['InputStream0', 'source.shard.get-records.max-record-count', '10001', 'an integer from 1 to 10000'],
    ['InputStream0', 'source.shard.get-records.max-record-count', '-1', 'an integer from 1 to 10000'],
    ['InputStream0', 'source.shard.get-records.interval', '2 min', 'a duration from 0 ms to 1 min, such as "10 s" or "250 ms" (a bare number is milliseconds)'],
    ['InputStream0', 'source.reader.empty-records-fetch-interval', '-5', 'a duration from 0 ms to 1 min, such as "10 s" or "250 ms" (a bare number is milliseconds)'],
    ['InputStream0', 'source.init.timestamp', 'yesterday', 'an ISO-8601 timestamp such as "2024-05-01T12:00:00Z" or epoch seconds such as "1714564800"'],
    ['OutputStream0', 'sink.batch.max-size', '501', 'an integer from 1 to 500'],
    ['OutputStream0', 'sink.batch.max-size', '0', 'an integer from 1 to 500'],
    ['OutputStream0', 'sink.flush-buffer.size', '6 mb', 'a size from 1 kb to 5 mb, such as "5 mb" or "512 kb" (a bare number is bytes)'],
    ['OutputStream0', 'sink.flush-buffer.size', '1023', 'a size from 1 kb to 5 mb, such as "5 mb" or "512 kb" (a bare number is bytes)'],
    ['OutputStream0', 'sink.max-record-size', '2 mb', 'a size from 1 bytes to 1 mb, such as "5 mb" or "512 kb" (a bare number is bytes)'],
    ['OutputStream0', 'sink.max-record-size', '0', 'a size from 1 bytes to 1 mb, such as "5 mb" or "512 kb" (a bare number is bytes)'],
    ['OutputStream0', 'sink.flush-buffer.timeout', '5 min', 'a duration from 0 ms to 1 min, such as "10 s" or "250 ms" (a bare number is milliseconds)'],
    ['OutputStream0', 'sink.flush-buffer.mode', 'adaptive', 'one of ADAPTIVE | FIXED'],
    ['OutputStream0', 'sink.requests.max-inflight', '1001', 'an integer from 1 to 1000'],
    ['OutputStream0', 'sink.requests.max-buffered', '0', 'an integer from 1 to 1000000'],
    ['OutputStream0', 'sink.partition-key', 'input', 'INPUT | RANDOM | field:<name>'],
    ['OutputStream0', 'sink.partition-key', '', 'INPUT | RANDOM | field:<name>'],
    ['OutputStream0', 'sink.partition-key', 'field:', 'INPUT | RANDOM | field:<name>'],
    ['OutputStream0', 'sink.partition-key', 'field:a.b', 'INPUT | RANDOM | field:<name>'],
    ['OutputStream0', 'sink.partition-key', 'field:a b', 'INPUT | RANDOM | field:<name>'],
    ['OutputStream0', 'sink.partition-key', 'FIELD:ticker', 'INPUT | RANDOM | field:<name>'],
    ['SerializationType', 'type', 'AVRO', 'one of JSON | STRING'],
    ['SerializationType', 'type', 'json', 'one of JSON | STRING'],
    ['Cluster', 'lease.timeout', '500 ms', 'a duration from 1 s to 10 min, such as "10 s" or "250 ms" (a bare number is milliseconds)'],
    ['Cluster', 'lease.timeout', '11 min', 'a duration from 1 s to 10 min, such as "10 s" or "250 ms" (a bare number is milliseconds)'],
    ['Cluster', 'worker.max-leases', '0', 'an integer from 1 to 100000'],
  ])('%s %s = %j', (group, key, value, allowed) => {
    expectInvalid(() => build({ [group]: { [key]: value } }), group, key, value, allowed);
  });

  it('shows a number from the file as its text', () => {
    expectInvalid(() => build({ OutputStream0: { 'sink.batch.max-size': 1000 } }), 'OutputStream0', 'sink.batch.max-size', '1000', 'an integer from 1 to 500');
  });

  it('reads worker.balance and its cooldown, and refuses an unknown balance', () => {
    const { config, warnings } = build({ Cluster: { 'worker.balance': 'THROUGHPUT', 'worker.balance.cooldown': '5 s' } });
    expect(config.cluster).toMatchObject({ balance: 'THROUGHPUT', balanceCooldownMs: 5000 });
    expect(warnings).toEqual([]);
    expectInvalid(() => build({ Cluster: { 'worker.balance': 'CPU' } }), 'Cluster', 'worker.balance', 'CPU', 'one of COUNT | THROUGHPUT');
  });

  it('shows a boolean from the file as its text', () => {
    expectInvalid(() => build({ SerializationType: { type: true } }), 'SerializationType', 'type', 'true', 'one of JSON | STRING');
  });

  it('accepts values at the edges of each range', () => {
    const { config } = build({
      InputStream0: { 'aws.http-client.read-timeout': '100', 'source.shard.discovery.interval': '1 d', 'source.shard.get-records.interval': '1 min' },
      OutputStream0: { 'sink.batch.max-size': '1', 'sink.requests.max-buffered': '1', 'sink.flush-buffer.size': '1 kb', 'sink.max-record-size': '1 kb', 'sink.requests.max-inflight': '1000' },
      Cluster: { 'lease.timeout': '1 s', 'worker.max-leases': '100000' },
    });
    expect(config.input.client.readTimeoutMs).toBe(100);
    expect(config.input.discoveryIntervalMs).toBe(86_400_000);
    expect(config.input.getRecordsIntervalMs).toBe(60_000);
    expect(config.output.maxBatchRecords).toBe(1);
    expect(config.output.maxBufferedRecords).toBe(1);
    expect(config.output.maxBatchBytes).toBe(1024);
    expect(config.output.maxRecordBytes).toBe(1024);
    expect(config.output.maxInFlightRequests).toBe(1000);
    expect(config.cluster).toEqual({ leaseTimeoutMs: 1000, maxLeasesPerWorker: 100_000, balance: 'COUNT', balanceCooldownMs: 60_000 });
  });

  it('accepts whitespace around an integer', () => {
    expect(build({ OutputStream0: { 'sink.batch.max-size': ' 25 ' } }).config.output.maxBatchRecords).toBe(25);
  });

  it('rejects sink.max-record-size larger than sink.flush-buffer.size', () => {
    expectInvalid(
      () => build({ OutputStream0: { 'sink.flush-buffer.size': '512 kb', 'sink.max-record-size': '600 kb' } }),
      'OutputStream0',
      'sink.max-record-size',
      String(600 * 1024),
      `at most sink.flush-buffer.size (${512 * 1024} bytes), since a record must fit in a request`,
    );
  });

  it('accepts sink.max-record-size equal to sink.flush-buffer.size', () => {
    const { config } = build({ OutputStream0: { 'sink.flush-buffer.size': '512 kb', 'sink.max-record-size': '512 kb' } });
    expect(config.output.maxBatchBytes).toBe(524_288);
    expect(config.output.maxRecordBytes).toBe(524_288);
  });

  it('rejects sink.requests.max-buffered smaller than sink.batch.max-size', () => {
    expectInvalid(
      () => build({ OutputStream0: { 'sink.batch.max-size': '100', 'sink.requests.max-buffered': '99' } }),
      'OutputStream0',
      'sink.requests.max-buffered',
      '99',
      'at least sink.batch.max-size (100)',
    );
  });
});

describe('buildAppConfig: source', () => {
  it('accepts the alias source.efo.lifecycle for source.efo.consumer.lifecycle', () => {
    const { config, warnings } = build({ InputStream0: { 'source.efo.lifecycle': 'SELF_MANAGED' } });
    expect(config.input.efo.lifecycle).toBe('SELF_MANAGED');
    expect(warnings).toEqual([]);
  });

  it('names the alias when its value is bad', () => {
    expectInvalid(() => build({ InputStream0: { 'source.efo.lifecycle': 'NOBODY' } }), 'InputStream0', 'source.efo.lifecycle', 'NOBODY', 'one of JOB_MANAGED | SELF_MANAGED');
  });

  it('requires source.efo.consumer.name with source.reader.type=EFO', () => {
    expectInvalid(
      () => build({ InputStream0: { 'source.reader.type': 'EFO' } }),
      'InputStream0',
      'source.efo.consumer.name',
      undefined,
      '1 to 128 letters, digits, "_", "." or "-" (required with source.reader.type=EFO)',
    );
  });

  it('accepts source.reader.type=EFO with a consumer name', () => {
    const { config, warnings } = build({ InputStream0: { 'source.reader.type': 'EFO', 'source.efo.consumer.name': ' my.consumer_1 ' } });
    expect(warnings).toEqual([]);
    expect(config.input.readerType).toBe('EFO');
    expect(config.input.efo.consumerName).toBe('my.consumer_1');
    expect(config.input.efo.lifecycle).toBe('JOB_MANAGED');
  });

  it.each(['has space', 'slash/name', 'x'.repeat(129), ''])('rejects the EFO consumer name %j', (name) => {
    expectInvalid(() => build({ InputStream0: { 'source.efo.consumer.name': name } }), 'InputStream0', 'source.efo.consumer.name', name, '1 to 128 letters, digits, "_", "." or "-"');
  });

  it('accepts source.reader.type=POLLING', () => {
    expect(build({ InputStream0: { 'source.reader.type': 'POLLING' } }).config.input.readerType).toBe('POLLING');
  });

  it.each(['LATEST', 'TRIM_HORIZON'] as const)('reads source.init.position=%s', (type) => {
    expect(build({ InputStream0: { 'source.init.position': type } }).config.input.initialPosition).toEqual({ type });
  });

  it('requires source.init.timestamp with AT_TIMESTAMP', () => {
    expectInvalid(() => build({ InputStream0: { 'source.init.position': 'AT_TIMESTAMP' } }), 'InputStream0', 'source.init.timestamp', undefined, o.INIT_TIMESTAMP.allowed);
  });

  it('reads an ISO-8601 source.init.timestamp', () => {
    const { config } = build({ InputStream0: { 'source.init.position': 'AT_TIMESTAMP', 'source.init.timestamp': '2024-05-01T12:00:00Z' } });
    expect(config.input.initialPosition).toEqual({ type: 'AT_TIMESTAMP', timestamp: new Date('2024-05-01T12:00:00.000Z') });
  });

  it('reads an epoch-seconds source.init.timestamp (as a string or a number)', () => {
    for (const ts of ['1714564800', 1714564800]) {
      const { config } = build({ InputStream0: { 'source.init.position': 'AT_TIMESTAMP', 'source.init.timestamp': ts } });
      expect(config.input.initialPosition).toEqual({ type: 'AT_TIMESTAMP', timestamp: new Date('2024-05-01T12:00:00.000Z') });
    }
  });

  it('validates source.init.timestamp even when the position does not use it', () => {
    expectInvalid(
      () => build({ InputStream0: { 'source.init.position': 'LATEST', 'source.init.timestamp': 'soon' } }),
      'InputStream0',
      'source.init.timestamp',
      'soon',
      o.INIT_TIMESTAMP.allowed,
    );
    const { config, warnings } = build({ InputStream0: { 'source.init.position': 'TRIM_HORIZON', 'source.init.timestamp': '1714564800' } });
    expect(config.input.initialPosition).toEqual({ type: 'TRIM_HORIZON' });
    expect(warnings).toEqual([]);
  });
});

describe('buildAppConfig: credentials', () => {
  const creds = (map: Record<string, string>) => build({ InputStream0: map }).config.input.client.credentials;

  it('AUTO is the default and takes no further settings', () => {
    expect(creds({})).toEqual({ provider: 'AUTO' });
    expect(creds({ 'aws.credentials.provider': 'AUTO' })).toEqual({ provider: 'AUTO' });
  });

  it('BASIC reads the access key id and the secret key', () => {
    expect(
      creds({
        'aws.credentials.provider': 'BASIC',
        'aws.credentials.provider.basic.accesskeyid': 'AKIDEXAMPLE',
        'aws.credentials.provider.basic.secretkey': 'wJalrXUtnFEMI',
      }),
    ).toEqual({ provider: 'BASIC', accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI' });
  });

  it('BASIC requires the access key id', () => {
    expectInvalid(
      () => build({ InputStream0: { 'aws.credentials.provider': 'BASIC', 'aws.credentials.provider.basic.secretkey': 's' } }),
      'InputStream0',
      'aws.credentials.provider.basic.accesskeyid',
      undefined,
      'a non-empty string',
    );
  });

  it('BASIC requires the secret key', () => {
    expectInvalid(
      () => build({ OutputStream0: { 'aws.credentials.provider': 'BASIC', 'aws.credentials.provider.basic.accesskeyid': 'AKID' } }),
      'OutputStream0',
      'aws.credentials.provider.basic.secretkey',
      undefined,
      'a non-empty string',
    );
  });

  it('ASSUME_ROLE reads the role, session, external id, STS endpoint and an AUTO base by default', () => {
    expect(
      creds({
        'aws.credentials.provider': 'ASSUME_ROLE',
        'aws.credentials.provider.role.arn': 'arn:aws:iam::123456789012:role/reader',
        'aws.credentials.provider.role.sessionName': 'my-session',
        'aws.credentials.provider.role.externalId': 'ext-1',
        'aws.credentials.provider.role.stsEndpoint': 'http://localhost:4566',
      }),
    ).toEqual({
      provider: 'ASSUME_ROLE',
      roleArn: 'arn:aws:iam::123456789012:role/reader',
      sessionName: 'my-session',
      externalId: 'ext-1',
      stsEndpoint: 'http://localhost:4566',
      base: { provider: 'AUTO' },
    });
  });

  it('ASSUME_ROLE defaults the session name to "shardflow"', () => {
    expect(creds({ 'aws.credentials.provider': 'ASSUME_ROLE', 'aws.credentials.provider.role.arn': 'arn:aws:iam::123456789012:role/r' })).toEqual({
      provider: 'ASSUME_ROLE',
      roleArn: 'arn:aws:iam::123456789012:role/r',
      sessionName: 'shardflow',
      externalId: undefined,
      stsEndpoint: undefined,
      base: { provider: 'AUTO' },
    });
  });

  it('ASSUME_ROLE with role.provider BASIC gets a BASIC base', () => {
    const { config, warnings } = build({
      OutputStream0: {
        'aws.credentials.provider': 'ASSUME_ROLE',
        'aws.credentials.provider.role.arn': 'arn:aws:iam::123456789012:role/writer',
        'aws.credentials.provider.role.provider': 'BASIC',
        'aws.credentials.provider.basic.accesskeyid': 'AKIDBASE',
        'aws.credentials.provider.basic.secretkey': 'base-secret',
      },
    });
    expect(warnings).toEqual([]);
    expect(config.output.client.credentials).toEqual({
      provider: 'ASSUME_ROLE',
      roleArn: 'arn:aws:iam::123456789012:role/writer',
      sessionName: 'shardflow',
      externalId: undefined,
      stsEndpoint: undefined,
      base: { provider: 'BASIC', accessKeyId: 'AKIDBASE', secretAccessKey: 'base-secret' },
    });
    expect(config.input.client.credentials).toEqual({ provider: 'AUTO' });
  });

  it('ASSUME_ROLE with role.provider PROFILE gets a PROFILE base', () => {
    const c = creds({
      'aws.credentials.provider': 'ASSUME_ROLE',
      'aws.credentials.provider.role.arn': 'arn:aws:iam::123456789012:role/r',
      'aws.credentials.provider.role.provider': 'PROFILE',
      'aws.credentials.provider.profile.name': 'base-profile',
    });
    expect(c).toMatchObject({ provider: 'ASSUME_ROLE', base: { provider: 'PROFILE', profileName: 'base-profile', profilePath: undefined } });
  });

  it('ASSUME_ROLE requires the role ARN', () => {
    expectInvalid(
      () => build({ InputStream0: { 'aws.credentials.provider': 'ASSUME_ROLE' } }),
      'InputStream0',
      'aws.credentials.provider.role.arn',
      undefined,
      'an IAM role ARN such as "arn:aws:iam::123456789012:role/stream-reader"',
    );
  });

  it('ASSUME_ROLE with a BASIC base requires the base keys', () => {
    expectInvalid(
      () =>
        build({
          InputStream0: {
            'aws.credentials.provider': 'ASSUME_ROLE',
            'aws.credentials.provider.role.arn': 'arn:aws:iam::123456789012:role/r',
            'aws.credentials.provider.role.provider': 'BASIC',
          },
        }),
      'InputStream0',
      'aws.credentials.provider.basic.accesskeyid',
      undefined,
      'a non-empty string',
    );
  });

  it('rejects ASSUME_ROLE as the role.provider', () => {
    expectInvalid(
      () =>
        build({
          InputStream0: {
            'aws.credentials.provider': 'ASSUME_ROLE',
            'aws.credentials.provider.role.arn': 'arn:aws:iam::123456789012:role/r',
            'aws.credentials.provider.role.provider': 'ASSUME_ROLE',
          },
        }),
      'InputStream0',
      'aws.credentials.provider.role.provider',
      'ASSUME_ROLE',
      'one of AUTO | BASIC | PROFILE | WEB_IDENTITY_TOKEN',
    );
  });

  it('rejects a bad STS endpoint', () => {
    expectInvalid(
      () =>
        build({
          InputStream0: {
            'aws.credentials.provider': 'ASSUME_ROLE',
            'aws.credentials.provider.role.arn': 'arn:aws:iam::123456789012:role/r',
            'aws.credentials.provider.role.stsEndpoint': 'sts.local',
          },
        }),
      'InputStream0',
      'aws.credentials.provider.role.stsEndpoint',
      'sts.local',
      'an http:// or https:// URL',
    );
  });

  it('PROFILE reads the optional profile name and path', () => {
    expect(creds({ 'aws.credentials.provider': 'PROFILE' })).toEqual({ provider: 'PROFILE', profileName: undefined, profilePath: undefined });
    expect(
      creds({ 'aws.credentials.provider': 'PROFILE', 'aws.credentials.provider.profile.name': 'dev', 'aws.credentials.provider.profile.path': '/home/me/.aws/credentials' }),
    ).toEqual({ provider: 'PROFILE', profileName: 'dev', profilePath: '/home/me/.aws/credentials' });
  });

  it('WEB_IDENTITY_TOKEN reads the optional role and token file and the session name', () => {
    expect(creds({ 'aws.credentials.provider': 'WEB_IDENTITY_TOKEN' })).toEqual({
      provider: 'WEB_IDENTITY_TOKEN',
      roleArn: undefined,
      sessionName: 'shardflow',
      tokenFile: undefined,
    });
    expect(
      creds({
        'aws.credentials.provider': 'WEB_IDENTITY_TOKEN',
        'aws.credentials.provider.role.arn': 'arn:aws:iam::123456789012:role/web',
        'aws.credentials.provider.role.sessionName': 'pod-1',
        'aws.credentials.provider.webIdentityToken.file': '/var/run/token',
      }),
    ).toEqual({ provider: 'WEB_IDENTITY_TOKEN', roleArn: 'arn:aws:iam::123456789012:role/web', sessionName: 'pod-1', tokenFile: '/var/run/token' });
  });

  it('keeps the credentials of each group separate', () => {
    const { config } = build({
      InputStream0: { 'aws.credentials.provider': 'PROFILE', 'aws.credentials.provider.profile.name': 'reader' },
      OutputStream0: { 'aws.credentials.provider': 'BASIC', 'aws.credentials.provider.basic.accesskeyid': 'A', 'aws.credentials.provider.basic.secretkey': 'S' },
    });
    expect(config.input.client.credentials).toEqual({ provider: 'PROFILE', profileName: 'reader', profilePath: undefined });
    expect(config.output.client.credentials).toEqual({ provider: 'BASIC', accessKeyId: 'A', secretAccessKey: 'S' });
  });
});

describe('buildAppConfig: partition key', () => {
  const rule = (text: string) => build({ OutputStream0: { 'sink.partition-key': text } }).config.output.partitionKey;

  it('reads INPUT, RANDOM and field:<name>', () => {
    expect(rule('INPUT')).toEqual({ type: 'INPUT' });
    expect(rule('RANDOM')).toEqual({ type: 'RANDOM' });
    expect(rule('field:ticker')).toEqual({ type: 'FIELD', field: 'ticker' });
    expect(rule('field:event_time')).toEqual({ type: 'FIELD', field: 'event_time' });
    expect(rule('field:a-b$1')).toEqual({ type: 'FIELD', field: 'a-b$1' });
  });

  it('trims the value', () => {
    expect(rule('  RANDOM ')).toEqual({ type: 'RANDOM' });
    expect(rule(' field:id ')).toEqual({ type: 'FIELD', field: 'id' });
  });
});

describe('buildAppConfig: unknown keys and groups', () => {
  it('warns once for each unknown key, naming key and group, without throwing', () => {
    const { config, warnings } = build({
      InputStream0: { 'source.init.postion': 'TRIM_HORIZON', 'flink.stream.initpos.x': 'LATEST' },
      OutputStream0: { 'sink.batch.maxsize': '10' },
      Cluster: { 'lease.timout': '5 s' },
    });
    expect(config.input.initialPosition).toEqual({ type: 'LATEST' });
    expect(config.output.maxBatchRecords).toBe(500);
    expect(warnings).toHaveLength(4);
    expect(warnings).toEqual(
      expect.arrayContaining([
        'Unknown key "source.init.postion" in property group "InputStream0" is ignored: shardflow has no setting of that name for this group',
        'Unknown key "flink.stream.initpos.x" in property group "InputStream0" is ignored: shardflow has no setting of that name for this group',
        'Unknown key "sink.batch.maxsize" in property group "OutputStream0" is ignored: shardflow has no setting of that name for this group',
        'Unknown key "lease.timout" in property group "Cluster" is ignored: shardflow has no setting of that name for this group',
      ]),
    );
  });

  it('warns for a key of another group', () => {
    const { warnings } = build({ OutputStream0: { 'source.init.position': 'TRIM_HORIZON' } });
    expect(warnings).toEqual(['Unknown key "source.init.position" in property group "OutputStream0" is ignored: shardflow has no setting of that name for this group']);
  });

  it('warns once for each unknown group, whatever its number of keys', () => {
    const { warnings } = build({ FlinkApplicationProperties: { a: '1', b: '2', c: '3' }, inputstream0: { 'stream.arn': IN_ARN } });
    expect(warnings).toEqual([
      'Unknown property group "FlinkApplicationProperties" is ignored (known groups: InputStream0, InputStream1 (and any InputStream<n>), OutputStream0, OutputStream1 (and any OutputStream<n>), SerializationType, Transform, Cluster, Dashboard, Application)',
      'Unknown property group "inputstream0" is ignored (known groups: InputStream0, InputStream1 (and any InputStream<n>), OutputStream0, OutputStream1 (and any OutputStream<n>), SerializationType, Transform, Cluster, Dashboard, Application)',
    ]);
  });

  it('does not warn for known optional groups', () => {
    const { warnings } = build({ SerializationType: { type: 'JSON' }, Cluster: { 'worker.max-leases': '10' } });
    expect(warnings).toEqual([]);
  });
});

describe('options', () => {
  it('every option has a description, allowed text and at least one group', () => {
    for (const option of o.ALL_OPTIONS) {
      expect(option.description.length).toBeGreaterThan(0);
      expect(option.allowed.length).toBeGreaterThan(0);
      expect(option.groups.length).toBeGreaterThan(0);
    }
  });

  it('keys are unique within each group', () => {
    const seen = new Set<string>();
    for (const option of o.ALL_OPTIONS) {
      for (const group of option.groups) {
        for (const { key } of o.spellingsOf(option)) {
          const id = `${group}/${key}`;
          expect(seen.has(id)).toBe(false);
          seen.add(id);
        }
      }
    }
  });

  it('every default parses back from its default text where it is a value', () => {
    expect(o.SINK_FLUSH_BUFFER_SIZE.defaultText).toBe('5 mb');
    expect(o.SINK_MAX_RECORD_SIZE.defaultText).toBe('1 mb');
    expect(o.SINK_FLUSH_TIMEOUT.defaultText).toBe('200 ms');
    expect(o.DISCOVERY_INTERVAL.defaultText).toBe('10 s');
    expect(o.LEASE_TIMEOUT.defaultText).toBe('10 s');
    expect(o.HTTP_READ_TIMEOUT.defaultText).toBe('1 min');
    expect(o.STREAM_ARN.defaultText).toBe('(required)');
    for (const option of [o.SINK_FLUSH_BUFFER_SIZE, o.SINK_MAX_RECORD_SIZE, o.SINK_FLUSH_TIMEOUT, o.DISCOVERY_INTERVAL, o.LEASE_TIMEOUT, o.HTTP_READ_TIMEOUT, o.SINK_BATCH_MAX_SIZE, o.SINK_MAX_BUFFERED]) {
      expect(option.parse(option.defaultText)).toBe(option.defaultValue);
    }
  });

  it('formatDuration and formatSize pick the largest whole unit', () => {
    expect([0, 1, 999, 1000, 1500, 60_000, 90_000, 3_600_000, 86_400_000, 172_800_000].map(o.formatDuration)).toEqual([
      '0 ms', '1 ms', '999 ms', '1 s', '1500 ms', '1 min', '90 s', '1 h', '1 d', '2 d',
    ]);
    expect([0, 1, 1023, 1024, 1536, 1024 ** 2, 5 * 1024 ** 2, 1024 ** 2 + 1024].map(o.formatSize)).toEqual([
      '0 bytes', '1 bytes', '1023 bytes', '1 kb', '1536 bytes', '1 mb', '5 mb', '1025 kb',
    ]);
  });
});

describe('warnings name only what shardflow really does not know', () => {
  test('a known key the chosen settings do not use is not called unknown', () => {
    const { warnings } = build({ InputStream0: { 'aws.credentials.provider.basic.secretkey': 'x', 'source.efo.consumer.name': 'c' } });
    expect(warnings).toEqual([]);
  });

  test('a key set under both spellings: one warning says which is used', () => {
    const { config, warnings } = build({ InputStream0: { 'source.efo.consumer.lifecycle': 'SELF_MANAGED', 'source.efo.lifecycle': 'JOB_MANAGED' } });
    expect(config.input.efo.lifecycle).toBe('SELF_MANAGED');
    expect(warnings).toEqual([
      'Property group "InputStream0" sets "source.efo.consumer.lifecycle" and its other spelling "source.efo.lifecycle": "source.efo.consumer.lifecycle" is used',
    ]);
  });
});

describe('sink.max-record-size follows a smaller request size when unset', () => {
  test('only sink.flush-buffer.size lowered: the record limit is lowered with it', () => {
    const { config } = build({ OutputStream0: { 'sink.flush-buffer.size': '512 kb' } });
    expect(config.output.maxBatchBytes).toBe(512 * 1024);
    expect(config.output.maxRecordBytes).toBe(512 * 1024);
  });

  test('set explicitly above the request size: still an error naming the key', () => {
    expect(() => build({ OutputStream0: { 'sink.flush-buffer.size': '512 kb', 'sink.max-record-size': '1 mb' } })).toThrow(/sink\.max-record-size/);
  });
});

describe('Dashboard: loopback unless secured', () => {
  const dash = (props: Record<string, string>, env: NodeJS.ProcessEnv = {}) => buildAppConfig(groupsOf({ Dashboard: props }), env).config.dashboard;

  it('defaults to 127.0.0.1:3000 without credentials', () => {
    expect(dash({})).toMatchObject({ enabled: true, host: '127.0.0.1', port: 3000, path: '/', basic: undefined, token: undefined });
  });

  it('refuses a non-loopback host without credentials, naming the group, key, value and what is allowed', () => {
    const err = configError(() => dash({ host: '0.0.0.0' }));
    expect(err.message).toContain('property group "Dashboard", key "host": value "0.0.0.0" is not allowed; allowed: a loopback address');
  });

  it('takes credentials from the environment over the file', () => {
    const d = dash({ host: '0.0.0.0', 'auth.basic.username': 'file-user', 'auth.basic.password': 'file-pass' }, { SHARDFLOW_DASHBOARD_USERNAME: 'env-user', SHARDFLOW_DASHBOARD_PASSWORD: 'env-pass', SHARDFLOW_DASHBOARD_TOKEN: 'env-token' });
    expect(d.basic).toEqual({ username: 'env-user', password: 'env-pass' });
    expect(d.token).toBe('env-token');
  });

  it('takes the host from SHARDFLOW_DASHBOARD_HOST, which still needs credentials', () => {
    expect(dash({}, { SHARDFLOW_DASHBOARD_HOST: '0.0.0.0', SHARDFLOW_DASHBOARD_TOKEN: 't' }).host).toBe('0.0.0.0');
    expect(configError(() => dash({}, { SHARDFLOW_DASHBOARD_HOST: '0.0.0.0' })).message).toContain('key "host"');
    expect(configError(() => dash({}, { SHARDFLOW_DASHBOARD_HOST: '   ' })).message).toContain('key "host (env SHARDFLOW_DASHBOARD_HOST)"');
  });

  it('takes the allowed hosts from SHARDFLOW_DASHBOARD_ALLOWED_HOSTS over the file', () => {
    expect(dash({ 'allowed-hosts': 'file.example' }, { SHARDFLOW_DASHBOARD_ALLOWED_HOSTS: 'dash.example, 10.0.0.5' }).allowedHosts).toEqual(['dash.example', '10.0.0.5']);
    expect(dash({ 'allowed-hosts': 'file.example' }, {}).allowedHosts).toEqual(['file.example']);
    expect(configError(() => dash({}, { SHARDFLOW_DASHBOARD_ALLOWED_HOSTS: 'a b' })).message).toContain('key "allowed-hosts (env SHARDFLOW_DASHBOARD_ALLOWED_HOSTS)"');
  });

  it('needs both halves of basic auth', () => {
    expect(configError(() => dash({ 'auth.basic.username': 'ops' })).message).toContain('key "auth.basic.password"');
  });
});

describe('buildAppConfig: Transform and several outputs', () => {
  const ARN1 = 'arn:aws:kinesis:us-east-1:111111111111:stream/Routed';

  it('without a module, SerializationType picks the built-in; a module path is relative to the properties file', () => {
    expect(build().config.transform).toEqual({ module: 'builtin:stock', timeoutMs: 30_000, concurrency: 16 });
    expect(build({ SerializationType: { type: 'STRING' } }).config.transform.module).toBe('builtin:pass-through');
    const { config } = buildAppConfig(groupsOf({ Transform: { module: 'mods/my.mjs', timeout: '2 s', concurrency: '4' } }), {}, '/etc/app');
    expect(config.transform).toEqual({ module: '/etc/app/mods/my.mjs', timeoutMs: 2000, concurrency: 4 });
    expect(build({ Transform: { module: 'builtin:pass-through' } }).config.transform.module).toBe('builtin:pass-through');
  });

  it('refuses an unknown built-in and a concurrency of 0, naming group and key', () => {
    expectInvalid(() => build({ Transform: { module: 'builtin:nope' } }), 'Transform', 'module', 'builtin:nope', 'a file path, builtin:stock or builtin:pass-through');
    expect(configError(() => build({ Transform: { concurrency: '0' } })).message).toContain('property group "Transform", key "concurrency": value "0"');
  });

  it('reads every OutputStream<n> group as an output, OutputStream0 first, then in the order of n', () => {
    const { config } = build({ OutputStream10: { 'stream.arn': ARN1 }, OutputStream2: { 'stream.arn': ARN1, 'sink.partition-key': 'RANDOM' } });
    expect(config.outputs.map((out) => out.group)).toEqual(['OutputStream0', 'OutputStream2', 'OutputStream10']);
    expect(config.output).toBe(config.outputs[0]);
    expect(config.outputs[1].partitionKey).toEqual({ type: 'RANDOM' });
    expect(config.outputs[1].client.group).toBe('OutputStream2');
    expectInvalid(() => build({ OutputStream1: {} }), 'OutputStream1', 'stream.arn', undefined, o.STREAM_ARN.allowed);
  });

  it('takes sink.requests.max-buffered from OutputStream0 only: it bounds every output together', () => {
    const err = configError(() => build({ OutputStream1: { 'stream.arn': ARN1, 'sink.requests.max-buffered': '5000' } }));
    expect(err.message).toContain('property group "OutputStream1", key "sink.requests.max-buffered": value "5000" is not allowed');
    expect(err.message).toContain('set in OutputStream0 only');
  });

  it('with a module, does not warn of groups it does not know: the module may read them', () => {
    expect(build({ PriceFilter: { 'min-price': '50' } }).warnings).toHaveLength(1);
    expect(build({ PriceFilter: { 'min-price': '50' }, Transform: { module: '/m.mjs' } }).warnings).toEqual([]);
    expect(build({ PriceFilter: { a: '1' }, Transform: { module: '/m.mjs' } }).config.properties.PriceFilter).toEqual({ a: '1' });
  });
});
