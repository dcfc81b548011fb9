/**
 * Cedar through real proxies (DESIGN.md, "Cedar policies"): the README's policy file in front of a
 * real payments upstream, two replicas on one Redis, a 2026-07-28 client (fast path) on one and a
 * 2025-era client (SDK path) on the other. Glob ACL and Cedar must both allow; a deny is ACL_DENIED
 * with the deciding policy ids, in the error and in the audit record; lists hide only what is denied
 * whatever the arguments.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import type { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { eventually, startProxy } from '../helpers/federation.ts';
import { legacyClientWith, modernClientWith, pluck, rawCall, readAudit } from '../helpers/governance.ts';
import { privateRedis, type TestRedis } from '../helpers/redis.ts';
import { type StartedServer, startServer } from '../helpers/spawn-server.ts';

const KEYS = {
  alice: 'key-alice-0123456789abcdef', // finance
  olga: 'key-olga-0123456789abcdefg', // ops
  sam: 'key-sam-0123456789abcdefgh', // support
  eve: 'key-eve-0123456789abcdefgh', // finance, but the glob ACL denies her transfers
};
const as = (who: keyof typeof KEYS) => ({ authorization: `Bearer ${KEYS[who]}` });

let payments: StartedServer;
let redis: TestRedis;
let dir: string;
const replicas: { app: App; url: string; audit: string }[] = [];
const modern: Record<string, Client> = {};
const legacy: Record<string, V1Client> = {};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-fed-cedar-'));
  [payments, redis] = await Promise.all([
    startServer('test/fixtures/payments-server.ts', ['--port', '0']),
    privateRedis({ own: true }),
  ]);
  for (const name of ['a', 'b']) {
    const audit = join(dir, `audit-${name}.jsonl`);
    const { app, url } = await startProxy({
      upstreams: [{ name: 'payments', url: payments.url, catalogRefreshSeconds: 0 }],
      store: { kind: 'redis', url: redis.url, keyPrefix: 'mcp-fed-cedar:' },
      inbound: {
        auth: {
          kind: 'apiKeys',
          keys: [
            { key: KEYS.alice, caller: 'alice', groups: ['finance'] },
            { key: KEYS.olga, caller: 'olga', groups: ['ops'] },
            { key: KEYS.sam, caller: 'sam', groups: ['support'] },
            { key: KEYS.eve, caller: 'eve', groups: ['finance'] },
          ],
        },
      },
      policies: {
        acl: [
          { callers: ['eve'], allow: ['payments__*'], deny: ['payments__transfer'] },
          { callers: ['*'], allow: ['payments__*'] },
        ],
        cedar: { policies: resolve('examples/cedar/policies.cedar') },
      },
      audit: { sink: 'file', path: audit },
    });
    replicas.push({ app, url, audit });
  }
  const [a, b] = replicas as [(typeof replicas)[0], (typeof replicas)[0]];
  for (const who of ['alice', 'olga', 'sam'] as const) {
    modern[who] = await modernClientWith(a.url, as(who));
    legacy[who] = (await legacyClientWith(b.url, as(who))).client;
  }
}, 60_000);

afterAll(async () => {
  await Promise.all([...Object.values(modern), ...Object.values(legacy)].map((c) => c.close()));
  await Promise.all(replicas.map((r) => r.app.close()));
  await Promise.all([payments?.stop(), redis?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

const text = (r: unknown) => ((r as { content?: { text?: string }[] }).content ?? [])[0]?.text ?? '';

describe.each(['modern', 'legacy'] as const)('Cedar through the proxy, %s client', (era) => {
  const client = (who: string) => (era === 'modern' ? modern[who]! : legacy[who]!) as Client;
  const call = (who: string, name: string, args: Record<string, unknown> = {}) =>
    client(who).callTool({ name, arguments: args });

  it('lets finance transfer up to 10,000 and denies more, naming no policy (default deny)', async () => {
    expect(text(await call('alice', 'payments__transfer', { amount: 9_999, to: 'acct-1' }))).toContain(
      '"amount":9999',
    );
    await expect(call('alice', 'payments__transfer', { amount: 10_001, to: 'acct-1' })).rejects.toThrow(
      /not allowed to use tool "payments__transfer" \(Cedar\)/,
    );
  });

  it('keeps destructive tools for ops and names the forbid that decided', async () => {
    await expect(call('sam', 'payments__close_account')).rejects.toThrow(/Cedar/);
    expect(text(await call('olga', 'payments__close_account'))).toContain('closed');
  });

  it('shows each caller what it may call under some arguments, and nothing it may never call', async () => {
    const names = async (who: string) => pluck((await client(who).listTools()).tools, 'name');
    expect(await names('alice')).toEqual(['payments__transfer']);
    expect(await names('sam')).toEqual(['payments__balance']);
    expect(await names('olga')).toEqual([
      'payments__balance',
      'payments__close_account',
      'payments__transfer',
    ]);
    expect(pluck((await client('sam').listPrompts()).prompts, 'name')).toEqual(['payments__statement']);
    expect((await client('alice').listPrompts()).prompts).toEqual([]);
  });
});

describe('Cedar decisions on the wire and in the audit', () => {
  it('answers ACL_DENIED with the deciding policy ids', async () => {
    const reply = await rawCall(
      replicas[0]!.url,
      'tools/call',
      { name: 'payments__close_account', arguments: {} },
      as('sam'),
    );
    const error = reply.json?.error as { code: number; data: Record<string, unknown> };
    expect(error.code).toBe(-32040);
    expect(error.data).toMatchObject({ code: 'ACL_DENIED', policyIds: ['destructive-ops-only'] });
    const over = await rawCall(
      replicas[1]!.url,
      'tools/call',
      { name: 'payments__transfer', arguments: { amount: 50_000, to: 'x' } },
      as('alice'),
    );
    expect((over.json?.error as { data?: Record<string, unknown> } | undefined)?.data).toMatchObject({
      policyIds: [],
    });
  });

  it('denies a call that crossed more than two proxies, whoever calls', async () => {
    const reply = await rawCall(
      replicas[0]!.url,
      'tools/call',
      { name: 'payments__balance', arguments: {} },
      { ...as('olga'), 'x-mcp-fed-hops': '2' },
    );
    expect((reply.json?.error as { data?: Record<string, unknown> } | undefined)?.data).toMatchObject({
      policyIds: ['at-most-two-hops'],
    });
  });

  it('needs both the glob ACL and Cedar: an ACL deny stands even where Cedar permits', async () => {
    const reply = await rawCall(
      replicas[1]!.url,
      'tools/call',
      { name: 'payments__transfer', arguments: { amount: 5, to: 'x' } },
      as('eve'),
    );
    const error = reply.json?.error as { message: string; data: Record<string, unknown> };
    expect(error.data.code).toBe('ACL_DENIED');
    expect(error.message).not.toContain('Cedar');
  });

  it('records the policy ids of every decision, allow and deny', async () => {
    await rawCall(
      replicas[0]!.url,
      'tools/call',
      { name: 'payments__balance', arguments: {} },
      { ...as('olga'), 'x-request-id': 'audited-1' },
    );
    const records = await eventually(() => {
      const all = replicas.flatMap((r) => readAudit(r.audit));
      const found = all.find((r) => r.request_id === 'audited-1');
      if (!found || !all.some((r) => r.policy_decision === 'deny_acl')) throw new Error('not yet');
      return all;
    });
    expect(records.find((r) => r.request_id === 'audited-1')).toMatchObject({
      policy_decision: 'allow',
      policy_ids: ['ops-everything'],
    });
    const denied = records.filter((r) => r.policy_decision === 'deny_acl');
    expect(denied.some((r) => JSON.stringify(r.policy_ids) === '["destructive-ops-only"]')).toBe(true);
    for (const r of records) expect(Array.isArray(r.policy_ids)).toBe(true);
  });
});
