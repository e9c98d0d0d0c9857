/**
 * Flink-style textual durations and memory sizes ("10 s", "250ms", "5 mb"). A bare number is
 * milliseconds or bytes, as in Flink's Duration and MemorySize parsing.
 */

const DURATION_UNITS: Record<string, number> = {
  ms: 1, milli: 1, millis: 1, millisecond: 1, milliseconds: 1,
  s: 1000, sec: 1000, secs: 1000, second: 1000, seconds: 1000,
  m: 60_000, min: 60_000, mins: 60_000, minute: 60_000, minutes: 60_000,
  h: 3_600_000, hour: 3_600_000, hours: 3_600_000,
  d: 86_400_000, day: 86_400_000, days: 86_400_000,
};

const SIZE_UNITS: Record<string, number> = {
  b: 1, bytes: 1,
  k: 1024, kb: 1024, kib: 1024, kibibytes: 1024,
  m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, mebibytes: 1024 ** 2,
  g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3, gibibytes: 1024 ** 3,
};

function parseWithUnits(text: string, units: Record<string, number>): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!match) return undefined;
  const factor = match[2] === '' ? 1 : units[match[2].toLowerCase()];
  if (factor === undefined) return undefined;
  return Math.round(Number(match[1]) * factor);
}

/** Milliseconds, or undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  return parseWithUnits(text, DURATION_UNITS);
}

/** Bytes, or undefined when the text is not a memory size. */
export function parseMemorySize(text: string): number | undefined {
  return parseWithUnits(text, SIZE_UNITS);
}

/**
 * ISO-8601 or epoch seconds (with an optional fraction), as Flink's `source.init.timestamp`. An ISO
 * date-time without an offset is read as UTC, so the same file means the same instant on every host;
 * impossible dates (30 February) are rejected rather than rolled over.
 */
export function parseTimestamp(text: string): Date | undefined {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return new Date(Math.round(Number(trimmed) * 1000));
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.exec(trimmed);
  if (!match) return undefined;
  const [, y, mo, d, h = '00', mi = '00', sec = '00', frac = '', zone] = match;
  const calendar = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  if (calendar.getUTCFullYear() !== Number(y) || calendar.getUTCMonth() !== Number(mo) - 1 || calendar.getUTCDate() !== Number(d)) return undefined;
  if (Number(h) > 23 || Number(mi) > 59 || Number(sec) > 59) return undefined;
  const offset = !zone || zone === 'Z' ? 'Z' : zone.includes(':') ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const date = new Date(`${y}-${mo}-${d}T${h}:${mi}:${sec}${frac}${offset}`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
