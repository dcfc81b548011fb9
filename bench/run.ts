/**
 * `npm run bench`: upstream, floor and proxy as separate processes, driven by one client in the
 * same run (DESIGN.md "Performance"). Prints a Markdown table and writes bench/results.json.
 *
 *   npm run bench [-- --quick] [--rounds N] [--duration S | --requests N] [--filter TEXT] [--out FILE]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, type Era, type PhaseResult, payload, type Stop, type Target } from './driver.ts';
import { type Child, cpuMicros, killAll, startNode } from './procs.ts';
import { type Governance, type ProxySetup, writeProxyConfig } from './proxy-config.ts';
import { buildRow, type Round, type Row, type RowKey, rowName, skippedRow, table } from './report.ts';

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

const ERAS: Era[] = ['modern', 'legacy'];
const CONCURRENCY = [1, 16];
const PAYLOADS = [200, 4096];
const GOVERNANCE: Governance[] = ['off', 'on'];
const MAX_ERROR_RATE = 0.001;

type Kind = 'direct' | 'floor' | 'proxied';
const KINDS: Kind[] = ['direct', 'floor', 'proxied'];

const tmp = mkdtempSync(join(os.tmpdir(), 'mcp-fed-bench-'));
const children: Child[] = [];
const firstErrors = new Map<string, string>();

async function main(): Promise<number> {
  const started = Date.now();
  const loadBefore = os.loadavg()[0] ?? 0;
  // Other jobs on this 2-core machine are the largest source of noise; say so rather than hide it.
  if (loadBefore > 1) log(`load average ${loadBefore.toFixed(2)} before start: expect noisy figures`);
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
    const setup = writeProxyConfig(governance, upstream.url, tmp);
    const proxy = await spawnChild(
      `proxy-governance-${governance}`,
      ['bin/mcp-fed.js', 'serve', '--config', setup.configPath],
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
      proxied: { url: proxy.url, tool: 'tools__echo' },
    };
    const unusable = governance === 'on' ? await probe(targets.proxied, setup) : undefined;
    if (unusable) rows.push(...keys.map((k) => skippedRow(k, unusable)));
    else {
      for (const era of ERAS) await warm(targets, era, firstWarmup);
      for (const key of keys)
        rows.push(await measureRow(key, targets, { floor: floor.pid, proxied: proxy.pid }));
    }
    await proxy.stop();
  }

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
      load_average_1m: { before: loadBefore, after: os.loadavg()[0] ?? 0 },
    },
    rows,
  };
  writeFileSync(flags.out ?? 'bench/results.json', `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\n${table(rows)}\n\n`);
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

function rowKeys(governance: Governance): RowKey[] {
  const keys: RowKey[] = [];
  for (const era of ERAS)
    for (const concurrency of CONCURRENCY)
      for (const payload_bytes of PAYLOADS) keys.push({ era, concurrency, governance, payload_bytes });
  const filter = flags.filter;
  return filter ? keys.filter((k) => rowName(k).includes(filter)) : keys;
}

/**
 * A governance row is only worth a number when the hooks really run: a proxy that accepts the
 * config but ignores it would report "on" at the cost of "off".
 */
async function probe(target: Target, setup: ProxySetup): Promise<string | undefined> {
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
  if (setup.auditPath) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const audit = readText(setup.auditPath);
    if (!audit.includes('tools__echo'))
      return 'proxy accepted the governance config but wrote no audit record (not enforced yet)';
  }
  return undefined;
}

async function warm(targets: Record<Kind, Target>, era: Era, stop: Stop): Promise<void> {
  for (const kind of KINDS) {
    const client = new Client(targets[kind], era, 16);
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
  const text = payload(key.payload_bytes);
  const clients = Object.fromEntries(
    KINDS.map((k) => [k, new Client(targets[k], key.era, key.concurrency)]),
  ) as Record<Kind, Client>;
  const measuredRounds: Record<Kind, Round[]> = { direct: [], floor: [], proxied: [] };
  try {
    for (const kind of KINDS) {
      await clients[kind].open();
      await clients[kind].run(text, warmup);
    }
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < KINDS.length; i++) {
        const kind = KINDS[(r + i) % KINDS.length] as Kind;
        const pid = kind === 'direct' ? undefined : pids[kind];
        const cpuBefore = pid === undefined ? 0 : cpuMicros(pid);
        const phase: PhaseResult = await clients[kind].run(text, measured);
        const cpuUs = pid === undefined ? undefined : cpuMicros(pid) - cpuBefore;
        measuredRounds[kind].push({ ...phase, cpuUs });
        if (phase.firstError) firstErrors.set(`${kind} ${key.era}`, phase.firstError);
      }
    }
  } finally {
    await Promise.all(KINDS.map((k) => clients[k].close()));
  }
  const row = buildRow(key, measuredRounds.direct, measuredRounds.floor, measuredRounds.proxied);
  log(
    `${row.name}: added p50 ${row.added_p50_ms} ms (floor ${row.floor_added_p50_ms}), CPU ${row.hop_cpu_us_per_call}/${row.floor_cpu_us_per_call} µs, rps ratio ${row.throughput_ratio_vs_floor}, errors ${row.errors}`,
  );
  return row;
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
