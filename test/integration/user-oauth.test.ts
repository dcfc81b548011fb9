import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app.ts';
import { startVerifyingUpstream, type VerifyingUpstream } from '../fixtures/verifying-upstream.ts';
import { startAuthorizationServer, type TestAuthorizationServer } from '../helpers/authorization-server.ts';
import { callBack, consentAs, freePort, openConsentLink, perUserAuth } from '../helpers/consent.ts';
import { eventually, testConfig } from '../helpers/federation.ts';
import { rawCall, readAudit } from '../helpers/governance.ts';

const PROXY_AUDIENCE = 'http://127.0.0.1/mcp';

describe('userOAuth: per-user OAuth with consent', () => {
  let as: TestAuthorizationServer;
  let code: VerifyingUpstream;
  let wiki: VerifyingUpstream;
  let app: App;
  let url: string;
  let base: string;
  const logs: string[] = [];
  const auditPath = join(mkdtempSync(join(tmpdir(), 'mcp-fed-uo-')), 'audit.jsonl');
  const tokens: Record<string, string> = {};
  const bearer = (user: string) => ({ authorization: `Bearer ${tokens[user]}` });

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const redirectUrl = `${base}/oauth/callback`;
    as = await startAuthorizationServer({ proxyAudience: PROXY_AUDIENCE });
    as.addRedirectUri(redirectUrl);
    code = await startVerifyingUpstream({ issuer: as.issuer, jwksUri: as.jwksUri, mode: 'modern' });
    wiki = await startVerifyingUpstream({ issuer: as.issuer, jwksUri: as.jwksUri, mode: 'legacy-stateful' });
    as.addResource(code.url, { scope: 'repo' });
    as.addResource(wiki.url, { scope: 'wiki' });
    for (const user of ['alice', 'bob', 'carol', 'dave', 'mallory', 'erin'])
      tokens[user] = await as.userToken(user);
    const perUser = (resource: string, scope: string) => perUserAuth(as, resource, scope, redirectUrl);
    const log = pino(
      { level: 'trace' },
      new Writable({
        write(chunk, _enc, done) {
          logs.push(String(chunk));
          done();
        },
      }),
    );
    app = await createApp(
      testConfig({
        inbound: { auth: { kind: 'jwt', issuer: as.issuer, audience: PROXY_AUDIENCE, jwksUri: as.jwksUri } },
        audit: { sink: 'file', path: auditPath },
        upstreams: [
          { name: 'code', url: code.url, ...perUser(code.url, 'repo') },
          { name: 'wiki', url: wiki.url, ...perUser(wiki.url, 'wiki') },
        ],
      }),
      { log, upstreamWaitMs: 10_000 },
    );
    url = await app.listen(port, '127.0.0.1');
  });
  afterAll(async () => {
    await app?.close();
    await Promise.allSettled([code?.close(), wiki?.close(), as?.close()]);
  });

  const whoamiAs = async (user: string, tool = 'code__whoami', extraMeta: Record<string, unknown> = {}) =>
    rawCall(url, 'tools/call', { name: tool, arguments: {}, _meta: extraMeta }, bearer(user));
  const subOf = (reply: Awaited<ReturnType<typeof whoamiAs>>) => {
    const content = (reply.json?.result?.content ?? []) as { text: string }[];
    return (JSON.parse(content[0]?.text ?? '{}') as { sub?: string }).sub;
  };
  const linkFor = async (user: string, tool = 'code__whoami') => {
    const reply = await whoamiAs(user, tool);
    expect(reply.json?.error?.data?.code).toBe('UPSTREAM_CONSENT_REQUIRED');
    return String(reply.json?.error?.data?.authorizationUrl);
  };

  it("a caller without a grant is sent to the proxy's own consent link", async () => {
    const reply = await whoamiAs('alice');
    expect(reply.json?.error).toMatchObject({
      code: -32054,
      data: { code: 'UPSTREAM_CONSENT_REQUIRED', upstream: 'code' },
    });
    const link = String(reply.json?.error?.data?.authorizationUrl);
    expect(link.startsWith(`${base}/oauth/start/`)).toBe(true);
    expect(reply.json?.error?.data?.elicitationId).toBe(link.slice(`${base}/oauth/start/`.length));
    // The catalog was still listed, as the proxy itself.
    expect(code.seen.some((s) => s.rpcMethod === 'tools/list' && s.sub === 'mcp-fed')).toBe(true);
    expect(code.seen.some((s) => s.sub === 'alice')).toBe(false);
  });

  it('after consent (PKCE S256, openid, state, iss), the retried call reaches the upstream as that user', async () => {
    const link = await linkFor('alice');
    const done = await consentAs(as, link, 'alice');
    const request = new URL(done.started.location);
    expect(request.origin).toBe(new URL(as.issuer).origin);
    expect(request.searchParams.get('code_challenge_method')).toBe('S256');
    expect(request.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(request.searchParams.get('scope')?.split(' ')).toEqual(expect.arrayContaining(['openid', 'repo']));
    expect(done.started.cookie).toMatch(/^__Host-mcp-fed-oauth-[0-9a-f]{16}=/);
    expect(new URL(done.callbackUrl).searchParams.get('iss')).toBe(as.issuer);
    expect(done.status).toBe(200);
    const reply = await whoamiAs('alice');
    expect(subOf(reply)).toBe('alice');
    const seen = code.seen.filter((s) => s.rpcMethod === 'tools/call' && s.sub === 'alice');
    expect(seen.length).toBe(1);
    expect(seen[0]?.token).not.toBe(tokens.alice);
    // Still no grant for the other upstream: each upstream asks for itself.
    expect((await whoamiAs('alice', 'wiki__whoami')).json?.error?.data?.code).toBe(
      'UPSTREAM_CONSENT_REQUIRED',
    );
  });

  it('a 2025-11-25 client that declared URL elicitation gets URLElicitationRequiredError (-32042)', async () => {
    const client = new V1Client(
      { name: 'legacy-url', version: '1' },
      { capabilities: { elicitation: { url: {} } } as Record<string, unknown> },
    );
    await client.connect(new V1Transport(new URL(url), { requestInit: { headers: bearer('bob') } }));
    try {
      const failure = await client.callTool({ name: 'wiki__whoami', arguments: {} }).catch((e: unknown) => e);
      const err = failure as { code?: number; data?: { elicitations?: Record<string, unknown>[] } };
      expect(err.code).toBe(-32042);
      const [elicitation] = err.data?.elicitations ?? [];
      expect(elicitation).toMatchObject({ mode: 'url', elicitationId: expect.any(String) });
      expect(String(elicitation?.url).startsWith(`${base}/oauth/start/`)).toBe(true);
      expect(String(elicitation?.message)).toContain('wiki');
      expect((await consentAs(as, String(elicitation?.url), 'bob')).status).toBe(200);
      const ok = await client.callTool({ name: 'wiki__whoami', arguments: {} });
      expect(JSON.parse((ok.content as { text: string }[])[0]!.text)).toMatchObject({
        sub: 'bob',
        aud: wiki.url,
      });
    } finally {
      await client.close();
    }
  });

  it('a 2026-07-28 client that declared URL elicitation gets input_required; its retry waits for the grant', async () => {
    const capabilities = { 'io.modelcontextprotocol/clientCapabilities': { elicitation: { url: {} } } };
    const first = await whoamiAs('carol', 'code__whoami', capabilities);
    const result = first.json?.result as {
      resultType?: string;
      inputRequests?: Record<string, { method: string; params: Record<string, string> }>;
      requestState?: string;
    };
    expect(result?.resultType).toBe('input_required');
    const ask = result.inputRequests?.['mcp-fed/consent'];
    expect(ask).toMatchObject({ method: 'elicitation/create', params: { mode: 'url' } });
    const retry = (action: string, state = result.requestState, user = 'carol') =>
      rawCall(
        url,
        'tools/call',
        {
          name: 'code__whoami',
          arguments: {},
          inputResponses: { 'mcp-fed/consent': { action } },
          requestState: state,
          _meta: capabilities,
        },
        bearer(user),
      );
    // Another caller cannot use carol's state, and an altered one is not accepted.
    expect((await retry('accept', result.requestState, 'dave')).json?.error?.data?.code).toBe(
      'INVALID_REQUEST',
    );
    expect((await retry('accept', `${result.requestState}x`)).json?.error?.data?.code).toBe(
      'INVALID_REQUEST',
    );
    expect((await retry('decline')).json?.error?.data?.code).toBe('UPSTREAM_CONSENT_REQUIRED');
    // The client answers "accept" at once; the user finishes signing in a moment later.
    const waiting = retry('accept');
    await new Promise((r) => setTimeout(r, 300));
    expect((await consentAs(as, String(ask?.params.url), 'carol')).status).toBe(200);
    expect(subOf(await waiting)).toBe('carol');
  });

  it('a consent link forwarded to another user grants nothing to anyone', async () => {
    const link = await linkFor('mallory');
    // erin follows mallory's link and signs in as herself.
    const done = await consentAs(as, link, 'erin');
    expect(done.status).toBe(403);
    expect(done.text).toContain('different user');
    expect((await whoamiAs('mallory')).json?.error?.data?.code).toBe('UPSTREAM_CONSENT_REQUIRED');
    expect((await whoamiAs('erin')).json?.error?.data?.code).toBe('UPSTREAM_CONSENT_REQUIRED');
  });

  it("refuses a callback without the start page's cookie, a replayed, foreign or forged state, and a wrong iss", async () => {
    // No cookie: refused, and the state is spent (the right cookie afterwards is too late).
    let started = await openConsentLink(await linkFor('dave'));
    let callbackUrl = await as.loginAndConsent(started.location, 'dave');
    expect((await callBack(callbackUrl)).status).toBe(400);
    expect((await callBack(callbackUrl, started.cookie)).status).toBe(400);
    // Another flow's cookie does not do either.
    const other = await openConsentLink(await linkFor('dave'));
    started = await openConsentLink(await linkFor('dave'));
    callbackUrl = await as.loginAndConsent(started.location, 'dave');
    const otherName = other.cookie.split('=')[0];
    const ownValue = started.cookie.split('=')[1];
    expect(
      (await callBack(callbackUrl, `${otherName}=${ownValue}; ${other.cookie.replace(/=.*/, '=x')}`)).status,
    ).toBe(400);
    // A state nobody started.
    const forged = new URL(callbackUrl);
    forged.searchParams.set('state', 'made-up-state-value');
    expect((await callBack(forged.href, started.cookie)).status).toBe(400);
    // A wrong issuer (RFC 9207 mix-up) on a fresh flow: refused, nothing granted.
    started = await openConsentLink(await linkFor('dave'));
    callbackUrl = await as.loginAndConsent(started.location, 'dave');
    const mixedUp = new URL(callbackUrl);
    mixedUp.searchParams.set('iss', 'http://127.0.0.1:1/evil');
    expect((await callBack(mixedUp.href, started.cookie)).status).toBe(400);
    expect((await whoamiAs('dave')).json?.error?.data?.code).toBe('UPSTREAM_CONSENT_REQUIRED');
    // A good flow works once, and its replay is refused.
    started = await openConsentLink(await linkFor('dave'));
    callbackUrl = await as.loginAndConsent(started.location, 'dave');
    expect((await callBack(callbackUrl, started.cookie)).status).toBe(200);
    expect((await callBack(callbackUrl, started.cookie)).status).toBe(400);
    expect(subOf(await whoamiAs('dave'))).toBe('dave');
  });

  it('a user withdraws consent with DELETE /oauth/grants/{upstream}, with their own credentials', async () => {
    expect(subOf(await whoamiAs('alice'))).toBe('alice');
    expect((await fetch(`${base}/oauth/grants/code`, { method: 'DELETE' })).status).toBe(401);
    expect(
      (await fetch(`${base}/oauth/grants/nope`, { method: 'DELETE', headers: bearer('alice') })).status,
    ).toBe(404);
    const res = await fetch(`${base}/oauth/grants/code`, { method: 'DELETE', headers: bearer('alice') });
    expect(await res.json()).toEqual({ upstream: 'code', revoked: true });
    expect((await whoamiAs('alice')).json?.error?.data?.code).toBe('UPSTREAM_CONSENT_REQUIRED');
    // bob's grant at wiki is untouched.
    expect(subOf(await whoamiAs('bob', 'wiki__whoami'))).toBe('bob');
  });

  it('audits consent_required and caller identity; no token reaches the audit log, logs, metrics or errors', async () => {
    const lines = await eventually(() => {
      const all = readAudit(auditPath).filter((l) => typeof l.tool_name === 'string');
      const decisions = new Set(all.map((l) => l.policy_decision));
      if (!decisions.has('allow') || !decisions.has('consent_required')) throw new Error('not yet');
      return all;
    });
    expect(lines.some((l) => l.policy_decision === 'consent_required')).toBe(true);
    expect(new Set(lines.map((l) => l.upstream_identity))).toEqual(new Set(['caller']));
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const everything = [JSON.stringify(lines), logs.join('\n'), metrics].join('\n');
    const secrets = [
      ...Object.values(tokens),
      ...code.seen.map((s) => s.token),
      ...wiki.seen.map((s) => s.token),
      'proxy-secret',
    ].filter((t) => t !== '');
    // The search covers what the proxy logged in this run: both upstreams' start and the audit batches. (It
    // counted lines, > 10, before: the number of audit batches follows timing, so that failed now and then.)
    const logged = logs.map((l) => JSON.parse(l) as { msg?: string; upstream?: string });
    expect(
      logged
        .filter((l) => l.msg === 'upstream ready')
        .map((l) => l.upstream)
        .sort(),
    ).toEqual(['code', 'wiki']);
    expect(logged.some((l) => l.msg === 'audit flushed')).toBe(true);
    for (const secret of secrets) expect(everything).not.toContain(secret);
  });
});
