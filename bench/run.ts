/**
 * `npm run bench`: upstream, floor and proxy as separate processes, driven by one client in the
 * same run (DESIGN.md "Performance"). Prints a Markdown table and writes bench/results.json. Then
 * the auth rows (bench/auth-rows.ts): the same proxy signing for a SigV4 or OAuth upstream, against
 * the same proxy without auth to the same server without the check, interleaved in the same rounds.
 * Then the Redis-store rows and the two-hop chain row (bench/store-chain-rows.ts), measured the same way.
 * Then the upstream-shape rows (bench/upstream-shape-rows.ts): an SDK v1 server stateless, and with an
 * event store (SSE answers), each with its own floor and proxy.
 * Then the peer rows (bench/peer-rows.ts): mcp-fed and the npm `mcp-proxy`, each fronting the same stdio
 * server, in the same rounds (`--filter peer` runs only those).
 *
 *   npm run bench [-- --quick] [--rounds N] [--duration S | --requests N] [--filter TEXT] [--out FILE]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../scripts/lib/free-port.ts';
import { AUTH_BENCH_ENV, AUTH_KINDS, type AuthKind, type AuthRow, startAuthRow } from './auth-rows.ts';
import { measureCedarRows } from './cedar-rows.ts';
import { measureClusterRows } from './cluster-rows.ts';
import { Client, type Era, type PhaseResult, payload, type Stop, type Target } from './driver.ts';
import { measureHookRows } from './hook-rows.ts';
import {
  childPid,
  PEER_READY,
  peerArgs,
  peerVersion,
  waitForPort,
  writeFedStdioConfig,
} from './peer-rows.ts';
import { measurePerCallerRows } from './per-caller-rows.ts';
import { type Child, cpuMicros, killAll, startNode } from './procs.ts';
import { type Governance, writeProxyConfig } from './proxy-config.ts';
import { proxyEntry } from './proxy-entry.ts';
import {
  buildAuthRow,
  buildChainRow,
  buildPeerRow,
  buildRow,
  buildStoreRow,
  contractFields,
  type Round,
  type Row,
  type RowKey,
  rowName,
  skippedRow,
  table,
} from './report.ts';
import { type RedisServer, redisVariant, startRedis, writeEdgeConfig } from './store-chain-rows.ts';
import { measureUpstreamShapeRows } from './upstream-shape-rows.ts';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    requests: { type: 'string' },
    filter: { type: 'string' },
    out: { type: 'string', default: 'bench/results.json' },
  },
  strict: true,
});
const quick = flags.quick ?? false;
const rounds = Number(flags.rounds ?? (quick ? 1 : 6));
const measured: Stop = flags.requests
  ? { requests: Number(flags.requests) }
  : { durationMs: Number(flags.duration ?? (quick ? 0.2 : 0.4)) * 1000 };
const measuredSize = 'requests' in measured ? measured.requests : measured.durationMs;
if (!(rounds >= 1 && measuredSize > 0)) {
  process.stderr.write('usage: bench/run.ts [--quick] [--rounds N>=1] [--duration S>0 | --requests N>0]\n');
  process.exit(2);
}
const warmup: Stop = { durationMs: quick ? 100 : 300 };
// The first rows would otherwise pay for the JIT of code paths the later rows find compiled.
const firstWarmup: Stop = { durationMs: quick ? 200 : 1000 };
// Auth rows start fresh processes and measure one era: by a count, as tiering goes by calls. Measured
// here (2026-11-25): through a fresh proxy pair p50 falls from ~2 ms to steady ~0.7-0.85 ms over the
// first ~3,500 calls, and the auth/no-auth gap from ~0.45 to ~0.15 ms; 1 s at c16 left it at ~0.45.
// The same with --quick: the warm-up is about the fresh processes, not the length of the phases.
const authWarmup: Stop = { requests: 5000 };

const ERAS: Era[] = ['modern', 'legacy'];
const CONCURRENCY = [1, 16];
const PAYLOADS = [200, 4096];
const GOVERNANCE: Governance[] = ['off', 'on'];
const MAX_ERROR_RATE = 0.001;

type Kind = 'direct' | 'floor' | 'proxied';
const KINDS: Kind[] = ['direct', 'floor', 'proxied'];

// Auth rows (issue "Upstream auth adapters", Performance): modern, concurrency 1, governance off.
const AUTH_PAYLOADS = [200, 4096];
/** `unauth`: the auth row's proxy config without `auth`, to the same server started `--auth none`. */
type AuthTarget = Kind | 'unauth';
const AUTH_TARGETS: AuthTarget[] = ['direct', 'floor', 'proxied', 'unauth'];
const READY = { floor: /FLOOR LISTENING (\S+)/, proxy: /mcp-fed listening on (\S+)/ };

