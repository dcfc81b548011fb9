/**
 * `mcp-fed serve --config` as a user runs it, audit to a file: a SIGTERM loses no audit record, not
 * even of calls still in flight, and stdout mode writes one JSON object a line. `mcp-fed stdio`
 * keeps audit records off stdout (the protocol channel).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLES } from '../helpers/federation.ts';
import { AUDIT_FIELDS, rawCall, readAudit } from '../helpers/governance.ts';
import { type StartedServer, startServer } from '../helpers/spawn-server.ts';
import { spawnCli, startServe } from './cli-helpers.ts';

let tools: StartedServer;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-fed-cli-audit-'));
  tools = await startServer(SAMPLES.tools, ['--port', '0']);
}, 60_000);

afterAll(async () => {
  await tools?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function writeConfig(name: string, extra: Record<string, unknown>): Promise<string> {
  const path = join(dir, name);
  const config = {
    listen: { host: '127.0.0.1', port: 0 },
    upstreams: [{ name: 'tools', url: tools.url, catalogRefreshSeconds: 0 }],
    policies: {
      acl: [{ callers: ['anonymous'], allow: ['tools__*'], deny: ['tools__add'] }],
      rateLimits: [{ callers: ['*'], tools: ['*'], perMinute: 100_000 }],
    },
    ...extra,
  };
  await writeFile(path, JSON.stringify(config));
  return path;
}

describe('audit on a graceful stop', () => {
  it('flushes every record on SIGTERM, calls in flight included', async () => {
    const auditPath = join(dir, 'audit.jsonl');
    const srv = await startServe([
      'serve',
      '--config',
      await writeConfig('file.json', { audit: { sink: 'file', path: auditPath } }),
    ]);
    try {
      const N = 60;
      const replies = await Promise.all(
        Array.from({ length: N }, (_, i) =>
          rawCall(
            srv.url,
            'tools/call',
            { name: i % 5 === 0 ? 'tools__add' : 'tools__echo', arguments: { text: `v${i}`, a: 1, b: 2 } },
            { 'x-request-id': `sigterm-${i}` },
            i,
          ),
        ),
      );
      expect(replies.filter((r) => r.json?.error?.data?.code === 'ACL_DENIED')).toHaveLength(N / 5);
      // Two slow calls are still running when the signal arrives.
      const slow = [0, 1].map((i) =>
        rawCall(
          srv.url,
          'tools/call',
          { name: 'tools__slow', arguments: { steps: 50, delayMs: 100 } },
          {
            'x-request-id': `sigterm-slow-${i}`,
          },
        ).catch((err: Error) => err),
      );
      await new Promise((r) => setTimeout(r, 300));
      const t0 = Date.now();
      srv.proc.kill('SIGTERM');
      const exit = await srv.exited;
      expect(exit.code).toBe(0);
      expect(Date.now() - t0).toBeLessThan(5_000);
      await Promise.all(slow);
      const records = readAudit(auditPath);
      const ids = records.map((r) => String(r.request_id));
      for (let i = 0; i < N; i++) expect(ids).toContain(`sigterm-${i}`);
      expect(ids).toContain('sigterm-slow-0');
      expect(ids).toContain('sigterm-slow-1');
      expect(records).toHaveLength(N + 2);
      for (const r of records) expect(Object.keys(r).sort()).toEqual(AUDIT_FIELDS);
      expect(records.filter((r) => r.policy_decision === 'deny_acl')).toHaveLength(N / 5);
    } finally {
      await srv.stop();
    }
  });

  it('writes one JSON object a line to stdout with sink stdout', async () => {
    const srv = await startServe([
      'serve',
      '--config',
      await writeConfig('stdout.json', { audit: { sink: 'stdout' } }),
    ]);
    try {
      await rawCall(
        srv.url,
        'tools/call',
        { name: 'tools__echo', arguments: { text: 'to-stdout' } },
        {
          'x-request-id': 'stdout-audit-1',
        },
      );
      await srv.stop();
      const lines = srv
        .stdout()
        .split('\n')
        .filter((l) => l.startsWith('{'));
      const record = lines.map((l) => JSON.parse(l)).find((r) => r.request_id === 'stdout-audit-1');
      expect(record).toBeDefined();
      expect(Object.keys(record).sort()).toEqual(AUDIT_FIELDS);
      expect(srv.stdout()).not.toContain('to-stdout');
    } finally {
      await srv.stop();
    }
  });

  it('keeps audit records off stdout under `mcp-fed stdio`', async () => {
    const config = await writeConfig('stdio.json', { audit: { sink: 'stdout' } });
    const cli = spawnCli(['stdio', '--config', config]);
    const send = (msg: unknown) => cli.proc.stdin!.write(`${JSON.stringify(msg)}\n`);
    const meta = {
      'io.modelcontextprotocol/protocolVersion': '2026-07-28',
      'io.modelcontextprotocol/clientCapabilities': {},
      'io.modelcontextprotocol/clientInfo': { name: 'stdio-test', version: '1' },
    };
    send({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'tools__echo', arguments: { text: 'over stdio' }, _meta: meta },
    });
    send({
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'tools__add', arguments: { a: 1, b: 2 }, _meta: meta },
    });
    const deadline = Date.now() + 20_000;
    const answered = () => /"id":1\b/.test(cli.stdout()) && /"id":2\b/.test(cli.stdout());
    while (Date.now() < deadline && !answered()) await new Promise((r) => setTimeout(r, 50));
    cli.proc.stdin!.end();
    await cli.exited;
    const out = cli
      .stdout()
      .split('\n')
      .filter((l) => l.trim() !== '');
    expect(out.length).toBeGreaterThanOrEqual(2);
    // stdout holds protocol messages only.
    for (const line of out) expect(JSON.parse(line).jsonrpc).toBe('2.0');
    expect(cli.stdout()).toContain('over stdio');
    expect(cli.stdout()).toContain('ACL_DENIED');
    const audit = cli
      .stderr()
      .split('\n')
      .filter((l) => l.includes('"request_id"'))
      .map((l) => JSON.parse(l));
    expect(audit.map((r) => r.policy_decision).sort()).toEqual(['allow', 'deny_acl']);
  });
});
