/**
 * The local stack's generator: its options (`--partition-key`, `--aggregate`, `--template`, `--from`,
 * `--loop`) checked before anything starts, so a bad template or file stops `shardflow local` with exit
 * code 2 and its one-line message instead of a stack whose generator dies; and the arguments the
 * stack's `generate` process gets (files made absolute).
 */
import { openRecordSource, partitionKeyMode, type SourceOptions } from '../run-generate';
import { basename, resolve } from 'node:path';

export interface LocalGeneratorOptions extends SourceOptions {
  partitionKey?: string;
  aggregate?: boolean;
}

export interface GeneratorArgs {
  /** For `shardflow generate`, after the common options and `--rate`. */
  flags: string[];
  /** What it writes, for the stack's "started" line: "" for stock records. */
  describe: string;
}

export async function generatorArgs(opts: LocalGeneratorOptions): Promise<GeneratorArgs> {
  const mode = partitionKeyMode(opts.partitionKey);
  // Opened here only to check it (the template read and run once, the file read to its end).
  const { source } = await openRecordSource(opts, mode);
  await source.close?.();
  const flags = ['--partition-key', mode, ...(opts.aggregate ? ['--aggregate'] : [])];
  if (opts.template !== undefined) {
    flags.push('--template', resolve(opts.template));
    return { flags, describe: ` from template ${basename(opts.template)}` };
  }
  if (opts.from !== undefined) {
    flags.push('--from', resolve(opts.from), ...(opts.loop ? ['--loop'] : []));
    return { flags, describe: ` replaying ${basename(opts.from)}${opts.loop ? ' over and over' : ' once'}` };
  }
  return { flags, describe: '' };
}

/**
 * A generator that exits 0 on its own has written all it had (`--from` without `--loop`): the rest of
 * the stack keeps running. Any other exit of a stack process is unexpected and stops the stack.
 */
export function finishedOnItsOwn(name: string, code: number | null): boolean {
  return name === 'generator' && code === 0;
}
