/**
 * `npm run lab -- --demo --exit` end to end, as a person runs it (on free ports, so it never collides
 * with a lab or anything else already running): the whole topology comes up as local processes, the demo
 * goes through the edge, and the printed output shows tokens reaching the upstream, the original coming
 * back, one request id in the audit records of both proxies, and one trace across both; then every
 * process is gone.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReceivedSpan } from '../../scripts/lab/otlp-receiver.ts';
import { LAB_SECRETS } from '../../scripts/lab/topology.ts';
import { REPO_ROOT } from '../helpers/spawn-server.ts';

const RUN_TIMEOUT_MS = 150_000;
let dir: string;
let run: { code: number | null; stdout: string; stderr: string };

/** The value printed after `label` on its line. */
function printed(label: string): string {
  const line = run.stdout.split('\n').find((l) => l.trimStart().startsWith(label));
  if (line === undefined) throw new Error(`no "${label}" line in the lab's output:\n${run.stdout}`);
  return line.slice(line.indexOf(label) + label.length).trim();
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-fed-lab-e2e-'));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'scripts/lab.ts', '--demo', '--exit', '--free-ports', '--state-dir', dir],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const timer = setTimeout(() => child.kill('SIGTERM'), RUN_TIMEOUT_MS - 10_000);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearTimeout(timer);
  run = { code, stdout, stderr };
}, RUN_TIMEOUT_MS);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('npm run lab -- --demo --exit', () => {
  it('starts everything, runs the demo with every check passing, and exits 0', () => {
    expect(run.stderr).not.toMatch(/start-up failed|demo failed/);
    expect(run.stdout).toContain('demo: all checks passed');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/edge +http:\/\/127\.0\.0\.1:\d+\/mcp/);
  });

  it('prints a merged catalog with every upstream of the core', () => {
    for (const prefix of ['core__tools__', 'core__aws-tools__', 'core__oauth-tools__', 'core__content__'])
      expect(run.stdout).toContain(prefix);
  });

  it('shows tokens, not the PII, reaching the upstream, and the original coming back', () => {
    const sent = printed('caller sent:');
    const received = printed('upstream received:');
    const back = printed('caller got back:');
    expect(sent).toContain('jane.doe@example.com');
    expect(received).toMatch(/<EMAIL_[0-9a-f]{16}>/);
    expect(received).not.toContain('jane.doe@example.com');
    expect(received).not.toContain('example.com');
    expect(back).toContain('jane.doe@example.com');
  });

  it('shows the audit records of both proxies under one request id and one trace id', async () => {
    const edge = JSON.parse(printed('edge audit:')) as Record<string, unknown>;
    const core = JSON.parse(printed('core audit:')) as Record<string, unknown>;
    expect(edge.request_id).toMatch(/^lab-demo-/);
    expect(core.request_id).toBe(edge.request_id);
    expect(edge).toMatchObject({ hops: 1, upstream: 'core', caller_identity: 'anonymous' });
    expect(core).toMatchObject({
      hops: 2,
      upstream: 'tools',
      upstream_tool: 'echo',
      caller_identity: 'edge',
    });
    expect(core.redaction_tokens_ids).not.toEqual([]);
    expect(edge.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(core.trace_id).toBe(edge.trace_id);
    expect(printed('trace id:')).toBe(edge.trace_id);
    // The printed records are the ones in the proxies' audit files.
    const files = await Promise.all(
      ['edge-audit.jsonl', 'core-audit.jsonl'].map((f) => readFile(join(dir, f), 'utf8')),
    );
    expect(files[0]).toContain(JSON.stringify(edge));
    expect(files[1]).toContain(JSON.stringify(core));
  });

  it('received one trace with linked spans from both proxies', async () => {
    const traceId = printed('trace id:');
    const spans = (await readFile(join(dir, 'spans.jsonl'), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as ReceivedSpan)
      .filter((s) => s.traceId === traceId);
    const find = (service: string, kind: number) =>
      spans.find((s) => s.service === service && s.kind === kind);
    const [edgeServer, edgeClient, coreServer, coreClient] = [
      find('mcp-fed-edge', 2),
      find('mcp-fed-edge', 3),
      find('mcp-fed-core', 2),
      find('mcp-fed-core', 3),
    ];
    expect(edgeClient?.parentSpanId).toBe(edgeServer?.spanId);
    expect(coreServer?.parentSpanId).toBe(edgeClient?.spanId);
    expect(coreClient?.parentSpanId).toBe(coreServer?.spanId);
    for (const s of [edgeServer, coreServer, coreClient]) expect(run.stdout).toContain(`span ${s?.spanId}`);
  });

  it('leaves nothing running and no secret in any log', async () => {
    const edgeUrl = /edge +(http:\/\/127\.0\.0\.1:\d+\/mcp)/.exec(run.stdout)?.[1];
    await expect(fetch(edgeUrl!, { signal: AbortSignal.timeout(2_000) })).rejects.toThrow();
    const logs = join(dir, 'logs');
    const names = await readdir(logs);
    expect(names.sort()).toEqual(
      ['auth-server', 'aws-tools', 'core', 'edge', 'oauth-tools', 'redis', 'tools', 'traces'].map(
        (n) => `${n}.log`,
      ),
    );
    const text = (await Promise.all(names.map((n) => readFile(join(logs, n), 'utf8')))).join('\n');
    for (const secret of [
      LAB_SECRETS.clientSecret,
      LAB_SECRETS.awsSecretAccessKey,
      LAB_SECRETS.edgeKey,
      LAB_SECRETS.vaultKey,
    ])
      expect(text).not.toContain(secret);
    expect(run.stdout).not.toContain(LAB_SECRETS.edgeKey);
  });
});
