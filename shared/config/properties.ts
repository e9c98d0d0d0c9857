/**
 * Reads a Managed-Flink-style runtime properties file (a JSON array of
 * `{ PropertyGroupId, PropertyMap }`) into the typed AppConfig. Pure apart from `loadProperties`,
 * so every rule is unit-tested on plain objects.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from './config-error';
import { LEGACY_CONSUMER, unusedLegacyKey } from './legacy-consumer';
import type { AppConfig, ApplicationConfig, AwsClientConfig, CredentialsConfig, InitialPosition, OutputStreamConfig, PartitionKeyRule, StreamRef, TransformConfig } from './app-config';
import * as o from './options';
import { GroupReader } from './group-reader';
import { checkDistinctStreams, inputConfig, inputGroupNames, readStreamsFile } from './input-groups';

const PropertiesFile = z.array(
  z.object({
    PropertyGroupId: z.string().min(1),
    PropertyMap: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String)),
  }),
);

export type PropertyGroups = ReadonlyMap<string, Readonly<Record<string, string>>>;

export function loadProperties(file: string): PropertyGroups {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`Invalid configuration: cannot read the properties file "${file}": ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`Invalid configuration: the properties file "${file}" is not JSON: ${(err as Error).message}`);
  }
  return parsePropertyGroups(json, file);
}

export function parsePropertyGroups(json: unknown, source = 'properties'): PropertyGroups {
  const parsed = PropertiesFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(
      `Invalid configuration: ${source} must be a JSON array of {"PropertyGroupId": string, "PropertyMap": {key: string}} ` +
        `(as Managed Service for Apache Flink runtime properties); problem at ${issue.path.join('.') || 'the top level'}: ${issue.message}`,
    );
  }
  const groups = new Map<string, Record<string, string>>();
  for (const { PropertyGroupId, PropertyMap } of parsed.data) {
    groups.set(PropertyGroupId, { ...(groups.get(PropertyGroupId) ?? {}), ...PropertyMap });
  }
  return groups;
}

export interface ParsedConfig {
  config: AppConfig;
  /** One line per key that shardflow does not know; the caller logs each once. */
  warnings: string[];
}

