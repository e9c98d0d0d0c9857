import { parseDuration, parseMemorySize, parseTimestamp } from '../../shared/config/units';

describe('parseDuration', () => {
  it.each([
    ['0', 0],
    ['250', 250],
    ['250ms', 250],
    ['250 ms', 250],
    ['1 milli', 1],
    ['3 millis', 3],
    ['1 millisecond', 1],
    ['7 milliseconds', 7],
    ['10 s', 10_000],
    ['10s', 10_000],
    ['2 sec', 2000],
    ['2 secs', 2000],
    ['1 second', 1000],
    ['30 seconds', 30_000],
    ['1 m', 60_000],
    ['2 min', 120_000],
    ['2 mins', 120_000],
    ['1 minute', 60_000],
    ['5 minutes', 300_000],
    ['1 h', 3_600_000],
    ['2 hour', 7_200_000],
    ['3 hours', 10_800_000],
    ['1 d', 86_400_000],
    ['1 day', 86_400_000],
    ['2 days', 172_800_000],
    ['1.5 s', 1500],
    ['0.25 min', 15_000],
    ['1.5 ms', 2], // rounded to whole milliseconds
    ['1.4 ms', 1],
    ['10 S', 10_000], // units are case-insensitive
    ['10 MS', 10],
    ['5 Minutes', 300_000],
    ['  10 s  ', 10_000],
    ['\t42\n', 42],
  ])('parses %j as %d ms', (text, expected) => {
    expect(parseDuration(text)).toBe(expected);
  });

  it.each([
    '',
    '   ',
    's',
    'ten seconds',
    '-1',
    '-1 s',
    '+1 s',
    '1e3',
    '.5 s',
    '1. s',
    '1,5 s',
    '10 x',
    '10 mb', // a size unit is not a duration unit
    '10 w',
    '10 s 5 ms',
    '1 0 s',
    '10 s.',
  ])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('parseMemorySize', () => {
  it.each([
    ['0', 0],
    ['1024', 1024],
    ['1 b', 1],
    ['100 bytes', 100],
    ['1 k', 1024],
    ['1kb', 1024],
    ['512 kb', 512 * 1024],
    ['2 kib', 2048],
    ['1 kibibytes', 1024],
    ['1 m', 1024 ** 2],
    ['5 mb', 5 * 1024 ** 2],
    ['5mb', 5 * 1024 ** 2],
    ['3 mib', 3 * 1024 ** 2],
    ['1 mebibytes', 1024 ** 2],
    ['1 g', 1024 ** 3],
    ['2 gb', 2 * 1024 ** 3],
    ['1 gib', 1024 ** 3],
    ['1 gibibytes', 1024 ** 3],
    ['0.5 kb', 512],
    ['1.5 mb', 1.5 * 1024 ** 2],
    ['0.001 kb', 1], // 1.024 bytes, rounded
    ['5 MB', 5 * 1024 ** 2],
    ['5 Mb', 5 * 1024 ** 2],
    ['  64 KB  ', 64 * 1024],
  ])('parses %j as %d bytes', (text, expected) => {
    expect(parseMemorySize(text)).toBe(expected);
  });

  it.each(['', 'mb', '-1', '-5 mb', '1e6', '.5 mb', '5 tb', '5 ms', '5 s', 'five mb', '5 mb 3 kb', '5,0 mb'])('rejects %j', (text) => {
    expect(parseMemorySize(text)).toBeUndefined();
  });
});

describe('parseTimestamp', () => {
  it('parses epoch seconds', () => {
    expect(parseTimestamp('1714564800')?.toISOString()).toBe('2024-05-01T12:00:00.000Z');
    expect(parseTimestamp('0')?.getTime()).toBe(0);
  });

  it('parses epoch seconds with a fraction, rounded to milliseconds', () => {
    expect(parseTimestamp('1714564800.5')?.getTime()).toBe(1_714_564_800_500);
    expect(parseTimestamp('1714564800.123')?.getTime()).toBe(1_714_564_800_123);
    expect(parseTimestamp('1714564800.0004')?.getTime()).toBe(1_714_564_800_000);
    expect(parseTimestamp('1714564800.0009')?.getTime()).toBe(1_714_564_800_001);
    expect(parseTimestamp('0.0006')?.getTime()).toBe(1);
  });

  it('trims surrounding whitespace', () => {
    expect(parseTimestamp('  1714564800 ')?.getTime()).toBe(1_714_564_800_000);
    expect(parseTimestamp(' 2024-05-01T12:00:00Z\n')?.toISOString()).toBe('2024-05-01T12:00:00.000Z');
  });

  it.each([
    ['2024-05-01T12:00:00Z', '2024-05-01T12:00:00.000Z'],
    ['2024-05-01T12:00:00.123Z', '2024-05-01T12:00:00.123Z'],
    ['2024-05-01T12:00:00+02:00', '2024-05-01T10:00:00.000Z'],
    ['2024-05-01T12:00:00-05:30', '2024-05-01T17:30:00.000Z'],
    ['2024-05-01', '2024-05-01T00:00:00.000Z'], // a date-only ISO form is UTC midnight
  ])('parses the ISO-8601 timestamp %j', (text, iso) => {
    expect(parseTimestamp(text)?.toISOString()).toBe(iso);
  });

  it('returns a Date instance', () => {
    expect(parseTimestamp('2024-05-01T12:00:00Z')).toBeInstanceOf(Date);
    expect(parseTimestamp('1714564800')).toBeInstanceOf(Date);
  });

  it.each([
    '',
    '   ',
    'now',
    'yesterday',
    '-1',
    '1e9',
    '1714564800 s',
    'May 1, 2024', // only ISO-8601 or epoch seconds
    '01/05/2024',
    '2024/05/01',
    '24-05-01',
    '20240-05-01',
    '2024-13-01',
    '2024-05-01T25:00:00Z',
    '2024-05-01garbage',
  ])('rejects %j', (text) => {
    expect(parseTimestamp(text)).toBeUndefined();
  });
});

describe('parseTimestamp: impossible dates and time zones', () => {
  test.each(['2024-02-30', '2023-02-29', '2024-04-31T10:00:00Z', '2024-13-01', '2024-05-01T24:00:00Z'])('%s is rejected, not rolled over', (text) => {
    expect(parseTimestamp(text)).toBeUndefined();
  });

  test('a date-time without an offset is UTC on every host', () => {
    expect(parseTimestamp('2024-05-01T12:00:00')!.toISOString()).toBe('2024-05-01T12:00:00.000Z');
    expect(parseTimestamp('2024-05-01T12:00:00+02:00')!.toISOString()).toBe('2024-05-01T10:00:00.000Z');
    expect(parseTimestamp('2024-02-29T00:00:00.250Z')!.toISOString()).toBe('2024-02-29T00:00:00.250Z');
  });
});
