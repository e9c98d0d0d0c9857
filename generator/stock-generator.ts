/** Writes stock records like the reference example's `stock.py` (the generator's default source). */
import type { RecordPutter } from '../shared/aws/kinesis-gateway';
import { writeRecords, type GeneratorResult, type WriteOptions } from './record-writer';
import { stockSource } from './record-sources';
import type { PartitionKeyMode } from './stock-records';

export type { GeneratorResult } from './record-writer';

export interface GeneratorOptions extends WriteOptions {
  partitionKeys: PartitionKeyMode;
}

export async function generateStocks(putter: RecordPutter, opts: GeneratorOptions): Promise<GeneratorResult> {
  return writeRecords(putter, stockSource(opts.partitionKeys), opts);
}
