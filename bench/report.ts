/**
 * Turns measured rounds into the rows of bench/results.json (DESIGN.md "Performance") and the
 * printed table. Targets are ratios to the floor of the same run: absolute times drift here. Auth
 * rows (bench/auth-rows.ts) add one absolute target: what upstream auth adds over the same proxy
 * to the same server without auth, both measured in the same rounds.
 */
import type { AuthKind } from './auth-rows.ts';
import type { Era } from './driver.ts';
import type { PeerName } from './peer-rows.ts';
import type { Governance } from './proxy-config.ts';
import type { UpstreamShape } from './upstream-shape-rows.ts';

export interface Round {
  latenciesMs: number[];
  calls: number;
  errors: number;
  elapsedMs: number;
  cpuUs?: number;
  /** Auth rows: CPU of the upstream process this target reaches, during the same phase. */
  upstreamCpuUs?: number;
}

export interface Stats {
  p50_ms: number;
  p99_ms: number;
  rps: number;
}

export interface RowKey {
  era: Era;
  concurrency: number;
  governance: Governance;
  payload_bytes: number;
  /** Auth rows only: the proxy signs for a protected upstream (bench/auth-rows.ts). */
  auth?: AuthKind;
  /** Governance-on rows whose payload holds no PII (issue 15: "governance on, no PII present"). */
  noPii?: true;
  /** Redis rows only: the proxy keeps its state in Redis (bench/store-chain-rows.ts). */
  store?: 'redis';
  /** Chain rows only: number of proxies in a row (client → edge → core → upstream = 2). */
  hops?: 2;
  /** Peer rows only: mcp-fed and this npm proxy, each fronting the same stdio upstream (bench/peer-rows.ts). */
  peer?: PeerName;
  /** Upstream-shape rows only: an SDK v1 server, stateless or with an event store (bench/upstream-shape-rows.ts). */
  upstream?: UpstreamShape;
}

export type Verdict = 'PASS' | 'MISS' | null;

export interface Row extends RowKey {
  name: string;
  direct: Stats | null;
  floor: Stats | null;
  proxied: Stats | null;
  added_p50_ms: number | null;
  floor_added_p50_ms: number | null;
  hop_cpu_us_per_call: number | null;
  floor_cpu_us_per_call: number | null;
  throughput_ratio_vs_floor: number | null;
  checks: {
    added_p50: Verdict;
    cpu: Verdict;
    throughput: Verdict;
    auth_added_p50?: Verdict;
    store_added_p50?: Verdict;
    second_hop?: Verdict;
  };
  errors: number;
  calls: number;
  skipped?: string;
  /** Auth rows: the same proxy config without auth, to the same server with `--auth none`. */
  proxied_unauth?: Stats | null;
  /** Auth rows: `proxied.p50 − proxied_unauth.p50`, both from the same interleaved rounds. */
  auth_added_p50_ms?: number | null;
  /** Auth rows: CPU per call of the unauthenticated proxy (`hop_cpu_us_per_call` is the signing one's). */
  unauth_cpu_us_per_call?: number | null;
  /** Auth rows: CPU per call of the protected upstream (auth) and of the `--auth none` one (unauth). */
  upstream_cpu_us_per_call?: { auth: number; unauth: number } | null;
  /** Redis rows: the same proxy config with the memory store (the baseline). */
  proxied_memory?: Stats | null;
  /** Redis rows: `proxied.p50 − proxied_memory.p50`, both from the same interleaved rounds. */
  store_added_p50_ms?: number | null;
  /** Redis rows: CPU per call of the memory-store proxy (`hop_cpu_us_per_call` is the Redis one's). */
  memory_cpu_us_per_call?: number | null;
  /** Redis rows: CPU per call of redis-server during the Redis proxy's phases. */
  redis_cpu_us_per_call?: number | null;
  /** Chain rows: client → core proxy → upstream (one hop); `proxied` is the whole chain. */
  proxied_core?: Stats | null;
  /** Chain rows: `proxied_core.p50 − direct.p50`. */
  first_hop_added_p50_ms?: number | null;
  /** Chain rows: `proxied.p50 − proxied_core.p50` (edge in front of the core). */
  second_hop_added_p50_ms?: number | null;
  /** Chain rows: CPU per call of the core alone, and of edge and core during the chain's phases. */
  chain_cpu_us_per_call?: { core_alone: number; edge: number; core_in_chain: number } | null;
  /** Peer rows: the peer and the flags it runs with (`mcp-proxy@<version> --server stream ...`). */
  peer_version?: string;
  /** Peer rows: client → peer → its stdio child; `proxied` is client → mcp-fed → its stdio child. */
  proxied_peer?: Stats | null;
  /** Peer rows: `proxied_peer.p50 − direct.p50` (`added_p50_ms` is mcp-fed's). */
  peer_added_p50_ms?: number | null;
  /** Peer rows: CPU per call of the peer process (`hop_cpu_us_per_call` is mcp-fed's). */
  peer_cpu_us_per_call?: number | null;
  /** Peer rows: CPU per call of each proxy's stdio child (the same tools-server binary). */
  stdio_child_cpu_us_per_call?: { fed: number; peer: number } | null;
  /** Peer rows: mcp-fed ÷ peer, same rounds (below 1 = mcp-fed is faster / cheaper, above 1 for rps). */
  ratio_vs_peer?: { p50: number; p99: number; added_p50: number; cpu: number; rps: number } | null;
  /** Upstream-shape rows: whether the upstream keeps sessions, and how it answers a POST. */
  upstream_mode?: 'stateless' | 'stateful';
  upstream_responses?: 'json' | 'sse';
  /** Upstream-shape rows: the era of the `direct` and `floor` clients (a v1 server speaks only 2025-11-25). */
  direct_era?: Era;
}

