/**
 * `chain.assertCaller` over real sockets: edge (API keys for alice and bob, assertCaller) → core (API key
 * for the edge, `trustedProxies: [edge]`, an ACL that lets alice but not bob call echo) → tools-server.
 * The core's ACL and audit see alice and bob, not "edge"; the upstream never sees a caller's key or the
 * assertion; assertions from untrusted callers, forged or expired ones are refused with 403; with
 * assertCaller off the core sees "edge"; a third proxy in the chain sees the caller the core re-asserts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { CALLER_HEADER, CALLER_META_KEY, CallerAssertions } from '../../src/chain/caller-assertion.ts';
import { eventually, modernRequest, rawPost, SAMPLES, startProxy } from '../helpers/federation.ts';
import { readAudit } from '../helpers/governance.ts';
import { type StartedServer, startServer } from '../helpers/spawn-server.ts';

const FLEET_KEY = 'fleet-assertion-key-for-tests-0001';
const KEYS = {
  alice: 'alice-key-0123456789abcdef',
  bob: 'bob-key-0123456789abcdef',
  edge: 'edge-key-0123456789abcdef',
  edgePlain: 'edge-plain-key-0123456789',
  mallory: 'mallory-key-0123456789abc',
};

let tools: StartedServer;
let dir: string;
const apps: App[] = [];
let coreUrl: string;
let edgeUrl: string;
let plainEdgeUrl: string;
const coreAudit = () => join(dir, 'core.jsonl');

async function proxy(raw: Record<string, unknown>): Promise<string> {
  const started = await startProxy(raw);
  apps.push(started.app);
  return started.url;
}

const upstream = (name: string, url: string, key: string) => ({
  name,
  url,
  catalogRefreshSeconds: 0,
  auth: { kind: 'headers', headers: { 'x-api-key': key } },
});

async function call(
  url: string,
  name: string,
  headers: Record<string, string>,
  args: Record<string, unknown> = {},
) {
  const req = modernRequest('tools/call', { name, arguments: args }, 1, name);
  return rawPost(url, req.body, { ...req.headers, ...headers });
}

const coreRecord = (requestId: string) =>
  eventually(() => {
    const rec = readAudit(coreAudit()).find((r) => r.request_id === requestId);
    if (!rec) throw new Error(`no core audit record for ${requestId} yet`);
    return rec;
  });

interface Seen {
  headers: Record<string, string>;
  _meta: Record<string, unknown>;
}
const seenBy = (reply: Awaited<ReturnType<typeof call>>): Seen =>
  JSON.parse(((reply.json?.result?.content ?? []) as { text: string }[])[0]?.text ?? '{}');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-fed-assert-'));
  tools = await startServer(SAMPLES.tools, ['--port', '0']);
  coreUrl = await proxy({
    upstreams: [{ name: 'tools', url: tools.url, catalogRefreshSeconds: 0 }],
    inbound: {
      auth: {
        kind: 'apiKeys',
        keys: [
          { key: KEYS.edge, caller: 'edge' },
          { key: KEYS.edgePlain, caller: 'edge-plain' },
          { key: KEYS.mallory, caller: 'mallory' },
        ],
        trustedProxies: ['edge'],
      },
    },
    policies: {
      acl: [
        { callers: ['edge', 'edge-plain', 'mallory'], allow: ['*'] },
        { callers: ['alice'], allow: ['tools__*'] },
        { callers: ['bob'], allow: ['tools__whoami'] },
      ],
    },
    audit: { sink: 'file', path: coreAudit() },
    secrets: { assertionKey: FLEET_KEY },
  });
  const edgeInbound = {
    auth: {
      kind: 'apiKeys',
      keys: [
        { key: KEYS.alice, caller: 'alice', groups: ['finance'] },
        { key: KEYS.bob, caller: 'bob' },
      ],
    },
  };
  edgeUrl = await proxy({
    upstreams: [upstream('core', coreUrl, KEYS.edge)],
    inbound: edgeInbound,
    chain: { assertCaller: true },
    secrets: { assertionKey: FLEET_KEY },
  });
  plainEdgeUrl = await proxy({
    upstreams: [upstream('core', coreUrl, KEYS.edgePlain)],
    inbound: edgeInbound,
  });
}, 30_000);

afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
  await tools?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('edge → core with chain.assertCaller', () => {
  it('the core serves and audits alice; the upstream sees neither her key nor the assertion', async () => {
    const reply = await call(edgeUrl, 'core__tools__whoami', {
      'x-api-key': KEYS.alice,
      'x-request-id': 'assert-alice-1',
    });
    expect(reply.json?.error).toBeUndefined();
    const seen = seenBy(reply);
    const wire = JSON.stringify(seen);
    expect(seen.headers['x-request-id']).toBe('assert-alice-1');
    expect(seen.headers[CALLER_HEADER]).toBeUndefined();
    expect(seen._meta[CALLER_META_KEY]).toBeUndefined();
    for (const key of Object.values(KEYS)) expect(wire).not.toContain(key);
    expect(await coreRecord('assert-alice-1')).toMatchObject({
      caller_identity: 'alice',
      tool_name: 'tools__whoami',
      policy_decision: 'allow',
      hops: 2,
    });
  });

  it('bob is denied at the core (ACL_DENIED) although the edge lets him through', async () => {
    const reply = await call(edgeUrl, 'core__tools__echo', {
      authorization: `Bearer ${KEYS.bob}`,
      'x-request-id': 'assert-bob-1',
    });
    expect(reply.json?.error?.data?.code).toBe('ACL_DENIED');
    expect(await coreRecord('assert-bob-1')).toMatchObject({
      caller_identity: 'bob',
      policy_decision: 'deny_acl',
    });
    // The same tool for alice passes, so it is the caller that decided.
    const ok = await call(edgeUrl, 'core__tools__echo', { 'x-api-key': KEYS.alice }, { text: 'hi' });
    expect(ok.json?.error).toBeUndefined();
  });

  it('lists: the core filters its catalog for the edge, calls are checked for the real caller', async () => {
    const req = modernRequest('tools/list');
    const listed = await rawPost(edgeUrl, req.body, { ...req.headers, 'x-api-key': KEYS.bob });
    const names = ((listed.json?.result?.tools ?? []) as { name: string }[]).map((t) => t.name);
    expect(names).toContain('core__tools__echo');
  });

  it('with assertCaller off the core sees the edge itself', async () => {
    const reply = await call(
      plainEdgeUrl,
      'core__tools__echo',
      {
        'x-api-key': KEYS.bob,
        'x-request-id': 'assert-plain-1',
      },
      { text: 'x' },
    );
    expect(reply.json?.error).toBeUndefined();
    expect(await coreRecord('assert-plain-1')).toMatchObject({ caller_identity: 'edge-plain' });
  });
});

describe('the core refuses assertions it must not accept', () => {
  const signer = new CallerAssertions(FLEET_KEY);

  const direct = async (apiKey: string, assertion: string, requestId = 'direct-1') => {
    const reply = await call(coreUrl, 'tools__whoami', {
      'x-api-key': apiKey,
      'x-request-id': requestId,
      [CALLER_HEADER]: assertion,
    });
    expect(reply.text).not.toContain(assertion);
    return reply;
  };

  it('from a caller that is not a trusted proxy, even a validly signed one', async () => {
    const reply = await direct(KEYS.mallory, signer.sign({ id: 'alice', groups: [] }, 'direct-1'));
    expect(reply.status).toBe(403);
    expect(reply.json?.error?.message).toMatch(
      /"mallory" sent a caller assertion but is not a trusted proxy/,
    );
  });

  it('forged with another key, expired, or for another request, even from the trusted edge', async () => {
    const forged = new CallerAssertions('not-the-fleet-key-0123456789').sign(
      { id: 'alice', groups: [] },
      'd',
    );
    const forgedReply = await direct(KEYS.edge, forged, 'd');
    expect(forgedReply.status).toBe(403);
    expect(forgedReply.json?.error?.message).toMatch(/signature is not valid/);

    const expired = signer.sign({ id: 'alice', groups: [] }, 'e', Date.now() - 120_000);
    const expiredReply = await direct(KEYS.edge, expired, 'e');
    expect(expiredReply.status).toBe(403);
    expect(expiredReply.json?.error?.message).toMatch(/expired/);

    const replayed = signer.sign({ id: 'alice', groups: [] }, 'first');
    const replayReply = await direct(KEYS.edge, replayed, 'second');
    expect(replayReply.status).toBe(403);
    expect(replayReply.json?.error?.message).toMatch(/another request/);
  });

  it('an edge the core does not trust fails closed: its callers get UPSTREAM_AUTH_FAILED', async () => {
    const untrusted = await proxy({
      upstreams: [upstream('core', coreUrl, KEYS.mallory)],
      inbound: { auth: { kind: 'apiKeys', keys: [{ key: KEYS.alice, caller: 'alice' }] } },
      chain: { assertCaller: true },
      secrets: { assertionKey: FLEET_KEY },
    });
    const reply = await call(untrusted, 'core__tools__whoami', { 'x-api-key': KEYS.alice });
    expect(reply.json?.error?.data).toMatchObject({ code: 'UPSTREAM_AUTH_FAILED', status: 403 });
  });

  it('authentication comes first: a bad key with an assertion is a plain 401', async () => {
    const reply = await direct('wrong-key-0123456789', signer.sign({ id: 'alice', groups: [] }, 'direct-1'));
    expect(reply.status).toBe(401);
  });

  it('a trusted proxy with a good assertion is served as the asserted caller', async () => {
    const reply = await direct(KEYS.edge, signer.sign({ id: 'alice', groups: [] }, 'direct-ok'), 'direct-ok');
    expect(reply.status).toBe(200);
    expect(await coreRecord('direct-ok')).toMatchObject({ caller_identity: 'alice' });
  });
});

describe('client → edge → mid → core, each proxy asserting the caller it serves', () => {
  it('the core sees alice, asserted by mid, which trusted the edge', async () => {
    const mid = await proxy({
      upstreams: [upstream('core', coreUrl, KEYS.edge)],
      inbound: {
        auth: {
          kind: 'apiKeys',
          keys: [{ key: KEYS.edgePlain, caller: 'edge-2' }],
          trustedProxies: ['edge-2'],
        },
      },
      chain: { assertCaller: ['core'] },
      secrets: { assertionKey: FLEET_KEY },
    });
    const edge = await proxy({
      upstreams: [upstream('mid', mid, KEYS.edgePlain)],
      inbound: { auth: { kind: 'apiKeys', keys: [{ key: KEYS.alice, caller: 'alice' }] } },
      chain: { assertCaller: true },
      secrets: { assertionKey: FLEET_KEY },
    });
    const reply = await call(
      edge,
      'mid__core__tools__echo',
      {
        'x-api-key': KEYS.alice,
        'x-request-id': 'three-hops-1',
      },
      { text: 'x' },
    );
    expect(reply.json?.error).toBeUndefined();
    expect(await coreRecord('three-hops-1')).toMatchObject({ caller_identity: 'alice', hops: 3 });
  }, 30_000);
});

describe('discovery obeys chain.maxHops like lists and calls', () => {
  it('server/discover, initialize and completion past the limit fail with HOP_LIMIT', async () => {
    const url = await proxy({
      upstreams: [{ name: 'tools', url: tools.url, catalogRefreshSeconds: 0 }],
      chain: { maxHops: 2 },
    });
    const discover = modernRequest('server/discover');
    const over = await rawPost(url, discover.body, { ...discover.headers, 'x-mcp-fed-hops': '2' });
    expect(over.json?.error).toMatchObject({ code: -32047, data: { code: 'HOP_LIMIT', hops: 3 } });
    const ok = await rawPost(url, discover.body, { ...discover.headers, 'x-mcp-fed-hops': '1' });
    expect(ok.json?.result?.supportedVersions).toBeDefined();

    const initialize = {
      jsonrpc: '2.0',
      id: 7,
      method: 'initialize',
      params: {
        protocolVersion: '2025-11-25',
        capabilities: {},
        clientInfo: { name: 'raw', version: '1' },
        _meta: { 'mcp-fed/hops': 2 },
      },
    };
    const init = await rawPost(url, initialize);
    expect(init.json?.error).toMatchObject({ code: -32047, data: { code: 'HOP_LIMIT' } });

    const complete = modernRequest('completion/complete', {
      ref: { type: 'ref/prompt', name: 'tools__greet' },
      argument: { name: 'name', value: 'a' },
    });
    const completion = await rawPost(url, complete.body, { ...complete.headers, 'x-mcp-fed-hops': '5' });
    expect(completion.json?.error?.data?.code).toBe('HOP_LIMIT');
  });
});
