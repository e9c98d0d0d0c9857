/**
 * Memory under backpressure: the output stream is throttled far below what the input could supply, so
 * a worker that buffered without bound would grow. On the in-memory Kinesis, with the input pre-filled
 * and the output capped (refused records come back as ProvisionedThroughputExceededException, as on
 * AWS), one worker runs for 60 s; its RSS is sampled throughout. Then the cap is lifted and every
 * record must still arrive: throttling slows the pipeline, it never drops a record.
 */
import { writeProperties } from '../../test/support/properties';
import { waitFor } from '../../test/support/wait';
import { MemoryEndpoint } from '../support/memory-endpoint';
import { ProcessMonitor } from '../support/process-stats';
import { BenchProcesses, waitForLog } from '../support/processes';
import { atMost, type Scenario } from '../scenario';
import { benchProperties, prefilled } from './throughput';

const THROTTLE = 1_000; // records/s into the output: far below what one worker reads

export const backpressure: Scenario = async ({ quick, log }) => {
  const records = quick ? 20_000 : 100_000;
  const throttledMs = quick ? 10_000 : 60_000;
  const kinesis = await MemoryEndpoint.start();
  const run = new BenchProcesses();
  let monitor: ProcessMonitor | undefined;
  try {
    const app = run.app('bench-backpressure');
    const s = await prefilled(kinesis, 'bp', records);
    await kinesis.throttle(s.output, THROTTLE);
    const properties = writeProperties(benchProperties(kinesis.endpoint, s.inputArn, s.outputArn, 'POLLING'));
    await waitForLog(run.shardflow('coordinator', properties, app), 'coordinator started', 30_000);
    const worker = run.shardflow('worker', properties, app, { env: { LOG_LEVEL: 'warn' } });
    monitor = new ProcessMonitor(worker.child.pid!, 250);
    await waitFor(async () => ((await kinesis.stats(s.output)).records > 0 ? true : undefined), 30_000, 'the first throttled record in the output');
    const throttledFrom = Date.now();
    // The throttled phase lasts a fixed time by design; the wait is the measurement window, not a guess.
    await new Promise((r) => setTimeout(r, throttledMs));
    monitor.sample();
    const duringThrottle = (await kinesis.stats(s.output)).records;
    const throttledRate = duringThrottle / ((Date.now() - throttledFrom) / 1000);
    const peakThrottled = monitor.peakRssBytes;
    const lastAt = monitor.rss[monitor.rss.length - 1].atMs;
    const window = monitor.rss.filter((r) => r.atMs >= lastAt - throttledMs);
    const firstHalf = window.slice(0, Math.floor(window.length / 2));
    const secondHalf = window.slice(Math.floor(window.length / 2));
    const mean = (xs: Array<{ bytes: number }>) => xs.reduce((sum, x) => sum + x.bytes, 0) / Math.max(1, xs.length);
    const growth = mean(secondHalf) / mean(firstHalf);
    log(`  throttled for ${throttledMs / 1000} s: ${duringThrottle} records out (${Math.round(throttledRate)}/s of ${THROTTLE}/s allowed), peak RSS ${(peakThrottled / 1024 ** 2).toFixed(0)} MiB`);

    await kinesis.throttle(s.output, 0);
    const done = await waitFor(async () => {
      const st = await kinesis.stats(s.output);
      return st.records >= records ? st : undefined;
    }, quick ? 60_000 : 180_000, `all ${records} records after the throttle is lifted`, 200);
    monitor.stop();
    return {
      scenario: 'backpressure',
      figures: [
        atMost('worker peak RSS while throttled', peakThrottled / 1024 ** 2, 'MiB', 256),
        { name: 'RSS second half / first half of the throttled window', value: growth, unit: 'x' },
        { name: 'output rate while throttled / the cap', value: throttledRate / THROTTLE, unit: 'x' },
        { name: 'records delivered once the throttle lifted', value: (100 * Math.min(done.records, records)) / records, unit: '%' },
      ],
      details: { records, throttleRecordsPerSecond: THROTTLE, throttledSeconds: throttledMs / 1000, outputDuringThrottle: duringThrottle, outputTotal: done.records, rssSamples: monitor.rss.filter((_, i) => i % 4 === 0) },
    };
  } finally {
    monitor?.stop();
    await run.stopAll();
    await kinesis.stop();
  }
};
