/**
 * `shardflow generate --template FILE` (Kinesis Data Generator templates) and `--from FILE [--loop]`
 * (a captured JSON Lines file replayed in order), through the real CLI against kinesis-local; and
 * `shardflow local` (`npm start`) running its stack on either.
 */
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../cli/local/free-port';
import { createStream, json, localClient, readAll, startKinesisLocal, type KinesisLocal } from '../support/kinesis';
import { theirDeaggregate } from '../support/kinesis-agg';
import { localProperties, writeProperties } from '../support/properties';
import { runCli, spawnCli, waitForLog, type CliProcess } from '../support/cli';
import { stopWithDescendants } from '../support/process-tree';
import { dropApp, REDIS_URL, testRedis } from '../support/redis';
import { uniqueName, waitFor } from '../support/wait';

const TEMPLATES = join(__dirname, '..', '..', 'examples', 'templates');
const dir = mkdtempSync(join(tmpdir(), 'shardflow-generate-template-'));
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** What a process printed besides its JSON log lines (such as the notice that Node 20 is past its end of life). */
const messages = (output: string) => output.trim().split('\n').filter((line) => !line.startsWith('{"level":'));

function writeFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** Stock records as a capture holds them: odd lines the data as JSON, even ones as the AWS CLI prints them, keyed. */
function capture(n: number): { lines: string[]; data: string[]; keys: (string | undefined)[] } {
  const data = Array.from({ length: n }, (_, i) => JSON.stringify({ event_time: `2026-01-01T00:00:${String(i % 60).padStart(2, '0')}.000000`, ticker: 'MSFT', price: i, n: i + 1 }));
  const keys = data.map((_, i) => (i % 2 === 1 ? `key-${i + 1}` : undefined));
  const lines = data.map((d, i) => (keys[i] === undefined ? d : JSON.stringify({ Data: b64(d), PartitionKey: keys[i], SequenceNumber: '49000' })));
  return { lines, data, keys };
}

