/**
 * Reads timestamps written to a Java `SimpleDateFormat` pattern, for the legacy FlinkKinesisConsumer's
 * `flink.stream.initpos.timestamp.format`. Only the numeric fields a start timestamp needs are
 * understood; any other pattern letter is reported, so a pattern is never half-honoured.
 */

/** A pattern letter (or run of one) that this reader does not understand. */
export class UnsupportedDatePattern extends Error {
  constructor(readonly field: string) {
    super(`unsupported pattern field "${field}"`);
  }
}

export const SUPPORTED_DATE_PATTERN =
  'a Java SimpleDateFormat pattern made of yyyy, M, MM, MMM, MMMM, d, dd, H, HH, m, mm, s, ss, S (milliseconds), X, XX, XXX or Z and \'quoted\' text, ' +
  'such as the default "yyyy-MM-dd\'T\'HH:mm:ss.SSSXXX" (without a zone field the time is UTC)';

const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];

type Field = 'year' | 'month' | 'day' | 'hour' | 'minute' | 'second' | 'millis' | 'zone';

interface Part {
  regex: string;
  field?: Field;
  /** The field's number from the matched text. */
  read?: (text: string) => number;
}

const number = (text: string) => Number(text);

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Minutes east of UTC from "Z", "+05", "+0530" or "+05:30". */
function zoneMinutes(text: string): number {
  if (text === 'Z') return 0;
  const sign = text.startsWith('-') ? -1 : 1;
  const digits = text.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0'));
}

function fieldPart(letter: string, count: number): Part {
  const run = letter.repeat(count);
  const width = (n: number) => (count === 1 ? `\\d{1,${n}}` : `\\d{${count}}`);
  switch (letter) {
    case 'y':
      if (count === 2) throw new UnsupportedDatePattern(run); // a two-digit year needs a century guess
      return { regex: count === 1 ? '\\d{1,4}' : `\\d{${Math.max(count, 4)}}`, field: 'year', read: number };
    case 'M':
      if (count >= 3) {
        const names = MONTHS.map((m) => (count === 3 ? m.slice(0, 3) : m));
        return { regex: `(?:${names.join('|')})`, field: 'month', read: (t) => names.indexOf(t.toLowerCase()) + 1 };
      }
      return { regex: width(2), field: 'month', read: number };
    case 'd':
      return { regex: width(2), field: 'day', read: number };
    case 'H':
      return { regex: width(2), field: 'hour', read: number };
    case 'm':
      return { regex: width(2), field: 'minute', read: number };
    case 's':
      return { regex: width(2), field: 'second', read: number };
    case 'S':
      // SimpleDateFormat's S is a count of milliseconds, not a fraction: "SSS" reads "480" as 480 ms.
      return { regex: count === 1 ? '\\d{1,3}' : `\\d{${count}}`, field: 'millis', read: number };
    case 'X':
      return { regex: 'Z|[+-]\\d{2}(?::?\\d{2})?', field: 'zone', read: zoneMinutes };
    case 'Z':
      return { regex: 'Z|[+-]\\d{2}:?\\d{2}', field: 'zone', read: zoneMinutes };
    default:
      throw new UnsupportedDatePattern(run);
  }
}

function parts(pattern: string): Part[] {
  const result: Part[] = [];
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === "'") {
      // 'text' is literal; '' is a single quote, inside or outside quoted text.
      if (pattern[i + 1] === "'") {
        result.push({ regex: "'" });
        i += 2;
        continue;
      }
      let text = '';
      i++;
      for (;;) {
        if (i >= pattern.length) throw new UnsupportedDatePattern("'" + text); // unterminated quote
        if (pattern[i] === "'" && pattern[i + 1] === "'") {
          text += "'";
          i += 2;
        } else if (pattern[i] === "'") {
          i++;
          break;
        } else {
          text += pattern[i++];
        }
      }
      result.push({ regex: escape(text) });
    } else if (/[A-Za-z]/.test(c)) {
      let count = 1;
      while (pattern[i + count] === c) count++;
      result.push(fieldPart(c, count));
      i += count;
    } else {
      result.push({ regex: escape(c) });
      i++;
    }
  }
  return result;
}

/**
 * A reader of timestamps in the pattern: the instant, or undefined when the text does not match or
 * names an impossible date (30 February). Throws UnsupportedDatePattern for a pattern it cannot honour.
 */
export function javaDateReader(pattern: string): (text: string) => Date | undefined {
  const ps = parts(pattern);
  if (!ps.some((p) => p.field === 'year')) throw new UnsupportedDatePattern(pattern); // a start time needs a year
  const regex = new RegExp(`^${ps.map((p) => (p.field ? `(${p.regex})` : p.regex)).join('')}$`, 'i');
  const fields = ps.filter((p) => p.field);
  return (text) => {
    const match = regex.exec(text.trim());
    if (!match) return undefined;
    const v: Partial<Record<Field, number>> = {};
    fields.forEach((p, n) => (v[p.field!] = p.read!(match[n + 1])));
    const [year, month, day, hour, minute, second, millis] = [v.year!, v.month ?? 1, v.day ?? 1, v.hour ?? 0, v.minute ?? 0, v.second ?? 0, v.millis ?? 0];
    if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59 || millis > 999) return undefined;
    const calendar = new Date(Date.UTC(year, month - 1, day));
    calendar.setUTCFullYear(year); // Date.UTC maps years 0-99 to 1900-1999
    if (calendar.getUTCMonth() !== month - 1 || calendar.getUTCDate() !== day) return undefined;
    return new Date(calendar.getTime() + ((hour * 60 + minute - (v.zone ?? 0)) * 60 + second) * 1000 + millis);
  };
}
