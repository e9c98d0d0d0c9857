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
}
