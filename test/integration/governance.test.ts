/**
 * Governance through the real proxy, over real sockets, with real upstreams: per-caller ACL on every
 * list and at call time (audited), globs, `group:` entries, deny beating allow, default deny; session
 * binding; and audit completeness under concurrency.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { eventually, LEGACY, rawPost, SAMPLES, startProxy } from '../helpers/federation.ts';
import {
  AUDIT_FIELDS,
  type AuditLine,
  legacyClientWith,
  modernClientWith,
  pluck,
  rawCall,
  readAudit,
} from '../helpers/governance.ts';
import { type StartedServer, startServer } from '../helpers/spawn-server.ts';

const KEYS = {
  alice: 'key-alice-0123456789abcdef',
  bob: 'key-bob-0123456789abcdef',
  carol: 'key-carol-0123456789abcdef',
  dave: 'key-dave-0123456789abcdef',
};
const AUDIT_KEY = 'governance-audit-key-0123456789';
const as = (who: keyof typeof KEYS) => ({ authorization: `Bearer ${KEYS[who]}` });

let tools: StartedServer;
let content: StartedServer;
let app: App;
let url: string;
let dir: string;
let auditPath: string;
const clients: Record<string, Client> = {};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-fed-governance-'));
  auditPath = join(dir, 'audit.jsonl');
  [tools, content] = await Promise.all([
    startServer(SAMPLES.tools, ['--port', '0']),
    startServer(SAMPLES.content, ['--port', '0']),
  ]);
  ({ app, url } = await startProxy({
    upstreams: [
      { name: 'tools', url: tools.url, catalogRefreshSeconds: 0 },
      { name: 'content', url: content.url, catalogRefreshSeconds: 0 },
    ],
    inbound: {
      auth: {
        kind: 'apiKeys',
        keys: [
          { key: KEYS.alice, caller: 'alice', groups: ['finance'] },
          { key: KEYS.bob, caller: 'bob' },
          { key: KEYS.carol, caller: 'carol', groups: ['ops'] },
          { key: KEYS.dave, caller: 'dave' },
        ],
      },
    },
    policies: {
      acl: [
        // alice: every tools__ tool but fail; rule 2 would allow fail, but the first rule that decides wins.
        { callers: ['alice'], allow: ['tools__*', 'content__greeting'], deny: ['tools__fail'] },
        { callers: ['group:finance'], allow: ['content://readme', 'content://notes/*', 'tools__fail'] },
        // bob: deny beats allow inside one rule.
        { callers: ['bob'], allow: ['tools__echo', 'content__*', 'content://*'], deny: ['content__slow*'] },
        { callers: ['group:ops'], allow: ['tools__e?ho'] },
        { callers: ['*'], allow: ['tools__whoami'] },
      ],
    },
    audit: { sink: 'file', path: auditPath },
    secrets: { auditKey: AUDIT_KEY },
  }));
  for (const who of ['alice', 'bob', 'carol', 'dave'] as const)
    clients[who] = await modernClientWith(url, as(who));
}, 60_000);

afterAll(async () => {
  await Promise.all(Object.values(clients).map((c) => c.close()));
  await app?.close();
  await Promise.all([tools?.stop(), content?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

const TOOLS_ALL = [
  'add',
  'add_tool',
  'audio',
  'echo',
  'fail',
  'image',
  'remove_tool',
  'slow',
  'stats',
  'whoami',
];

describe('ACL: what each caller sees', () => {
  it('filters tools/list per caller: globs, group: entries, deny beats allow, first rule decides', async () => {
    const list = async (who: string) => pluck((await clients[who]!.listTools()).tools, 'name');
    expect(await list('alice')).toEqual(
      TOOLS_ALL.filter((t) => t !== 'fail')
        .map((t) => `tools__${t}`)
        .sort(),
    );
    expect(await list('bob')).toEqual(['content__bump', 'tools__echo', 'tools__whoami']);
    expect(await list('carol')).toEqual(['tools__echo', 'tools__whoami']);
    // dave is named by no rule but `*`: everything else is denied by default.
    expect(await list('dave')).toEqual(['tools__whoami']);
  });

  it('filters prompts, resources and resource templates by name and URI', async () => {
    const alice = clients.alice!;
    const bob = clients.bob!;
    const dave = clients.dave!;
    expect(pluck((await alice.listPrompts()).prompts, 'name')).toEqual(['content__greeting']);
    expect(pluck((await bob.listPrompts()).prompts, 'name')).toEqual([
      'content__greeting',
      'content__summary',
    ]);
    expect((await dave.listPrompts()).prompts).toEqual([]);

    const aliceUris = pluck((await alice.listResources()).resources, 'uri');
    expect(aliceUris).toContain('content://readme');
    expect(aliceUris).toContain('content://notes/alpha');
    expect(aliceUris).not.toContain('content://logo');
    expect(aliceUris).not.toContain('content://counter');
    const bobUris = pluck((await bob.listResources()).resources, 'uri');
    expect(bobUris).toEqual(
      expect.arrayContaining(['content://readme', 'content://logo', 'content://counter']),
    );
    expect((await dave.listResources()).resources).toEqual([]);

    expect(pluck((await alice.listResourceTemplates()).resourceTemplates, 'uriTemplate')).toEqual([
      'content://notes/{id}',
    ]);
    expect((await dave.listResourceTemplates()).resourceTemplates).toEqual([]);
  });

  it('never marks a per-caller list shareable across callers', async () => {
    const reply = await rawPost(
      url,
      {
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/list',
        params: {
          _meta: {
            'io.modelcontextprotocol/protocolVersion': '2026-07-28',
            'io.modelcontextprotocol/clientCapabilities': {},
            'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
          },
        },
      },
      { ...as('carol'), 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/list' },
    );
    expect(reply.json?.result?.cacheScope).toBe('private');
  });

  it('filters lists for 2025-era sessions too', async () => {
    const { client } = await legacyClientWith(url, as('carol'));
    try {
      expect(pluck((await client.listTools()).tools, 'name')).toEqual(['tools__echo', 'tools__whoami']);
      expect((await client.listPrompts()).prompts).toEqual([]);
    } finally {
      await client.close();
    }
  });
});

describe('ACL: call time', () => {
  it('allows what a caller sees and rejects the rest with ACL_DENIED, in both eras', async () => {
    const ok = await rawCall(
      url,
      'tools/call',
      { name: 'tools__echo', arguments: { text: 'hi' } },
      as('bob'),
    );
    expect(ok.json?.result?.content).toEqual([{ type: 'text', text: 'hi' }]);

    const cases: [
      keyof typeof KEYS,
      'tools/call' | 'prompts/get' | 'resources/read',
      Record<string, unknown>,
    ][] = [
      ['alice', 'tools/call', { name: 'tools__fail', arguments: {} }],
      ['bob', 'tools/call', { name: 'tools__add', arguments: { a: 1, b: 2 } }],
      ['bob', 'tools/call', { name: 'content__slow_count', arguments: {} }],
      ['dave', 'prompts/get', { name: 'content__greeting', arguments: { name: 'x' } }],
      ['alice', 'resources/read', { uri: 'content://logo' }],
    ];
    for (const [who, method, params] of cases) {
      const reply = await rawCall(url, method, params, as(who));
      expect(reply.status, `${who} ${method}`).toBe(200);
      expect(reply.json?.error?.data?.code, `${who} ${method} ${JSON.stringify(params)}`).toBe('ACL_DENIED');
      expect(reply.json?.error?.code).toBe(-32040);
    }

    const prompt = await clients.alice!.getPrompt({ name: 'content__greeting', arguments: { name: 'Ann' } });
    expect(JSON.stringify(prompt.messages)).toContain('Ann');
    const note = await clients.alice!.readResource({ uri: 'content://notes/alpha' });
    expect(JSON.stringify(note.contents)).toContain('Alpha');
    await expect(clients.alice!.readResource({ uri: 'content://counter' })).rejects.toThrow(/not allowed/);

    const { client } = await legacyClientWith(url, as('carol'));
    try {
      await expect(client.callTool({ name: 'tools__add', arguments: { a: 1, b: 2 } })).rejects.toThrow(
        /not allowed/,
      );
      const echoed = await client.callTool({ name: 'tools__echo', arguments: { text: 'legacy' } });
      expect(echoed.content).toEqual([{ type: 'text', text: 'legacy' }]);
    } finally {
      await client.close();
    }
  });

  it('hides completion for prompts a caller may not use', async () => {
    const ref = { type: 'ref/prompt' as const, name: 'content__greeting' };
    const argument = { name: 'style', value: 'f' };
    const allowed = await clients.alice!.complete({ ref, argument });
    expect(allowed.completion.values).toContain('formal');
    await expect(clients.dave!.complete({ ref, argument })).rejects.toThrow(/names no prompt/);
  });

  it('audits denied calls with the decision, no upstream status and zero upstream latency', async () => {
    const reply = await rawCall(
      url,
      'tools/call',
      { name: 'tools__add', arguments: { a: 40, b: 2 } },
      { ...as('bob'), 'x-request-id': 'acl-denied-audit-1' },
    );
    expect(reply.json?.error?.data?.code).toBe('ACL_DENIED');
    const record = await eventually(() => {
      const r = readAudit(auditPath).find((l) => l.request_id === 'acl-denied-audit-1');
      if (!r) throw new Error('no audit record yet');
      return r;
    });
    expect(Object.keys(record).sort()).toEqual(AUDIT_FIELDS);
    expect(record).toMatchObject({
      caller_identity: 'bob',
      tool_name: 'tools__add',
      upstream: 'tools',
      upstream_tool: 'add',
      upstream_status: null,
      upstream_latency_ms: 0,
      result_status: 'error',
      policy_decision: 'deny_acl',
      redaction_tokens_ids: [],
    });
  });
});

describe('sessions are bound to their caller', () => {
  it('answers 404 when another caller presents the session id, 401 without credentials', async () => {
    const { client, transport } = await legacyClientWith(url, as('alice'));
    try {
      const sessionId = transport.sessionId!;
      expect(sessionId).toBeTruthy();
      const call = {
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: { name: 'tools__echo', arguments: { text: 'mine' } },
      };
      const session = { 'mcp-session-id': sessionId, 'mcp-protocol-version': LEGACY };
      const foreign = await rawPost(url, call, { ...session, ...as('bob') });
      expect(foreign.status).toBe(404);
      expect(foreign.text).not.toContain('mine');
      const anonymous = await rawPost(url, call, session);
      expect(anonymous.status).toBe(401);
      const foreignGet = await fetch(url, { method: 'GET', headers: { ...session, ...as('bob') } });
      expect(foreignGet.status).toBe(404);
      await foreignGet.body?.cancel();
      const foreignDelete = await fetch(url, { method: 'DELETE', headers: { ...session, ...as('bob') } });
      expect(foreignDelete.status).toBe(404);
      // The session is untouched by those attempts and still serves its owner.
      const own = await client.callTool({ name: 'tools__echo', arguments: { text: 'still mine' } });
      expect(own.content).toEqual([{ type: 'text', text: 'still mine' }]);
    } finally {
      await client.close();
    }
  });
});

describe('audit completeness', () => {
  it('writes exactly one record per call under concurrency, denied calls included, with no raw values', async () => {
    const secret = (i: number) => `planted-value-${i}-7c1e9a`;
    const N = 120;
    const calls = Array.from({ length: N }, (_, i) => {
      const id = `audit-burst-${i}`;
      const kind = i % 4;
      const who = kind === 1 ? 'dave' : kind === 2 ? 'bob' : 'alice';
      const name = kind === 1 ? 'tools__echo' : kind === 3 ? 'tools__nope' : 'tools__echo';
      return rawCall(
        url,
        'tools/call',
        { name, arguments: { text: secret(i), nested: { list: [secret(i)] } } },
        { ...as(who), 'x-request-id': id },
        i,
      ).then((reply) => ({ id, kind, reply }));
    });
    const replies = await Promise.all(calls);
    for (const { kind, reply } of replies) {
      if (kind === 1) expect(reply.json?.error?.data?.code).toBe('ACL_DENIED');
      else if (kind === 3) expect(reply.json?.error?.data?.code).toBe('UNKNOWN_TOOL');
      else expect(reply.json?.result).toBeDefined();
    }
    const records = await eventually(() => {
      const burst = readAudit(auditPath).filter((l) => String(l.request_id).startsWith('audit-burst-'));
      if (burst.length < N) throw new Error(`${burst.length} of ${N} records`);
      return burst;
    });
    await new Promise((r) => setTimeout(r, 100));
    const final = readAudit(auditPath).filter((l) => String(l.request_id).startsWith('audit-burst-'));
    expect(final).toHaveLength(N);
    expect(new Set(final.map((r) => r.request_id)).size).toBe(N);
    const raw = JSON.stringify(records);
    for (let i = 0; i < N; i++) expect(raw).not.toContain(secret(i));
    const byId = new Map(final.map((r) => [r.request_id, r] as [unknown, AuditLine]));
    for (const { id, kind } of replies) {
      const r = byId.get(id)!;
      expect(Object.keys(r).sort()).toEqual(AUDIT_FIELDS);
      expect(r.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(r.pre_transform_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(r.trace_id).toBeNull();
      expect(r.hops).toBe(1);
      const expected = [
        { policy_decision: 'allow', result_status: 'ok', upstream_status: 200, caller_identity: 'alice' },
        {
          policy_decision: 'deny_acl',
          result_status: 'error',
          upstream_status: null,
          caller_identity: 'dave',
        },
        { policy_decision: 'allow', result_status: 'ok', upstream_status: 200, caller_identity: 'bob' },
        { policy_decision: 'unknown_tool', result_status: 'error', upstream_status: null, upstream: null },
      ][kind];
      expect(r).toMatchObject(expected!);
      if (r.upstream_status === null) expect(r.upstream_latency_ms).toBe(0);
      else expect(r.upstream_latency_ms as number).toBeGreaterThan(0);
      expect(r.latency_ms as number).toBeGreaterThanOrEqual(r.added_latency_ms as number);
    }
  });

  it('hashes the arguments as received and carries the trace id of the traceparent', async () => {
    const { createHmac } = await import('node:crypto');
    const args = { text: 'hash me', n: [1, 2, { x: null }] };
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    await rawCall(
      url,
      'tools/call',
      { name: 'tools__echo', arguments: args },
      {
        ...as('alice'),
        'x-request-id': 'audit-hash-1',
        traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
      },
    );
    const record = await eventually(() => {
      const r = readAudit(auditPath).find((l) => l.request_id === 'audit-hash-1');
      if (!r) throw new Error('no record yet');
      return r;
    });
    // HMAC-SHA256 under secrets.auditKey: an auditor with the key can check it; nobody can guess it back.
    expect(record.pre_transform_hash).toBe(
      createHmac('sha256', AUDIT_KEY).update(JSON.stringify(args)).digest('hex'),
    );
    expect(record.trace_id).toBe(traceId);
  });

  it('names a templated resource by its template, never by the URI with its values', async () => {
    // notes/zeta is no listed resource: it only matches the template (and the upstream has no such note).
    await rawCall(
      url,
      'resources/read',
      { uri: 'content://notes/zeta-4471' },
      {
        ...as('bob'),
        'x-request-id': 'audit-template-1',
      },
    );
    await rawCall(
      url,
      'resources/read',
      { uri: 'content://readme' },
      { ...as('bob'), 'x-request-id': 'audit-static-1' },
    );
    const [templated, listed] = await eventually(() => {
      const lines = readAudit(auditPath);
      const a = lines.find((l) => l.request_id === 'audit-template-1');
      const b = lines.find((l) => l.request_id === 'audit-static-1');
      if (!a || !b) throw new Error('no records yet');
      return [a, b];
    });
    expect(templated).toMatchObject({
      tool_name: 'content://notes/{id}',
      upstream_tool: 'content://notes/{id}',
    });
    expect(JSON.stringify(templated)).not.toContain('zeta-4471');
    expect(listed).toMatchObject({
      tool_name: 'content://readme',
      upstream_tool: 'content://readme',
      result_status: 'ok',
    });
  });
});
