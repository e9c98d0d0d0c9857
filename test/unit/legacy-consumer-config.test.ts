/** The legacy FlinkKinesisConsumer keys in InputStream0: aliases, value mappings, notices and conflicts. */
import { buildAppConfig, parsePropertyGroups } from '../../shared/config/properties';
import { ConfigError } from '../../shared/config/config-error';
import { renderConfigTable } from '../../shared/config/config-docs';
import { javaDateReader, SUPPORTED_DATE_PATTERN, UnsupportedDatePattern } from '../../shared/config/java-date-format';
import * as o from '../../shared/config/options';

const IN_ARN = 'arn:aws:kinesis:eu-west-1:123456789012:stream/ExampleInputStream';
const OUT_ARN = 'arn:aws:kinesis:us-west-2:210987654321:stream/ExampleOutputStream';

function build(input: Record<string, string>, output: Record<string, string> = {}) {
  return buildAppConfig(
    parsePropertyGroups([
      { PropertyGroupId: 'InputStream0', PropertyMap: { 'stream.arn': IN_ARN, ...input } },
      { PropertyGroupId: 'OutputStream0', PropertyMap: { 'stream.arn': OUT_ARN, ...output } },
    ]),
  );
}

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

const notice = (legacy: string, key: string, note?: string) =>
  `Legacy FlinkKinesisConsumer key "${legacy}" in property group "InputStream0" is read as "${key}"${note ? ` (${note})` : ''}; use "${key}" in new files`;

const invalid = (key: string, value: string, allowed: string) =>
  `Invalid configuration: property group "InputStream0", key "${key}": value ${JSON.stringify(value)} is not allowed; allowed: ${allowed}`;

