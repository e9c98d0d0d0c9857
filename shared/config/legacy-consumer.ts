/**
 * The keys of Flink's legacy `FlinkKinesisConsumer` (its `ConsumerConfigConstants` and
 * `AWSConfigConstants`), which users of the reference example bring in `InputStream0`. Those with a
 * shardflow equivalent are aliases of options (see `legacyKey` in options.ts); the rest are listed here
 * so the unknown-key warning can say what they are.
 */
import type { Alias } from './options';
import { CompanionValueError } from './config-error';
import { javaDateReader, SUPPORTED_DATE_PATTERN, UnsupportedDatePattern } from './java-date-format';

export const LEGACY_CONSUMER = 'FlinkKinesisConsumer';

/** A key of the legacy consumer read as an option of ours. */
export function legacyKey(key: string, more: Omit<Alias, 'key' | 'legacy'> = {}): Alias {
  return { key, legacy: true, ...more };
}

/** `flink.stream.efo.registration`: who registers the EFO consumer. */
export const LEGACY_REGISTRATION = legacyKey('flink.stream.efo.registration', {
  allowed: 'one of LAZY | EAGER | NONE',
  note: 'LAZY and EAGER mean JOB_MANAGED, NONE means SELF_MANAGED',
  translate: (raw) => ({ LAZY: 'JOB_MANAGED', EAGER: 'JOB_MANAGED', NONE: 'SELF_MANAGED' })[raw.trim()],
});

/** A legacy key in whole seconds (a bare number); text with a unit is read as our durations are. */
export function legacySecondsKey(key: string, allowed: string): Alias {
  return legacyKey(key, { allowed, note: 'a bare number is seconds', translate: (raw) => (/^\s*\d+\s*$/.test(raw) ? `${raw.trim()} s` : raw) });
}

export const LEGACY_TIMESTAMP_FORMAT = 'flink.stream.initpos.timestamp.format';
export const LEGACY_DEFAULT_TIMESTAMP_FORMAT = "yyyy-MM-dd'T'HH:mm:ss.SSSXXX";

/**
 * `flink.stream.initpos.timestamp`, read as the legacy consumer does: in the pattern of
 * `flink.stream.initpos.timestamp.format` when that is set, else as our ISO-8601 (which covers its
 * default pattern); epoch seconds always work. The result is ISO-8601 text for `source.init.timestamp`.
 */
export const LEGACY_TIMESTAMP = legacyKey('flink.stream.initpos.timestamp', {
  companions: [LEGACY_TIMESTAMP_FORMAT],
  note: `in the pattern of "${LEGACY_TIMESTAMP_FORMAT}" (default ${LEGACY_DEFAULT_TIMESTAMP_FORMAT}) or epoch seconds`,
  allowed: `a timestamp in the pattern of "${LEGACY_TIMESTAMP_FORMAT}" when that is set (else ISO-8601 such as "2024-05-01T12:00:00.000Z"), or epoch seconds such as "1714564800"`,
  translate: (raw, siblings) => {
    const text = raw.trim();
    const pattern = siblings[LEGACY_TIMESTAMP_FORMAT];
    if (pattern === undefined) return text; // ISO-8601 (the default pattern's form) or epoch seconds
    let read: (text: string) => Date | undefined;
    try {
      read = javaDateReader(pattern);
    } catch (err) {
      if (err instanceof UnsupportedDatePattern) throw new CompanionValueError(LEGACY_TIMESTAMP_FORMAT, pattern, `${SUPPORTED_DATE_PATTERN}; ${err.message}`);
      throw err;
    }
    // As the legacy consumer: the pattern first, then epoch seconds.
    return read(text)?.toISOString() ?? (/^\d+(\.\d+)?$/.test(text) ? text : undefined);
  },
});

/** Legacy keys shardflow has no setting for; a key ending in ".*" stands for every key under it. */
const UNUSED: ReadonlyArray<{ keys: readonly string[]; hint?: string }> = [
  {
    keys: ['flink.stream.efo.consumerarn.*'],
    hint: 'with source.efo.consumer.lifecycle SELF_MANAGED shardflow finds the consumer by source.efo.consumer.name, the name after "/consumer/" in that ARN',
  },
  {
    keys: ['flink.stream.describestreamconsumer.*'],
    hint: 'the nearest shardflow settings are source.efo.describe.retry-strategy.delay.min, .delay.max and .attempts.max',
  },
  {
    keys: ['flink.stream.efo.http-client.max-concurrency', 'flink.stream.efo.http-client.read-timeout'],
    hint: 'the nearest shardflow settings are aws.http-client.max-concurrency and aws.http-client.read-timeout, which apply to all of the group\'s Kinesis calls',
  },
  {
    keys: [
      'flink.shard.getrecords.maxretries', 'flink.shard.getrecords.backoff.*', 'flink.shard.getiterator.*', 'flink.shard.subscribetoshard.maxretries',
      'flink.shard.subscribetoshard.backoff.*', 'flink.stream.describe.*', 'flink.list.shards.*', 'flink.stream.registerstreamconsumer.*',
      'flink.stream.deregisterstreamconsumer.*', 'flink.shard.consumer.error.recoverable.*',
    ],
    hint: 'shardflow retries throttling and transient errors with its own backoff',
  },
  { keys: ['flink.shard.idle.interval', 'flink.watermark.sync.interval', 'flink.watermark.lookahead.millis', 'flink.watermark.sync.queue.capacity'], hint: 'shardflow has no watermarks' },
  { keys: ['flink.shard.adaptivereads'] },
  { keys: ['aws.credentials.provider.custom.class'], hint: 'shardflow has no custom credentials providers; see aws.credentials.provider' },
  { keys: ['aws.trust.all.certificates', 'aws.http.protocol.version'] },
];

function matches(pattern: string, key: string): boolean {
  return pattern.endsWith('.*') ? key.startsWith(pattern.slice(0, -1)) : key === pattern;
}

/** The legacy key's entry (with its hint) when `key` is a legacy consumer key shardflow does not use. */
export function unusedLegacyKey(key: string): { hint?: string } | undefined {
  return UNUSED.find((entry) => entry.keys.some((pattern) => matches(pattern, key)));
}

/** Every unused legacy key or key family, for the configuration table (docs/configuration.md). */
export function unusedLegacyKeys(): readonly string[] {
  return UNUSED.flatMap((entry) => entry.keys);
}