/**
 * DESIGN.md targets; CPU and throughput are stated for the proxy as such, so gov-off rows only. An
 * auth row's proxy does the upstream's auth work on top, so its ratios to the floor are shown as
 * `info`; its own target is the absolute `authAddedP50` (issue "Upstream auth adapters").
 */
export function targets(key: RowKey) {
  const none = { storeAddedP50: null, secondHopRatio: null };
  if (key.auth) return { addedP50: null, cpu: null, throughput: null, authAddedP50: 0.3, ...none };
  // Redis and chain rows have their own absolute / relative targets (issue 6, Performance).
  // Sessions in Redis: ≤ 0.5 ms (issue 6); governance's Redis work on top: ≤ 0.3 ms (issue 15).
  if (key.store) {
    const storeAddedP50 = key.governance === 'on' ? 0.3 : 0.5;
    return { addedP50: null, cpu: null, throughput: null, authAddedP50: null, ...none, storeAddedP50 };
  }
  if (key.hops)
    return { addedP50: null, cpu: null, throughput: null, authAddedP50: null, ...none, secondHopRatio: 1.1 };
  // Peer rows compare two proxies; no target is stated for the ratio (issue 7): information.
  if (key.peer) return { addedP50: null, cpu: null, throughput: null, authAddedP50: null, ...none };
  // Upstream-shape rows (issue 10) fall through: the proxy as such, in front of another kind of upstream.
  return {
    addedP50: key.governance === 'on' ? 2 : 1.3,
    cpu: key.governance === 'off' ? 1.5 : null,
    throughput: key.governance === 'off' && key.concurrency === 16 ? 0.9 : null,
    authAddedP50: null,
    ...none,
  };
}

/**
 * The fields DESIGN.md "Performance" lists for every row of `bench/results.json`, beside the figures:
 * what was measured (upstream mode, payload, store) and what it was held to (target, verdict: MISS if any
 * check missed, PASS if every check stated passed, `info` where the row states none).
 */
export function contractFields(row: Row): {
  upstream_mode: 'stateful' | 'stateless';
  payload: 'plain' | 'pii5';
  store: 'memory' | 'redis';
  target: string;
  verdict: 'PASS' | 'MISS' | 'info';
} {
  const t = targets(row);
  const goals: string[] = [];
  if (t.addedP50 !== null) goals.push(`added p50 <= ${t.addedP50}x the floor's`);
  if (t.cpu !== null) goals.push(`CPU per call <= ${t.cpu}x the floor's`);
  if (t.throughput !== null) goals.push(`c16 throughput >= ${t.throughput}x the floor's`);
  if (t.authAddedP50 !== null) goals.push(`auth added p50 <= ${t.authAddedP50} ms`);
  if (t.storeAddedP50 !== null) goals.push(`store added p50 <= ${t.storeAddedP50} ms`);
  if (t.secondHopRatio !== null) goals.push(`second hop <= ${t.secondHopRatio}x the first`);
  const checks = Object.values(row.checks).filter((v): v is 'PASS' | 'MISS' => v === 'PASS' || v === 'MISS');
  return {
    upstream_mode: row.upstream_mode ?? 'stateful',
    payload: row.governance === 'on' && !row.noPii ? 'pii5' : 'plain',
    store: row.store ?? 'memory',
    target: goals.length ? goals.join('; ') : 'none stated (information)',
    verdict: checks.includes('MISS') ? 'MISS' : checks.length ? 'PASS' : 'info',
  };
}

