/**
 * Cedar decisions with the real cedar-wasm engine (DESIGN.md, "Cedar policies"): the README's worked
 * policies one by one, the entity model's defaults, argument mapping and its escapes, evaluation
 * errors (forbid fails closed, permit does not match), list visibility by partial evaluation, and
 * policy files that do not parse or do not fit their schema.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCheck } from '../../src/config/check.ts';
import { CedarAuthorizer, type CedarRequest } from '../../src/hooks/cedar/authorizer.ts';
import { readCedarPolicies } from '../../src/hooks/cedar/index.ts';
import { parsePolicies } from '../../src/hooks/cedar/policy-set.ts';
import { newReads } from '../../src/hooks/cedar/reads.ts';
import { jsonLongerThan, MAX_ARGUMENT_BYTES, toCedar } from '../../src/hooks/cedar/values.ts';
import type { Caller } from '../../src/hooks/pipeline.ts';
import { type Logger, silentLogger } from '../../src/log.ts';

const EXAMPLES = 'examples/cedar/policies.cedar';
const SCHEMA = 'examples/cedar/mcp-fed.cedarschema';

function authorizer(text: string, log: Logger = silentLogger): CedarAuthorizer {
  const parsed = parsePolicies({ source: 'test.cedar', text });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return new CedarAuthorizer(parsed.policies, log);
}

const who = (id: string, ...groups: string[]): Caller => ({ id, groups, kind: 'apiKey' });
const ANNOTATIONS: Record<string, Record<string, unknown>> = {
  payments__transfer: { destructiveHint: true, readOnlyHint: false },
  payments__balance: { readOnlyHint: true },
  payments__close_account: {},
};
function tool(
  caller: Caller,
  name: string,
  args: Record<string, unknown> = {},
  extra: Partial<CedarRequest> = {},
) {
  return {
    caller,
    action: 'tools/call' as const,
    name,
    upstream: 'payments',
    upstreamName: name.replace('payments__', ''),
    annotations: ANNOTATIONS[name],
    arguments: args,
    hops: 1,
    era: 'modern' as const,
    ...extra,
  };
}
const AT_NOON = Date.parse('2026-12-02T12:00:00Z');
const AT_NIGHT = Date.parse('2026-12-02T22:30:00Z');

describe('the README worked policies (examples/cedar/policies.cedar)', () => {
  const authz = authorizer(readFileSync(EXAMPLES, 'utf8'));
  const alice = who('alice', 'finance');
  const olga = who('olga', 'ops');
  const sam = who('sam', 'support');
  const cleo = who('cleo', 'contractors');

  it('1. finance transfers up to 10,000, and no more', async () => {
    expect(
      await authz.decide(tool(alice, 'payments__transfer', { amount: 10_000, to: 'x' }), AT_NOON),
    ).toEqual({
      allow: true,
      policyIds: ['finance-transfers'],
    });
    expect(
      (await authz.decide(tool(alice, 'payments__transfer', { amount: 10_000.5, to: 'x' }), AT_NOON)).allow,
    ).toBe(false);
    expect(
      await authz.decide(tool(alice, 'payments__transfer', { amount: 25_000, to: 'x' }), AT_NOON),
    ).toEqual({
      allow: false,
      policyIds: [],
    });
    // No amount at all: the permit does not apply (default deny).
    expect((await authz.decide(tool(alice, 'payments__transfer', { to: 'x' }), AT_NOON)).allow).toBe(false);
  });

  it('2. destructive tools (an unannotated one included) only for ops', async () => {
    const denied = await authz.decide(tool(alice, 'payments__close_account'), AT_NOON);
    expect(denied).toEqual({ allow: false, policyIds: ['destructive-ops-only'] });
    expect(await authz.decide(tool(olga, 'payments__close_account'), AT_NOON)).toEqual({
      allow: true,
      policyIds: ['ops-everything'],
    });
  });

  it('3. no call that crossed more than two proxies', async () => {
    expect((await authz.decide(tool(olga, 'payments__balance', {}, { hops: 2 }), AT_NOON)).allow).toBe(true);
    expect(await authz.decide(tool(olga, 'payments__balance', {}, { hops: 3 }), AT_NOON)).toEqual({
      allow: false,
      policyIds: ['at-most-two-hops'],
    });
  });

  it('4. a group allowlist: support reads, and nothing else', async () => {
    expect((await authz.decide(tool(sam, 'payments__balance'), AT_NOON)).allow).toBe(true);
    expect((await authz.decide(tool(sam, 'payments__transfer', { amount: 1, to: 'x' }), AT_NOON)).allow).toBe(
      false,
    );
    const prompt = {
      ...tool(sam, 'payments__statement'),
      action: 'prompts/get' as const,
      annotations: undefined,
    };
    expect(await authz.decide(prompt, AT_NOON)).toEqual({ allow: true, policyIds: ['support-prompts'] });
    expect(await authz.decide(tool(who('nobody'), 'payments__balance'), AT_NOON)).toEqual({
      allow: false,
      policyIds: [],
    });
  });

  it('5. a time window: contractors only in office hours (UTC)', async () => {
    expect(await authz.decide(tool(cleo, 'payments__balance'), AT_NOON)).toEqual({
      allow: true,
      policyIds: ['contractors-balance'],
    });
    expect(await authz.decide(tool(cleo, 'payments__balance'), AT_NIGHT)).toEqual({
      allow: false,
      policyIds: ['contractors-office-hours'],
    });
  });

  it('lists show an entry unless it is denied whatever the arguments', async () => {
    const listed = (caller: Caller, name: string) => authz.listable({ ...tool(caller, name) });
    // A conditional permit (amount ≤ 10,000) shows the tool: the call decides.
    expect(listed(alice, 'payments__transfer')).toBe(true);
    expect(listed(alice, 'payments__balance')).toBe(false);
    expect(listed(alice, 'payments__close_account')).toBe(false);
    expect(listed(sam, 'payments__balance')).toBe(true);
    expect(listed(olga, 'payments__close_account')).toBe(true);
  });

  it('the examples fit the example schema', async () => {
    const read = readCedarPolicies({ policies: EXAMPLES, schema: SCHEMA });
    expect(read.ok, JSON.stringify(!read.ok && read.problems)).toBe(true);
  });
});

describe('the entity model', () => {
  it('fills in MCP defaults for annotations the upstream left out', async () => {
    const authz = authorizer(
      'permit(principal, action, resource) when { resource.annotations.destructiveHint && resource.annotations.openWorldHint && !resource.annotations.readOnlyHint && !resource.annotations.idempotentHint };',
    );
    expect((await authz.decide(tool(who('a'), 'payments__close_account'))).allow).toBe(true);
    expect((await authz.decide(tool(who('a'), 'payments__balance'))).allow).toBe(false);
  });

  it('gives the caller its credential kind and JWT claims, and the call its era', async () => {
    const authz = authorizer(
      'permit(principal, action, resource) when { principal.kind == "jwt" && principal.claims.tier == "gold" && context.era == "legacy" };',
    );
    const jwt: Caller = { id: 'u1', groups: [], kind: 'jwt', claims: { tier: 'gold', exp: 1 } };
    expect((await authz.decide(tool(jwt, 'payments__balance', {}, { era: 'legacy' }))).allow).toBe(true);
    expect((await authz.decide(tool(jwt, 'payments__balance', {}, { era: 'modern' }))).allow).toBe(false);
    expect(
      (await authz.decide(tool({ ...jwt, kind: 'apiKey' }, 'payments__balance', {}, { era: 'legacy' })))
        .allow,
    ).toBe(false);
  });

  it('maps arguments as DESIGN.md says: Long, decimal, text, sets, records, no nulls, no escapes', async () => {
    const value = toCedar({
      n: 42,
      big: 2 ** 64,
      d: 12.5,
      fine: 0.00001,
      s: 'x',
      ok: true,
      list: [1, null, 'a'],
      gone: null,
      rec: { __entity: { type: 'McpFed::Caller', id: 'root' }, __extn: { fn: 'ip', arg: '1.2.3.4' } },
    });
    expect(value).toEqual({
      n: 42,
      big: '18446744073709552000',
      d: { __extn: { fn: 'decimal', arg: '12.5' } },
      fine: '0.00001',
      s: 'x',
      ok: true,
      list: [1, 'a'],
      rec: { _entity: { type: 'McpFed::Caller', id: 'root' }, _extn: { fn: 'ip', arg: '1.2.3.4' } },
    });
  });

  it('never lets an argument pose as an entity', async () => {
    const authz = authorizer(
      'permit(principal, action, resource) when { context.arguments.who == McpFed::Caller::"root" };',
    );
    const sneaky = { who: { __entity: { type: 'McpFed::Caller', id: 'root' } } };
    expect((await authz.decide(tool(who('a'), 'payments__balance', sneaky))).allow).toBe(false);
  });

  it('compares decimals and passes only what policies read', async () => {
    const authz = authorizer(
      'permit(principal, action, resource) when { context.arguments.rate.lessThanOrEqual(decimal("1.25")) };',
    );
    expect(
      (await authz.decide(tool(who('a'), 'payments__balance', { rate: 1.2, other: { deep: [1, 2, 3] } })))
        .allow,
    ).toBe(true);
    expect((await authz.decide(tool(who('a'), 'payments__balance', { rate: 1.3 }))).allow).toBe(false);
    const reads = newReads();
    reads.attrs.set('rate', newReads());
    expect(toCedar({ rate: 2, other: { deep: [1] } }, reads)).toEqual({ rate: 2 });
  });

  it('leaves arguments over 64 KiB out of the context', async () => {
    const big = { blob: 'x'.repeat(MAX_ARGUMENT_BYTES) };
    expect(jsonLongerThan(big, MAX_ARGUMENT_BYTES)).toBe(true);
    expect(jsonLongerThan({ small: 'x'.repeat(100) }, MAX_ARGUMENT_BYTES)).toBe(false);
    const authz = authorizer(
      'permit(principal, action, resource) when { !(context has arguments) };\nforbid(principal, action, resource) when { context.arguments.blob == "" };',
    );
    // Absent, so the forbid errors (denies)... unless the permit's view holds: it cannot, the forbid wins.
    expect(await authz.decide(tool(who('a'), 'payments__balance', big))).toEqual({
      allow: false,
      policyIds: ['policy1'],
    });
    const lenient = authorizer('permit(principal, action, resource) when { !(context has arguments) };');
    expect((await lenient.decide(tool(who('a'), 'payments__balance', big))).allow).toBe(true);
    expect((await lenient.decide(tool(who('a'), 'payments__balance', { small: 1 }))).allow).toBe(false);
  });

  it('decides on names that are awkward entity ids (quotes, backslashes, unicode)', async () => {
    const name = 'we\\ird"tool_ünï';
    const authz = authorizer(`permit(principal, action, resource == McpFed::Tool::"we\\\\ird\\"tool_ünï");`);
    expect((await authz.decide({ ...tool(who('a'), name), annotations: {} })).allow).toBe(true);
    expect((await authz.decide({ ...tool(who('a'), 'weird"tool'), annotations: {} })).allow).toBe(false);
  });
});

describe('evaluation errors', () => {
  it('a forbid that errors denies and names itself; a permit that errors does not match', async () => {
    const warnings: unknown[] = [];
    const log = { ...silentLogger, warn: (o: unknown) => warnings.push(o) } as unknown as Logger;
    const authz = authorizer(
      [
        '@id("allow-all") permit(principal, action, resource);',
        '@id("needs-ticket") forbid(principal, action, resource) when { context.arguments.ticket.id == "x" };',
      ].join('\n'),
      log,
    );
    expect(await authz.decide(tool(who('a'), 'payments__balance', { note: 'secret-value' }))).toEqual({
      allow: false,
      policyIds: ['needs-ticket'],
    });
    expect(JSON.stringify(warnings)).toContain('needs-ticket');
    expect(JSON.stringify(warnings)).not.toContain('secret-value');
    const permitOnly = authorizer('permit(principal, action, resource) when { context.arguments.x.y == 1 };');
    expect((await permitOnly.decide(tool(who('a'), 'payments__balance', {}))).allow).toBe(false);
  });

  it('a 1 MB argument object under a policy that reads it: a decision, no crash', async () => {
    const authz = authorizer(
      'permit(principal, action, resource) when { context.arguments.items.contains(1) };',
    );
    const items = Array.from({ length: 200_000 }, (_, i) => i);
    expect((await authz.decide(tool(who('a'), 'payments__balance', { items }))).allow).toBe(false);
    expect((await authz.decide(tool(who('a'), 'payments__balance', { items: [1, 2] }))).allow).toBe(true);
  });
});

describe('policies that read no context', () => {
  it('are decided once per caller and resource facts, and again when those differ', async () => {
    const authz = authorizer('@id("ops-only") permit(principal in McpFed::Group::"ops", action, resource);');
    const olga = { id: 'olga', groups: ['ops'], kind: 'apiKey' as const };
    const first = authz.decide(tool(olga, 'payments__balance', { any: 1 }));
    const again = authz.decide(tool(olga, 'payments__balance', { other: 'arguments' }));
    expect(first).toEqual({ allow: true, policyIds: ['ops-only'] });
    // The same answer object: no second evaluation (arguments are not part of a context-free decision).
    expect(again).toBe(first);
    // The same id, other groups (another token): judged afresh.
    expect(authz.decide(tool({ ...olga, groups: ['support'] }, 'payments__balance'))).toEqual({
      allow: false,
      policyIds: [],
    });
    await authz.close();
  });
});

describe('large arguments are decided off the event loop', () => {
  it('gives the same decisions, and lets other work run while one is evaluated', async () => {
    const authz = authorizer(
      '@id("needle") permit(principal, action, resource) when { context.arguments.items.contains("needle") };\n' +
        '@id("no-bad") forbid(principal, action, resource) when { context.arguments.items.contains("bad") };',
    );
    const items = Array.from({ length: 3_200 }, (_, i) => `item-${i.toString().padStart(12, '0')}`);
    const pending = authz.decide(tool(who('a'), 'payments__balance', { items: [...items, 'needle'] }));
    expect(pending).toBeInstanceOf(Promise);
    // A timer set after the decision started fires before it is done: the loop was not held.
    let ticked = false;
    setTimeout(() => {
      ticked = true;
    }, 0);
    const decision = await pending;
    expect(ticked).toBe(true);
    expect(decision).toEqual({ allow: true, policyIds: ['needle'] });
    expect(
      await authz.decide(tool(who('a'), 'payments__balance', { items: [...items, 'needle', 'bad'] })),
    ).toEqual({
      allow: false,
      policyIds: ['no-bad'],
    });
    // Small arguments stay on the calling thread (no worker round trip).
    expect(authz.decide(tool(who('a'), 'payments__balance', { items: ['needle'] }))).not.toBeInstanceOf(
      Promise,
    );
    await authz.close();
  });
});

describe('policy files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mcp-fed-cedar-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function check(policy: string, schema?: string) {
    await writeFile(join(dir, 'p.cedar'), policy);
    if (schema) await writeFile(join(dir, 's.cedarschema'), schema);
    const cedar = schema ? { policies: './p.cedar', schema: './s.cedarschema' } : { policies: './p.cedar' };
    await writeFile(join(dir, 'config.yaml'), JSON.stringify({ policies: { cedar } }));
    const errors: string[] = [];
    const code = await runCheck(join(dir, 'config.yaml'), { out: () => {}, err: (l) => errors.push(l) });
    return { code, errors: errors.join('\n') };
  }

  it('check names a syntax error by file, line and column, and exits 1', async () => {
    const { code, errors } = await check(
      'permit(principal, action, resource);\n\npermit(principal, action, resource) when { context.x < };\n',
    );
    expect(code).toBe(1);
    expect(errors).toContain(`${join(dir, 'p.cedar')}:3:56: Cedar:`);
  });

  it('check names a schema violation by file, line and column', async () => {
    const { code, errors } = await check(
      '@id("typo")\npermit(principal, action, resource is McpFed::Tool)\n  when { resource.upstreem == "x" };\n',
      readFileSync(SCHEMA, 'utf8'),
    );
    expect(code).toBe(1);
    expect(errors).toMatch(
      new RegExp(`${join(dir, 'p.cedar').replace(/[.]/g, '\\.')}:3:\\d+: Cedar schema: policy "typo"`),
    );
  });

  it('check accepts the examples, resolved against the config file', async () => {
    const { code, errors } = await check(readFileSync(EXAMPLES, 'utf8'), readFileSync(SCHEMA, 'utf8'));
    expect(errors).toBe('');
    expect(code).toBe(0);
  });

  it('refuses a duplicate @id and policy templates', async () => {
    const dup = parsePolicies({
      source: 'x.cedar',
      text: '@id("a") permit(principal, action, resource);\n@id("a") forbid(principal, action, resource);',
    });
    expect(dup.ok).toBe(false);
    expect(JSON.stringify(!dup.ok && dup.problems)).toContain('x.cedar:2:1');
    const tpl = parsePolicies({
      source: 'x.cedar',
      text: 'permit(principal == ?principal, action, resource);',
    });
    expect(JSON.stringify(!tpl.ok && tpl.problems)).toContain('template');
  });
});
