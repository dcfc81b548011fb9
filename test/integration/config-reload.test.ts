/**
 * Config reload (DESIGN.md, "HTTP surface"): a new config applied to a running proxy without dropping
 * calls or sessions. Upstreams added, removed (drained: a call in flight finishes) and changed; ACL
 * changes seen by lists and calls, list_changed in the 2025 era; a changed hook module imported
 * afresh; restart-only sections and bad hooks refused with the running config kept.
 */
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { configVersion } from '../../src/config/version.ts';
import { eventually, modernClient, SAMPLES, startProxy, testConfig } from '../helpers/federation.ts';
import { legacyClientWith, rawCall, readAudit } from '../helpers/governance.ts';
import { type StartedServer, startServer } from '../helpers/spawn-server.ts';

let tools: StartedServer;
let content: StartedServer;
let app: App;
let url: string;
let dir: string;
let auditFile: string;
let hookFile: string;

const base = () => ({
  upstreams: [{ name: 'tools', url: tools.url, catalogRefreshSeconds: 0 }],
  audit: { sink: 'file', path: auditFile },
});
const toolNames = async (client: Client) => (await client.listTools()).tools.map((t) => t.name).sort();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-fed-reload-'));
  auditFile = join(dir, 'audit.jsonl');
  hookFile = join(dir, 'marker.mjs');
  [tools, content] = await Promise.all([
    startServer(SAMPLES.tools, ['--port', '0']),
    startServer(SAMPLES.content, ['--port', '0']),
  ]);
  ({ app, url } = await startProxy(base()));
}, 30_000);

