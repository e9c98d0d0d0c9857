/**
 * A private redis-server that speaks only TLS, with a throw-away CA made by openssl, for testing
 * `rediss://`. Processes trust the CA through NODE_EXTRA_CA_CERTS, as an operator would with a
 * private CA (a public CA, as on ElastiCache, needs nothing).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisAnswers } from '../../shared/redis/connection';
import { freePort } from '../../cli/local/free-port';
import { stopChild } from '../../cli/local/kinesis-local';
import { waitFor } from './wait';

export interface TlsRedis {
  /** `rediss://:<password>@localhost:<port>`. */
  url: string;
  password: string;
  caFile: string;
  ca: Buffer;
  stop(): Promise<void>;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

export async function startTlsRedis(password: string): Promise<TlsRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'shardflow-tls-'));
  openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=shardflow-test-ca']);
  openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost']);
  writeFileSync(join(dir, 'san.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  openssl(dir, ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.cnf']);
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--tls-cert-file', 'server.pem', '--tls-key-file', 'server.key', '--tls-ca-cert-file', 'ca.pem', '--tls-auth-clients', 'no', '--requirepass', password, '--save', '', '--appendonly', 'no', '--dir', dir],
    { cwd: dir, stdio: 'ignore' },
  );
  const caFile = join(dir, 'ca.pem');
  const ca = readFileSync(caFile);
  const url = `rediss://:${encodeURIComponent(password)}@localhost:${port}`;
  await waitFor(() => redisAnswers(url, 500, { tls: { ca } }), 10_000, `TLS redis-server on port ${port}`);
  return { url, password, caFile, ca, stop: () => stopChild(child) };
}
