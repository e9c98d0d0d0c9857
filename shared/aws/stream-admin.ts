/** Creating streams, for the local stack and tests (shardflow itself never creates or deletes streams). */
import { CreateStreamCommand, DescribeStreamSummaryCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { sleep } from '../backoff';

export async function streamStatus(client: KinesisClient, streamName: string): Promise<string | undefined> {
  try {
    const out = await client.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
    return out.StreamDescriptionSummary?.StreamStatus;
  } catch (err) {
    if ((err as Error).name === 'ResourceNotFoundException') return undefined;
    throw err;
  }
}

/** Creates the stream when it does not exist and waits until it is ACTIVE. Returns true if created. */
export async function ensureStream(client: KinesisClient, streamName: string, shardCount: number, timeoutMs = 30_000): Promise<boolean> {
  let created = false;
  if ((await streamStatus(client, streamName)) === undefined) {
    try {
      await client.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: shardCount }));
      created = true;
    } catch (err) {
      if ((err as Error).name !== 'ResourceInUseException') throw err;
    }
  }
  const deadline = Date.now() + timeoutMs;
  while ((await streamStatus(client, streamName)) !== 'ACTIVE') {
    if (Date.now() > deadline) throw new Error(`stream ${streamName} did not become ACTIVE within ${timeoutMs} ms`);
    await sleep(100);
  }
  return created;
}
