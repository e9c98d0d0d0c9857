/**
 * The Kinesis Data Generator's faker helpers under their old names, mapped onto faker 10. KDG bundles an
 * old faker.js with the 3.x API ("faker 3" here: `name.*`, `address.*`, `random.word`, positional
 * arguments such as `commerce.price(min, max, dec, symbol)`); faker 10 renamed most of them (`person.*`, `location.*`,
 * `word.sample`) and takes options objects. Each entry keeps KDG's name, arguments and defaults and calls
 * the faker 10 function that makes the same kind of value. Names faker 10 dropped are rebuilt from its
 * locale data (`address.cityPrefix`) or by hand (`finance.mask`). Pure: faker is handed in.
 */
import type { Faker } from '@faker-js/faker';
import { replaceSymbolWithNumber } from './kdg-plain-helpers';
import { arr, bool, custom, date, fakerHelper, int, num, obj, str, type Helper } from './helper-spec';

const none = (run: (f: Faker) => unknown): Helper => fakerHelper([], run);
/** A word from faker 10's English data, for the helpers faker 10 dropped but whose words it still has. */
const fromLocale = (group: 'location' | 'company', key: string): Helper =>
  none((f) => {
    const words = (f.definitions[group] as Record<string, unknown> | undefined)?.[key];
    return Array.isArray(words) && words.length > 0 ? f.helpers.arrayElement(words as string[]) : '';
  });