describe('each legacy key is read as its shardflow key, with one notice naming that key', () => {
  it.each(['LATEST', 'TRIM_HORIZON'] as const)('flink.stream.initpos=%s -> source.init.position', (type) => {
    const { config, warnings } = build({ 'flink.stream.initpos': type });
    expect(config.input.initialPosition).toEqual({ type });
    expect(warnings).toEqual([notice('flink.stream.initpos', 'source.init.position')]);
  });

  it('flink.stream.initpos=AT_TIMESTAMP with flink.stream.initpos.timestamp -> source.init.position and source.init.timestamp', () => {
    const { config, warnings } = build({ 'flink.stream.initpos': 'AT_TIMESTAMP', 'flink.stream.initpos.timestamp': '2016-04-04T19:58:46.480-00:00' });
    expect(config.input.initialPosition).toEqual({ type: 'AT_TIMESTAMP', timestamp: new Date('2016-04-04T19:58:46.480Z') });
    expect(warnings).toEqual([
      notice('flink.stream.initpos', 'source.init.position'),
      notice('flink.stream.initpos.timestamp', 'source.init.timestamp', 'in the pattern of "flink.stream.initpos.timestamp.format" (default yyyy-MM-dd\'T\'HH:mm:ss.SSSXXX) or epoch seconds'),
    ]);
  });

  it('AT_TIMESTAMP from the legacy key still requires a timestamp, named by our key', () => {
    expect(configError(() => build({ 'flink.stream.initpos': 'AT_TIMESTAMP' })).message).toBe(
      `Invalid configuration: property group "InputStream0", key "source.init.timestamp": value missing is not allowed; allowed: ${o.INIT_TIMESTAMP.allowed}`,
    );
  });

  it.each(['POLLING', 'EFO'] as const)('flink.stream.recordpublisher=%s -> source.reader.type', (type) => {
    const { config, warnings } = build({ 'flink.stream.recordpublisher': type, 'flink.stream.efo.consumername': 'legacy-consumer' });
    expect(config.input.readerType).toBe(type);
    expect(config.input.efo.consumerName).toBe('legacy-consumer');
    expect(warnings).toEqual([notice('flink.stream.recordpublisher', 'source.reader.type'), notice('flink.stream.efo.consumername', 'source.efo.consumer.name')]);
  });

  it('EFO from the legacy key without a consumer name names source.efo.consumer.name', () => {
    expect(configError(() => build({ 'flink.stream.recordpublisher': 'EFO' })).message).toContain('key "source.efo.consumer.name": value missing');
  });

  it.each([
    ['LAZY', 'JOB_MANAGED'],
    ['EAGER', 'JOB_MANAGED'],
    ['NONE', 'SELF_MANAGED'],
  ] as const)('flink.stream.efo.registration=%s -> source.efo.consumer.lifecycle=%s', (registration, lifecycle) => {
    const { config, warnings } = build({ 'flink.stream.efo.registration': registration });
    expect(config.input.efo.lifecycle).toBe(lifecycle);
    expect(warnings).toEqual([notice('flink.stream.efo.registration', 'source.efo.consumer.lifecycle', 'LAZY and EAGER mean JOB_MANAGED, NONE means SELF_MANAGED')]);
  });

  it.each(['JOB_MANAGED', 'lazy', 'SOMETIMES'])('flink.stream.efo.registration=%j is not allowed: its own values are LAZY | EAGER | NONE', (value) => {
    expect(configError(() => build({ 'flink.stream.efo.registration': value })).message).toBe(invalid('flink.stream.efo.registration', value, 'one of LAZY | EAGER | NONE'));
  });

  it('flink.shard.getrecords.maxrecordcount -> source.shard.get-records.max-record-count', () => {
    const { config, warnings } = build({ 'flink.shard.getrecords.maxrecordcount': '2500' });
    expect(config.input.getRecordsMaxCount).toBe(2500);
    expect(warnings).toEqual([notice('flink.shard.getrecords.maxrecordcount', 'source.shard.get-records.max-record-count')]);
  });

  it('flink.shard.getrecords.intervalmillis -> source.shard.get-records.interval (milliseconds)', () => {
    const { config, warnings } = build({ 'flink.shard.getrecords.intervalmillis': '500' });
    expect(config.input.getRecordsIntervalMs).toBe(500);
    expect(warnings).toEqual([notice('flink.shard.getrecords.intervalmillis', 'source.shard.get-records.interval')]);
  });

  it('flink.shard.discovery.intervalmillis -> source.shard.discovery.interval (milliseconds)', () => {
    const { config, warnings } = build({ 'flink.shard.discovery.intervalmillis': '30000' });
    expect(config.input.discoveryIntervalMs).toBe(30_000);
    expect(warnings).toEqual([notice('flink.shard.discovery.intervalmillis', 'source.shard.discovery.interval')]);
  });

  it('flink.shard.subscribetoshard.timeout -> source.efo.subscription.timeout (seconds)', () => {
    const { config, warnings } = build({ 'flink.shard.subscribetoshard.timeout': '90' });
    expect(config.input.efo.subscriptionTimeoutMs).toBe(90_000);
    expect(warnings).toEqual([notice('flink.shard.subscribetoshard.timeout', 'source.efo.subscription.timeout', 'a bare number is seconds')]);
  });

  it('a legacy value outside our range names the legacy key and what our key allows', () => {
    expect(configError(() => build({ 'flink.shard.getrecords.intervalmillis': '300000' })).message).toBe(
      invalid('flink.shard.getrecords.intervalmillis', '300000', o.GET_RECORDS_INTERVAL.allowed),
    );
    expect(configError(() => build({ 'flink.stream.initpos': 'EARLIEST' })).message).toBe(invalid('flink.stream.initpos', 'EARLIEST', o.INIT_POSITION.allowed));
    expect(configError(() => build({ 'flink.shard.subscribetoshard.timeout': '60000' })).message).toBe(
      invalid('flink.shard.subscribetoshard.timeout', '60000', 'a number of seconds from 1 to 600 such as "60", or a duration from 100 ms to 10 min such as "90 s"'),
    );
  });

  it('the AWS keys of the legacy consumer are already ours and log nothing', () => {
    const { config, warnings } = build({
      'aws.region': 'eu-central-1',
      'aws.credentials.provider': 'BASIC',
      'aws.credentials.provider.basic.accesskeyid': 'AKID',
      'aws.credentials.provider.basic.secretkey': 'secret',
    });
    expect(warnings).toEqual([]);
    expect(config.input.client).toMatchObject({ region: 'eu-central-1', credentials: { provider: 'BASIC', accessKeyId: 'AKID', secretAccessKey: 'secret' } });
  });

  it('a file in legacy keys only: every notice once, in one list', () => {
    const { config, warnings } = build({
      'flink.stream.initpos': 'TRIM_HORIZON',
      'flink.stream.recordpublisher': 'EFO',
      'flink.stream.efo.consumername': 'c1',
      'flink.stream.efo.registration': 'EAGER',
      'flink.shard.getrecords.maxrecordcount': '100',
      'flink.shard.getrecords.intervalmillis': '250',
      'flink.shard.discovery.intervalmillis': '1000',
    });
    expect(config.input).toMatchObject({
      initialPosition: { type: 'TRIM_HORIZON' },
      readerType: 'EFO',
      efo: expect.objectContaining({ consumerName: 'c1', lifecycle: 'JOB_MANAGED' }),
      getRecordsMaxCount: 100,
      getRecordsIntervalMs: 250,
      discoveryIntervalMs: 1000,
    });
    expect(warnings).toHaveLength(7);
    for (const key of ['flink.stream.initpos', 'flink.stream.recordpublisher', 'flink.stream.efo.consumername', 'flink.stream.efo.registration', 'flink.shard.getrecords.maxrecordcount', 'flink.shard.getrecords.intervalmillis', 'flink.shard.discovery.intervalmillis']) {
      expect(warnings.filter((w) => w.includes(`"${key}"`))).toHaveLength(1);
    }
  });

  it('outside InputStream0 a legacy key is an ordinary unknown key', () => {
    const { warnings } = build({}, { 'flink.stream.initpos': 'LATEST' });
    expect(warnings).toEqual(['Unknown key "flink.stream.initpos" in property group "OutputStream0" is ignored: shardflow has no setting of that name for this group']);
  });
});