afterAll(async () => {
  await app?.close();
  await Promise.all([tools?.stop(), content?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('config reload', () => {
  it('adds an upstream: connected and listed before it shows; clients of both eras hear list_changed', async () => {
    const modern = await modernClient(url);
    const { client: legacy } = await legacyClientWith(url, {});
    let heard = 0;
    legacy.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      heard++;
    });
    // A 2026-07-28 client hears it on its subscriptions/listen stream.
    let heardModern = 0;
    modern.setNotificationHandler('notifications/tools/list_changed' as never, () => {
      heardModern++;
    });
    await modern.listen({ toolsListChanged: true });
    expect((await toolNames(modern)).some((n) => n.startsWith('content__'))).toBe(false);
    const result = await app.reload(
      testConfig({
        ...base(),
        upstreams: [...base().upstreams, { name: 'content', url: content.url, catalogRefreshSeconds: 0 }],
      }),
    );
    expect(result).toMatchObject({ ok: true, upstreams: { added: ['content'], removed: [], changed: [] } });
    expect(await toolNames(modern)).toContain('content__bump');
    const bump = await modern.callTool({ name: 'content__bump', arguments: {} });
    expect(bump.isError).toBeFalsy();
    await eventually(() => {
      expect(heard).toBeGreaterThan(0);
      expect(heardModern).toBeGreaterThan(0);
    });
    // The same session keeps working after the reload.
    expect(
      (await legacy.callTool({ name: 'tools__echo', arguments: { text: 'still here' } })).isError,
    ).toBeFalsy();
    await Promise.all([modern.close(), legacy.close()]);
  });

  it('removes an upstream: its call in flight finishes, then its tools are gone', async () => {
    const slow = rawCall(url, 'tools/call', { name: 'content__slow_count', arguments: { n: 4 } });
    await new Promise((r) => setTimeout(r, 100));
    const reloaded = app.reload(testConfig(base()));
    const reply = await slow;
    expect(reply.json?.error).toBeUndefined();
    expect(await reloaded).toMatchObject({ ok: true, upstreams: { removed: ['content'] } });
    const after = await rawCall(url, 'tools/call', { name: 'content__bump', arguments: {} });
    expect(after.json?.error?.data?.code).toBe('UNKNOWN_TOOL');
    expect(app.federation.upstreams.map((u) => u.name)).toEqual(['tools']);
  });

  it('applies an ACL change to lists and calls; audit records name the config that judged each call', async () => {
    const echo = (id: string) =>
      rawCall(url, 'tools/call', { name: 'tools__echo', arguments: { text: id } }, { 'x-request-id': id });
    await echo('acl-1');
    const before = app.config;
    const denied = testConfig({
      ...base(),
      policies: { acl: [{ callers: ['*'], allow: ['tools__*'], deny: ['tools__echo'] }] },
    });
    // An ACL change alone lists nothing new, yet what this caller sees changed: it hears list_changed.
    const { client: listener } = await legacyClientWith(url, {});
    let heard = 0;
    listener.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      heard++;
    });
    // Notifications outside a request travel on the session's GET stream, which the client opens after
    // initializing: give it the moment it takes, or the notification goes before anyone listens.
    await new Promise((r) => setTimeout(r, 500));
    expect((await app.reload(denied)).ok).toBe(true);
    await eventually(() => expect(heard).toBeGreaterThan(0));
    await listener.close();
    const modern = await modernClient(url);
    expect(await toolNames(modern)).not.toContain('tools__echo');
    expect((await echo('acl-2')).json?.error?.data?.code).toBe('ACL_DENIED');
    await modern.close();
    expect((await app.reload(before)).ok).toBe(true);
    expect((await echo('acl-3')).json?.error).toBeUndefined();
    await app.close();
    const judged = Object.fromEntries(
      readAudit(auditFile)
        .filter((l) => String(l.request_id).startsWith('acl-'))
        .map((l) => [l.request_id, `${l.policy_decision} ${l.config_version}`]),
    );
    expect(judged).toEqual({
      'acl-1': `allow ${configVersion(before)}`,
      'acl-2': `deny_acl ${configVersion(denied)}`,
      'acl-3': `allow ${configVersion(before)}`,
    });
    ({ app, url } = await startProxy(base()));
  });

  it('imports a changed hook module afresh', async () => {
    const marker = async (word: string, mtime: number) => {
      await writeFile(
        hookFile,
        `export const after = (_c, r) => ({ outcome: 'mutate', result: { ...r, content: [...r.content, { type: 'text', text: '${word}' }] } });\n`,
      );
      await utimes(hookFile, mtime, mtime);
    };
    const withHook = () => testConfig({ ...base(), hooks: [{ name: 'marker', module: hookFile }] });
    await marker('first', 1_700_000_000);
    expect((await app.reload(withHook())).ok).toBe(true);
    const texts = async () => {
      const reply = await rawCall(url, 'tools/call', { name: 'tools__echo', arguments: { text: 'x' } });
      return ((reply.json?.result?.content ?? []) as { text: string }[]).map((c) => c.text);
    };
    expect(await texts()).toEqual(['x', 'first']);
    await marker('second', 1_700_000_100);
    expect((await app.reload(withHook())).ok).toBe(true);
    expect(await texts()).toEqual(['x', 'second']);
  });

  it('refuses restart-only changes and hooks that cannot load, and keeps the running config', async () => {
    const running = app.config;
    const moved = testConfig({ ...base(), listen: { host: '127.0.0.1', port: 1, path: '/other' } });
    const refused = await app.reload(moved);
    expect(refused).toEqual({
      ok: false,
      problems: [
        { path: 'listen', message: 'changed: needs a restart to apply (the running config is kept)' },
      ],
    });
    const broken = testConfig({ ...base(), hooks: [{ name: 'gone', module: join(dir, 'missing.mjs') }] });
    const bad = await app.reload(broken);
    expect(bad.ok).toBe(false);
    expect(app.config).toBe(running);
    const metrics = await (await fetch(new URL('/metrics', url))).text();
    expect(metrics).toMatch(/mcp_fed_config_reloads_total\{result="refused"\} 2/);
    expect(metrics).toMatch(/mcp_fed_config_reloads_total\{result="ok"\} [1-9]/);
  });
});