export function rowName(key: RowKey): string {
  const size = key.payload_bytes >= 1024 ? `${key.payload_bytes / 1024}KiB` : `${key.payload_bytes}B`;
  const name = `${key.era} c${key.concurrency} ${size} gov-${key.governance}${key.noPii ? ' no-pii' : ''}`;
  if (key.auth) return `${name} auth-${key.auth}`;
  if (key.store) return `${name} store-${key.store}`;
  if (key.hops) return `${name} chain-${key.hops}hop`;
  if (key.peer) return `${name} stdio peer-${key.peer}`;
  if (key.upstream) return `${name} upstream-${key.upstream}`;
  return name;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

const median = (values: number[]) =>
  quantile(
    [...values].sort((a, b) => a - b),
    0.5,
  );
const round3 = (n: number) => Math.round(n * 1000) / 1000;

/**
 * p50 and rps (successful calls only) are medians of the per-round figures, so one round disturbed by a neighbour on
 * the shared machine does not move them; p99 needs many samples, so it pools every round.
 */
export function summarize(rounds: Round[]): Stats {
  const pooled = rounds.flatMap((r) => r.latenciesMs).sort((a, b) => a - b);
  return {
    p50_ms: round3(
      median(
        rounds.map((r) =>
          quantile(
            [...r.latenciesMs].sort((a, b) => a - b),
            0.5,
          ),
        ),
      ),
    ),
    p99_ms: round3(quantile(pooled, 0.99)),
    rps: Math.round(median(rounds.map((r) => (r.latenciesMs.length / r.elapsedMs) * 1000))),
  };
}

/** Total CPU over total calls: /proc ticks are 10 ms, so summing keeps the resolution usable. */
export function cpuPerCall(rounds: Round[]): number {
  const calls = rounds.reduce((sum, r) => sum + r.calls, 0);
  const cpu = rounds.reduce((sum, r) => sum + (r.cpuUs ?? 0), 0);
  return calls === 0 ? Number.NaN : Math.round(cpu / calls);
}

export function buildRow(key: RowKey, direct: Round[], floor: Round[], proxied: Round[]): Row {
  const d = summarize(direct);
  const f = summarize(floor);
  const p = summarize(proxied);
  const added = round3(p.p50_ms - d.p50_ms);
  const floorAdded = round3(f.p50_ms - d.p50_ms);
  const hopCpu = cpuPerCall(proxied);
  const floorCpu = cpuPerCall(floor);
  const throughput = round3(p.rps / f.rps);
  const t = targets(key);
  const all = [...direct, ...floor, ...proxied];
  return {
    name: rowName(key),
    ...key,
    direct: d,
    floor: f,
    proxied: p,
    added_p50_ms: added,
    floor_added_p50_ms: floorAdded,
    hop_cpu_us_per_call: hopCpu,
    floor_cpu_us_per_call: floorCpu,
    throughput_ratio_vs_floor: throughput,
    checks: {
      added_p50: t.addedP50 === null ? null : added <= t.addedP50 * floorAdded ? 'PASS' : 'MISS',
      cpu: t.cpu === null ? null : hopCpu <= t.cpu * floorCpu ? 'PASS' : 'MISS',
      throughput: t.throughput === null ? null : throughput >= t.throughput ? 'PASS' : 'MISS',
    },
    errors: all.reduce((sum, r) => sum + r.errors, 0),
    calls: all.reduce((sum, r) => sum + r.calls, 0),
  };
}

/** Total CPU of the upstream process over total calls (auth rows; see cpuPerCall). */
function upstreamCpuPerCall(rounds: Round[]): number {
  return cpuPerCall(rounds.map((r) => ({ ...r, cpuUs: r.upstreamCpuUs })));
}

/**
 * An auth row: `direct` and `floor` reach the `--auth none` reference, `proxied` goes through the
 * signing proxy to the protected upstream, `unauth` through the same proxy config without auth to
 * the reference. All four were measured in the same rounds.
 */
export function buildAuthRow(
  key: RowKey,
  direct: Round[],
  floor: Round[],
  proxied: Round[],
  unauth: Round[],
): Row {
  const row = buildRow(key, direct, floor, proxied);
  const u = summarize(unauth);
  const authAdded = round3((row.proxied?.p50_ms ?? Number.NaN) - u.p50_ms);
  const limit = targets(key).authAddedP50;
  return {
    ...row,
    proxied_unauth: u,
    auth_added_p50_ms: authAdded,
    unauth_cpu_us_per_call: cpuPerCall(unauth),
    upstream_cpu_us_per_call: { auth: upstreamCpuPerCall(proxied), unauth: upstreamCpuPerCall(unauth) },
    checks: {
      ...row.checks,
      auth_added_p50: limit === null ? null : authAdded <= limit ? 'PASS' : 'MISS',
    },
    errors: row.errors + unauth.reduce((sum, r) => sum + r.errors, 0),
    calls: row.calls + unauth.reduce((sum, r) => sum + r.calls, 0),
  };
}

/**
 * A Redis row: `direct` and `floor` reach the tools-server, `proxied` goes through the Redis-store
 * proxy, `memory` through the same config with the memory store. `redis` CPU rides on `proxied`'s
 * `upstreamCpuUs` (the redis-server process during the Redis proxy's phases).
 */
export function buildStoreRow(
  key: RowKey,
  direct: Round[],
  floor: Round[],
  proxied: Round[],
  memory: Round[],
): Row {
  const row = buildRow(key, direct, floor, proxied);
  const m = summarize(memory);
  const added = round3((row.proxied?.p50_ms ?? Number.NaN) - m.p50_ms);
  const limit = targets(key).storeAddedP50;
  return {
    ...row,
    proxied_memory: m,
    store_added_p50_ms: added,
    memory_cpu_us_per_call: cpuPerCall(memory),
    redis_cpu_us_per_call: upstreamCpuPerCall(proxied),
    checks: { ...row.checks, store_added_p50: limit === null ? null : added <= limit ? 'PASS' : 'MISS' },
    errors: row.errors + memory.reduce((sum, r) => sum + r.errors, 0),
    calls: row.calls + memory.reduce((sum, r) => sum + r.calls, 0),
  };
}

/**
 * A chain row: `proxied` is client → edge → core → upstream, `core` is client → core → upstream.
 * `proxied` rounds carry the edge's CPU as `cpuUs` and the core's as `upstreamCpuUs`.
 */
export function buildChainRow(
  key: RowKey,
  direct: Round[],
  floor: Round[],
  proxied: Round[],
  core: Round[],
): Row {
  const row = buildRow(key, direct, floor, proxied);
  const c = summarize(core);
  const first = round3(c.p50_ms - (row.direct?.p50_ms ?? Number.NaN));
  const second = round3((row.proxied?.p50_ms ?? Number.NaN) - c.p50_ms);
  const ratio = targets(key).secondHopRatio;
  return {
    ...row,
    proxied_core: c,
    first_hop_added_p50_ms: first,
    second_hop_added_p50_ms: second,
    chain_cpu_us_per_call: {
      core_alone: cpuPerCall(core),
      edge: cpuPerCall(proxied),
      core_in_chain: upstreamCpuPerCall(proxied),
    },
    checks: { ...row.checks, second_hop: ratio === null ? null : second <= ratio * first ? 'PASS' : 'MISS' },
    errors: row.errors + core.reduce((sum, r) => sum + r.errors, 0),
    calls: row.calls + core.reduce((sum, r) => sum + r.calls, 0),
  };
}

/**
 * A peer row: `direct` is the tools-server over HTTP (no proxy), `proxied` mcp-fed and `peer` the npm
 * proxy, each in front of its own stdio child of the same binary. No floor: a bare HTTP pass-through
 * cannot front a stdio server. `proxied` / `peer` rounds carry the child's CPU as `upstreamCpuUs`.
 */
export function buildPeerRow(
  key: RowKey,
  peerVersion: string,
  direct: Round[],
  proxied: Round[],
  peer: Round[],
): Row {
  const d = summarize(direct);
  const p = summarize(proxied);
  const q = summarize(peer);
  const added = round3(p.p50_ms - d.p50_ms);
  const peerAdded = round3(q.p50_ms - d.p50_ms);
  const fedCpu = cpuPerCall(proxied);
  const peerCpu = cpuPerCall(peer);
  const all = [...direct, ...proxied, ...peer];
  return {
    name: rowName(key),
    ...key,
    peer_version: peerVersion,
    direct: d,
    floor: null,
    proxied: p,
    added_p50_ms: added,
    floor_added_p50_ms: null,
    hop_cpu_us_per_call: fedCpu,
    floor_cpu_us_per_call: null,
    throughput_ratio_vs_floor: null,
    checks: { added_p50: null, cpu: null, throughput: null },
    errors: all.reduce((sum, r) => sum + r.errors, 0),
    calls: all.reduce((sum, r) => sum + r.calls, 0),
    proxied_peer: q,
    peer_added_p50_ms: peerAdded,
    peer_cpu_us_per_call: peerCpu,
    stdio_child_cpu_us_per_call: { fed: upstreamCpuPerCall(proxied), peer: upstreamCpuPerCall(peer) },
    ratio_vs_peer: {
      p50: round3(p.p50_ms / q.p50_ms),
      p99: round3(p.p99_ms / q.p99_ms),
      added_p50: round3(added / peerAdded),
      cpu: round3(fedCpu / peerCpu),
      rps: round3(p.rps / q.rps),
    },
  };
}

export function skippedRow(key: RowKey, reason: string): Row {
  return {
    name: rowName(key),
    ...key,
    direct: null,
    floor: null,
    proxied: null,
    added_p50_ms: null,
    floor_added_p50_ms: null,
    hop_cpu_us_per_call: null,
    floor_cpu_us_per_call: null,
    throughput_ratio_vs_floor: null,
    checks: {
      added_p50: null,
      cpu: null,
      throughput: null,
      ...(key.auth && { auth_added_p50: null }),
      ...(key.store && { store_added_p50: null }),
      ...(key.hops && { second_hop: null }),
    },
    errors: 0,
    calls: 0,
    skipped: reason,
    ...(key.auth && { proxied_unauth: null, auth_added_p50_ms: null }),
    ...(key.store && { proxied_memory: null, store_added_p50_ms: null }),
    ...(key.hops && { proxied_core: null, first_hop_added_p50_ms: null, second_hop_added_p50_ms: null }),
    ...(key.peer && { proxied_peer: null, peer_added_p50_ms: null, ratio_vs_peer: null }),
  };
}

const fmt = (n: number | null | undefined, digits = 2) =>
  n === null || n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits);
