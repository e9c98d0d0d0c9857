/**
 * The input streams of a configuration: every `InputStream<n>` group (read with InputStream0's options)
 * and the entries of `Application.streams-file`, each a full input group of its own (stream, region,
 * credentials, reader, init position, EFO consumer, intervals, default output). One input per stream
 * ARN: a stream named twice is a configuration error, since its shards would be leased twice. Pure apart
 * from reading the streams file.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from './config-error';
import type { InputStreamConfig, StreamRef, AwsClientConfig } from './app-config';
import { GroupReader } from './group-reader';
import * as o from './options';

/** `InputStream0`, `InputStream1`, … of the properties, in the order of n. */
export function inputGroupNames(groups: ReadonlyMap<string, unknown>): string[] {
  return [...groups.keys()]
    .map((group) => ({ group, n: /^InputStream(0|[1-9][0-9]{0,3})$/.exec(group)?.[1] }))
    .filter((g): g is { group: string; n: string } => g.n !== undefined)
    .sort((a, b) => Number(a.n) - Number(b.n))
    .map((g) => g.group);
}

const StreamsFile = z.object({
  defaults: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String)).default({}),
  streams: z.array(z.union([z.string().min(1), z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String))])),
});

/** The streams file's entries as input groups (`<file>[i]` -> its keys over the defaults). */
export function readStreamsFile(file: string, shownAs: string): Map<string, Record<string, string>> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw ConfigError.invalidValue(o.APPLICATION, o.STREAMS_FILE.key, shownAs, `a readable JSON file (${(err as Error).message})`);
  }
  const parsed = StreamsFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw ConfigError.invalidValue(
      o.APPLICATION,
      o.STREAMS_FILE.key,
      shownAs,
      `a JSON file {"defaults": {input keys}, "streams": ["<stream ARN>" or {input keys}, …]} (problem at ${issue.path.join('.') || 'the top level'}: ${issue.message})`,
    );
  }
  const { defaults, streams } = parsed.data;
  return new Map(streams.map((entry, i) => [`${shownAs}[${i}]`, { ...defaults, ...(typeof entry === 'string' ? { [o.STREAM_ARN.key]: entry } : entry) }]));
}

/** What reading one input group needs from the properties reader. */
export interface InputReading {
  streamRef(r: GroupReader): StreamRef;
  clientConfig(r: GroupReader, stream: StreamRef): AwsClientConfig;
  initialPosition(r: GroupReader): InputStreamConfig['initialPosition'];
  /** The output groups configured, to check `output`. */
  outputGroups: readonly string[];
}

export function inputConfig(input: GroupReader, how: InputReading): InputStreamConfig {
  const stream = how.streamRef(input);
  const readerType = input.get(o.READER_TYPE);
  const efo = {
    consumerName: input.optional(o.EFO_CONSUMER_NAME),
    lifecycle: input.get(o.EFO_LIFECYCLE),
    describeDelayMinMs: input.get(o.EFO_DESCRIBE_DELAY_MIN),
    describeDelayMaxMs: input.get(o.EFO_DESCRIBE_DELAY_MAX),
    describeAttempts: input.get(o.EFO_DESCRIBE_ATTEMPTS),
    subscriptionTimeoutMs: input.get(o.EFO_SUBSCRIPTION_TIMEOUT),
    maxSubscriptionMs: input.get(o.EFO_SUBSCRIPTION_MAX_DURATION),
  };
  if (readerType === 'EFO' && efo.consumerName === undefined) {
    input.fail(o.EFO_CONSUMER_NAME.key, undefined, `${o.EFO_CONSUMER_NAME.allowed} (required with ${o.READER_TYPE.key}=EFO)`);
  }
  if (efo.describeDelayMaxMs < efo.describeDelayMinMs) {
    input.fail(o.EFO_DESCRIBE_DELAY_MAX.key, String(efo.describeDelayMaxMs), `at least ${o.EFO_DESCRIBE_DELAY_MIN.key} (${efo.describeDelayMinMs} ms)`);
  }
  const output = input.get(o.INPUT_OUTPUT);
  if (!how.outputGroups.includes(output)) input.fail(o.INPUT_OUTPUT.key, output, `one of the output groups configured: ${how.outputGroups.join(', ')}`);
  return {
    group: input.group,
    output,
    stream,
    client: how.clientConfig(input, stream),
    initialPosition: how.initialPosition(input),
    readerType,
    efo,
    discoveryIntervalMs: input.get(o.DISCOVERY_INTERVAL),
    getRecordsMaxCount: input.get(o.GET_RECORDS_MAX),
    getRecordsIntervalMs: input.get(o.GET_RECORDS_INTERVAL),
    emptyFetchIntervalMs: input.get(o.EMPTY_FETCH_INTERVAL),
    idleIntervalMs: input.get(o.IDLE_INTERVAL),
  };
}

/** One input per stream: a second group naming the same ARN fails, naming both groups. */
export function checkDistinctStreams(inputs: readonly InputStreamConfig[]): void {
  const seen = new Map<string, string>();
  for (const input of inputs) {
    const first = seen.get(input.stream.arn);
    if (first) throw ConfigError.invalidValue(input.group, o.STREAM_ARN.key, input.stream.arn, `a stream no other input group reads (${first} reads it already)`);
    seen.set(input.stream.arn, input.group);
  }
}
