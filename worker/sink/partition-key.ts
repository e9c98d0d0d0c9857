import { randomUUID } from 'node:crypto';
import type { PartitionKeyRule } from '../../shared/config/app-config';
import type { SourceRecord } from '../../shared/records';

/** The output record's partition key under `sink.partition-key`. */
export function outputPartitionKey(rule: PartitionKeyRule, input: SourceRecord, output: Uint8Array): string {
  switch (rule.type) {
    case 'INPUT':
      return input.partitionKey;
    case 'RANDOM':
      return randomUUID();
    case 'FIELD': {
      try {
        const value = (JSON.parse(Buffer.from(output.buffer, output.byteOffset, output.byteLength).toString('utf8')) as Record<string, unknown>)[rule.field];
        if ((typeof value === 'string' && value.length > 0 && value.length <= 256) || typeof value === 'number') return String(value);
      } catch {
        // not JSON: fall back to the input key
      }
      return input.partitionKey;
    }
  }
}
