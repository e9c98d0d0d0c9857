/** The typed configuration the rest of shardflow works with, assembled from runtime properties. */
import type { CredentialsProviderType } from './options';

export type CredentialsConfig =
  | { provider: 'AUTO' }
  | { provider: 'BASIC'; accessKeyId: string; secretAccessKey: string }
  | { provider: 'PROFILE'; profileName?: string; profilePath?: string }
  | { provider: 'WEB_IDENTITY_TOKEN'; roleArn?: string; sessionName: string; tokenFile?: string }
  | {
      provider: 'ASSUME_ROLE';
      roleArn: string;
      sessionName: string;
      externalId?: string;
      stsEndpoint?: string;
      /** The credentials that call sts:AssumeRole. */
      base: Exclude<CredentialsConfig, { provider: 'ASSUME_ROLE' }>;
    };

// Keeps the union and the option's allowed values in step.
export type _ProviderCheck = CredentialsConfig['provider'] extends CredentialsProviderType ? true : never;

export interface StreamRef {
  arn: string;
  name: string;
  account: string;
  region: string;
}

export interface AwsClientConfig {
  /** The property group the settings came from, for messages. */
  group: string;
  region: string;
  endpoint?: string;
  credentials: CredentialsConfig;
  maxConcurrency: number;
  readTimeoutMs: number;
}

export type InitialPosition = { type: 'LATEST' } | { type: 'TRIM_HORIZON' } | { type: 'AT_TIMESTAMP'; timestamp: Date };

export interface EfoConfig {
  /** Required (checked) when readerType is EFO. */
  consumerName?: string;
  lifecycle: 'JOB_MANAGED' | 'SELF_MANAGED';
  describeDelayMinMs: number;
  describeDelayMaxMs: number;
  describeAttempts: number;
  subscriptionTimeoutMs: number;
  maxSubscriptionMs: number;
}

export interface InputStreamConfig {
  /** Where it was configured, for messages: `InputStream0`, `InputStream1`, … or `<streams file>[i]`. */
  group: string;
  /** The output group its records go to unless a transform module names another. */
  output: string;
  stream: StreamRef;
  client: AwsClientConfig;
  initialPosition: InitialPosition;
  readerType: 'POLLING' | 'EFO';
  efo: EfoConfig;
  discoveryIntervalMs: number;
  getRecordsMaxCount: number;
  getRecordsIntervalMs: number;
  emptyFetchIntervalMs: number;
  /** Cap of the growing pause on a shard that keeps returning nothing. */
  idleIntervalMs: number;
}

export type PartitionKeyRule = { type: 'INPUT' } | { type: 'RANDOM' } | { type: 'FIELD'; field: string };

export interface OutputStreamConfig {
  /** Its property group: `OutputStream0`, `OutputStream1`, … */
  group: string;
  stream: StreamRef;
  client: AwsClientConfig;
  maxBatchRecords: number;
  maxBatchBytes: number;
  maxRecordBytes: number;
  lingerMs: number;
  /** sink.flush-buffer.mode: ADAPTIVE sends a partial request when the sink is idle; FIXED always waits lingerMs. */
  flushMode: 'ADAPTIVE' | 'FIXED';
  maxInFlightRequests: number;
  maxBufferedRecords: number;
  partitionKey: PartitionKeyRule;
  ordering: 'KEY' | 'NONE';
  aggregation: 'NONE' | 'KPL';
  maxAggregateBytes: number;
  /** sink.fail-on-error: a non-retryable PutRecords error stops the worker instead of being retried. */
  failOnError: boolean;
}

export interface ClusterConfig {
  leaseTimeoutMs: number;
  maxLeasesPerWorker: number;
  /** worker.balance: split the lease count, or the measured input bytes per second. */
  balance: 'COUNT' | 'THROUGHPUT';
  /** worker.balance.cooldown: a lease moved for load stays this long before it may move again. */
  balanceCooldownMs: number;
}

export interface DashboardConfig {
  enabled: boolean;
  host: string;
  port: number;
  path: string;
  basic?: { username: string; password: string };
  token?: string;
  /** Dashboard.allowed-hosts: the Host names it answers to (lower case, IPv6 in brackets); others get 421. */
  allowedHosts: readonly string[];
}

export interface TransformConfig {
  /** `builtin:stock`, `builtin:pass-through`, or a module's absolute path. */
  module: string;
  timeoutMs: number;
  /** Per shard: records a module's promises may be working on at once. */
  concurrency: number;
}

export interface ApplicationConfig {
  /** Application.streams-file: more input streams, resolved to an absolute path. */
  streamsFile?: string;
  /** Application.removed-stream.retention: how long a removed (or deleted) stream's checkpoints are kept. */
  removedStreamRetentionMs: number;
}

export interface AppConfig {
  /** Every input stream: the `InputStream<n>` groups in the order of n, then the streams file's; one per stream ARN. */
  inputs: InputStreamConfig[];
  /** The first of `inputs`: the stream of single-stream commands (`generate`, `local`). */
  input: InputStreamConfig;
  application: ApplicationConfig;
  /** OutputStream0, the first of `outputs` (the default output of an input that names none). */
  output: OutputStreamConfig;
  /** Every output group, `OutputStream0` first; a transform module's `output` names one. */
  outputs: OutputStreamConfig[];
  serialization: 'JSON' | 'STRING';
  transform: TransformConfig;
  /** The runtime properties as given, by group and key (a transform module's `open` sees them). */
  properties: Readonly<Record<string, Readonly<Record<string, string>>>>;
  cluster: ClusterConfig;
  dashboard: DashboardConfig;
}
