/**
 * moment.js's `format()` for the English locale, as the Kinesis Data Generator's `{{date.now(format)}}`
 * and `{{date.utc(format)}}` use it (KDG loads moment 2.17): the same tokens, `[escaped text]`, the
 * localized `L…` formats and the default format when none is given. Our own, because moment is in
 * maintenance and would be a dependency for one function. Pure, no I/O.
 */

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const DAY_MS = 86_400_000;

/** The localized formats of moment's `en` locale. */
const LOCALIZED: Record<string, string> = {
  LTS: 'h:mm:ss A',
  LT: 'h:mm A',
  L: 'MM/DD/YYYY',
  LL: 'MMMM D, YYYY',
  LLL: 'MMMM D, YYYY h:mm A',
  LLLL: 'dddd, MMMM D, YYYY h:mm A',
  l: 'M/D/YYYY',
  ll: 'MMM D, YYYY',
  lll: 'MMM D, YYYY h:mm A',
  llll: 'ddd, MMM D, YYYY h:mm A',
};

// moment's own token grammar: the longest token first, `[...]` literal, `\x` an escaped character.
const LOCALIZED_TOKENS = /(\[[^[]*\])|(\\)?(LTS|LT|LL?L?L?|l{1,4})/g;
const TOKENS = /(\[[^[]*\])|(\\)?([Hh]mm(ss)?|Mo|MM?M?M?|Do|DDDo|DD?D?D?|ddd?d?|do?|w[o|w]?|W[o|W]?|Qo?|YYYYYY|YYYYY|YYYY|YY|gg(ggg?)?|GG(GGG?)?|e|E|a|A|hh?|HH?|kk?|mm?|ss?|S{1,9}|x|X|zz?|ZZ?|.)/g;

/** The fields of a moment in one UTC offset. */
interface Fields {
  instant: number;
  utc: boolean;
  offsetMinutes: number;
  year: number;
  month: number;
  day: number;
  weekday: number;
  hour: number;
  minute: number;
  second: number;
  ms: number;
  dayOfYear: number;
}

function fieldsOf(instant: Date, offsetMinutes: number, utc: boolean): Fields {
  // The wall clock at that offset, read with the UTC getters.
  const wall = new Date(instant.getTime() + offsetMinutes * 60_000);
  const year = wall.getUTCFullYear();
  const dayOfYear = Math.floor((Date.UTC(year, wall.getUTCMonth(), wall.getUTCDate()) - Date.UTC(year, 0, 1)) / DAY_MS) + 1;
  return {
    instant: instant.getTime(),
    utc,
    offsetMinutes,
    year,
    month: wall.getUTCMonth(),
    day: wall.getUTCDate(),
    weekday: wall.getUTCDay(),
    hour: wall.getUTCHours(),
    minute: wall.getUTCMinutes(),
    second: wall.getUTCSeconds(),
    ms: wall.getUTCMilliseconds(),
    dayOfYear,
  };
}

const pad = (n: number, width: number): string => (n < 0 ? '-' : '') + String(Math.abs(n)).padStart(width, '0');

/** 1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, … */
export function ordinal(n: number): string {
  const tens = Math.floor((n % 100) / 10);
  const suffix = tens === 1 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}

/**
 * Week of year and its week-year, by moment's rule: weeks start on `dow` (0 Sunday), and week 1 is
 * the one holding January `7 + dow - doy`. ISO: dow 1, doy 4; the `en` locale: dow 0, doy 6.
 */
function weekOf(f: Fields, dow: number, doy: number): { week: number; year: number } {
  const firstWeekOffset = (year: number) => {
    const fwd = 7 + dow - doy;
    const fwdlw = (7 + new Date(Date.UTC(year, 0, fwd)).getUTCDay() - dow) % 7;
    return -fwdlw + fwd - 1;
  };
  const daysInYear = (year: number) => (Date.UTC(year + 1, 0, 1) - Date.UTC(year, 0, 1)) / DAY_MS;
  const weekOffset = firstWeekOffset(f.year);
  const week = Math.floor((f.dayOfYear - weekOffset - 1) / 7) + 1;
  if (week < 1) {
    const previous = f.year - 1;
    return { week: week + Math.floor((daysInYear(previous) - firstWeekOffset(previous) + firstWeekOffset(f.year)) / 7), year: previous };
  }
  const weeksInYear = (daysInYear(f.year) - weekOffset + firstWeekOffset(f.year + 1)) / 7;
  return week > weeksInYear ? { week: week - weeksInYear, year: f.year + 1 } : { week, year: f.year };
}

function offset(minutes: number, separator: string): string {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${pad(Math.floor(abs / 60), 2)}${separator}${pad(abs % 60, 2)}`;
}

function token(t: string, f: Fields): string {
  const h12 = f.hour % 12 === 0 ? 12 : f.hour % 12;
  const iso = () => weekOf(f, 1, 4);
  const local = () => weekOf(f, 0, 6);
  switch (t) {
    case 'M': return String(f.month + 1);
    case 'Mo': return ordinal(f.month + 1);
    case 'MM': return pad(f.month + 1, 2);
    case 'MMM': return MONTHS[f.month].slice(0, 3);
    case 'MMMM': return MONTHS[f.month];
    case 'Q': return String(Math.floor(f.month / 3) + 1);
    case 'Qo': return ordinal(Math.floor(f.month / 3) + 1);
    case 'D': return String(f.day);
    case 'Do': return ordinal(f.day);
    case 'DD': return pad(f.day, 2);
    case 'DDD': return String(f.dayOfYear);
    case 'DDDo': return ordinal(f.dayOfYear);
    case 'DDDD': return pad(f.dayOfYear, 3);
    case 'd': case 'e': return String(f.weekday);
    case 'do': return ordinal(f.weekday);
    case 'dd': return WEEKDAYS[f.weekday].slice(0, 2);
    case 'ddd': return WEEKDAYS[f.weekday].slice(0, 3);
    case 'dddd': return WEEKDAYS[f.weekday];
    case 'E': return String(f.weekday === 0 ? 7 : f.weekday);
    case 'w': return String(local().week);
    case 'wo': return ordinal(local().week);
    case 'ww': return pad(local().week, 2);
    case 'W': return String(iso().week);
    case 'Wo': return ordinal(iso().week);
    case 'WW': return pad(iso().week, 2);
    case 'YY': return pad(f.year % 100, 2);
    case 'YYYY': return f.year <= 9999 ? pad(f.year, 4) : `+${f.year}`;
    case 'YYYYY': return pad(f.year, 5);
    case 'YYYYYY': return (f.year < 0 ? '-' : '+') + pad(Math.abs(f.year), 6);
    case 'gg': return pad(local().year % 100, 2);
    case 'gggg': return pad(local().year, 4);
    case 'ggggg': return pad(local().year, 5);
    case 'GG': return pad(iso().year % 100, 2);
    case 'GGGG': return pad(iso().year, 4);
    case 'GGGGG': return pad(iso().year, 5);
    case 'a': return f.hour < 12 ? 'am' : 'pm';
    case 'A': return f.hour < 12 ? 'AM' : 'PM';
    case 'H': return String(f.hour);
    case 'HH': return pad(f.hour, 2);
    case 'h': return String(h12);
    case 'hh': return pad(h12, 2);
    case 'k': return String(f.hour === 0 ? 24 : f.hour);
    case 'kk': return pad(f.hour === 0 ? 24 : f.hour, 2);
    case 'hmm': return `${h12}${pad(f.minute, 2)}`;
    case 'hmmss': return `${h12}${pad(f.minute, 2)}${pad(f.second, 2)}`;
    case 'Hmm': return `${f.hour}${pad(f.minute, 2)}`;
    case 'Hmmss': return `${f.hour}${pad(f.minute, 2)}${pad(f.second, 2)}`;
    case 'm': return String(f.minute);
    case 'mm': return pad(f.minute, 2);
    case 's': return String(f.second);
    case 'ss': return pad(f.second, 2);
    case 'X': return String(Math.floor(f.instant / 1000));
    case 'x': return String(f.instant);
    case 'Z': return offset(f.offsetMinutes, ':');
    case 'ZZ': return offset(f.offsetMinutes, '');
    // moment names only UTC's zone without moment-timezone, which KDG does not load.
    case 'z': return f.utc ? 'UTC' : '';
    case 'zz': return f.utc ? 'Coordinated Universal Time' : '';
  }
  // S…S: fractions of a second, as many digits as letters (milliseconds, then zeros).
  if (/^S{1,9}$/.test(t)) return pad(f.ms, 3).padEnd(t.length, '0').slice(0, t.length);
  return t;
}

export type MomentZone = 'local' | 'utc';

/**
 * `instant` formatted as moment(instant).format(format) (zone `local`) or moment(instant).utc().format(format)
 * (zone `utc`). Without a format, moment's default: `YYYY-MM-DDTHH:mm:ssZ`, with a literal `Z` in UTC.
 * `localOffsetMinutes` (east of UTC) is this machine's offset at that instant unless given.
 */
export function formatMoment(instant: Date, format: string | undefined, zone: MomentZone = 'local', localOffsetMinutes = -instant.getTimezoneOffset()): string {
  const utc = zone === 'utc';
  const pattern = format === undefined || format === '' ? (utc ? 'YYYY-MM-DDTHH:mm:ss[Z]' : 'YYYY-MM-DDTHH:mm:ssZ') : format;
  // moment expands the localized formats a few times over, as they may contain others.
  let expanded = pattern;
  for (let i = 0; i < 5; i++) {
    const next = expanded.replace(LOCALIZED_TOKENS, (whole, literal: string | undefined, escaped: string | undefined, name: string) => (literal !== undefined || escaped ? whole : LOCALIZED[name]));
    if (next === expanded) break;
    expanded = next;
  }
  const fields = fieldsOf(instant, utc ? 0 : localOffsetMinutes, utc);
  return expanded.replace(TOKENS, (whole, literal: string | undefined, escaped: string | undefined, name: string) => {
    if (literal !== undefined) return literal.slice(1, -1);
    if (escaped) return name;
    return token(name, fields);
  });
}
