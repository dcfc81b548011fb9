import { describe, expect, it } from 'vitest';
import { Catalog } from '../../src/catalog/catalog.ts';
import { type ConfigInput, ConfigSchema } from '../../src/config/schema.ts';
import { createPiiHooks, type TokenVault } from '../../src/hooks/pii/index.ts';
import { HookPipeline, type McpCall } from '../../src/hooks/pipeline.ts';
import { silentLogger } from '../../src/log.ts';
import { CatalogChanges } from '../../src/router/catalog-changes.ts';
import type { ChangeEvent } from '../../src/router/types.ts';
import { MemoryVault } from '../../src/store/memory-vault.ts';
import { VaultCrypto } from '../../src/store/vault-crypto.ts';
import { Metrics } from '../../src/telemetry/metrics.ts';
import type { Upstream } from '../../src/upstream/upstream.ts';
import { callContextFor, echoCall } from '../helpers/call-fixtures.ts';

const piiConfig = (pii: ConfigInput['pii']) => ConfigSchema.parse({ pii }).pii;
const memoryVault = () => new MemoryVault(new VaultCrypto('unit-test-vault-key-0123456789'), silentLogger);
const ctx = callContextFor;
const toolCall = echoCall;
function hooksFor(pii: ConfigInput['pii'], vault: TokenVault = memoryVault(), metrics = new Metrics()) {
  return createPiiHooks(piiConfig(pii), { vault, metrics, log: silentLogger });
}
const argsOf = (o: { kind: string; value?: McpCall }) =>
  o.kind === 'mutate' ? o.value!.params.arguments : undefined;

