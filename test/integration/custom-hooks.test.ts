/**
 * Your own hooks through real proxies (DESIGN.md, "Your own hooks"): a module hook and a remote hook
 * in Python in front of a real upstream that records every byte, two replicas on one Redis, a
 * 2026-07-28 client on one and a 2025-era client on the other. Pass, mutate before and after, reject,
 * throw, time out, malformed and unknown answers, unreachable; order with the rate limit, Cedar and
 * PII; audit fields and metrics; the two example hooks of examples/hooks.
 */
import { writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { startRecordingUpstream, UPSTREAM_PII } from '../fixtures/recording-upstream.ts';
import { startProxy } from '../helpers/federation.ts';
import { legacyClientWith, rawCall, readAudit } from '../helpers/governance.ts';
import { type PythonHook, startPythonHook } from '../helpers/python-hook.ts';
import { privateRedis, type TestRedis } from '../helpers/redis.ts';
import { REPO_ROOT } from '../helpers/spawn-server.ts';

const KEYS = { alice: 'hooks-key-alice-0123456789', carl: 'hooks-key-carl-01234567890' };
const as = (who: keyof typeof KEYS) => ({ 'x-api-key': KEYS[who] });
const EMAIL = 'maria.ruiz@example.com';

let dir: string;
let recording: string;
let moduleRecord: string;
let remoteRecord: string;
let upstream: { url: string; close(): Promise<void> };
let redis: TestRedis;
let remote: PythonHook;
let hours: PythonHook;
let legacy: V1Client;
const replicas: { app: App; url: string; audit: string }[] = [];

/** A port nothing listens on: a remote hook that is down. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** One request a hook recorded: what it was shown (its call's arguments are free-form). */
interface Seen {
  phase: string;
  call: { arguments: Record<string, string | undefined> } & Record<string, unknown>;
  context: Record<string, unknown>;
  result?: unknown;
  headers: Record<string, string>;
}

const lines = async (file: string) =>
  (await readFile(file, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Seen);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-fed-hooks-'));
  recording = join(dir, 'upstream.bin');
  moduleRecord = join(dir, 'module.jsonl');
  remoteRecord = join(dir, 'remote.jsonl');
  writeFileSync(moduleRecord, '');
  process.env.SCRIPTED_HOOK_RECORD = moduleRecord;
  [upstream, redis, remote, hours] = await Promise.all([
    startRecordingUpstream(recording),
    privateRedis({ own: true }),
    startPythonHook('test/fixtures/hooks/scripted-hook.py', ['--record', remoteRecord]),
    // Saturday noon: outside business hours.
    startPythonHook('examples/hooks/business-hours.py', ['--port', '0'], {
      BUSINESS_HOURS_NOW: '2026-12-05T12:00:00Z',
    }),
  ]);
  const gone = await closedPort();
  for (const name of ['a', 'b']) {
    const audit = join(dir, `audit-${name}.jsonl`);
    const { app, url } = await startProxy({
      upstreams: [{ name: 'rec', url: upstream.url, catalogRefreshSeconds: 0 }],
      store: { kind: 'redis', url: redis.url, keyPrefix: 'mcp-fed-hooks:' },
      inbound: {
        auth: {
          kind: 'apiKeys',
          keys: [
            { key: KEYS.alice, caller: 'alice', groups: ['staff'] },
            { key: KEYS.carl, caller: 'carl', groups: ['contractors'] },
          ],
        },
      },
      policies: {
        rateLimits: [{ callers: ['carl'], tools: ['rec__run_sql'], perMinute: 2 }],
        cedar: {
          inline:
            'permit(principal, action, resource);\n@id("no-forbidden")\nforbid(principal, action, resource) when { context.arguments has text && context.arguments.text like "*forbidden*" };',
        },
      },
      pii: { mode: 'tokenize' },
      secrets: { vaultKey: 'hooks-test-vault-key-0123456789' },
      audit: { sink: 'file', path: audit },
      hooks: [
        {
          name: 'scripted-module',
          module: 'test/fixtures/hooks/scripted-hook.mjs',
          timeoutMs: 500,
          match: { tools: ['rec__echo', 'rec__leak'] },
        },
        {
          name: 'scripted-remote',
          url: remote.url,
          timeoutMs: 500,
          match: { tools: ['rec__echo', 'rec__leak', 'rec__run_sql'] },
        },
        { name: 'sql-guard', module: 'examples/hooks/sql-guard.mjs' },
        {
          name: 'lenient',
          module: 'test/fixtures/hooks/scripted-hook.mjs',
          onError: 'pass',
          match: { tools: ['rec__narrate'] },
        },
        { name: 'gone', url: `http://127.0.0.1:${gone}/hook`, match: { tools: ['rec__refuse'] } },
        { name: 'business-hours', url: hours.url, phases: ['before'], match: { methods: ['prompts/get'] } },
      ],
    });
    replicas.push({ app, url, audit });
  }
  legacy = (await legacyClientWith(replicas[1]!.url, as('alice'))).client;
}, 60_000);