const tmp = mkdtempSync(join(os.tmpdir(), 'mcp-fed-bench-'));
const children: Child[] = [];
const firstErrors = new Map<string, string>();

async function main(): Promise<number> {
  const started = Date.now();
  const loadBefore = os.loadavg()[0] ?? 0;
  // Other jobs on this 2-core machine are the largest source of noise; say so rather than hide it.
  if (loadBefore > 1) log(`load average ${loadBefore.toFixed(2)} before start: expect noisy figures`);
  const rows: Row[] = [];
  if (GOVERNANCE.some((g) => rowKeys(g).length > 0)) rows.push(...(await measureProxyRows()));
  for (const kind of AUTH_KINDS) rows.push(...(await measureAuthRows(kind)));
  rows.push(...(await measureStoreRows()));
  rows.push(...(await measureChainRows()));
  rows.push(
    ...(await measureUpstreamShapeRows({
      tmp,
      concurrency: CONCURRENCY,
      payloads: PAYLOADS,
      warmup: authWarmup,
      filter: filtered,
      spawnChild,
      measureRounds,
      warm,
      log,
    })),
  );
  rows.push(...(await measurePeerRows()));
  const topologyRows = flags.filter ? [] : await measureClusterRows({ phaseMs: quick ? 800 : 2_000, log });
  // In-process micro rows last: nothing else of the bench is running while they time themselves.
  const microRows = [
    ...(await measureCedarRows(quick ? 5_000 : 20_000)),
    ...(await measureHookRows(quick ? 5_000 : 20_000)),
    ...(await measurePerCallerRows(quick ? 10_000 : 50_000)),
  ];

  const results = {
    machine: {
      cpu_model: os.cpus()[0]?.model ?? 'unknown',
      cpu_count: os.cpus().length,
      node: process.version,
      os: `${os.type()} ${os.release()} ${os.arch()}`,
    },
    run: {
      date: new Date().toISOString(),
      quick,
      rounds,
      measured,
      warmup,
      auth_warmup: authWarmup,
      load_average_1m: { before: loadBefore, after: os.loadavg()[0] ?? 0 },
    },
    rows: rows.map((r) => ({ ...r, ...contractFields(r) })),
    micro_rows: microRows,
    store_topology_rows: topologyRows,
  };
  writeFileSync(flags.out ?? 'bench/results.json', `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\n${table(rows)}\n\n`);
  for (const m of microRows)
    process.stdout.write(
      `${m.row}: p50 ${m.p50_us} µs, p99 ${m.p99_us} µs (${m.target_us === null ? 'no target' : `target ${m.target_us} µs`}: ${m.verdict})\n`,
    );
  for (const [where, error] of firstErrors) process.stdout.write(`first error ${where}: ${error}\n`);

  const calls = rows.reduce((sum, r) => sum + r.calls, 0);
  const errors = rows.reduce((sum, r) => sum + r.errors, 0);
  const misses = rows.flatMap((r) => Object.values(r.checks).filter((v) => v === 'MISS')).length;
  log(
    `${rows.length} rows, ${calls} calls, ${errors} errors, ${misses} target misses, ${(Date.now() - started) / 1000} s; wrote ${flags.out}`,
  );
  if (calls === 0 || errors / calls > MAX_ERROR_RATE) {
    log(
      `broken run: error rate ${((errors / Math.max(calls, 1)) * 100).toFixed(3)}% > ${MAX_ERROR_RATE * 100}%`,
    );
    return 1;
  }
  return 0;
}

