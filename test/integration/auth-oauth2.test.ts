/**
 * OAuth2 client-credentials upstreams through the real proxy: a real authorization server
 * (oauth2-mock-server, with client authentication, in this process) issues RS256 JWTs, and the
 * upstream (upstreams/protected-server.ts --auth oauth) verifies each one with `jose` against the
 * server's JWKS: issuer, expiry, audience and scope.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCheck } from '../../src/config/check.ts';
import { parseConfig } from '../../src/config/load.ts';
import { createUpstreamAuth, type OutgoingRequest } from '../../src/upstream/auth/index.ts';
import { OAuth2Auth } from '../../src/upstream/auth/oauth2.ts';
import { createTransport } from '../../src/upstream/transport-factory.ts';
import { AuthServer } from '../../upstreams/lib/auth-server.ts';
import {
  callTool,
  control,
  envRef,
  type ProtectedStats,
  readiness,
  startLoggedProxy,
  textOf,
} from '../helpers/auth.ts';
import { eventually, modernRequest, rawPost, SAMPLES } from '../helpers/federation.ts';
import { type StartedServer, startServer } from '../helpers/spawn-server.ts';

const CLIENT_ID = 'mcp-fed-proxy';
const CLIENT_SECRET = 'oauth-client-secret-7f3a9c1e5b2d4a6f';
const AUDIENCE = 'https://tools.example.test/mcp';
const SCOPE = 'mcp:tools';

let auth: AuthServer;
let upstream: StartedServer;
let plain: StartedServer;
const cleanups: (() => Promise<unknown> | unknown)[] = [];

const stats = () => control<ProtectedStats>(upstream.url, 'stats');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function oauthUpstream(auth2: Record<string, unknown> = {}) {
  return {
    name: 'secure',
    url: upstream.url,
    catalogRefreshSeconds: 0,
    auth: {
      kind: 'oauth2',
      tokenUrl: auth.tokenUrl,
      clientId: CLIENT_ID,
      clientSecret: envRef('MCP_FED_TEST_OAUTH_SECRET'),
      scope: SCOPE,
      resource: AUDIENCE,
      ...auth2,
    },
  };
}

async function proxy(upstreams: Record<string, unknown>[], waitMs = 10_000) {
  const started = await startLoggedProxy({ upstreams, audit: { sink: 'off' } }, waitMs);
  cleanups.push(() => started.app.close());
  return started;
}

const echo = async (url: string, text: string, id = 1) => {
  const { result, error } = await callTool(url, 'secure__echo', { text }, id);
  if (error) throw new Error(`${error.data?.code}: ${error.message}`);
  return textOf(result);
};

function expectNoSecret(...texts: string[]) {
  for (const text of texts) expect(text).not.toContain(CLIENT_SECRET);
}

beforeAll(async () => {
  process.env.MCP_FED_TEST_OAUTH_SECRET = CLIENT_SECRET;
  auth = await AuthServer.start({ clients: { [CLIENT_ID]: CLIENT_SECRET } });
  [upstream, plain] = await Promise.all([
    startServer('upstreams/protected-server.ts', [
      ...['--auth', 'oauth', '--port', '0', '--control'],
      ...['--issuer', auth.issuer, '--audience', AUDIENCE, '--scope', SCOPE],
    ]),
    startServer(SAMPLES.tools, ['--port', '0']),
  ]);
}, 60_000);

beforeEach(async () => {
  await auth.restart();
  auth.tokenTtlSeconds = 3600;
});

afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

afterAll(async () => {
  await Promise.all([upstream?.stop(), plain?.stop(), auth?.stop()]);
  delete process.env.MCP_FED_TEST_OAUTH_SECRET;
});

describe('OAuth2 client credentials upstreams', () => {
  it('one token request serves listing and 100 calls (client_secret_basic, tokenUrl, scope, resource)', async () => {
    const before = auth.tokenRequests;
    const rejectedBefore = (await stats()).rejected;
    const { url, logs } = await proxy([oauthUpstream()]);
    for (let i = 0; i < 100; i++) expect(await echo(url, `call ${i}`, i + 1)).toBe(`call ${i}`);
    expect(auth.tokenRequests - before).toBe(1);
    expect(auth.requests.at(-1)).toEqual({
      clientId: CLIENT_ID,
      authMethod: 'client_secret_basic',
      scope: SCOPE,
      audience: undefined,
      resource: AUDIENCE,
    });
    expect((await stats()).rejected).toBe(rejectedBefore);
    expectNoSecret(logs.join('\n'), JSON.stringify(await readiness(url)));
  });

  it('discovers the token endpoint from the issuer and can use client_secret_post and audience', async () => {
    const before = auth.tokenRequests;
    const { url } = await proxy([
      oauthUpstream({
        tokenUrl: undefined,
        issuer: auth.issuer,
        authMethod: 'client_secret_post',
        resource: undefined,
        audience: AUDIENCE,
      }),
    ]);
    expect(await echo(url, 'discovered')).toBe('discovered');
    expect(auth.tokenRequests - before).toBe(1);
    expect(auth.requests.at(-1)).toMatchObject({ authMethod: 'client_secret_post', audience: AUDIENCE });
  });

  it('refreshes ahead of expiry in the background, and waits for a new token once one has expired', async () => {
    auth.tokenTtlSeconds = 3;
    const rejectedBefore = (await stats()).rejected;
    const before = auth.tokenRequests;
    const { url } = await proxy([oauthUpstream()]);
    const issued = Date.now();
    expect(await echo(url, 'fresh')).toBe('fresh');
    expect(auth.tokenRequests - before).toBe(1);
    // Inside the last 10% of the lifetime: this call still goes out with the current token while
    // one refresh runs beside it.
    await sleep(Math.max(0, issued + 2_800 - Date.now()));
    expect(await echo(url, 'refresh ahead', 2)).toBe('refresh ahead');
    await eventually(() => expect(auth.tokenRequests - before).toBe(2));
    // Let that token expire with no traffic: the next call fetches a new one first.
    await sleep(3_100);
    expect(await echo(url, 'after expiry', 3)).toBe('after expiry');
    expect(auth.tokenRequests - before).toBe(3);
    // No expired token ever reached the upstream.
    expect((await stats()).rejected).toBe(rejectedBefore);
  }, 20_000);

  it('50 parallel calls without a valid token share one token request', async () => {
    auth.tokenTtlSeconds = 2;
    const { url } = await proxy([oauthUpstream()]);
    expect(await echo(url, 'warm')).toBe('warm');
    await sleep(2_100);
    const before = auth.tokenRequests;
    const texts = await Promise.all(Array.from({ length: 50 }, (_, i) => echo(url, `p${i}`, i + 10)));
    expect(texts).toEqual(Array.from({ length: 50 }, (_, i) => `p${i}`));
    expect(auth.tokenRequests - before).toBe(1);

    // The adapter on its own, before any token exists: 50 first calls, one token request.
    const parsed = parseConfig({ upstreams: [oauthUpstream()] });
    if (!parsed.ok) throw new Error('config');
    const cfg = parsed.config.upstreams[0]!;
    if (cfg.auth.kind !== 'oauth2') throw new Error('kind');
    const adapter = new OAuth2Auth(cfg.name, cfg.auth);
    const first = auth.tokenRequests;
    const reqs: OutgoingRequest[] = Array.from({ length: 50 }, () => ({
      method: 'POST',
      url: new URL(upstream.url),
      headers: {},
      body: '{}',
    }));
    await Promise.all(reqs.map((r) => adapter.sign(r)));
    expect(auth.tokenRequests - first).toBe(1);
    expect(new Set(reqs.map((r) => r.headers.authorization)).size).toBe(1);
  }, 20_000);

  it('a revoked token gets a 401, one new token, and the call succeeds (forwarder and SDK transport)', async () => {
    const { url } = await proxy([oauthUpstream()]);
    expect(await echo(url, 'before')).toBe('before');
    const before = auth.tokenRequests;
    const rejectedBefore = (await stats()).rejected;
    expect((await control<{ revoked: number }>(upstream.url, 'revoke', {})).revoked).toBeGreaterThan(0);
    expect(await echo(url, 'after revocation', 2)).toBe('after revocation');
    expect(auth.tokenRequests - before).toBe(1);
    expect((await stats()).rejected - rejectedBefore).toBe(1);
    expect(await echo(url, 'and then', 3)).toBe('and then');
    expect(auth.tokenRequests - before).toBe(1);

    // The same through the SDK transport's fetch middleware (listing, discovery, streams).
    const parsed = parseConfig({ upstreams: [oauthUpstream()] });
    if (!parsed.ok) throw new Error('config');
    const cfg = parsed.config.upstreams[0]!;
    const client = new Client({ name: 'sdk-path', version: '1' });
    await client.connect(createTransport(cfg, undefined, createUpstreamAuth(cfg)));
    cleanups.push(() => client.close());
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
    const sdkBefore = auth.tokenRequests;
    const sdkRejected = (await stats()).rejected;
    await control(upstream.url, 'revoke', {});
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
    expect(auth.tokenRequests - sdkBefore).toBe(1);
    expect((await stats()).rejected - sdkRejected).toBe(1);
  });

  it('an authorization server that is down fails that upstream clearly; the others keep working', async () => {
    auth.tokenTtlSeconds = 2;
    const { url, logs } = await proxy([oauthUpstream(), { name: 'plain', url: plain.url }]);
    expect(await echo(url, 'up')).toBe('up');
    await auth.stop();
    await sleep(2_100);
    const { error } = await callTool(url, 'secure__echo', { text: 'down' }, 2);
    expect(error?.data?.code).toBe('UPSTREAM_AUTH_FAILED');
    expect(error?.data?.upstream).toBe('secure');
    expect(error?.message).toBe(
      'upstream "secure": no access token from the authorization server: the server is not reachable (ECONNREFUSED)',
    );
    expect((await callTool(url, 'plain__echo', { text: 'unaffected' }, 3)).result?.content).toEqual([
      { type: 'text', text: 'unaffected' },
    ]);
    // The upstream itself is fine, so it stays in the catalog, and it recovers with the server.
    expect((await readiness(url)).upstreams.find((u) => u.name === 'secure')?.state).toBe('ready');
    // Right after a failed token request the adapter fails fast for a second instead of queueing calls
    // behind a dead server; once the server is back, the next attempt gets a token.
    await auth.restart();
    await eventually(async () => expect(await echo(url, 'back', 4)).toBe('back'), 5_000, 100);
    expectNoSecret(logs.join('\n'), JSON.stringify(error));
  }, 20_000);

  it('starting while the authorization server is down: the upstream says why, and comes up with it', async () => {
    await auth.stop();
    const { url, logs } = await proxy([oauthUpstream(), { name: 'plain', url: plain.url }], 2_000);
    const secure = (await readiness(url)).upstreams.find((u) => u.name === 'secure');
    expect(secure?.state).toBe('down');
    expect(secure?.error).toContain('no access token from the authorization server');
    expect((await callTool(url, 'plain__echo', { text: 'fine' })).result).toBeDefined();
    await auth.restart();
    await eventually(async () => expect(await echo(url, 'late start', 2)).toBe('late start'), 15_000, 200);
    expectNoSecret(logs.join('\n'));
  }, 30_000);

  it('a wrong client secret is refused without the secret showing anywhere', async () => {
    process.env.MCP_FED_TEST_WRONG_SECRET = 'wrong-secret-value-1234567890';
    try {
      const { url, logs } = await proxy(
        [
          oauthUpstream({ clientSecret: envRef('MCP_FED_TEST_WRONG_SECRET') }),
          { name: 'plain', url: plain.url },
        ],
        2_000,
      );
      const secure = (await readiness(url)).upstreams.find((u) => u.name === 'secure');
      expect(secure?.state).toBe('down');
      expect(secure?.error).toBe(
        'upstream "secure": no access token from the authorization server: invalid_client (HTTP 401)',
      );
      for (const text of [logs.join('\n'), JSON.stringify(secure)])
        expect(text).not.toContain('wrong-secret-value');
    } finally {
      delete process.env.MCP_FED_TEST_WRONG_SECRET;
    }
  });

  it("never forwards the caller's own credentials upstream", async () => {
    const { url } = await proxy([oauthUpstream()]);
    const rejectedBefore = (await stats()).rejected;
    const { headers, body } = modernRequest(
      'tools/call',
      { name: 'secure__whoami', arguments: {} },
      1,
      'secure__whoami',
    );
    const reply = await rawPost(url, body, {
      ...headers,
      authorization: 'Bearer caller-own-token',
      'x-api-key': 'caller-own-key',
    });
    const seen = JSON.parse(textOf(reply.json?.result)) as {
      headers: Record<string, string>;
    };
    expect(seen.headers['x-api-key']).toBeUndefined();
    expect(JSON.stringify(seen)).not.toContain('caller-own');
    // The upstream accepted the call, so it saw the proxy's token, not the caller's.
    expect((await stats()).rejected).toBe(rejectedBefore);
  });

  it('`mcp-fed check` prints no client secret, valid config or not', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcp-fed-auth-'));
    const literal = 'literal-client-secret-in-file-123';
    const upstreams = [
      'upstreams:',
      '  - name: a',
      '    url: https://a.example.test/mcp',
      `    auth: { kind: oauth2, tokenUrl: "${auth.tokenUrl}", clientId: x, clientSecret: "\${MCP_FED_TEST_OAUTH_SECRET}" }`,
      '  - name: b',
      '    url: https://b.example.test/mcp',
      `    auth: { kind: oauth2, issuer: "${auth.issuer}", clientId: y, clientSecret: "${literal}" }`,
    ];
    const broken = [
      '  - name: c',
      '    url: https://c.example.test/mcp',
      `    auth: { kind: oauth2, clientId: "${literal}", clientSecret: "\${MCP_FED_TEST_OAUTH_SECRET}", scope: [1] }`,
    ];
    for (const [lines, expected] of [
      [upstreams, 0],
      [[...upstreams, ...broken], 1],
    ] as const) {
      const file = join(dir, `config-${expected}.yaml`);
      await writeFile(file, lines.join('\n'));
      const out: string[] = [];
      const code = await runCheck(file, { out: (l) => out.push(l), err: (l) => out.push(l) });
      expect(code).toBe(expected);
      const text = out.join('\n');
      expect(text).toContain(
        expected === 0 ? 'ok: 2 upstreams (a, b)' : 'upstreams[2].auth: tokenUrl or issuer required',
      );
      for (const secret of [CLIENT_SECRET, literal]) expect(text).not.toContain(secret);
    }
  });
});
