/**
 * Where one PutRecords answer broke per-key order. Kinesis writes a request's accepted records to each
 * shard in request order and does not stop at a refused one, so a refused record followed by an
 * accepted record of its key in the same request lands after that newer record: there is no un-write.
 * A refused suffix of a key's run is harmless (re-sent first, it keeps its place). Pure, no I/O.
 */

/**
 * The positions (ascending) of refused entries that a later accepted entry of the same key overtook.
 * `keys[i]` is entry i's partition key, `accepted[i]` whether Kinesis accepted it.
 */
export function overtakenEntries(keys: readonly string[], accepted: readonly boolean[]): number[] {
  // Scan backwards: an entry is overtaken when an accepted entry of its key comes after it.
  const acceptedLater = new Set<string>();
  const overtaken: number[] = [];
  for (let i = keys.length - 1; i >= 0; i--) {
    if (accepted[i]) acceptedLater.add(keys[i]);
    else if (acceptedLater.has(keys[i])) overtaken.push(i);
  }
  return overtaken.reverse();
}

/**
 * The refused records of a plain request that an accepted record of their key overtook, not counted
 * before (each is marked `late`, so one record is counted once however often it is overtaken again).
 * `accepted[i]`: whether record i was.
 */
export function newlyOvertaken<E extends { readonly key: string; late?: boolean }>(batch: readonly E[], accepted: readonly boolean[]): E[] {
  const overtaken = overtakenEntries(batch.map((entry) => entry.key), accepted).map((i) => batch[i]).filter((entry) => !entry.late);
  for (const entry of overtaken) entry.late = true;
  return overtaken;
}
