import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_ACCOUNT } from './kinesis';

export type Groups = Record<string, Record<string, string>>;

/** A stream group's client keys for kinesis-local (spelled the same in the legacy FlinkKinesisConsumer). */
export function localClientProperties(endpoint: string): Record<string, string> {
  return {
    'aws.endpoint': endpoint,
    'aws.region': 'us-east-1',
    'aws.credentials.provider': 'BASIC',
    'aws.credentials.provider.basic.accesskeyid': DEFAULT_ACCOUNT,
    'aws.credentials.provider.basic.secretkey': 'test-secret',
  };
}

/** Local-stack style properties for an input and output stream on kinesis-local, plus overrides. */
export function localProperties(endpoint: string, inputArn: string, outputArn: string, overrides: Groups = {}): Groups {
  const client = localClientProperties(endpoint);
  const groups: Groups = {
    InputStream0: {
      'stream.arn': inputArn,
      ...client,
      'source.init.position': 'TRIM_HORIZON',
      'source.shard.discovery.interval': '1 s',
      'source.reader.empty-records-fetch-interval': '100 ms',
    },
    OutputStream0: { 'stream.arn': outputArn, ...client, 'sink.flush-buffer.timeout': '100 ms' },
    Cluster: { 'lease.timeout': '4 s' },
  };
  for (const [group, map] of Object.entries(overrides)) groups[group] = { ...(groups[group] ?? {}), ...map };
  return groups;
}

export function writeProperties(groups: Groups): string {
  const dir = mkdtempSync(join(tmpdir(), 'shardflow-props-'));
  const file = join(dir, 'application-properties.json');
  writeFileSync(
    file,
    JSON.stringify(Object.entries(groups).map(([PropertyGroupId, PropertyMap]) => ({ PropertyGroupId, PropertyMap })), null, 2),
  );
  return file;
}