describe('flink.stream.initpos.timestamp and its format', () => {
  const start = (map: Record<string, string>) => {
    const { config, warnings } = build({ 'flink.stream.initpos': 'AT_TIMESTAMP', ...map });
    return { timestamp: config.input.initialPosition.type === 'AT_TIMESTAMP' ? config.input.initialPosition.timestamp : undefined, warnings };
  };
  const FORMAT_NOTICE =
    'Legacy FlinkKinesisConsumer key "flink.stream.initpos.timestamp.format" in property group "InputStream0" is used to read "flink.stream.initpos.timestamp"; ' +
    `"source.init.timestamp" takes ${o.INIT_TIMESTAMP.allowed} instead`;

  it.each([
    ['the default pattern, unset', '2016-04-04T19:58:46.480-00:00', '2016-04-04T19:58:46.480Z'],
    ['the default pattern with an offset, unset', '2016-04-04T21:58:46.480+02:00', '2016-04-04T19:58:46.480Z'],
    ['ISO-8601 with Z, unset', '2024-05-01T12:00:00Z', '2024-05-01T12:00:00.000Z'],
    ['epoch seconds, unset', '1459799926.480', '2016-04-04T19:58:46.480Z'],
  ])('%s: %j', (_what, value, iso) => {
    const { timestamp, warnings } = start({ 'flink.stream.initpos.timestamp': value });
    expect(timestamp?.toISOString()).toBe(iso);
    expect(warnings).toHaveLength(2);
  });

  it.each([
    ["yyyy-MM-dd'T'HH:mm:ss.SSSXXX", '2016-04-04T19:58:46.480-00:00', '2016-04-04T19:58:46.480Z'],
    ["yyyy-MM-dd'T'HH:mm:ss.SSSXXX", '2016-04-04T19:58:46.480Z', '2016-04-04T19:58:46.480Z'],
    ["yyyy-MM-dd'T'HH:mm:ss.SSSXXX", '2016-04-05T01:28:46.480+05:30', '2016-04-04T19:58:46.480Z'],
    ["yyyy-MM-dd'T'HH:mm:ss.SSSXXX", '1459799926.480', '2016-04-04T19:58:46.480Z'], // epoch seconds work with any pattern
    ['yyyy-MM-dd HH:mm:ss', '2016-04-04 19:58:46', '2016-04-04T19:58:46.000Z'], // no zone field: UTC
    ['dd/MM/yyyy', '04/04/2016', '2016-04-04T00:00:00.000Z'],
    ['yyyyMMddHHmmss', '20160404195846', '2016-04-04T19:58:46.000Z'], // the pattern before epoch seconds
    ['d MMM yyyy HH:mm Z', '4 Apr 2016 21:58 +0200', '2016-04-04T19:58:00.000Z'],
    ["yyyy.MM.dd 'at' HH:mm:ss XX", '2016.04.04 at 19:58:46 -0000', '2016-04-04T19:58:46.000Z'],
    ["yyyy-MM-dd'T'HH:mm:ss.SSSX", '2016-04-04T21:58:46.480+02', '2016-04-04T19:58:46.480Z'],
  ])('pattern %s reads %j', (format, value, iso) => {
    const { timestamp, warnings } = start({ 'flink.stream.initpos.timestamp': value, 'flink.stream.initpos.timestamp.format': format });
    expect(timestamp?.toISOString()).toBe(iso);
    expect(warnings.filter((w) => w === FORMAT_NOTICE)).toHaveLength(1);
  });

  it('a timestamp that does not fit the pattern names the timestamp key', () => {
    const err = configError(() => start({ 'flink.stream.initpos.timestamp': '2016-04-04 19:58', 'flink.stream.initpos.timestamp.format': 'dd/MM/yyyy' }));
    expect(err.message).toBe(
      invalid(
        'flink.stream.initpos.timestamp',
        '2016-04-04 19:58',
        'a timestamp in the pattern of "flink.stream.initpos.timestamp.format" when that is set (else ISO-8601 such as "2024-05-01T12:00:00.000Z"), or epoch seconds such as "1714564800"',
      ),
    );
  });

  it.each([
    ['EEE, d MMM yyyy HH:mm:ss', 'EEE'],
    ['yy-MM-dd', 'yy'],
    ['yyyy-MM-dd hh:mm a', 'hh'],
    ["yyyy-MM-dd'T'HH:mm:ss z", 'z'],
    ['MM/dd', 'MM/dd'], // no year
  ])('a pattern shardflow cannot honour (%s) is exit 2 naming the format key and the field', (format, field) => {
    const err = configError(() => start({ 'flink.stream.initpos.timestamp': '2016-04-04', 'flink.stream.initpos.timestamp.format': format }));
    expect(err.message).toBe(invalid('flink.stream.initpos.timestamp.format', format, `${SUPPORTED_DATE_PATTERN}; unsupported pattern field "${field}"`));
  });

  it('the format without the legacy timestamp is ignored with one notice', () => {
    const { config, warnings } = build({ 'source.init.position': 'AT_TIMESTAMP', 'source.init.timestamp': '1714564800', 'flink.stream.initpos.timestamp.format': 'dd/MM/yyyy' });
    expect(config.input.initialPosition).toEqual({ type: 'AT_TIMESTAMP', timestamp: new Date(1_714_564_800_000) });
    expect(warnings).toEqual([
      'Legacy FlinkKinesisConsumer key "flink.stream.initpos.timestamp.format" in property group "InputStream0" is ignored: it only applies to "flink.stream.initpos.timestamp", which is not set ' +
        `("source.init.timestamp" takes ${o.INIT_TIMESTAMP.allowed})`,
    ]);
  });
});

