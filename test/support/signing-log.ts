/**
 * An HTTP proxy in front of a Kinesis endpoint that notes who signed each request (the access key id in
 * its SigV4 Authorization header, and its session token), by operation and stream, before passing it on:
 * how a test tells which credentials a process used for which stream.
 */
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the proxy passed on. */
export interface SignedCall {
  operation: string;
  /** The stream's name, when the request names one (StreamName or StreamARN). */
  stream: string;
  accessKeyId: string | undefined;
  sessionToken: string | undefined;
}

export interface SigningLog {
  endpoint: string;
  calls: SignedCall[];
  /** The PutRecords calls, as `{ stream, accessKeyId, sessionToken }`. */
  readonly puts: Array<Omit<SignedCall, 'operation'>>;
  close(): Promise<void>;
}

export async function startSigningLog(target: string): Promise<SigningLog> {
  const calls: SignedCall[] = [];
  const upstream = new URL(target);
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const operation = String(req.headers['x-amz-target'] ?? '').split('.').pop() ?? '';
      if (operation) {
        let stream = '';
        try {
          const parsed = JSON.parse(body.toString('utf8')) as { StreamARN?: string; StreamName?: string };
          stream = parsed.StreamName ?? parsed.StreamARN?.split(':stream/')[1] ?? '';
        } catch {
          // not JSON (an event stream): no stream to note
        }
        calls.push({ operation, stream, accessKeyId: /Credential=([^/]+)\//.exec(req.headers.authorization ?? '')?.[1], sessionToken: req.headers['x-amz-security-token'] as string | undefined });
      }
      const forward = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up: IncomingMessage) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      forward.on('error', () => res.destroy());
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    get puts() {
      return calls.filter((c) => c.operation === 'PutRecords').map(({ stream, accessKeyId, sessionToken }) => ({ stream, accessKeyId, sessionToken }));
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
