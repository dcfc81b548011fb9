/**
 * The upstream-shape rows of `npm run bench` (issue 10, Performance): mcp-fed in front of two shapes
 * real 2025-era servers take, both the SDK v1 interop fixture (test/interop/servers/sdk-v1-server.ts,
 * whose `echo` takes `{ text }` like the tools-server's):
 *
 * - `v1-stateless` (`--stateless --json`): a new server and transport per request, no `Mcp-Session-Id`,
 *   JSON answers (the AgentCore Runtime / python `stateless_http` shape);
 * - `v1-event-store` (`--stateful --event-store`): sessions, and every answer an SSE stream that opens
 *   with a priming event (SEP-1699), its events kept in the fixture's in-memory store.
 *
 * Per shape: the upstream, a floor (bench/floor.ts pipes bytes, so SSE passes through untouched) and
 * mcp-fed with the governance-"off" config of bench/proxy-config.ts whose one upstream has the prefix
 * `v1` (`v1__echo`). A v1 server speaks only 2025-11-25, so `direct` and `floor` are 2025-era calls in
 * every row; `proxied` is measured in the row's era (modern: the client speaks 2026-07-28 to mcp-fed,
 * mcp-fed 2025-11-25 to the upstream). Same rounds (rotating order) and targets as the proxy rows.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, type Era, payload, type Stop, type Target } from './driver.ts';
import type { Child } from './procs.ts';
import { writeProxyConfig } from './proxy-config.ts';
import { proxyEntry } from './proxy-entry.ts';
import { buildRow, type Round, type Row, type RowKey, rowName, skippedRow } from './report.ts';

export type UpstreamShape = 'v1-stateless' | 'v1-event-store';

interface Shape {
  flags: string[];
  mode: 'stateless' | 'stateful';
  responses: 'json' | 'sse';
}

const V1_SERVER = 'test/interop/servers/sdk-v1-server.ts';
// The fixture's store keeps every event unless capped: ~12 KB per 4 KiB call, ~1 GB over a full run
// (measured 2026-12-02: +125 MB RSS in 10,000 calls). The newest 2,000 streams are ~25 MB and far more
// than a resumption needs (the bench never resumes: no stream closes before its answer here).
const EVENT_STORE_STREAMS = 2000;
const SHAPES: Record<UpstreamShape, Shape> = {
  'v1-stateless': { flags: ['--stateless', '--json'], mode: 'stateless', responses: 'json' },
  'v1-event-store': {
    flags: ['--stateful', '--event-store', '--event-store-streams', String(EVENT_STORE_STREAMS)],
    mode: 'stateful',
    responses: 'sse',
  },
};
const PREFIX = 'v1';
/** All a v1 server speaks: `direct` and `floor` use it in every row, `proxied` in legacy rows. */
const UPSTREAM_ERA: Era = 'legacy';
const ERAS: Era[] = ['legacy', 'modern'];

type Kind = 'direct' | 'floor' | 'proxied';
const KINDS: Kind[] = ['direct', 'floor', 'proxied'];
/** The proxy rows' rotation: every target runs first, second and third equally often. */
const rotate = (r: number) => KINDS.map((_, i) => KINDS[(r + i) % KINDS.length] as Kind);

/** run.ts's measureRounds, with `eras` overriding the row's era for some targets. */
export type MeasureRounds = <K extends string>(
  key: RowKey,
  targets: Record<K, Target>,
  order: (round: number) => K[],
  pids: Partial<Record<K, { hop: number; upstream?: number }>>,
  eras?: Partial<Record<K, Era>>,
) => Promise<Record<K, Round[]>>;

/** What run.ts lends these rows: its process table, its measuring loop and its settings. */
export interface ShapeDeps {
  tmp: string;
  concurrency: number[];
  payloads: number[];
  /** Fresh processes: the count-based warm-up of the auth rows. */
  warmup: Stop;
  filter(keys: RowKey[]): RowKey[];
  spawnChild(name: string, args: string[], ready: RegExp): Promise<Child>;
  measureRounds: MeasureRounds;
  warm(targets: Record<string, Target>, era: Era, stop: Stop): Promise<void>;
  log(line: string): void;
}

export async function measureUpstreamShapeRows(deps: ShapeDeps): Promise<Row[]> {
  const rows: Row[] = [];
  for (const shape of Object.keys(SHAPES) as UpstreamShape[]) rows.push(...(await measureShape(shape, deps)));
  return rows;
}

function shapeKeys(shape: UpstreamShape, deps: ShapeDeps): RowKey[] {
  const keys = ERAS.flatMap((era) =>
    deps.concurrency.flatMap((concurrency) =>
      deps.payloads.map((payload_bytes) => ({
        era,
        concurrency,
        governance: 'off' as const,
        payload_bytes,
        upstream: shape,
      })),
    ),
  );
  return deps.filter(keys);
}

const describeShape = (shape: UpstreamShape) => ({
  upstream_mode: SHAPES[shape].mode,
  upstream_responses: SHAPES[shape].responses,
  direct_era: UPSTREAM_ERA,
});

