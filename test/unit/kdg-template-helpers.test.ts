/**
 * The Kinesis Data Generator helpers (generator/template/kdg-plain-helpers.ts, kdg-faker-helpers.ts)
 * and binding a template to them (record-template.ts): KDG's arguments and defaults, checks at start,
 * the messages, and every faker helper against the real faker 10.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HelperContext } from '../../generator/template/helper-spec';
import { parseKdgTemplate, TemplateError } from '../../generator/template/kdg-template';
import { decimalsOf, numberRange, weightedPick } from '../../generator/template/kdg-plain-helpers';
import { compileTemplate, KDG_HELPER_NAMES, kdgHelperName, templateUsesFaker, textOf } from '../../generator/template/record-template';

/** A seeded generator: the same numbers every run. */
function seeded(seed = 1): () => number {
  let s = seed;
  return () => {
    s = (s * 16807) % 2147483647;
    return (s - 1) / 2147483646;
  };
}

const NOW = new Date('2026-03-01T09:08:07.654Z');
const plainCtx = (random = seeded()) => ({ now: () => NOW, random });
/** Renders a template without faker `n` times. */
function renders(template: string, n = 1, ctx: Omit<HelperContext, 'faker'> | HelperContext = plainCtx()): string[] {
  const compiled = compileTemplate(parseKdgTemplate(template), ctx);
  return Array.from({ length: n }, () => compiled.render(ctx as HelperContext));
}

function compileError(template: string, ctx: Omit<HelperContext, 'faker'> | HelperContext = plainCtx()): string {
  try {
    compileTemplate(parseKdgTemplate(template), ctx);
  } catch (err) {
    expect(err).toBeInstanceOf(TemplateError);
    return (err as Error).message;
  }
  throw new Error(`no TemplateError for ${template}`);
}

describe('random.number, as KDG\'s faker 3 draws it', () => {
  test('an integer from 0 to max, both ends included', () => {
    const values = renders('{{random.number(3)}}', 400).map(Number);
    expect(new Set(values)).toEqual(new Set([0, 1, 2, 3]));
  });

  test('min, max and precision: multiples of the precision, both ends reachable, printed without float noise', () => {
    expect(numberRange({ min: 1, max: 2, precision: 0.1 })(() => 0)).toBe(1);
    expect(numberRange({ min: 1, max: 2, precision: 0.1 })(() => 0.999999)).toBe(2);
    const values = renders('{{random.number({"min":0,"max":100,"precision":0.01})}}', 2000);
    for (const text of values) expect(text).toMatch(/^\d{1,3}(\.\d{1,2})?$/);
    expect(Math.min(...values.map(Number))).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values.map(Number))).toBeLessThanOrEqual(100);
    // 0.1 * 3 is 0.30000000000000004 in floating point; KDG printed that, we print 0.3.
    expect(numberRange({ min: 0, max: 1, precision: 0.1 })(() => 0.3)).toBe(0.3);
  });

  test('defaults: 0 to 99999, whole numbers; a negative range works', () => {
    expect(numberRange(undefined)(() => 0.999999)).toBe(99999);
    expect(numberRange({})(() => 0)).toBe(0);
    expect(renders('{{random.number({"min":-5,"max":-3})}}', 200).map(Number).every((n) => n >= -5 && n <= -3)).toBe(true);
  });

  test('the three-part name KDG users write (random.number.float) is random.number, as KDG reads only two parts', () => {
    expect(kdgHelperName('random.number.float')).toBe('random.number');
    expect(renders('{{random.number.float({"min":1,"max":99,"precision":0.01})}}', 50).every((t) => /^\d{1,2}(\.\d{1,2})?$/.test(t))).toBe(true);
  });

  test.each([
    ['{{random.number("abc")}}', 'line 1: {{random.number("abc")}}: random.number argument options "abc" is not allowed; allowed: a max (a number), or {"min": number, "max": number, "precision": number} (defaults 0, 99999, 1)'],
    ['{{random.number({"mni":1})}}', 'random.number argument options {"mni":1} is not allowed'],
    ['{{random.number({"min":5,"max":1})}}', 'random.number min 5 is greater than max 1'],
    ['{{random.number({"max":1,"precision":0})}}', 'random.number precision 0 is not allowed; allowed: a number above 0'],
    ['{{random.number({"min":0.1,"max":0.2,"precision":1})}}', 'random.number no multiple of precision 1 lies between min 0.1 and max 0.2'],
    // KDG would print NaN for every record.
    ['{{random.number(1,100)}}', 'random.number takes at most 1 argument'],
  ])('%s stops at start', (template, message) => {
    expect(compileError(template)).toContain(message);
  });

  test('decimalsOf counts the digits a precision needs', () => {
    expect([1, 0.5, 0.25, 0.01, 1e-7, 10].map(decimalsOf)).toEqual([0, 1, 2, 2, 7, 0]);
  });
});

