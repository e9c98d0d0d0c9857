/**
 * Several input streams (issue #27) where the streams differ: `worker.balance = THROUGHPUT` over two
 * streams of different rates whose shard ids are the same (shardId-000000000000, … in both), and
 * credentials per input stream (a role assumed for one input only). Real processes on the bench's
 * in-memory Kinesis and real Redis.
 */
import { ListShardsCommand, PutRecordsCommand, type Shard } from '@aws-sdk/client-kinesis';
import { assertUp, useFaultPipelines } from '../support/fault-pipeline';
import { localClientProperties, localProperties, writeProperties } from '../support/properties';
import { compareDelivery } from '../support/delivery';
import { json, readAll } from '../support/kinesis';
import { startStsServer } from '../support/sts-server';
import { startSigningLog } from '../support/signing-log';
import { uniqueName, waitFor } from '../support/wait';
import { AppKeys, leaseKey } from '../../shared/redis/keys';
import type { WorkerStatus } from '../../worker/status-reporter';

const f = useFaultPipelines();

/** Every 100 ms, `perTick` records of ~500 bytes to each shard of the stream. */
function produce(arn: string, shards: Shard[], perTick: number, prefix: string): { stop(): Promise<void> } {
  let stopped = false;
  let n = 0;
  const pad = 'x'.repeat(400);
  const loop = (async () => {
    while (!stopped) {
      const started = Date.now();
      const records = shards.flatMap((shard) =>
        Array.from({ length: perTick }, () => {
          const i = n++;
          const key = `${prefix}-${shard.ShardId}-key-${i % 4}`;
          return { PartitionKey: key, ExplicitHashKey: shard.HashKeyRange!.StartingHashKey!, Data: Buffer.from(JSON.stringify({ id: `${prefix}-${i}`, key, pad })) };
        }),
      );
      await f.ep.client.send(new PutRecordsCommand({ StreamARN: arn, Records: records }));
      await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - started))));
    }
  })();
  loop.catch(() => undefined);
  return {
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

test('THROUGHPUT over two streams with the same shard ids: the hot stream\'s two shards end on different workers, every lease weighed under its own key', async () => {
  const app = f.h.app('it-inputs-throughput');
  f.apps.push(app);
  const hotArn = await f.ep.createStream(uniqueName('hot'), 2);
  const coldArn = await f.ep.createStream(uniqueName('cold'), 6);
  const out = await f.ep.createStream(uniqueName('out'), 2);
  const properties = writeProperties(
    localProperties(f.ep.endpoint, hotArn, out, {
      SerializationType: { type: 'STRING' },
      InputStream1: { 'stream.arn': coldArn, ...localClientProperties(f.ep.endpoint), 'source.init.position': 'TRIM_HORIZON', 'source.shard.discovery.interval': '1 s' },
      Cluster: { 'worker.balance': 'THROUGHPUT', 'worker.balance.cooldown': '5 s' },
    }),
  );
  const coordinator = f.h.start('coordinator', properties, app);
  const w1 = f.h.start('worker', properties, app);
  const w2 = f.h.start('worker', properties, app);
  const alive = [coordinator, w1, w2];
  const keys = new AppKeys(app);
  const statuses = async () => Object.values(await f.h.redis.hgetall(keys.workerStatus)).map((s) => JSON.parse(s) as WorkerStatus);
  await waitFor(async () => (await statuses()).reduce((n, s) => n + s.leases.length, 0) === 8, 30_000, 'the eight leases held', 250, () => assertUp(alive));

  const hotShards = (await f.ep.client.send(new ListShardsCommand({ StreamARN: hotArn }))).Shards!;
  const coldShards = (await f.ep.client.send(new ListShardsCommand({ StreamARN: coldArn }))).Shards!;
  const hot = produce(hotArn, hotShards, 10, `${app}-hot`);
  const cold = produce(coldArn, coldShards, 1, `${app}-cold`);
  try {
    const hotOf = (s: WorkerStatus) => s.leases.filter((l) => l.stream === hotArn).length;
    await waitFor(
      async () => {
        const now = await statuses();
        return now.length === 2 && now.every((s) => hotOf(s) === 1 && Date.now() - s.updatedAt < 3000) && now.reduce((n, s) => n + s.leases.length, 0) === 8;
      },
      90_000,
      'each worker holding one of the hot stream\'s shards',
      500,
      () => assertUp(alive),
    );
    // The same shard ids in both streams, weighed apart: one load field per lease key. A lease that just
    // moved has no rate of its new owner's yet: wait until the hot one is measured again.
    let loads: Record<string, string> = {};
    const rate = (arn: string, shardId: string) => Number(loads[leaseKey(arn, shardId)]?.split('|')[1] ?? '');
    await waitFor(
      async () => {
        loads = await f.h.redis.hgetall(keys.leaseLoads);
        return rate(hotArn, 'shardId-000000000000') > 3 * rate(coldArn, 'shardId-000000000000');
      },
      30_000,
      () => `the hot stream's shard weighed over 3 times the cold stream's shard of the same id (${JSON.stringify(loads)})`,
      500,
    );
    for (const shard of hotShards) expect(Object.keys(loads)).toContain(leaseKey(hotArn, shard.ShardId!));
    for (const shard of coldShards) expect(Object.keys(loads)).toContain(leaseKey(coldArn, shard.ShardId!));
  } finally {
    await hot.stop();
    await cold.stop();
  }
  const input = [...(await readAll(f.ep.client, hotArn)), ...(await readAll(f.ep.client, coldArn))];
  let output = await readAll(f.ep.client, out);
  await waitFor(async () => {
    output = await readAll(f.ep.client, out);
    return compareDelivery(input, output).missing.length === 0;
  }, 60_000, 'every record of both streams in the output', 1000, () => assertUp(alive));
  expect(compareDelivery(input, output).outOfOrderKeys).toEqual([]);
  expect([w1, w2].map((w) => w.output()).join('\n')).not.toContain('lease lost');
});

test('per-stream credentials: InputStream1 assumes a role in another account, InputStream0 reads with its basic keys; each stream\'s calls carry its own', async () => {
  const ROLE_ACCOUNT = '111122223333';
  const ROLE_ARN = `arn:aws:iam::${ROLE_ACCOUNT}:role/shardflow-tenant-reader`;
  const [sts, signing] = await Promise.all([startStsServer(), startSigningLog(f.ep.endpoint)]);
  try {
    const app = f.h.app('it-inputs-creds');
    f.apps.push(app);
    const ownName = uniqueName('own');
    const tenantName = uniqueName('tenant');
    const ownArn = await f.ep.createStream(ownName, 2);
    // The tenant's stream as its account names it (the in-memory endpoint finds streams by name).
    const tenantArn = (await f.ep.createStream(tenantName, 2)).replace(':000000000000:', `:${ROLE_ACCOUNT}:`);
    const out = await f.ep.createStream(uniqueName('out'), 2);
    const properties = writeProperties(
      localProperties(f.ep.endpoint, ownArn, out, {
        SerializationType: { type: 'STRING' },
        InputStream0: { 'aws.endpoint': signing.endpoint },
        InputStream1: {
          'stream.arn': tenantArn,
          ...localClientProperties(signing.endpoint),
          'source.init.position': 'TRIM_HORIZON',
          'source.shard.discovery.interval': '1 s',
          'aws.credentials.provider': 'ASSUME_ROLE',
          'aws.credentials.provider.role.arn': ROLE_ARN,
          'aws.credentials.provider.role.sessionName': 'shardflow-tenant',
          'aws.credentials.provider.role.provider': 'BASIC',
          'aws.credentials.provider.role.stsEndpoint': sts.endpoint,
        },
      }),
    );
    const coordinator = f.h.start('coordinator', properties, app);
    const worker = f.h.start('worker', properties, app);
    const records = (prefix: string) => Array.from({ length: 20 }, (_, i) => ({ PartitionKey: `k-${i % 4}`, Data: Buffer.from(JSON.stringify({ id: `${prefix}-${i}` })) }));
    await f.ep.client.send(new PutRecordsCommand({ StreamARN: ownArn, Records: records(`${app}-own`) }));
    await f.ep.client.send(new PutRecordsCommand({ StreamName: tenantName, Records: records(`${app}-tenant`) }));
    await waitFor(
      async () => {
        const ids = (await readAll(f.ep.client, out)).map((r) => String(json(r).id));
        return ids.filter((id) => id.startsWith(`${app}-own`)).length === 20 && ids.filter((id) => id.startsWith(`${app}-tenant`)).length === 20;
      },
      60_000,
      'the records of both streams in the output',
      500,
      () => assertUp([coordinator, worker]),
    );
    // The stream-naming calls (ListShards by the coordinator, GetShardIterator by the worker) of each stream.
    const of = (stream: string) => signing.calls.filter((c) => c.stream === stream && ['ListShards', 'GetShardIterator'].includes(c.operation));
    expect(of(tenantName).length).toBeGreaterThan(0);
    expect(of(ownName).length).toBeGreaterThan(0);
    for (const call of of(tenantName)) expect(call).toMatchObject({ accessKeyId: ROLE_ACCOUNT, sessionToken: 'assumed-session-token' });
    for (const call of of(ownName)) expect(call).toMatchObject({ accessKeyId: '000000000000', sessionToken: undefined });
    expect(sts.calls.length).toBeGreaterThanOrEqual(1);
    for (const call of sts.calls) expect(call).toEqual({ roleArn: ROLE_ARN, sessionName: 'shardflow-tenant', callerAccessKeyId: '000000000000' });
  } finally {
    await f.h.stopAll();
    await Promise.all([sts.close(), signing.close()]);
  }
});
