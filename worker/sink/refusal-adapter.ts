/**
 * What the bisection of refused requests (`refused-requests.ts`) may do to the sink's records, in the
 * sink's terms: plain requests, acknowledgements, records handed back to their writers, records requeued
 * at the front, keys freed, and the output's failure or backoff.
 */
import { metrics } from '../../shared/metrics';
import type { RefusalSink } from './refused-requests';
import type { RequestSender, SenderParts } from './request-sender';
import { outputRecordOf, requestEntry, type SinkEntry } from './sink-entry';

export function refusalSinkOf(parts: SenderParts, sender: RequestSender): RefusalSink<SinkEntry> {
  const { buffer, picker, retryPause, stats } = parts;
  return {
    put: (entries) => {
      stats.requests += 1;
      return parts.putter.putRecords(parts.streamArn, entries.map(requestEntry));
    },
    acknowledge: (entry) => {
      parts.health.succeeded();
      metrics().recordsWritten.inc({ stream: parts.streamArn, output: parts.settings.output ?? 'OutputStream0' });
      sender.acknowledge([entry], 0, 1);
      buffer.wake();
    },
    reject: (entry, reason) => {
      if (buffer.isGone(entry.owner)) {
        stats.droppedRecords += 1;
      } else {
        stats.refusedRecords += 1;
        entry.group.reject(outputRecordOf(entry), reason);
      }
      buffer.settled(1);
    },
    release: (entries) => picker.release(entries),
    requeue: (entries) => {
      buffer.requeue(entries);
      picker.reset();
    },
    isGone: (entry) => buffer.isGone(entry.owner),
    drop: (entries) => {
      stats.droppedRecords += entries.length;
      buffer.settled(entries.length);
    },
    streamFailed: (err, kind) => {
      if (sender.nonRetryable(err, kind)) return buffer.wake();
      retryPause.step(sender.retryBackoff());
    },
    backOff: (throttled) => {
      if (throttled) parts.limiter.throttled();
      retryPause.stepOncePerBurst(sender.retryBackoff(), throttled ? 50 : 0);
    },
    get paused() {
      return sender.closed || sender.halted || retryPause.active;
    },
    // Nothing in flight after a pump: what waits is held back (by the refused record's own key, say,
    // when every record has one key, as stock.py writes them) and will not decide anything.
    get idle() {
      return sender.inFlight === 0;
    },
    probe: parts.putter.ping ? () => parts.putter.ping!(parts.streamArn) : undefined,
  };
}
