/**
 * The two official conformance suites this project runs (`@modelcontextprotocol/conformance` 0.1.13 for the
 * 2025-era server scenarios, 0.2.0-alpha.12 as `conformance-next` for 2026-07-28), how to start each CLI,
 * and how to read the per-check results it writes (`-o DIR`: one `server-<scenario>-<timestamp>/checks.json`
 * per scenario).
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from '../helpers/spawn-server.ts';

export interface Suite {
  id: 'legacy' | 'legacy-bridged' | 'modern';
  label: string;
  /** Arguments of the fixture server (test/conformance/fixture-server.ts) this suite runs against. */
  fixtureArgs: string[];
  /** The node binary and CLI arguments for one run (every scenario, or only `scenario`). */
  command(url: string, outDir: string, scenario?: string): { node: string; args: string[] };
  /**
   * Scenarios to run one CLI process each (in parallel, each with its own time limit), so one that hangs
   * through the proxy costs its own limit, not the rest of the suite. Absent: one CLI run for the suite.
   */
  scenarios?: () => Promise<string[]>;
}

const require = createRequire(join(REPO_ROOT, 'package.json'));

/** The file a package's `conformance` bin points at (never the .bin shim). */
function cliEntry(pkg: string): string {
  const manifestPath = require.resolve(`${pkg}/package.json`);
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
    bin?: string | Record<string, string>;
  };
  const bin = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin?.conformance;
  if (!bin) throw new Error(`${pkg} has no conformance bin`);
  return join(dirname(manifestPath), bin);
}

/** Node 22 from the `node` npm package (conformance 0.2.x needs it); the system node is 20. */
function node22(): string {
  const path = join(REPO_ROOT, 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(path)) throw new Error(`Node 22 not found at ${path} (devDependency "node")`);
  return path;
}

const legacyCli = (url: string, outDir: string, scenario?: string) => ({
  node: process.execPath,
  args: [
    cliEntry('@modelcontextprotocol/conformance'),
    'server',
    '--url',
    url,
    ...(scenario ? ['--scenario', scenario] : ['--suite', 'all']),
    '-o',
    outDir,
  ],
});

/** Every server scenario 0.1.13 knows (`list --server`: active and pending alike, as `--suite all`). */
async function legacyScenarios(): Promise<string[]> {
  const entry = cliEntry('@modelcontextprotocol/conformance');
  const run = await spawnCollect(process.execPath, [entry, 'list', '--server'], 30_000);
  const names = [...run.output.matchAll(/^\s+- (\S+)/gm)].map((m) => m[1] as string);
  if (names.length === 0) throw new Error(`conformance list --server printed no scenarios:\n${run.output}`);
  return names;
}

export const SUITES: Suite[] = [
  {
    id: 'legacy',
    label: 'conformance 0.1.13 --suite all (2025-era scenarios), fixture serving 2025 only',
    fixtureArgs: ['--era', 'legacy'],
    command: legacyCli,
    scenarios: legacyScenarios,
  },
  {
    // The same scenarios against the fixture that also speaks 2026-07-28: the proxy then talks the modern
    // era upstream and bridges (input requests to pushed requests, log levels, subscriptions) for the client.
    id: 'legacy-bridged',
    label: 'conformance 0.1.13 --suite all (2025-era scenarios), fixture serving both eras (proxy bridges)',
    fixtureArgs: ['--era', 'both'],
    command: legacyCli,
    scenarios: legacyScenarios,
  },
  {
    id: 'modern',
    label: 'conformance 0.2.0-alpha.12 --requirements 2026-07-28, fixture serving both eras',
    fixtureArgs: ['--era', 'both'],
    command: (url, outDir) => ({
      node: node22(),
      args: [
        cliEntry('conformance-next'),
        'server',
        '--url',
        url,
        '--requirements',
        '2026-07-28',
        '--timeout',
        '20000',
        '-o',
        outDir,
      ],
    }),
  },
];

export interface CliRun {
  code: number | null;
  timedOut: boolean;
  output: string;
}

/**
 * Runs a suite against `url`, writing results under `outDir`: one CLI process, or one per scenario with
 * `concurrency` at a time. Each process is killed after `timeoutMs`; the CLI's exit code is not used.
 */