/** The proxy rows: one upstream (tools-server), one floor, one proxy per governance level. */
async function measureProxyRows(): Promise<Row[]> {
  const upstream = await spawnChild(
    'upstream',
    ['--import', 'tsx', 'upstreams/tools-server.ts', '--port', '0'],
    /LISTENING (\S+)/,
  );
  const floor = await spawnChild(
    'floor',
    ['--import', 'tsx', 'bench/floor.ts', '--upstream', upstream.url],
    /FLOOR LISTENING (\S+)/,
  );
  log(`upstream ${upstream.url}, floor ${floor.url} (pid ${floor.pid}), logs in ${tmp}`);

  const rows: Row[] = [];
  for (const governance of GOVERNANCE) {
    const keys = rowKeys(governance);
    if (keys.length === 0) continue;
    const setup = await writeProxyConfig(governance, upstream.url, tmp);
    const proxy = await spawnChild(
      `proxy-governance-${governance}`,
      [proxyEntry(), 'serve', '--config', setup.configPath],
      /mcp-fed listening on (\S+)/,
    ).catch((err: Error) => err);
    // Only the governance rows may be skipped: a proxy that cannot serve the plain path is a broken run.
    if (proxy instanceof Error && governance === 'off') throw proxy;
    if (proxy instanceof Error) {
      rows.push(...keys.map((k) => skippedRow(k, `proxy rejected the config: ${firstLine(proxy.message)}`)));
      continue;
    }
    log(`proxy governance=${governance} ${proxy.url} (pid ${proxy.pid})`);
    const targets: Record<Kind, Target> = {
      direct: { url: upstream.url, tool: 'echo' },
      floor: { url: floor.url, tool: 'echo' },
      proxied: { url: proxy.url, tool: 'tools__echo', headers: setup.headers },
    };
    const unusable = governance === 'on' ? await probe(targets.proxied, setup.auditPath) : undefined;
    if (unusable) rows.push(...keys.map((k) => skippedRow(k, unusable)));
    else {
      for (const era of ERAS) await warm(targets, era, firstWarmup);
      for (const key of keys)
        rows.push(await measureRow(key, targets, { floor: floor.pid, proxied: proxy.pid }));
    }
    await proxy.stop();
    await setup.close();
  }
  // The auth rows start their own upstreams and floors: these would only idle beside them.
  await floor.stop();
  await upstream.stop();
  return rows;
}

function rowKeys(governance: Governance): RowKey[] {
  const keys: RowKey[] = [];
  for (const era of ERAS)
    for (const concurrency of CONCURRENCY)
      for (const payload_bytes of PAYLOADS) keys.push({ era, concurrency, governance, payload_bytes });
  // Governance on with nothing to tokenize (issue 15's row of its own), 200 B, in both eras.
  if (governance === 'on')
    for (const era of ERAS)
      for (const concurrency of CONCURRENCY)
        keys.push({ era, concurrency, governance, payload_bytes: 200, noPii: true });
  const filter = flags.filter;
  return filter ? keys.filter((k) => rowName(k).includes(filter)) : keys;
}

/**
 * A governance row is only worth a number when the hooks really run: a proxy that accepts the
 * config but ignores it would report "on" at the cost of "off".
 */
async function probe(target: Target, auditPath?: string): Promise<string | undefined> {
  for (const era of ERAS) {
    const client = new Client(target, era, 1);
    try {
      await client.open();
      const phase = await client.run(payload(200), { requests: 3 });
      if (phase.errors > 0)
        return `calls fail through the proxy (${era}): ${firstLine(phase.firstError ?? '')}`;
    } catch (err) {
      return `${era} session setup fails through the proxy: ${firstLine((err as Error).message)}`;
    } finally {
      await client.close();
    }
  }
  if (auditPath) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const audit = readText(auditPath);
    if (!audit.includes('tools__echo'))
      return 'proxy accepted the governance config but wrote no audit record (not enforced yet)';
  }
  return undefined;
}

async function warm(targets: Record<string, Target>, era: Era, stop: Stop): Promise<void> {
  for (const target of Object.values(targets)) {
    const client = new Client(target, era, 16);
    await client.open();
    await client.run(payload(200), stop);
    await client.close();
  }
}

/**
 * Direct, floor and proxied alternate within every round, in a rotating order, so drift on the
 * shared machine (another job, thermal, GC of a long-lived child) lands on all three alike.
 */
