/**
 * Inbound auth through the real proxy. JWT against a real local issuer (oauth2-mock-server: RS256,
 * JWKS over HTTP): good token, wrong audience or issuer, expired, not yet valid, foreign signature,
 * missing → 401 with the RFC 9728 challenge, and the protected resource metadata document. API keys
 * as bearer or x-api-key. No credential ever reaches the logs.
 */
import type { Client } from '@modelcontextprotocol/client';
import { OAuth2Server } from 'oauth2-mock-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLoggedProxy } from '../helpers/auth.ts';
import { rawPost, SAMPLES } from '../helpers/federation.ts';
import { modernClientWith, pluck, rawCall } from '../helpers/governance.ts';
import { type StartedServer, startServer } from '../helpers/spawn-server.ts';

const AUDIENCE = 'https://mcp-fed.test/mcp';
const METADATA_URL = 'https://mcp-fed.test/.well-known/oauth-protected-resource';

let issuer: OAuth2Server;
let stranger: OAuth2Server;
let tools: StartedServer;
let jwtProxy: Awaited<ReturnType<typeof startLoggedProxy>>;
const cleanups: (() => Promise<unknown>)[] = [];
const tokens: string[] = [];

type Claims = Record<string, unknown>;
async function token(claims: Claims = {}, from: OAuth2Server = issuer): Promise<string> {
  const t = await from.issuer.buildToken({
    scopesOrTransform: (_header, payload) => {
      Object.assign(payload, { sub: 'user-1', aud: AUDIENCE, roles: ['admins'] }, claims);
      for (const [k, v] of Object.entries(claims)) if (v === undefined) delete payload[k];
    },
  });
  tokens.push(t);
  return t;
}
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const now = () => Math.floor(Date.now() / 1000);

async function startIssuer(): Promise<OAuth2Server> {
  const server = new OAuth2Server();
  await server.issuer.keys.generate('RS256');
  await server.start(0, '127.0.0.1');
  return server;
}

beforeAll(async () => {
  [issuer, stranger, tools] = await Promise.all([
    startIssuer(),
    startIssuer(),
    startServer(SAMPLES.tools, ['--port', '0']),
  ]);
  jwtProxy = await startLoggedProxy({
    upstreams: [{ name: 'tools', url: tools.url, catalogRefreshSeconds: 0 }],
    inbound: {
      auth: {
        kind: 'jwt',
        issuer: issuer.issuer.url,
        audience: AUDIENCE,
        jwksUri: `${issuer.issuer.url}/jwks`,
        groupsClaim: 'roles',
      },
    },
    policies: {
      acl: [
        { callers: ['group:admins'], allow: ['tools__*'] },
        { callers: ['svc-client'], allow: ['tools__echo'] },
      ],
    },
    audit: { sink: 'off' },
  });
  cleanups.push(() => jwtProxy.app.close());
}, 60_000);

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await Promise.all([issuer?.stop(), stranger?.stop(), tools?.stop()]);
});

const echo = (url: string, headers: Record<string, string>) =>
  rawCall(url, 'tools/call', { name: 'tools__echo', arguments: { text: 'hello' } }, headers);

function expectChallenge(reply: { status: number; headers: Headers }, error?: string) {
  expect(reply.status).toBe(401);
  const challenge = reply.headers.get('www-authenticate') ?? '';
  expect(challenge).toMatch(/^Bearer /);
  expect(challenge).toContain(`resource_metadata="${METADATA_URL}"`);
  if (error) expect(challenge).toContain(`error="${error}"`);
  else expect(challenge).not.toContain('error=');
}