describe('the other helpers that need no faker', () => {
  test('random.arrayElement: every element, and KDG\'s default ["a","b","c"]', () => {
    expect(new Set(renders('{{random.arrayElement(["OK","FAIL","WARN"])}}', 200))).toEqual(new Set(['OK', 'FAIL', 'WARN']));
    expect(new Set(renders('{{random.arrayElement}}', 200))).toEqual(new Set(['a', 'b', 'c']));
    expect(compileError('{{random.arrayElement([])}}')).toContain('allowed: a non-empty JSON array');
  });

  test('random.weightedArrayElement: each value about as often as its weight says; a weight of 0 never', () => {
    const random = seeded(42);
    const counts = new Map<unknown, number>();
    const options = { weights: [0.3, 0.2, 0.5, 0], data: ['cat', 'fish', 'dog', 'never'] };
    for (let i = 0; i < 100_000; i++) {
      const v = weightedPick(options, random);
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    expect(counts.get('cat')! / 100_000).toBeCloseTo(0.3, 1);
    expect(counts.get('fish')! / 100_000).toBeCloseTo(0.2, 1);
    expect(counts.get('dog')! / 100_000).toBeCloseTo(0.5, 1);
    expect(counts.has('never')).toBe(false);
    expect(weightedPick(options, () => 0.999999999)).toBe('dog');
  });

  test('random.weightedArrayElement checks its object at start', () => {
    expect(renders('{{random.weightedArrayElement({"weights":[1,0],"data":["x","y"]})}}', 20)).toEqual(Array(20).fill('x'));
    for (const bad of ['{"weights":[1],"data":[1,2]}', '{"weights":[-1,2],"data":[1,2]}', '{"weights":[0,0],"data":[1,2]}', '{"data":[1]}', '[1]']) {
      expect(compileError(`{{random.weightedArrayElement(${bad})}}`)).toContain('allowed: {"weights": [numbers, not negative, some above 0], "data": [as many values]}');
    }
  });

  test('random.objectElement: a value, or a key with "key"', () => {
    expect(new Set(renders('{{random.objectElement({"a":1,"b":2})}}', 100))).toEqual(new Set(['1', '2']));
    expect(new Set(renders('{{random.objectElement({"a":1,"b":2}, "key")}}', 100))).toEqual(new Set(['a', 'b']));
    expect(compileError('{{random.objectElement({})}}')).toContain('allowed: a non-empty JSON object');
  });

  test('random.uuid, random.boolean, internet.ip, internet.color, internet.session, helpers.*', () => {
    const [uuid, bool, ip, color, session, digits, slug] = renders(
      '{{random.uuid}}|{{random.boolean}}|{{internet.ip}}|{{internet.color(255, 0, 0)}}|{{internet.session}}|{{helpers.replaceSymbolWithNumber("##-#")}}|{{helpers.slugify("Hello big world!")}}',
    )[0].split('|');
    expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(['true', 'false']).toContain(bool);
    expect(ip).toMatch(/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/);
    expect(ip.split('.').every((n) => Number(n) <= 255)).toBe(true);
    // The red channel is the mean of 255 and a random 0–256: at least 127.
    expect(parseInt(color.slice(1, 3), 16)).toBeGreaterThanOrEqual(127);
    expect(color).toMatch(/^#[0-9a-f]{6}$/);
    expect(Number(session)).toBeGreaterThanOrEqual(1007199254740991);
    expect(digits).toMatch(/^\d\d-\d$/);
    expect(slug).toBe('Hello-big-world');
  });

  test('date.now and date.utc: the moment format of the current time; date.simTime is the current time', () => {
    const [local, utc, utcDefault, sim] = renders('{{date.now("YYYY-MM-DD")}}|{{date.utc("HH:mm:ss.SSS")}}|{{date.utc}}|{{date.simTime("x")}}')[0].split('|');
    expect(local).toBe(NOW.toISOString().slice(0, 10));
    expect(utc).toBe('09:08:07.654');
    expect(utcDefault).toBe('2026-03-01T09:08:07Z');
    expect(sim).toBe(String(NOW.getTime()));
    expect(compileError('{{date.now(5)}}')).toContain('date.now argument format 5 is not allowed; allowed: a string');
  });
});

describe('binding a template to its helpers', () => {
  test('an unknown helper of a known namespace lists that namespace\'s helpers, and says faker 10 names work too', () => {
    const message = compileError('{\n  "n": "{{name.frstName}}"\n}');
    expect(message).toMatch(/^line 2: \{\{name\.frstName\}\}: unknown helper "name\.frstName"; allowed: in name\.\*, one of name\.findName, name\.firstName, /);
    expect(message).toContain('or a function of faker 10 as module.function, such as person.middleName');
    expect(message).not.toContain('random.uuid');
  });

  test('an unknown namespace lists every supported helper', () => {
    const message = compileError('{{foo.bar}}');
    for (const name of KDG_HELPER_NAMES) expect(message).toContain(name);
  });

  test('with faker loaded, faker 10\'s own module.function names work, with the template\'s JSON arguments', () => {
    const faker = { person: { middleName: () => 'Quinn' }, number: { int: (o: { min: number; max: number }) => o.min * 100 + o.max } };
    const ctx = { ...plainCtx(), faker } as unknown as HelperContext;
    expect(renders('{{person.middleName}} {{number.int({"min":1,"max":2})}}', 1, ctx)).toEqual(['Quinn 102']);
    expect(compileError('{{person.constructor}}', ctx)).toContain('unknown helper "person.constructor"');
    expect(compileError('{{person.nothing}}', ctx)).toContain('unknown helper "person.nothing"');
  });

  test('a helper that throws when first run stops the template at start, naming the call', () => {
    const faker = { commerce: { price: () => { throw new Error('Max 1 should be greater than min 10.'); } } };
    const ctx = { ...plainCtx(), faker } as unknown as HelperContext;
    expect(compileError('a\n{{commerce.price(10, 1)}}', ctx)).toBe('line 2: {{commerce.price(10, 1)}} fails: Max 1 should be greater than min 10.');
  });

  test('which templates need faker: none for the plain helpers, any faker helper or faker 10 name does', () => {
    const uses = (t: string) => templateUsesFaker(parseKdgTemplate(t));
    expect(uses('{"t":"{{random.arrayElement(["A"])}}","p":{{random.number(5)}},"at":"{{date.now}}","id":"{{random.uuid}}"}')).toBe(false);
    expect(uses('{{name.firstName}}')).toBe(true);
    expect(uses('{{person.firstName}}')).toBe(true);
  });

  test('values go in as text: objects as JSON, dates and arrays as KDG printed them', () => {
    expect(textOf('x')).toBe('x');
    expect(textOf(12.5)).toBe('12.5');
    expect(textOf({ a: 1 })).toBe('{"a":1}');
    expect(textOf(['-12.1', '40.2'])).toBe('-12.1,40.2');
    expect(textOf(new Date(0))).toBe(String(new Date(0)));
  });
});

test('docs/generator.md lists every supported helper', () => {
  const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'generator.md'), 'utf8');
  const missing = KDG_HELPER_NAMES.filter((name) => !doc.includes(`\`${name}`));
  expect(missing).toEqual([]);
});

