/**
 * Ten reloads alternating two configs while calls run (issue 14): governance on (API keys, glob ACL,
 * rate limit, PII tokenize, audit file, a hook of yours), a 2026-07-28 load and a 2025-era session at
 * once. Zero failed calls (both configs allow them), and each call is judged by exactly one config:
 * the hook that marked its result and the audit record's config_version name the same one.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app.ts';
import type { Config } from '../../src/config/schema.ts';
import { configVersion } from '../../src/config/version.ts';
import { silentLogger } from '../../src/log.ts';
import { SAMPLES, testConfig } from '../helpers/federation.ts';
import { legacyClientWith, rawCall, readAudit } from '../helpers/governance.ts';
import { type StartedServer, startServer } from '../helpers/spawn-server.ts';

const KEY = 'reload-load-key-0123456789';
let tools: StartedServer;
let app: App;
let url: string;
let dir: string;
let configs: Record<'A' | 'B', Config>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-fed-reload-load-'));
  tools = await startServer(SAMPLES.tools, ['--port', '0']);
  const config = async (letter: 'A' | 'B') => {
    const module = join(dir, `mark-${letter}.mjs`);
    await writeFile(
      module,
      `export const after = (_c, r) => ({ outcome: 'mutate', result: { ...r, _meta: { ...r._meta, judgedBy: '${letter}' } } });\n`,
    );
    return testConfig({
      upstreams: [{ name: 'tools', url: tools.url, catalogRefreshSeconds: 0 }],
      inbound: { auth: { kind: 'apiKeys', keys: [{ key: KEY, caller: 'loader' }] } },
      policies: {
        acl: [{ callers: ['*'], allow: ['tools__*'], deny: letter === 'B' ? ['tools__fail'] : [] }],
        rateLimits: [{ callers: ['*'], tools: ['*'], perMinute: letter === 'A' ? 100_000 : 90_000 }],
      },
      pii: { mode: 'tokenize' },
      audit: { sink: 'file', path: join(dir, 'audit.jsonl') },
      hooks: [{ name: `mark-${letter}`, module }],
    });
  };
  configs = { A: await config('A'), B: await config('B') };
  app = await createApp(configs.A, { log: silentLogger, upstreamWaitMs: 10_000 });
  url = await app.listen(0, '127.0.0.1');
}, 30_000);

afterAll(async () => {
  await app?.close();
  await tools?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('reload under load', () => {
  it('drops no call and judges each by exactly one config', async () => {
    let running = true;
    const marks = new Map<string, string>();
    const failures: string[] = [];
    let n = 0;
    const modernWorker = async (w: number) => {
      while (running) {
        const id = `load-${w}-${n++}`;
        const reply = await rawCall(
          url,
          'tools/call',
          { name: 'tools__echo', arguments: { text: `mail ana.lima@example.com ${id}` } },
          { 'x-api-key': KEY, 'x-request-id': id },
        );
        const result = reply.json?.result as { content: { text: string }[]; _meta?: { judgedBy?: string } };
        if (!result || result.content[0]?.text !== `mail ana.lima@example.com ${id}`)
          failures.push(`${id}: ${reply.text}`);
        else marks.set(id, String(result._meta?.judgedBy));
      }
    };
    const { client: legacy } = await legacyClientWith(url, { 'x-api-key': KEY });
    let legacyCalls = 0;
    const legacyWorker = async () => {
      while (running) {
        const r = await legacy
          .callTool({ name: 'tools__echo', arguments: { text: 'legacy' } })
          .catch((e: Error) => e);
        if (r instanceof Error || r.isError)
          failures.push(`legacy: ${String(r instanceof Error ? r.message : r.content)}`);
        legacyCalls++;
      }
    };
    const workers = [...Array.from({ length: 6 }, (_, w) => modernWorker(w)), legacyWorker()];
    const results = [];
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setTimeout(r, 120));
      results.push(await app.reload(i % 2 === 0 ? configs.B : configs.A));
    }
    await new Promise((r) => setTimeout(r, 120));
    running = false;
    await Promise.all(workers);
    await legacy.close();
    expect(results.every((r) => r.ok)).toBe(true);
    expect(failures).toEqual([]);
    expect(marks.size).toBeGreaterThan(100);
    expect(legacyCalls).toBeGreaterThan(10);
    expect(new Set(marks.values())).toEqual(new Set(['A', 'B']));

    await app.close();
    const version = { A: configVersion(configs.A), B: configVersion(configs.B) };
    const audited = new Map(
      readAudit(join(dir, 'audit.jsonl')).map((l) => [String(l.request_id), String(l.config_version)]),
    );
    const mismatched = [...marks].filter(([id, mark]) => audited.get(id) !== version[mark as 'A' | 'B']);
    expect(mismatched).toEqual([]);
  }, 60_000);
});
