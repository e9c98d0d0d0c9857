import { mapStock, stockSchemaProblem, stockTransform, type Stock } from '../../worker/transform/stock-transform';
import * as stockRewrite from '../../worker/transform/stock-rewrite';
import { rewriteStock } from '../../worker/transform/stock-rewrite';

/** The full transform, written out: decode, parse, check, map, stringify. The oracle for the rewrite. */
function fullTransform(bytes: Uint8Array): Buffer | undefined {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
  if (stockSchemaProblem(value)) return undefined;
  return Buffer.from(JSON.stringify(mapStock(value as Stock)), 'utf8');
}

function rewritten(text: string): string | undefined {
  const out = rewriteStock(Buffer.from(text, 'utf8'));
  return out === undefined ? undefined : Buffer.from(out).toString('utf8');
}

/** A small seeded generator (mulberry32), so a failure names a case that can be run again. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('rewriteStock (the JSON transform on the bytes)', () => {
  it('takes the records producers write, compact (JSON.stringify) and spaced (stock.py json.dumps), and writes what the full transform writes', () => {
    const compact = '{"event_time":"2026-11-28T19:09:17.123Z","ticker":"AAPL","price":84.56}';
    const spaced = '{"event_time": "2026-11-28T19:09:17.123456", "ticker": "INTC", "price": 9.1}';
    expect(rewritten(compact)).toBe('{"event_time":"2026-11-28T19:09:17.123Z","ticker":"AMZN","price":84.56}');
    expect(rewritten(spaced)).toBe('{"event_time":"2026-11-28T19:09:17.123456","ticker":"AMZN","price":9.1}');
    for (const text of [compact, spaced]) expect(rewritten(text)).toBe(fullTransform(Buffer.from(text))!.toString('utf8'));
  });

  it('is what the JSON transform returns for such a record, without the full parse', () => {
    const data = Buffer.from('{"ticker":"","price":0,"event_time":"e","volume":-12.5,"venue":"XNAS"}');
    // Same bytes either way, so what shows the rewrite was used is that JSON.parse was not.
    const parse = jest.spyOn(JSON, 'parse');
    const rewrite = jest.spyOn(stockRewrite, 'rewriteStock');
    try {
      const result = stockTransform.transform({ shardId: 's', sequenceNumber: '1', partitionKey: 'k', data });
      expect(result.ok && Buffer.from(result.data).toString('utf8')).toBe('{"ticker":"AMZN","price":0,"event_time":"e","volume":-12.5,"venue":"XNAS"}');
      expect(rewrite).toHaveBeenCalledTimes(1);
      expect(parse).not.toHaveBeenCalled();
      // A record the rewrite leaves alone takes the full parse.
      stockTransform.transform({ shardId: 's', sequenceNumber: '2', partitionKey: 'k', data: Buffer.from('{"event_time":"e","ticker":"T","price":1e2}') });
      expect(parse).toHaveBeenCalledTimes(1);
    } finally {
      parse.mockRestore();
      rewrite.mockRestore();
    }
  });

  it.each([
    ['an exponent', '{"event_time":"e","ticker":"T","price":1e2}'],
    ['-0', '{"event_time":"e","ticker":"T","price":-0}'],
    ['a trailing zero', '{"event_time":"e","ticker":"T","price":1.50}'],
    ['a leading zero', '{"event_time":"e","ticker":"T","price":01}'],
    ['16 digits', '{"event_time":"e","ticker":"T","price":1234567890.123456}'],
    ['6 zeros after 0.', '{"event_time":"e","ticker":"T","price":0.0000001}'],
    ['an escape', '{"event_time":"e\\u0041","ticker":"T","price":1}'],
    ['non-ASCII text', '{"event_time":"e","ticker":"T","price":1,"name":"é"}'],
    ['a key starting with a digit', '{"event_time":"e","ticker":"T","price":1,"7":1}'],
    ['a duplicate key', '{"event_time":"e","ticker":"T","price":1,"ticker":"U"}'],
    ['a nested value', '{"event_time":"e","ticker":"T","price":1,"tags":["a"]}'],
    ['a literal', '{"event_time":"e","ticker":"T","price":1,"ok":true}'],
    ['a missing field', '{"event_time":"e","ticker":"T"}'],
    ['a ticker that is not a string', '{"event_time":"e","ticker":7,"price":1}'],
    ['a price that is a string', '{"event_time":"e","ticker":"T","price":"1"}'],
    ['text after the object', '{"event_time":"e","ticker":"T","price":1}x'],
    ['a byte order mark', '\ufeff{"event_time":"e","ticker":"T","price":1}'],
    ['a form feed (not JSON whitespace)', '{"event_time":"e",\f"ticker":"T","price":1}'],
    ['more than 16 keys', `{"event_time":"e","ticker":"T","price":1,${Array.from({ length: 14 }, (_, k) => `"k${k}":1`).join(',')}}`],
  ])('leaves a record with %s to the full parse', (_what, text) => {
    expect(rewritten(text)).toBeUndefined();
  });

  it('writes exactly what the full transform writes for every record it takes, over generated records around each edge', () => {
    const random = seeded(13);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
    const digits = (count: number) => Array.from({ length: count }, () => String(Math.floor(random() * 10))).join('');
    const whitespace = () => (random() < 0.01 ? pick(['\f', '\u00a0']) : pick(['', '', '', '', '', '', ' ', '  ', '\n', '\t', '\r\n']));
    const number = (): string => {
      switch (Math.floor(random() * 5)) {
        case 0:
          return String(Math.round(random() * 10_000) / 100);
        case 1:
          return String((random() - 0.5) * 10 ** Math.floor(random() * 30 - 12));
        case 2:
          return (random() * 1000).toFixed(Math.floor(random() * 4));
        case 3:
          return pick(['0', '-0', '-0.0', '0.5', '-0.000001', '0.0000001', '1e2', '1E-2', '100', '1.', '.5', '-', '01', '999999999999999', '9999999999999999', '123456789012345678901', '0.1', '0.10'])!;
        default:
          return `${pick(['', '-'])}${pick(['0', digits(1 + Math.floor(random() * 18))])}${pick(['', `.${digits(1 + Math.floor(random() * 18))}`])}${pick(['', '', '', 'e5', 'e-7'])}`;
      }
    };
    const plain = ['', 'AAPL', 'a b', '/', '~', '2026-11-28T19:09:17.123Z'];
    const odd = ['é', '€', '🚀', 'say "hi"', 'back\\slash', 'tab\there', '\u007f'];
    const string = () => JSON.stringify(pick(random() < 0.9 ? plain : odd)).replace(/^"tab\\there"$/, pick(['"tab\\there"', '"tab\there"']));
    const value = (): string => pick([number, number, string, string, () => pick(['true', 'false', 'null', '[1,2]', '{"a":1}', '[]', '{}'])])();
    const keys = ['event_time', 'ticker', 'price', 'name', 'volume', '0', '7x', '__proto__', 'a b', 'é', 'x\\"y', '', 'Ticker', 'price '];
    let taken = 0;
    let fullOnly = 0;
    for (let n = 0; n < 50_000; n++) {
      const members: Array<[string, string]> = [];
      if (random() < 0.9) members.push(['event_time', random() < 0.95 ? string() : value()], ['ticker', random() < 0.95 ? string() : value()], ['price', random() < 0.9 ? number() : value()]);
      for (let extra = Math.floor(random() * 4); extra > 0; extra--) members.push([pick(keys), value()]);
      for (let k = members.length - 1; k > 0; k--) {
        const j = Math.floor(random() * (k + 1));
        [members[k], members[j]] = [members[j], members[k]];
      }
      let text = `${whitespace()}{${members.map(([key, v]) => `${whitespace()}"${key}"${whitespace()}:${whitespace()}${v}${whitespace()}`).join(',')}}${whitespace()}`;
      const mutation = random();
      if (mutation < 0.03) text = text.slice(0, Math.floor(random() * text.length));
      else if (mutation < 0.06) text = `${text.slice(0, 1)}${text.slice(2)}`;
      else if (mutation < 0.08) text = `\ufeff${text}`;
      const bytes = Buffer.from(text, 'utf8');
      if (mutation > 0.98) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      const fast = rewriteStock(bytes);
      const full = fullTransform(bytes);
      if (fast !== undefined) {
        taken++;
        if (full === undefined || !full.equals(Buffer.from(fast))) throw new Error(`case ${n}: ${JSON.stringify(bytes.toString('latin1'))} rewrote to ${JSON.stringify(Buffer.from(fast).toString('latin1'))}, the full transform gives ${full === undefined ? 'a failure' : JSON.stringify(full.toString('utf8'))}`);
      } else if (full !== undefined) {
        fullOnly++;
      }
    }
    // Neither side may be vacuous: many records taken, and many good ones left to the full parse.
    expect(taken).toBeGreaterThan(3_000);
    expect(fullOnly).toBeGreaterThan(3_000);
  });

  it('reads a view into a larger buffer and never modifies its input', () => {
    const text = '{"event_time":"e","ticker":"T","price":2}';
    const backing = Buffer.from(`{"x${text}}}}`, 'utf8');
    const copy = Buffer.from(backing);
    const view = new Uint8Array(backing.buffer, backing.byteOffset + 3, Buffer.byteLength(text));
    expect(Buffer.from(rewriteStock(view)!).toString('utf8')).toBe('{"event_time":"e","ticker":"AMZN","price":2}');
    expect(backing.equals(copy)).toBe(true);
  });
});