async function measureRow(
  key: RowKey,
  targets: Record<Kind, Target>,
  pids: { floor: number; proxied: number },
): Promise<Row> {
  const measuredRounds = await measureRounds(
    key,
    targets,
    (r) => KINDS.map((_, i) => KINDS[(r + i) % KINDS.length] as Kind),
    { floor: { hop: pids.floor }, proxied: { hop: pids.proxied } },
  );
  const row = buildRow(key, measuredRounds.direct, measuredRounds.floor, measuredRounds.proxied);
  log(
    `${row.name}: added p50 ${row.added_p50_ms} ms (floor ${row.floor_added_p50_ms}), CPU ${row.hop_cpu_us_per_call}/${row.floor_cpu_us_per_call} µs, rps ratio ${row.throughput_ratio_vs_floor}, errors ${row.errors}`,
  );
  return row;
}

/**
 * Warm-up per target, then `rounds` rounds in which every target runs one measured phase in the
 * order `order(round)`. `pids[kind].hop` is the process whose CPU the phase is charged to (the
 * floor or a proxy), `pids[kind].upstream` the upstream it reaches (auth rows). `eras[kind]`
 * overrides the row's era for that target's client (upstream-shape rows: a 2025-only upstream).
 */
async function measureRounds<K extends string>(
  key: RowKey,
  targets: Record<K, Target>,
  order: (round: number) => K[],
  pids: Partial<Record<K, { hop: number; upstream?: number }>>,
  eras: Partial<Record<K, Era>> = {},
): Promise<Record<K, Round[]>> {
  // Governance-on rows carry five PII values, so tokenization has work to do (issue 5, Performance).
  const text = payload(key.payload_bytes, key.governance === 'on' && !key.noPii);
  const kinds = Object.keys(targets) as K[];
  const clients = Object.fromEntries(
    kinds.map((k) => [k, new Client(targets[k], eras[k] ?? key.era, key.concurrency)]),
  ) as Record<K, Client>;
  const measuredRounds = Object.fromEntries(kinds.map((k) => [k, []])) as unknown as Record<K, Round[]>;
  const cpu = (pid: number | undefined) => (pid === undefined ? 0 : cpuMicros(pid));
  try {
    for (const kind of kinds) {
      await clients[kind].open();
      await clients[kind].run(text, warmup);
    }
    for (let r = 0; r < rounds; r++) {
      for (const kind of order(r)) {
        const pid = pids[kind];
        const cpuBefore = cpu(pid?.hop);
        const upstreamBefore = cpu(pid?.upstream);
        const phase: PhaseResult = await clients[kind].run(text, measured);
        const cpuUs = pid === undefined ? undefined : cpu(pid.hop) - cpuBefore;
        const upstreamCpuUs = pid?.upstream === undefined ? undefined : cpu(pid.upstream) - upstreamBefore;
        measuredRounds[kind].push({ ...phase, cpuUs, ...(upstreamCpuUs !== undefined && { upstreamCpuUs }) });
        const extra = key.auth
          ? ` auth-${key.auth}`
          : key.store
            ? ' store-redis'
            : key.hops
              ? ' chain'
              : key.peer
                ? ' peer'
                : key.upstream
                  ? ` upstream-${key.upstream}`
                  : '';
        const where = `${kind} ${clients[kind].era}${extra}`;
        if (phase.firstError) firstErrors.set(where, phase.firstError);
      }
    }
  } finally {
    await Promise.all(kinds.map((k) => clients[k].close()));
  }
  return measuredRounds;
}

function authRowKeys(auth: AuthKind): RowKey[] {
  const keys: RowKey[] = AUTH_PAYLOADS.map((payload_bytes) => ({
    era: 'modern',
    concurrency: 1,
    governance: 'off',
    payload_bytes,
    auth,
  }));
  const filter = flags.filter;
  return filter ? keys.filter((k) => rowName(k).includes(filter)) : keys;
}

/**
 * The rows of one auth kind: the protected upstream and its `--auth none` twin (plus, for OAuth,
 * the authorization server) from bench/auth-rows.ts, a floor in front of the twin, the proxy
 * signing for the protected upstream and the same proxy config without auth in front of the twin.
 * An auth row that cannot start or fails its calls is skipped with the reason, like a governance row.
 */