async function measureShape(shape: UpstreamShape, deps: ShapeDeps): Promise<Row[]> {
  const keys = shapeKeys(shape, deps);
  if (keys.length === 0) return [];
  const started: Child[] = [];
  const rows: Row[] = [];
  const run = async (name: string, args: string[], ready: RegExp) => {
    const child = await deps.spawnChild(name, args, ready);
    started.push(child);
    return child;
  };
  try {
    const upstream = await run(
      `upstream-${shape}`,
      ['--import', 'tsx', V1_SERVER, ...SHAPES[shape].flags, '--port', '0'],
      /LISTENING (\S+)/,
    );
    const floor = await run(
      `floor-${shape}`,
      ['--import', 'tsx', 'bench/floor.ts', '--upstream', upstream.url],
      /FLOOR LISTENING (\S+)/,
    );
    const configPath = await writeShapeConfig(shape, upstream.url, deps.tmp);
    const proxy = await run(
      `proxy-${shape}`,
      [proxyEntry(), 'serve', '--config', configPath],
      /mcp-fed listening on (\S+)/,
    );
    deps.log(
      `${shape}: upstream ${upstream.url} (pid ${upstream.pid}), proxy ${proxy.url} (pid ${proxy.pid})`,
    );
    const sessionless = SHAPES[shape].mode === 'stateless';
    const targets: Record<Kind, Target> = {
      direct: { url: upstream.url, tool: 'echo', sessionless },
      floor: { url: floor.url, tool: 'echo', sessionless },
      proxied: { url: proxy.url, tool: `${PREFIX}__echo` },
    };
    const eras = [...new Set(keys.map((k) => k.era))];
    const unusable = await probe(targets, eras);
    if (unusable)
      return keys.map((k) => ({ ...skippedRow(k, `${shape}: ${unusable}`), ...describeShape(shape) }));
    await deps.warm(targets, UPSTREAM_ERA, deps.warmup);
    for (const era of eras.filter((e) => e !== UPSTREAM_ERA))
      await deps.warm({ proxied: targets.proxied }, era, deps.warmup);
    const pids = { floor: { hop: floor.pid }, proxied: { hop: proxy.pid } };
    for (const key of keys) {
      const m = await deps.measureRounds(key, targets, rotate, pids, {
        direct: UPSTREAM_ERA,
        floor: UPSTREAM_ERA,
      });
      const row: Row = { ...buildRow(key, m.direct, m.floor, m.proxied), ...describeShape(shape) };
      deps.log(
        `${row.name}: added p50 ${row.added_p50_ms} ms (floor ${row.floor_added_p50_ms}), CPU ${row.hop_cpu_us_per_call}/${row.floor_cpu_us_per_call} µs, rps ratio ${row.throughput_ratio_vs_floor}, errors ${row.errors}`,
      );
      rows.push(row);
    }
    return rows;
  } catch (err) {
    const reason = `${shape} rows failed: ${firstLine((err as Error).message)}`;
    deps.log(reason);
    const done = new Set(rows.map((r) => r.name));
    const rest = keys.filter((k) => !done.has(rowName(k)));
    return [...rows, ...rest.map((k) => ({ ...skippedRow(k, reason), ...describeShape(shape) }))];
  } finally {
    for (const child of started.reverse()) await child.stop();
  }
}

/**
 * The proxy rows' config for governance "off", with this shape's upstream (prefix `v1`) in place of
 * the tools-server.
 */
async function writeShapeConfig(shape: UpstreamShape, upstreamUrl: string, dir: string): Promise<string> {
  const setup = await writeProxyConfig('off', upstreamUrl, dir);
  await setup.close();
  const config = JSON.parse(readFileSync(setup.configPath, 'utf8')) as { upstreams: object[] };
  config.upstreams = config.upstreams.map((u) => ({ ...u, name: shape, prefix: PREFIX }));
  const configPath = join(dir, `proxy-upstream-${shape}.json`);
  writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);
  return configPath;
}

/**
 * Three calls per target before anything is measured: `direct` and `floor` in the upstream's era,
 * `proxied` in each era of the rows. mcp-fed may still be listing the upstream just after it listens,
 * so its probe is retried for a few seconds.
 */
async function probe(targets: Record<Kind, Target>, eras: Era[]): Promise<string | undefined> {
  const checks: [Kind, Era][] = [
    ['direct', UPSTREAM_ERA],
    ['floor', UPSTREAM_ERA],
    ...eras.map((era): [Kind, Era] => ['proxied', era]),
  ];
  for (const [kind, era] of checks) {
    let problem: string | undefined;
    for (let attempt = 0; attempt < 20; attempt++) {
      problem = await threeCalls(targets[kind], era);
      if (!problem || kind !== 'proxied') break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    if (problem) return `${kind} (${era}): ${problem}`;
  }
  return undefined;
}

async function threeCalls(target: Target, era: Era): Promise<string | undefined> {
  const client = new Client(target, era, 1);
  try {
    await client.open();
    const phase = await client.run(payload(200), { requests: 3 });
    return phase.errors > 0 ? `calls fail: ${firstLine(phase.firstError ?? '')}` : undefined;
  } catch (err) {
    return `session setup fails: ${firstLine((err as Error).message)}`;
  } finally {
    await client.close();
  }
}

const firstLine = (text: string) =>
  text
    .split('\n')
    .find((l) => l.trim() !== '')
    ?.slice(0, 300) ?? '';