afterAll(async () => {
  await legacy?.close();
  await Promise.all(replicas.map((r) => r.app.close()));
  await Promise.all([upstream?.close(), redis?.stop(), remote?.stop(), hours?.stop()]);
  delete process.env.SCRIPTED_HOOK_RECORD;
  if (dir) await rm(dir, { recursive: true, force: true });
});

const A = () => replicas[0]!.url;
const call = async (
  name: string,
  args: Record<string, unknown>,
  who: keyof typeof KEYS = 'alice',
  id = 1,
) => {
  const reply = await rawCall(A(), 'tools/call', { name, arguments: args }, as(who), id);
  return {
    result: reply.json?.result as
      | { content: { type: string; text?: string }[]; _meta?: Record<string, unknown> }
      | undefined,
    error: reply.json?.error,
  };
};
const texts = (r?: { content: { text?: string }[] }) => r?.content.map((c) => c.text);

describe('your own hooks', () => {
  it('pass: both hooks see the call with tokens for PII, the context, and the trace headers', async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const reply = await rawCall(
      A(),
      'tools/call',
      { name: 'rec__echo', arguments: { text: `mail ${EMAIL}`, marker: 'pass-1' } },
      { ...as('alice'), traceparent, 'x-request-id': 'req-hooks-pass' },
    );
    expect(reply.json?.result?.content).toContainEqual({ type: 'text', text: `mail ${EMAIL}` });
    const seenRemote = (await lines(remoteRecord)).filter((l) => l.call.arguments.marker === 'pass-1');
    expect(seenRemote.map((l) => l.phase)).toEqual(['before', 'after']);
    const first = seenRemote[0]!;
    expect(first.call).toMatchObject({
      method: 'tools/call',
      name: 'rec__echo',
      upstream: 'rec',
      upstreamName: 'echo',
    });
    expect(first.call.arguments.text).toMatch(/^mail <EMAIL_[0-9a-f]{16}>$/);
    expect(first.context).toEqual({
      requestId: 'req-hooks-pass',
      caller: { id: 'alice', groups: ['staff'] },
      era: 'modern',
      hops: 1,
      traceId: '0af7651916cd43dd8448eb211c80319c',
    });
    expect(first.headers.traceparent).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-/);
    const seenModule = (await lines(moduleRecord)).filter((l) => l.call.arguments.marker === 'pass-1');
    expect(seenModule.map((l) => l.phase)).toEqual(['before', 'after']);
    for (const file of [remoteRecord, moduleRecord])
      expect(await readFile(file, 'utf8')).not.toContain(EMAIL);
  });

  it('after-hooks see upstream-held PII masked; no raw value reaches a hook', async () => {
    await call('rec__leak', { marker: 'leak-1' });
    const after = (await lines(remoteRecord)).find(
      (l) => l.call.arguments.marker === 'leak-1' && l.phase === 'after',
    );
    expect(JSON.stringify(after?.result)).toContain('<EMAIL_REDACTED>');
    for (const file of [remoteRecord, moduleRecord])
      for (const value of UPSTREAM_PII) expect(await readFile(file, 'utf8')).not.toContain(value);
  });

  it('mutate before: each hook in list order; the upstream gets both changes', async () => {
    const { result } = await call('rec__echo', { text: 'hello', hook: 'mutate' });
    expect(texts(result)?.[0]).toBe('hello [seen by module] [seen by remote]');
    expect(await readFile(recording, 'utf8')).toContain('hello [seen by module] [seen by remote]');
  });

  it('mutate after: hooks in reverse order (the remote first, the module last)', async () => {
    const { result } = await call('rec__echo', { text: 'x', hookAfter: 'mutate' });
    expect(texts(result)?.slice(-2)).toEqual(['remote was here', 'module was here']);
  });

  it('a mutation is scanned for PII again and judged by Cedar again', async () => {
    const planted = await call('rec__echo', { text: 'x', hook: 'plant' });
    // The module plants one address, the remote hook after it another: the upstream sees neither raw.
    expect(texts(planted.result)?.[0]).toBe('write to dave.planted@example.com');
    const wire = await readFile(recording, 'utf8');
    expect(wire).not.toContain('planted@example.com');
    expect(wire).toMatch(/write to <EMAIL_[0-9a-f]{16}>/);
    const forbidden = await call('rec__echo', { text: 'x', hook: 'forbid' });
    expect(forbidden.error?.data).toMatchObject({ code: 'ACL_DENIED', policyIds: ['no-forbidden'] });
    expect(await readFile(recording, 'utf8')).not.toContain('this is forbidden now');
  });

  it('reject: HOOK_REJECTED with the hook’s message; the upstream never sees the call', async () => {
    const { error } = await call('rec__echo', { text: 'no-1', hook: 'reject' }, 'alice', 41);
    expect(error).toMatchObject({
      code: -32051,
      message: 'module says no to rec__echo (before)',
      data: { code: 'HOOK_REJECTED', hook: 'scripted-module' },
    });
    const after = await call('rec__echo', { text: 'no-2', hookAfter: 'reject' });
    expect(after.error).toMatchObject({
      message: 'remote says no to rec__echo (after)',
      data: { hook: 'scripted-remote' },
    });
    const wire = await readFile(recording, 'utf8');
    expect(wire).not.toContain('no-1');
    expect(wire).toContain('no-2');
  });

  it.each([
    ['throw', 'scripted-module', /threw: module hook broke on purpose/],
    ['sleep', 'scripted-module', /timed out after 500 ms/],
    ['malformed', 'scripted-module', /not a hook answer/],
    ['unknown', 'scripted-module', /unknown outcome/],
    ['mutate-frozen', 'scripted-module', /threw: .*read only/],
  ])('%s (module): HOOK_FAILED, fail closed', async (what, hook, reason) => {
    const { error } = await call('rec__echo', { text: `fail-${what}`, hook: what });
    expect(error).toMatchObject({ code: -32052, data: { code: 'HOOK_FAILED', hook } });
    expect(error?.message).toMatch(reason);
    expect(await readFile(recording, 'utf8')).not.toContain(`fail-${what}`);
  });

  it.each([
    ['malformed-remote', /not JSON/],
    ['http500', /HTTP 500/],
    ['unknown-remote', /unknown outcome/],
  ])('%s (remote): HOOK_FAILED', async (what, reason) => {
    // The module hook passes these; the remote one, next in line, fails.
    const { error } = await call('rec__leak', { hook: what });
    expect(error).toMatchObject({ data: { code: 'HOOK_FAILED', hook: 'scripted-remote' } });
    expect(error?.message).toMatch(reason);
  });

  it('a slow hook holds up only the calls it matches', async () => {
    const slow = call('rec__leak', { hook: 'sleep' }).then(() => 'slow');
    const fast = rawCall(
      A(),
      'tools/call',
      { name: 'rec__narrate', arguments: { text: 'hi', id: 'x' } },
      as('alice'),
    ).then(() => 'fast');
    expect(await Promise.race([slow, fast])).toBe('fast');
    await slow;
  });

  it('onError: pass lets the call through when the hook breaks', async () => {
    const reply = await rawCall(
      A(),
      'tools/call',
      { name: 'rec__narrate', arguments: { text: 'lenient', id: 'x', hook: 'throw' } },
      as('alice'),
    );
    expect(reply.text).toContain('"text":"lenient"');
  });

  it('unreachable: HOOK_FAILED for its calls, and /readyz lists it', async () => {
    const { error } = await call('rec__refuse', {});
    expect(error).toMatchObject({ data: { code: 'HOOK_FAILED', hook: 'gone' } });
    expect(error?.message).toMatch(/unreachable \(ECONNREFUSED\)/);
    const ready = (await (await fetch(new URL('/readyz', A()))).json()) as {
      hooks: { name: string; state: string }[];
    };
    expect(ready.hooks).toContainEqual({
      name: 'gone',
      kind: 'remote',
      state: 'unreachable',
      onError: 'reject',
    });
    expect(ready.hooks).toContainEqual({
      name: 'scripted-remote',
      kind: 'remote',
      state: 'ok',
      onError: 'reject',
    });
  });

  it('a call over its rate limit never reaches a remote hook', async () => {
    const results = [];
    for (let i = 0; i < 3; i++)
      results.push(await call('rec__run_sql', { query: `select ${i}`, n: `rl-${i}` }, 'carl'));
    expect(results[2]?.error?.data?.code).toBe('RATE_LIMITED');
    const seen = (await lines(remoteRecord)).filter((l) =>
      String(l.call.arguments.n ?? '').startsWith('rl-'),
    );
    expect(new Set(seen.map((l) => l.call.arguments.n))).toEqual(new Set(['rl-0', 'rl-1']));
  });

  it('the SDK path (`mcp-fed stdio`, served by the SDK server) runs the same hooks', async () => {
    const config = join(dir, 'stdio.yaml');
    writeFileSync(
      config,
      [
        'audit: { sink: off }',
        `upstreams: [{ name: rec, url: "${upstream.url}" }]`,
        `hooks: [{ name: scripted-module, module: "${join(REPO_ROOT, 'test/fixtures/hooks/scripted-hook.mjs')}" }]`,
      ].join('\n'),
    );
    const client = new V1Client({ name: 'hooks-stdio', version: '1.0.0' }, { capabilities: {} });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: ['bin/mcp-fed.js', 'stdio', '--config', config],
        cwd: REPO_ROOT,
        env: { ...(process.env as Record<string, string>), SCRIPTED_HOOK_RECORD: moduleRecord },
        stderr: 'ignore',
      }),
    );
    try {
      const mutated = await client.callTool({
        name: 'rec__echo',
        arguments: { text: 'via sdk', hook: 'mutate' },
      });
      expect((mutated.content as { text: string }[])[0]?.text).toBe('via sdk [seen by module]');
      await expect(
        client.callTool({ name: 'rec__echo', arguments: { text: 'sdk-no', hook: 'reject' } }),
      ).rejects.toThrow(/module says no to rec__echo/);
    } finally {
      await client.close();
    }
  }, 30_000);

  it('the 2025-era client on the other replica gets the same hooks', async () => {
    const result = await legacy.callTool({
      name: 'rec__echo',
      arguments: { text: 'legacy', hook: 'mutate' },
    });
    expect((result.content as { text: string }[])[0]?.text).toBe('legacy [seen by module] [seen by remote]');
    await expect(
      legacy.callTool({ name: 'rec__echo', arguments: { text: 'l', hook: 'reject' } }),
    ).rejects.toThrow(/module says no/);
    const seen = (await lines(remoteRecord)).filter((l) => l.call.arguments.text?.startsWith('legacy'));
    expect(seen[0]?.context.era).toBe('legacy');
  });

  it('example sql-guard: refuses a destructive statement, notes the results it let through', async () => {
    const drop = await call('rec__run_sql', { query: 'DROP TABLE customers' });
    expect(drop.error).toMatchObject({ code: -32051, data: { hook: 'sql-guard' } });
    expect(drop.error?.message).toMatch(
      /^sql-guard: rec__run_sql was asked to run a destructive statement \(DROP TABLE/,
    );
    const bare = await call('rec__run_sql', { query: 'delete from orders' });
    expect(bare.error?.data?.code).toBe('HOOK_REJECTED');
    const fine = await call('rec__run_sql', { query: 'delete from orders where id = 7' });
    expect(texts(fine.result)).toEqual(['ran delete from orders where id = 7']);
    expect(fine.result?._meta?.['example.com/sql-guard']).toEqual({ checked: true, rules: 5 });
  });

  it('example business-hours (Python): a contractor is refused on a Saturday, staff are not', async () => {
    const ask = (who: keyof typeof KEYS) =>
      rawCall(A(), 'prompts/get', { name: 'rec__echo_prompt', arguments: { name: 'n' } }, as(who));
    const carl = await ask('carl');
    expect(carl.json?.error).toMatchObject({ code: -32051, data: { hook: 'business-hours' } });
    expect(carl.json?.error?.message).toBe(
      'contractors may call rec__echo_prompt only 9:00-17:00 on weekdays (it is Sat 12:00)',
    );
    expect((await ask('alice')).json?.result?.messages).toBeDefined();
  });

  it('metrics count each hook’s answers and time; the audit names the hook that decided', async () => {
    const metrics = await (await fetch(new URL('/metrics', A()))).text();
    expect(metrics).toMatch(/mcp_fed_hook_latency_seconds_count\{hook="scripted-remote"\} [1-9]/);
    expect(metrics).toMatch(
      /mcp_fed_hook_decisions_total\{hook="scripted-module",phase="before",outcome="reject"\} [1-9]/,
    );
    expect(metrics).toMatch(
      /mcp_fed_hook_decisions_total\{hook="scripted-module",phase="before",outcome="error"\} [1-9]/,
    );
    expect(metrics).toMatch(
      /mcp_fed_hook_decisions_total\{hook="scripted-remote",phase="after",outcome="mutate"\} [1-9]/,
    );
    await replicas[0]!.app.close();
    const audit = readAudit(replicas[0]!.audit);
    const rejected = audit.find((l) => l.policy_decision === 'hook_rejected' && l.hook === 'scripted-module');
    expect(rejected).toMatchObject({ tool_name: 'rec__echo', upstream_status: null, result_status: 'error' });
    expect(audit.find((l) => l.policy_decision === 'hook_failed')?.hook).toBeDefined();
    const allowed = audit.find((l) => l.policy_decision === 'allow');
    expect(allowed).toBeDefined();
    expect(allowed).not.toHaveProperty('hook');
    expect(JSON.stringify(audit)).not.toContain(EMAIL);
  });
});
