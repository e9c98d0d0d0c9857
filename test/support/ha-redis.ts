/**
 * Private highly available Redis set-ups on free ports, made of real redis-server processes: a primary
 * with a replica watched by Sentinels, and a Redis Cluster of three primaries. Each process runs in its
 * own temporary directory (Sentinel and Cluster rewrite their config files there).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from '../../cli/local/free-port';
import { stopChild } from '../../cli/local/kinesis-local';
import { waitFor } from './wait';

const run = promisify(execFile);

interface Server {
  port: number;
  process: ChildProcess;
}

async function startServer(lines: string[], sentinel = false): Promise<Server> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'shardflow-ha-'));
  const conf = join(dir, 'redis.conf');
  writeFileSync(conf, [`port ${port}`, 'bind 127.0.0.1', `dir ${dir}`, 'save ""', 'appendonly no', 'daemonize no', ...lines].join('\n') + '\n');
  const child = spawn('redis-server', [conf, ...(sentinel ? ['--sentinel'] : [])], { cwd: dir, stdio: 'ignore' });
  await waitFor(() => ping(port), 10_000, `redis-server${sentinel ? ' --sentinel' : ''} on port ${port}`, 100);
  return { port, process: child };
}

async function ping(port: number): Promise<boolean> {
  const redis = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

/** A command on one node, through a short-lived connection. */
export async function command(port: number, ...args: Array<string | number>): Promise<unknown> {
  const redis = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    return await redis.call(String(args[0]), ...args.slice(1).map(String));
  } finally {
    redis.disconnect();
  }
}

export interface SentinelGroup {
  /** `redis+sentinel://127.0.0.1:<s1>,.../<name>`. */
  url: string;
  name: string;
  sentinels: number[];
  /** The data nodes' ports, the first one the primary at the start. */
  nodes: number[];
  /** The current primary's port, as the Sentinels see it. */
  primaryPort(): Promise<number>;
  /**
   * Fails the primary over and waits until every Sentinel names the new primary and it takes writes:
   * `command` asks a Sentinel (SENTINEL FAILOVER, the old primary becomes a replica); `kill` kills the
   * primary with SIGKILL (the Sentinels notice after down-after-milliseconds and elect a leader).
   */
  failover(how: 'command' | 'kill', timeoutMs: number): Promise<{ from: number; to: number }>;
  /** A client of the test's own (plain ioredis, not shardflow's connection code) that follows the primary. */
  client(): Redis;
  stop(): Promise<void>;
}

/**
 * A primary, one replica and `sentinels` Sentinels (quorum: a majority) monitoring them as `name`, with
 * short timeouts so a failover takes about a second.
 */
export async function startSentinelGroup(name: string, sentinels = 3): Promise<SentinelGroup> {
  const started: Server[] = [];
  try {
    const primary = await startServer([]);
    started.push(primary);
    const replica = await startServer([`replicaof 127.0.0.1 ${primary.port}`]);
    started.push(replica);
    await waitFor(async () => String(await command(replica.port, 'INFO', 'replication')).includes('master_link_status:up'), 10_000, 'the replica in sync');
    const quorum = Math.floor(sentinels / 2) + 1;
    const sentinelPorts: number[] = [];
    for (let i = 0; i < sentinels; i++) {
      const s = await startServer(
        [`sentinel monitor ${name} 127.0.0.1 ${primary.port} ${quorum}`, `sentinel down-after-milliseconds ${name} 1000`, `sentinel failover-timeout ${name} 5000`, `sentinel parallel-syncs ${name} 1`],
        true,
      );
      started.push(s);
      sentinelPorts.push(s.port);
    }
    const primaryPort = async (port = sentinelPorts[0]!) => Number(((await command(port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)) as string[])[1]);
    // Every Sentinel knows the replica (and, with more than one, the other Sentinels) before a failover can work.
    await waitFor(
      async () => {
        for (const port of sentinelPorts) {
          const info = String(await command(port, 'INFO', 'sentinel'));
          if (!info.includes(`slaves=1,sentinels=${sentinels}`)) return false;
        }
        return true;
      },
      30_000,
      `${sentinels} Sentinel(s) seeing the replica and each other`,
    );
    return {
      url: `redis+sentinel://${sentinelPorts.map((p) => `127.0.0.1:${p}`).join(',')}/${name}`,
      name,
      sentinels: sentinelPorts,
      nodes: [primary.port, replica.port],
      primaryPort: () => primaryPort(),
      async failover(how, timeoutMs) {
        const from = await primaryPort();
        if (how === 'command') await command(sentinelPorts[0]!, 'SENTINEL', 'FAILOVER', name);
        else started.find((s) => s.port === from)!.process.kill('SIGKILL');
        const to = await waitFor(
          async () => {
            const seen = await Promise.all(sentinelPorts.map((p) => primaryPort(p)));
            if (!seen.every((p) => p !== from && p === seen[0])) return undefined;
            const role = (await command(seen[0]!, 'ROLE')) as [string];
            return role[0] === 'master' ? seen[0]! : undefined;
          },
          timeoutMs,
          `every Sentinel naming a new primary instead of port ${from}`,
          50,
        );
        return { from, to };
      },
      client: () => new Redis({ sentinels: sentinelPorts.map((port) => ({ host: '127.0.0.1', port })), name, maxRetriesPerRequest: null, failoverDetector: true }),
      stop: () => stopAll(started),
    };
  } catch (err) {
    await stopAll(started);
    throw err;
  }
}

/** How many clients are connected to a node, not counting the connection that asks, Sentinels or replicas. */
export async function clientsOn(port: number): Promise<number> {
  const list = String(await command(port, 'CLIENT', 'LIST'));
  return list.split('\n').filter((line) => line.trim() !== '' && !line.includes('cmd=client|list') && !line.includes(' name=sentinel-') && !/ flags=\w*S/.test(line)).length;
}

export interface RedisClusterNodes {
  /** `redis+cluster://127.0.0.1:<p1>,...`. */
  url: string;
  ports: number[];
  stop(): Promise<void>;
}

/** A Redis Cluster of `primaries` primaries, no replicas, every slot assigned, built by `redis-cli --cluster create`. */
export async function startRedisCluster(primaries = 3): Promise<RedisClusterNodes> {
  const started: Server[] = [];
  try {
    for (let i = 0; i < primaries; i++) started.push(await startServer(['cluster-enabled yes', 'cluster-config-file nodes.conf', 'cluster-node-timeout 2000']));
    const ports = started.map((s) => s.port);
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
    await waitFor(
      async () => {
        for (const port of ports) if (!String(await command(port, 'CLUSTER', 'INFO')).includes('cluster_state:ok')) return false;
        return true;
      },
      20_000,
      'cluster_state:ok on every node',
    );
    return { url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`, ports, stop: () => stopAll(started) };
  } catch (err) {
    await stopAll(started);
    throw err;
  }
}

async function stopAll(servers: Server[]): Promise<void> {
  await Promise.all(servers.map((s) => stopChild(s.process)));
}