/** faker 3 took 0 for male and 1 for female where faker 10 takes a sex. */
const sexOf = (gender: number | undefined) => (gender === undefined ? undefined : gender === 0 ? 'male' : 'female');
/** A number in [0, 1) from faker's generator, for the helpers rebuilt by hand. */
const unit = (f: Faker) => () => f.number.float();
const coordinate = custom('coordinate', '[latitude, longitude]', (v) => Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number'));
const gender = int('gender');
const count = (name: string) => int(name, 1);

export const FAKER_HELPERS: Record<string, Helper> = {
  'random.word': none((f) => f.word.sample()),
  'random.words': fakerHelper([count('count')], (f, n?: number) => f.word.words(n ?? { count: { min: 1, max: 3 } })),
  'random.alphaNumeric': fakerHelper([count('count')], (f, n = 1) => f.string.alphanumeric({ length: n, casing: 'lower' })),
  'random.image': none((f) => f.image.url()),

  'name.firstName': fakerHelper([gender], (f, g?: number) => f.person.firstName(sexOf(g))),
  'name.lastName': fakerHelper([gender], (f, g?: number) => f.person.lastName(sexOf(g))),
  'name.findName': fakerHelper([str('firstName'), str('lastName'), gender], (f, firstName?: string, lastName?: string, g?: number) => f.person.fullName({ firstName, lastName, sex: sexOf(g) })),
  'name.jobTitle': none((f) => f.person.jobTitle()),
  'name.prefix': fakerHelper([gender], (f, g?: number) => f.person.prefix(sexOf(g))),
  'name.suffix': none((f) => f.person.suffix()),
  // faker 3's title was descriptor + area + type, which is faker 10's job title.
  'name.title': none((f) => f.person.jobTitle()),
  'name.jobDescriptor': none((f) => f.person.jobDescriptor()),
  'name.jobArea': none((f) => f.person.jobArea()),
  'name.jobType': none((f) => f.person.jobType()),

  'address.zipCode': fakerHelper([str('format')], (f, format?: string) => f.location.zipCode(format)),
  'address.city': none((f) => f.location.city()),
  'address.cityPrefix': fromLocale('location', 'city_prefix'),
  'address.citySuffix': fromLocale('location', 'city_suffix'),
  'address.streetName': none((f) => f.location.street()),
  'address.streetAddress': fakerHelper([bool('useFullAddress')], (f, full = false) => f.location.streetAddress(full)),
  'address.streetSuffix': fromLocale('location', 'street_suffix'),
  'address.secondaryAddress': none((f) => f.location.secondaryAddress()),
  'address.county': none((f) => f.location.county()),
  'address.country': none((f) => f.location.country()),
  'address.countryCode': none((f) => f.location.countryCode()),
  'address.state': fakerHelper([bool('useAbbr')], (f, abbreviated = false) => f.location.state({ abbreviated })),
  'address.stateAbbr': none((f) => f.location.state({ abbreviated: true })),
  'address.latitude': none((f) => f.location.latitude()),
  'address.longitude': none((f) => f.location.longitude()),
  'address.nearbyGPSCoordinate': fakerHelper([coordinate, num('radius'), bool('isMetric')], (f, origin?: [number, number], radius?: number, isMetric?: boolean) =>
    f.location.nearbyGPSCoordinate({ origin, radius, isMetric }),
  ),

  'company.companyName': none((f) => f.company.name()),
  'company.companySuffix': fromLocale('company', 'legal_entity_type'),
  'company.catchPhrase': none((f) => f.company.catchPhrase()),
  'company.bs': none((f) => f.company.buzzPhrase()),
  'company.catchPhraseAdjective': none((f) => f.company.catchPhraseAdjective()),
  'company.catchPhraseDescriptor': none((f) => f.company.catchPhraseDescriptor()),
  'company.catchPhraseNoun': none((f) => f.company.catchPhraseNoun()),
  'company.bsAdjective': none((f) => f.company.buzzAdjective()),
  'company.bsBuzz': none((f) => f.company.buzzVerb()),
  'company.bsNoun': none((f) => f.company.buzzNoun()),

  'finance.account': fakerHelper([count('length')], (f, length = 8) => f.finance.accountNumber(length)),
  'finance.accountName': none((f) => f.finance.accountName()),
  // Gone from faker 10: "(...1234)", as faker 3 made it.
  'finance.mask': fakerHelper([count('length'), bool('parens'), bool('ellipsis')], (f, length = 4, parens = true, ellipsis = true) => {
    const masked = `${ellipsis ? '...' : ''}${replaceSymbolWithNumber('#'.repeat(length), '#', unit(f))}`;
    return parens ? `(${masked})` : masked;
  }),
  'finance.amount': fakerHelper([num('min'), num('max'), int('dec'), str('symbol')], (f, min = 0, max = 1000, dec = 2, symbol = '') => f.finance.amount({ min, max, dec, symbol })),
  'finance.transactionType': none((f) => f.finance.transactionType()),
  'finance.currencyCode': none((f) => f.finance.currencyCode()),
  'finance.currencyName': none((f) => f.finance.currencyName()),
  'finance.currencySymbol': none((f) => f.finance.currencySymbol()),
  'finance.bitcoinAddress': none((f) => f.finance.bitcoinAddress()),

  'image.image': none((f) => f.image.url()),
  'image.avatar': none((f) => f.image.avatar()),
  'image.imageUrl': fakerHelper([count('width'), count('height')], (f, width?: number, height?: number) => f.image.url({ width, height })),

  'lorem.word': none((f) => f.lorem.word()),
  'lorem.words': fakerHelper([count('count')], (f, n = 3) => f.lorem.words(n)),
  'lorem.sentence': fakerHelper([count('wordCount')], (f, n?: number) => f.lorem.sentence(n)),
  'lorem.sentences': fakerHelper([count('sentenceCount'), str('separator')], (f, n?: number, separator?: string) => f.lorem.sentences(n, separator)),
  'lorem.paragraph': fakerHelper([count('sentenceCount')], (f, n = 3) => f.lorem.paragraph(n)),
  'lorem.paragraphs': fakerHelper([count('paragraphCount'), str('separator')], (f, n = 3, separator = '\n \r') => f.lorem.paragraphs(n, separator)),
  'lorem.text': none((f) => f.lorem.text()),
  'lorem.lines': fakerHelper([count('lineCount')], (f, n?: number) => f.lorem.lines(n)),

  'hacker.abbreviation': none((f) => f.hacker.abbreviation()),
  'hacker.adjective': none((f) => f.hacker.adjective()),
  'hacker.noun': none((f) => f.hacker.noun()),
  'hacker.verb': none((f) => f.hacker.verb()),
  'hacker.ingverb': none((f) => f.hacker.ingverb()),
  'hacker.phrase': none((f) => f.hacker.phrase()),

  'internet.avatar': none((f) => f.image.avatar()),
  'internet.email': fakerHelper([str('firstName'), str('lastName'), str('provider')], (f, firstName?: string, lastName?: string, provider?: string) => f.internet.email({ firstName, lastName, provider })),
  'internet.exampleEmail': fakerHelper([str('firstName'), str('lastName')], (f, firstName?: string, lastName?: string) => f.internet.exampleEmail({ firstName, lastName })),
  'internet.userName': fakerHelper([str('firstName'), str('lastName')], (f, firstName?: string, lastName?: string) => f.internet.username({ firstName, lastName })),
  'internet.protocol': none((f) => f.internet.protocol()),
  'internet.url': none((f) => f.internet.url()),
  'internet.domainName': none((f) => f.internet.domainName()),
  'internet.domainSuffix': none((f) => f.internet.domainSuffix()),
  'internet.domainWord': none((f) => f.internet.domainWord()),
  'internet.userAgent': none((f) => f.internet.userAgent()),
  'internet.mac': none((f) => f.internet.mac()),
  'internet.password': fakerHelper([count('length'), bool('memorable')], (f, length = 15, memorable = false) => f.internet.password({ length, memorable })),

  // faker 3 filled a format's # with digits; faker 10 has its own formats only.
  'phone.phoneNumber': fakerHelper([str('format')], (f, format?: string) => (format === undefined ? f.phone.number() : replaceSymbolWithNumber(format, '#', unit(f)))),

  'date.past': fakerHelper([num('years'), date('refDate')], (f, years = 1, refDate?: string | number) => f.date.past({ years, refDate })),
  'date.future': fakerHelper([num('years'), date('refDate')], (f, years = 1, refDate?: string | number) => f.date.future({ years, refDate })),
  'date.between': fakerHelper([date('from'), date('to')], (f, from: string | number = Date.now() - 365 * 86_400_000, to: string | number = Date.now()) => f.date.between({ from, to })),
  'date.recent': fakerHelper([num('days')], (f, days = 1) => f.date.recent({ days })),
  'date.month': fakerHelper([obj('options', '{"abbr": true|false, "context": true|false}')], (f, o: { abbr?: boolean; context?: boolean } = {}) => f.date.month({ abbreviated: o.abbr === true, context: o.context === true })),
  'date.weekday': fakerHelper([obj('options', '{"abbr": true|false, "context": true|false}')], (f, o: { abbr?: boolean; context?: boolean } = {}) => f.date.weekday({ abbreviated: o.abbr === true, context: o.context === true })),

  'commerce.color': none((f) => f.color.human()),
  'commerce.department': none((f) => f.commerce.department()),
  'commerce.productName': none((f) => f.commerce.productName()),
  'commerce.price': fakerHelper([num('min'), num('max'), int('dec'), str('symbol')], (f, min = 1, max = 1000, dec = 2, symbol = '') => f.commerce.price({ min, max, dec, symbol })),
  'commerce.productAdjective': none((f) => f.commerce.productAdjective()),
  'commerce.productMaterial': none((f) => f.commerce.productMaterial()),
  'commerce.product': none((f) => f.commerce.product()),

  'system.fileName': none((f) => f.system.fileName()),
  'system.commonFileName': fakerHelper([str('ext')], (f, ext?: string) => f.system.commonFileName(ext)),
  'system.mimeType': none((f) => f.system.mimeType()),
  'system.commonFileType': none((f) => f.system.commonFileType()),
  'system.commonFileExt': none((f) => f.system.commonFileExt()),
  'system.fileType': none((f) => f.system.fileType()),
  'system.fileExt': fakerHelper([str('mimeType')], (f, mimeType?: string) => f.system.fileExt(mimeType)),
  'system.directoryPath': none((f) => f.system.directoryPath()),
  'system.filePath': none((f) => f.system.filePath()),
  'system.semver': none((f) => f.system.semver()),

  'helpers.replaceSymbols': fakerHelper([str('string')], (f, text = '') => f.helpers.replaceSymbols(text)),
  'helpers.shuffle': fakerHelper([arr('array')], (f, array: unknown[] = ['a', 'b', 'c']) => f.helpers.shuffle(array)),
};
