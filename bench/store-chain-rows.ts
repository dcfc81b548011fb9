/**
 * What `npm run bench` needs for its Redis-store and chain rows (issue 6, Performance): a private
 * redis-server, and the proxy configs. Measured like the auth rows (bench/auth-rows.ts): the row's
 * extra target is interleaved with its baseline in the same rounds (bench/run.ts).
 *
 * - Redis rows: `proxied` is mcp-fed with `store: { kind: 'redis', url }`, `memory` the same config
 *   with the memory store, both in front of the same tools-server. `store_added_p50_ms =
 *   proxied.p50 − memory.p50` is what keeping sessions (legacy era), rate counters and the PII vault
 *   (governance on) in Redis adds. Target ≤ 0.5 ms.
 * - Chain row: `core` is mcp-fed in front of tools-server, `proxied` is a second mcp-fed (the edge)
 *   whose only upstream is the core's /mcp, so the public tool is `core__tools__echo`.
 *   `first_hop_added_p50_ms = core.p50 − direct.p50`, `second_hop_added_p50_ms = proxied.p50 −
 *   core.p50`; target: second ≤ first × 1.1.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../scripts/lib/free-port.ts';

const READY_TIMEOUT_MS = 10_000;
const redisChildren = new Set<ChildProcess>();

// An interrupted run must not leave a redis-server behind (bench/procs.ts only knows node children).
process.once('exit', () => {
  for (const child of redisChildren) child.kill('SIGKILL');
});

export interface RedisServer {
  pid: number;
  url: string;
  stop(): Promise<void>;
}

/** A private, non-persistent redis-server on a free port; its log goes to `<logDir>/redis.log`. */
export async function startRedis(logDir: string): Promise<RedisServer> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  redisChildren.add(child);
  const log = createWriteStream(join(logDir, 'redis.log'));
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  child.stdout?.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server not ready after ${READY_TIMEOUT_MS} ms`));
    }, READY_TIMEOUT_MS);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`redis-server did not start: ${err.message}`));
    });
    child.once('exit', (code, signal) => {
      redisChildren.delete(child);
      clearTimeout(timer);
      reject(new Error(`redis-server exited (${signal ?? code}) before it was ready`));
    });
    child.stdout?.on('data', (chunk: string) => {
      seen = (seen + chunk).slice(-4000);
      if (seen.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  if (child.pid === undefined) throw new Error('redis-server has no pid');
  return {
    pid: child.pid,
    url: `redis://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const force = setTimeout(() => child.kill('SIGKILL'), 3_000);
        child.once('exit', () => {
          clearTimeout(force);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

/**
 * The Redis twin of a proxy config written by bench/proxy-config.ts: the same JSON plus `store`,
 * and its own audit file (so each proxy's audit record proves its own hooks ran).
 */
export function redisVariant(
  configPath: string,
  redisUrl: string,
  auditPath?: string,
): { configPath: string; auditPath?: string } {
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
  const ownAudit = auditPath?.replace(/\.jsonl$/, '-redis.jsonl');
  const variant = {
    ...config,
    store: { kind: 'redis', url: redisUrl, keyPrefix: 'mcp-fed-bench:' },
    ...(ownAudit && { audit: { sink: 'file', path: ownAudit } }),
  };
  const path = configPath.replace(/\.json$/, '-redis.json');
  writeFileSync(path, `${JSON.stringify(variant, null, 2)}\n`);
  return { configPath: path, ...(ownAudit && { auditPath: ownAudit }) };
}

/** The edge of a two-hop chain: its one upstream is the core proxy's endpoint, named `core`. */
export function writeEdgeConfig(coreUrl: string, dir: string): { configPath: string; tool: string } {
  const config = {
    listen: { host: '127.0.0.1', port: 0, path: '/mcp' },
    upstreams: [{ name: 'core', url: coreUrl, transport: 'streamable-http' }],
    audit: { sink: 'off' },
    pii: { mode: 'off' },
  };
  const configPath = join(dir, 'proxy-chain-edge.json');
  writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);
  return { configPath, tool: 'core__tools__echo' };
}
