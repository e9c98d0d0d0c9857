/**
 * Every runtime property shardflow reads, with its default, description and validation, in one
 * place (as Flink's KinesisSourceConfigOptions). The table in docs/configuration.md is generated
 * from this list (`npm run docs:config`) and a test fails when the two drift apart. The kinds of option
 * live in `option-kinds.ts`, the Dashboard group's in `dashboard-options.ts`; both are re-exported here.
 */
import { LEGACY_REGISTRATION, LEGACY_TIMESTAMP, legacyKey, legacySecondsKey } from './legacy-consumer';
import { CLUSTER, durationOption, enumOption, INPUT, intOption, kinesisStreamArnOption, OUTPUT, SERIALIZATION, sizeOption, stringOption, timestampOption, TRANSFORM, urlOption, type Option } from './option-kinds';
import { INPUT_OUTPUT, REMOVED_STREAM_RETENTION, STREAMS_FILE } from './application-options';
import { DASHBOARD_ALLOWED_HOSTS, DASHBOARD_ENABLED, DASHBOARD_HOST, DASHBOARD_PASSWORD, DASHBOARD_PATH, DASHBOARD_PORT, DASHBOARD_TOKEN, DASHBOARD_USERNAME } from './dashboard-options';

export * from './option-kinds';
export * from './dashboard-options';
export * from './application-options';

const STREAMS = [INPUT, OUTPUT] as const;

// ---- Both stream groups: the AWS client -------------------------------------------------------

export const STREAM_ARN = kinesisStreamArnOption({ groups: STREAMS, key: 'stream.arn', description: 'ARN of the stream. Required.' });
export const AWS_REGION = stringOption(
  { groups: STREAMS, key: 'aws.region', description: 'Region of the stream.', defaultText: 'the region in `stream.arn`' },
  'an AWS region such as "us-east-1"',
);
export const AWS_ENDPOINT = urlOption({
  groups: STREAMS,
  key: 'aws.endpoint',
  description: 'Endpoint override, for a local Kinesis such as kinesis-local or a VPC endpoint.',
  defaultText: 'the AWS endpoint of the region',
});
export const HTTP_MAX_CONCURRENCY = intOption(
  { groups: STREAMS, key: 'aws.http-client.max-concurrency', description: 'Maximum open HTTP connections of this group\'s Kinesis client.', defaultValue: 50 },
  1,
  10_000,
);
export const HTTP_READ_TIMEOUT = durationOption(
  { groups: STREAMS, key: 'aws.http-client.read-timeout', description: 'Socket read timeout of this group\'s Kinesis client.', defaultValue: 60_000 },
  100,
);

// ---- Both stream groups: credentials (the keys of the seed README and the Flink connector) -----

export const CREDENTIALS_PROVIDERS = ['AUTO', 'BASIC', 'ASSUME_ROLE', 'PROFILE', 'WEB_IDENTITY_TOKEN'] as const;
export type CredentialsProviderType = (typeof CREDENTIALS_PROVIDERS)[number];

