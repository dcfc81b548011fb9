import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVerifyingUpstream, type VerifyingUpstream } from '../fixtures/verifying-upstream.ts';
import { startAuthorizationServer, type TestAuthorizationServer } from '../helpers/authorization-server.ts';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
const REDIRECT_URI = 'http://127.0.0.1/callback';
const MODERN = '2026-07-28';

let as: TestAuthorizationServer;
let upstream: VerifyingUpstream;
let config: oidc.Configuration;

beforeAll(async () => {
  as = await startAuthorizationServer();
  upstream = await startVerifyingUpstream({ issuer: as.issuer, jwksUri: as.jwksUri, mode: 'modern' });
  as.addResource(upstream.url, { scope: 'tools:call' });
  config = await oidc.discovery(
    new URL(as.issuer),
    'mcp-fed',
    undefined,
    oidc.ClientSecretBasic('proxy-secret'),
    {
      execute: [oidc.allowInsecureRequests],
    },
  );
});

afterAll(async () => {
  await upstream?.close();
  await as?.close();
});

const exchange = (subjectToken: string, resource = upstream.url) =>
  oidc.genericGrantRequest(config, TOKEN_EXCHANGE, {
    subject_token: subjectToken,
    subject_token_type: ACCESS_TOKEN,
    resource,
  });

/** The OAuth error a rejected openid-client grant carries. */
async function oauthError(
  promise: Promise<unknown>,
): Promise<{ error?: string; error_description?: string }> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(oidc.ResponseBodyError);
  return (err as oidc.ResponseBodyError).cause as { error?: string; error_description?: string };
}

