import { type ChildProcess, execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../scripts/lib/free-port.ts';
import { startServer } from './redis.ts';

const run = promisify(execFile);

/** Sends `kill -9` and waits for the exit. */
async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGKILL');
  await exited;
}

async function until(what: string, ok: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await ok().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} within ${ms} ms`);
}

const cli = (port: number, ...args: string[]) => run('redis-cli', ['-p', String(port), ...args]);

export interface TestCluster {
  /** Seed node URLs (every master). */
  urls: string[];
  stop(): Promise<void>;
}

/** A real Redis Cluster of `masters` nodes (no replicas) on free ports, made with `redis-cli --cluster create`. */
export async function startRedisCluster(masters = 3): Promise<TestCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-fed-cluster-'));
  const ports = await Promise.all(Array.from({ length: masters }, () => freePort()));
  const nodes = await Promise.all(
    ports.map((port) =>
      startServer(port, {
        cwd: dir,
        after: [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          `nodes-${port}.conf`,
          '--cluster-node-timeout',
          '2000',
        ],
      }),
    ),
  );
  await run('redis-cli', [
    '--cluster',
    'create',
    ...ports.map((p) => `127.0.0.1:${p}`),
    '--cluster-replicas',
    '0',
    '--cluster-yes',
  ]);
  await until('cluster_state:ok on every node', async () => {
    const infos = await Promise.all(ports.map((p) => cli(p, 'cluster', 'info')));
    return infos.every((i) => i.stdout.includes('cluster_state:ok'));
  });
  return {
    urls: ports.map((p) => `redis://127.0.0.1:${p}`),
    async stop() {
      await Promise.all(nodes.map(kill));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface TestSentinel {
  sentinels: string[];
  name: string;
  /** The port of the current master, as the Sentinels see it. */
  masterPort(): Promise<number>;
  /** Kills the current master (SIGKILL) and resolves once the Sentinels have promoted the replica. */
  failover(): Promise<{ killedAt: number; promotedAt: number }>;
  stop(): Promise<void>;
}

/** A master, one replica and three Sentinels (quorum 2, 1 s down-after) on free ports. */
export async function startRedisSentinel(name = 'mymaster'): Promise<TestSentinel> {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-fed-sentinel-'));
  const [m, r, ...s] = (await Promise.all(Array.from({ length: 5 }, () => freePort()))) as [
    number,
    number,
    ...number[],
  ];
  const servers = new Map<number, ChildProcess>();
  servers.set(m, await startServer(m));
  servers.set(r, await startServer(r, { after: ['--replicaof', '127.0.0.1', String(m)] }));
  await until('the replica in sync', async () =>
    (await cli(r, 'info', 'replication')).stdout.includes('master_link_status:up'),
  );
  const sentinels: ChildProcess[] = [];
  for (const port of s) {
    const conf = join(dir, `sentinel-${port}.conf`);
    await writeFile(
      conf,
      [
        `sentinel monitor ${name} 127.0.0.1 ${m} 2`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 5000`,
        `sentinel parallel-syncs ${name} 1`,
        '',
      ].join('\n'),
    );
    // A Sentinel rewrites its config file, so it must be a file of its own; `--save` does not apply.
    sentinels.push(
      await startServer(port, { before: [conf, '--sentinel'], cwd: dir }).catch(async () => {
        throw new Error('redis-server --sentinel did not start');
      }),
    );
  }
  const masterPort = async () =>
    Number(
      (await cli(s[0] as number, 'sentinel', 'get-master-addr-by-name', name)).stdout.trim().split('\n')[1],
    );
  await until('every Sentinel sees the replica', async () => {
    const seen = await Promise.all(s.map((p) => cli(p, 'sentinel', 'replicas', name)));
    return seen.every((o) => o.stdout.includes(String(r)));
  });
  return {
    sentinels: s.map((p) => `redis://127.0.0.1:${p}`),
    name,
    masterPort,
    async failover() {
      const old = await masterPort();
      const killedAt = Date.now();
      await kill(servers.get(old) as ChildProcess);
      await until('a new master', async () => (await masterPort()) !== old, 30_000);
      return { killedAt, promotedAt: Date.now() };
    },
    async stop() {
      await Promise.all([...sentinels, ...servers.values()].map(kill));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
