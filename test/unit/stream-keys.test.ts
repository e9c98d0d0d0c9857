/**
 * The Redis names of several input streams: a stream's key from its ARN (name, account and region), the
 * lease key `<stream key>|<shard id>` and its parse, and each stream's own keys under
 * `shardflow:<app>:stream:<stream key>:…` (hash-tagged on a Redis Cluster).
 */
import { AppKeys, LEASE_KEY_SEPARATOR, leaseKey, parseLeaseKey, StreamKeys, streamKey } from '../../shared/redis/keys';

const STREAM = 'arn:aws:kinesis:us-east-1:111122223333:stream/stock-input';

describe('streamKey', () => {
  it.each([
    ['arn:aws:kinesis:us-east-1:111122223333:stream/stock-input', 'stock-input@111122223333.us-east-1'],
    ['arn:aws:kinesis:eu-west-1:123456789012:stream/Example.Input_Stream-2', 'Example.Input_Stream-2@123456789012.eu-west-1'],
    ['arn:aws-cn:kinesis:cn-north-1:444455556666:stream/orders', 'orders@444455556666.cn-north-1'],
    ['arn:aws-us-gov:kinesis:us-gov-west-1:777788889999:stream/a', 'a@777788889999.us-gov-west-1'],
  ])('of %s is %s', (arn, key) => {
    expect(streamKey(arn)).toBe(key);
  });

  it('tells streams of the same name apart by account and by region', () => {
    const keys = new Set(['arn:aws:kinesis:us-east-1:111122223333:stream/s', 'arn:aws:kinesis:us-east-2:111122223333:stream/s', 'arn:aws:kinesis:us-east-1:999988887777:stream/s'].map(streamKey));
    expect(keys.size).toBe(3);
  });

  it.each([
    ['a queue', 'arn:aws:sqs:us-east-1:111122223333:orders'],
    ['a Firehose delivery stream', 'arn:aws:firehose:us-east-1:111122223333:deliverystream/orders'],
    ['a DynamoDB stream', 'arn:aws:dynamodb:us-east-1:111122223333:table/orders/stream/2024-01-01T00:00:00.000'],
    ['a bucket', 'arn:aws:s3:::orders'],
    ['a stream name', 'stock-input'],
    ['an ARN without a stream name', 'arn:aws:kinesis:us-east-1:111122223333:stream/'],
    ['an ARN without an account', 'arn:aws:kinesis:us-east-1::stream/stock-input'],
    ['the empty string', ''],
  ])('refuses %s, naming it', (_what, arn) => {
    expect(() => streamKey(arn)).toThrow(`not a Kinesis stream ARN: ${JSON.stringify(arn)}`);
  });
});

describe('lease keys', () => {
  it('are `<stream key>|<shard id>`', () => {
    expect(leaseKey(STREAM, 'shardId-000000000000')).toBe('stock-input@111122223333.us-east-1|shardId-000000000000');
    expect(LEASE_KEY_SEPARATOR).toBe('|');
  });

  it.each([
    ['arn:aws:kinesis:us-east-1:111122223333:stream/stock-input', 'shardId-000000000000'],
    ['arn:aws:kinesis:eu-west-1:123456789012:stream/a.b_c-d', 'shardId-000000000042'],
    ['arn:aws:kinesis:eu-west-1:123456789012:stream/...', 'shard-with-many-dashes-1'],
    ['arn:aws-cn:kinesis:cn-northwest-1:444455556666:stream/_-.x.-_', 'shardId-1'],
    ['arn:aws:kinesis:ap-southeast-2:123456789012:stream/9', 'a'],
  ])('parse back to their stream key and shard id (%s, %s)', (arn, shardId) => {
    const key = leaseKey(arn, shardId);
    expect(parseLeaseKey(key)).toEqual({ streamKey: streamKey(arn), shardId });
  });

  it('never contain ":" (BullMQ refuses such job ids) nor "/"', () => {
    for (const arn of ['arn:aws:kinesis:us-east-1:111122223333:stream/stock-input', 'arn:aws-cn:kinesis:cn-north-1:444455556666:stream/a.b_c-d']) {
      const key = leaseKey(arn, 'shardId-000000000001');
      expect(key).not.toContain(':');
      expect(key).not.toContain('/');
      expect(new AppKeys('app').stream(arn).leaseKey('shardId-000000000001')).toBe(key);
    }
  });

  it('of the single-stream layout (a bare shard id) parse to undefined', () => {
    expect(parseLeaseKey('shardId-000000000000')).toBeUndefined();
    expect(parseLeaseKey('')).toBeUndefined();
    // A separator first names no stream.
    expect(parseLeaseKey('|shardId-000000000000')).toBeUndefined();
  });
});

