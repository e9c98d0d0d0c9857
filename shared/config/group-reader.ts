/** Reads the typed values of one property group: each option parsed, validated, and failed with the message naming group, key, value and what is allowed; legacy spellings read and reported. */
import { CompanionValueError, ConfigError } from './config-error';
import { LEGACY_CONSUMER } from './legacy-consumer';
import * as o from './options';

/** Reads the typed values of one group. */
export class GroupReader {
  /** `schema`: the group whose options this one takes (`OutputStream0` for `OutputStream1`, …). */
  constructor(
    readonly group: string,
    private readonly map: Readonly<Record<string, string>>,
    private readonly schema: string = group,
  ) {}

  private options(): Array<o.Option<unknown>> {
    return o.ALL_OPTIONS.filter((opt) => opt.groups.includes(this.schema as o.GroupId));
  }

  /** The typed value of one spelling's text, or the ConfigError naming that spelling. */
  private parseSpelling<T>(option: o.Option<T>, spelling: o.Alias, raw: string): T {
    let text: string | undefined = raw;
    if (spelling.translate) {
      try {
        text = spelling.translate(raw, this.map);
      } catch (err) {
        if (err instanceof CompanionValueError) throw ConfigError.invalidValue(this.group, err.key, err.value, err.allowed);
        throw err;
      }
    }
    const value = text === undefined ? undefined : option.parse(text);
    if (value === undefined) throw ConfigError.invalidValue(this.group, spelling.key, raw, spelling.allowed ?? option.allowed);
    return value;
  }

  /**
   * The first spelling set, with its typed value. A legacy spelling set next to another one must mean
   * the same value ("500" and "500 ms" do); two plain spellings are reported by duplicateSpellings.
   */
  private resolve<T>(option: o.Option<T>): { key: string; value: T } | undefined {
    let used: { spelling: o.Alias; raw: string; value: T } | undefined;
    for (const spelling of o.spellingsOf(option as o.Option<unknown>)) {
      if (!(spelling.key in this.map)) continue;
      const raw = this.map[spelling.key];
      const value = this.parseSpelling(option, spelling, raw);
      if (!used) {
        used = { spelling, raw, value };
      } else if ((spelling.legacy || used.spelling.legacy) && !sameValue(used.value, value)) {
        const legacy = spelling.legacy ? spelling : used.spelling;
        throw ConfigError.conflictingSpellings(
          this.group,
          { key: used.spelling.key, value: used.raw },
          { key: spelling.key, value: raw },
          `"${legacy.key}" is the legacy ${LEGACY_CONSUMER} key for "${option.key}", which takes ${option.allowed}${legacy.note ? `; ${legacy.note}` : ''}`,
        );
      }
    }
    return used && { key: used.spelling.key, value: used.value };
  }

  optional<T>(option: o.Option<T>): T | undefined {
    const found = this.resolve(option);
    return found ? found.value : option.defaultValue;
  }

  get<T>(option: o.Option<T>): T {
    const value = this.optional(option);
    if (value === undefined) throw ConfigError.invalidValue(this.group, option.key, undefined, option.allowed);
    return value;
  }

  /** The option from an environment variable when that is set (it wins over the file), else as `get`. */
  getOrEnv<T>(option: o.Option<T>, env: NodeJS.ProcessEnv, name: string): T {
    const raw = env[name];
    if (raw === undefined || raw === '') return this.get(option);
    const value = option.parse(raw);
    if (value === undefined) this.fail(`${option.key} (env ${name})`, raw, option.allowed);
    return value;
  }

  has(option: o.Option<unknown>): boolean {
    return o.spellingsOf(option).some(({ key }) => key in this.map);
  }

  fail(key: string, value: string | undefined, allowed: string): never {
    throw ConfigError.invalidValue(this.group, key, value, allowed);
  }

  /** Keys that no option of this group has (a known key the chosen settings do not use is not unknown). */
  unknownKeys(): string[] {
    const known = new Set(this.options().flatMap((opt) => o.spellingsOf(opt).flatMap((s) => [s.key, ...(s.companions ?? [])])));
    return Object.keys(this.map).filter((key) => !known.has(key));
  }

  /** Options given under more than one plain spelling: the first spelling wins (legacy ones are checked by `resolve`). */
  duplicateSpellings(): Array<{ used: string; ignored: string[] }> {
    return this.options()
      .map((opt) => o.spellingsOf(opt).filter((s) => !s.legacy && s.key in this.map).map((s) => s.key))
      .filter((keys) => keys.length > 1)
      .map(([used, ...ignored]) => ({ used, ignored }));
  }

  /** One line for each legacy FlinkKinesisConsumer key (or companion of one) this group sets, naming our key. */
  legacyNotices(): string[] {
    const notices: string[] = [];
    const where = `in property group "${this.group}"`;
    for (const option of this.options()) {
      for (const spelling of o.spellingsOf(option).filter((s) => s.legacy)) {
        if (spelling.key in this.map) {
          notices.push(`Legacy ${LEGACY_CONSUMER} key "${spelling.key}" ${where} is read as "${option.key}"${spelling.note ? ` (${spelling.note})` : ''}; use "${option.key}" in new files`);
        }
        for (const companion of (spelling.companions ?? []).filter((key) => key in this.map)) {
          notices.push(
            spelling.key in this.map
              ? `Legacy ${LEGACY_CONSUMER} key "${companion}" ${where} is used to read "${spelling.key}"; "${option.key}" takes ${option.allowed} instead`
              : `Legacy ${LEGACY_CONSUMER} key "${companion}" ${where} is ignored: it only applies to "${spelling.key}", which is not set ("${option.key}" takes ${option.allowed})`,
          );
        }
      }
    }
    return notices;
  }
}

function sameValue(a: unknown, b: unknown): boolean {
  return a instanceof Date && b instanceof Date ? a.getTime() === b.getTime() : a === b;
}
