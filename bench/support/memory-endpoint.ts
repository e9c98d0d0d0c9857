/**
 * The benchmark's in-memory Kinesis (`bench/memory-kinesis/`) as a separate process, and a client for
 * it: the real SDK for Kinesis calls, plain HTTP for the bench-only routes (per-stream counts and
 * arrival times, and the output throttle).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { CreateStreamCommand, DescribeStreamSummaryCommand, KinesisClient, PutRecordsCommand, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { stopChild } from '../../cli/local/kinesis-local';
import { guardService } from './processes';
import type { RequestFault } from '../memory-kinesis/stream-store';

export interface StreamStats {
  records: number;
  /** Records with each user record of a KPL aggregate counted. */
  userRecords: number;
  firstArrivalMs: number | null;
  lastArrivalMs: number | null;
  /** Scripted request faults not yet taken by a PutRecords request. */
  faultsPending: number;
}

export class MemoryEndpoint {
  readonly client: KinesisClient;

  private constructor(
    readonly endpoint: string,
    readonly process: ChildProcess,
  ) {
    this.client = new KinesisClient({
      region: 'us-east-1',
      endpoint,
      credentials: { accessKeyId: '000000000000', secretAccessKey: 'bench' },
      maxAttempts: 3,
      requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: 16 }) }),
    });
  }

  static async start(): Promise<MemoryEndpoint> {
    const child = spawn(process.execPath, [join(__dirname, '..', 'memory-kinesis', 'main.js'), '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const endpoint = await new Promise<string>((resolve, reject) => {
      let text = '';
      const timer = setTimeout(() => reject(new Error(`the in-memory Kinesis did not start: ${text}`)), 15_000);
      child.stdout!.on('data', (d: Buffer) => {
        text += d.toString();
        const line = text.split('\n').find((l) => l.includes('"listening"'));
        if (line) {
          clearTimeout(timer);
          resolve((JSON.parse(line) as { endpoint: string }).endpoint);
        }
      });
      child.once('exit', (code) => reject(new Error(`the in-memory Kinesis exited with ${code}: ${text}`)));
    });
    guardService(child);
    return new MemoryEndpoint(endpoint, child);
  }

  async createStream(name: string, shards: number): Promise<string> {
    await this.client.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
    return (await this.client.send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary!.StreamARN!;
  }

  /** Writes the entries, 500 per request and `parallel` requests at a time, re-sending refused ones. */
  async putAll(arn: string, entries: PutRecordsRequestEntry[], parallel = 8): Promise<void> {
    let next = 0;
    const lane = async () => {
      while (next < entries.length) {
        let batch = entries.slice(next, next + 500);
        next += 500;
        while (batch.length > 0) {
          const out = await this.client.send(new PutRecordsCommand({ StreamARN: arn, Records: batch }));
          batch = out.FailedRecordCount ? batch.filter((_, i) => out.Records?.[i]?.ErrorCode) : [];
        }
      }
    };
    await Promise.all(Array.from({ length: parallel }, lane));
  }

  async stats(stream: string): Promise<StreamStats> {
    const res = await fetch(`${this.endpoint}/_bench/stats?stream=${encodeURIComponent(stream)}`);
    if (!res.ok) throw new Error(`stats of ${stream}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as StreamStats;
  }

  /** Kinesis requests answered so far, by operation. */
  async calls(): Promise<Record<string, number>> {
    const res = await fetch(`${this.endpoint}/_bench/calls`);
    if (!res.ok) throw new Error(`calls: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, number>;
  }

  /** Caps PutRecords into the stream at `maxRecordsPerSecond` (0 lifts the cap); refused records get ProvisionedThroughputExceededException. */
  async throttle(stream: string, maxRecordsPerSecond: number): Promise<void> {
    const res = await fetch(`${this.endpoint}/_bench/throttle`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ stream, maxRecordsPerSecond }) });
    if (!res.ok) throw new Error(`throttle ${stream}: HTTP ${res.status} ${await res.text()}`);
  }

  /** Scripts the stream's next PutRecords requests, one fault each (see `bench/memory-kinesis/server.ts`). */
  async scriptFaults(stream: string, requests: RequestFault[]): Promise<void> {
    const res = await fetch(`${this.endpoint}/_bench/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ stream, requests }) });
    if (!res.ok) throw new Error(`faults for ${stream}: HTTP ${res.status} ${await res.text()}`);
  }

  async stop(): Promise<void> {
    this.client.destroy();
    await stopChild(this.process);
  }
}
