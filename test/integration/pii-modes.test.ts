/**
 * The other PII modes and options through the real proxy, against the recording upstream: redact,
 * block, detokenizeResponses: false, responses: tokenize | off, and both protocol eras.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { startRecordingUpstream, UPSTREAM_PII } from '../fixtures/recording-upstream.ts';
import { legacyClient, modernClient } from '../helpers/federation.ts';
import { rawCall } from '../helpers/governance.ts';
import { leaked, type Planted, plantedCorpus, startLoggedProxy } from '../helpers/pii.ts';

const corpus = plantedCorpus();
const sample: Planted[] = corpus.filter((_, i) => i % 9 === 0);
const TEXT = sample.map((p) => p.text).join(' | ');
type Result = { content?: { type: string; text?: string }[]; structuredContent?: unknown };

let dir: string;
let recording: string;
let upstream: { url: string; close(): Promise<void> };
const apps: App[] = [];
const record = () => readFile(recording, 'utf8');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pii-modes-'));
  recording = join(dir, 'upstream-recording.bin');
  upstream = await startRecordingUpstream(recording);
});
afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
  await upstream?.close();
  await rm(dir, { recursive: true, force: true });
});

async function proxyWith(pii: Record<string, unknown>): Promise<string> {
  const { app, url } = await startLoggedProxy({
    upstreams: [{ name: 'rec', url: upstream.url, catalogRefreshSeconds: 0 }],
    pii,
  });
  apps.push(app);
  return url;
}

async function echo(url: string, text: string) {
  const before = (await record()).length;
  const reply = await rawCall(url, 'tools/call', {
    name: 'rec__echo',
    arguments: { text, nested: [{ text }] },
  });
  return {
    reply,
    result: reply.json?.result as Result | undefined,
    error: reply.json?.error,
    sent: (await record()).slice(before),
  };
}

describe('pii.mode redact', () => {
  it('masks every value irreversibly: the upstream and the caller both see masks', async () => {
    const url = await proxyWith({ mode: 'redact' });
    const { result, sent } = await echo(url, TEXT);
    expect(leaked(sent, sample)).toEqual([]);
    expect(sent).toContain('<EMAIL_REDACTED>');
    expect(sent).not.toMatch(/<[A-Z_]+_[0-9a-f]{16}>/);
    const back = result?.content?.[0]?.text ?? '';
    expect(leaked(back, sample)).toEqual([]);
    expect(back).toContain('<IBAN_REDACTED>');
  });
});

describe('pii.mode block', () => {
  let url: string;
  beforeAll(async () => {
    url = await proxyWith({ mode: 'block' });
  });

  it('refuses a call carrying PII with PII_BLOCKED, never echoing the value, and forwards nothing', async () => {
    const { error, sent, reply } = await echo(url, 'write to bob@example.com about 4111 1111 1111 1111');
    expect(error?.data?.code).toBe('PII_BLOCKED');
    expect(error?.data?.entities).toEqual(expect.arrayContaining(['EMAIL', 'CREDIT_CARD']));
    expect(reply.text).not.toContain('bob@example.com');
    expect(reply.text).not.toContain('4111');
    expect(sent).toBe('');
  });

  it('refuses prompts/get and resources/read with PII too, and passes calls without any', async () => {
    const prompt = await rawCall(url, 'prompts/get', {
      name: 'rec__echo_prompt',
      arguments: { name: 'SSN 536-22-1234' },
    });
    expect(prompt.json?.error?.data?.code).toBe('PII_BLOCKED');
    const read = await rawCall(url, 'resources/read', { uri: 'profile://192.0.2.44' });
    expect(read.json?.error?.data?.code).toBe('PII_BLOCKED');
    const { result } = await echo(url, 'release 2.10.4 on 2024-01-15, order ORD-2024-000123');
    expect(result?.content?.[0]?.text).toBe('release 2.10.4 on 2024-01-15, order ORD-2024-000123');
  });
});

describe('pii options', () => {
  it('detokenizeResponses: false leaves the tokens in the result', async () => {
    const url = await proxyWith({ mode: 'tokenize', detokenizeResponses: false });
    const { result, sent } = await echo(url, 'mail bob@example.com');
    const token = /<EMAIL_[0-9a-f]{16}>/.exec(sent)?.[0];
    expect(token).toBeDefined();
    expect(result?.content?.[0]?.text).toBe(`mail ${token}`);
  });

  it('responses: tokenize turns upstream PII into tokens that never resolve for the caller', async () => {
    const url = await proxyWith({ mode: 'tokenize', responses: 'tokenize' });
    const leak = await rawCall(url, 'tools/call', { name: 'rec__leak', arguments: {} });
    const text = (leak.json?.result as Result | undefined)?.content?.[0]?.text ?? '';
    expect(
      leaked(
        text,
        UPSTREAM_PII.map((value) => ({ entity: 'EMAIL' as const, value })),
      ),
    ).toEqual([]);
    const token = /<EMAIL_[0-9a-f]{16}>/.exec(text)?.[0];
    expect(token).toBeDefined();
    // Sent back through an echo, the token stays a token: it lives in a scope the caller cannot read.
    const { result } = await echo(url, `who is ${token}?`);
    expect(result?.content?.[0]?.text).toBe(`who is ${token}?`);
  });

  it('responses: off passes upstream PII through (tokenize still protects arguments)', async () => {
    const url = await proxyWith({ mode: 'tokenize', responses: 'off' });
    const leak = await rawCall(url, 'tools/call', { name: 'rec__leak', arguments: {} });
    expect((leak.json?.result as Result | undefined)?.content?.[0]?.text).toContain(UPSTREAM_PII[0]);
    const { result, sent } = await echo(url, TEXT);
    expect(leaked(sent, sample)).toEqual([]);
    expect(result?.content?.[0]?.text).toBe(TEXT);
  });
});

describe('both protocol eras', () => {
  it('tokenizes for a 2026-07-28 SDK client and a 2025-11-25 session client alike', async () => {
    const url = await proxyWith({ mode: 'tokenize' });
    const modern = await modernClient(url);
    const legacy = await legacyClient(url);
    try {
      for (const call of [
        (args: Record<string, unknown>) => modern.callTool({ name: 'rec__echo', arguments: args }),
        (args: Record<string, unknown>) => legacy.client.callTool({ name: 'rec__echo', arguments: args }),
      ]) {
        const before = (await record()).length;
        const result = (await call({ text: TEXT })) as Result;
        expect(result.content?.[0]?.text).toBe(TEXT);
        expect(leaked((await record()).slice(before), sample)).toEqual([]);
      }
    } finally {
      await modern.close();
      await legacy.client.close();
    }
  });
});
