/**
 * Two settings that keep an idle worker cheap (issue #14: 2,048 idle leases on 32 workers), each of which
 * a refactor could drop without any other test noticing.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import perfHooks from 'node:perf_hooks';
import { GetRecordsCommand } from '@aws-sdk/client-kinesis';
import { createKinesisClient } from '../../shared/aws/kinesis-client';
import { EVENT_LOOP_SAMPLE_MS, Metrics } from '../../shared/metrics';

describe('an idle process', () => {
  it('samples its event-loop delay every 100 ms, not every 10 ms (a hundred wake-ups a second)', () => {
    const monitor = jest.spyOn(perfHooks, 'monitorEventLoopDelay');
    try {
      new Metrics();
      expect(monitor).toHaveBeenCalledWith({ resolution: EVENT_LOOP_SAMPLE_MS });
      expect(EVENT_LOOP_SAMPLE_MS).toBeGreaterThanOrEqual(100);
    } finally {
      monitor.mockRestore();
    }
  });

  describe('Kinesis client', () => {
    let server: Server;
    let endpoint: string;
    beforeAll(async () => {
      server = createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
          res.end(JSON.stringify({ Records: [], NextShardIterator: 'next', MillisBehindLatest: 0 }));
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it("builds a command's middleware chain once, not on every call", async () => {
      const client = createKinesisClient({
        group: 'InputStream0',
        region: 'us-east-1',
        endpoint,
        credentials: { provider: 'BASIC', accessKeyId: 'a', secretAccessKey: 'b' },
        maxConcurrency: 4,
        readTimeoutMs: 5000,
      });
      const resolve = jest.spyOn(GetRecordsCommand.prototype, 'resolveMiddleware');
      try {
        for (let i = 0; i < 3; i++) {
          const out = await client.send(new GetRecordsCommand({ ShardIterator: 'it', Limit: 10 }));
          expect(out.NextShardIterator).toBe('next');
        }
        expect(resolve).toHaveBeenCalledTimes(1);
      } finally {
        resolve.mockRestore();
        client.destroy();
      }
    });
  });
});
