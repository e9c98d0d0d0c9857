/**
 * The kinds of option the table in `options.ts` is made of: the property groups, an option's shape
 * (key, spellings, default, what it allows), and a constructor per kind of value (enum, integer,
 * duration, size, string, URL, timestamp, stream ARN), each validating with zod or shardflow's units.
 */
import { z } from 'zod';
import { parseDuration, parseMemorySize, parseTimestamp } from './units';

export const INPUT = 'InputStream0';
export const OUTPUT = 'OutputStream0';
export const SERIALIZATION = 'SerializationType';
export const CLUSTER = 'Cluster';
export const DASHBOARD = 'Dashboard';
export const TRANSFORM = 'Transform';
export const APPLICATION = 'Application';
export type GroupId = typeof INPUT | typeof OUTPUT | typeof SERIALIZATION | typeof TRANSFORM | typeof CLUSTER | typeof DASHBOARD | typeof APPLICATION;

export interface Option<T> {
  /** The property groups the key is read from. */
  readonly groups: readonly GroupId[];
  readonly key: string;
  /** Other spellings accepted for the same key (for example the Flink connector's, or the legacy FlinkKinesisConsumer's). */
  readonly aliases?: readonly (string | Alias)[];
  readonly description: string;
  /** Used when the key is absent; undefined means "no default" (required or optional by use). */
  readonly defaultValue?: T;
  /** The default as the README shows it. */
  readonly defaultText: string;
  /** What is allowed, in words; goes into the exit-2 message and the README. */
  readonly allowed: string;
  /** The typed value, or undefined when the text is not allowed. */
  parse(raw: string): T | undefined;
}

/** Another spelling of an option's key; a bare string in `aliases` is one that takes the same values. */
export interface Alias {
  readonly key: string;
  /**
   * A key of Flink's legacy FlinkKinesisConsumer: using it logs a notice naming the option's key, and
   * setting it next to another spelling with a different value is a configuration error.
   */
  readonly legacy?: boolean;
  /** How its values differ from the option's, for the notice and the README. */
  readonly note?: string;
  /** What this spelling allows, when that differs from the option's. */
  readonly allowed?: string;
  /** Keys read together with this one (a timestamp's format); they are not unknown. */
  readonly companions?: readonly string[];
  /**
   * The option's text for this spelling's text (LAZY -> JOB_MANAGED), or undefined when it is not allowed;
   * `siblings` is the whole property group. May throw CompanionValueError for a companion's bad value.
   */
  readonly translate?: (raw: string, siblings: Readonly<Record<string, string>>) => string | undefined;
}

/** The option's key and every alias, the key first. */
export function spellingsOf(option: Option<unknown>): Alias[] {
  return [{ key: option.key }, ...(option.aliases ?? []).map((alias) => (typeof alias === 'string' ? { key: alias } : alias))];
}

type Spec<T> = Omit<Option<T>, 'allowed' | 'parse' | 'defaultText'> & { defaultText?: string };

function fromZod<T>(schema: z.ZodType<T>): (raw: string) => T | undefined {
  return (raw) => {
    const result = schema.safeParse(raw);
    return result.success ? result.data : undefined;
  };
}

export function enumOption<const V extends string>(spec: Spec<V>, values: readonly [V, ...V[]]): Option<V> {
  return {
    ...spec,
    defaultText: spec.defaultText ?? spec.defaultValue ?? '',
    allowed: `one of ${values.join(' | ')}`,
    parse: fromZod(z.enum(values as [V, ...V[]])),
  };
}

export function intOption(spec: Spec<number>, min: number, max: number): Option<number> {
  return {
    ...spec,
    defaultText: spec.defaultText ?? (spec.defaultValue === undefined ? '' : String(spec.defaultValue)),
    allowed: `an integer from ${min} to ${max}`,
    parse: fromZod(z.string().regex(/^\s*-?\d+\s*$/).transform(Number).pipe(z.number().int().min(min).max(max))),
  };
}

export function durationOption(spec: Spec<number>, minMs: number, maxMs = 86_400_000): Option<number> {
  return {
    ...spec,
    defaultText: spec.defaultText ?? (spec.defaultValue === undefined ? '' : formatDuration(spec.defaultValue)),
    allowed: `a duration from ${formatDuration(minMs)} to ${formatDuration(maxMs)}, such as "10 s" or "250 ms" (a bare number is milliseconds)`,
    parse: (raw) => {
      const ms = parseDuration(raw);
      return ms !== undefined && ms >= minMs && ms <= maxMs ? ms : undefined;
    },
  };
}

export function sizeOption(spec: Spec<number>, minBytes: number, maxBytes: number): Option<number> {
  return {
    ...spec,
    defaultText: spec.defaultText ?? (spec.defaultValue === undefined ? '' : formatSize(spec.defaultValue)),
    allowed: `a size from ${formatSize(minBytes)} to ${formatSize(maxBytes)}, such as "5 mb" or "512 kb" (a bare number is bytes)`,
    parse: (raw) => {
      const bytes = parseMemorySize(raw);
      return bytes !== undefined && bytes >= minBytes && bytes <= maxBytes ? bytes : undefined;
    },
  };
}

export function stringOption(spec: Spec<string>, allowed = 'a non-empty string'): Option<string> {
  return { ...spec, defaultText: spec.defaultText ?? spec.defaultValue ?? '', allowed, parse: fromZod(z.string().trim().min(1)) };
}

export function urlOption(spec: Spec<string>): Option<string> {
  return {
    ...spec,
    defaultText: spec.defaultText ?? '',
    allowed: 'an http:// or https:// URL',
    parse: fromZod(z.string().trim().regex(/^https?:\/\/[^\s/]+(\/\S*)?$/)),
  };
}

export function timestampOption(spec: Spec<Date>): Option<Date> {
  return {
    ...spec,
    defaultText: spec.defaultText ?? '',
    allowed: 'an ISO-8601 timestamp such as "2024-05-01T12:00:00Z" or epoch seconds such as "1714564800"',
    parse: parseTimestamp,
  };
}

export function kinesisStreamArnOption(spec: Spec<string>): Option<string> {
  return {
    ...spec,
    defaultText: spec.defaultText ?? '(required)',
    allowed: 'a Kinesis stream ARN such as "arn:aws:kinesis:us-east-1:123456789012:stream/ExampleInputStream"',
    parse: fromZod(z.string().trim().regex(/^arn:aws[a-z-]*:kinesis:[a-z0-9-]*:\d{12}:stream\/[a-zA-Z0-9_.-]{1,128}$/)),
  };
}

export function formatDuration(ms: number): string {
  if (ms % 86_400_000 === 0 && ms > 0) return `${ms / 86_400_000} d`;
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000} min`;
  if (ms % 1000 === 0 && ms > 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}

export function formatSize(bytes: number): string {
  if (bytes % 1024 ** 2 === 0 && bytes > 0) return `${bytes / 1024 ** 2} mb`;
  if (bytes % 1024 === 0 && bytes > 0) return `${bytes / 1024} kb`;
  return `${bytes} bytes`;
}
