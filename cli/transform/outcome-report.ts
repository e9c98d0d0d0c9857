/**
 * What `shardflow transform` prints per input record: its outputs (group, key, data), that it was
 * filtered out, or the dead-letter reason. Text for people; `--json` gives one object per line:
 *
 *   { "input": 1, "sequenceNumber": "…", "partitionKey": "…", "outcome": "written" | "filtered" | "dead-letter",
 *     "outputs": [ { "output": "OutputStream0", "partitionKey": "…", "explicitHashKey"?: "…", "data": "<UTF-8 text>" | null, "dataBase64"?: "…" } ],
 *     "reason"?: "…", "stack"?: "at …" }
 *
 * `data` is the output's bytes as text when they are valid UTF-8 (else null, with `dataBase64`). Pure.
 */
import type { SourceRecord } from '../../shared/records';
import type { Prepared } from '../../worker/transform/transform';

export interface OutputReport {
  output: string;
  partitionKey: string;
  explicitHashKey?: string;
  data: string | null;
  dataBase64?: string;
}

export interface RecordReport {
  input: number;
  sequenceNumber: string;
  partitionKey: string;
  outcome: 'written' | 'filtered' | 'dead-letter';
  outputs: OutputReport[];
  reason?: string;
  stack?: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function text(data: Uint8Array): string | null {
  try {
    return utf8.decode(data);
  } catch {
    return null;
  }
}

/** `groups[i]`: the name of the output group of index i. */
export function reportOf(n: number, record: SourceRecord, prepared: Prepared, groups: readonly string[]): RecordReport {
  const report: RecordReport = { input: n, sequenceNumber: record.sequenceNumber, partitionKey: record.partitionKey, outcome: 'dead-letter', outputs: [] };
  if (!prepared.ok) {
    report.reason = prepared.reason;
    if (prepared.stack !== undefined) report.stack = prepared.stack;
    return report;
  }
  report.outcome = prepared.records.length === 0 ? 'filtered' : 'written';
  report.outputs = prepared.records.map((r) => {
    const out: OutputReport = { output: groups[r.output ?? 0], partitionKey: r.partitionKey, data: text(r.data) };
    if (r.explicitHashKey !== undefined) out.explicitHashKey = r.explicitHashKey;
    if (out.data === null) out.dataBase64 = Buffer.from(r.data).toString('base64');
    return out;
  });
  return report;
}

/** The report for people: a head line per input record, one line per output. */
export function formatReport(report: RecordReport): string {
  const head = `#${report.input} (key ${JSON.stringify(report.partitionKey)})`;
  switch (report.outcome) {
    case 'filtered':
      return `${head}: filtered out\n`;
    case 'dead-letter':
      return `${head}: dead letter: ${report.reason}${report.stack ? `\n    ${report.stack}` : ''}\n`;
    case 'written':
      return `${head}: ${report.outputs.length} output record${report.outputs.length === 1 ? '' : 's'}\n${report.outputs
        .map((o) => `  -> ${o.output} key ${JSON.stringify(o.partitionKey)}${o.explicitHashKey ? ` hash ${o.explicitHashKey}` : ''}: ${o.data ?? `(not UTF-8) base64 ${o.dataBase64}`}\n`)
        .join('')}`;
  }
}