describe('jwt', () => {
  it('accepts a good token: caller from sub, groups from the configured claim', async () => {
    const client: Client = await modernClientWith(jwtProxy.url, bearer(await token()));
    try {
      expect(pluck((await client.listTools()).tools, 'name')).toContain('tools__add');
      const result = await client.callTool({ name: 'tools__add', arguments: { a: 2, b: 3 } });
      expect(JSON.stringify(result.content)).toContain('5');
    } finally {
      await client.close();
    }
  });

  it('takes client_id when there is no sub (a machine client)', async () => {
    const t = await token({ sub: undefined, client_id: 'svc-client', roles: undefined });
    const client = await modernClientWith(jwtProxy.url, bearer(t));
    try {
      expect(pluck((await client.listTools()).tools, 'name')).toEqual(['tools__echo']);
    } finally {
      await client.close();
    }
    expect((await echo(jwtProxy.url, bearer(t))).json?.result).toBeDefined();
  });

  it('answers 401 with the RFC 9728 challenge when the token is missing', async () => {
    const reply = await echo(jwtProxy.url, {});
    expectChallenge(reply);
    expect(reply.json?.error?.message).toMatch(/Unauthorized/);
    const other = await echo(jwtProxy.url, { authorization: 'Basic dXNlcjpwYXNz' });
    expectChallenge(other);
  });

  it('rejects a wrong audience, a wrong issuer, an expired or not yet valid token, and a foreign signature', async () => {
    const cases: [string, string][] = [
      ['audience', await token({ aud: 'https://someone-else.test/mcp' })],
      ['issuer', await token({ iss: 'https://evil.test' })],
      ['expired', await token({ exp: now() - 120 })],
      ['not yet valid', await token({ nbf: now() + 600 })],
      ['no exp', await token({ exp: undefined })],
      ['foreign key', await token({}, stranger)],
      ['garbage', 'not-a-jwt'],
    ];
    for (const [why, t] of cases) {
      const reply = await echo(jwtProxy.url, bearer(t));
      expectChallenge(reply, 'invalid_token');
      expect(reply.text, why).not.toContain(t);
    }
  });

  it('tolerates a small clock skew', async () => {
    const reply = await echo(jwtProxy.url, bearer(await token({ exp: now() - 5, nbf: now() + 5 })));
    expect(reply.json?.result).toBeDefined();
  });

  it('serves the protected resource metadata (RFC 9728)', async () => {
    for (const path of [
      '/.well-known/oauth-protected-resource',
      '/.well-known/oauth-protected-resource/mcp',
    ]) {
      const res = await fetch(new URL(path, jwtProxy.url));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/application\/json/);
      expect(await res.json()).toMatchObject({
        resource: AUDIENCE,
        authorization_servers: [issuer.issuer.url],
        bearer_methods_supported: ['header'],
      });
    }
  });

  it('answers 503 with Retry-After when the JWKS cannot be fetched', async () => {
    const dead = await startLoggedProxy({
      upstreams: [{ name: 'tools', url: tools.url, catalogRefreshSeconds: 0 }],
      inbound: {
        auth: {
          kind: 'jwt',
          issuer: issuer.issuer.url,
          audience: AUDIENCE,
          jwksUri: 'http://127.0.0.1:9/jwks',
        },
      },
      audit: { sink: 'off' },
    });
    cleanups.push(() => dead.app.close());
    const reply = await echo(dead.url, bearer(await token()));
    expect(reply.status).toBe(503);
    expect(reply.headers.get('retry-after')).toBeTruthy();
  });

  it('never writes a token to its logs', () => {
    const logs = jwtProxy.logs.join('');
    for (const t of tokens) expect(logs).not.toContain(t);
  });
});

describe('api keys', () => {
  const KEY = 'api-key-0123456789abcdef-team-a';
  let proxy: Awaited<ReturnType<typeof startLoggedProxy>>;

  beforeAll(async () => {
    proxy = await startLoggedProxy({
      upstreams: [{ name: 'tools', url: tools.url, catalogRefreshSeconds: 0 }],
      inbound: { auth: { kind: 'apiKeys', keys: [{ key: KEY, caller: 'team-a', groups: ['finance'] }] } },
      policies: { acl: [{ callers: ['group:finance'], allow: ['tools__echo'] }] },
      audit: { sink: 'off' },
    });
    cleanups.push(() => proxy.app.close());
  });

  it('accepts the key as a bearer token or in x-api-key', async () => {
    expect((await echo(proxy.url, bearer(KEY))).json?.result).toBeDefined();
    expect((await echo(proxy.url, { 'x-api-key': KEY })).json?.result).toBeDefined();
    const client = await modernClientWith(proxy.url, { 'x-api-key': KEY });
    try {
      expect(pluck((await client.listTools()).tools, 'name')).toEqual(['tools__echo']);
    } finally {
      await client.close();
    }
  });

  it('answers 401 for a missing or wrong key, without echoing it or offering OAuth metadata', async () => {
    const missing = await echo(proxy.url, {});
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="mcp-fed"');
    const wrong = await echo(proxy.url, { 'x-api-key': `${KEY}x` });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect(wrong.text).not.toContain(KEY);
    expect((await fetch(new URL('/.well-known/oauth-protected-resource', proxy.url))).status).toBe(404);
    // Admin routes stay open (probes and scrapers carry no MCP credentials).
    expect((await fetch(new URL('/healthz', proxy.url))).status).toBe(200);
    expect(proxy.logs.join('')).not.toContain(KEY);
  });

  it('authenticates every request of a 2025-era session, GET stream and DELETE included', async () => {
    const init = await rawPost(
      proxy.url,
      {
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-11-25',
          capabilities: {},
          clientInfo: { name: 'raw', version: '1' },
        },
      },
      { 'x-api-key': KEY },
    );
    const session = init.headers.get('mcp-session-id');
    expect(session).toBeTruthy();
    const headers = { 'mcp-session-id': session!, 'mcp-protocol-version': '2025-11-25' };
    expect((await fetch(proxy.url, { method: 'DELETE', headers })).status).toBe(401);
    expect(
      (await fetch(proxy.url, { method: 'DELETE', headers: { ...headers, 'x-api-key': KEY } })).status,
    ).toBe(200);
  });
});