async function modernClient(token: string): Promise<Client> {
  const client = new Client(
    { name: 'as-test', version: '1.0.0' },
    { versionNegotiation: { mode: { pin: MODERN } } },
  );
  await client.connect(
    new StreamableHTTPClientTransport(new URL(upstream.url), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

const textOf = (result: unknown) => (result as { content: Array<{ text: string }> }).content[0]?.text ?? '';

describe('test authorization server', () => {
  it('mints user tokens that verify against its JWKS', async () => {
    const token = await as.userToken('alice', { claims: { email: 'alice@example.org' } });
    const { payload, protectedHeader } = await jwtVerify(token, createRemoteJWKSet(new URL(as.jwksUri)), {
      issuer: as.issuer,
      audience: 'http://127.0.0.1/mcp',
    });
    expect(payload).toMatchObject({ sub: 'alice', email: 'alice@example.org' });
    expect(payload.exp! - payload.iat!).toBe(600);
    const jwks = (await (await fetch(as.jwksUri)).json()) as { keys: Array<{ kid: string }> };
    expect(jwks.keys.map((k) => k.kid)).toContain(protectedHeader.kid);
  });

  it('exchanges a user token for a JWT of the same user for the resource (RFC 8693)', async () => {
    const before = as.counts.tokenExchange;
    const answer = await exchange(await as.userToken('alice'));
    expect(answer).toMatchObject({
      issued_token_type: ACCESS_TOKEN,
      token_type: 'bearer',
      scope: 'tools:call',
    });
    expect(answer.expires_in).toBe(300);
    expect(decodeProtectedHeader(answer.access_token).typ).toBe('at+jwt');
    const { payload } = await jwtVerify(answer.access_token, createRemoteJWKSet(new URL(as.jwksUri)), {
      issuer: as.issuer,
      audience: upstream.url,
    });
    expect(payload).toMatchObject({
      sub: 'alice',
      client_id: 'mcp-fed',
      scope: 'tools:call',
      act: { sub: 'mcp-fed' },
    });
    expect(as.counts.tokenExchange).toBe(before + 1);
  });

  it('refuses listed subjects, expired or foreign subject tokens and unknown resources', async () => {
    as.refuseExchangeFor.add('mallory');
    expect(await oauthError(exchange(await as.userToken('mallory')))).toEqual({
      error: 'invalid_grant',
      error_description: 'subject not allowed',
    });
    const expired = await as.userToken('alice', { expiresInSeconds: -60 });
    expect((await oauthError(exchange(expired))).error).toBe('invalid_grant');
    const forged = `${(await as.userToken('alice')).slice(0, -4)}AAAA`;
    expect((await oauthError(exchange(forged))).error).toBe('invalid_grant');
    const unknown = await oauthError(exchange(await as.userToken('alice'), 'http://127.0.0.1:1/nowhere'));
    expect(unknown.error).toBe('invalid_target');
    expect(as.failures.tokenExchange).toBeGreaterThanOrEqual(4);
  });

  it('issues client credentials tokens for a resource, as the client itself', async () => {
    const answer = await oidc.clientCredentialsGrant(config, { resource: upstream.url, scope: 'tools:call' });
    expect(decodeJwt(answer.access_token)).toMatchObject({
      sub: 'mcp-fed',
      aud: upstream.url,
      client_id: 'mcp-fed',
    });
    expect(as.counts.clientCredentials).toBe(1);
  });

  it('runs the authorization code flow with PKCE and consent; refresh works until the user is revoked', async () => {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const request = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid offline_access tools:call',
      resource: upstream.url,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    const callback = new URL(await as.loginAndConsent(request.href, 'bob'));
    expect(`${callback.origin}${callback.pathname}`).toBe(REDIRECT_URI);
    expect(callback.searchParams.get('iss')).toBe(as.issuer);
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
      idTokenExpected: true,
    });
    expect(tokens.claims()?.sub).toBe('bob');
    expect(decodeJwt(tokens.access_token)).toMatchObject({
      sub: 'bob',
      aud: upstream.url,
      scope: 'tools:call',
    });
    expect(tokens.refresh_token).toBeTruthy();

    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!, { resource: upstream.url });
    expect(decodeJwt(refreshed.access_token)).toMatchObject({ sub: 'bob', aud: upstream.url });
    expect(as.counts).toMatchObject({ authorizationCode: 1, refreshToken: 1 });

    await as.revokeUser('bob');
    expect(await oauthError(oidc.refreshTokenGrant(config, tokens.refresh_token!))).toMatchObject({
      error: 'invalid_grant',
    });
  });

  it('requires PKCE', async () => {
    const request = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT_URI, scope: 'openid' });
    const callback = new URL(await as.loginAndConsent(request.href, 'bob'));
    expect(callback.searchParams.get('error')).toBe('invalid_request');
  });

  it('the verifying upstream accepts an exchanged token and rejects the user token (wrong audience)', async () => {
    const userToken = await as.userToken('carol');
    const exchanged = (await exchange(userToken)).access_token;
    const client = await modernClient(exchanged);
    try {
      const me = JSON.parse(textOf(await client.callTool({ name: 'whoami', arguments: {} })));
      expect(me).toEqual({ sub: 'carol', aud: upstream.url, client_id: 'mcp-fed', scope: 'tools:call' });
      expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'hi' } }))).toBe('hi');
    } finally {
      await client.close();
    }
    expect(
      upstream.seen.filter((s) => s.token === exchanged).every((s) => s.valid && s.sub === 'carol'),
    ).toBe(true);

    const res = await fetch(upstream.url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${userToken}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    expect(await res.text()).not.toContain(userToken);
    expect(upstream.seen.at(-1)).toMatchObject({ rpcMethod: 'tools/list', sub: 'carol', valid: false });
    await expect(modernClient(userToken)).rejects.toThrow();
  });

  it('a legacy stateful upstream checks every request of a session, and honours rejectTokens', async () => {
    const legacy = await startVerifyingUpstream({
      issuer: as.issuer,
      jwksUri: as.jwksUri,
      mode: 'legacy-stateful',
    });
    as.addResource(legacy.url, { scope: 'tools:call' });
    try {
      const token = (await exchange(await as.userToken('dave'), legacy.url)).access_token;
      const client = new V1Client({ name: 'as-test', version: '1.0.0' }, { capabilities: {} });
      const transport = new V1Transport(new URL(legacy.url), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      });
      await client.connect(transport);
      expect(transport.sessionId).toBeTruthy();
      const me = JSON.parse(textOf(await client.callTool({ name: 'whoami', arguments: {} })));
      expect(me).toMatchObject({ sub: 'dave', aud: legacy.url });
      legacy.rejectTokens.add(token);
      await expect(client.callTool({ name: 'echo', arguments: { text: 'x' } })).rejects.toThrow();
      expect(legacy.seen.at(-1)).toMatchObject({ method: 'POST', rpcMethod: 'tools/call', valid: false });
      await client.close().catch(() => {});
    } finally {
      await legacy.close();
    }
  });

  it('stops and starts again on the same port, keeping its state', async () => {
    const before = await exchange(await as.userToken('erin'));
    await as.stop();
    await expect(fetch(`${as.issuer}/.well-known/openid-configuration`)).rejects.toThrow();
    await as.start();
    const after = await exchange(await as.userToken('erin'));
    expect(decodeJwt(after.access_token).sub).toBe('erin');
    expect(decodeProtectedHeader(after.access_token).kid).toBe(
      decodeProtectedHeader(before.access_token).kid,
    );
  });
});
