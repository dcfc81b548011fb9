/**
 * `npm run load` (issue 7, "Load and soak"): drives mcp-fed with `--concurrency` independent clients
 * for `--duration` seconds (or until `--max-requests` calls), half of them 2026-07-28 stateless
 * requests and half 2025-11-25 sessions, round-robin over the upstreams' echo tools. Without `--url`
 * it starts its own topology (three tools-servers a, b, c and mcp-fed with audit to a file) and can
 * SIGKILL one upstream mid-run and restart it on the same port (`--kill b`). It reports success
 * rates (the killed upstream against the others), latency percentiles, errors by code, the recovery
 * time and whether every answered call left an audit record; stdout table + bench/load-results.json.
 *
 *   npm run load -- [--url URL [--header 'name: value']...] [--concurrency 64] [--duration 60]
 *                   [--max-requests N] [--kill b [--kill-at S] [--down 3]] [--governance]
 *                   [--payload 200] [--out bench/load-results.json]
 *
 * Exit status: 0 when the others' success rate is ≥ 99.9%, the killed upstream recovered and the
 * audit records equal the answered calls; 1 otherwise or when the run breaks; 2 on bad flags.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Era, payload } from './driver.ts';
import {
  type CallRecord,
  discoverEchoTools,
  type Endpoint,
  type LoadTool,
  LoadWorker,
  type RunControl,
} from './load-client.ts';
import {
  type AuditCheck,
  auditCheck,
  type GroupStats,
  groupStats,
  type KillTimeline,
  killTimeline,
  table,
} from './load-report.ts';
import { Topology, UPSTREAM_NAMES } from './load-topology.ts';
import { killAll } from './procs.ts';

const MIN_SUCCESS = 0.999;
const PROBE_TIMEOUT_MS = 30_000;
const PROBE_PAUSE_MS = 20;

const { values: flags } = parseArgs({
  options: {
    url: { type: 'string' },
    header: { type: 'string', multiple: true },
    concurrency: { type: 'string', default: '64' },
    duration: { type: 'string', default: '60' },
    'max-requests': { type: 'string', default: '10000000' },
    kill: { type: 'string' },
    'kill-at': { type: 'string' },
    down: { type: 'string', default: '3' },
    governance: { type: 'boolean', default: false },
    payload: { type: 'string', default: '200' },
    out: { type: 'string', default: 'bench/load-results.json' },
  },
  strict: true,
});

const concurrency = Number(flags.concurrency);
const durationS = Number(flags.duration);
const maxRequests = Number(flags['max-requests']);
const killAtS = flags['kill-at'] === undefined ? durationS / 2 : Number(flags['kill-at']);
const downS = Number(flags.down);
const payloadBytes = Number(flags.payload);
const usage = (why: string): never => {
  process.stderr.write(`bench/load.ts: ${why}\n`);
  process.exit(2);
};
if (!(Number.isInteger(concurrency) && concurrency >= 1)) usage('--concurrency must be an integer >= 1');
if (!(durationS > 0)) usage('--duration must be > 0 (seconds)');
if (!(Number.isInteger(maxRequests) && maxRequests >= 1)) usage('--max-requests must be an integer >= 1');
if (!(killAtS >= 0 && downS >= 0)) usage('--kill-at and --down must be >= 0 (seconds)');
if (!(payloadBytes >= 1)) usage('--payload must be >= 1 (bytes)');
if (flags.kill && flags.url) usage('--kill needs the topology this script starts; leave out --url');
if (flags.kill && !UPSTREAM_NAMES.includes(flags.kill))
  usage(`--kill must be one of ${UPSTREAM_NAMES.join(', ')}`);
if (flags.governance && flags.url)
  usage('--governance configures the topology this script starts; leave out --url');
const headers = Object.fromEntries(
  (flags.header ?? []).map((h) => {
    const at = h.indexOf(':');
    if (at < 1) usage(`--header "${h}": expected "name: value"`);
    return [h.slice(0, at).trim().toLowerCase(), h.slice(at + 1).trim()];
  }),
);

const tmp = mkdtempSync(join(os.tmpdir(), 'mcp-fed-load-'));
const log = (line: string) => process.stderr.write(`[load] ${line}\n`);

async function main(topology: Topology | undefined): Promise<number> {
  const loadBefore = os.loadavg()[0] ?? 0;
  let endpoint: Endpoint;
  if (topology) {
    await topology.start();
    endpoint = { url: topology.proxy?.url ?? '', headers: topology.headers };
    log(
      `proxy ${endpoint.url} (pid ${topology.proxy?.pid}), upstreams ${[...topology.ports].map(([n, p]) => `${n}:${p}`).join(' ')}, logs in ${tmp}`,
    );
  } else endpoint = { url: flags.url ?? '', headers };
  const tools = await discoverEchoTools(endpoint, topology ? UPSTREAM_NAMES.length : 1);
  log(
    `tools: ${tools.map((t) => t.name).join(', ')}; ${concurrency} clients for ${durationS} s${flags.kill ? `, kill ${flags.kill} at ${killAtS} s for ${downS} s` : ''}`,
  );

  const calls: CallRecord[] = [];
  const setupErrors: Record<string, number> = {};
  const t0 = performance.now();
  const ctl: RunControl = {
    t0,
    deadline: t0 + durationS * 1000,
    budget: maxRequests,
    text: payload(payloadBytes, topology?.governance ?? false),
    record: (rec) => calls.push(rec),
    setupError: (code) => {
      setupErrors[code] = (setupErrors[code] ?? 0) + 1;
    },
  };
  const workers = Array.from({ length: concurrency }, (_, i) => {
    const era: Era = i % 2 === 0 ? 'modern' : 'legacy';
    return new LoadWorker(endpoint, era, tools, i);
  });
  const killing = flags.kill && topology ? scheduleKill(topology, flags.kill, t0) : undefined;
  await Promise.all(workers.map((w) => w.run(ctl)));
  const elapsedMs = performance.now() - t0;
  killing?.cancel();
  const at = await killing?.done;
  await Promise.all(workers.map((w) => w.close()));
  // A short run can end before the restarted upstream is back: probe it alone until it answers.
  const probeCalls: CallRecord[] = [];
  const killedTool = tools.find((t) => t.upstream === flags.kill);
  if (
    at &&
    killedTool &&
    !calls.some((c) => c.upstream === killedTool.upstream && c.code === 'ok' && c.endMs >= at.listeningMs)
  )
    await probe(endpoint, killedTool, ctl, probeCalls);
  const allCalls = [...calls, ...probeCalls];

  let audit: AuditCheck | null = null;
  if (topology) {
    const graceful = await topology.stopProxy();
    audit = auditCheck(topology.countAudit(), allCalls, graceful);
  }

  const killed = flags.kill;
  const all = groupStats(calls);
  const groups: [string, GroupStats][] = [['all', all]];
  for (const name of new Set(tools.map((t) => t.upstream)))
    groups.push([`upstream ${name}`, groupStats(calls.filter((c) => c.upstream === name))]);
  if (killed) {
    groups.push([`killed (${killed})`, groupStats(calls.filter((c) => c.upstream === killed))]);
    groups.push(['others', groupStats(calls.filter((c) => c.upstream !== killed))]);
  }
  for (const era of ['modern', 'legacy'] as const)
    groups.push([`era ${era}`, groupStats(calls.filter((c) => c.era === era))]);
  const others = groupStats(killed ? calls.filter((c) => c.upstream !== killed) : calls);
  const kill: KillTimeline | null =
    killed && at ? killTimeline(allCalls, killed, at, probeCalls.length) : null;

  const results = {
    machine: {
      cpu_model: os.cpus()[0]?.model ?? 'unknown',
      cpu_count: os.cpus().length,
      node: process.version,
    },
    run: {
      date: new Date().toISOString(),
      url: flags.url ?? null,
      topology: topology ? { upstreams: UPSTREAM_NAMES, governance: topology.governance } : null,
      concurrency,
      eras: {
        modern: workers.filter((w) => w.era === 'modern').length,
        legacy: workers.filter((w) => w.era === 'legacy').length,
      },
      duration_s: durationS,
      elapsed_s: Math.round(elapsedMs) / 1000,
      max_requests: maxRequests,
      payload_bytes: payloadBytes,
      kill: killed ? { upstream: killed, at_s: killAtS, down_s: downS } : null,
      load_average_1m: { before: loadBefore, after: os.loadavg()[0] ?? 0 },
    },
    total_calls: calls.length,
    calls_per_second: Math.round(calls.length / (elapsedMs / 1000)),
    success_rate: all.success_rate,
    others_success_rate: others.success_rate,
    groups: Object.fromEntries(groups),
    errors_by_code: all.errors,
    session_setup_errors: setupErrors,
    kill,
    audit,
    checks: {
      others_success: others.success_rate >= MIN_SUCCESS ? 'PASS' : 'FAIL',
      recovery: killed ? (kill?.recovery_ms != null ? 'PASS' : 'FAIL') : null,
      audit: audit ? (audit.match ? 'PASS' : 'FAIL') : null,
    },
  };
  writeFileSync(flags.out ?? 'bench/load-results.json', `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\n${table(groups, results.errors_by_code, kill, audit)}\n`);
  if (Object.keys(setupErrors).length)
    process.stdout.write(`session setup errors: ${JSON.stringify(setupErrors)}\n`);
  process.stdout.write(
    `${calls.length} calls in ${results.run.elapsed_s} s (${results.calls_per_second}/s); checks: ${JSON.stringify(results.checks)}; wrote ${flags.out}\n`,
  );
  return Object.values(results.checks).includes('FAIL') || calls.length === 0 ? 1 : 0;
}

/** One modern client calling the killed upstream's tool every PROBE_PAUSE_MS until a call succeeds. */
async function probe(
  endpoint: Endpoint,
  tool: LoadTool,
  main: RunControl,
  into: CallRecord[],
): Promise<void> {
  const started = performance.now();
  log(
    `run ended before ${tool.upstream} answered again: probing it alone (up to ${PROBE_TIMEOUT_MS / 1000} s)`,
  );
  const worker = new LoadWorker(endpoint, 'modern', [tool], 0);
  await worker.run({
    ...main,
    deadline: started + PROBE_TIMEOUT_MS,
    budget: Number.POSITIVE_INFINITY,
    pauseMs: PROBE_PAUSE_MS,
    record: (rec) => into.push(rec),
    done: () => into.some((c) => c.code === 'ok'),
  });
  await worker.close();
}