const pair = (s: Stats | null) => (s ? `${fmt(s.p50_ms)} / ${fmt(s.p99_ms)}` : '-');

function ratioCell(
  hop: number | null,
  floor: number | null,
  limit: number | null,
  verdict: Verdict,
  le = true,
) {
  if (hop === null || floor === null) return '-';
  const ratio = floor > 0 ? `${(hop / floor).toFixed(2)}x` : 'n/a';
  const goal = limit === null ? 'info' : `${le ? '<=' : '>='}${limit}x`;
  return `${ratio} (${goal})${verdict ? ` ${verdict}` : ''}`;
}

/**
 * Markdown tables, so the README's "Results" section is a paste of real output: the proxy rows,
 * then the auth, Redis, chain, upstream-shape and peer rows when there are any.
 */
export function table(rows: Row[]): string {
  const plain = rows.filter((r) => !r.auth && !r.store && !r.hops && !r.peer && !r.upstream);
  const auth = rows.filter((r) => r.auth);
  const store = rows.filter((r) => r.store);
  const chain = rows.filter((r) => r.hops);
  const peer = rows.filter((r) => r.peer);
  const shaped = rows.filter((r) => r.upstream);
  return [
    plain.length > 0 ? proxyTable(plain) : '',
    auth.length > 0 ? authTable(auth) : '',
    store.length > 0 ? storeTable(store) : '',
    chain.length > 0 ? chainTable(chain) : '',
    // The proxy rows' columns; direct and floor are 2025-era calls (all a v1 server speaks).
    shaped.length > 0
      ? proxyTable(shaped, ['upstream row', 'direct (2025) p50/p99 ms', 'floor (2025) p50/p99 ms'])
      : '',
    peer.length > 0 ? peerTable(peer) : '',
  ]
    .filter((t) => t !== '')
    .join('\n\n');
}