describe('createPiiHooks', () => {
  it('is undefined when the mode is off, and has no post hook when nothing happens on the way back', () => {
    expect(hooksFor({ mode: 'off' })).toBeUndefined();
    expect(hooksFor({ mode: 'redact', responses: 'off' })?.post).toBeUndefined();
    expect(
      hooksFor({ mode: 'tokenize', detokenizeResponses: false, responses: 'off' })?.post,
    ).toBeUndefined();
    expect(hooksFor({ mode: 'tokenize' })?.post).toBeDefined();
  });

  it('passes a call without PII untouched (same object, no vault call)', async () => {
    const failing: TokenVault = {
      tokenId: () => 'x',
      put: () => Promise.reject(new Error('no')),
      get: () => Promise.reject(new Error('no')),
      close: async () => {},
    };
    const h = hooksFor({ mode: 'tokenize' }, failing)!;
    const args = { text: 'release 2.10.4 on 2024-01-15', n: 3, deep: [{ a: null }] };
    expect(await h.pre.before(toolCall(args), ctx())).toEqual({ kind: 'pass' });
    expect(
      await h.post!.after(toolCall(args), { content: [{ type: 'text', text: 'ok 12' }] }, ctx()),
    ).toEqual({
      kind: 'pass',
    });
  });

  it('records token ids (never values) once each, and counts misses then hits per entity', async () => {
    const metrics = new Metrics();
    const h = hooksFor({ mode: 'tokenize' }, memoryVault(), metrics)!;
    const c = ctx();
    const out = await h.pre.before(
      toolCall({ a: 'bob@example.com', b: ['bob@example.com', '192.0.2.1'] }),
      c,
    );
    expect(c.tokenIds).toHaveLength(2);
    expect(c.tokenIds.every((id) => /^[0-9a-f]{16}$/.test(id))).toBe(true);
    expect(JSON.stringify(argsOf(out as never))).not.toContain('bob@example.com');
    await h.pre.before(toolCall({ a: 'bob@example.com' }), ctx());
    const text = await metrics.registry.metrics();
    expect(text).toContain('mcp_fed_pii_tokens_total{entity="EMAIL",result="miss"} 1');
    expect(text).toContain('mcp_fed_pii_tokens_total{entity="EMAIL",result="hit"} 1');
    expect(text).toContain('mcp_fed_pii_tokens_total{entity="IP_ADDRESS",result="miss"} 1');
  });

  it('only looks for the configured entities', async () => {
    const h = hooksFor({ mode: 'redact', entities: ['EMAIL'] })!;
    const out = await h.pre.before(toolCall({ t: 'bob@example.com 4111 1111 1111 1111' }), ctx());
    expect(argsOf(out as never)).toEqual({ t: '<EMAIL_REDACTED> 4111 1111 1111 1111' });
  });

  it('keeps "__proto__" keys as data and leaves base64 payloads alone', async () => {
    const h = hooksFor({ mode: 'redact' })!;
    const args = JSON.parse('{"__proto__": {"mail": "bob@example.com"}, "x": "192.0.2.1"}');
    const out = argsOf((await h.pre.before(toolCall(args), ctx())) as never) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(JSON.stringify(out)).toBe('{"__proto__":{"mail":"<EMAIL_REDACTED>"},"x":"<IP_ADDRESS_REDACTED>"}');
    const image = {
      type: 'image',
      data: 'NDExMSAxMTExIDExMTEgMTExMQ==4111 1111 1111 1111',
      mimeType: 'image/png',
    };
    expect(await h.post!.after(toolCall({}), { content: [image] }, ctx())).toEqual({ kind: 'pass' });
  });

  it('refuses arguments nested too deep to scan instead of forwarding them unscanned', async () => {
    let deep: unknown = 'bob@example.com';
    for (let i = 0; i < 200; i++) deep = [deep];
    const out = await hooksFor({ mode: 'tokenize' })!.pre.before(toolCall({ deep }), ctx());
    expect(out.kind).toBe('reject');
  });

  it('fails closed with STORE_UNAVAILABLE (503) when the vault cannot be written or read', async () => {
    const down: TokenVault = {
      tokenId: (scope, entity, value) => memoryVault().tokenId(scope, entity, value),
      put: () => Promise.reject(new Error('Connection is closed.')),
      get: () => Promise.reject(new Error('Connection is closed.')),
      close: async () => {},
    };
    const h = hooksFor({ mode: 'tokenize' }, down)!;
    const pre = await h.pre.before(toolCall({ t: 'AKIAIOSFODNN7EXAMPLE' }), ctx());
    expect(pre).toMatchObject({ kind: 'reject', decision: 'store_unavailable' });
    const error = (pre as { error: { code: string; httpStatus: number; message: string } }).error;
    expect(error.code).toBe('STORE_UNAVAILABLE');
    expect(error.httpStatus).toBe(503);
    expect(error.message).not.toContain('AKIA');
    const post = await h.post!.after(
      toolCall({}),
      { content: [{ type: 'text', text: '<SSN_0123456789abcdef>' }] },
      ctx(),
    );
    expect(post).toMatchObject({ kind: 'reject', decision: 'store_unavailable' });
  });

  it('reads the vault on the way back only when the result carries tokens', async () => {
    let reads = 0;
    const vault = memoryVault();
    const counting: TokenVault = {
      tokenId: vault.tokenId.bind(vault),
      put: vault.put.bind(vault),
      get: (scope, ids) => {
        reads++;
        return vault.get(scope, ids);
      },
      close: () => vault.close(),
    };
    const h = hooksFor({ mode: 'tokenize' }, counting)!;
    await h.post!.after(toolCall({}), { content: [{ type: 'text', text: 'plain 42' }] }, ctx());
    expect(reads).toBe(0);
    const out = await h.pre.before(toolCall({ t: 'mail bob@example.com' }), ctx());
    const sent = argsOf(out as never) as { t: string };
    const back = await h.post!.after(toolCall(sent), { content: [{ type: 'text', text: sent.t }] }, ctx());
    expect(reads).toBe(1);
    expect(back).toEqual({
      kind: 'mutate',
      value: { content: [{ type: 'text', text: 'mail bob@example.com' }] },
    });
  });

  it("resolves the tokens of a call's own values without reading the vault", async () => {
    const vault = memoryVault();
    let reads = 0;
    const counting: TokenVault = {
      tokenId: (scope, entity, value) => vault.tokenId(scope, entity, value),
      put: (scope, entries, ttl) => vault.put(scope, entries, ttl),
      get: (scope, ids) => {
        reads++;
        return vault.get(scope, ids);
      },
      close: () => vault.close(),
    };
    const h = hooksFor({ mode: 'tokenize', responses: 'off' }, counting)!;
    const c = ctx();
    const out = await h.pre.before(toolCall({ to: 'carol@example.com' }), c);
    const sent = JSON.stringify(argsOf(out as never));
    const echoed = { content: [{ type: 'text', text: `sent to ${sent}` }] };
    const back = await h.post!.after(toolCall({}), echoed, c);
    expect(JSON.stringify(back)).toContain('carol@example.com');
    expect(reads).toBe(0);
    // A later call holding the same token (not minted by it) reads the vault.
    const later = await h.post!.after(toolCall({}), echoed, ctx());
    expect(JSON.stringify(later)).toContain('carol@example.com');
    expect(reads).toBe(1);
  });
});

describe('a log message an upstream sends outside any call', () => {
  it('reaches listeners with the upstream’s PII masked, other fields and tokens untouched', () => {
    const h = hooksFor({ mode: 'tokenize' })!;
    const pipeline = new HookPipeline([h.pre], h.post ? [h.post] : []);
    const changes = new CatalogChanges(
      new Catalog(ConfigSchema.parse({}).namespace, silentLogger),
      silentLogger,
      (params) => pipeline.passing(params, undefined),
    );
    const seen: ChangeEvent[] = [];
    changes.onChange((e) => seen.push(e));
    const token = '<EMAIL_0123456789abcdef>';
    changes.upstreamNotification({ name: 'crm' } as Upstream, 'notifications/message', {
      level: 'warning',
      logger: 'crm',
      data: { msg: 'sync failed for jane.doe@example.org', card: '4242 4242 4242 4242', ref: token },
    });
    expect(seen).toEqual([
      {
        kind: 'log',
        upstream: 'crm',
        params: {
          level: 'warning',
          logger: 'crm',
          data: { msg: 'sync failed for <EMAIL_REDACTED>', card: '<CREDIT_CARD_REDACTED>', ref: token },
        },
      },
    ]);
  });
});
