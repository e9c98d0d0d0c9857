/**
 * What a transform module sees and may answer: the types a user's module is written against
 * (`import type { TransformRecord, TransformResult, TransformContext } from 'shardflow'`). Types only:
 * the package's `types` entry points here, and nothing in it runs.
 *
 * A module exports a `TransformFunction` as `default` or as `transform`, and optionally `open` and
 * `close` (docs/transforms.md).
 */
import type { Buffer } from 'node:buffer';

/** One input record, as the module's function receives it. */
export interface TransformRecord {
  /** The record's bytes (for a KPL aggregate, this user record's). A view: treat it as read-only. */
  readonly data: Buffer;
  /** `data` as UTF-8 text. */
  text(): string;
  /** `data` parsed as JSON; a throw here dead-letters the record like any other throw. */
  json<T = unknown>(): T;
  readonly partitionKey: string;
  /** Set only when the producer gave the (user) record one. */
  readonly explicitHashKey?: string;
  readonly sequenceNumber: string;
  /** The user record's index inside a KPL aggregate; absent for a plain Kinesis record. */
  readonly subSequenceNumber?: number;
  readonly shardId: string;
  /** The input stream's name and ARN. */
  readonly streamName: string;
  readonly streamArn: string;
  readonly approximateArrivalTimestamp?: Date;
}

/** One output record with its own key or destination. */
export interface TransformOutputRecord {
  /** A string or bytes are written as they are; any other value is written as JSON. Never null or undefined. */
  data: unknown;
  /** Without one, the output group's `sink.partition-key` gives the key (the input's, by default). */
  partitionKey?: string;
  /** A decimal in [0, 2^128) that picks the output shard instead of the partition key's hash. */
  explicitHashKey?: string;
  /** The output property group to write to (`OutputStream1`, …); without one, the input's default output. */
  output?: string;
}

/** One output record: text, bytes, or an object with its own key or destination. */
export type TransformOutput = string | Buffer | Uint8Array | TransformOutputRecord;

/**
 * What the function answers: `null`, `undefined` or `[]` filters the record out (acknowledged and
 * checkpointed, counted in `shardflow_records_filtered_total`); one output; or several, written in order.
 */
export type TransformResult = TransformOutput | readonly TransformOutput[] | null | undefined;

/** The logger a module gets: pino's, bound to the worker and the module. */
export interface TransformLogger {
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  debug(obj: object | string, msg?: string): void;
}

/** Handed to `open` once per process, before the first record. */
export interface TransformContext {
  /** The process's id (`worker-<host>-<pid>`, or the coordinator's or the `dlq` command's). */
  readonly workerId: string;
  readonly log: TransformLogger;
  /** The runtime properties, by group and key, as the properties file gives them. */
  readonly properties: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

export type TransformFunction = (record: TransformRecord) => TransformResult | Promise<TransformResult>;

/** The shape of a whole module, for those who like to type it: `export default` or `transform`, `open`, `close`. */
export interface TransformModule {
  default?: TransformFunction;
  transform?: TransformFunction;
  open?: (context: TransformContext) => void | Promise<void>;
  close?: () => void | Promise<void>;
}
