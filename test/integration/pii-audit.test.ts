/**
 * The PII audit test (issue 5): a recording upstream writes every byte it receives; the planted corpus
 * goes through the proxy's echo tool, prompts/get and resources/read; no planted value may appear in
 * the recording, the audit log or the proxy's logs, and the caller must get its values back.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { startRecordingUpstream, UPSTREAM_PII } from '../fixtures/recording-upstream.ts';
import { rawCall } from '../helpers/governance.ts';
import { argumentsFor, leaked, type Planted, plantedCorpus, startLoggedProxy } from '../helpers/pii.ts';
import { privateRedis, type TestRedis } from '../helpers/redis.ts';

const KEYS = { alice: 'pii-audit-key-alice-0123', bob: 'pii-audit-key-bob-0123456' };
const as = (who: keyof typeof KEYS) => ({ 'x-api-key': KEYS[who] });
const corpus = plantedCorpus();
const BATCH = 32;
/** Values this file sends besides the corpus. */
const ALSO_SENT: Pick<Planted, 'entity' | 'value'>[] = [
  { entity: 'EMAIL', value: 'bob.smith@example.com' },
  { entity: 'EMAIL', value: 'bob@example.com' },
  { entity: 'SSN', value: '536-22-1234' },
  { entity: 'CREDIT_CARD', value: '4111 1111 1111 1111' },
];
type Result = Record<string, unknown> & {
  content?: { type: string; text?: string; resource?: { text: string } }[];
};

let dir: string;
let recording: string;
let upstream: { url: string; close(): Promise<void> };
let redis: TestRedis;
let proxy: { app: App; url: string; logs: () => string };
let auditFile: string;
let closed = false;
const record = () => readFile(recording, 'utf8');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pii-audit-'));
  recording = join(dir, 'upstream-recording.bin');
  auditFile = join(dir, 'audit.jsonl');
  upstream = await startRecordingUpstream(recording);
  redis = await privateRedis({ own: true });
  proxy = await startLoggedProxy({
    upstreams: [{ name: 'rec', url: upstream.url, catalogRefreshSeconds: 0 }],
    store: { kind: 'redis', url: redis.url, keyPrefix: 'pii-audit:' },
    inbound: {
      auth: {
        kind: 'apiKeys',
        keys: [
          { key: KEYS.alice, caller: 'alice' },
          { key: KEYS.bob, caller: 'bob' },
        ],
      },
    },
    pii: { mode: 'tokenize' },
    audit: { sink: 'file', path: auditFile },
    secrets: { vaultKey: 'pii-audit-test-vault-key-0123456789' },
  });
});