async function measureAuthRows(auth: AuthKind): Promise<Row[]> {
  const keys = authRowKeys(auth);
  if (keys.length === 0) return [];
  // Before the row's processes start: the proxy's AWS chain and `${ENV}` secret, the upstreams' keys.
  Object.assign(process.env, AUTH_BENCH_ENV);
  const started: Child[] = [];
  let setup: AuthRow | undefined;
  try {
    const spawn = async (name: string, config: string) => {
      const child = await spawnChild(name, [proxyEntry(), 'serve', '--config', config], READY.proxy);
      started.push(child);
      return child;
    };
    const row = await startAuthRow(auth, spawnChild, tmp);
    setup = row;
    const floor = await spawnChild(
      `floor-auth-${auth}`,
      ['--import', 'tsx', 'bench/floor.ts', '--upstream', row.direct.url],
      READY.floor,
    );
    started.push(floor);
    const proxy = await spawn(`proxy-auth-${auth}`, row.configPath);
    const unauth = await spawn(`proxy-auth-${auth}-unauth`, row.unauthConfigPath);
    log(
      `auth ${auth}: protected ${row.protectedUrl}, reference ${row.direct.url}, proxy ${proxy.url} (pid ${proxy.pid}), unauth proxy ${unauth.url} (pid ${unauth.pid})`,
    );
    const tool = row.proxiedTool;
    const targets: Record<AuthTarget, Target> = {
      direct: row.direct,
      floor: { url: floor.url, tool: row.direct.tool },
      proxied: { url: proxy.url, tool, headers: row.headers },
      unauth: { url: unauth.url, tool, headers: row.headers },
    };
    const unusable = (await probe(targets.proxied)) ?? (await probe(targets.unauth));
    if (unusable) return keys.map((k) => skippedRow(k, `auth ${auth}: ${unusable}`));
    // The first calls through the OAuth proxy fetch the token; the measured ones find it cached.
    await warm(targets, 'modern', authWarmup);
    const upstreamPid = (name: string) => row.pids[name];
    const pids = {
      floor: { hop: floor.pid },
      proxied: { hop: proxy.pid, upstream: upstreamPid(`upstream-${auth}`) },
      // tokenExchange's baseline (a service token) calls the same protected upstream.
      unauth: {
        hop: unauth.pid,
        upstream: upstreamPid(auth === 'tokenExchange' ? `upstream-${auth}` : `upstream-${auth}-reference`),
      },
    };
    const rows: Row[] = [];
    for (const key of keys) {
      // Forward then backward (ABBA): proxied and unauth are always neighbours, each first in half the rounds.
      const order = (r: number) => (r % 2 === 0 ? AUTH_TARGETS : [...AUTH_TARGETS].reverse());
      const m = await measureRounds(key, targets, order, pids);
      const built = buildAuthRow(key, m.direct, m.floor, m.proxied, m.unauth);
      const up = built.upstream_cpu_us_per_call;
      log(
        `${built.name}: auth added p50 ${built.auth_added_p50_ms} ms (${built.proxied?.p50_ms} vs ${built.proxied_unauth?.p50_ms}), proxy CPU ${built.hop_cpu_us_per_call}/${built.unauth_cpu_us_per_call} µs, upstream CPU ${up?.auth}/${up?.unauth} µs, errors ${built.errors}`,
      );
      rows.push(built);
    }
    return rows;
  } catch (err) {
    const reason = `auth ${auth} row failed: ${firstLine((err as Error).message)}`;
    log(reason);
    return keys.map((k) => skippedRow(k, reason));
  } finally {
    for (const child of started.reverse()) await child.stop();
    await setup?.stop();
  }
}

// Redis rows (issue 6, Performance): concurrency 1, 200 B, the Redis-store proxy against the same
// config with the memory store. Legacy: the session lives in the store, so every call's session
// lookup / touch is a Redis round trip; modern is stateless. Gov-on: rate counters and the PII vault
// live in Redis too.
const STORE_KEYS: RowKey[] = [
  { era: 'legacy', concurrency: 1, governance: 'off', payload_bytes: 200, store: 'redis' },
  { era: 'modern', concurrency: 1, governance: 'off', payload_bytes: 200, store: 'redis' },
  { era: 'modern', concurrency: 1, governance: 'on', payload_bytes: 200, store: 'redis' },
];
/** `memory`: the Redis row's proxy config with the memory store, same upstream: the baseline. */
type StoreTarget = Kind | 'memory';
const STORE_TARGETS: StoreTarget[] = ['direct', 'floor', 'proxied', 'memory'];
// Chain row: client → edge → core → tools-server, modern, c1, 200 B, governance off.
const CHAIN_KEYS: RowKey[] = [
  { era: 'modern', concurrency: 1, governance: 'off', payload_bytes: 200, hops: 2 },
];
/** `core`: the core proxy alone (one hop); `proxied` is the edge in front of it. */
type ChainTarget = Kind | 'core';
const CHAIN_TARGETS: ChainTarget[] = ['direct', 'floor', 'core', 'proxied'];