describe('generate against kinesis-local', () => {
  let kinesis: KinesisLocal;
  let client: KinesisClient;

  beforeAll(async () => {
    kinesis = await startKinesisLocal();
    client = localClient(kinesis.endpoint);
  });

  afterAll(async () => {
    client.destroy();
    await kinesis.stop();
  });

  async function stream(prefix: string, shards: number): Promise<{ arn: string; properties: string }> {
    const arn = await createStream(client, uniqueName(prefix), shards);
    return { arn, properties: writeProperties(localProperties(kinesis.endpoint, arn, arn)) };
  }

  test('--template on KDG\'s stock ticker template writes records of its shape, one line each, on random keys', async () => {
    const { arn, properties } = await stream('tpl-kdg', 2);
    const { code, output } = await runCli(['generate', '--properties', properties, '--template', join(TEMPLATES, 'kdg-stock-ticker.kdg'), '--count', '300', '--rate', '3000']);
    expect(code).toBe(0);
    expect(output).toMatch(/generated 300 records from template kdg-stock-ticker\.kdg into .*tpl-kdg-/);

    const records = await readAll(client, arn);
    expect(records).toHaveLength(300);
    for (const record of records) {
      const text = record.data.toString('utf8');
      // KDG removes the template's line breaks and ends each record with one.
      expect(text.endsWith('\n')).toBe(true);
      expect(text.slice(0, -1)).not.toMatch(/[\r\n]/);
      const value = json(record);
      expect(Object.keys(value)).toEqual(['ticker', 'price']);
      expect(['AMZN', 'MSFT', 'GOOG']).toContain(value.ticker);
      expect(Number.isInteger(value.price)).toBe(true);
      expect(value.price).toBeGreaterThanOrEqual(10);
      expect(value.price).toBeLessThanOrEqual(150);
    }
    expect(new Set(records.map((r) => json(r).ticker)).size).toBe(3);
    expect(new Set(records.map((r) => r.partitionKey)).size).toBe(300);
    expect(new Set(records.map((r) => r.shardId)).size).toBe(2);
  });

  test('--template with name.*, internet.* and commerce.* helpers (faker 10 loaded through a real import()), aggregated', async () => {
    const { arn, properties } = await stream('tpl-orders', 1);
    const { code, output } = await runCli(['generate', '--properties', properties, '--template', join(TEMPLATES, 'orders.kdg'), '--count', '60', '--rate', '2000', '--aggregate', '--partition-key', 'constant']);
    expect(code).toBe(0);
    expect(output).toMatch(/generated 60 records from template orders\.kdg into .*, packed into \d+ KPL aggregated records/);

    const orders = (await readAll(client, arn)).flatMap((r) => theirDeaggregate(r.data, r.partitionKey));
    expect(orders).toHaveLength(60);
    for (const order of orders) {
      expect(order.partitionKey).toBe('partitionkey');
      const o = json(order) as { order_id: string; ordered_at: string; customer: Record<string, string>; product: string; department: string; price: number; quantity: number; channel: string };
      expect(o.order_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(o.ordered_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(Math.abs(Date.parse(o.ordered_at) - Date.now())).toBeLessThan(10 * 60_000);
      expect(o.customer.name).toMatch(/^\S+ \S.*$/);
      expect(o.customer.email).toMatch(/^[^@\s]+@[^@\s]+$/);
      expect(o.customer.ip).toMatch(/^\d{1,3}(\.\d{1,3}){3}$/);
      expect(o.customer.user_agent).toMatch(/^\S+\/\S+/);
      expect(o.product.length).toBeGreaterThan(0);
      expect(o.department.length).toBeGreaterThan(0);
      expect(o.price).toBeGreaterThanOrEqual(5);
      expect(o.price).toBeLessThanOrEqual(500);
      expect([1, 2, 3, 4, 5]).toContain(o.quantity);
      expect(['web', 'mobile', 'store']).toContain(o.channel);
    }
  });

  test('--template stock.kdg with --partition-key ticker: stock.py\'s shape, keyed by ticker', async () => {
    const { arn, properties } = await stream('tpl-stock', 2);
    const { code } = await runCli(['generate', '--properties', properties, '--template', join(TEMPLATES, 'stock.kdg'), '--count', '80', '--rate', '2000', '--partition-key', 'ticker']);
    expect(code).toBe(0);
    const records = await readAll(client, arn);
    expect(records).toHaveLength(80);
    for (const record of records) {
      const stock = json(record);
      expect(Object.keys(stock)).toEqual(['event_time', 'ticker', 'price']);
      expect(record.partitionKey).toBe(stock.ticker);
      expect(stock.event_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
      expect(['AAPL', 'AMZN', 'MSFT', 'INTC', 'TBV']).toContain(stock.ticker);
      expect(Math.round((stock.price as number) * 100)).toBeCloseTo((stock.price as number) * 100, 6);
    }
  });

  test('--from replays a captured file in order at --rate, keeps each line\'s PartitionKey, and stops at its end', async () => {
    const { arn, properties } = await stream('from', 1);
    const { lines, data, keys } = capture(120);
    const file = writeFile('capture.jsonl', ['', ...lines.slice(0, 60), '   ', ...lines.slice(60), ''].join('\n'));
    const { code, output } = await runCli(['generate', '--properties', properties, '--from', file, '--rate', '200', '--partition-key', 'constant']);
    expect(code).toBe(0);
    expect(output).toMatch(/replayed 120 records from capture\.jsonl \(120 in the file, its end reached once\) into .*from-/);
    // 120 records at 200/s: the last batch is not due before 0.5 s (a lower bound: a slow machine only adds to it).
    expect(Number(/ in ([\d.]+) s /.exec(output)![1])).toBeGreaterThanOrEqual(0.45);

    // One shard: the stream's order is the order they were written in.
    const records = await readAll(client, arn);
    expect(records.map((r) => r.data.toString('utf8'))).toEqual(data);
    expect(records.map((r) => r.partitionKey)).toEqual(keys.map((k) => k ?? 'partitionkey'));
  });

  test('--from --loop starts the file over at its end until --count', async () => {
    const { arn, properties } = await stream('loop', 1);
    const { lines } = capture(20);
    const { code, output } = await runCli(['generate', '--properties', properties, '--from', writeFile('loop.jsonl', lines.join('\n')), '--loop', '--count', '50', '--rate', '2000']);
    expect(code).toBe(0);
    expect(output).toContain('replayed 50 records from loop.jsonl (20 in the file, its end reached 2 times)');
    const order = (await readAll(client, arn)).map((r) => json(r).n);
    expect(order).toEqual([...Array.from({ length: 20 }, (_, i) => i + 1), ...Array.from({ length: 20 }, (_, i) => i + 1), ...Array.from({ length: 10 }, (_, i) => i + 1)]);
  });

  test('a template or file that cannot be used is exit 2 at start, one line naming the option, value and what is allowed; nothing is sent', async () => {
    const { arn, properties } = await stream('refused', 1);
    const template = join(TEMPLATES, 'kdg-stock-ticker.kdg');
    const capturePath = writeFile('ok.jsonl', capture(3).lines.join('\n'));
    const cases: Array<[string[], string | RegExp]> = [
      [['--template', template, '--from', capturePath], `Invalid argument: --from: value ${JSON.stringify(capturePath)} is not allowed with --template ${JSON.stringify(template)}; allowed: one source of records: --template FILE, --from FILE, or neither (stock records)`],
      [['--loop'], 'Invalid argument: --loop: value true is not allowed without --from; allowed: --loop with --from FILE (replay the file over and over)'],
      [['--template', writeFile('typo.kdg', '{\n  "who": "{{name.frstName}}"\n}')], /^Invalid argument: --template: ".*typo\.kdg" line 2: \{\{name\.frstName\}\}: unknown helper "name\.frstName"; allowed: in name\.\*, one of name\.findName, name\.firstName, .*person\.middleName/],
      [['--template', writeFile('bad-args.kdg', '{"n": {{random.number({"min":1,"max":})}}}')], /^Invalid argument: --template: ".*bad-args\.kdg" line 1: .*random\.number argument options .* is not allowed; allowed: a max \(a number\), or \{"min"/],
      [['--template', join(dir, 'missing.kdg')], /^Invalid argument: --template: value ".*missing\.kdg" is not allowed; allowed: a Kinesis Data Generator record template file that exists/],
      [['--template', join(TEMPLATES, 'orders.kdg'), '--partition-key', 'ticker'], /^Invalid argument: --partition-key: value "ticker" is not allowed with --template ".*orders\.kdg": its records are not JSON objects with a "ticker" field; allowed: random \| constant$/],
      [['--from', writeFile('bad-line.jsonl', `${capture(3).lines.join('\n')}\nnot json\n`)], /^Invalid argument: --from: ".*bad-line\.jsonl": line 4 is not JSON \(/],
      [['--from', writeFile('blank.jsonl', '\n\n')], /^Invalid argument: --from: value ".*blank\.jsonl" is not allowed; allowed: a JSON Lines file with at least one record \(it has none\)$/],
    ];
    for (const [args, message] of cases) {
      const { code, output } = await runCli(['generate', '--properties', properties, '--count', '5', ...args]);
      expect([args, code]).toEqual([args, 2]);
      const lines = messages(output);
      expect([args, lines.length]).toEqual([args, 1]);
      if (typeof message === 'string') expect(lines[0]).toBe(message);
      else expect(lines[0]).toMatch(message);
    }
    expect(await readAll(client, arn)).toHaveLength(0);
  });
});

describe('shardflow local on a template or a captured file', () => {
  const stacks: CliProcess[] = [];
  const apps: string[] = [];

  // The stack first, so nothing writes the app's keys again after they are dropped from the shared Redis.
  afterEach(async () => {
    for (const stack of stacks.splice(0)) await stopWithDescendants(stack);
    const redis = testRedis();
    try {
      for (const app of apps.splice(0)) await dropApp(redis, app);
    } finally {
      redis.disconnect();
    }
  });

  async function startStack(prefix: string, args: string[]): Promise<{ stack: CliProcess; client: KinesisClient; inputArn: string; outputArn: string }> {
    const app = uniqueName(prefix);
    apps.push(app);
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const inputArn = `arn:aws:kinesis:us-east-1:000000000000:stream/${app}-in`;
    const outputArn = `arn:aws:kinesis:us-east-1:000000000000:stream/${app}-out`;
    const properties = writeProperties(localProperties(endpoint, inputArn, outputArn));
    const logs = mkdtempSync(join(tmpdir(), 'shardflow-local-logs-'));
    const stack = spawnCli(['local', '--properties', properties, '--redis', REDIS_URL, '--app', app, '--workers', '1', '--shards', '2', '--logs', logs, ...args]);
    stacks.push(stack);
    return { stack, client: localClient(endpoint), inputArn, outputArn };
  }

  /** The output stream's records once there are at least `n` (the stream exists only once the stack made it). */
  async function outputOf(stack: CliProcess, client: KinesisClient, arn: string, n: number) {
    return waitFor(
      async () => {
        const found = await readAll(client, arn);
        return found.length >= n ? found : undefined;
      },
      90_000,
      () => `${n} records in the output stream\n${stack.output()}`,
      500,
      () => {
        if (stack.child.exitCode !== null) throw new Error(`the local stack exited with ${stack.child.exitCode}:\n${stack.output()}`);
      },
    );
  }

  test('--template: the stack\'s generator writes the template\'s records and the workers transform them', async () => {
    const { stack, client, inputArn, outputArn } = await startStack('it-local-tpl', ['--rate', '40', '--template', join(TEMPLATES, 'stock.kdg')]);
    try {
      await waitForLog(stack, 'the generator (40 records/s from template stock.kdg)', 60_000);
      const written = await outputOf(stack, client, outputArn, 10);
      for (const record of written) {
        const stock = json(record);
        // The built-in transform's mark on a record of the template's shape.
        expect(stock.ticker).toBe('AMZN');
        expect(stock.event_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
      }
      const input = await readAll(client, inputArn);
      expect(input.length).toBeGreaterThanOrEqual(10);
      for (const record of input) expect(record.data.toString('utf8')).toMatch(/^\{ {4}"event_time": "[^"]+", {4}"ticker": "[A-Z]+", {4}"price": [\d.]+\}\n$/);
      stack.child.kill('SIGINT');
      expect((await stack.exited).code).toBe(0);
    } finally {
      client.destroy();
    }
  });

  test('--from without --loop: every captured record goes through, and the stack keeps running after its generator is done', async () => {
    const { lines, data } = capture(30);
    const file = writeFile('local-capture.jsonl', lines.join('\n'));
    const { stack, client, outputArn } = await startStack('it-local-from', ['--rate', '100', '--from', file]);
    try {
      await waitForLog(stack, 'the generator has written every record it had', 90_000);
      const written = await outputOf(stack, client, outputArn, 30);
      expect(written.map((r) => json(r).n).sort((a, b) => (a as number) - (b as number))).toEqual(data.map((d) => JSON.parse(d).n));
      expect(stack.output()).toContain('the generator (100 records/s replaying local-capture.jsonl once)');
      expect(stack.child.exitCode).toBeNull();
      stack.child.kill('SIGINT');
      expect((await stack.exited).code).toBe(0);
    } finally {
      client.destroy();
    }
  });

  test('a template that cannot be used stops the stack at start with exit 2, before it starts anything', async () => {
    const { stack, client } = await startStack('it-local-bad', ['--template', writeFile('local-typo.kdg', '{{commerce.prise}}')]);
    client.destroy();
    const { code } = await stack.exited;
    expect(code).toBe(2);
    expect(messages(stack.output())).toHaveLength(1);
    expect(messages(stack.output())[0]).toMatch(/^Invalid argument: --template: ".*local-typo\.kdg" line 1: \{\{commerce\.prise\}\}: unknown helper "commerce\.prise"; allowed: in commerce\.\*, one of commerce\.color, /);
    expect(stack.output()).not.toContain('started:');
  });
});