describe('StreamKeys', () => {
  const suffixes = { checkpoints: 'checkpoints', submitted: 'submitted', shardEnds: 'shard-ends', initialShards: 'initial-shards', efoConsumer: 'efo-consumer' } as const;

  it.each([
    ['standalone', false, 'shardflow:orders'],
    ['cluster', true, 'shardflow:{orders}'],
  ])('names every key of a stream under `<app prefix>:stream:<stream key>:` (%s)', (_layout, cluster, prefix) => {
    const app = new AppKeys('orders', { cluster });
    const keys = app.stream(STREAM);
    expect(keys).toBeInstanceOf(StreamKeys);
    expect(keys.streamArn).toBe(STREAM);
    expect(keys.streamKey).toBe('stock-input@111122223333.us-east-1');
    expect(keys.prefix).toBe(`${prefix}:stream:stock-input@111122223333.us-east-1`);
    for (const [field, suffix] of Object.entries(suffixes)) {
      expect(keys[field as keyof typeof suffixes]).toBe(`${prefix}:stream:stock-input@111122223333.us-east-1:${suffix}`);
    }
    expect(keys.all).toEqual(Object.keys(suffixes).map((field) => keys[field as keyof typeof suffixes]));
    expect(new Set(keys.all).size).toBe(5);
  });

  it.each([false, true])('puts the lease lock where BullMQ keeps it, as the app keys do (cluster: %s)', (cluster) => {
    const app = new AppKeys('orders', { cluster });
    const keys = app.stream(STREAM);
    const lease = leaseKey(STREAM, 'shardId-000000000007');
    expect(keys.leaseKey('shardId-000000000007')).toBe(lease);
    expect(keys.leaseLock('shardId-000000000007')).toBe(app.leaseLock(lease));
    expect(keys.leaseLock('shardId-000000000007')).toBe(`${app.prefix}:leases:stock-input@111122223333.us-east-1|shardId-000000000007:lock`);
  });

  it('keeps streams of other apps, other accounts and other regions apart', () => {
    const all = [
      new AppKeys('orders').stream(STREAM),
      new AppKeys('payments').stream(STREAM),
      new AppKeys('orders').stream('arn:aws:kinesis:us-east-1:999988887777:stream/stock-input'),
      new AppKeys('orders').stream('arn:aws:kinesis:eu-west-1:111122223333:stream/stock-input'),
    ].flatMap((k) => k.all);
    expect(new Set(all).size).toBe(all.length);
  });

  it('refuses an ARN that is not a stream\'s', () => {
    expect(() => new AppKeys('orders').stream('arn:aws:sqs:us-east-1:111122223333:orders')).toThrow('not a Kinesis stream ARN');
  });
});

describe('AppKeys of several streams', () => {
  it.each([
    [false, 'shardflow:orders'],
    [true, 'shardflow:{orders}'],
  ])('names the stream registry, the layout and the single-stream layout\'s keys under the app prefix (cluster: %s)', (cluster, prefix) => {
    const app = new AppKeys('orders', { cluster });
    expect(app.streams).toBe(`${prefix}:streams`);
    expect(app.layout).toBe(`${prefix}:layout`);
    expect(app.legacy).toEqual({
      checkpoints: `${prefix}:checkpoints`,
      submitted: `${prefix}:submitted`,
      shardEnds: `${prefix}:shard-ends`,
      initialShards: `${prefix}:initial-shards`,
      efoConsumer: `${prefix}:efo-consumer`,
    });
  });

  it('keeps the single-stream layout\'s keys apart from every stream\'s own keys', () => {
    const app = new AppKeys('orders');
    const streamKeys = new Set(app.stream(STREAM).all);
    for (const key of Object.values(app.legacy)) expect(streamKeys.has(key)).toBe(false);
  });
});