const filtered = (keys: RowKey[]) => {
  const filter = flags.filter;
  return filter ? keys.filter((k) => rowName(k).includes(filter)) : keys;
};
/** Forward then backward (ABBA), as for the auth rows: the compared pair are always neighbours. */
const abba =
  <K>(list: K[]) =>
  (r: number) =>
    r % 2 === 0 ? list : [...list].reverse();

/**
 * The Redis rows: one tools-server, a floor, a private redis-server, and per governance level a
 * pair of proxies (Redis store, memory store) with otherwise the same config. Fresh processes, so
 * the count-based warm-up of the auth rows, in every era the level measures.
 */
async function measureStoreRows(): Promise<Row[]> {
  const keys = filtered(STORE_KEYS);
  if (keys.length === 0) return [];
  const started: Child[] = [];
  let redis: RedisServer | undefined;
  const rows: Row[] = [];
  try {
    const upstream = await spawnChild(
      'upstream-store',
      ['--import', 'tsx', 'upstreams/tools-server.ts', '--port', '0'],
      /LISTENING (\S+)/,
    );
    started.push(upstream);
    const floor = await spawnChild(
      'floor-store',
      ['--import', 'tsx', 'bench/floor.ts', '--upstream', upstream.url],
      READY.floor,
    );
    started.push(floor);
    redis = await startRedis(tmp);
    log(`redis rows: redis-server ${redis.url} (pid ${redis.pid}), upstream ${upstream.url}`);
    for (const governance of GOVERNANCE) {
      const levelKeys = keys.filter((k) => k.governance === governance);
      if (levelKeys.length === 0) continue;
      const setup = await writeProxyConfig(governance, upstream.url, tmp);
      const twin = redisVariant(setup.configPath, redis.url, setup.auditPath);
      const pair: Child[] = [];
      try {
        const spawn = async (name: string, config: string) => {
          const child = await spawnChild(name, [proxyEntry(), 'serve', '--config', config], READY.proxy);
          pair.push(child);
          return child;
        };
        const proxy = await spawn(`proxy-store-redis-${governance}`, twin.configPath);
        const memory = await spawn(`proxy-store-memory-${governance}`, setup.configPath);
        log(
          `redis gov-${governance}: redis proxy ${proxy.url} (pid ${proxy.pid}), memory proxy ${memory.url} (pid ${memory.pid})`,
        );
        const targets: Record<StoreTarget, Target> = {
          direct: { url: upstream.url, tool: 'echo' },
          floor: { url: floor.url, tool: 'echo' },
          proxied: { url: proxy.url, tool: 'tools__echo', headers: setup.headers },
          memory: { url: memory.url, tool: 'tools__echo', headers: setup.headers },
        };
        const unusable =
          (await probe(targets.proxied, twin.auditPath)) ?? (await probe(targets.memory, setup.auditPath));
        if (unusable) {
          rows.push(...levelKeys.map((k) => skippedRow(k, `redis gov-${governance}: ${unusable}`)));
          continue;
        }
        for (const era of new Set(levelKeys.map((k) => k.era))) await warm(targets, era, authWarmup);
        const pids = {
          floor: { hop: floor.pid },
          proxied: { hop: proxy.pid, upstream: redis.pid },
          memory: { hop: memory.pid },
        };
        for (const key of levelKeys) {
          const m = await measureRounds(key, targets, abba(STORE_TARGETS), pids);
          const built = buildStoreRow(key, m.direct, m.floor, m.proxied, m.memory);
          log(
            `${built.name}: store added p50 ${built.store_added_p50_ms} ms (${built.proxied?.p50_ms} vs ${built.proxied_memory?.p50_ms}), proxy CPU ${built.hop_cpu_us_per_call}/${built.memory_cpu_us_per_call} µs, redis-server CPU ${built.redis_cpu_us_per_call} µs, errors ${built.errors}`,
          );
          rows.push(built);
        }
      } finally {
        for (const child of pair.reverse()) await child.stop();
        await setup.close();
      }
    }
    return rows;
  } catch (err) {
    const reason = `redis rows failed: ${firstLine((err as Error).message)}`;
    log(reason);
    const done = new Set(rows.map((r) => r.name));
    return [...rows, ...keys.filter((k) => !done.has(rowName(k))).map((k) => skippedRow(k, reason))];
  } finally {
    for (const child of started.reverse()) await child.stop();
    await redis?.stop();
  }
}

