/**
 * The one place a Kinesis client is built: endpoint, region, credentials, retries and transport.
 *
 * Transport rule, the only place it is decided: request/response calls (ListShards, GetRecords,
 * PutRecords, ...) always use HTTP/1.1 with keep-alive, which every Kinesis endpoint serves and which
 * avoids an HTTP/2 session per request. SubscribeToShard (the EFO reader) needs HTTP/2 on AWS, so the
 * streaming client keeps the SDK's HTTP/2 handler there, except for an `http://` endpoint (a local
 * Kinesis such as kinesis-local), whose HTTP/2 fails with this Node version while its plain port
 * serves SubscribeToShard over HTTP/1.1.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttp2Handler, NodeHttpHandler } from '@smithy/node-http-handler';
import type { AwsClientConfig } from '../config/app-config';
import { credentialsProvider } from './credentials';
import { HotPathKinesisProtocol } from './hot-path-protocol';

export type Transport = 'http1' | 'http2';

/** The transport of the client used for SubscribeToShard. */
export function streamingTransportFor(endpoint: string | undefined): Transport {
  return endpoint?.startsWith('http://') ? 'http1' : 'http2';
}

/**
 * A Kinesis client for one property group. `streaming` selects the client used for
 * SubscribeToShard; every other call uses the request/response client.
 */
export function createKinesisClient(config: AwsClientConfig, options: { streaming?: boolean } = {}): KinesisClient {
  const agentOptions = { keepAlive: true, maxSockets: config.maxConcurrency };
  const http2 = options.streaming === true && streamingTransportFor(config.endpoint) === 'http2';
  return new KinesisClient({
    region: config.region,
    endpoint: config.endpoint,
    credentials: credentialsProvider(config.credentials, config.region),
    // GetRecords, PutRecords and SubscribeToShard events read and written without the schema walk (see the module).
    protocol: HotPathKinesisProtocol,
    // Build each command's middleware chain once per command class instead of on every send (about 10 % of
    // an idle GetRecords call's CPU). Safe because shardflow never adds middleware after a client's first send.
    cacheMiddleware: true,
    // shardflow retries throttling and transient errors itself, with its own backoff and metrics.
    maxAttempts: 1,
    requestHandler: http2
      ? // A subscription is a long-lived stream: no request timeout; the EFO reader bounds the subscribe call itself.
        new NodeHttp2Handler({ disableConcurrentStreams: false })
      : new NodeHttpHandler({
          httpAgent: new HttpAgent(agentOptions),
          httpsAgent: new HttpsAgent(agentOptions),
          // A subscription's response body streams for minutes; only request/response calls get the read timeout.
          requestTimeout: options.streaming ? undefined : config.readTimeoutMs,
          connectionTimeout: 10_000,
        }),
  });
}
