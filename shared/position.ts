/**
 * Positions in a shard, counted in (sequence number, sub-sequence number) as KCL's
 * ExtendedSequenceNumber counts them. A Kinesis record written through the KPL with aggregation holds
 * several user records; each carries the Kinesis record's sequence number and its index in the
 * aggregate (its sub-sequence number).
 *
 * The string form is what checkpoints, replay-until marks and progress store:
 * - `"<seq>"`: the whole Kinesis record `<seq>` is done (a plain record, or every user record of an
 *   aggregate). This is the only form older versions wrote, and it still means exactly that.
 * - `"<seq>:<sub>"`: user records 0..`<sub>` of the aggregate `<seq>` are done, later ones are not.
 *
 * Ordering: by sequence number (decimal strings, compared by length then text), then by sub-sequence
 * number, where a whole record counts after every one of its sub-sequence numbers. Comparisons work
 * on the strings in place, without splitting them. The checkpoint store's Lua script orders the same
 * way.
 */

export const SUB_SEPARATOR = ':';

/** A parsed position; `subSequenceNumber` undefined means the whole Kinesis record. */
export interface Position {
  sequenceNumber: string;
  subSequenceNumber?: number;
}

/** What a record needs to say where it sits in its shard. */
export interface Positioned {
  sequenceNumber: string;
  /** Index of a user record in its KPL aggregate; undefined for a record that is not aggregated. */
  subSequenceNumber?: number;
  /** With subSequenceNumber: how many user records the aggregate holds. */
  aggregateSize?: number;
}

/**
 * The position a checkpoint moves to once `record` and everything before it are done. The last user
 * record of an aggregate closes the whole Kinesis record, so it gives the plain `"<seq>"`.
 */
export function positionOf(record: Positioned): string {
  const sub = record.subSequenceNumber;
  if (sub === undefined || (record.aggregateSize !== undefined && sub >= record.aggregateSize - 1)) return record.sequenceNumber;
  return `${record.sequenceNumber}${SUB_SEPARATOR}${sub}`;
}

export function formatPosition(position: Position): string {
  return position.subSequenceNumber === undefined ? position.sequenceNumber : `${position.sequenceNumber}${SUB_SEPARATOR}${position.subSequenceNumber}`;
}

/** Parses `"<seq>"` or `"<seq>:<sub>"`; throws on anything else (a corrupt checkpoint must not be guessed at). */
export function parsePosition(text: string): Position {
  const at = text.indexOf(SUB_SEPARATOR);
  const sequenceNumber = at < 0 ? text : text.slice(0, at);
  if (!/^\d+$/.test(sequenceNumber)) throw new Error(`not a position: ${JSON.stringify(text)}`);
  if (at < 0) return { sequenceNumber };
  const sub = text.slice(at + 1);
  if (!/^\d+$/.test(sub)) throw new Error(`not a position: ${JSON.stringify(text)}`);
  return { sequenceNumber, subSequenceNumber: Number(sub) };
}

/** Kinesis sequence numbers are decimal strings of up to 128 digits: compare by length, then text. */
export function compareSequenceNumbers(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Orders two sub-sequence numbers, undefined (the whole record) last. */
function compareSubs(a: number | undefined, b: number | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return 1;
  if (b === undefined) return -1;
  return a < b ? -1 : 1;
}

/** Orders a record (or parsed position) against a parsed position. */
export function comparePositions(a: Position, b: Position): number {
  return compareSequenceNumbers(a.sequenceNumber, b.sequenceNumber) || compareSubs(a.subSequenceNumber, b.subSequenceNumber);
}

/** The sub-sequence part of a position string read in place, or undefined for a whole record. */
function subOf(text: string, separatorAt: number): number | undefined {
  if (separatorAt < 0) return undefined;
  let n = 0;
  for (let i = separatorAt + 1; i < text.length; i++) n = n * 10 + (text.charCodeAt(i) - 48);
  return n;
}

/** Orders two position strings without splitting them. */
export function comparePositionStrings(a: string, b: string): number {
  const sa = a.indexOf(SUB_SEPARATOR);
  const sb = b.indexOf(SUB_SEPARATOR);
  const la = sa < 0 ? a.length : sa;
  const lb = sb < 0 ? b.length : sb;
  if (la !== lb) return la < lb ? -1 : 1;
  for (let i = 0; i < la; i++) {
    const d = a.charCodeAt(i) - b.charCodeAt(i);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return compareSubs(subOf(a, sa), subOf(b, sb));
}

/**
 * Where a reader starts: after a checkpoint, at the Kinesis record of a checkpoint that ends in the
 * middle of a KPL aggregate, or at the lease's initial position.
 */
export type StartPosition =
  | { type: 'AFTER_SEQUENCE_NUMBER'; sequenceNumber: string }
  | { type: 'AT_SEQUENCE_NUMBER'; sequenceNumber: string }
  | { type: 'LATEST' }
  | { type: 'TRIM_HORIZON' }
  | { type: 'AT_TIMESTAMP'; timestamp: Date };