export async function runSuiteCli(
  suite: Suite,
  url: string,
  outDir: string,
  timeoutMs: number,
  concurrency = 8,
): Promise<{ timedOut: string[]; output: string }> {
  if (!suite.scenarios) {
    const { node, args } = suite.command(url, outDir);
    const run = await spawnCollect(node, args, timeoutMs);
    return { timedOut: run.timedOut ? ['(whole suite)'] : [], output: run.output };
  }
  const queue = await suite.scenarios();
  const timedOut: string[] = [];
  let output = '';
  const worker = async () => {
    for (let scenario = queue.shift(); scenario !== undefined; scenario = queue.shift()) {
      const { node, args } = suite.command(url, outDir, scenario);
      const run = await spawnCollect(node, args, timeoutMs);
      if (run.timedOut) timedOut.push(scenario);
      output = (output + run.output).slice(-200_000);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { timedOut: timedOut.sort(), output };
}

function spawnCollect(node: string, args: string[], timeoutMs: number): Promise<CliRun> {
  return new Promise((resolve) => {
    const proc = spawn(node, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-200_000);
    };
    proc.stdout.on('data', keep);
    proc.stderr.on('data', keep);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      proc.kill('SIGKILL');
    }, timeoutMs);
    proc.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, timedOut, output });
    });
  });
}

export type Status = 'SUCCESS' | 'FAILURE' | 'WARNING' | 'SKIPPED' | 'INFO';

export interface Check {
  /** `<scenario> <check id>`, with `#n` for the n-th repeat of an id within a scenario. */
  key: string;
  scenario: string;
  id: string;
  status: Status;
  description: string;
  errorMessage?: string;
  details?: unknown;
}

/** Every check the CLI wrote under `outDir`, keyed; INFO entries (request/response logs) are left out. */
export function readChecks(outDir: string): Map<string, Check> {
  const checks = new Map<string, Check>();
  if (!existsSync(outDir)) return checks;
  for (const dir of readdirSync(outDir).sort()) {
    const match = /^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/.exec(dir);
    const file = join(outDir, dir, 'checks.json');
    if (!match?.[1] || !existsSync(file)) continue;
    const scenario = match[1];
    const raw = JSON.parse(readFileSync(file, 'utf8')) as Array<Record<string, unknown>>;
    const seen = new Map<string, number>();
    for (const c of raw) {
      const status = String(c.status) as Status;
      if (status === 'INFO') continue;
      const id = String(c.id);
      const n = (seen.get(id) ?? 0) + 1;
      seen.set(id, n);
      const key = `${scenario} ${id}${n > 1 ? `#${n}` : ''}`;
      checks.set(key, {
        key,
        scenario,
        id,
        status,
        description: String(c.description ?? ''),
        errorMessage: typeof c.errorMessage === 'string' ? c.errorMessage : undefined,
        details: c.details,
      });
    }
  }
  return checks;
}

export interface Totals {
  passed: number;
  failed: number;
  warnings: number;
  /** Checks that count: SUCCESS + FAILURE, as the CLI's own summary counts them. */
  scored: number;
}

export function totals(checks: Map<string, Check>): Totals {
  const t: Totals = { passed: 0, failed: 0, warnings: 0, scored: 0 };
  for (const c of checks.values()) {
    if (c.status === 'SUCCESS') t.passed++;
    else if (c.status === 'FAILURE') t.failed++;
    else if (c.status === 'WARNING') t.warnings++;
  }
  t.scored = t.passed + t.failed;
  return t;
}

/** Checks that pass directly but not through the proxy (failed, downgraded, or never reported). */
export function regressions(
  direct: Map<string, Check>,
  proxied: Map<string, Check>,
): { direct: Check; proxied?: Check }[] {
  const out: { direct: Check; proxied?: Check }[] = [];
  for (const [key, d] of direct) {
    if (d.status !== 'SUCCESS') continue;
    const p = proxied.get(key);
    if (p?.status !== 'SUCCESS') out.push({ direct: d, proxied: p });
  }
  return out;
}
