import type { IncomingMessage } from 'node:http';
import { jwtVerify, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  ASSERTION_TTL_SECONDS,
  assertionKey,
  CALLER_HEADER,
  CALLER_META_KEY,
  CallerAssertions,
} from '../../src/chain/caller-assertion.ts';
import { OutboundAssertions } from '../../src/chain/outbound-assertions.ts';
import { formatProblems } from '../../src/config/check.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { CallContext } from '../../src/hooks/pipeline.ts';
import { AssertedCallers } from '../../src/inbound/auth/asserted-caller.ts';
import { InboundAuth } from '../../src/inbound/auth/index.ts';
import { upstreamParams } from '../../src/router/meta.ts';
import { correlationHeaderValues } from '../../src/upstream/correlation.ts';

const SECRET = 'fleet-assertion-key-0123456789';
const alice = { id: 'alice', groups: ['finance'] };
const NOW = Date.UTC(2026, 10, 25, 20, 0, 0);

describe('CallerAssertions', () => {
  const a = new CallerAssertions(SECRET);

  it('round-trips the caller, bound to the request id', () => {
    const token = a.sign(alice, 'req-1', NOW);
    expect(token.split('.')).toHaveLength(3);
    expect(a.verify(token, 'req-1', NOW + 1000)).toEqual({ ok: true, caller: alice });
    expect(a.verify(a.sign({ id: 'bob', groups: [] }, 'r', NOW), 'r', NOW)).toEqual({
      ok: true,
      caller: { id: 'bob', groups: [] },
    });
  });

  it('is a plain HS256 JWT: jose verifies it with the derived key, and it verifies jose’s', async () => {
    const token = a.sign(alice, 'req-1');
    const { payload, protectedHeader } = await jwtVerify(token, assertionKey(SECRET));
    expect(protectedHeader.alg).toBe('HS256');
    expect(payload).toMatchObject({ sub: 'alice', grp: ['finance'], rid: 'req-1' });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(ASSERTION_TTL_SECONDS);
    const fromJose = await new SignJWT({ grp: ['ops'], rid: 'req-2' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject('carol')
      .setIssuedAt()
      .setExpirationTime('30s')
      .sign(assertionKey(SECRET));
    expect(a.verify(fromJose, 'req-2')).toEqual({ ok: true, caller: { id: 'carol', groups: ['ops'] } });
  });

  it('rejects another key, a tampered payload, and alg "none"', () => {
    const token = a.sign(alice, 'req-1', NOW);
    const other = new CallerAssertions('another-fleet-key-0123456789');
    expect(other.verify(token, 'req-1', NOW)).toMatchObject({ ok: false, description: /signature/ });
    const [h, , s] = token.split('.');
    const forged = Buffer.from(
      JSON.stringify({ sub: 'root', rid: 'req-1', iat: NOW / 1000, exp: NOW / 1000 + 60 }),
    ).toString('base64url');
    expect(a.verify(`${h}.${forged}.${s}`, 'req-1', NOW)).toMatchObject({ ok: false });
    const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    expect(a.verify(`${none}.${forged}.`, 'req-1', NOW)).toMatchObject({ ok: false, description: /not an/ });
    expect(a.verify('garbage', 'req-1', NOW).ok).toBe(false);
    expect(a.verify(`${h}.x.y.z`, 'req-1', NOW).ok).toBe(false);
  });

  it('rejects an expired assertion, one from the future, and one for another request', () => {
    const token = a.sign(alice, 'req-1', NOW);
    expect(a.verify(token, 'req-1', NOW + (ASSERTION_TTL_SECONDS + 6) * 1000)).toMatchObject({
      ok: false,
      description: /expired/,
    });
    expect(a.verify(token, 'req-1', NOW - 60_000)).toMatchObject({ ok: false, description: /future/ });
    expect(a.verify(token, 'req-2', NOW)).toMatchObject({ ok: false, description: /another request/ });
    expect(a.verify(token, undefined, NOW).ok).toBe(false);
  });

  it('rejects a validly signed assertion that lives longer than a minute', async () => {
    const long = await new SignJWT({ rid: 'r' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject('alice')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(assertionKey(SECRET));
    expect(a.verify(long, 'r')).toMatchObject({ ok: false, description: /lifetime/ });
  });

  it('never echoes the token in a failure', () => {
    const token = a.sign(alice, 'req-1', NOW);
    const out = a.verify(token, 'req-2', NOW);
    expect(JSON.stringify(out)).not.toContain(token.split('.')[2]);
  });
});

describe('AssertedCallers (the receiving proxy)', () => {
  const a = new CallerAssertions(SECRET);
  const gate = AssertedCallers.create(['edge', 'group:proxies'], SECRET);
  const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
  const edge = { ok: true as const, caller: { id: 'edge', groups: [] } };

  it('serves a trusted proxy’s request as the asserted caller', () => {
    const r = req({ [CALLER_HEADER]: a.sign(alice, 'r1'), 'x-request-id': 'r1' });
    expect(AssertedCallers.present(r)).toBe(true);
    expect(gate.apply(r, edge)).toEqual({ ok: true, caller: { ...alice, kind: 'asserted' } });
    const viaGroup = { ok: true as const, caller: { id: 'edge-2', groups: ['proxies'] } };
    expect(gate.apply(r, viaGroup)).toEqual({ ok: true, caller: { ...alice, kind: 'asserted' } });
  });

  it('forbids an assertion from an untrusted caller, even a valid one', () => {
    const r = req({ [CALLER_HEADER]: a.sign(alice, 'r1'), 'x-request-id': 'r1' });
    const mallory = { ok: true as const, caller: { id: 'mallory', groups: [] } };
    expect(gate.apply(r, mallory)).toMatchObject({ ok: false, reason: 'forbidden', description: /mallory/ });
  });

  it('forbids a bad assertion from a trusted proxy, and keeps an auth failure as it was', () => {
    const r = req({ [CALLER_HEADER]: a.sign(alice, 'r1'), 'x-request-id': 'other' });
    expect(gate.apply(r, edge)).toMatchObject({ ok: false, reason: 'forbidden' });
    const missing = { ok: false as const, reason: 'missing' as const, description: 'x' };
    expect(gate.apply(r, missing)).toBe(missing);
  });

  it('without trusted proxies (or a key) trusts nobody', () => {
    const r = req({ [CALLER_HEADER]: a.sign(alice, 'r1'), 'x-request-id': 'r1' });
    expect(AssertedCallers.create([], SECRET).apply(r, edge)).toMatchObject({ ok: false });
    expect(AssertedCallers.create(['edge']).apply(r, edge)).toMatchObject({ ok: false });
  });
});

describe('InboundAuth with trusted proxies', () => {
  it('applies the assertion after an asynchronous authentication (jwt) too', async () => {
    const auth = new InboundAuth(
      {
        kind: 'jwt',
        issuer: 'https://issuer.example',
        audience: 'https://proxy.example/mcp',
        jwksUri: 'https://issuer.example/jwks',
        groupsClaim: 'groups',
        trustedProxies: ['edge-client'],
      },
      '/mcp',
      SECRET,
    );
    Object.assign(auth, {
      authenticator: {
        kind: 'jwt',
        authenticate: async () => ({ ok: true, caller: { id: 'edge-client', groups: [] } }),
      },
    });
    const token = new CallerAssertions(SECRET).sign(alice, 'r1');
    const req = { headers: { [CALLER_HEADER]: token, 'x-request-id': 'r1' } } as unknown as IncomingMessage;
    expect(await auth.authenticate(req)).toEqual({ ok: true, caller: { ...alice, kind: 'asserted' } });
    const plain = { headers: {} } as unknown as IncomingMessage;
    expect(await auth.authenticate(plain)).toEqual({ ok: true, caller: { id: 'edge-client', groups: [] } });
  });

  it('with inbound auth none an assertion changes nothing', () => {
    const auth = new InboundAuth({ kind: 'none' }, '/mcp', SECRET);
    const token = new CallerAssertions(SECRET).sign(alice, 'r1');
    const req = { headers: { [CALLER_HEADER]: token, 'x-request-id': 'r1' } } as unknown as IncomingMessage;
    expect(auth.authenticate(req)).toMatchObject({ ok: true, caller: { id: 'anonymous' } });
  });
});

describe('the sending proxy', () => {
  const ctx = (): CallContext => ({
    requestId: 'req-9',
    caller: alice,
    era: 'modern',
    hops: 1,
    decision: 'allow',
    tokenIds: [],
    hookMs: 0,
  });

  it('stamps calls to the named upstreams only, in the header and in _meta', () => {
    const out = OutboundAssertions.create({ maxHops: 8, assertCaller: ['core'] }, SECRET)!;
    const c = ctx();
    out.stamp(c, 'tools');
    expect(c.callerAssertion).toBeUndefined();
    out.stamp(c, 'core');
    expect(new CallerAssertions(SECRET).verify(c.callerAssertion!, 'req-9')).toEqual({
      ok: true,
      caller: alice,
    });
    const headers: Record<string, string> = {};
    correlationHeaderValues(c, headers);
    expect(headers[CALLER_HEADER]).toBe(c.callerAssertion);
    const params = upstreamParams({ name: 'x', _meta: { [CALLER_META_KEY]: 'from-downstream' } }, c);
    expect((params._meta as Record<string, unknown>)[CALLER_META_KEY]).toBe(c.callerAssertion);
  });

  it('drops an assertion that came from downstream when it has none of its own', () => {
    const params = upstreamParams(
      { name: 'x', _meta: { [CALLER_META_KEY]: 'from-downstream', v: 1 } },
      ctx(),
    );
    expect(params._meta).not.toHaveProperty(CALLER_META_KEY);
    expect(params._meta).toHaveProperty('v', 1);
    expect(OutboundAssertions.create({ maxHops: 8, assertCaller: false }, SECRET)).toBeUndefined();
  });
});

describe('config', () => {
  const problemsOf = (raw: Record<string, unknown>) => {
    const r = parseConfig(raw, {});
    return r.ok ? '' : formatProblems(r.problems);
  };
  const keys = [
    { key: 'edge-key-0123456789', caller: 'edge' },
    { key: 'alice-key-0123456789', caller: 'alice', groups: ['proxies'] },
  ];

  it('needs secrets.assertionKey to send or accept assertions', () => {
    expect(problemsOf({ chain: { assertCaller: true } })).toContain(
      'secrets.assertionKey: required when chain.assertCaller is on',
    );
    expect(problemsOf({ inbound: { auth: { kind: 'apiKeys', keys, trustedProxies: ['edge'] } } })).toContain(
      'secrets.assertionKey: required when inbound.auth.trustedProxies is set',
    );
    expect(
      problemsOf({
        chain: { assertCaller: true },
        inbound: { auth: { kind: 'apiKeys', keys, trustedProxies: ['edge', 'group:proxies'] } },
        secrets: { assertionKey: SECRET },
      }),
    ).toBe('');
  });

  it('names trusted proxies and assertCaller upstreams that do not exist', () => {
    const text = problemsOf({
      chain: { assertCaller: ['core', 'nope'] },
      upstreams: [{ name: 'core', url: 'http://127.0.0.1:1/mcp' }],
      inbound: { auth: { kind: 'apiKeys', keys, trustedProxies: ['egde', 'group:nobody'] } },
      secrets: { assertionKey: SECRET },
    });
    expect(text).toContain('chain.assertCaller[1]: no upstream "nope"');
    expect(text).toContain('inbound.auth.trustedProxies[0]: no API key has caller "egde"');
    expect(text).toContain('inbound.auth.trustedProxies[1]: no API key has group:nobody');
  });

  it('masks the key in problems', () => {
    const r = parseConfig({ secrets: { assertionKey: 'short' }, chain: { assertCaller: 'maybe' } }, {});
    expect(r.ok).toBe(false);
    if (!r.ok) expect(JSON.stringify(r.problems)).not.toContain('short"');
  });
});