export const CREDENTIALS_PROVIDER = enumOption<CredentialsProviderType>(
  { groups: STREAMS, key: 'aws.credentials.provider', description: 'Where credentials come from: `AUTO` is the default AWS SDK chain (environment, profile, container, instance role).', defaultValue: 'AUTO' },
  CREDENTIALS_PROVIDERS,
);
export const BASIC_ACCESS_KEY_ID = stringOption({ groups: STREAMS, key: 'aws.credentials.provider.basic.accesskeyid', description: 'Access key id, with `BASIC` (also for the base credentials of `ASSUME_ROLE`).' });
export const BASIC_SECRET_KEY = stringOption({ groups: STREAMS, key: 'aws.credentials.provider.basic.secretkey', description: 'Secret access key, with `BASIC`. Never logged.' });
export const ROLE_ARN = stringOption(
  { groups: STREAMS, key: 'aws.credentials.provider.role.arn', description: 'Role to assume, with `ASSUME_ROLE` (required) or `WEB_IDENTITY_TOKEN` (else `AWS_ROLE_ARN`).' },
  'an IAM role ARN such as "arn:aws:iam::123456789012:role/stream-reader"',
);
export const ROLE_SESSION_NAME = stringOption({ groups: STREAMS, key: 'aws.credentials.provider.role.sessionName', description: 'STS session name, with `ASSUME_ROLE` or `WEB_IDENTITY_TOKEN`.', defaultValue: 'shardflow' });
export const ROLE_EXTERNAL_ID = stringOption({ groups: STREAMS, key: 'aws.credentials.provider.role.externalId', description: 'External id the role\'s trust policy asks for, with `ASSUME_ROLE`.' });
export const ROLE_BASE_PROVIDER = enumOption<'AUTO' | 'BASIC' | 'PROFILE' | 'WEB_IDENTITY_TOKEN'>(
  { groups: STREAMS, key: 'aws.credentials.provider.role.provider', description: 'Credentials used to call `sts:AssumeRole`, with `ASSUME_ROLE`.', defaultValue: 'AUTO' },
  ['AUTO', 'BASIC', 'PROFILE', 'WEB_IDENTITY_TOKEN'],
);
export const ROLE_STS_ENDPOINT = urlOption({
  groups: STREAMS,
  key: 'aws.credentials.provider.role.stsEndpoint',
  description: 'STS endpoint override for `ASSUME_ROLE` (shardflow extension; `AWS_ENDPOINT_URL_STS` works too).',
  defaultText: 'the regional STS endpoint',
});
export const PROFILE_NAME = stringOption({ groups: STREAMS, key: 'aws.credentials.provider.profile.name', description: 'Profile, with `PROFILE`.', defaultText: '`AWS_PROFILE` or `default`' });
export const PROFILE_PATH = stringOption({ groups: STREAMS, key: 'aws.credentials.provider.profile.path', description: 'Credentials file, with `PROFILE`.', defaultText: '`~/.aws/credentials`' });
export const WEB_IDENTITY_TOKEN_FILE = stringOption({ groups: STREAMS, key: 'aws.credentials.provider.webIdentityToken.file', description: 'Token file, with `WEB_IDENTITY_TOKEN`.', defaultText: '`AWS_WEB_IDENTITY_TOKEN_FILE`' });

// ---- InputStream0 (and every InputStream<n>): the source -------------------------------------------------------------------

