/**
 * Memory under backpressure: the output stream is throttled far below what the input could supply, so
 * a worker that buffered without bound would grow. On the in-memory Kinesis, with the input pre-filled
 * and the output capped (refused records come back as ProvisionedThroughputExceededException, as on
 * AWS), one worker runs for 60 s; its RSS is sampled throughout. Then the cap is lifted and every
 * record must still arrive: throttling slows the pipeline, it never drops a record.
 */
import { createRedis, deleteKeysUnder } from '../../shared/redis/connection';
import { AppKeys } from '../../shared/redis/keys';
import { spawnCli, stopCli, waitForLog, type CliProcess } from '../../test/support/cli';
import { writeProperties } from '../../test/support/properties';
import { uniqueName, waitFor } from '../../test/support/wait';
import { MemoryEndpoint } from '../support/memory-endpoint';
import { ProcessMonitor } from '../support/process-stats';
import { atMost, type Scenario } from '../scenario';
import { benchProperties, prefilled } from './throughput';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const THROTTLE = 1_000; // records/s into the output: far below what one worker reads

export const backpressure: Scenario = async ({ quick, log }) => {
  const records = quick ? 20_000 : 100_000;
  const throttledMs = quick ? 10_000 : 60_000;
  const kinesis = await MemoryEndpoint.start();
  const app = uniqueName('bench-backpressure');
  const redis = createRedis(REDIS_URL);
  const processes: CliProcess[] = [];
  try {
    const s = await prefilled(kinesis, 'bp', records);
    await kinesis.throttle(s.output, THROTTLE);
    const properties = writeProperties(benchProperties(kinesis.endpoint, s.inputArn, s.outputArn, 'POLLING'));
    const args = (command: string) => [command, '--properties', properties, '--redis', REDIS_URL, '--app', app];
    processes.push(spawnCli(args('coordinator'), { LOG_LEVEL: 'info' }));
    await waitForLog(processes[0], 'coordinator started', 30_000);
    const worker = spawnCli(args('worker'), { LOG_LEVEL: 'warn' });
    processes.push(worker);
    const monitor = new ProcessMonitor(worker.child.pid!, 250);
    await waitFor(async () => ((await kinesis.stats(s.output)).records > 0 ? true : undefined), 30_000, 'the first throttled record in the output');
    const throttledFrom = Date.now();
    // The throttled phase lasts a fixed time by design; the wait is the measurement window, not a guess.
    await new Promise((r) => setTimeout(r, throttledMs));
    monitor.sample();
    const duringThrottle = (await kinesis.stats(s.output)).records;
    const throttledRate = duringThrottle / ((Date.now() - throttledFrom) / 1000);
    const peakThrottled = monitor.peakRssBytes;
    const window = monitor.rss.filter((r) => r.atMs >= monitor.rss[monitor.rss.length - 1].atMs - throttledMs);
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
    for (const p of processes.reverse()) await stopCli(p, 15_000);
    await deleteKeysUnder(redis, new AppKeys(app).prefix);
    redis.disconnect();
    await kinesis.stop();
  }
};