/** `baseDir`: where a relative `Transform.module` path starts (the properties file's folder). */
export function buildAppConfig(groups: PropertyGroups, env: NodeJS.ProcessEnv = process.env, baseDir = process.cwd()): ParsedConfig {
  const readers = new Map<string, GroupReader>();
  const reader = (group: string, schema = group) => {
    let r = readers.get(group);
    if (!r) readers.set(group, (r = new GroupReader(group, groups.get(group) ?? {}, schema)));
    return r;
  };

  if (!groups.has(o.OUTPUT)) throw ConfigError.invalidValue(o.OUTPUT, o.STREAM_ARN.key, undefined, `a property group "${o.OUTPUT}" with ${o.STREAM_ARN.allowed}`);
  const application = applicationConfig(reader(o.APPLICATION), baseDir);
  const fileGroups = application.streamsFile ? readStreamsFile(application.streamsFile, reader(o.APPLICATION).optional(o.STREAMS_FILE)!) : new Map<string, Record<string, string>>();
  const inputNames = inputGroupNames(groups);
  if (inputNames.length === 0 && fileGroups.size === 0) {
    throw ConfigError.invalidValue(o.INPUT, o.STREAM_ARN.key, undefined, `a property group "${o.INPUT}" (or another InputStream<n>, or ${o.APPLICATION}.${o.STREAMS_FILE.key}) with ${o.STREAM_ARN.allowed}`);
  }
  const outputs = outputGroupNames(groups).map((group) => outputConfig(reader(group, o.OUTPUT)));
  const reading = { streamRef, clientConfig, initialPosition, outputGroups: outputs.map((out) => out.group) };
  const inputs = [
    ...inputNames.map((group) => inputConfig(reader(group, o.INPUT), reading)),
    ...[...fileGroups].map(([group, map]) => {
      const r = new GroupReader(group, map, o.INPUT);
      readers.set(group, r); // its unknown keys are reported as a group's are
      return inputConfig(r, reading);
    }),
  ];
  checkDistinctStreams(inputs);
  const config: AppConfig = {
    inputs,
    input: inputs[0],
    application,
    output: outputs[0],
    outputs,
    serialization: reader(o.SERIALIZATION).get(o.SERIALIZATION_TYPE),
    transform: transformConfig(reader(o.TRANSFORM), reader(o.SERIALIZATION).get(o.SERIALIZATION_TYPE), baseDir),
    properties: Object.fromEntries(groups),
    cluster: {
      leaseTimeoutMs: reader(o.CLUSTER).get(o.LEASE_TIMEOUT),
      maxLeasesPerWorker: reader(o.CLUSTER).get(o.WORKER_MAX_LEASES),
      balance: reader(o.CLUSTER).get(o.WORKER_BALANCE),
      balanceCooldownMs: reader(o.CLUSTER).get(o.WORKER_BALANCE_COOLDOWN),
    },
    dashboard: dashboardConfig(reader(o.DASHBOARD), env),
  };

  const warnings: string[] = [];
  for (const group of [...groups.keys(), ...fileGroups.keys()]) {
    const r = readers.get(group);
    if (!r) {
      // A transform module may read groups of its own (its open() gets every group): not a typo then.
      if (!config.transform.module.startsWith('builtin:')) continue;
      warnings.push(`Unknown property group "${group}" is ignored (known groups: ${[o.INPUT, 'InputStream1 (and any InputStream<n>)', o.OUTPUT, 'OutputStream1 (and any OutputStream<n>)', o.SERIALIZATION, o.TRANSFORM, o.CLUSTER, o.DASHBOARD, o.APPLICATION].join(', ')})`);
      continue;
    }
    for (const key of r.unknownKeys()) {
      const legacy = /^InputStream\d+$/.test(group) ? unusedLegacyKey(key) : undefined;
      warnings.push(
        legacy
          ? `Unknown key "${key}" in property group "${group}" is ignored: it is a key of Flink's legacy ${LEGACY_CONSUMER} that shardflow does not use${legacy.hint ? ` (${legacy.hint})` : ''}`
          : `Unknown key "${key}" in property group "${group}" is ignored: shardflow has no setting of that name for this group`,
      );
    }
    warnings.push(...r.legacyNotices());
    for (const { used, ignored } of r.duplicateSpellings()) {
      warnings.push(`Property group "${group}" sets "${used}" and its other spelling ${ignored.map((k) => `"${k}"`).join(', ')}: "${used}" is used`);
    }
  }
  return { config, warnings };
}

/** Typed values compared as values: two Dates are equal when they are the same instant. */

function streamRef(r: GroupReader): StreamRef {
  const given = r.get(o.STREAM_ARN);
  const [, partition, service, arnRegion, account, resource] = given.split(':');
  const region = r.optional(o.AWS_REGION) ?? arnRegion;
  if (!region) r.fail(o.AWS_REGION.key, undefined, `${o.AWS_REGION.allowed} (the ARN "${given}" names no region)`);
  // An ARN without its region (given by aws.region instead) is completed, so a stream has one ARN everywhere: in its keys too.
  const arn = arnRegion ? given : ['arn', partition, service, region, account, resource].join(':');
  return { arn, name: resource.slice('stream/'.length), account, region };
}

function clientConfig(r: GroupReader, stream: StreamRef): AwsClientConfig {
  return {
    group: r.group,
    region: stream.region,
    endpoint: r.optional(o.AWS_ENDPOINT),
    credentials: credentials(r),
    maxConcurrency: r.get(o.HTTP_MAX_CONCURRENCY),
    readTimeoutMs: r.get(o.HTTP_READ_TIMEOUT),
  };
}

function credentials(r: GroupReader): CredentialsConfig {
  const provider = r.get(o.CREDENTIALS_PROVIDER);
  if (provider !== 'ASSUME_ROLE') return baseCredentials(r, provider);
  const roleArn = r.get(o.ROLE_ARN);
  return {
    provider,
    roleArn,
    sessionName: r.get(o.ROLE_SESSION_NAME),
    externalId: r.optional(o.ROLE_EXTERNAL_ID),
    stsEndpoint: r.optional(o.ROLE_STS_ENDPOINT),
    base: baseCredentials(r, r.get(o.ROLE_BASE_PROVIDER)),
  };
}

