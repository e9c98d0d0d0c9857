/**
 * A configuration or argument problem: the CLI prints the message alone and exits with code 2.
 * The message always names the property group, the key, the bad value and what is allowed.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly exitCode = 2;

  static invalidValue(group: string, key: string, value: string | undefined, allowed: string): ConfigError {
    const shown = value === undefined ? 'missing' : JSON.stringify(value);
    return new ConfigError(`Invalid configuration: property group "${group}", key "${key}": value ${shown} is not allowed; allowed: ${allowed}`);
  }

  /** One setting given under two spellings with values that differ once normalised. */
  static conflictingSpellings(group: string, a: { key: string; value: string }, b: { key: string; value: string }, allowed: string): ConfigError {
    return new ConfigError(
      `Invalid configuration: property group "${group}", keys "${a.key}" and "${b.key}": values ${JSON.stringify(a.value)} and ${JSON.stringify(b.value)} ` +
        `are not allowed together; allowed: one of the two keys, or both with the same value (${allowed})`,
    );
  }
}

/**
 * A bad value of a key that only qualifies another one (such as a timestamp's format), found while
 * translating an alias; the group reader turns it into the ConfigError that names the group.
 */
export class CompanionValueError extends Error {
  constructor(
    readonly key: string,
    readonly value: string,
    readonly allowed: string,
  ) {
    super(`key "${key}": value ${JSON.stringify(value)} is not allowed; allowed: ${allowed}`);
  }
}
