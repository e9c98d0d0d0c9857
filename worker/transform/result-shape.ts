/**
 * A transform module's answer, checked and turned into output drafts, or the reason it has the wrong
 * shape (the record is then dead-lettered with it). The shapes (`module-api.ts`): nothing (`null`,
 * `undefined`, `[]`: filtered out); a string or bytes; `{ data, partitionKey?, explicitHashKey?,
 * output? }`; or an array of those. Object keys are checked strictly, so a typo (`partitionkey`,
 * `Data`) is a reason, not a silently different record. Pure, no I/O.
 */
import { errorLine } from './error-line';

/** One output record as the module described it; the key and destination may still be left to the output group. */
export interface OutputDraft {
  data: Uint8Array;
  partitionKey?: string;
  explicitHashKey?: string;
  output?: string;
}

export type ShapedResult = { ok: true; drafts: OutputDraft[] } | { ok: false; reason: string };

const RECORD_KEYS = new Set(['data', 'partitionKey', 'explicitHashKey', 'output']);

const ALLOWED = 'return a string, a Buffer, { data, partitionKey?, explicitHashKey?, output? }, an array of those, or null to filter the record out';

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`;
}

/** A draft, or the reason (without the "wrong result shape" prefix) this one output is not one. */
function draftOf(value: unknown): OutputDraft | string {
  if (typeof value === 'string') return { data: Buffer.from(value, 'utf8') };
  if (value instanceof Uint8Array) return { data: value };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `${kind(value)} is not an output record`;
  const fields = value as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (!RECORD_KEYS.has(key)) return `unknown field ${JSON.stringify(key)} (an output record has data, partitionKey, explicitHashKey and output)`;
  }
  const draft: OutputDraft = { data: undefined as unknown as Uint8Array };
  const data = fields.data;
  if (data === undefined || data === null) return `"data" is ${data === null ? 'null' : 'missing'}`;
  if (typeof data === 'string') draft.data = Buffer.from(data, 'utf8');
  else if (data instanceof Uint8Array) draft.data = data;
  else {
    let json: string | undefined;
    try {
      json = JSON.stringify(data);
    } catch (err) {
      return `"data" cannot be written as JSON: ${errorLine(err)}`;
    }
    if (json === undefined) return `"data" is ${kind(data)}, which JSON cannot hold`;
    draft.data = Buffer.from(json, 'utf8');
  }
  for (const key of ['partitionKey', 'explicitHashKey', 'output'] as const) {
    const v = fields[key];
    if (v === undefined) continue;
    if (typeof v !== 'string') return `"${key}" is ${kind(v)}, not a string`;
    draft[key] = v;
  }
  return draft;
}

export function shapeResult(result: unknown): ShapedResult {
  if (result === null || result === undefined) return { ok: true, drafts: [] };
  if (!Array.isArray(result)) {
    const draft = draftOf(result);
    return typeof draft === 'string' ? { ok: false, reason: `wrong result shape: ${draft}; ${ALLOWED}` } : { ok: true, drafts: [draft] };
  }
  const drafts: OutputDraft[] = [];
  for (let i = 0; i < result.length; i++) {
    const draft = draftOf(result[i]);
    if (typeof draft === 'string') return { ok: false, reason: `wrong result shape: element ${i} of the array: ${draft}; ${ALLOWED}` };
    drafts.push(draft);
  }
  return { ok: true, drafts };
}