export const INIT_POSITIONS = ['LATEST', 'TRIM_HORIZON', 'AT_TIMESTAMP'] as const;
export const INIT_POSITION = enumOption(
  { groups: [INPUT], key: 'source.init.position', aliases: [legacyKey('flink.stream.initpos')], description: 'Where a shard is read from when the application has no checkpoint for it. Shards that appear later (children of a split or merge) always start at `TRIM_HORIZON`.', defaultValue: 'LATEST' },
  INIT_POSITIONS,
);
export const INIT_TIMESTAMP = timestampOption({ groups: [INPUT], key: 'source.init.timestamp', aliases: [LEGACY_TIMESTAMP], description: 'Start time with `AT_TIMESTAMP` (required there).' });
export const READER_TYPE = enumOption(
  { groups: [INPUT], key: 'source.reader.type', aliases: [legacyKey('flink.stream.recordpublisher')], description: 'Standard polling consumer (`POLLING`) or Enhanced Fan-Out (`EFO`).', defaultValue: 'POLLING' },
  ['POLLING', 'EFO'],
);
export const EFO_CONSUMER_NAME: Option<string> = {
  groups: [INPUT],
  key: 'source.efo.consumer.name',
  aliases: [legacyKey('flink.stream.efo.consumername')],
  description: 'Name of the EFO stream consumer; required with `EFO`.',
  defaultText: '',
  allowed: '1 to 128 letters, digits, "_", "." or "-"',
  parse: (raw) => (/^[a-zA-Z0-9_.-]{1,128}$/.test(raw.trim()) ? raw.trim() : undefined),
};
export const EFO_LIFECYCLE = enumOption(
  {
    groups: [INPUT],
    key: 'source.efo.consumer.lifecycle',
    aliases: ['source.efo.lifecycle', LEGACY_REGISTRATION],
    description: 'Who registers and deregisters the EFO consumer: shardflow (`JOB_MANAGED`) or you (`SELF_MANAGED`).',
    defaultValue: 'JOB_MANAGED',
  },
  ['JOB_MANAGED', 'SELF_MANAGED'],
);
export const EFO_DESCRIBE_DELAY_MIN = durationOption(
  { groups: [INPUT], key: 'source.efo.describe.retry-strategy.delay.min', description: 'First wait between DescribeStreamConsumer calls while an EFO consumer becomes ACTIVE.', defaultValue: 2000 },
  10,
  600_000,
);
export const EFO_DESCRIBE_DELAY_MAX = durationOption(
  { groups: [INPUT], key: 'source.efo.describe.retry-strategy.delay.max', description: 'Longest wait between DescribeStreamConsumer calls (the wait doubles from the minimum).', defaultValue: 60_000 },
  10,
  3_600_000,
);
export const EFO_DESCRIBE_ATTEMPTS = intOption(
  { groups: [INPUT], key: 'source.efo.describe.retry-strategy.attempts.max', description: 'DescribeStreamConsumer calls before giving up on an EFO consumer that does not become ACTIVE.', defaultValue: 100 },
  1,
  10_000,
);
export const EFO_SUBSCRIPTION_TIMEOUT = durationOption(
  { groups: [INPUT], key: 'source.efo.subscription.timeout', aliases: [legacySecondsKey('flink.shard.subscribetoshard.timeout', 'a number of seconds from 1 to 600 such as "60", or a duration from 100 ms to 10 min such as "90 s"')], description: 'Longest a SubscribeToShard call may take to answer before it is abandoned and retried.', defaultValue: 60_000 },
  100,
  600_000,
);
export const EFO_SUBSCRIPTION_MAX_DURATION = durationOption(
  {
    groups: [INPUT],
    key: 'source.efo.subscription.max-duration',
    description: 'shardflow ends a subscription after this long and re-subscribes from the last continuation sequence number (AWS ends each subscription after 5 minutes anyway).',
    defaultValue: 300_000,
  },
  1000,
  3_600_000,
);
export const DISCOVERY_INTERVAL = durationOption(
  { groups: [INPUT], key: 'source.shard.discovery.interval', aliases: [legacyKey('flink.shard.discovery.intervalmillis')], description: 'How often the coordinator lists the shards to find new ones.', defaultValue: 10_000 },
  100,
);
export const GET_RECORDS_MAX = intOption(
  { groups: [INPUT], key: 'source.shard.get-records.max-record-count', aliases: [legacyKey('flink.shard.getrecords.maxrecordcount')], description: 'Maximum records one GetRecords call returns.', defaultValue: 10_000 },
  1,
  10_000,
);
export const EMPTY_FETCH_INTERVAL = durationOption(
  { groups: [INPUT], key: 'source.reader.empty-records-fetch-interval', description: 'Pause after a GetRecords call that returned no records.', defaultValue: 250 },
  0,
  60_000,
);
export const IDLE_INTERVAL = durationOption(
  {
    groups: [INPUT],
    key: 'source.shard.idle-interval',
    description:
      'The longest pause between two GetRecords calls on a shard that keeps returning no records: the pause after an empty page doubles from `source.reader.empty-records-fetch-interval` up to this, and drops back on the first record. A record that ends a quiet spell waits at most this long to be read; an idle shard costs one call per this interval (not above the empty-records interval: no growth).',
    defaultValue: 2_000,
  },
  0,
  60_000,
);
export const GET_RECORDS_INTERVAL = durationOption(
  {
    groups: [INPUT],
    key: 'source.shard.get-records.interval',
    aliases: [legacyKey('flink.shard.getrecords.intervalmillis')],
    description: 'Smallest gap between two GetRecords calls on one shard (AWS allows 5 calls per second per shard, shared by all consumers).',
    defaultValue: 200,
  },
  0,
  60_000,
);

// ---- OutputStream0: the sink (Flink's KinesisStreamsSink options where they exist) -------------

