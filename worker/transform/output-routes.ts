/**
 * The output groups a record may go to, by name, and the input's default one. A record's `output`
 * field names a group (`OutputStream1`); without it the record goes to the default. Pure.
 */
import type { OutputStreamConfig } from '../../shared/config/app-config';

/** What preparing a record needs of one output group. */
export type OutputTarget = Pick<OutputStreamConfig, 'group' | 'partitionKey' | 'maxRecordBytes'> & {
  /** Its index in the configuration's outputs, carried by each output record (`OutputRecord.output`). */
  readonly index: number;
};

export class OutputRoutes {
  private readonly byGroup: ReadonlyMap<string, OutputTarget>;

  constructor(
    readonly targets: readonly OutputTarget[],
    readonly fallback: OutputTarget = targets[0],
  ) {
    this.byGroup = new Map(targets.map((t) => [t.group, t]));
  }

  static of(outputs: readonly Pick<OutputStreamConfig, 'group' | 'partitionKey' | 'maxRecordBytes'>[], defaultGroup?: string): OutputRoutes {
    const targets = outputs.map((o, index) => ({ group: o.group, partitionKey: o.partitionKey, maxRecordBytes: o.maxRecordBytes, index }));
    return new OutputRoutes(targets, targets.find((t) => t.group === defaultGroup) ?? targets[0]);
  }

  /** The named group, or undefined when the configuration has none of that name. */
  get(group: string): OutputTarget | undefined {
    return this.byGroup.get(group);
  }

  /** For a reason: the configured groups. */
  get names(): string {
    return this.targets.map((t) => t.group).join(', ');
  }
}
