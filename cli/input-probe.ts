/**
 * The readiness probe of the input side: Kinesis answers for at least one input stream. One deleted or
 * unreachable stream among several does not make the process unready (the coordinator reports it and
 * the other streams flow); none answering does.
 */
import type { AppConfig } from '../shared/config/app-config';
import { KinesisGateway } from '../shared/aws/kinesis-gateway';

export interface InputProbe {
  ping(): Promise<void>;
  destroy(): void;
}

export function inputProbe(config: Pick<AppConfig, 'inputs'>): InputProbe {
  const probes = config.inputs.map((input) => ({ arn: input.stream.arn, gateway: KinesisGateway.fromConfig(input.client) }));
  return {
    async ping() {
      let first: unknown;
      for (const { arn, gateway } of probes) {
        try {
          await gateway.ping(arn);
          return;
        } catch (err) {
          first ??= err;
        }
      }
      throw first;
    },
    destroy() {
      for (const { gateway } of probes) gateway.destroy();
    },
  };
}