afterAll(async () => {
  if (!closed) await proxy?.app.close();
  await upstream?.close();
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function call(
  method: 'tools/call' | 'prompts/get' | 'resources/read',
  params: object,
  who: 'alice' | 'bob' = 'alice',
) {
  const reply = await rawCall(proxy.url, method, params as Record<string, unknown>, as(who));
  return { reply, result: reply.json?.result as Result | undefined, error: reply.json?.error };
}

describe('PII audit: tokenize mode', () => {
  it(`sends none of ${corpus.length} planted values upstream through echo, and gives every one back`, async () => {
    expect(corpus.length).toBeGreaterThanOrEqual(200);
    for (let i = 0; i < corpus.length; i += BATCH) {
      const args = argumentsFor(corpus.slice(i, i + BATCH));
      const { result, error } = await call('tools/call', { name: 'rec__echo', arguments: args });
      expect(error).toBeUndefined();
      expect(result?.content?.[0]?.text).toBe(args.text);
      expect(JSON.parse(result?.content?.[1]?.resource?.text ?? '{}')).toEqual(args);
      expect(result?.structuredContent).toEqual(args);
    }
    const wire = await record();
    expect(wire).toContain('"name":"echo"');
    for (const entity of ['EMAIL', 'PHONE', 'CREDIT_CARD', 'SSN', 'IBAN', 'IP_ADDRESS', 'AWS_ACCESS_KEY'])
      expect(wire).toMatch(new RegExp(`<${entity}_[0-9a-f]{16}>`));
    expect(leaked(wire, corpus)).toEqual([]);
  });

  it('gives the same value the same token within a scope, so the upstream can join on it', async () => {
    const before = (await record()).length;
    await call('tools/call', {
      name: 'rec__echo',
      arguments: { text: 'a bob@example.com b bob@example.com' },
    });
    const sent = (await record()).slice(before);
    const tokens = sent.match(/<EMAIL_[0-9a-f]{16}>/g) ?? [];
    expect(tokens).toHaveLength(2);
    expect(tokens[0]).toBe(tokens[1]);
  });

  it('covers prompts/get arguments', async () => {
    const planted: Planted[] = corpus.filter((_, i) => i % 20 === 0);
    const args = Object.fromEntries(planted.map((p, i) => [`arg${i}`, p.text]));
    const { result, error } = await call('prompts/get', { name: 'rec__echo_prompt', arguments: args });
    expect(error).toBeUndefined();
    const messages = result?.messages as { content: { text: string } }[];
    expect(messages.map((m) => m.content.text)).toEqual(Object.entries(args).map(([k, v]) => `${k}: ${v}`));
    expect(leaked(await record(), planted)).toEqual([]);
  });

  it('covers resources/read URIs, and gives the URI back in the contents', async () => {
    const uri = 'profile://bob.smith@example.com';
    const { result, error } = await call('resources/read', { uri });
    expect(error).toBeUndefined();
    expect(result?.contents).toEqual([{ uri, mimeType: 'text/plain', text: `profile of ${uri}` }]);
    const wire = await record();
    expect(wire).toMatch(/profile:\/\/<EMAIL_[0-9a-f]{16}>/);
    expect(leaked(wire, [{ entity: 'EMAIL', value: 'bob.smith@example.com' }])).toEqual([]);
  });

  it("leaves another caller's tokens as tokens", async () => {
    const before = (await record()).length;
    await call('tools/call', { name: 'rec__echo', arguments: { text: 'alice: 536-22-1234' } }, 'alice');
    const aliceToken = /<SSN_[0-9a-f]{16}>/.exec((await record()).slice(before))?.[0];
    expect(aliceToken).toBeDefined();
    const { result } = await call(
      'tools/call',
      { name: 'rec__echo', arguments: { text: `bob has ${aliceToken}` } },
      'bob',
    );
    expect(result?.content?.[0]?.text).toBe(`bob has ${aliceToken}`);
    // Bob's own token for the same value differs (scope-keyed hash) and resolves only for him.
    const mark = (await record()).length;
    const own = await call(
      'tools/call',
      { name: 'rec__echo', arguments: { text: 'bob: 536-22-1234' } },
      'bob',
    );
    expect(own.result?.content?.[0]?.text).toBe('bob: 536-22-1234');
    expect((await record()).slice(mark)).not.toContain(aliceToken);
  });

  it('masks PII that originates upstream', async () => {
    const { result } = await call('tools/call', { name: 'rec__leak', arguments: {} });
    const seen = JSON.stringify(result);
    expect(
      leaked(
        seen,
        UPSTREAM_PII.map((value) => ({ entity: 'EMAIL' as const, value })),
      ),
    ).toEqual([]);
    expect(result?.content?.[0]?.text).toBe(
      'customer <EMAIL_REDACTED>, card <CREDIT_CARD_REDACTED>, card <PHONE_REDACTED>',
    );
  });

  it('counts token hits and misses per entity', async () => {
    const metrics = await (await fetch(new URL('/metrics', proxy.url))).text();
    for (const entity of ['EMAIL', 'PHONE', 'CREDIT_CARD', 'SSN', 'IBAN', 'IP_ADDRESS', 'AWS_ACCESS_KEY'])
      expect(metrics).toMatch(
        new RegExp(`mcp_fed_pii_tokens_total\\{entity="${entity}",result="miss"\\} [1-9]`),
      );
    expect(metrics).toMatch(/mcp_fed_pii_tokens_total\{entity="EMAIL",result="hit"\} [1-9]/);
  });

  it('fails closed while the vault is down: nothing is forwarded, calls without PII still pass', async () => {
    await redis.stop();
    const before = (await record()).length;
    const { reply, error } = await call('tools/call', {
      name: 'rec__echo',
      arguments: { text: 'card 4111 1111 1111 1111' },
    });
    expect(error?.data?.code).toBe('STORE_UNAVAILABLE');
    expect(reply.status).toBe(503);
    expect(reply.text).not.toContain('4111');
    const clean = await call('tools/call', {
      name: 'rec__echo',
      arguments: { text: 'no personal data here' },
    });
    expect(clean.result?.content?.[0]?.text).toBe('no personal data here');
    const sent = (await record()).slice(before);
    expect(sent).not.toContain('4111');
    expect(sent).toContain('no personal data here');
    await redis.restart();
  });

  it('keeps every planted value out of the audit log, the metrics and the proxy logs', async () => {
    const metrics = await (await fetch(new URL('/metrics', proxy.url))).text();
    await proxy.app.close();
    closed = true;
    const audit = await readFile(auditFile, 'utf8');
    const lines = audit
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { redaction_tokens_ids: string[]; segment_start?: true })
      .filter((l) => !l.segment_start);
    expect(lines.length).toBeGreaterThanOrEqual(Math.ceil(corpus.length / BATCH));
    expect(lines.some((l) => l.redaction_tokens_ids.length > 0)).toBe(true);
    const everything = [...corpus, ...ALSO_SENT];
    expect(leaked(audit, everything)).toEqual([]);
    expect(leaked(metrics, everything)).toEqual([]);
    const logs = proxy.logs();
    expect(logs.length).toBeGreaterThan(0);
    expect(leaked(logs, everything)).toEqual([]);
  });
});
