/**
 * `npm run load` end to end, short: 4 clients (2 stateless 2026-07-28, 2 with 2025-11-25 sessions)
 * for 4 s against its own topology, upstream b SIGKILLed at 1 s and restarted after 1 s. The calls to
 * a and c must not notice, b must come back without help, and every answered call must have left
 * exactly one audit record after the proxy's graceful stop.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cli, spawnCli, withTimeout } from './cli-helpers.ts';

interface Group {
  calls: number;
  ok: number;
  success_rate: number;
  latency: { p50_ms: number; p99_ms: number; max_ms: number } | null;
}
interface LoadReport {
  total_calls: number;
  others_success_rate: number;
  groups: Record<string, Group>;
  errors_by_code: Record<string, number>;
  kill: { upstream: string; recovery_ms: number | null; failed_calls: number; killed_at_s: number } | null;
  audit: { records: number; answered_calls: number; match: boolean; proxy_exit: string } | null;
  checks: Record<string, string | null>;
}

let dir: string;
let report: LoadReport;
let exit: { code: number | null; signal: NodeJS.Signals | null };
let output = '';
let cli: Cli | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-fed-load-test-'));
  const out = join(dir, 'load-results.json');
  const args = [
    '--duration',
    '4',
    '--concurrency',
    '4',
    '--kill',
    'b',
    '--kill-at',
    '1',
    '--down',
    '1',
    '--out',
    out,
  ];
  cli = spawnCli(args, { command: [process.execPath, '--import', 'tsx', 'bench/load.ts'] });
  cli.proc.stdin?.end();
  exit = await withTimeout(cli.exited, 50_000, 'bench/load.ts did not finish');
  output = `${cli.stdout()}\n${cli.stderr()}`;
  report = JSON.parse(await readFile(out, 'utf8')) as LoadReport;
}, 60_000);

afterAll(async () => {
  // A run that hung: SIGINT makes it kill the children it started.
  if (cli && cli.proc.exitCode === null && cli.proc.signalCode === null) cli.proc.kill('SIGINT');
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('npm run load (kill b mid-run)', () => {
  it('exits 0 with every check passed', () => {
    expect(exit.code, output).toBe(0);
    expect(report.checks).toEqual({ others_success: 'PASS', recovery: 'PASS', audit: 'PASS' });
  });

  it('keeps the calls to the other upstreams successful', () => {
    const others = report.groups.others as Group;
    expect(others.calls).toBeGreaterThan(0);
    expect(report.groups['upstream a']?.calls).toBeGreaterThan(0);
    expect(report.groups['upstream c']?.calls).toBeGreaterThan(0);
    expect(report.others_success_rate, JSON.stringify(report.errors_by_code)).toBeGreaterThanOrEqual(0.999);
    expect(others.latency?.p50_ms).toBeGreaterThan(0);
  });

  it('sees b fail while it is down and recover by itself', () => {
    expect(report.kill?.upstream).toBe('b');
    expect(report.kill?.failed_calls).toBeGreaterThan(0);
    expect(report.kill?.recovery_ms).toEqual(expect.any(Number));
    expect(report.groups['killed (b)']?.ok).toBeGreaterThan(0);
  });

  it('writes one audit record per answered call', () => {
    expect(report.audit?.proxy_exit).toBe('graceful');
    expect(report.audit?.answered_calls).toBeGreaterThanOrEqual(report.total_calls);
    expect(report.audit?.records).toBe(report.audit?.answered_calls);
    expect(report.audit?.match).toBe(true);
  });
});