describe('a legacy key next to its shardflow key', () => {
  it.each<[string, Record<string, string>]>([
    ['the same text', { 'source.init.position': 'TRIM_HORIZON', 'flink.stream.initpos': 'TRIM_HORIZON' }],
    ['"500" millis and "500 ms"', { 'source.shard.get-records.interval': '500 ms', 'flink.shard.getrecords.intervalmillis': '500' }],
    ['"10 s" and "10000" millis', { 'source.shard.discovery.interval': '10 s', 'flink.shard.discovery.intervalmillis': '10000' }],
    ['"1 min" and "60" seconds', { 'source.efo.subscription.timeout': '1 min', 'flink.shard.subscribetoshard.timeout': '60' }],
    ['LAZY and JOB_MANAGED', { 'source.efo.consumer.lifecycle': 'JOB_MANAGED', 'flink.stream.efo.registration': 'LAZY' }],
    ['NONE and the alias source.efo.lifecycle SELF_MANAGED', { 'source.efo.lifecycle': 'SELF_MANAGED', 'flink.stream.efo.registration': 'NONE' }],
    ['a name with spaces around it', { 'source.efo.consumer.name': 'c1', 'flink.stream.efo.consumername': ' c1 ' }],
    ['the same instant in ISO-8601 and epoch seconds', { 'source.init.timestamp': '2024-05-01T12:00:00Z', 'flink.stream.initpos.timestamp': '1714564800' }],
    ['the same instant in a legacy pattern', { 'source.init.timestamp': '2024-05-01T12:00:00Z', 'flink.stream.initpos.timestamp': '01/05/2024 14:00 +0200', 'flink.stream.initpos.timestamp.format': 'dd/MM/yyyy HH:mm Z' }],
  ])('with equal values (%s) is accepted, with only the notices', (_what, map) => {
    const { warnings } = build(map);
    expect(warnings.every((w) => w.startsWith('Legacy FlinkKinesisConsumer key '))).toBe(true);
    expect(warnings.length).toBeGreaterThan(0);
  });

  it('with different values is exit 2 naming the group, both keys, both values and what is allowed', () => {
    const err = configError(() => build({ 'source.init.position': 'TRIM_HORIZON', 'flink.stream.initpos': 'LATEST' }));
    expect(err.message).toBe(
      'Invalid configuration: property group "InputStream0", keys "source.init.position" and "flink.stream.initpos": values "TRIM_HORIZON" and "LATEST" are not allowed together; ' +
        'allowed: one of the two keys, or both with the same value ("flink.stream.initpos" is the legacy FlinkKinesisConsumer key for "source.init.position", which takes one of LATEST | TRIM_HORIZON | AT_TIMESTAMP)',
    );
  });

  it('with values that differ after mapping: the message shows the values as written and the mapping', () => {
    const err = configError(() => build({ 'source.efo.consumer.lifecycle': 'JOB_MANAGED', 'flink.stream.efo.registration': 'NONE' }));
    expect(err.message).toBe(
      'Invalid configuration: property group "InputStream0", keys "source.efo.consumer.lifecycle" and "flink.stream.efo.registration": values "JOB_MANAGED" and "NONE" are not allowed together; ' +
        'allowed: one of the two keys, or both with the same value ("flink.stream.efo.registration" is the legacy FlinkKinesisConsumer key for "source.efo.consumer.lifecycle", ' +
        'which takes one of JOB_MANAGED | SELF_MANAGED; LAZY and EAGER mean JOB_MANAGED, NONE means SELF_MANAGED)',
    );
  });

  it.each<[Record<string, string>, string, string]>([
    [{ 'source.shard.get-records.interval': '500 ms', 'flink.shard.getrecords.intervalmillis': '400' }, 'source.shard.get-records.interval', 'flink.shard.getrecords.intervalmillis'],
    [{ 'source.reader.type': 'POLLING', 'flink.stream.recordpublisher': 'EFO', 'source.efo.consumer.name': 'c' }, 'source.reader.type', 'flink.stream.recordpublisher'],
    [{ 'source.efo.consumer.name': 'a', 'flink.stream.efo.consumername': 'b' }, 'source.efo.consumer.name', 'flink.stream.efo.consumername'],
    [{ 'source.shard.get-records.max-record-count': '100', 'flink.shard.getrecords.maxrecordcount': '200' }, 'source.shard.get-records.max-record-count', 'flink.shard.getrecords.maxrecordcount'],
    [{ 'source.shard.discovery.interval': '1 s', 'flink.shard.discovery.intervalmillis': '2000' }, 'source.shard.discovery.interval', 'flink.shard.discovery.intervalmillis'],
    [{ 'source.efo.subscription.timeout': '60 s', 'flink.shard.subscribetoshard.timeout': '61' }, 'source.efo.subscription.timeout', 'flink.shard.subscribetoshard.timeout'],
    [{ 'source.init.timestamp': '2024-05-01T12:00:00Z', 'flink.stream.initpos.timestamp': '1714564801' }, 'source.init.timestamp', 'flink.stream.initpos.timestamp'],
    [{ 'source.efo.lifecycle': 'SELF_MANAGED', 'flink.stream.efo.registration': 'LAZY' }, 'source.efo.lifecycle', 'flink.stream.efo.registration'],
  ])('conflict %j', (map, key, legacy) => {
    const err = configError(() => build(map));
    expect(err.message).toContain(`property group "InputStream0", keys "${key}" and "${legacy}": values ${JSON.stringify(map[key])} and ${JSON.stringify(map[legacy])} are not allowed together`);
  });

  it('a bad value of either spelling is reported as that key\'s bad value first', () => {
    expect(configError(() => build({ 'source.init.position': 'LATEST', 'flink.stream.initpos': 'NEWEST' })).message).toBe(invalid('flink.stream.initpos', 'NEWEST', o.INIT_POSITION.allowed));
  });

  it('the plain alias keeps its own rule: first spelling used, one warning', () => {
    const { config, warnings } = build({ 'source.efo.consumer.lifecycle': 'SELF_MANAGED', 'source.efo.lifecycle': 'JOB_MANAGED' });
    expect(config.input.efo.lifecycle).toBe('SELF_MANAGED');
    expect(warnings).toEqual(['Property group "InputStream0" sets "source.efo.consumer.lifecycle" and its other spelling "source.efo.lifecycle": "source.efo.consumer.lifecycle" is used']);
  });
});