const verdictCell = (value: number | null | undefined, goal: string, verdict: Verdict | undefined) =>
  `${fmt(value, 3)} (${goal})${verdict ? ` ${verdict}` : ''}`;

/** Redis rows: `memory` is the same proxy config with the memory store (the baseline). */
function storeTable(rows: Row[]): string {
  const head = [
    'redis row',
    'direct p50/p99 ms',
    'floor p50/p99 ms',
    'proxied memory p50/p99 ms',
    'proxied redis p50/p99 ms',
    'store added p50 ms',
    'added p50 ms redis / floor',
    'proxy CPU µs/call redis / memory / floor',
    'redis-server CPU µs/call',
    'rps direct / floor / memory / redis',
  ];
  return render(head, rows, (r) => [
    r.name,
    pair(r.direct),
    pair(r.floor),
    pair(r.proxied_memory ?? null),
    pair(r.proxied),
    verdictCell(r.store_added_p50_ms, `<=${targets(r).storeAddedP50}`, r.checks.store_added_p50),
    `${fmt(r.added_p50_ms, 3)} / ${fmt(r.floor_added_p50_ms, 3)}`,
    `${fmt(r.hop_cpu_us_per_call, 0)} / ${fmt(r.memory_cpu_us_per_call, 0)} / ${fmt(r.floor_cpu_us_per_call, 0)}`,
    fmt(r.redis_cpu_us_per_call, 0),
    `${r.direct?.rps} / ${r.floor?.rps} / ${r.proxied_memory?.rps} / ${r.proxied?.rps}`,
  ]);
}

