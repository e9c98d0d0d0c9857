/** Waiting for an enhanced fan-out consumer to be ACTIVE, with the configured backoff. */
import type { EfoConfig } from '../config/app-config';
import { sleep } from '../backoff';
import type { StreamConsumers } from './kinesis-gateway';

export class ConsumerNotReady extends Error {
  override readonly name = 'ConsumerNotReady';
  constructor(
    message: string,
    readonly status: string | undefined,
  ) {
    super(message);
  }
}

/** The delay before DescribeStreamConsumer attempt `attempt` (0-based): doubling, from min to max. */
export function describeDelay(attempt: number, efo: Pick<EfoConfig, 'describeDelayMinMs' | 'describeDelayMaxMs'>): number {
  return Math.min(efo.describeDelayMaxMs, efo.describeDelayMinMs * 2 ** Math.min(attempt, 30));
}

/**
 * Describes the consumer until it is ACTIVE and returns its ARN. With `mustExist` (a SELF_MANAGED
 * consumer) it must be ACTIVE at the first look; otherwise it is waited for with the configured
 * backoff. Throws ConsumerNotReady when it is not ACTIVE in the end.
 */
export async function waitForActiveConsumer(
  api: StreamConsumers,
  streamArn: string,
  efo: EfoConfig,
  options: {
    mustExist: boolean;
    signal?: AbortSignal;
    onWait?: (status: string | undefined, delayMs: number) => void;
    /** Called when the consumer is missing (JOB_MANAGED registers it again, e.g. after a DELETING one went). */
    onMissing?: () => Promise<void>;
  },
): Promise<string> {
  const name = efo.consumerName!;
  let status: string | undefined;
  let checks = 0;
  for (let attempt = 0; attempt < efo.describeAttempts && !options.signal?.aborted; attempt++) {
    const consumer = await api.describeConsumer(streamArn, name);
    checks += 1;
    status = consumer?.ConsumerStatus;
    if (consumer && status === 'ACTIVE') return consumer.ConsumerARN!;
    if (options.mustExist) {
      throw new ConsumerNotReady(`the EFO consumer "${name}" of ${streamArn} ${consumer ? `is ${status}, not ACTIVE` : 'does not exist'}`, status);
    }
    if (!consumer) await options.onMissing?.();
    if (attempt === efo.describeAttempts - 1) break; // no wait after the last check
    const delay = describeDelay(attempt, efo);
    options.onWait?.(status, delay);
    await sleep(delay, options.signal);
  }
  throw new ConsumerNotReady(`the EFO consumer "${name}" of ${streamArn} is not ACTIVE (status ${status ?? 'missing'}) after ${checks} checks`, status);
}
