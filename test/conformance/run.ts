/**
 * `npm run conformance`: the official MCP conformance suites against this project's fixture server
 * (test/conformance/fixture-server.ts), once directly and once through mcp-fed in transparent mode (one
 * upstream, `prefix: ""`, no governance). Prints both totals per suite and every check that passes directly
 * but not through the proxy; exits 1 when there is any.
 *   node --import tsx test/conformance/run.ts [--suite legacy|legacy-bridged|modern] [--json FILE] [--keep]
 * --json writes the summary (totals and regressions per suite) for the vitest wrapper; --keep leaves the
 * CLIs' raw results (`checks.json` per scenario) in the temp directory it prints.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../../scripts/lib/free-port.ts';
import { REPO_ROOT, type StartedServer, startServer, stopProcess } from '../helpers/spawn-server.ts';
import {
  type Check,
  readChecks,
  regressions,
  runSuiteCli,
  SUITES,
  type Suite,
  type Totals,
  totals,
} from './suites.ts';

const FIXTURE = 'test/conformance/fixture-server.ts';
/** One CLI process: a whole suite, or one scenario of a suite run scenario by scenario. */
const SUITE_TIMEOUT_MS = 170_000;
const SCENARIO_TIMEOUT_MS = 20_000;
const PROXY_START_MS = 30_000;

export interface SuiteReport {
  suite: Suite['id'];
  label: string;
  direct: Totals;
  proxied: Totals;
  regressions: { key: string; description: string; direct: string; proxied: string; detail?: string }[];
  notes: string[];
}

/** `mcp-fed serve` on a config with the one transparent upstream; resolves with its URL. */
async function startProxy(upstreamUrl: string, dir: string): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort();
  const config = join(dir, 'proxy.yaml');
  writeFileSync(
    config,
    [
      `listen: { host: 127.0.0.1, port: ${port}, path: /mcp }`,
      'audit: { sink: "off" }',
      'upstreams:',
      `  - { name: conf, prefix: "", url: "${upstreamUrl}", transport: streamable-http }`,
      '',
    ].join('\n'),
  );
  const proc = spawn(process.execPath, ['bin/mcp-fed.js', 'serve', '--config', config], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => fail('no "mcp-fed listening on" line'), PROXY_START_MS);
    const fail = (why: string) => {
      clearTimeout(timer);
      proc.kill('SIGKILL');
      reject(new Error(`proxy: ${why}\n${output.slice(-4000)}`));
    };
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /mcp-fed listening on (\S+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        proc.off('exit', onExit);
        resolve(match[1]);
      }
    };
    const onExit = (code: number | null) => fail(`exited early (code ${code})`);
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.once('exit', onExit);
  });
  return { url, proc };
}

const brief = (c: Check | undefined, killed: boolean, limit: number) => {
  if (c) return `${c.status}${c.errorMessage ? `: ${c.errorMessage}` : ''}`;
  return killed
    ? `not reported: the scenario was killed after ${limit} ms without finishing`
    : 'not reported';
};

async function runSuite(suite: Suite, root: string): Promise<SuiteReport> {
  const dir = mkdtempSync(join(root, `${suite.id}-`));
  const started: StartedServer[] = [];
  let proxy: ChildProcess | undefined;
  try {
    const [directFixture, proxiedFixture] = await Promise.all([
      freePort().then((p) => startServer(FIXTURE, [...suite.fixtureArgs, '--port', String(p)])),
      freePort().then((p) => startServer(FIXTURE, [...suite.fixtureArgs, '--port', String(p)])),
    ]);
    started.push(directFixture, proxiedFixture);
    const p = await startProxy(proxiedFixture.url, dir);
    const limit = suite.scenarios ? SCENARIO_TIMEOUT_MS : SUITE_TIMEOUT_MS;
    proxy = p.proc;
    proxy.stdout?.resume();
    proxy.stderr?.resume();
    const [directRun, proxiedRun] = await Promise.all([
      runSuiteCli(suite, directFixture.url, join(dir, 'direct'), limit),
      runSuiteCli(suite, p.url, join(dir, 'proxied'), limit),
    ]);
    const direct = readChecks(join(dir, 'direct'));
    const proxied = readChecks(join(dir, 'proxied'));
    const notes: string[] = [];
    for (const [name, run, checks] of [
      ['direct', directRun, direct],
      ['proxied', proxiedRun, proxied],
    ] as const) {
      if (run.timedOut.length > 0)
        notes.push(`${name}: killed after ${limit} ms: ${run.timedOut.join(', ')}`);
      if (checks.size === 0)
        notes.push(`${name} run reported no checks; its output:\n${run.output.slice(-3000)}`);
    }
    return {
      suite: suite.id,
      label: suite.label,
      direct: totals(direct),
      proxied: totals(proxied),
      regressions: regressions(direct, proxied).map(({ direct: d, proxied: q }) => ({
        key: d.key,
        description: d.description,
        direct: brief(d, false, limit),
        proxied: brief(
          q,
          proxiedRun.timedOut.includes(d.scenario) || (proxiedRun.timedOut.length > 0 && !suite.scenarios),
          limit,
        ),
        detail: q?.details === undefined ? undefined : JSON.stringify(q.details).slice(0, 600),
      })),
      notes,
    };
  } finally {
    if (proxy) await stopProcess(proxy);
    await Promise.all(started.map((s) => s.stop()));
  }
}

const line = (t: Totals) =>
  `${t.passed}/${t.scored} passed, ${t.failed} failed, ${t.warnings} warnings (SUCCESS+FAILURE counted)`;

export function formatReport(reports: SuiteReport[]): string {
  const out: string[] = [];
  for (const r of reports) {
    out.push(`== ${r.label}`, `   direct:  ${line(r.direct)}`, `   proxied: ${line(r.proxied)}`);
    for (const n of r.notes) out.push(`   note: ${n}`);
    if (r.regressions.length === 0) out.push('   no check passes directly but fails through the proxy');
    else out.push(`   ${r.regressions.length} check(s) pass directly but not through the proxy:`);
    for (const g of r.regressions) {
      out.push(`   - ${g.key}: ${g.description}`, `       proxied: ${g.proxied}`);
      if (g.detail) out.push(`       details: ${g.detail}`);
    }
  }
  return out.join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { suite: { type: 'string' }, json: { type: 'string' }, keep: { type: 'boolean' } },
  });
  const suites = SUITES.filter((s) => values.suite === undefined || s.id === values.suite);
  if (suites.length === 0)
    throw new Error(`unknown --suite ${values.suite}; use legacy, legacy-bridged or modern`);
  const root = mkdtempSync(join(tmpdir(), 'mcp-fed-conformance-'));
  try {
    const reports = await Promise.all(suites.map((s) => runSuite(s, root)));
    process.stdout.write(`${formatReport(reports)}\n`);
    if (values.json) writeFileSync(values.json, JSON.stringify(reports, null, 2));
    if (values.keep) process.stdout.write(`raw results: ${root}\n`);
    return reports.some((r) => r.regressions.length > 0 || r.direct.scored === 0) ? 1 : 0;
  } finally {
    if (!values.keep) rmSync(root, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `conformance run failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(2);
  },
);
