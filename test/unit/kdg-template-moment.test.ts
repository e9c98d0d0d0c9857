/**
 * `{{date.now(format)}}` and `{{date.utc(format)}}` format like moment.js, which the Kinesis Data
 * Generator uses (generator/template/moment-format.ts). Every expected value below was printed by
 * moment 2.17.1, the version KDG loads (moment(instant).format(...), on a machine in UTC, or
 * moment(instant).utcOffset(minutes) for the other offsets).
 */
import { formatMoment, ordinal } from '../../generator/template/moment-format';

const EVERY_TOKEN = 'M Mo MM MMM MMMM Q Qo D Do DD DDD DDDo DDDD d do dd ddd dddd e E w wo ww W Wo WW YY YYYY gg gggg GG GGGG a A H HH h hh k kk m mm s ss S SS SSS SSSSSS X x Z ZZ';

describe('formatMoment', () => {
  test.each([
    // Sunday 3 January 2021: week 2 of 2021 in en (weeks from Sunday, week 1 holds 1 January), ISO week 53 of 2020.
    ['2021-01-03T00:30:05.123Z', 0, '1 1st 01 Jan January 1 1st 3 3rd 03 3 3rd 003 0 0th Su Sun Sunday 0 7 2 2nd 02 53 53rd 53 21 2021 21 2021 20 2020 am AM 0 00 12 12 24 24 30 30 5 05 1 12 123 123000 1609633805 1609633805123 +00:00 +0000'],
    // Sunday 29 December 2024: already week 1 of 2025 in en, still ISO week 52 of 2024.
    ['2024-12-29T23:59:59.999Z', 0, '12 12th 12 Dec December 4 4th 29 29th 29 364 364th 364 0 0th Su Sun Sunday 0 7 1 1st 01 52 52nd 52 24 2024 25 2025 24 2024 pm PM 23 23 11 11 23 23 59 59 59 59 9 99 999 999000 1735516799 1735516799999 +00:00 +0000'],
    // West of UTC: the wall clock is 05:00 on Monday 30 December, ISO week 1 of 2025.
    ['2024-12-30T12:00:00.050Z', -420, '12 12th 12 Dec December 4 4th 30 30th 30 365 365th 365 1 1st Mo Mon Monday 1 1 1 1st 01 1 1st 01 24 2024 25 2025 25 2025 am AM 5 05 5 05 5 05 0 00 0 00 0 05 050 050000 1735560000 1735560000050 -07:00 -0700'],
    // East of UTC, across midnight of a leap day: already 1 March at +05:30.
    ['2020-02-29T18:45:07.007Z', 330, '3 3rd 03 Mar March 1 1st 1 1st 01 61 61st 061 0 0th Su Sun Sunday 0 7 10 10th 10 9 9th 09 20 2020 20 2020 20 2020 am AM 0 00 12 12 24 24 15 15 7 07 0 00 007 007000 1583001907 1583001907007 +05:30 +0530'],
  ])('every token of %s at offset %d minutes', (iso, offset, expected) => {
    expect(formatMoment(new Date(iso), EVERY_TOKEN, 'local', offset)).toBe(expected);
  });

  test.each([
    // KDG's help page examples, at -08:00.
    ['dddd, MMMM Do YYYY, h:mm:ss a', 'Sunday, February 14th 2010, 7:25:50 am'],
    ['ddd, hA', 'Sun, 7AM'],
    ['DD/MMM/YYYY:HH:mm:ss Z', '14/Feb/2010:07:25:50 -08:00'],
    // Localized formats (moment's en locale), literal text and an escaped letter.
    ['LLLL', 'Sunday, February 14, 2010 7:25 AM'],
    ['llll', 'Sun, Feb 14, 2010 7:25 AM'],
    ['LT LTS L l', '7:25 AM 7:25:50 AM 02/14/2010 2/14/2010'],
    ['[today is] dddd \\Y', 'today is Sunday Y'],
    ['Hmm hmmss', '725 72550'],
  ])('%s', (format, expected) => {
    expect(formatMoment(new Date('2010-02-14T15:25:50.000Z'), format, 'local', -480)).toBe(expected);
  });

  test('without a format: moment\'s default, with the offset in local time and a literal Z in UTC', () => {
    const instant = new Date('2010-02-14T15:25:50.000Z');
    expect(formatMoment(instant, undefined, 'local', -480)).toBe('2010-02-14T07:25:50-08:00');
    expect(formatMoment(instant, '', 'local', -480)).toBe('2010-02-14T07:25:50-08:00');
    expect(formatMoment(instant, undefined, 'utc', -480)).toBe('2010-02-14T15:25:50Z');
  });

  test('utc ignores the local offset and names its zone as moment does', () => {
    expect(formatMoment(new Date('2010-02-14T15:25:50.000Z'), 'HH:mm Z z zz', 'utc', 330)).toBe('15:25 +00:00 UTC Coordinated Universal Time');
    expect(formatMoment(new Date('2010-02-14T15:25:50.000Z'), 'HH:mm z', 'local', 330)).toBe('20:55 ');
  });

  test('the local offset defaults to this machine\'s', () => {
    const instant = new Date('2010-02-14T15:25:50.000Z');
    expect(formatMoment(instant, 'YYYY-MM-DD HH:mm Z')).toBe(formatMoment(instant, 'YYYY-MM-DD HH:mm Z', 'local', -instant.getTimezoneOffset()));
  });
});

test('ordinal: st, nd, rd and th, with the teens all th', () => {
  expect([1, 2, 3, 4, 10, 11, 12, 13, 14, 21, 22, 23, 101, 111, 112, 365].map(ordinal)).toEqual([
    '1st', '2nd', '3rd', '4th', '10th', '11th', '12th', '13th', '14th', '21st', '22nd', '23rd', '101st', '111th', '112th', '365th',
  ]);
});
