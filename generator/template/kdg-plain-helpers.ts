/**
 * The Kinesis Data Generator helpers that are arithmetic on a random number or the clock, with KDG's
 * arguments and defaults (from the faker 3 that KDG bundles, and KDG's own additions: `date.now`,
 * `date.utc`, `random.weightedArrayElement`). They need no faker, so a template made only of them (the
 * usual stock-ticker template) never loads it. Pure, no I/O.
 */
import { randomUUID } from 'node:crypto';
import { formatMoment } from './moment-format';
import { arr, custom, HelperArgumentError, int, obj, plainHelper, str, type Helper, type HelperContext } from './helper-spec';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export interface NumberRange {
  min?: number;
  max?: number;
  precision?: number;
}

/** Digits after the decimal point of a precision such as 0.01 or 1e-7, so results print without float noise. */
export function decimalsOf(precision: number): number {
  const [mantissa, exponent] = precision.toExponential().split('e');
  const fraction = mantissa.split('.')[1]?.length ?? 0;
  return Math.max(0, fraction - Number(exponent));
}

const RANGE_KEYS = ['min', 'max', 'precision'];
const RANGE_ALLOWED = 'a max (a number), or {"min": number, "max": number, "precision": number} (defaults 0, 99999, 1)';

/**
 * KDG's random.number: an integer from 0 to `max` inclusive, or a multiple of `precision` from `min` to
 * `max` inclusive. Throws when no such number exists; otherwise returns the drawing function.
 */
export function numberRange(arg: number | NumberRange | undefined): (random: () => number) => number {
  const range: NumberRange = typeof arg === 'number' ? { max: arg } : (arg ?? {});
  const { min = 0, max = 99999, precision = 1 } = range;
  if (!(precision > 0)) throw new HelperArgumentError(`precision ${JSON.stringify(precision)} is not allowed; allowed: a number above 0`);
  if (min > max) throw new HelperArgumentError(`min ${min} is greater than max ${max}; allowed: ${RANGE_ALLOWED}`);
  // Steps of `precision`, counted in whole steps so 0.1 + 0.2 noise cannot push a bound out.
  const decimals = decimalsOf(precision);
  const first = Math.ceil(Number((min / precision).toFixed(9)));
  const last = Math.floor(Number((max / precision).toFixed(9)));
  if (first > last) throw new HelperArgumentError(`no multiple of precision ${precision} lies between min ${min} and max ${max}`);
  return (random) => {
    const step = first + Math.floor(random() * (last - first + 1));
    return Number((step * precision).toFixed(decimals));
  };
}

const range = custom('options', RANGE_ALLOWED, (v) => isNumber(v) || (isObject(v) && Object.entries(v).every(([k, x]) => RANGE_KEYS.includes(k) && isNumber(x))));

const pick = <T>(items: readonly T[], random: () => number): T => items[Math.floor(random() * items.length)];

const WEIGHTED_ALLOWED = '{"weights": [numbers, not negative, some above 0], "data": [as many values]}';
const weighted = custom('options', WEIGHTED_ALLOWED, (v) => {
  if (!isObject(v) || !Array.isArray(v.weights) || !Array.isArray(v.data)) return false;
  const weights = v.weights as unknown[];
  return weights.length === v.data.length && weights.length > 0 && weights.every((w) => isNumber(w) && w >= 0) && weights.some((w) => (w as number) > 0);
});

/** Picks `data[i]` with probability weights[i] / sum(weights). */
export function weightedPick(options: { weights: number[]; data: unknown[] }, random: () => number): unknown {
  const total = options.weights.reduce((a, b) => a + b, 0);
  let point = random() * total;
  for (let i = 0; i < options.data.length; i++) {
    point -= options.weights[i];
    if (point < 0) return options.data[i];
  }
  // Only rounding can get here: the last element with a weight.
  for (let i = options.data.length - 1; i >= 0; i--) if (options.weights[i] > 0) return options.data[i];
  return options.data[options.data.length - 1];
}

/** faker 3's internet.color: each channel the mean of a random 0–256 and the given base. */
function color(ctx: HelperContext, bases: readonly (number | undefined)[]): string {
  const channel = (base = 0) => Math.floor((Math.floor(ctx.random() * 257) + base) / 2);
  return `#${bases.map((b) => channel(b).toString(16).padStart(2, '0')).join('')}`;
}

/** faker 3's helpers.replaceSymbolWithNumber: each `symbol` (default `#`) becomes a digit. */
export function replaceSymbolWithNumber(text: string, symbol: string, random: () => number): string {
  let out = '';
  for (const c of text) out += c === symbol ? String(Math.floor(random() * 10)) : c;
  return out;
}

const format = str('format');

export const PLAIN_HELPERS: Record<string, Helper> = {
  'random.number': plainHelper<[(number | NumberRange)?]>([range], (arg) => {
    const draw = numberRange(arg);
    return (ctx) => draw(ctx.random);
  }),
  'random.arrayElement': plainHelper<[unknown[]?]>([arr('array')], (array = ['a', 'b', 'c']) => (ctx) => pick(array, ctx.random)),
  'random.weightedArrayElement': plainHelper<[{ weights: number[]; data: unknown[] }?]>([weighted], (options = { weights: [0.5, 0.5], data: ['dog', 'cat'] }) => (ctx) => weightedPick(options, ctx.random)),
  'random.objectElement': plainHelper<[Record<string, unknown>?, string?]>([obj('object', 'a non-empty JSON object'), str('field')], (object = { foo: 'bar', too: 'car' }, field) => {
    const keys = Object.keys(object);
    if (keys.length === 0) throw new HelperArgumentError('argument object {} is not allowed; allowed: a non-empty JSON object');
    return (ctx) => {
      const key = pick(keys, ctx.random);
      return field === 'key' ? key : object[key];
    };
  }),
  'random.uuid': plainHelper([], () => () => randomUUID()),
  'random.boolean': plainHelper([], () => (ctx) => ctx.random() < 0.5),
  'date.now': plainHelper<[string?]>([format], (f) => (ctx) => formatMoment(ctx.now(), f, 'local')),
  'date.utc': plainHelper<[string?]>([format], (f) => (ctx) => formatMoment(ctx.now(), f, 'utc')),
  // KDG's simulated clock runs only in its "not locked to real time" mode; shardflow writes in real time.
  'date.simTime': plainHelper<[string?]>([format], (f) => (ctx) => formatMoment(ctx.now(), f, 'local')),
  'internet.ip': plainHelper([], () => (ctx) => Array.from({ length: 4 }, () => Math.floor(ctx.random() * 256)).join('.')),
  // KDG's own: a large random number, as a session id.
  'internet.session': plainHelper([], () => (ctx) => ctx.random() * (Number.MAX_SAFE_INTEGER - 1007199254740991) + 1007199254740991),
  'internet.color': plainHelper<[number?, number?, number?]>([int('baseRed255'), int('baseGreen255'), int('baseBlue255')], (r, g, b) => (ctx) => color(ctx, [r, g, b])),
  'helpers.replaceSymbolWithNumber': plainHelper<[string?, string?]>([str('string'), str('symbol')], (text = '', symbol = '#') => (ctx) => replaceSymbolWithNumber(text, symbol, ctx.random)),
  'helpers.randomize': plainHelper<[unknown[]?]>([arr('array')], (array = ['a', 'b', 'c']) => (ctx) => pick(array, ctx.random)),
  'helpers.slugify': plainHelper<[string?]>([str('string')], (text = '') => () => text.replace(/ /g, '-').replace(/[^\w.-]+/g, '')),
};
