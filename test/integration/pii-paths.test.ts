/**
 * PII beyond arguments and results (DESIGN.md, "Cedar policies and PII rules"): an upstream's JSON-RPC
 * error that quotes what it was given and holds PII of its own. The upstream sees only tokens; the
 * caller gets its own value back and the upstream's PII masked.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { startRecordingUpstream, UPSTREAM_PII } from '../fixtures/recording-upstream.ts';
import { startProxy } from '../helpers/federation.ts';
import { rawCall } from '../helpers/governance.ts';

let dir: string;
let recording: string;
let upstream: { url: string; close(): Promise<void> };
let app: App;
let url: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-fed-pii-paths-'));
  recording = join(dir, 'recording.bin');
  upstream = await startRecordingUpstream(recording);
  ({ app, url } = await startProxy({
    upstreams: [{ name: 'rec', url: upstream.url, catalogRefreshSeconds: 0 }],
    pii: { mode: 'tokenize' },
  }));
}, 30_000);

afterAll(async () => {
  await app?.close();
  await upstream?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('PII in an upstream error', () => {
  it('never reaches the upstream raw, and comes back with the caller’s value restored and the upstream’s masked', async () => {
    const email = 'maria.lopez@example.com';
    const reply = await rawCall(url, 'tools/call', { name: 'rec__refuse', arguments: { email } });
    const error = reply.json?.error as { message: string } | undefined;
    expect(error?.message).toContain(email);
    expect(error?.message).not.toContain(UPSTREAM_PII[0]);
    expect(error?.message).toMatch(/refused/);
    expect(await readFile(recording, 'utf8')).not.toContain(email);
  });
});
