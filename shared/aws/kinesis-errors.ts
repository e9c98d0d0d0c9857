/** Sorts Kinesis SDK errors into what the readers and the sink do about them. */

export type KinesisErrorKind =
  | 'throttled' // back off and retry
  | 'expired-iterator' // get a new iterator after the last sequence number
  | 'transient' // network, 5xx, timeouts: retry with backoff
  | 'not-found' // stream, shard or consumer missing
  | 'fatal'; // anything else (access denied, validation): the caller gives up

const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'ThrottlingException',
  'KMSThrottlingException',
  'RequestLimitExceeded',
  'SlowDown',
]);

const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE', 'EHOSTUNREACH']);

export function classifyKinesisError(err: unknown): KinesisErrorKind {
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  const name = e?.name ?? '';
  if (THROTTLING.has(name)) return 'throttled';
  if (name === 'ExpiredIteratorException') return 'expired-iterator';
  if (name === 'ResourceNotFoundException') return 'not-found';
  const status = e?.$metadata?.httpStatusCode;
  if (status === 429) return 'throttled';
  if ((status !== undefined && status >= 500) || e?.$retryable) return 'transient';
  if (name === 'InternalFailure' || name === 'ServiceUnavailable' || name === 'TimeoutError' || name === 'AbortError') return 'transient';
  if (e?.code && TRANSIENT_CODES.has(e.code)) return 'transient';
  if (status === undefined && !name.endsWith('Exception')) return 'transient';
  return 'fatal';
}

export function describeError(err: unknown): string {
  const e = err as { name?: string; message?: string };
  return e?.name && e.message ? `${e.name}: ${e.message}` : String(err);
}

/**
 * A PutRecords request refused whole for what it carries (`ValidationException`, or kinesis-local's
 * `InvalidArgumentException`): about one of its records until shown otherwise (the sink bisects it).
 * Errors about the stream (not found, access or its KMS key denied) have their own names.
 */
export function isRequestRefusal(err: unknown): boolean {
  const name = (err as { name?: unknown } | null)?.name;
  return name === 'ValidationException' || name === 'InvalidArgumentException';
}