function baseCredentials(r: GroupReader, provider: Exclude<CredentialsConfig['provider'], 'ASSUME_ROLE'>): Exclude<CredentialsConfig, { provider: 'ASSUME_ROLE' }> {
  switch (provider) {
    case 'AUTO':
      return { provider };
    case 'BASIC':
      return { provider, accessKeyId: r.get(o.BASIC_ACCESS_KEY_ID), secretAccessKey: r.get(o.BASIC_SECRET_KEY) };
    case 'PROFILE':
      return { provider, profileName: r.optional(o.PROFILE_NAME), profilePath: r.optional(o.PROFILE_PATH) };
    case 'WEB_IDENTITY_TOKEN':
      return { provider, roleArn: r.optional(o.ROLE_ARN), sessionName: r.get(o.ROLE_SESSION_NAME), tokenFile: r.optional(o.WEB_IDENTITY_TOKEN_FILE) };
  }
}

function initialPosition(r: GroupReader): InitialPosition {
  const type = r.get(o.INIT_POSITION);
  if (type !== 'AT_TIMESTAMP') {
    r.optional(o.INIT_TIMESTAMP); // validated even when unused, so a typo is caught early
    return { type };
  }
  return { type, timestamp: r.get(o.INIT_TIMESTAMP) };
}

function partitionKeyRule(r: GroupReader): PartitionKeyRule {
  const text = r.get(o.SINK_PARTITION_KEY);
  if (text === 'INPUT' || text === 'RANDOM') return { type: text };
  const field = /^field:([A-Za-z0-9_$-]+)$/.exec(text);
  if (field) return { type: 'FIELD', field: field[1] };
  return r.fail(o.SINK_PARTITION_KEY.key, text, o.SINK_PARTITION_KEY.allowed);
}

function applicationConfig(r: GroupReader, baseDir: string): ApplicationConfig {
  const file = r.optional(o.STREAMS_FILE);
  return { streamsFile: file === undefined ? undefined : resolve(baseDir, file), removedStreamRetentionMs: r.get(o.REMOVED_STREAM_RETENTION) };
}

function transformConfig(r: GroupReader, serialization: 'JSON' | 'STRING', baseDir: string): TransformConfig {
  const raw = r.optional(o.TRANSFORM_MODULE);
  let module: string;
  if (raw === undefined) module = serialization === 'JSON' ? 'builtin:stock' : 'builtin:pass-through';
  else if (raw.startsWith('builtin:')) {
    if (!(o.BUILTIN_MODULES as readonly string[]).includes(raw)) r.fail(o.TRANSFORM_MODULE.key, raw, o.TRANSFORM_MODULE.allowed);
    module = raw;
  } else module = resolve(baseDir, raw);
  return { module, timeoutMs: r.get(o.TRANSFORM_TIMEOUT), concurrency: r.get(o.TRANSFORM_CONCURRENCY) };
}

/** `OutputStream0` (required), then every other `OutputStream<n>` group in the order of n. */
function outputGroupNames(groups: PropertyGroups): string[] {
  const numbered = [...groups.keys()]
    .map((group) => ({ group, n: /^OutputStream(0|[1-9][0-9]{0,3})$/.exec(group)?.[1] }))
    .filter((g): g is { group: string; n: string } => g.n !== undefined && g.n !== '0')
    .sort((a, b) => Number(a.n) - Number(b.n));
  return [o.OUTPUT, ...numbered.map((g) => g.group)];
}