/** Chain rows: `core` is one proxy, `chain` the edge in front of it. */
function chainTable(rows: Row[]): string {
  const head = [
    'chain row',
    'direct p50/p99 ms',
    'floor p50/p99 ms',
    'core p50/p99 ms',
    'edge→core p50/p99 ms',
    'hop added p50 ms first / second',
    'second hop',
    'floor added p50 ms',
    'CPU µs/call core alone / edge / core in chain / floor',
    'rps direct / floor / core / chain',
  ];
  return render(head, rows, (r) => {
    const ratio = targets(r).secondHopRatio;
    const c = r.chain_cpu_us_per_call;
    const first = r.first_hop_added_p50_ms;
    const second = r.second_hop_added_p50_ms;
    const shown =
      first && second !== null && second !== undefined && first > 0
        ? `${(second / first).toFixed(2)}x`
        : 'n/a';
    return [
      r.name,
      pair(r.direct),
      pair(r.floor),
      pair(r.proxied_core ?? null),
      pair(r.proxied),
      `${fmt(first, 3)} / ${fmt(second, 3)}`,
      `${shown} (<=${ratio}x first)${r.checks.second_hop ? ` ${r.checks.second_hop}` : ''}`,
      fmt(r.floor_added_p50_ms, 3),
      c
        ? `${fmt(c.core_alone, 0)} / ${fmt(c.edge, 0)} / ${fmt(c.core_in_chain, 0)} / ${fmt(r.floor_cpu_us_per_call, 0)}`
        : '-',
      `${r.direct?.rps} / ${r.floor?.rps} / ${r.proxied_core?.rps} / ${r.proxied?.rps}`,
    ];
  });
}

/** Peer rows: mcp-fed and the npm proxy, each fronting its own stdio child; ratios are mcp-fed ÷ peer. */
function peerTable(rows: Row[]): string {
  const head = [
    'peer row',
    'direct (HTTP) p50/p99 ms',
    'mcp-fed p50/p99 ms',
    'peer p50/p99 ms',
    'added p50 ms mcp-fed / peer',
    'CPU µs/call mcp-fed / peer',
    'stdio child CPU µs/call fed / peer',
    'rps direct / mcp-fed / peer',
    'mcp-fed ÷ peer: p50 / p99 / CPU / rps',
  ];
  return render(head, rows, (r) => {
    const x = r.ratio_vs_peer;
    const c = r.stdio_child_cpu_us_per_call;
    return [
      r.name,
      pair(r.direct),
      pair(r.proxied),
      pair(r.proxied_peer ?? null),
      `${fmt(r.added_p50_ms, 3)} / ${fmt(r.peer_added_p50_ms, 3)}`,
      `${fmt(r.hop_cpu_us_per_call, 0)} / ${fmt(r.peer_cpu_us_per_call, 0)}`,
      c ? `${fmt(c.fed, 0)} / ${fmt(c.peer, 0)}` : '-',
      `${r.direct?.rps} / ${r.proxied?.rps} / ${r.proxied_peer?.rps}`,
      x ? `${fmt(x.p50)}x / ${fmt(x.p99)}x / ${fmt(x.cpu)}x / ${fmt(x.rps)}x` : '-',
    ];
  });
}