/**
 * The chain row: tools-server, a floor in front of it, the core proxy in front of it, and the edge
 * proxy whose one upstream is the core's /mcp (`core__tools__echo`). The same count-based warm-up.
 */
async function measureChainRows(): Promise<Row[]> {
  const keys = filtered(CHAIN_KEYS);
  if (keys.length === 0) return [];
  const started: Child[] = [];
  try {
    const run = async (name: string, args: string[], ready: RegExp) => {
      const child = await spawnChild(name, args, ready);
      started.push(child);
      return child;
    };
    const upstream = await run(
      'upstream-chain',
      ['--import', 'tsx', 'upstreams/tools-server.ts', '--port', '0'],
      /LISTENING (\S+)/,
    );
    const floor = await run(
      'floor-chain',
      ['--import', 'tsx', 'bench/floor.ts', '--upstream', upstream.url],
      READY.floor,
    );
    const setup = await writeProxyConfig('off', upstream.url, tmp);
    const core = await run(
      'proxy-chain-core',
      [proxyEntry(), 'serve', '--config', setup.configPath],
      READY.proxy,
    );
    const edgeConfig = writeEdgeConfig(core.url, tmp);
    const edge = await run(
      'proxy-chain-edge',
      [proxyEntry(), 'serve', '--config', edgeConfig.configPath],
      READY.proxy,
    );
    log(`chain: core ${core.url} (pid ${core.pid}), edge ${edge.url} (pid ${edge.pid})`);
    const targets: Record<ChainTarget, Target> = {
      direct: { url: upstream.url, tool: 'echo' },
      floor: { url: floor.url, tool: 'echo' },
      core: { url: core.url, tool: 'tools__echo' },
      proxied: { url: edge.url, tool: edgeConfig.tool },
    };
    const unusable = (await probe(targets.proxied)) ?? (await probe(targets.core));
    if (unusable) return keys.map((k) => skippedRow(k, `chain: ${unusable}`));
    await warm(targets, 'modern', authWarmup);
    const pids = {
      floor: { hop: floor.pid },
      core: { hop: core.pid },
      proxied: { hop: edge.pid, upstream: core.pid },
    };
    const rows: Row[] = [];
    for (const key of keys) {
      const m = await measureRounds(key, targets, abba(CHAIN_TARGETS), pids);
      const built = buildChainRow(key, m.direct, m.floor, m.proxied, m.core);
      log(
        `${built.name}: first hop ${built.first_hop_added_p50_ms} ms, second hop ${built.second_hop_added_p50_ms} ms (${built.checks.second_hop}), CPU core ${built.chain_cpu_us_per_call?.core_alone} / edge ${built.chain_cpu_us_per_call?.edge} µs, errors ${built.errors}`,
      );
      rows.push(built);
    }
    return rows;
  } catch (err) {
    const reason = `chain row failed: ${firstLine((err as Error).message)}`;
    log(reason);
    return keys.map((k) => skippedRow(k, reason));
  } finally {
    for (const child of started.reverse()) await child.stop();
  }
}

// Peer rows (issue 7): both eras × concurrency 1, 16 × 200 B, 4 KiB, governance off; mcp-fed and
// mcp-proxy each fronting its own stdio tools-server, the tools-server over HTTP as the reference.
const PEER_KEYS: RowKey[] = ERAS.flatMap((era) =>
  CONCURRENCY.flatMap((concurrency) =>
    PAYLOADS.map((payload_bytes) => ({
      era,
      concurrency,
      governance: 'off' as const,
      payload_bytes,
      peer: 'mcp-proxy' as const,
    })),
  ),
);
/** `peer`: mcp-proxy in front of its stdio child; `proxied`: mcp-fed in front of its own. */
type PeerTarget = 'direct' | 'proxied' | 'peer';
const PEER_TARGETS: PeerTarget[] = ['direct', 'proxied', 'peer'];