function outputConfig(r: GroupReader): OutputStreamConfig {
  const stream = streamRef(r);
  const maxBatchBytes = r.get(o.SINK_FLUSH_BUFFER_SIZE);
  // Unset, the record limit follows a smaller request limit down; set, it must fit in a request.
  const maxRecordBytes = r.has(o.SINK_MAX_RECORD_SIZE) ? r.get(o.SINK_MAX_RECORD_SIZE) : Math.min(o.SINK_MAX_RECORD_SIZE.defaultValue!, maxBatchBytes);
  if (maxRecordBytes > maxBatchBytes) {
    r.fail(o.SINK_MAX_RECORD_SIZE.key, String(maxRecordBytes), `at most ${o.SINK_FLUSH_BUFFER_SIZE.key} (${maxBatchBytes} bytes), since a record must fit in a request`);
  }
  const maxBatchRecords = r.get(o.SINK_BATCH_MAX_SIZE);
  if (r.group !== o.OUTPUT && r.has(o.SINK_MAX_BUFFERED)) {
    r.fail(o.SINK_MAX_BUFFERED.key, String(r.get(o.SINK_MAX_BUFFERED)), `no value here: it bounds the worker's buffer for every output together, so it is set in ${o.OUTPUT} only`);
  }
  const maxBufferedRecords = r.get(o.SINK_MAX_BUFFERED);
  if (maxBufferedRecords < maxBatchRecords) {
    r.fail(o.SINK_MAX_BUFFERED.key, String(maxBufferedRecords), `at least ${o.SINK_BATCH_MAX_SIZE.key} (${maxBatchRecords})`);
  }
  return {
    group: r.group,
    stream,
    client: clientConfig(r, stream),
    maxBatchRecords,
    maxBatchBytes,
    maxRecordBytes,
    lingerMs: r.get(o.SINK_FLUSH_TIMEOUT),
    flushMode: r.get(o.SINK_FLUSH_MODE),
    maxInFlightRequests: r.get(o.SINK_MAX_INFLIGHT),
    maxBufferedRecords,
    partitionKey: partitionKeyRule(r),
    ordering: r.get(o.SINK_ORDERING),
    aggregation: r.get(o.SINK_AGGREGATION),
    maxAggregateBytes: r.get(o.SINK_AGGREGATION_MAX_SIZE),
    failOnError: r.get(o.SINK_FAIL_ON_ERROR) === 'true',
  };
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/;

export function isLoopback(host: string): boolean {
  return LOOPBACK.test(host);
}

function dashboardConfig(r: GroupReader, env: NodeJS.ProcessEnv) {
  const username = env.SHARDFLOW_DASHBOARD_USERNAME || r.optional(o.DASHBOARD_USERNAME);
  const password = env.SHARDFLOW_DASHBOARD_PASSWORD || r.optional(o.DASHBOARD_PASSWORD);
  const token = env.SHARDFLOW_DASHBOARD_TOKEN || r.optional(o.DASHBOARD_TOKEN);
  if ((username === undefined) !== (password === undefined)) {
    r.fail(username === undefined ? o.DASHBOARD_USERNAME.key : o.DASHBOARD_PASSWORD.key, undefined, 'set with its partner: basic auth needs both a user name and a password');
  }
  // From the environment too, so one properties file serves every container and only the coordinator's
  // container opens the dashboard to its network.
  const host = r.getOrEnv(o.DASHBOARD_HOST, env, 'SHARDFLOW_DASHBOARD_HOST');
  const basic = username && password ? { username, password } : undefined;
  const enabled = r.get(o.DASHBOARD_ENABLED) === 'true';
  if (enabled && !isLoopback(host) && !basic && !token) {
    r.fail(
      o.DASHBOARD_HOST.key,
      host,
      `a loopback address (127.0.0.1, ::1), or credentials: ${o.DASHBOARD_USERNAME.key} and ${o.DASHBOARD_PASSWORD.key} or ${o.DASHBOARD_TOKEN.key} (or SHARDFLOW_DASHBOARD_PASSWORD / SHARDFLOW_DASHBOARD_TOKEN), since the dashboard can retry, replay and remove jobs`,
    );
  }
  return { enabled, host, port: r.get(o.DASHBOARD_PORT), path: r.get(o.DASHBOARD_PATH), basic, token, allowedHosts: r.getOrEnv(o.DASHBOARD_ALLOWED_HOSTS, env, 'SHARDFLOW_DASHBOARD_ALLOWED_HOSTS') };
}

export function loadAppConfig(file: string): ParsedConfig {
  return buildAppConfig(loadProperties(file), process.env, dirname(resolve(file)));
}
