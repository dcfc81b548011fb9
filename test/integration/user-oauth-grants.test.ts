import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app.ts';
import { silentLogger } from '../../src/log.ts';
import { startVerifyingUpstream, type VerifyingUpstream } from '../fixtures/verifying-upstream.ts';
import { startAuthorizationServer, type TestAuthorizationServer } from '../helpers/authorization-server.ts';
import { consentAs, freePort, perUserAuth } from '../helpers/consent.ts';
import { testConfig } from '../helpers/federation.ts';
import { rawCall } from '../helpers/governance.ts';
import { privateRedis, type TestRedis } from '../helpers/redis.ts';

const PROXY_AUDIENCE = 'http://127.0.0.1/mcp';
const ADMIN_KEY = 'admin-key-0123456789abcdef';

/** Two replicas on one Redis: grants, consent states and refresh locks are shared. */
describe('userOAuth grants across replicas: refresh, revocation, reload', () => {
  let as: TestAuthorizationServer;
  let code: VerifyingUpstream;
  let code2: VerifyingUpstream;
  let wiki: VerifyingUpstream;
  let redis: TestRedis;
  let a: App;
  let b: App;
  const urls: Record<'a' | 'b', string> = { a: '', b: '' };
  let redirectUrl = '';
  const tokens: Record<string, string> = {};
  const bearer = (user: string) => ({ authorization: `Bearer ${tokens[user]}` });

  const perUser = (resource: string, scope: string) => perUserAuth(as, resource, scope, redirectUrl);
  const config = (codeUrl: string) =>
    testConfig({
      inbound: { auth: { kind: 'jwt', issuer: as.issuer, audience: PROXY_AUDIENCE, jwksUri: as.jwksUri } },
      store: { kind: 'redis', url: redis.url, keyPrefix: `uo-${process.pid}:` },
      secrets: { vaultKey: 'grants-vault-key-0123456789', requestStateKey: 'grants-state-key-0123456789' },
      admin: { enabled: true, auth: { kind: 'apiKeys', keys: [{ key: ADMIN_KEY, caller: 'ops' }] } },
      upstreams: [
        { name: 'code', url: codeUrl, ...perUser(codeUrl, 'repo') },
        { name: 'wiki', url: wiki.url, ...perUser(wiki.url, 'wiki') },
      ],
    });

  beforeAll(async () => {
    const port = await freePort();
    redirectUrl = `http://127.0.0.1:${port}/oauth/callback`;
    // Rotating refresh tokens: a refresh token spent twice revokes the whole grant at the server.
    as = await startAuthorizationServer({ proxyAudience: PROXY_AUDIENCE, refreshTokenRotation: true });
    as.addRedirectUri(redirectUrl);
    code = await startVerifyingUpstream({ issuer: as.issuer, jwksUri: as.jwksUri, mode: 'modern' });
    code2 = await startVerifyingUpstream({ issuer: as.issuer, jwksUri: as.jwksUri, mode: 'modern' });
    wiki = await startVerifyingUpstream({ issuer: as.issuer, jwksUri: as.jwksUri, mode: 'legacy-stateful' });
    as.addResource(code.url, { scope: 'repo' });
    as.addResource(code2.url, { scope: 'repo' });
    // Tokens that live 4 s are always inside the refresh-ahead window: every use refreshes first.
    as.addResource(wiki.url, { scope: 'wiki', accessTokenTTL: 4 });
    for (const user of ['alice', 'bob', 'carol']) tokens[user] = await as.userToken(user);
    redis = await privateRedis();
    a = await createApp(config(code.url), { log: silentLogger, upstreamWaitMs: 10_000 });
    urls.a = await a.listen(port, '127.0.0.1');
    b = await createApp(config(code.url), { log: silentLogger, upstreamWaitMs: 10_000 });
    urls.b = await b.listen(0, '127.0.0.1');
  });
  afterAll(async () => {
    await Promise.allSettled([a?.close(), b?.close()]);
    await Promise.allSettled([code?.close(), code2?.close(), wiki?.close(), as?.close()]);
    await redis?.stop();
  });

  const call = (on: 'a' | 'b', user: string, tool = 'code__whoami') =>
    rawCall(urls[on], 'tools/call', { name: tool, arguments: {} }, bearer(user));
  const subOf = (reply: Awaited<ReturnType<typeof call>>) => {
    const content = (reply.json?.result?.content ?? []) as { text: string }[];
    return (JSON.parse(content[0]?.text ?? '{}') as { sub?: string }).sub;
  };
  const consent = async (on: 'a' | 'b', user: string, tool = 'code__whoami') => {
    const asked = await call(on, user, tool);
    expect(asked.json?.error?.data?.code).toBe('UPSTREAM_CONSENT_REQUIRED');
    const link = String(asked.json?.error?.data?.authorizationUrl);
    expect((await consentAs(as, link, user)).status).toBe(200);
  };

  it('a grant given through one replica serves the user on the other', async () => {
    // Asked on b; b's link names the public callback (a, behind the same load balancer in production).
    await consent('b', 'alice');
    expect(subOf(await call('b', 'alice'))).toBe('alice');
    expect(subOf(await call('a', 'alice'))).toBe('alice');
  });

  it('refreshes a token near expiry under the store lock: two replicas never spend one refresh token twice', async () => {
    await consent('a', 'bob', 'wiki__whoami');
    const before = { ...as.counts };
    const failedBefore = as.failures.refreshToken;
    const replies = await Promise.all(
      Array.from({ length: 12 }, (_, i) => call(i % 2 === 0 ? 'a' : 'b', 'bob', 'wiki__whoami')),
    );
    for (const r of replies) expect(subOf(r)).toBe('bob');
    expect(as.counts.refreshToken).toBeGreaterThan(before.refreshToken);
    // No refresh was refused: with rotation, a reused refresh token would have been.
    expect(as.failures.refreshToken).toBe(failedBefore);
    expect(subOf(await call('b', 'bob', 'wiki__whoami'))).toBe('bob');
  });

  it('a 401 from the upstream refreshes the grant once and the call goes through', async () => {
    const last = [...code.seen].reverse().find((s) => s.sub === 'alice' && s.rpcMethod === 'tools/call');
    code.rejectTokens.add(String(last?.token));
    const before = as.counts.refreshToken;
    expect(subOf(await call('a', 'alice'))).toBe('alice');
    expect(as.counts.refreshToken).toBe(before + 1);
  });

  it('an authorization server that is down fails the callers who need it, nobody else, and not the upstream', async () => {
    await consent('a', 'carol');
    await as.stop();
    try {
      const bob = await call('a', 'bob', 'wiki__whoami'); // must refresh: fails
      expect(bob.json?.error?.data).toMatchObject({ code: 'UPSTREAM_AUTH_FAILED', upstream: 'wiki' });
      expect(bob.json?.error?.data?.oauthError).toBeUndefined();
      expect(subOf(await call('b', 'carol'))).toBe('carol'); // a valid token: no server needed
      for (const app of [a, b]) expect(app.federation.upstreams.every((u) => u.state === 'ready')).toBe(true);
    } finally {
      await as.start();
    }
    expect(subOf(await call('a', 'bob', 'wiki__whoami'))).toBe('bob');
  });

  it('two users of one upstream, interleaved on two replicas, each reach it only as themselves', async () => {
    const replies = await Promise.all(
      Array.from({ length: 16 }, (_, i) => {
        const user = i % 2 === 0 ? 'alice' : 'carol';
        return call(i % 4 < 2 ? 'a' : 'b', user).then((r) => [user, subOf(r)]);
      }),
    );
    for (const [user, sub] of replies) expect(sub).toBe(user);
  });

  it('a grant the server revoked is dropped and the user is asked again', async () => {
    await as.revokeUser('alice');
    const last = [...code.seen].reverse().find((s) => s.sub === 'alice' && s.rpcMethod === 'tools/call');
    code.rejectTokens.add(String(last?.token));
    expect((await call('b', 'alice')).json?.error?.data?.code).toBe('UPSTREAM_CONSENT_REQUIRED');
    expect((await call('a', 'alice')).json?.error?.data?.code).toBe('UPSTREAM_CONSENT_REQUIRED');
  });

  it('/admin counts grants per upstream and shows no token', async () => {
    const res = await fetch(new URL('/admin/api/status', urls.a), { headers: { 'x-api-key': ADMIN_KEY } });
    const text = await res.text();
    const status = JSON.parse(text) as {
      upstreams: { name: string; identity: string; grants: number | null }[];
    };
    const byName = Object.fromEntries(status.upstreams.map((u) => [u.name, u]));
    expect(byName.code).toMatchObject({ identity: 'caller', grants: 1 }); // carol (alice's was revoked)
    expect(byName.wiki).toMatchObject({ identity: 'caller', grants: 1 }); // bob
    for (const s of [...code.seen, ...wiki.seen]) if (s.token) expect(text).not.toContain(s.token);
  });

  it('a reload that points the upstream at another server never reuses a grant', async () => {
    expect(subOf(await call('a', 'carol'))).toBe('carol');
    const reloaded = await a.reload(config(code2.url));
    expect(reloaded.ok).toBe(true);
    const asked = await call('a', 'carol');
    expect(asked.json?.error?.data?.code).toBe('UPSTREAM_CONSENT_REQUIRED');
    expect(code2.seen.some((s) => s.sub === 'carol')).toBe(false);
    // b still points at the old server, where carol's grant is still good.
    expect(subOf(await call('b', 'carol'))).toBe('carol');
  });
});
