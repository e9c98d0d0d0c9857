/**
 * Re-reads the properties file (and `Application.streams-file`) every discovery interval, for the one
 * thing that changes without a restart: the list of input streams. Streams added or removed are handed
 * to `onInputs`; any other change (another key of an input group, an output, the transform, the
 * cluster settings) is logged once as needing a restart, and a file that cannot be read or is invalid is
 * logged once per distinct problem and counted (`shardflow_config_reload_failures_total`), while the
 * process keeps the streams it has. Only a process's start exits 2 on a bad file, never a re-read.
 */
import type { AppConfig, InputStreamConfig } from './app-config';
import { loadAppConfig } from './properties';
import type { Logger } from '../logging';
import { metrics } from '../metrics';

export interface InputWatcherDeps {
  file: string;
  /** The configuration the process started with. */
  initial: AppConfig;
  /** The input streams named now, when the set of stream ARNs changed. */
  onInputs(inputs: InputStreamConfig[]): void;
  log: Logger;
  /** Re-reads the file (tests give their own). */
  load?: (file: string) => AppConfig;
}

/** The configuration without its input streams, to see whether anything else changed. */
function restOf(config: AppConfig): string {
  const { inputs: _inputs, input: _input, properties: _properties, ...rest } = config;
  return JSON.stringify(rest);
}

export class InputWatcher {
  private timer: NodeJS.Timeout | undefined;
  private current: Map<string, string>;
  private readonly rest: string;
  /** Problems and restart notices logged already, so a file left broken does not log every interval. */
  private readonly told = new Set<string>();

  constructor(private readonly deps: InputWatcherDeps) {
    this.current = snapshot(deps.initial.inputs);
    this.rest = restOf(deps.initial);
  }

  /** Every `intervalMs` (the shortest discovery interval of the inputs unless given). */
  start(intervalMs = Math.min(...this.deps.initial.inputs.map((i) => i.discoveryIntervalMs))): void {
    this.timer = setInterval(() => this.check(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One re-read; returns the inputs when the set of streams changed. */
  check(): InputStreamConfig[] | undefined {
    const { log } = this.deps;
    let config: AppConfig;
    try {
      config = (this.deps.load ?? ((file) => loadAppConfig(file).config))(this.deps.file);
    } catch (err) {
      metrics().configReloadFailures.inc();
      this.once(`bad:${(err as Error).message}`, () => log.error({ file: this.deps.file, err: (err as Error).message }, 'cannot re-read the configuration: keeping the input streams read now'));
      return undefined;
    }
    // A new input whose output group this process does not have yet (added in the same edit) waits for a restart.
    const outputs = new Set(this.deps.initial.outputs.map((out) => out.group));
    const inputs = config.inputs.filter((input) => {
      if (outputs.has(input.output) || this.current.has(input.stream.arn)) return true;
      this.once(`output:${input.stream.arn}:${input.output}`, () => log.error({ stream: input.stream.arn, group: input.group, output: input.output }, 'an added input stream names an output group this process started without: not read until a restart'));
      return false;
    });
    const next = snapshot(inputs);
    for (const [arn, settings] of next) {
      const before = this.current.get(arn);
      if (before !== undefined && before !== settings) this.once(`changed:${arn}:${settings}`, () => log.warn({ stream: arn }, 'the settings of an input stream changed: they take effect after a restart (only adding and removing streams does not need one)'));
    }
    if (restOf(config) !== this.rest) this.once(`rest:${restOf(config)}`, () => log.warn({ file: this.deps.file }, 'keys outside the input stream groups changed: they take effect after a restart'));
    const added = [...next.keys()].filter((arn) => !this.current.has(arn));
    const removed = [...this.current.keys()].filter((arn) => !next.has(arn));
    if (added.length === 0 && removed.length === 0) return undefined;
    // Kept settings stay as they were read at the start: only the list changes.
    this.current = new Map([...next].map(([arn, settings]) => [arn, this.current.get(arn) ?? settings]));
    log.info({ added, removed }, 'input streams changed');
    this.deps.onInputs(inputs);
    return inputs;
  }

  private once(key: string, say: () => void): void {
    if (this.told.has(key)) return;
    this.told.add(key);
    say();
  }
}

/** Each input's settings by ARN, without where it was configured (a renumbered group or a shifted streams-file entry is the same stream). */
function snapshot(inputs: readonly InputStreamConfig[]): Map<string, string> {
  return new Map(inputs.map((input) => [input.stream.arn, JSON.stringify({ ...input, group: undefined, client: { ...input.client, group: undefined } })]));
}
