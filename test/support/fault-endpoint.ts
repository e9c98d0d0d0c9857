/**
 * The benchmark's in-memory Kinesis (`bench/memory-kinesis/`) in the test process, on a free port, as
 * the endpoint of fault tests: the real CLI runs against it through `localProperties(endpoint, …)`
 * like against kinesis-local, and these helpers script its faults over its `/_bench/` routes.
 */
import { CreateStreamCommand, DeleteStreamCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { MemoryKinesis } from '../../bench/memory-kinesis/server';
import type { ChaosRule, ChaosRuleState } from '../../bench/memory-kinesis/chaos';
import type { PutLogEntry } from '../../bench/memory-kinesis/stream-store';
import { localClient, streamArn } from './kinesis';

export type { ChaosRule, ChaosRuleState, PutLogEntry };

export class FaultEndpoint {
  private constructor(
    readonly server: MemoryKinesis,
    readonly endpoint: string,
    /** A client for the test's own calls (producer, reading the output); retries as kinesis-local's does. */
    readonly client: KinesisClient,
  ) {}

  /** `subscriptionMs`: how long a SubscribeToShard call streams (AWS: 5 minutes); shorter makes EFO readers subscribe again, and so meet subscription faults, sooner. */
  /** `logWritten`: the PutRecords log names each record written (`PutLogEntry.written`). */
  static async start(options: { subscriptionMs?: number; logWritten?: boolean } = {}): Promise<FaultEndpoint> {
    const server = new MemoryKinesis(options);
    const endpoint = await server.listen(0);
    return new FaultEndpoint(server, endpoint, localClient(endpoint));
  }

  /** Creates the stream and returns its ARN. */
  async createStream(name: string, shards: number): Promise<string> {
    await this.client.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
    return streamArn(name);
  }

  /** DeleteStream through the SDK, as an operator would; immediate here. */
  async deleteStream(name: string): Promise<void> {
    await this.client.send(new DeleteStreamCommand({ StreamName: name }));
  }

  /** Adds fault rules; returns every rule with how often it fired. */
  async chaos(rules: ChaosRule[]): Promise<ChaosRuleState[]> {
    return ((await this.call('POST', '/_bench/chaos', { rules })) as { rules: ChaosRuleState[] }).rules;
  }

  /** Every rule since the last clear, with how often each fired. */
  async chaosState(): Promise<ChaosRuleState[]> {
    return ((await this.call('GET', '/_bench/chaos')) as { rules: ChaosRuleState[] }).rules;
  }

  async clearChaos(): Promise<void> {
    await this.call('DELETE', '/_bench/chaos');
  }

  /** Per-record refusals of the stream's next PutRecords requests (the older `/_bench/faults` route). */
  async refuseRecords(stream: string, requests: Array<{ records: Array<{ index: number | '*'; code: 'InternalFailure' | 'ProvisionedThroughputExceededException' }> }>): Promise<void> {
    await this.call('POST', '/_bench/faults', { stream, requests });
  }

  async expireShard(stream: string, shard: string): Promise<void> {
    await this.call('POST', '/_bench/shards/expire', { stream, shard });
  }

  /** The PutRecords requests into streams of this name, oldest first. */
  async puts(stream: string): Promise<PutLogEntry[]> {
    return (await this.call('GET', `/_bench/puts?stream=${encodeURIComponent(stream)}`)) as PutLogEntry[];
  }

  async stop(): Promise<void> {
    this.client.destroy();
    await this.server.close();
  }

  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`${this.endpoint}${path}`, {
      method,
      headers: body === undefined ? undefined : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  }
}
