/**
 * The stock mapping applied to a record's bytes, without building a JavaScript object: the fast path of
 * the `JSON` transform (`stock-transform.ts`).
 *
 * Why: the full transform decodes the bytes, `JSON.parse`s them, sets the ticker, `JSON.stringify`s the
 * object and encodes the text again: four copies, an object and its strings per record, which with the
 * garbage they leave were the largest share of a worker's CPU after the SDK's own (docs/benchmarks.md).
 * For the records real producers write (`stock.py`'s `json.dumps` and the generator's `JSON.stringify`:
 * a flat object of plain strings and numbers) that round trip only drops the whitespace between tokens
 * and swaps the ticker's value, so this writes exactly that in one pass over the bytes.
 *
 * It takes a record only where the round trip is provably that compaction, and answers `undefined` for
 * anything else, which then goes through the full parse (the same output, or the same reason for a bad
 * record). Taken: one JSON object, JSON whitespace between tokens, no two keys alike, no key starting
 * with a digit (V8 would move array-index keys to the front), and values that are
 *   - strings of printable ASCII without escapes (`JSON.stringify` writes those back byte for byte),
 *   - numbers as JavaScript prints them: no exponent, no leading or trailing zero, not `-0`, at most
 *     15 digits (each such decimal is its double's shortest form), at most 5 zeros after `0.`,
 * with `event_time` and `ticker` strings and `price` a number. Nested values, literals, escapes and
 * non-ASCII text go the full way. The `stock-rewrite` unit test checks it against the full transform
 * on generated records around every one of these edges.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN = 0x7b;
const CLOSE = 0x7d;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

const AMZN = Buffer.from('"AMZN"', 'latin1');
const EVENT_TIME = Buffer.from('event_time', 'latin1');
const TICKER = Buffer.from('ticker', 'latin1');
const PRICE = Buffer.from('price', 'latin1');

const FIELD_EVENT_TIME = 1;
const FIELD_TICKER = 2;
const FIELD_PRICE = 4;
const ALL_FIELDS = FIELD_EVENT_TIME | FIELD_TICKER | FIELD_PRICE;

/** More keys than this go the full way: the duplicate check below compares each key with the earlier ones. */
const MAX_KEYS = 16;
/** Start and end of each key seen in the current record (reused: the rewrite is synchronous). */
const keyBounds = new Int32Array(MAX_KEYS * 2);

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= ZERO && c <= NINE;
}

function sameBytes(b: Uint8Array, start: number, end: number, other: Uint8Array, otherStart: number, otherEnd: number): boolean {
  if (end - start !== otherEnd - otherStart) return false;
  for (let j = 0; j < end - start; j++) if (b[start + j] !== other[otherStart + j]) return false;
  return true;
}

/** The end of a plain string whose opening quote is at `start`, or -1 (escape, control or non-ASCII byte, no end). */
function plainStringEnd(b: Uint8Array, start: number): number {
  for (let i = start + 1; i < b.length; i++) {
    const c = b[i];
    if (c === QUOTE) return i + 1;
    if (c < 0x20 || c > 0x7e || c === BACKSLASH) return -1;
  }
  return -1;
}

/** The end of a number starting at `start` that JavaScript prints back unchanged, or -1. */
function canonicalNumberEnd(b: Uint8Array, start: number): number {
  let i = start;
  const negative = b[i] === MINUS;
  if (negative) i++;
  let digits = 0;
  if (b[i] === ZERO) {
    i++;
    if (isDigit(b[i])) return -1;
  } else if (isDigit(b[i])) {
    while (isDigit(b[i])) {
      i++;
      digits++;
    }
  } else {
    return -1;
  }
  if (b[i] === DOT) {
    const fraction = ++i;
    while (isDigit(b[i])) i++;
    if (i === fraction || b[i - 1] === ZERO) return -1;
    if (digits === 0) {
      let z = fraction;
      while (b[z] === ZERO) z++;
      if (z - fraction > 5) return -1;
    }
    digits += i - fraction;
  } else if (digits === 0 && negative) {
    return -1;
  }
  // An exponent after these digits is not a ',' or '}', which the caller requires next.
  return digits > 15 ? -1 : i;
}

/**
 * The record with its ticker set to `AMZN` and whitespace between tokens dropped, byte for byte what
 * the full transform writes; undefined when the record is not of the shape described in the header.
 */
export function rewriteStock(b: Uint8Array): Uint8Array | undefined {
  const n = b.length;
  let i = 0;
  while (i < n && isWhitespace(b[i])) i++;
  if (b[i] !== OPEN) return undefined;
  // At most the input plus the longest growth: an empty ticker ("") becoming "AMZN".
  const out = Buffer.allocUnsafe(n + 4);
  let o = 0;
  out[o++] = OPEN;
  i++;
  let keys = 0;
  let fields = 0;
  for (;;) {
    while (i < n && isWhitespace(b[i])) i++;
    if (b[i] !== QUOTE) return undefined;
    const keyEnd = plainStringEnd(b, i);
    if (keyEnd < 0 || isDigit(b[i + 1]) || keys === MAX_KEYS) return undefined;
    const keyStart = i + 1;
    const keyStop = keyEnd - 1;
    for (let k = 0; k < keys; k++) if (sameBytes(b, keyBounds[2 * k], keyBounds[2 * k + 1], b, keyStart, keyStop)) return undefined;
    keyBounds[2 * keys] = keyStart;
    keyBounds[2 * keys + 1] = keyStop;
    keys++;
    const field = sameBytes(b, keyStart, keyStop, EVENT_TIME, 0, EVENT_TIME.length)
      ? FIELD_EVENT_TIME
      : sameBytes(b, keyStart, keyStop, TICKER, 0, TICKER.length)
        ? FIELD_TICKER
        : sameBytes(b, keyStart, keyStop, PRICE, 0, PRICE.length)
          ? FIELD_PRICE
          : 0;
    // Byte loops rather than `set(subarray(...))`: the pieces are a few bytes, and a view per piece
    // made the whole rewrite twice as slow.
    for (; i < keyEnd; i++) out[o++] = b[i];
    while (i < n && isWhitespace(b[i])) i++;
    if (b[i] !== COLON) return undefined;
    out[o++] = COLON;
    i++;
    while (i < n && isWhitespace(b[i])) i++;
    const valueEnd = b[i] === QUOTE ? (field === FIELD_PRICE ? -1 : plainStringEnd(b, i)) : field === FIELD_PRICE || field === 0 ? canonicalNumberEnd(b, i) : -1;
    if (valueEnd < 0) return undefined;
    if (field === FIELD_TICKER) {
      for (let j = 0; j < AMZN.length; j++) out[o++] = AMZN[j];
      i = valueEnd;
    } else {
      for (; i < valueEnd; i++) out[o++] = b[i];
    }
    fields |= field;
    while (i < n && isWhitespace(b[i])) i++;
    if (b[i] === COMMA) {
      out[o++] = COMMA;
      i++;
      continue;
    }
    if (b[i] !== CLOSE) return undefined;
    out[o++] = CLOSE;
    i++;
    break;
  }
  while (i < n && isWhitespace(b[i])) i++;
  return i === n && fields === ALL_FIELDS ? out.subarray(0, o) : undefined;
}
