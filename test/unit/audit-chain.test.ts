/**
 * The audit file's hash chain (DESIGN.md, "Audit record"): written by the real AuditLog to a real
 * file across restarts (segments), then tampered with every way the issue names, each found by
 * `mcp-fed audit verify` (run as the CLI, and as its function).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/hooks/audit/audit-log.ts';
import { lastHashOf } from '../../src/hooks/audit/chain.ts';
import { fileSink } from '../../src/hooks/audit/sink.ts';
import { runAuditVerify } from '../../src/hooks/audit/verify-command.ts';
import { silentLogger } from '../../src/log.ts';
import type { CallRecord } from '../../src/router/federation.ts';

const SECRET = 'audit-chain-test-key-0123456789';
const record = (n: number): CallRecord => ({
  ctx: {
    requestId: `req-${n}`,
    caller: { id: 'team-a', groups: [] },
    era: 'modern',
    hops: 1,
    decision: 'allow',
    tokenIds: [],
    hookMs: 0,
  },
  method: 'tools/call',
  publicName: 'tools__echo',
  upstream: 'tools',
  upstreamName: 'echo',
  argumentsValue: { text: `call ${n}` },
  totalMs: 1,
  upstreamMs: 0.5,
  upstreamStatus: 200,
  result: 'ok',
});

let dir: string;
let file: string;
let lastLogged = '';

/** One process's segment: an AuditLog on the file, `calls` records, then a graceful close. */
async function segment(from: number, calls: number): Promise<void> {
  const log = new AuditLog(
    fileSink(file),
    silentLogger,
    { key: Buffer.from(SECRET), configVersion: 'v1' },
    lastHashOf(file),
  );
  for (let i = 0; i < calls; i++) log.observe(record(from + i));
  await log.close();
  lastLogged = log.lastHash;
}

async function verify(text: string, expectLast?: string) {
  const path = join(dir, `v-${Math.random().toString(36).slice(2)}.jsonl`);
  await writeFile(path, text);
  const errors: string[] = [];
  const outs: string[] = [];
  const code = await runAuditVerify({
    file: path,
    expectLast,
    env: { MCP_FED_AUDIT_KEY: SECRET },
    out: (l) => outs.push(l),
    err: (l) => errors.push(l.replace(path, 'FILE')),
  });
  return { code, error: errors.join('\n'), out: outs.join('\n') };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-fed-audit-chain-'));
  file = join(dir, 'audit.jsonl');
  // Three processes in turn (a restart between each), so the file holds three segments.
  await segment(0, 4);
  await segment(4, 3);
  await segment(7, 3);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const linesOf = async () => (await readFile(file, 'utf8')).split('\n').filter((l) => l !== '');

describe('audit hash chain', () => {
  it('continues across restarts: an untouched multi-segment file verifies, ending at the logged hash', async () => {
    const lines = await linesOf();
    expect(lines).toHaveLength(13);
    expect(lines.filter((l) => l.startsWith('{"segment_start":true'))).toHaveLength(3);
    for (const l of lines) expect(l).toMatch(/,"prev_hash":"[0-9a-f]{0,64}","hash":"[0-9a-f]{64}"\}$/);
    const { code, out } = await verify(`${lines.join('\n')}\n`, lastLogged);
    expect(code).toBe(0);
    expect(out).toBe(`ok: 13 lines verified, last hash ${lastLogged}`);
  });

  it('finds an altered line', async () => {
    const lines = await linesOf();
    lines[6] = lines[6]!.replace('"caller_identity":"team-a"', '"caller_identity":"team-b"');
    const { code, error } = await verify(lines.join('\n'));
    expect(code).toBe(1);
    expect(error).toMatch(/^FILE:7: altered/);
  });

  it('finds a removed line', async () => {
    const lines = await linesOf();
    lines.splice(3, 1);
    const { code, error } = await verify(lines.join('\n'));
    expect(code).toBe(1);
    expect(error).toMatch(/^FILE:4: removed or reordered/);
  });

  it('finds two lines swapped', async () => {
    const lines = await linesOf();
    [lines[8], lines[9]] = [lines[9]!, lines[8]!];
    const { code, error } = await verify(lines.join('\n'));
    expect(code).toBe(1);
    expect(error).toMatch(/^FILE:9: removed or reordered/);
  });

  it('finds a cut tail only against the last hash the proxy logged', async () => {
    const lines = (await linesOf()).slice(0, -2);
    expect((await verify(lines.join('\n'))).code).toBe(0);
    const { code, error } = await verify(lines.join('\n'), lastLogged);
    expect(code).toBe(1);
    expect(error).toContain(`does not end at ${lastLogged}`);
  });

  it('finds a removed head, and a line signed with another key', async () => {
    const lines = await linesOf();
    expect((await verify(lines.slice(2).join('\n'))).error).toMatch(/^FILE:1: removed/);
    const errors: string[] = [];
    const code = await runAuditVerify({
      file,
      env: { MCP_FED_AUDIT_KEY: 'another-key' },
      err: (l) => errors.push(l),
      out: () => {},
    });
    expect(code).toBe(1);
    expect(errors.join()).toContain(':1: altered');
  });

  it('runs as `mcp-fed audit verify`, with the key from the config', async () => {
    const config = join(dir, 'config.yaml');
    await writeFile(config, `secrets:\n  auditKey: ${SECRET}\n`);
    const run = promisify(execFile);
    const ok = await run(process.execPath, [
      '--import',
      'tsx',
      'src/main.ts',
      'audit',
      'verify',
      file,
      '--config',
      config,
    ]);
    expect(ok.stdout).toContain('ok: 13 lines verified');
    const bad = join(dir, 'bad.jsonl');
    const lines = await linesOf();
    lines.splice(2, 1);
    await writeFile(bad, lines.join('\n'));
    const failed = await run(process.execPath, [
      '--import',
      'tsx',
      'src/main.ts',
      'audit',
      'verify',
      bad,
      '--config',
      config,
    ]).catch((e: { code: number; stderr: string }) => e);
    expect((failed as { code: number }).code).toBe(1);
    expect((failed as { stderr: string }).stderr).toContain(`${bad}:3: removed or reordered`);
  });
});