export const SINK_BATCH_MAX_SIZE = intOption(
  { groups: [OUTPUT], key: 'sink.batch.max-size', description: 'Maximum records in one PutRecords request.', defaultValue: 500 },
  1,
  500,
);
export const SINK_FLUSH_BUFFER_SIZE = sizeOption(
  { groups: [OUTPUT], key: 'sink.flush-buffer.size', description: 'Maximum bytes (data and partition keys) in one PutRecords request; a full request is sent at once.', defaultValue: 5 * 1024 ** 2 },
  1024,
  5 * 1024 ** 2,
);
export const SINK_MAX_RECORD_SIZE = sizeOption(
  { groups: [OUTPUT], key: 'sink.max-record-size', description: 'Largest output record (data and partition key); a larger one goes to the dead-letter queue.', defaultValue: 1024 ** 2 },
  1,
  1024 ** 2,
);
export const SINK_FLUSH_TIMEOUT = durationOption(
  { groups: [OUTPUT], key: 'sink.flush-buffer.timeout', description: 'Longest a record waits in a partial batch before it is sent (Flink waits 5 s).', defaultValue: 200 },
  0,
  60_000,
);
export const SINK_FLUSH_MODE = enumOption(
  {
    groups: [OUTPUT],
    key: 'sink.flush-buffer.mode',
    description:
      '`ADAPTIVE` (the default): Nagle\'s algorithm, at most one partial request in flight. A partial request goes at once unless another partial one is unanswered (records written in the same event-loop turn go together), so a record on an idle sink does not linger; otherwise records gather until that answer, a full request or `sink.flush-buffer.timeout`, so a steady stream costs about one request per round-trip, not one per record, and under load requests fill up as with FIXED. While the output is throttled only an idle sink sends a partial request. `FIXED`: a partial request always waits `sink.flush-buffer.timeout` (the behaviour before issue #13).',
    defaultValue: 'ADAPTIVE',
  },
  ['ADAPTIVE', 'FIXED'],
);
export const SINK_MAX_INFLIGHT = intOption(
  { groups: [OUTPUT], key: 'sink.requests.max-inflight', description: 'Maximum PutRecords requests in flight per worker.', defaultValue: 50 },
  1,
  1000,
);
export const SINK_MAX_BUFFERED = intOption(
  { groups: [OUTPUT], key: 'sink.requests.max-buffered', description: 'Maximum records buffered per worker, for every output together (set in `OutputStream0` only); readers wait when it is full, so a throttled output slows reading instead of growing memory. A polling page is at most a shard\'s share of it. (Flink\'s sink defaults to 10,000; shardflow to 25,000, so 4 shards can read pages of 6,250 records: docs/how-it-works.md, "Sink".)', defaultValue: 25_000 },
  1,
  1_000_000,
);
export const SINK_PARTITION_KEY = stringOption(
  {
    groups: [OUTPUT],
    key: 'sink.partition-key',
    description: 'Output partition key: `INPUT` keeps the input record\'s key, `RANDOM` spreads records evenly, `field:<name>` takes a top-level JSON field of the transformed record (falling back to the input key when absent).',
    defaultValue: 'INPUT',
  },
  'INPUT | RANDOM | field:<name>',
);

export const SINK_ORDERING = enumOption(
  {
    groups: [OUTPUT],
    key: 'sink.ordering',
    description:
      '`KEY`: records with the same partition key reach the output in input order, also across retries: each key has at most one PutRecords request in flight, carrying its pending records in order (a hot key moves a full request per round-trip). The one break Kinesis can cause, a refused record followed by an accepted one of its key in the same request, is counted (`shardflow_sink_order_violations_total`) and logged; with `sink.aggregation` = `KPL` it cannot happen. `NONE`: fill requests in arrival order; a retried record may land after newer ones of its key.',
    defaultValue: 'KEY',
  },
  ['KEY', 'NONE'],
);