describe('legacy keys shardflow does not use', () => {
  const LEGACY_UNUSED = 'is ignored: it is a key of Flink\'s legacy FlinkKinesisConsumer that shardflow does not use';

  it.each([
    ['flink.shard.getrecords.maxretries', '3', ' (shardflow retries throttling and transient errors with its own backoff)'],
    ['flink.shard.getrecords.backoff.base', '300', ' (shardflow retries throttling and transient errors with its own backoff)'],
    ['flink.list.shards.backoff.expconst', '1.5', ' (shardflow retries throttling and transient errors with its own backoff)'],
    ['flink.shard.consumer.error.recoverable.0.exception', 'java.net.SocketTimeoutException', ' (shardflow retries throttling and transient errors with its own backoff)'],
    ['flink.watermark.sync.interval', '30000', ' (shardflow has no watermarks)'],
    ['flink.shard.adaptivereads', 'true', ''],
    ['aws.trust.all.certificates', 'true', ''],
    [
      'flink.stream.efo.consumerarn.ExampleInputStream',
      'arn:aws:kinesis:eu-west-1:123456789012:stream/ExampleInputStream/consumer/c1:1',
      ' (with source.efo.consumer.lifecycle SELF_MANAGED shardflow finds the consumer by source.efo.consumer.name, the name after "/consumer/" in that ARN)',
    ],
    ['flink.stream.describestreamconsumer.maxretries', '50', ' (the nearest shardflow settings are source.efo.describe.retry-strategy.delay.min, .delay.max and .attempts.max)'],
  ])('%s: the unknown-key warning says it is a legacy key, once', (key, value, hint) => {
    const { warnings } = build({ [key]: value });
    expect(warnings).toEqual([`Unknown key "${key}" in property group "InputStream0" ${LEGACY_UNUSED}${hint}`]);
  });
});