/**
 * The peer rows: a tools-server over HTTP (the reference), mcp-fed with the same binary as a stdio
 * upstream, and mcp-proxy spawning that binary. Fresh processes: the count-based warm-up in both eras.
 */
async function measurePeerRows(): Promise<Row[]> {
  const keys = filtered(PEER_KEYS);
  if (keys.length === 0) return [];
  const version = peerVersion();
  if (!version) return keys.map((k) => skippedRow(k, 'mcp-proxy is not installed (devDependency)'));
  const started: Child[] = [];
  try {
    const run = async (name: string, args: string[], ready: RegExp) => {
      const child = await spawnChild(name, args, ready);
      started.push(child);
      return child;
    };
    const upstream = await run(
      'upstream-peer',
      ['--import', 'tsx', 'upstreams/tools-server.ts', '--port', '0'],
      /LISTENING (\S+)/,
    );
    const fedConfig = writeFedStdioConfig(tmp);
    const fed = await run(
      'proxy-peer-stdio',
      [proxyEntry(), 'serve', '--config', fedConfig.configPath],
      READY.proxy,
    );
    const port = await freePort();
    const peer = await run('peer-mcp-proxy', peerArgs(port), PEER_READY);
    await waitForPort(port);
    const peerUrl = `http://127.0.0.1:${port}/mcp`;
    log(
      `peer: ${version} ${peerUrl} (pid ${peer.pid}), mcp-fed stdio ${fed.url} (pid ${fed.pid}), direct ${upstream.url}`,
    );
    const targets: Record<PeerTarget, Target> = {
      direct: { url: upstream.url, tool: 'echo' },
      proxied: { url: fed.url, tool: fedConfig.tool },
      peer: { url: peerUrl, tool: 'echo' },
    };
    // mcp-fed lists its stdio upstream after it listens: give the catalog a few seconds to fill.
    let unusable: string | undefined;
    for (let i = 0; i < 20; i++) {
      unusable = (await probe(targets.proxied)) ?? (await probe(targets.peer));
      if (!unusable) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    if (unusable) return keys.map((k) => skippedRow(k, `peer: ${unusable}`));
    for (const era of new Set(keys.map((k) => k.era))) await warm(targets, era, authWarmup);
    const pids = {
      proxied: { hop: fed.pid, upstream: childPid(fed.pid) },
      peer: { hop: peer.pid, upstream: childPid(peer.pid) },
    };
    const rows: Row[] = [];
    for (const key of keys) {
      const m = await measureRounds(key, targets, abba(PEER_TARGETS), pids);
      const built = buildPeerRow(key, version, m.direct, m.proxied, m.peer);
      const x = built.ratio_vs_peer;
      log(
        `${built.name}: p50 ${built.proxied?.p50_ms} vs ${built.proxied_peer?.p50_ms} ms, CPU ${built.hop_cpu_us_per_call}/${built.peer_cpu_us_per_call} µs, rps ${built.proxied?.rps}/${built.proxied_peer?.rps}, mcp-fed÷peer p50 ${x?.p50} rps ${x?.rps}, errors ${built.errors}`,
      );
      rows.push(built);
    }
    return rows;
  } catch (err) {
    const reason = `peer rows failed: ${firstLine((err as Error).message)}`;
    log(reason);
    return keys.map((k) => skippedRow(k, reason));
  } finally {
    for (const child of started.reverse()) await child.stop();
  }
}

async function spawnChild(name: string, args: string[], ready: RegExp): Promise<Child> {
  const child = await startNode(name, args, ready, tmp);
  children.push(child);
  return child;
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

const firstLine = (text: string) =>
  text
    .split('\n')
    .find((l) => l.trim() !== '')
    ?.slice(0, 300) ?? '';
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

/** Child logs stay behind after a broken run: they are the first place to look. */
async function shutdown(keepLogs: boolean): Promise<void> {
  await Promise.all(children.map((c) => c.stop()));
  if (keepLogs) log(`child logs kept in ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
}

process.once('SIGINT', () => {
  killAll();
  process.exit(130);
});

let code = 1;
try {
  code = await main();
} catch (err) {
  log(`broken run: ${(err as Error).stack ?? err}`);
} finally {
  await shutdown(code !== 0).catch(() => killAll());
}
process.exit(code);
