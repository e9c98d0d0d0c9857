/**
 * Prometheus metrics of one shardflow process (prom-client). Counters are incremented per batch, not
 * per record, so the hot path pays one call per batch. Every series carries the app and process id.
 */
import { Counter, Gauge, Histogram, Registry, Summary, collectDefaultMetrics } from 'prom-client';

/** How often the process's event-loop delay is sampled for the `nodejs_eventloop_lag_*` metrics. */
export const EVENT_LOOP_SAMPLE_MS = 100;

export class Metrics {
  readonly registry = new Registry();

  readonly recordsRead = new Counter({ name: 'shardflow_records_read_total', help: 'Records read from the input stream.', labelNames: ['stream', 'shard'], registers: [this.registry] });
  readonly recordsTransformed = new Counter({ name: 'shardflow_records_transformed_total', help: 'Output records the transform made and handed to the sink.', labelNames: ['stream'], registers: [this.registry] });
  readonly recordsFiltered = new Counter({ name: 'shardflow_records_filtered_total', help: 'Input records the transform filtered out (answered nothing): acknowledged and checkpointed, not written.', labelNames: ['stream'], registers: [this.registry] });
  readonly recordsWritten = new Counter({ name: 'shardflow_records_written_total', help: 'Records acknowledged by the output stream (`stream`: its ARN; `output`: its property group).', labelNames: ['stream', 'output'], registers: [this.registry] });
  readonly recordsDeadLettered = new Counter({ name: 'shardflow_records_dead_lettered_total', help: 'Records sent to the dead-letter queue, by reason.', labelNames: ['stream', 'reason'], registers: [this.registry] });
  readonly recordsDuplicated = new Counter({
    name: 'shardflow_records_duplicated_total',
    help: 'Records read again after an unclean lease hand-over that the previous owner had already sent on (possible duplicates).',
    labelNames: ['stream', 'shard'],
    registers: [this.registry],
  });
  readonly aggregatedRecordsRead = new Counter({
    name: 'shardflow_aggregated_records_read_total',
    help: 'KPL aggregated Kinesis records read (each counted once, before it is split into its user records; corrupt ones included).',
    labelNames: ['stream', 'shard'],
    registers: [this.registry],
  });
  readonly userRecordsOutsideShard = new Counter({
    name: 'shardflow_user_records_outside_shard_total',
    help: "User records of KPL aggregates whose hash key lies outside their shard's hash-key range (delivered all the same).",
    labelNames: ['stream', 'shard'],
    registers: [this.registry],
  });
  readonly recordsReplayed = new Counter({ name: 'shardflow_dead_letters_replayed_total', help: 'Dead letters replayed, by outcome.', labelNames: ['outcome'], registers: [this.registry] });
  readonly putRecordsDuration = new Histogram({
    name: 'shardflow_put_records_duration_seconds',
    help: 'PutRecords request latency.',
    labelNames: ['output'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly putRecordsRetried = new Counter({ name: 'shardflow_put_records_retried_records_total', help: 'Records re-sent after a failed or partly failed PutRecords.', labelNames: ['output'], registers: [this.registry] });
  readonly putRecordsThrottled = new Counter({ name: 'shardflow_put_records_throttled_records_total', help: 'Records the output stream throttled.', labelNames: ['output'], registers: [this.registry] });
  readonly sinkOrderViolations = new Counter({ name: 'shardflow_sink_order_violations_total', help: 'Records refused while a newer record of their partition key in the same PutRecords request was accepted: they land after it (per-key order broken).', labelNames: ['output'], registers: [this.registry] });
  readonly sinkMisplacedRecords = new Counter({ name: 'shardflow_sink_misplaced_records_total', help: 'With KPL aggregation: records whose aggregate landed on a shard whose hash range does not hold them (the output was resharded meanwhile); re-sent inside their range.', labelNames: ['output'], registers: [this.registry] });
  readonly sinkRefusedRecords = new Counter({ name: 'shardflow_sink_refused_records_total', help: 'Records Kinesis refused for themselves (found by bisecting a request it refused whole with ValidationException or InvalidArgumentException): they go to the dead-letter queue.', labelNames: ['output'], registers: [this.registry] });
  readonly sinkBisections = new Counter({ name: 'shardflow_sink_bisections_total', help: 'PutRecords requests refused whole with ValidationException or InvalidArgumentException and bisected to find the records refused, by verdict (records, stream).', labelNames: ['output', 'verdict'], registers: [this.registry] });
  readonly sinkOutputFailing = new Gauge({ name: 'shardflow_sink_output_failing', help: '1 while PutRecords to the output stream fails with a non-retryable error (stream missing, access or KMS key denied, validation): records wait and are retried; 0 otherwise.', labelNames: ['output'], registers: [this.registry] });
  readonly sinkFatalErrors = new Counter({ name: 'shardflow_sink_fatal_errors_total', help: 'PutRecords requests that failed with a non-retryable error, by error name (ResourceNotFoundException, AccessDeniedException, KMSDisabledException, ...).', labelNames: ['output', 'error'], registers: [this.registry] });
  readonly readThrottles = new Counter({ name: 'shardflow_read_throttles_total', help: 'Throttled or retried reads (GetRecords, SubscribeToShard).', labelNames: ['stream', 'shard'], registers: [this.registry] });
  readonly millisBehindLatest = new Gauge({ name: 'shardflow_millis_behind_latest', help: 'How far each held shard is behind the tip of its stream.', labelNames: ['stream', 'shard', 'reader'], registers: [this.registry] });
  readonly readinessCheck = new Gauge({
    name: 'shardflow_readiness_check',
    help: "1 while this readiness check of /readyz passes, 0 while it fails (`check`: redis, kinesis, output-stream, output-writes, ...); read at each scrape.",
    labelNames: ['check'],
    registers: [this.registry],
  });
  readonly leasesHeld = new Gauge({ name: 'shardflow_leases_held', help: 'Shard leases this worker holds.', registers: [this.registry] });
  readonly leaseGains = new Counter({ name: 'shardflow_lease_gains_total', help: 'Leases taken.', registers: [this.registry] });
  readonly leaseLosses = new Counter({ name: 'shardflow_lease_losses_total', help: 'Leases lost (expired, fenced or renewal failed).', registers: [this.registry] });
  readonly shardsTrimmed = new Counter({
    name: 'shardflow_shards_trimmed_total',
    help: 'Shards that disappeared before they were read to their end (trimmed past the retention period): the records after each one\'s checkpoint may have been lost. Each such shard is finished.',
    labelNames: ['stream'],
    registers: [this.registry],
  });
  readonly leaseReleases = new Counter({ name: 'shardflow_lease_releases_total', help: 'Leases handed back gracefully (rebalance or stop).', registers: [this.registry] });
  readonly sinkRequestLimit = new Gauge({
    name: 'shardflow_sink_requests_in_flight_limit',
    help: 'PutRecords requests the sink allows in flight now (AIMD: halved when throttled, +1 per request accepted whole, 1 while the output fails), up to sink.requests.max-inflight.',
    labelNames: ['output'],
    registers: [this.registry],
  });
  readonly sinkBuffered = new Gauge({ name: 'shardflow_sink_buffered_records', help: 'Records accepted by the sink and not yet acknowledged.', registers: [this.registry] });
  readonly sinkCapacity = new Gauge({ name: 'shardflow_sink_buffer_capacity_records', help: 'The sink buffer size (sink.requests.max-buffered).', registers: [this.registry] });
  readonly redisErrors = new Counter({ name: 'shardflow_redis_errors_total', help: 'Redis errors seen by shardflow.', registers: [this.registry] });
  readonly kinesisErrors = new Counter({ name: 'shardflow_kinesis_errors_total', help: 'Kinesis call errors, by operation and kind.', labelNames: ['operation', 'kind'], registers: [this.registry] });
  readonly isLeader = new Gauge({ name: 'shardflow_coordinator_leader', help: '1 while this coordinator leads.', registers: [this.registry] });
  readonly leaderLeaseExpired = new Counter({
    name: 'shardflow_coordinator_leader_lease_expired_total',
    help: 'Times this coordinator stopped leading because it could not renew its leader lease in time (Redis unreachable or too slow).',
    registers: [this.registry],
  });
  readonly shards = new Gauge({ name: 'shardflow_shards', help: 'Shards of each input stream at its last discovery, by state.', labelNames: ['stream', 'state'], registers: [this.registry] });

  readonly inputStreams = new Gauge({
    name: 'shardflow_input_streams',
    help: 'Input streams the leading coordinator knows, by state: active (read), removed (taken out of the configuration; checkpoints kept for Application.removed-stream.retention) or deleted (ResourceNotFound in Kinesis: its leases ended).',
    labelNames: ['state'],
    registers: [this.registry],
  });
  readonly inputStreamDeleted = new Gauge({
    name: 'shardflow_input_stream_deleted',
    help: '1 for each configured input stream Kinesis says does not exist (deleted): its leases ended, the other streams flow. Gone when the stream is back or out of the configuration.',
    labelNames: ['stream'],
    registers: [this.registry],
  });
  readonly configReloadFailures = new Counter({
    name: 'shardflow_config_reload_failures_total',
    help: 'Re-reads of the properties (and streams file) that failed (unreadable or invalid): the process keeps the input streams it had.',
    registers: [this.registry],
  });

  constructor(defaultLabels: Record<string, string> = {}) {
    this.registry.setDefaultLabels(defaultLabels);
    // prom-client samples the event-loop delay every 10 ms by default: a hundred wake-ups a second that
    // cost an idle process about 0.65 % of a core on the 2-core bench machine, half an idle worker's whole
    // cost (and 32 workers on one host pay it 32 times). Every 100 ms still catches every stall longer
    // than that, which is what the lag metrics are for; it costs about 0.1 %.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  }

  /**
   * Removes every series of one shard: each series of these metrics whose `shard` label is `shardId` (and,
   * where the metric has a `stream` label, whose stream is `stream`). Called when a lease ends, however it
   * ends, so a worker's /metrics shows the shards it holds and a long-lived worker does not pile up series
   * for every shard it ever read. Covers any metric of this class with a `shard` label, present or future.
   * A counter whose shard comes back starts again at 0, which Prometheus reads as a counter reset.
   */
  async removeShardSeries(stream: string, shardId: string): Promise<void> {
    for (const metric of Object.values(this)) {
      if (!(metric instanceof Counter || metric instanceof Gauge || metric instanceof Histogram || metric instanceof Summary)) continue;
      const seen = new Set<string>();
      // get() of a metric without collect() waits for no I/O: every series is gone before any timer or I/O callback runs.
      for (const { labels } of (await metric.get()).values) {
        if (labels.shard !== shardId || (labels.stream !== undefined && labels.stream !== stream)) continue;
        // A histogram's or summary's samples carry `le` or `quantile` beside the series' own labels.
        const { le: _le, quantile: _quantile, ...series } = labels as Record<string, string | number>;
        const key = JSON.stringify(Object.entries(series).sort());
        if (seen.has(key)) continue;
        seen.add(key);
        metric.remove(series);
      }
    }
  }
}

/** One registry per process; tests that build components without a process get a private one. */
let processMetrics: Metrics | undefined;

export function initProcessMetrics(labels: Record<string, string>): Metrics {
  processMetrics = new Metrics(labels);
  return processMetrics;
}

export function metrics(): Metrics {
  processMetrics ??= new Metrics();
  return processMetrics;
}