export const SINK_AGGREGATION = enumOption(
  {
    groups: [OUTPUT],
    key: 'sink.aggregation',
    description:
      '`KPL`: pack records into KPL aggregated records (the Kinesis Producer Library format), grouped by output shard and placed on it by an explicit hash key inside its range; many small records then cost few Kinesis records, and a hot key moves a whole aggregate per round-trip. Readers must de-aggregate: the KCL, Lambda with the KPL aggregation library, and shardflow can; Flink\'s KinesisStreamsSource cannot. `NONE`: one Kinesis record per record.',
    defaultValue: 'NONE',
  },
  ['NONE', 'KPL'],
);
export const SINK_AGGREGATION_MAX_SIZE = sizeOption(
  {
    groups: [OUTPUT],
    key: 'sink.aggregation.max-size',
    description:
      'Largest aggregated record (magic, protobuf and MD5). The default is the KPL\'s own (AggregationMaxSize): consumers built for KPL output expect it, each aggregate is decoded and its MD5 checked whole, so a consumer never holds more than this per record, and it is two 25 KiB PUT payload units. It is also large enough that 500 aggregates fill a 5 MiB request, and that one key\'s aggregate per round-trip outruns a shard\'s 1 MiB/s. A record too large for an aggregate is sent alone.',
    defaultValue: 51_200,
  },
  1024,
  1024 ** 2 - 256,
);

export const SINK_FAIL_ON_ERROR = enumOption(
  {
    groups: [OUTPUT],
    key: 'sink.fail-on-error',
    description:
      'What a non-retryable PutRecords error does (the output stream missing, access or its KMS key denied, a validation error). `false`: the worker keeps every record and retries every few seconds (at most 5 s apart), reports itself unready (`/readyz`), stops reading new records, logs the failure once a minute and sets `shardflow_sink_output_failing`; it resumes by itself once the output takes writes again. `true`: the first such error stops the worker with a non-zero exit code (records not yet acknowledged are not checkpointed, so they are read again after a restart), as Flink\'s `failOnError`.',
    defaultValue: 'false',
  },
  ['false', 'true'],
);

// ---- SerializationType ----------------------------------------------------------------------------

export const SERIALIZATION_TYPE = enumOption(
  { groups: [SERIALIZATION], key: 'type', description: '`JSON` parses stock records and applies the transform; `STRING` passes the bytes through unchanged.', defaultValue: 'JSON' },
  ['JSON', 'STRING'],
);

// ---- Transform (your own code) ------------------------------------------------------------------

export const BUILTIN_MODULES = ['builtin:stock', 'builtin:pass-through'] as const;
export const TRANSFORM_MODULE = stringOption(
  {
    groups: [TRANSFORM],
    key: 'module',
    description:
      'Your transform: a JavaScript module (ES `.mjs`, CommonJS `.cjs`, or `.js` as its package.json says) exporting a function as `default` or `transform` (docs/transforms.md). A path absolute or relative to the properties file; or `builtin:stock` (the example\'s mapping, as `SerializationType.type = JSON`) or `builtin:pass-through` (the bytes unchanged, as `STRING`). A module that cannot be loaded stops the process with exit code 2 before it takes a lease.',
    defaultText: 'the built-in chosen by `SerializationType.type`',
  },
  `a file path, ${BUILTIN_MODULES.join(' or ')}`,
);
export const TRANSFORM_TIMEOUT = durationOption(
  { groups: [TRANSFORM], key: 'timeout', description: 'Longest a module\'s promise may take for one record; past it the record is dead-lettered (the promise is left to settle and its answer ignored). A synchronous function cannot be interrupted.', defaultValue: 30_000 },
  1,
  3_600_000,
);
export const TRANSFORM_CONCURRENCY = intOption(
  {
    groups: [TRANSFORM],
    key: 'concurrency',
    description:
      'Records of one shard a module\'s promises may be working on at once; records of one partition key are transformed one at a time, in order, and every output leaves in input order per key. The default, 16, keeps a shard\'s full write rate (1,000 records/s) flowing through a lookup of up to 16 ms, and catches up on a backlog three times as fast at 5 ms, while a slow service sees at most 16 calls per shard. 1 transforms a shard\'s records one by one, as Lambda does per shard.',
    defaultValue: 16,
  },
  1,
  10_000,
);

// ---- Cluster (shardflow's own) ----------------------------------------------------------------------