describe('every faker helper, with the real faker 10', () => {
  // faker 10 is an ES module, which jest's CommonJS runtime cannot import: a Node process of its own
  // runs the built helpers (npm test builds first).
  const dist = join(__dirname, '..', '..', 'dist', 'generator', 'template');
  const extra = {
    'commerce.price(5, 10, 0, "$")': '{{commerce.price(5, 10, 0, "$")}}',
    'finance.amount(1, 2, 3)': '{{finance.amount(1, 2, 3)}}',
    'name.firstName(1)': '{{name.firstName(1)}}',
    'lorem.words(4)': '{{lorem.words(4)}}',
    'address.nearbyGPSCoordinate([40, -73], 5)': '{{address.nearbyGPSCoordinate([40, -73], 5)}}',
    'phone.phoneNumber("(###) ###")': '{{phone.phoneNumber("(###) ###")}}',
    'date.past(1, "2020-01-01T00:00:00Z")': '{{date.past(1, "2020-01-01T00:00:00Z")}}',
    'person.middleName': '{{person.middleName}}',
    'number.int({"min":7,"max":7})': '{{number.int({"min":7,"max":7})}}',
  };
  const script = `
    const { parseKdgTemplate } = require(process.argv[1] + '/kdg-template.js');
    const { compileTemplate, KDG_HELPER_NAMES } = require(process.argv[1] + '/record-template.js');
    const { loadFaker } = require(process.argv[1] + '/faker-loader.js');
    const extra = JSON.parse(process.argv[2]);
    loadFaker().then((faker) => {
      const ctx = { faker, now: () => new Date(), random: Math.random };
      const sources = { ...Object.fromEntries(KDG_HELPER_NAMES.map((n) => [n, '{{' + n + '}}'])), ...extra };
      const out = {};
      for (const [name, source] of Object.entries(sources)) {
        const t = compileTemplate(parseKdgTemplate(source), ctx);
        out[name] = Array.from({ length: 20 }, () => t.render(ctx));
      }
      process.stdout.write(JSON.stringify(out));
    });`;
  const values: Record<string, string[]> = existsSync(join(dist, 'record-template.js'))
    ? JSON.parse(execFileSync(process.execPath, ['-e', script, dist, JSON.stringify(extra)], { encoding: 'utf8' }))
    : {};

  test('the build is there (npm test builds before it tests)', () => {
    expect(existsSync(join(dist, 'record-template.js'))).toBe(true);
  });

  test('every KDG helper makes text, never undefined, NaN or [object Object]', () => {
    for (const name of KDG_HELPER_NAMES) {
      expect([name, values[name]?.length]).toEqual([name, 20]);
      for (const v of values[name]) expect([name, /undefined|NaN|\[object Object\]/.test(v)]).toEqual([name, false]);
      // Every helper but an empty-string replacement makes something.
      if (!name.startsWith('helpers.')) expect([name, values[name].every((v) => v.length > 0)]).toEqual([name, true]);
    }
  });

  test('values of the shape KDG\'s faker 3 made', () => {
    const all = (name: string, re: RegExp) => expect([name, values[name].filter((v) => !re.test(v))]).toEqual([name, []]);
    all('name.firstName', /^[A-Z][A-Za-z'-]+$/);
    all('name.findName', /^\S.* \S+$/);
    all('internet.email', /^[^@\s]+@[^@\s]+\.[a-z]+$/);
    all('internet.userName', /^\S+$/);
    all('internet.url', /^https?:\/\//);
    all('internet.mac', /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    all('internet.password', /^.{15}$/);
    all('commerce.price', /^\d+\.\d{2}$/);
    all('commerce.price(5, 10, 0, "$")', /^\$([5-9]|10)$/);
    all('finance.amount', /^\d+\.\d{2}$/);
    all('finance.amount(1, 2, 3)', /^[12]\.\d{3}$/);
    all('finance.account', /^\d{8}$/);
    all('finance.mask', /^\(\.\.\.\d{4}\)$/);
    all('address.stateAbbr', /^[A-Z]{2}$/);
    all('address.latitude', /^-?\d{1,2}(\.\d{1,4})?$/);
    all('address.nearbyGPSCoordinate', /^-?\d+(\.\d+)?,-?\d+(\.\d+)?$/);
    all('address.zipCode', /^\d{5}(-\d{4})?$/);
    all('random.alphaNumeric', /^[a-z0-9]$/);
    all('lorem.words', /^\S+ \S+ \S+$/);
    all('lorem.words(4)', /^\S+ \S+ \S+ \S+$/);
    all('phone.phoneNumber("(###) ###")', /^\(\d{3}\) \d{3}$/);
    all('system.semver', /^\d+\.\d+\.\d+$/);
    all('number.int({"min":7,"max":7})', /^7$/);
    all('person.middleName', /^[A-Z]/);
    for (const v of values['date.past(1, "2020-01-01T00:00:00Z")']) {
      const t = Date.parse(v);
      expect(t).toBeGreaterThanOrEqual(Date.parse('2019-01-01T00:00:00Z'));
      expect(t).toBeLessThan(Date.parse('2020-01-01T00:00:00Z'));
    }
    for (const v of values['address.nearbyGPSCoordinate([40, -73], 5)']) {
      const [lat, lon] = v.split(',').map(Number);
      expect(Math.abs(lat - 40)).toBeLessThan(0.1);
      expect(Math.abs(lon + 73)).toBeLessThan(0.1);
    }
    // faker 3's gender 1 was female: faker 10's female first names.
    expect(values['name.firstName(1)'].length).toBe(20);
  });
});
