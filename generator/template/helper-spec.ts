/**
 * What a template helper is: the arguments it takes (checked once, when the template is read, so a bad
 * one stops the generator at start instead of failing every record) and the function that makes each
 * record's value. Pure, no I/O.
 */
import type { Faker } from '@faker-js/faker';

/** What a helper's value function may use. faker is present whenever the template uses a helper that needs it. */
export interface HelperContext {
  faker: Faker;
  now(): Date;
  random(): number;
}

export type ValueFunction = (ctx: HelperContext) => unknown;

/** An argument the helper does not take; the message says what it takes. */
export class HelperArgumentError extends Error {}

/** A positional parameter: its name (for messages) and what it allows (undefined when the value fits). */
export interface Param {
  name: string;
  /** What the parameter allows, as the messages say it. */
  allowed: string;
  fits(value: unknown): boolean;
}

export interface Helper {
  params: readonly Param[];
  /** Needs faker loaded (the KDG helpers that are plain arithmetic do not). */
  usesFaker: boolean;
  /** Checks the arguments and returns the value function; throws HelperArgumentError. */
  compile(args: readonly unknown[]): ValueFunction;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export const num = (name: string): Param => ({ name, allowed: 'a number', fits: (v) => typeof v === 'number' && Number.isFinite(v) });
export const int = (name: string, min = 0): Param => ({ name, allowed: `an integer from ${min}`, fits: (v) => Number.isInteger(v) && (v as number) >= min });
export const str = (name: string): Param => ({ name, allowed: 'a string', fits: (v) => typeof v === 'string' });
export const bool = (name: string): Param => ({ name, allowed: 'true or false', fits: (v) => typeof v === 'boolean' });
export const arr = (name: string): Param => ({ name, allowed: 'a non-empty JSON array', fits: (v) => Array.isArray(v) && v.length > 0 });
export const obj = (name: string, allowed = 'a JSON object'): Param => ({ name, allowed, fits: isObject });
/** A date as JSON can give one: an ISO 8601 text or milliseconds since 1970. */
export const date = (name: string): Param => ({
  name,
  allowed: 'a date (ISO 8601 text or milliseconds since 1970)',
  fits: (v) => (typeof v === 'string' || typeof v === 'number') && !Number.isNaN(new Date(v).getTime()),
});
export const custom = (name: string, allowed: string, fits: (v: unknown) => boolean): Param => ({ name, allowed, fits });

/** How the helper is written with its parameters, for messages: `commerce.price(min, max, dec, symbol)`. */
export function usage(helper: string, params: readonly Param[]): string {
  return params.length === 0 ? helper : `${helper}(${params.map((p) => p.name).join(', ')})`;
}

function checkArgs(params: readonly Param[], args: readonly unknown[]): unknown[] {
  if (args.length > params.length) {
    if (params.length === 0) throw new HelperArgumentError('takes no arguments');
    const each = params.map((p) => `${p.name}: ${p.allowed}`).join('; ');
    throw new HelperArgumentError(`takes at most ${params.length} argument${params.length === 1 ? '' : 's'} (${each}), not ${args.length}`);
  }
  return args.map((value, i) => {
    // null stands for "not given", so a later argument can be given alone: (null, 10).
    if (value === null) return undefined;
    if (!params[i].fits(value)) throw new HelperArgumentError(`argument ${params[i].name} ${JSON.stringify(value)} is not allowed; allowed: ${params[i].allowed}`);
    return value;
  });
}

/** A helper backed by faker 10: `run` gets faker and the checked arguments (undefined when not given). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each helper's run names its own argument types
export function fakerHelper(params: readonly Param[], run: (faker: Faker, ...args: any[]) => unknown): Helper {
  return {
    params,
    usesFaker: true,
    compile: (args) => {
      const checked = checkArgs(params, args);
      return (ctx) => run(ctx.faker, ...checked);
    },
  };
}

/**
 * A helper that needs no faker: plain arithmetic on `ctx.random` and `ctx.now`. `make` gets the checked
 * arguments once (it may check more, throwing HelperArgumentError, and precompute) and returns the value function.
 */
export function plainHelper<T extends unknown[]>(params: readonly Param[], make: (...args: T) => ValueFunction): Helper {
  return { params, usesFaker: false, compile: (args) => make(...(checkArgs(params, args) as T)) };
}