export const LEASE_TIMEOUT = durationOption(
  { groups: [CLUSTER], key: 'lease.timeout', description: 'How long a lease outlives a worker that stopped renewing it (crash, freeze, lost network) before another worker may take the shard; also the coordinator leader lease. Failover after a crash takes at most 1.25 times this plus about 2 s.', defaultValue: 10_000 },
  1000,
  600_000,
);
export const WORKER_MAX_LEASES = intOption(
  { groups: [CLUSTER], key: 'worker.max-leases', description: 'Most shards one worker process reads at once.', defaultValue: 1000 },
  1,
  100_000,
);

export const WORKER_BALANCE = enumOption(
  {
    groups: [CLUSTER],
    key: 'worker.balance',
    description:
      'How workers split the leases. `COUNT`: every worker holds the same number of leases (within one). `THROUGHPUT`: workers split the total input bytes per second, each lease weighing its measured rate (a moving average its holder publishes every second; a lease not measured yet weighs the mean, and with no traffic at all this is a count balance); a worker hands a lease over only when it is more than 20% above the mean share, the move narrows the gap, and the lease did not move for load within `worker.balance.cooldown`. COUNT is the default: it needs no measurement, and it spreads idle leases, which cost polling CPU but weigh nothing in bytes.',
    defaultValue: 'COUNT',
  },
  ['COUNT', 'THROUGHPUT'],
);
export const WORKER_BALANCE_COOLDOWN = durationOption(
  { groups: [CLUSTER], key: 'worker.balance.cooldown', description: 'With `worker.balance = THROUGHPUT`: how long a lease that moved for load stays where it went before it may move again.', defaultValue: 60_000 },
  1000,
  3_600_000,
);

/** Every option, in README order. */
export const ALL_OPTIONS: readonly Option<unknown>[] = [
  STREAM_ARN, AWS_REGION, AWS_ENDPOINT, HTTP_MAX_CONCURRENCY, HTTP_READ_TIMEOUT,
  CREDENTIALS_PROVIDER, BASIC_ACCESS_KEY_ID, BASIC_SECRET_KEY, ROLE_ARN, ROLE_SESSION_NAME, ROLE_EXTERNAL_ID,
  ROLE_BASE_PROVIDER, ROLE_STS_ENDPOINT, PROFILE_NAME, PROFILE_PATH, WEB_IDENTITY_TOKEN_FILE,
  INIT_POSITION, INIT_TIMESTAMP, READER_TYPE, EFO_CONSUMER_NAME, EFO_LIFECYCLE, EFO_DESCRIBE_DELAY_MIN,
  EFO_DESCRIBE_DELAY_MAX, EFO_DESCRIBE_ATTEMPTS, EFO_SUBSCRIPTION_TIMEOUT, EFO_SUBSCRIPTION_MAX_DURATION, DISCOVERY_INTERVAL,
  GET_RECORDS_MAX, GET_RECORDS_INTERVAL, EMPTY_FETCH_INTERVAL, IDLE_INTERVAL, INPUT_OUTPUT,
  SINK_BATCH_MAX_SIZE, SINK_FLUSH_BUFFER_SIZE, SINK_MAX_RECORD_SIZE, SINK_FLUSH_TIMEOUT, SINK_FLUSH_MODE, SINK_MAX_INFLIGHT,
  SINK_MAX_BUFFERED, SINK_PARTITION_KEY, SINK_ORDERING, SINK_AGGREGATION, SINK_AGGREGATION_MAX_SIZE, SINK_FAIL_ON_ERROR,
  SERIALIZATION_TYPE, TRANSFORM_MODULE, TRANSFORM_TIMEOUT, TRANSFORM_CONCURRENCY, LEASE_TIMEOUT, WORKER_MAX_LEASES, WORKER_BALANCE, WORKER_BALANCE_COOLDOWN,
  DASHBOARD_ENABLED, DASHBOARD_HOST, DASHBOARD_PORT, DASHBOARD_PATH, DASHBOARD_USERNAME, DASHBOARD_PASSWORD, DASHBOARD_TOKEN,
  DASHBOARD_ALLOWED_HOSTS, STREAMS_FILE, REMOVED_STREAM_RETENTION,
];
