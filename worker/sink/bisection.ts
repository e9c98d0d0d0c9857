/**
 * The bisection of one PutRecords request that Kinesis refused whole with `ValidationException` or
 * `InvalidArgumentException`. Kinesis refuses a whole request for one bad entry, and such an answer is
 * about records until shown otherwise: the request is split in halves, sent one after the other (so
 * the records of a key keep their order), and each refused half is split again, down to single
 * records. What the answers then say:
 *
 * - anything accepted meanwhile (by this bisection or by any other request of the sink) shows the
 *   stream takes writes: each single record refused is refused for itself, and is dead-lettered with
 *   Kinesis's message ('records');
 * - the single records refused with different messages are refused for themselves too ('records');
 * - every record of the request refused alone, the same way, with nothing accepted: the answer is about
 *   the stream, not its records ('stream'): the records wait and the output fails;
 * - a request of one record refused with nothing accepted has nothing to be compared with
 *   ('undecided'): the sink waits for its other traffic, or asks the stream itself (`kinesis-sink.ts`).
 *
 * A whole bisection costs at most 2n - 1 requests for n records (every half refused); one bad record
 * among 500 costs about 18 (9 refused halves and their 9 accepted siblings). Pure, no I/O.
 */

export interface RefusedItem<T> {
  readonly item: T;
  /** Kinesis's answer, as "Name: message". */
  readonly error: string;
}

export type BisectionVerdict<T> =
  | { readonly type: 'records'; readonly rejected: ReadonlyArray<RefusedItem<T>> }
  | { readonly type: 'stream'; readonly error: string }
  | { readonly type: 'undecided'; readonly rejected: ReadonlyArray<RefusedItem<T>> };

export class Bisection<T> {
  /** Sub-requests still to send; the next one on top. */
  private readonly stack: T[][] = [];
  private readonly suspects: Array<RefusedItem<T>> = [];
  private sending: T[] | undefined;
  private evidence = false;
  private readonly accepted = new Set<T>();

  /** `items`: the refused request's records in order; `error`: Kinesis's answer to it. */
  constructor(
    readonly items: readonly T[],
    error: string,
  ) {
    this.refused(items, error);
  }

  /** The next sub-request to send, or undefined while one is out or none is left. */
  next(): T[] | undefined {
    if (this.sending) return undefined;
    this.sending = this.stack.pop();
    return this.sending;
  }

  /** The sub-request out now came back with these of its records accepted (the others go again). */
  answered(accepted: readonly T[], again: readonly T[] = []): void {
    this.sending = undefined;
    if (accepted.length > 0) this.evidence = true;
    for (const item of accepted) this.accepted.add(item);
    if (again.length > 0) this.stack.push([...again]);
  }

  /** Records that leave without an answer (their lease was lost): resolved, and no evidence either way. */
  discard(items: readonly T[]): void {
    for (const item of items) this.accepted.add(item);
  }

  /** The sub-request out now was refused whole with `error`: halves, or a suspect when it was one record. */
  refusedWhole(error: string): void {
    const batch = this.sending ?? [];
    this.sending = undefined;
    this.refused(batch, error);
  }

  /** Another request of the sink got records accepted: the stream takes writes. */
  noteAccepted(): void {
    this.evidence = true;
  }

  /** True when every sub-request was answered. */
  get settled(): boolean {
    return this.sending === undefined && this.stack.length === 0;
  }

  /** Records refused alone so far. */
  get refusedRecords(): ReadonlyArray<RefusedItem<T>> {
    return this.suspects;
  }

  /** The records neither accepted nor yet judged (refused alone, waiting or out), in request order. */
  unresolved(): T[] {
    return this.items.filter((item) => !this.accepted.has(item));
  }

  /** What the answers show, once `settled`. */
  verdict(): BisectionVerdict<T> {
    const first = this.suspects[0];
    const sameWay = first !== undefined && this.suspects.every((s) => s.error === first.error);
    if (this.evidence || !sameWay) return { type: 'records', rejected: this.suspects };
    if (this.items.length > 1) return { type: 'stream', error: first.error };
    return { type: 'undecided', rejected: this.suspects };
  }

  private refused(refused: readonly T[], error: string): void {
    // Records discarded meanwhile are out of it.
    const batch = this.accepted.size === 0 ? refused : refused.filter((item) => !this.accepted.has(item));
    if (batch.length === 0) return;
    if (batch.length === 1) {
      this.suspects.push({ item: batch[0], error });
      return;
    }
    const half = Math.ceil(batch.length / 2);
    this.stack.push(batch.slice(half), batch.slice(0, half));
  }
}
