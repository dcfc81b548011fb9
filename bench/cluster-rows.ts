/**
 * Store-topology rows (issue 14): two proxy replicas on a real 3-master Redis Cluster against two
 * replicas on one Redis, governance on (the bench's full mix), 2026-07-28 calls of 200 B split evenly
 * over both replicas, at 2 and 16 concurrent calls. Measured in alternating rounds (cluster, single,
 * single, cluster, ...) so drift hits both alike. Standalone: `node --import tsx bench/cluster-rows.ts`.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedisCluster } from '../test/helpers/redis-topologies.ts';
import { Client, type PhaseResult, payload, type Target } from './driver.ts';
import { type Child, startNode } from './procs.ts';
import { writeProxyConfig } from './proxy-config.ts';
import { proxyEntry } from './proxy-entry.ts';
import { startRedis } from './store-chain-rows.ts';

export interface TopologyRow {
  name: string;
  era: 'modern';
  concurrency: number;
  governance: 'on';
  store: 'cluster';
  baseline: 'redis';
  replicas: 2;
  cluster: { p50_ms: number; p99_ms: number; rps: number };
  redis: { p50_ms: number; p99_ms: number; rps: number };
  p50_ratio: number;
  rps_ratio: number;
  errors: number;
}

const PROXY_READY = /mcp-fed listening on (\S+)/;
const ROUNDS = 4;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return +(s[Math.min(s.length - 1, Math.floor(s.length * p))] ?? 0).toFixed(3);
};

/** One phase over both replicas at once, each getting half the concurrency. */
async function phase(targets: Target[], concurrency: number, ms: number): Promise<PhaseResult> {
  const clients = targets.map((t) => new Client(t, 'modern', Math.max(1, concurrency / targets.length)));
  await Promise.all(clients.map((c) => c.open()));
  const text = payload(200);
  const results = await Promise.all(clients.map((c) => c.run(text, { durationMs: ms })));
  await Promise.all(clients.map((c) => c.close()));
  return {
    latenciesMs: results.flatMap((r) => r.latenciesMs),
    calls: results.reduce((n, r) => n + r.calls, 0),
    errors: results.reduce((n, r) => n + r.errors, 0),
    elapsedMs: Math.max(...results.map((r) => r.elapsedMs)),
    firstError: results.find((r) => r.firstError)?.firstError,
  };
}

export async function measureClusterRows(opts: { phaseMs?: number; log?: (l: string) => void } = {}) {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const phaseMs = opts.phaseMs ?? 2_000;
  const dir = mkdtempSync(join(tmpdir(), 'mcp-fed-bench-cluster-'));
  const children: Child[] = [];
  const cluster = await startRedisCluster(3);
  const single = await startRedis(dir);
  try {
    const upstream = await startNode(
      'cluster-upstream',
      ['--import', 'tsx', 'upstreams/tools-server.ts', '--port', '0'],
      /LISTENING (\S+)/,
      dir,
    );
    children.push(upstream);
    const setup = await writeProxyConfig('on', upstream.url, dir);
    const base = JSON.parse(readFileSync(setup.configPath, 'utf8')) as Record<string, unknown>;
    const variant = (name: string, store: Record<string, unknown>) => {
      const path = join(dir, `proxy-${name}.json`);
      writeFileSync(
        path,
        JSON.stringify({ ...base, store, audit: { sink: 'file', path: join(dir, `${name}.jsonl`) } }),
      );
      return path;
    };
    const configs = {
      cluster: variant('cluster', { kind: 'redis', cluster: cluster.urls, keyPrefix: 'bench:' }),
      redis: variant('redis', { kind: 'redis', url: single.url, keyPrefix: 'bench:' }),
    };
    const targets: Record<'cluster' | 'redis', Target[]> = { cluster: [], redis: [] };
    for (const kind of ['cluster', 'redis'] as const)
      for (const i of [0, 1]) {
        const p = await startNode(
          `proxy-${kind}-${i}`,
          [proxyEntry(), 'serve', '--config', configs[kind]],
          PROXY_READY,
          dir,
        );
        children.push(p);
        targets[kind].push({ url: p.url, tool: 'tools__echo', headers: setup.headers });
      }
    const rows: TopologyRow[] = [];
    for (const concurrency of [2, 16]) {
      const got = { cluster: [] as PhaseResult[], redis: [] as PhaseResult[] };
      await phase(targets.cluster, concurrency, 500);
      await phase(targets.redis, concurrency, 500);
      for (let r = 0; r < ROUNDS; r++)
        for (const kind of r % 2 === 0 ? (['cluster', 'redis'] as const) : (['redis', 'cluster'] as const))
          got[kind].push(await phase(targets[kind], concurrency, phaseMs));
      const figures = (list: PhaseResult[]) => {
        const lat = list.flatMap((p) => p.latenciesMs);
        const calls = list.reduce((n, p) => n + p.calls, 0);
        const ms = list.reduce((n, p) => n + p.elapsedMs, 0);
        return { p50_ms: pct(lat, 0.5), p99_ms: pct(lat, 0.99), rps: Math.round((calls / ms) * 1000) };
      };
      const c = figures(got.cluster);
      const s = figures(got.redis);
      const errors = [...got.cluster, ...got.redis].reduce((n, p) => n + p.errors, 0);
      const row: TopologyRow = {
        name: `modern c${concurrency} 200B gov-on 2 replicas cluster vs redis`,
        era: 'modern',
        concurrency,
        governance: 'on',
        store: 'cluster',
        baseline: 'redis',
        replicas: 2,
        cluster: c,
        redis: s,
        p50_ratio: +(c.p50_ms / s.p50_ms).toFixed(2),
        rps_ratio: +(c.rps / s.rps).toFixed(2),
        errors,
      };
      log(
        `${row.name}: p50 ${c.p50_ms} vs ${s.p50_ms} ms (${row.p50_ratio}x), rps ${c.rps} vs ${s.rps} (${row.rps_ratio}x), errors ${errors}`,
      );
      rows.push(row);
    }
    await setup.close();
    return rows;
  } finally {
    for (const child of children.reverse()) await child.stop();
    await single.stop();
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`${JSON.stringify(await measureClusterRows(), null, 2)}\n`);
}
