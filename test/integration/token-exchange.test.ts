import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { startVerifyingUpstream, type VerifyingUpstream } from '../fixtures/verifying-upstream.ts';
import { startAuthorizationServer, type TestAuthorizationServer } from '../helpers/authorization-server.ts';
import { serviceAuth } from '../helpers/consent.ts';
import { eventually, startProxy, testConfig } from '../helpers/federation.ts';
import { legacyClientWith, modernClientWith, rawCall, readAudit } from '../helpers/governance.ts';
import { privateRedis, type TestRedis } from '../helpers/redis.ts';

const PROXY_AUDIENCE = 'http://127.0.0.1/mcp';

/** The claims the upstream saw for one whoami call. */
async function whoami(
  client: Client,
  tool: string,
): Promise<{ sub: string; aud: string; client_id?: string }> {
  const result = await client.callTool({ name: tool, arguments: {} });
  const text = (result.content as { type: string; text: string }[])[0]?.text ?? '{}';
  return JSON.parse(text);
}

describe('tokenExchange: each call reaches the upstream as its caller (RFC 8693)', () => {
  let as: TestAuthorizationServer;
  let modern: VerifyingUpstream;
  let legacy: VerifyingUpstream;
  let app: App;
  let url: string;
  let redis: TestRedis;
  const auditPath = join(mkdtempSync(join(tmpdir(), 'mcp-fed-tx-')), 'audit.jsonl');
  const tokens: Record<string, string> = {};

  const upstreamAuth = (resource: string) => ({
    auth: {
      kind: 'tokenExchange',
      tokenUrl: as.tokenUrl,
      clientId: 'mcp-fed',
      clientSecret: 'proxy-secret',
      resource,
    },
    catalogAuth: serviceAuth(as, resource),
  });
  const config = () => ({
    inbound: { auth: { kind: 'jwt', issuer: as.issuer, audience: PROXY_AUDIENCE, jwksUri: as.jwksUri } },
    store: { kind: 'redis', url: redis.url, keyPrefix: `tx-${process.pid}:` },
    audit: { sink: 'file', path: auditPath },
    upstreams: [
      { name: 'tickets', url: modern.url, ...upstreamAuth(modern.url) },
      { name: 'crm', url: legacy.url, ...upstreamAuth(legacy.url) },
    ],
  });

  beforeAll(async () => {
    as = await startAuthorizationServer({ proxyAudience: PROXY_AUDIENCE });
    modern = await startVerifyingUpstream({ issuer: as.issuer, jwksUri: as.jwksUri, mode: 'modern' });
    legacy = await startVerifyingUpstream({
      issuer: as.issuer,
      jwksUri: as.jwksUri,
      mode: 'legacy-stateful',
    });
    as.addResource(modern.url, { scope: 'tickets' });
    as.addResource(legacy.url, { scope: 'crm' });
    redis = await privateRedis();
    for (const user of ['alice', 'bob', 'carol', 'mallory']) tokens[user] = await as.userToken(user);
    ({ app, url } = await startProxy(config()));
  });
  afterAll(async () => {
    await app?.close();
    await Promise.allSettled([modern?.close(), legacy?.close(), as?.close()]);
    await redis?.stop();
  });

  const bearer = (user: string) => ({ authorization: `Bearer ${tokens[user]}` });

  it('lists the catalog as the proxy, and calls as the caller in both eras, on both kinds of upstream', async () => {
    const listedBy = modern.seen.filter((s) => s.rpcMethod === 'tools/list').map((s) => s.sub);
    expect(listedBy.length).toBeGreaterThan(0);
    expect(new Set(listedBy)).toEqual(new Set(['mcp-fed']));

    const alice = await modernClientWith(url, bearer('alice'));
    const { client: bob } = await legacyClientWith(url, bearer('bob'));
    try {
      const tools = (await alice.listTools()).tools.map((t) => t.name).sort();
      expect(tools).toEqual(['crm__echo', 'crm__whoami', 'tickets__echo', 'tickets__whoami']);
      expect(await whoami(alice, 'tickets__whoami')).toMatchObject({ sub: 'alice', aud: modern.url });
      expect(await whoami(alice, 'crm__whoami')).toMatchObject({ sub: 'alice', aud: legacy.url });
      const bobTickets = await bob.callTool({ name: 'tickets__whoami', arguments: {} });
      expect(JSON.parse((bobTickets.content as { text: string }[])[0]!.text)).toMatchObject({ sub: 'bob' });
      const bobCrm = await bob.callTool({ name: 'crm__whoami', arguments: {} });
      expect(JSON.parse((bobCrm.content as { text: string }[])[0]!.text)).toMatchObject({
        sub: 'bob',
        aud: legacy.url,
      });
    } finally {
      await alice.close();
      await bob.close();
    }
  });

  it("never sends the caller's own token upstream: every request there carries a token issued for it", async () => {
    const inbound = new Set(Object.values(tokens));
    for (const seen of [...modern.seen, ...legacy.seen]) {
      expect(inbound.has(seen.token)).toBe(false);
      expect(seen.valid).toBe(true);
    }
    // The legacy upstream's per-caller session: initialize, calls and the GET stream all as that caller.
    const bobs = legacy.seen.filter((s) => s.sub === 'bob').map((s) => s.rpcMethod ?? s.method);
    expect(bobs).toEqual(expect.arrayContaining(['initialize', 'tools/call']));
  });

  it('exchanges once per caller and upstream, and keeps callers apart when their calls interleave', async () => {
    const before = as.counts.tokenExchange;
    const alice = await modernClientWith(url, bearer('alice'));
    const carol = await modernClientWith(url, bearer('carol'));
    try {
      const rounds = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          i % 2 === 0
            ? whoami(alice, i % 4 === 0 ? 'tickets__whoami' : 'crm__whoami').then((w) => ['alice', w.sub])
            : whoami(carol, i % 4 === 1 ? 'tickets__whoami' : 'crm__whoami').then((w) => ['carol', w.sub]),
        ),
      );
      for (const [who, sub] of rounds) expect(sub).toBe(who);
      // alice's two exchanges are cached from the first test; carol is new: one per upstream.
      expect(as.counts.tokenExchange - before).toBe(2);
    } finally {
      await alice.close();
      await carol.close();
    }
  });

  it('re-exchanges once when the upstream answers 401 to an exchanged token', async () => {
    const last = [...modern.seen].reverse().find((s) => s.sub === 'alice' && s.rpcMethod === 'tools/call');
    expect(last).toBeDefined();
    modern.rejectTokens.add(last!.token);
    const before = as.counts.tokenExchange;
    const alice = await modernClientWith(url, bearer('alice'));
    try {
      expect(await whoami(alice, 'tickets__whoami')).toMatchObject({ sub: 'alice' });
      expect(as.counts.tokenExchange - before).toBe(1);
    } finally {
      await alice.close();
    }
  });

  it("a refused exchange fails that caller's call with the server's error, and nobody else's", async () => {
    as.refuseExchangeFor.add('mallory');
    const reply = await rawCall(
      url,
      'tools/call',
      { name: 'tickets__whoami', arguments: {} },
      bearer('mallory'),
    );
    expect(reply.json?.error?.data).toMatchObject({
      code: 'UPSTREAM_AUTH_FAILED',
      upstream: 'tickets',
      oauthError: { error: 'invalid_grant', error_description: 'subject not allowed' },
    });
    expect(reply.text).not.toContain(tokens.mallory);
    const ok = await rawCall(url, 'tools/call', { name: 'tickets__whoami', arguments: {} }, bearer('alice'));
    expect(ok.json?.result?.isError).toBeFalsy();
    expect(app.federation.upstreams.find((u) => u.name === 'tickets')?.state).toBe('ready');
  });

  it('an authorization server that is down fails the callers it must exchange for, and only them', async () => {
    await as.stop();
    try {
      const fresh = await as.userToken('dave');
      const reply = await rawCall(
        url,
        'tools/call',
        { name: 'tickets__whoami', arguments: {} },
        {
          authorization: `Bearer ${fresh}`,
        },
      );
      // The proxy still knows the server's keys (cached JWKS), so dave is authenticated; his exchange fails.
      expect(reply.json?.error?.data).toMatchObject({ code: 'UPSTREAM_AUTH_FAILED', upstream: 'tickets' });
      expect(reply.json?.error?.message).toMatch(/could not exchange/);
      expect(reply.json?.error?.data?.oauthError).toBeUndefined();
      const cached = await rawCall(
        url,
        'tools/call',
        { name: 'tickets__whoami', arguments: {} },
        bearer('alice'),
      );
      const content = (cached.json?.result?.content ?? []) as { text: string }[];
      expect(JSON.parse(content[0]?.text ?? '{}')).toMatchObject({
        sub: 'alice',
      });
      expect(app.federation.upstreams.every((u) => u.state === 'ready')).toBe(true);
    } finally {
      await as.start();
    }
  });

  it('records upstream_identity "caller" in the audit log, and no token anywhere in it', async () => {
    const lines = await eventually(() => {
      const all = readAudit(auditPath).filter((l) => typeof l.tool_name === 'string');
      if (all.length < 10) throw new Error('not yet');
      return all;
    });
    expect(new Set(lines.map((l) => l.upstream_identity))).toEqual(new Set(['caller']));
    const text = JSON.stringify(lines);
    for (const t of Object.values(tokens)) expect(text).not.toContain(t);
    for (const s of modern.seen) expect(text).not.toContain(s.token);
  });

  it("closes a session's GET stream when the caller's token expires, and reopens it with the next one", async () => {
    const short = await as.userToken('gina', { expiresInSeconds: 3 });
    const call = (token: string) =>
      rawCall(
        url,
        'tools/call',
        { name: 'crm__whoami', arguments: {} },
        { authorization: `Bearer ${token}` },
      );
    const gets = () => legacy.seen.filter((s) => s.method === 'GET' && s.sub === 'gina').length;
    expect((await call(short)).json?.result).toBeDefined();
    await eventually(() => expect(gets()).toBe(1));
    await new Promise((r) => setTimeout(r, 3_500));
    const renewed = await as.userToken('gina');
    expect((await call(renewed)).json?.result).toBeDefined();
    // The same upstream session (one per caller), its stream opened again under the new token's exchange.
    await eventually(() => expect(gets()).toBe(2));
    expect(legacy.seen.filter((s) => s.rpcMethod === 'initialize' && s.sub === 'gina')).toHaveLength(1);
  });

  it('a reload that points the upstream at another server exchanges afresh for it', async () => {
    const other = await startVerifyingUpstream({ issuer: as.issuer, jwksUri: as.jwksUri, mode: 'modern' });
    as.addResource(other.url, { scope: 'tickets' });
    try {
      const before = as.counts.tokenExchange;
      const next = config();
      next.upstreams[0] = { name: 'tickets', url: other.url, ...upstreamAuth(other.url) };
      expect((await app.reload(testConfig(next))).ok).toBe(true);
      const alice = await modernClientWith(url, bearer('alice'));
      try {
        expect(await whoami(alice, 'tickets__whoami')).toMatchObject({ sub: 'alice', aud: other.url });
      } finally {
        await alice.close();
      }
      expect(as.counts.tokenExchange - before).toBe(1);
      // No token issued for the old server ever reached the new one.
      const oldTokens = new Set(modern.seen.map((s) => s.token));
      expect(other.seen.some((s) => oldTokens.has(s.token))).toBe(false);
    } finally {
      expect((await app.reload(testConfig(config()))).ok).toBe(true);
      await other.close();
    }
  });

  it('is refused by `mcp-fed stdio` (no caller token there), with the reason', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mcp-fed-tx-stdio-')), 'config.json');
    const { store: _store, audit: _audit, ...rest } = config();
    writeFileSync(file, JSON.stringify(rest));
    const run = spawnSync(process.execPath, ['bin/mcp-fed.js', 'stdio', '--config', file], {
      encoding: 'utf8',
      input: '',
      timeout: 20_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('upstreams[0].auth.kind: tokenExchange needs mcp-fed serve (not stdio)');
    expect(run.stderr).not.toContain('proxy-secret');
  });

  it('on a second replica, a caller still reaches the upstream as itself (sessions from the first)', async () => {
    const second = await startProxy(config());
    const { client: bob, transport } = await legacyClientWith(url, bearer('bob'));
    try {
      await bob.callTool({ name: 'crm__whoami', arguments: {} });
      // The same 2025-era session, continued on the other replica.
      const reply = await fetch(second.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-session-id': String(transport.sessionId),
          'mcp-protocol-version': '2025-11-25',
          ...bearer('bob'),
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 9,
          method: 'tools/call',
          params: { name: 'crm__whoami', arguments: {} },
        }),
      });
      const text = await reply.text();
      expect(text).toContain('\\"sub\\":\\"bob\\"');
      const alice = await modernClientWith(second.url, bearer('alice'));
      expect(await whoami(alice, 'crm__whoami')).toMatchObject({ sub: 'alice' });
      await alice.close();
    } finally {
      await bob.close();
      await second.app.close();
    }
  });
});
