/**
 * `npm run bench:profile`: where a proxied call's CPU goes. Starts the tools-server upstream and mcp-fed
 * under `node --cpu-prof`, drives one row's load through it with the bench client, stops the proxy
 * (which writes the profile) and prints the top frames by self time, with the share of all samples.
 *
 *   npm run bench:profile -- [--era modern|legacy] [--concurrency N] [--governance off|on]
 *                            [--payload BYTES] [--pii] [--seconds S] [--top N] [--keep] [--target proxy|floor]
 *                            [--perf]
 *
 * `--perf` samples CPU time with Linux perf instead of V8's wall-time profiler and prints µs of CPU per
 * call by function (bench/perf-attribution.ts): the figures to compare between the proxy and the floor.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, type Era, type PhaseResult, payload } from './driver.ts';
import { attributePerf, perfAvailable, recordPerf } from './perf-attribution.ts';
import { killAll, startNode } from './procs.ts';
import { type Governance, writeProxyConfig } from './proxy-config.ts';
import { proxyEntry } from './proxy-entry.ts';

const { values: flags } = parseArgs({
  options: {
    era: { type: 'string', default: 'modern' },
    concurrency: { type: 'string', default: '1' },
    governance: { type: 'string', default: 'off' },
    payload: { type: 'string', default: '200' },
    /** The governance-on rows' payload: five personal values in running text (bench/driver.ts). */
    pii: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '5' },
    top: { type: 'string', default: '25' },
    keep: { type: 'boolean', default: false },
    /** `floor`: profile the bare forwarder instead, for the difference. */
    target: { type: 'string', default: 'proxy' },
    perf: { type: 'boolean', default: false },
  },
  strict: true,
});

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
}

/**
 * Self samples per frame (function and file) and per file, most first, as shares of the busy samples
 * (idle left out: at concurrency 1 the proxy mostly waits).
 */
export function topFrames(
  profile: Profile,
  top: number,
): { frames: { name: string; share: number }[]; files: { name: string; share: number }[]; busy: number } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const frames = new Map<string, number>();
  const files = new Map<string, number>();
  let busy = 0;
  for (const id of profile.samples) {
    const f = byId.get(id)?.callFrame;
    if (!f || f.functionName === '(idle)') continue;
    busy++;
    const file = f.url.replace(/^file:\/\//, '').replace(`${process.cwd()}/`, '') || '(native)';
    const frame = `${f.functionName || '(anonymous)'} ${file}`;
    frames.set(frame, (frames.get(frame) ?? 0) + 1);
    const group = file.startsWith('node:') ? (file.split('/')[0] ?? file) : file;
    files.set(group, (files.get(group) ?? 0) + 1);
  }
  const rank = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, n]) => ({ name, share: n / Math.max(1, busy) }));
  return { frames: rank(frames), files: rank(files), busy };
}

async function main(): Promise<void> {
  const era = flags.era as Era;
  const governance = flags.governance as Governance;
  const dir = mkdtempSync(join(os.tmpdir(), 'mcp-fed-profile-'));
  const profDir = join(dir, 'prof');
  try {
    const upstream = await startNode(
      'upstream',
      ['--import', 'tsx', 'upstreams/tools-server.ts', '--port', '0'],
      /LISTENING (\S+)/,
      dir,
    );
    const setup = await writeProxyConfig(governance, upstream.url, dir);
    const floor = flags.target === 'floor';
    const perf = flags.perf === true;
    if (perf && !perfAvailable()) throw new Error('--perf needs Linux perf (apt-get install linux-perf)');
    const profiler = perf ? ['--perf-basic-prof'] : ['--cpu-prof', `--cpu-prof-dir=${profDir}`];
    const proxy = await startNode(
      floor ? 'floor' : 'proxy',
      floor
        ? [...profiler, '--import', 'tsx', 'bench/floor.ts', '--upstream', upstream.url]
        : [...profiler, proxyEntry(), 'serve', '--config', setup.configPath],
      floor ? /FLOOR LISTENING (\S+)/ : /mcp-fed listening on (\S+)/,
      dir,
    );
    const client = new Client(
      { url: proxy.url, tool: floor ? 'echo' : 'tools__echo', headers: setup.headers },
      era,
      Number(flags.concurrency),
    );
    await client.open();
    const body = payload(Number(flags.payload), flags.pii === true);
    await client.run(body, { durationMs: 1_000 }); // warm-up: JIT
    const recording = perf ? recordPerf(proxy.pid, join(dir, 'perf.data')) : undefined;
    const phase = await client.run(body, { durationMs: Number(flags.seconds) * 1000 });
    await recording?.stop();
    await client.close();
    await proxy.stop(); // SIGTERM: the proxy exits normally and node writes the profile (or its perf map)
    await setup.close();
    await upstream.stop();
    const head = `${era} c${flags.concurrency} ${flags.payload}B gov-${governance}`;
    const report = perf
      ? perfReport(head, phase, join(dir, 'perf.data'), proxy.pid)
      : cpuProfileReport(head, phase, profDir);
    process.stdout.write(`${report.join('\n')}\n`);
  } finally {
    killAll();
    if (!flags.keep) rmSync(dir, { recursive: true, force: true });
  }
}

/** µs of CPU per call by innermost JavaScript frame, from the perf recording. */
function perfReport(head: string, phase: PhaseResult, data: string, pid: number): string[] {
  const a = attributePerf(data, phase.calls, Number(flags.top));
  rmSync(`/tmp/perf-${pid}.map`, { force: true });
  return [
    `${head} (${flags.target}, perf): ${phase.calls} calls, ${phase.errors} errors`,
    `CPU per call: ${a.total.toFixed(1)} µs, of which mcp-fed's own functions ${a.own.toFixed(1)} µs`,
    '',
    '| µs per call | innermost JavaScript frame |',
    '| ---: | --- |',
    ...a.frames.map((f) => `| ${f.micros.toFixed(2)} | \`${f.name}\` |`),
  ];
}

/** Shares of the busy samples by frame and by file, from V8's profile. */
function cpuProfileReport(head: string, phase: PhaseResult, profDir: string): string[] {
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no profile written in ${profDir}`);
  const profile = JSON.parse(readFileSync(join(profDir, file), 'utf8')) as Profile;
  const top = topFrames(profile, Number(flags.top));
  const out = [
    `${head}: ${phase.calls} calls, ${phase.errors} errors, ${top.busy} busy samples of ${profile.samples.length}`,
    // Per call: what to compare between the proxy and the floor (the sampling interval is ~1 ms... see --cpu-prof-interval).
    `busy samples per 1,000 calls: ${((top.busy / Math.max(1, phase.calls)) * 1000).toFixed(0)}`,
    '',
    '| self (of busy) | frame |',
    '| ---: | --- |',
    ...top.frames.map((f) => `| ${(f.share * 100).toFixed(1)}% | \`${f.name}\` |`),
    '',
    '| self (of busy) | file |',
    '| ---: | --- |',
    ...top.files.map((f) => `| ${(f.share * 100).toFixed(1)}% | \`${f.name}\` |`),
  ];
  if (flags.keep) out.push('', `profile: ${join(profDir, file)}`);
  return out;
}

main().catch((err: unknown) => {
  process.stderr.write(`profile failed: ${(err as Error).stack ?? String(err)}\n`);
  killAll();
  process.exit(1);
});