interface KillTimes {
  killedMs: number;
  restartedMs: number;
  listeningMs: number;
}

/**
 * Kills `name` at --kill-at and restarts it after --down. `done` has the timeline (ms since t0), or
 * undefined when `cancel` came first (the run ended before the kill: nothing to report).
 */
function scheduleKill(topology: Topology, name: string, t0: number) {
  let timer: NodeJS.Timeout | undefined;
  let settle: (times: KillTimes | undefined) => void = () => {};
  const done = new Promise<KillTimes | undefined>((resolve, reject) => {
    settle = resolve;
    timer = setTimeout(() => {
      timer = undefined;
      topology.kill(name);
      const killedMs = performance.now() - t0;
      log(`SIGKILL ${name} at ${sec(killedMs)} s`);
      // The restart happens even if the run ends meanwhile: the proxy must be left with every upstream.
      setTimeout(() => {
        const restartedMs = performance.now() - t0;
        topology.restart(name).then(() => {
          const listeningMs = performance.now() - t0;
          log(`${name} restarted at ${sec(restartedMs)} s, listening at ${sec(listeningMs)} s`);
          resolve({ killedMs, restartedMs, listeningMs });
        }, reject);
      }, downS * 1000);
    }, killAtS * 1000);
  });
  const cancel = () => {
    if (!timer) return;
    clearTimeout(timer);
    settle(undefined);
  };
  return { done, cancel };
}

const sec = (ms: number) => (ms / 1000).toFixed(2);

process.once('SIGINT', () => {
  killAll();
  process.exit(130);
});

const topology = flags.url ? undefined : new Topology(tmp, flags.governance ?? false);
let code = 1;
try {
  code = await main(topology);
} catch (err) {
  log(`broken run: ${(err as Error).stack ?? err}`);
} finally {
  await topology?.close().catch(() => killAll());
  if (code === 0) rmSync(tmp, { recursive: true, force: true });
  else log(`logs kept in ${tmp}`);
}
process.exit(code);
