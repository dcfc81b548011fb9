/**
 * The PII audit test: a recording upstream writes every byte it receives; the planted corpus goes
 * through every path a value travels (DESIGN.md, "Cedar policies and PII rules"): tool and prompt
 * arguments, resource URIs, completion arguments on the way up; results, structured content, embedded
 * and linked resources, resource contents, prompt messages, completion values, progress messages, log
 * notifications and upstream JSON-RPC errors on the way down, in both client eras. No planted value may
 * appear in the recording, the audit log, the metrics or the proxy's logs, and the caller must get its
 * values back while the upstream's own PII is masked.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { startRecordingUpstream, UPSTREAM_PII } from '../fixtures/recording-upstream.ts';
import { modernRequest, rawPost } from '../helpers/federation.ts';
import { legacyClientWith, rawCall } from '../helpers/governance.ts';
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

  describe('on the paths beside arguments and results', () => {
    // A sample of every entity; the texts say the value in a sentence, so each is PII standing alone.
    const planted = corpus.filter((_, i) => i % 15 === 0);
    const said = planted.map((p) => p.text).join(' | ');
    const email = planted.find((p) => p.entity === 'EMAIL')?.value ?? 'bob.smith@example.com';
    const MASKED = '<EMAIL_REDACTED>';
    const sentSince = async (mark: number) => (await record()).slice(mark);
    /** JSON-RPC messages of an SSE reply, in order. */
    const messages = (text: string) =>
      text
        .split('\n')
        .filter((l) => l.startsWith('data: {'))
        .map(
          (l) =>
            JSON.parse(l.slice(6)) as {
              method?: string;
              params?: Record<string, unknown>;
              result?: Record<string, unknown>;
            },
        );

    it('progress messages, log notifications and linked resources (2026-07-28 client)', async () => {
      const mark = (await record()).length;
      const { headers, body } = modernRequest(
        'tools/call',
        {
          name: 'rec__narrate',
          arguments: { text: said, id: email },
          _meta: { progressToken: 'pii-1', 'io.modelcontextprotocol/logLevel': 'debug' },
        },
        21,
        'rec__narrate',
      );
      const reply = await rawPost(proxy.url, body, { ...headers, ...as('alice') });
      const all = messages(reply.text);
      const progress = all.find((m) => m.method === 'notifications/progress');
      const log = all.find((m) => m.method === 'notifications/message');
      expect(progress?.params?.message).toBe(`working on ${said} for ${MASKED}`);
      expect(log?.params?.data).toEqual({ heard: said, owner: MASKED });
      expect(all.find((m) => m.result)?.result?.content).toEqual([
        { type: 'text', text: said },
        { type: 'resource_link', uri: `profile://${email}`, name: `profile of ${email}` },
      ]);
      const sent = await sentSince(mark);
      expect(sent).toContain('"name":"narrate"');
      expect(leaked(sent, planted)).toEqual([]);
    });

    it('progress messages and log notifications (2025-era client)', async () => {
      const mark = (await record()).length;
      const { client } = await legacyClientWith(proxy.url, as('alice'));
      const logs: unknown[] = [];
      client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
        logs.push(n.params.data);
      });
      await client.setLoggingLevel('debug');
      const progress: (string | undefined)[] = [];
      const result = await client.callTool(
        { name: 'rec__narrate', arguments: { text: said, id: email } },
        undefined,
        { onprogress: (p) => progress.push(p.message) },
      );
      await client.close();
      expect(progress).toEqual([`working on ${said} for ${MASKED}`]);
      expect(logs).toContainEqual({ heard: said, owner: MASKED });
      expect((result.content as { text?: string; uri?: string }[])[0]?.text).toBe(said);
      expect((result.content as { text?: string; uri?: string }[])[1]?.uri).toBe(`profile://${email}`);
      expect(leaked(await sentSince(mark), planted)).toEqual([]);
    });

    it('completion arguments and values', async () => {
      const mark = (await record()).length;
      const [typed, other] = planted;
      const { headers, body } = modernRequest('completion/complete', {
        ref: { type: 'ref/prompt', name: 'rec__echo_prompt' },
        argument: { name: 'name', value: typed?.text },
        context: { arguments: { note: other?.text } },
      });
      const reply = await rawPost(proxy.url, body, { ...headers, ...as('alice') });
      expect(reply.json?.error).toBeUndefined();
      expect((reply.json?.result?.completion as { values?: string[] } | undefined)?.values).toEqual([
        typed?.text,
        MASKED,
      ]);
      const sent = await sentSince(mark);
      expect(sent).toContain('completion/complete');
      expect(leaked(sent, planted.slice(0, 2))).toEqual([]);
    });

    it("upstream JSON-RPC errors: the caller's values back in message and data, the upstream's masked", async () => {
      const mark = (await record()).length;
      const args = { text: said };
      const { error } = await call('tools/call', { name: 'rec__refuse', arguments: args });
      expect(error?.message).toBe(`refused ${JSON.stringify(args)} for ${MASKED}`);
      expect(error?.data).toEqual({ given: args, owner: MASKED });
      expect(leaked(await sentSince(mark), planted)).toEqual([]);
    });
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