function proxyTable(rows: Row[], lead = ['row', 'direct p50/p99 ms', 'floor p50/p99 ms']): string {
  const head = [
    ...lead,
    'proxied p50/p99 ms',
    'added p50 ms proxy / floor',
    'added ratio',
    'CPU µs/call proxy / floor',
    'CPU ratio',
    'rps direct / floor / proxied',
    'rps ratio',
  ];
  return render(head, rows, (r) => {
    const t = targets(r);
    return [
      r.name,
      pair(r.direct),
      pair(r.floor),
      pair(r.proxied),
      `${fmt(r.added_p50_ms, 3)} / ${fmt(r.floor_added_p50_ms, 3)}`,
      ratioCell(r.added_p50_ms, r.floor_added_p50_ms, t.addedP50, r.checks.added_p50),
      `${fmt(r.hop_cpu_us_per_call, 0)} / ${fmt(r.floor_cpu_us_per_call, 0)}`,
      ratioCell(r.hop_cpu_us_per_call, r.floor_cpu_us_per_call, t.cpu, r.checks.cpu),
      `${r.direct?.rps} / ${r.floor?.rps} / ${r.proxied?.rps}`,
      ratioCell(r.proxied?.rps ?? null, r.floor?.rps ?? null, t.throughput, r.checks.throughput, false),
    ];
  });
}

/** Auth rows: `direct` and `floor` reach the `--auth none` reference; `no-auth` is the baseline proxy. */
function authTable(rows: Row[]): string {
  const head = [
    'auth row',
    'direct p50/p99 ms',
    'floor p50/p99 ms',
    'proxied no-auth p50/p99 ms',
    'proxied auth p50/p99 ms',
    'auth added p50 ms',
    'added p50 ms proxy / floor',
    'proxy CPU µs/call auth / no-auth / floor',
    'upstream CPU µs/call auth / no-auth',
    'rps direct / floor / no-auth / auth',
  ];
  return render(head, rows, (r) => {
    const limit = targets(r).authAddedP50;
    const verdict = r.checks.auth_added_p50;
    const up = r.upstream_cpu_us_per_call;
    return [
      r.name,
      pair(r.direct),
      pair(r.floor),
      pair(r.proxied_unauth ?? null),
      pair(r.proxied),
      `${fmt(r.auth_added_p50_ms, 3)}${limit === null ? '' : ` (<=${limit})`}${verdict ? ` ${verdict}` : ''}`,
      `${fmt(r.added_p50_ms, 3)} / ${fmt(r.floor_added_p50_ms, 3)}`,
      `${fmt(r.hop_cpu_us_per_call, 0)} / ${fmt(r.unauth_cpu_us_per_call, 0)} / ${fmt(r.floor_cpu_us_per_call, 0)}`,
      up ? `${fmt(up.auth, 0)} / ${fmt(up.unauth, 0)}` : '-',
      `${r.direct?.rps} / ${r.floor?.rps} / ${r.proxied_unauth?.rps} / ${r.proxied?.rps}`,
    ];
  });
}

function render(head: string[], rows: Row[], cells: (row: Row) => string[]): string {
  // Reasons go under the table: one long reason would otherwise widen every row.
  const reasons = [...new Set(rows.flatMap((r) => (r.skipped ? [r.skipped] : [])))];
  const lines = rows.map((r) =>
    r.skipped
      ? [r.name, `skipped (${reasons.indexOf(r.skipped) + 1})`, ...head.slice(2).map(() => '')]
      : cells(r),
  );
  const all = [head, ...lines];
  const widths = head.map((_, i) => Math.max(...all.map((line) => (line[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const notes = reasons.map((reason, i) => `\n(${i + 1}) skipped: ${reason}`).join('');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...lines.map(line)].join('\n') + notes;
}
