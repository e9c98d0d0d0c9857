/**
 * The fault plan of the in-memory Kinesis, without I/O: rules that make chosen requests fail as real
 * Kinesis fails (an error response, a connection reset, a slow answer), per operation, stream, shard
 * and calling process. The server asks `take` for each request and carries out what it returns.
 *
 * A rule fires on a request when every field it names matches; the first unspent rule that matches, in
 * the order the rules were added, is the one that fires (so one request suffers one effect). `times`
 * spends a rule after that many firings; without it a rule fires until the plan is cleared.
 */
import { KinesisError } from './stream-store';

/** The HTTP status real Kinesis answers an error type with. */
export function statusOf(errorType: string): number {
  if (errorType === 'InternalFailure') return 500;
  if (errorType === 'ServiceUnavailable') return 503;
  return 400;
}

/**
 * What a firing rule does to its request:
 * - `error`: answer with that AWS error type (`__type`) and its HTTP status (see statusOf);
 * - `reset: true`: destroy the connection before the request is carried out (nothing written);
 *   `reset: 'after'`: carry the request out, then destroy the connection instead of answering (a put
 *   landed that its writer never hears of, as a reset on the way back does);
 * - `delayMs`: answer normally after that long.
 */
export type ChaosEffect = { error: string; message?: string } | { reset: true | 'after' } | { delayMs: number };

export interface ChaosRule {
  /** A Kinesis operation name such as "GetRecords", or "*" for every operation. */
  operation: string;
  /** A stream name; without it any stream. */
  stream?: string;
  /** A shard id; only requests that name a shard (GetShardIterator, GetRecords, SubscribeToShard) match a rule with one. */
  shard?: string;
  /** A substring of the request's user agent, to pick one process (AWS_SDK_UA_APP_ID puts `app/<id>` there). */
  userAgent?: string;
  /**
   * A substring of one of the request's records' data (decoded from base64): only PutRecord and
   * PutRecords requests that carry such a record match (a poison record Kinesis refuses the request for).
   */
  dataContains?: string;
  /** Fire this many times, then the rule is spent; without it, until the plan is cleared. */
  times?: number;
  error?: string;
  message?: string;
  reset?: true | 'after';
  delayMs?: number;
}

/** What one request is, as far as the rules can tell. */
export interface ChaosRequest {
  operation: string;
  stream?: string;
  shard?: string;
  userAgent?: string;
  /** The data of the records a put carries (decoded), read only when a rule asks. */
  records?: () => readonly string[];
}

export interface ChaosRuleState {
  rule: ChaosRule;
  /** How often it fired. */
  fired: number;
}

const invalid = (message: string) => new KinesisError('InvalidArgumentException', message);

/** Checks one rule as the route received it; throws InvalidArgumentException naming what is wrong. */
export function parseRule(raw: unknown): ChaosRule {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw invalid('a chaos rule must be an object');
  const r = raw as Record<string, unknown>;
  const known = new Set(['operation', 'stream', 'shard', 'userAgent', 'dataContains', 'times', 'error', 'message', 'reset', 'delayMs']);
  const unknown = Object.keys(r).filter((k) => !known.has(k));
  if (unknown.length > 0) throw invalid(`a chaos rule has unknown fields: ${unknown.join(', ')}`);
  if (typeof r.operation !== 'string' || !/^(\*|[A-Z][A-Za-z]+)$/.test(r.operation)) throw invalid(`a chaos rule's operation must be a Kinesis operation name or "*", not ${JSON.stringify(r.operation)}`);
  for (const key of ['stream', 'shard', 'userAgent', 'dataContains', 'message'] as const) {
    if (r[key] !== undefined && (typeof r[key] !== 'string' || r[key] === '')) throw invalid(`a chaos rule's ${key} must be a non-empty string`);
  }
  if (r.times !== undefined && !(Number.isInteger(r.times) && (r.times as number) >= 1)) throw invalid(`a chaos rule's times must be an integer ≥ 1, not ${JSON.stringify(r.times)}`);
  const effects = (['error', 'reset', 'delayMs'] as const).filter((k) => r[k] !== undefined);
  if (effects.length !== 1) throw invalid(`a chaos rule needs exactly one effect (error, reset or delayMs), not ${effects.length === 0 ? 'none' : effects.join(' and ')}`);
  if (r.error !== undefined && (typeof r.error !== 'string' || !/^[A-Za-z.]+$/.test(r.error))) throw invalid(`a chaos rule's error must be an AWS error type such as "InternalFailure"`);
  if (r.reset !== undefined && r.reset !== true && r.reset !== 'after') throw invalid(`a chaos rule's reset must be true or "after"`);
  if (r.delayMs !== undefined && !(typeof r.delayMs === 'number' && Number.isFinite(r.delayMs) && r.delayMs >= 0 && r.delayMs <= 600_000)) throw invalid('a chaos rule\'s delayMs must be 0 to 600000');
  if (r.message !== undefined && r.error === undefined) throw invalid('a chaos rule\'s message goes with error');
  return r as unknown as ChaosRule;
}

function effectOf(rule: ChaosRule): ChaosEffect {
  if (rule.error !== undefined) return rule.message === undefined ? { error: rule.error } : { error: rule.error, message: rule.message };
  if (rule.reset !== undefined) return { reset: rule.reset };
  return { delayMs: rule.delayMs! };
}

function matches(rule: ChaosRule, request: ChaosRequest): boolean {
  if (rule.operation !== '*' && rule.operation !== request.operation) return false;
  if (rule.stream !== undefined && rule.stream !== request.stream) return false;
  if (rule.shard !== undefined && rule.shard !== request.shard) return false;
  if (rule.userAgent !== undefined && !(request.userAgent ?? '').includes(rule.userAgent)) return false;
  if (rule.dataContains !== undefined && !(request.records?.() ?? []).some((data) => data.includes(rule.dataContains!))) return false;
  return true;
}

export class ChaosPlan {
  private readonly rules: ChaosRuleState[] = [];

  /** Checks every rule first, so a bad list adds none of them. */
  add(rules: unknown): void {
    if (!Array.isArray(rules) || rules.length === 0) throw invalid('rules must be a non-empty array');
    const parsed = rules.map(parseRule);
    this.rules.push(...parsed.map((rule) => ({ rule, fired: 0 })));
  }

  clear(): void {
    this.rules.length = 0;
  }

  /** Every rule added since the last clear, spent ones too, with how often each fired. */
  list(): ChaosRuleState[] {
    return this.rules.map((s) => ({ rule: { ...s.rule }, fired: s.fired }));
  }

  /** The effect `request` suffers, counting the firing; undefined when no unspent rule matches. */
  take(request: ChaosRequest): ChaosEffect | undefined {
    const state = this.rules.find((s) => (s.rule.times === undefined || s.fired < s.rule.times) && matches(s.rule, request));
    if (!state) return undefined;
    state.fired += 1;
    return effectOf(state.rule);
  }
}