describe('javaDateReader', () => {
  it('reads SimpleDateFormat milliseconds as a count, not a fraction', () => {
    expect(javaDateReader('yyyy-MM-dd HH:mm:ss.S')('2016-04-04 19:58:46.5')?.toISOString()).toBe('2016-04-04T19:58:46.005Z');
  });

  it('rejects impossible dates and times instead of rolling them over', () => {
    const read = javaDateReader('yyyy-MM-dd HH:mm:ss');
    expect(read('2023-02-29 00:00:00')).toBeUndefined();
    expect(read('2024-02-29 00:00:00')?.toISOString()).toBe('2024-02-29T00:00:00.000Z');
    expect(read('2024-04-31 00:00:00')).toBeUndefined();
    expect(read('2024-04-30 24:00:00')).toBeUndefined();
    expect(read('2024-13-01 00:00:00')).toBeUndefined();
  });

  it('reads month names in English, in any case', () => {
    expect(javaDateReader('MMMM d, yyyy')('april 4, 2016')?.toISOString()).toBe('2016-04-04T00:00:00.000Z');
    expect(javaDateReader('dd-MMM-yyyy')('04-APR-2016')?.toISOString()).toBe('2016-04-04T00:00:00.000Z');
  });

  it('treats quoted text and doubled quotes as literals', () => {
    expect(javaDateReader("yyyy'y'MM''dd")("2016y04'04")?.toISOString()).toBe('2016-04-04T00:00:00.000Z');
  });

  it('throws UnsupportedDatePattern for a pattern it cannot honour', () => {
    expect(() => javaDateReader("yyyy-MM-dd'T")).toThrow(UnsupportedDatePattern);
    expect(() => javaDateReader('yyyy-ww')).toThrow('unsupported pattern field "ww"');
  });
});

