/**
 * Reads a Kinesis Data Generator record template into literal text and helper calls, the way KDG reads
 * one: the template is trimmed and its line breaks removed (a multi-line JSON template makes one-line
 * records), `{{current.timestamp}}` is KDG's old spelling of `{{date.now}}`, and a call is
 * `{{namespace.helper}}` or `{{namespace.helper(arguments)}}` whose arguments are JSON, or else one
 * plain string (`{{date.now(YYYY-MM-DD)}}` works in KDG, so it works here). A `{{` with no `}}` after it
 * is text, as in KDG. Beyond KDG: spaces inside the braces, an optional `faker.` prefix, several
 * comma-separated JSON arguments, and arguments holding `)` inside a JSON string. Pure, no I/O.
 */

export interface TemplateText {
  kind: 'text';
  text: string;
}

export interface TemplateCall {
  kind: 'call';
  /** The helper as written, without a `faker.` prefix: `random.number`, `name.firstName`. */
  helper: string;
  args: unknown[];
  /** The call as written (`{{random.number(70)}}`), for messages. */
  source: string;
  /** 1-based line of the template file where the call starts, for messages. */
  line: number;
}

export type TemplatePart = TemplateText | TemplateCall;

/** A template that cannot be read; the message says where and why. */
export class TemplateError extends Error {}

const NAME = /^\s*([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)\s*/;
const LINE_BREAKS = /\r\n|\r|\n/g;

function lineAt(text: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i++) if (text[i] === '\n') line++;
  return line;
}

/**
 * The index just past the `)` that closes the `(` at `open`, skipping JSON strings and nested brackets;
 * -1 when it does not close.
 */
function closingParen(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      continue;
    }
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') {
      depth--;
      if (depth === 0) return c === ')' ? i + 1 : -1;
    }
  }
  return -1;
}

/** A call's arguments: JSON values separated by commas, or else the whole text as one string (KDG's fallback). */
export function parseArguments(inner: string): unknown[] {
  const text = inner.replace(LINE_BREAKS, '').trim();
  if (text === '') return [];
  try {
    return JSON.parse(`[${text}]`) as unknown[];
  } catch {
    return [text];
  }
}

function call(template: string, start: number): { part: TemplateCall; end: number } {
  const line = lineAt(template, start);
  const rest = template.slice(start + 2);
  const name = NAME.exec(rest);
  const shown = (end: number) => template.slice(start, end).replace(LINE_BREAKS, '');
  if (!name) {
    const end = template.indexOf('}}', start);
    throw new TemplateError(`line ${line}: ${shown(end + 2)} is not a helper call; allowed: {{namespace.helper}} or {{namespace.helper(arguments)}}, such as {{name.firstName}} or {{random.number(100)}}`);
  }
  let at = start + 2 + name[0].length;
  let args: unknown[] = [];
  if (template[at] === '(') {
    const close = closingParen(template, at);
    if (close === -1) throw new TemplateError(`line ${line}: ${shown(template.indexOf('}}', start) + 2)}: the "(" after ${name[1]} is never closed`);
    args = parseArguments(template.slice(at + 1, close - 1));
    at = close;
  }
  while (at < template.length && /\s/.test(template[at])) at++;
  if (!template.startsWith('}}', at)) {
    throw new TemplateError(`line ${line}: ${shown(Math.min(template.length, at + 1))}: expected "}}" after ${name[1]}${args.length > 0 ? '(…)' : ''}`);
  }
  const helper = name[1].startsWith('faker.') ? name[1].slice('faker.'.length) : name[1];
  return { part: { kind: 'call', helper: helper === 'current.timestamp' ? 'date.now' : helper, args, source: shown(at + 2), line }, end: at + 2 };
}

/** The parts of a template file's text, in order. */
export function parseKdgTemplate(template: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  const text = (t: string) => {
    const clean = t.replace(LINE_BREAKS, '');
    if (clean !== '') parts.push({ kind: 'text', text: clean });
  };
  let at = 0;
  for (;;) {
    const open = template.indexOf('{{', at);
    if (open === -1 || template.indexOf('}}', open + 2) === -1) {
      text(template.slice(at));
      break;
    }
    text(template.slice(at, open));
    const { part, end } = call(template, open);
    parts.push(part);
    at = end;
  }
  // KDG trims the whole template: leading and trailing white space is not part of any record.
  const first = parts[0];
  if (first?.kind === 'text') first.text = first.text.trimStart();
  const last = parts[parts.length - 1];
  if (last?.kind === 'text') last.text = last.text.trimEnd();
  return parts.filter((p) => p.kind === 'call' || p.text !== '');
}
