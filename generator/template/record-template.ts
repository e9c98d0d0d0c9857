/**
 * A Kinesis Data Generator template made ready to render: each call bound to its helper (KDG's name, a
 * name KDG would read the same way, or one of faker 10's own functions) with its arguments checked, and
 * each call run once, so an unknown helper, a bad argument or a helper that throws stops the generator
 * at start with the call's line, not at every record. Pure: faker is handed in.
 */
import type { Faker } from '@faker-js/faker';
import { FAKER_HELPERS } from './kdg-faker-helpers';
import { PLAIN_HELPERS } from './kdg-plain-helpers';
import { fakerHelper, HelperArgumentError, type Helper, type HelperContext, type ValueFunction } from './helper-spec';
import { TemplateError, type TemplateCall, type TemplatePart } from './kdg-template';

/** Every KDG helper name shardflow supports. */
export const KDG_HELPERS: Record<string, Helper> = { ...PLAIN_HELPERS, ...FAKER_HELPERS };
export const KDG_HELPER_NAMES = Object.keys(KDG_HELPERS).sort();

const FAKER_10_EXAMPLES = 'person.middleName, location.city, string.uuid, number.int';

/**
 * The KDG helper a call names. KDG reads only the first two parts of a name (`random.number.float` is
 * `random.number`), so templates that rely on that work here too.
 */
export function kdgHelperName(helper: string): string | undefined {
  if (KDG_HELPERS[helper]) return helper;
  const firstTwo = helper.split('.').slice(0, 2).join('.');
  return KDG_HELPERS[firstTwo] ? firstTwo : undefined;
}

/** Whether the template needs faker: a KDG helper backed by it, or a name that can only be a faker 10 function. */
export function templateUsesFaker(parts: readonly TemplatePart[]): boolean {
  return parts.some((p) => {
    if (p.kind !== 'call') return false;
    const name = kdgHelperName(p.helper);
    return name === undefined || KDG_HELPERS[name].usesFaker;
  });
}

/** faker 10's own `module.function`, when the name is one: called with the template's JSON arguments as given. */
function fakerFunction(faker: Faker | undefined, helper: string): Helper | undefined {
  const [module, fn, ...rest] = helper.split('.');
  if (faker === undefined || rest.length > 0 || fn === undefined || fn === 'constructor' || module.startsWith('_')) return undefined;
  const target = (faker as unknown as Record<string, unknown>)[module];
  if (typeof target !== 'object' || target === null || typeof (target as Record<string, unknown>)[fn] !== 'function') return undefined;
  const params = Array.from({ length: 8 }, (_, i) => ({ name: `arg${i + 1}`, allowed: 'any JSON value', fits: () => true }));
  return fakerHelper(params, (f, ...args: unknown[]) => ((f as unknown as Record<string, Record<string, (...a: unknown[]) => unknown>>)[module][fn])(...args));
}

function unknownHelper(call: TemplateCall): TemplateError {
  const namespace = call.helper.split('.')[0];
  const inNamespace = KDG_HELPER_NAMES.filter((n) => n.startsWith(`${namespace}.`));
  const listed = inNamespace.length > 0 ? inNamespace : KDG_HELPER_NAMES;
  return new TemplateError(
    `line ${call.line}: ${call.source}: unknown helper "${call.helper}"; allowed: ${inNamespace.length > 0 ? `in ${namespace}.*, ` : ''}one of ${listed.join(', ')}` +
      ` (KDG's names), or a function of faker 10 as module.function, such as ${FAKER_10_EXAMPLES}`,
  );
}

/** How a helper's value goes into the record: text as is, objects as JSON, the rest as KDG prints them (String()). */
export function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date)) return JSON.stringify(value);
  return String(value);
}

export interface RecordTemplate {
  /** One record's text. */
  render(ctx: HelperContext): string;
}

/**
 * Binds every call to its helper and runs each once with `ctx` (whose faker must be loaded when
 * templateUsesFaker says so). Throws TemplateError naming the call.
 */
export function compileTemplate(parts: readonly TemplatePart[], ctx: HelperContext | Omit<HelperContext, 'faker'>): RecordTemplate {
  const faker = 'faker' in ctx ? ctx.faker : undefined;
  const pieces: Array<string | ValueFunction> = parts.map((part) => {
    if (part.kind === 'text') return part.text;
    const name = kdgHelperName(part.helper);
    const helper = name !== undefined ? KDG_HELPERS[name] : fakerFunction(faker, part.helper);
    if (helper === undefined) throw unknownHelper(part);
    let value: ValueFunction;
    try {
      value = helper.compile(part.args);
    } catch (err) {
      if (err instanceof HelperArgumentError) throw new TemplateError(`line ${part.line}: ${part.source}: ${name ?? part.helper} ${err.message}`);
      throw err;
    }
    try {
      value(ctx as HelperContext);
    } catch (err) {
      throw new TemplateError(`line ${part.line}: ${part.source} fails: ${(err as Error).message}`);
    }
    return value;
  });
  return {
    render(c) {
      let out = '';
      for (const piece of pieces) out += typeof piece === 'string' ? piece : textOf(piece(c));
      return out;
    },
  };
}