describe('the configuration table (docs/configuration.md) shows the legacy keys', () => {
  const table = renderConfigTable();

  it.each([
    ['source.init.position', 'flink.stream.initpos'],
    ['source.reader.type', 'flink.stream.recordpublisher'],
    ['source.efo.consumer.name', 'flink.stream.efo.consumername'],
    ['source.shard.get-records.max-record-count', 'flink.shard.getrecords.maxrecordcount'],
    ['source.shard.get-records.interval', 'flink.shard.getrecords.intervalmillis'],
    ['source.shard.discovery.interval', 'flink.shard.discovery.intervalmillis'],
    ['source.efo.subscription.timeout', 'flink.shard.subscribetoshard.timeout'],
  ])('%s (legacy %s)', (key, legacy) => {
    expect(table).toContain(`| \`${key}\` (legacy \`${legacy}\`) |`);
  });

  it('keeps the plain alias and adds the legacy key, with its value mapping', () => {
    expect(table).toContain('| `source.efo.consumer.lifecycle` (alias `source.efo.lifecycle`) (legacy `flink.stream.efo.registration`) |');
    expect(table).toContain('Legacy `flink.stream.efo.registration`: LAZY and EAGER mean JOB_MANAGED, NONE means SELF_MANAGED.');
    expect(table).toContain('`source.init.timestamp` (legacy `flink.stream.initpos.timestamp` with `flink.stream.initpos.timestamp.format`)');
  });

  it('lists the legacy keys shardflow ignores', () => {
    expect(table).toContain('have no shardflow equivalent and are ignored with a warning');
    for (const key of ['flink.shard.getrecords.maxretries', 'flink.shard.adaptivereads', 'flink.stream.efo.consumerarn.*', 'aws.trust.all.certificates']) expect(table).toContain(`\`${key}\``);
  });
});
