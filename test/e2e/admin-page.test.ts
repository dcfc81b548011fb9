/**
 * The /admin status page (issue 14) in a real headless Chromium (Debian's `chromium`, driven by
 * playwright-core): behind admin.auth (401 without credentials, 403 for an inbound caller's key), no
 * console errors, an upstream going down and coming back, a denied call, a reload; phone-sized; no
 * secret, key or argument value anywhere in what it serves. A screenshot goes to test/artifacts/.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { eventually, SAMPLES, startProxy, testConfig } from '../helpers/federation.ts';
import { rawCall } from '../helpers/governance.ts';
import { REPO_ROOT, type StartedServer, startServer } from '../helpers/spawn-server.ts';

const ADMIN_KEY = 'admin-key-ops-0123456789ab';
const ALICE_KEY = 'caller-key-alice-012345678';
const VAULT_KEY = 'admin-test-vault-key-0123456789';
const SECRET_ARGUMENT = 'argument-value-that-must-not-show';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let tools: StartedServer;
let app: App;
let url: string;
let base: string;
let browser: Browser;

const raw = (deny: string[]) => ({
  upstreams: [{ name: 'tools', url: tools.url, catalogRefreshSeconds: 0 }],
  inbound: { auth: { kind: 'apiKeys', keys: [{ key: ALICE_KEY, caller: 'alice' }] } },
  admin: { enabled: true, auth: { kind: 'apiKeys', keys: [{ key: ADMIN_KEY, caller: 'ops' }] } },
  policies: { acl: [{ callers: ['*'], allow: ['tools__*'], deny }] },
  pii: { mode: 'tokenize' },
  secrets: { vaultKey: VAULT_KEY },
});

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `no Chromium at ${CHROMIUM}: install it (apt-get install -y chromium) or set CHROMIUM_PATH; .ci/run installs it`,
    );
  tools = await startServer(SAMPLES.tools, ['--port', '0']);
  ({ app, url } = await startProxy(raw(['tools__fail'])));
  base = new URL(url).origin;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
    });
  } catch (err) {
    throw new Error(`Chromium at ${CHROMIUM} would not start (${(err as Error).message}); reinstall it`);
  }
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await tools?.stop();
});

const as = (key: string) => ({ authorization: `Bearer ${key}` });

describe('/admin', () => {
  it('is behind admin.auth: 401 (Basic challenge) without credentials, 403 for a caller key, 200 for an admin key', async () => {
    const none = await fetch(`${base}/admin`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic realm="mcp-fed admin"/);
    expect(
      (await fetch(`${base}/admin/api/status`, { headers: as('wrong-key-0123456789abcdef') })).status,
    ).toBe(401);
    expect((await fetch(`${base}/admin/api/status`, { headers: as(ALICE_KEY) })).status).toBe(403);
    const basic = `Basic ${Buffer.from(`ops:${ADMIN_KEY}`).toString('base64')}`;
    expect((await fetch(`${base}/admin`, { headers: { authorization: basic } })).status).toBe(200);
    expect((await fetch(`${base}/admin/api/calls`, { headers: { 'x-api-key': ADMIN_KEY } })).status).toBe(
      200,
    );
  });

  it('serves JSON with upstreams, the catalog and recent calls, and never a secret or an argument value', async () => {
    await rawCall(
      url,
      'tools/call',
      { name: 'tools__echo', arguments: { text: SECRET_ARGUMENT } },
      as(ALICE_KEY),
    );
    const status = await (await fetch(`${base}/admin/api/status`, { headers: as(ADMIN_KEY) })).json();
    expect(status.upstreams[0]).toMatchObject({
      name: 'tools',
      state: 'ready',
      transport: 'streamable-http',
    });
    expect(status.upstreams[0].calls).toBeGreaterThan(0);
    expect(status.catalog.entries).toContainEqual({
      kind: 'tool',
      name: 'tools__echo',
      upstream: 'tools',
      upstreamName: 'echo',
      shortened: false,
    });
    expect(status.calls[0]).toMatchObject({
      caller: 'alice',
      tool: 'tools__echo',
      decision: 'allow',
      status: 'ok',
    });
    const text =
      JSON.stringify(status) + (await (await fetch(`${base}/admin`, { headers: as(ADMIN_KEY) })).text());
    for (const secret of [ADMIN_KEY, ALICE_KEY, VAULT_KEY, SECRET_ARGUMENT])
      expect(text).not.toContain(secret);
  });

  it('in Chromium, on a phone-sized screen: live upstream state, a denied call, a reload, no console errors', async () => {
    const context = await browser.newContext({
      httpCredentials: { username: 'ops', password: ADMIN_KEY },
      viewport: { width: 390, height: 844 },
    });
    const page: Page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${base}/admin`);
    const upstreamState = () => page.locator('#upstreams tbody tr').first().locator('td').nth(1);
    await page.waitForFunction(
      () => document.querySelector('#upstreams tbody td:nth-child(2)')?.textContent === 'ready',
    );

    await rawCall(url, 'tools/call', { name: 'tools__fail', arguments: {} }, as(ALICE_KEY));
    await page.locator('#calls tbody td', { hasText: 'deny_acl' }).first().waitFor({ timeout: 10_000 });

    await tools.stop();
    await rawCall(url, 'tools/call', { name: 'tools__echo', arguments: { text: 'x' } }, as(ALICE_KEY));
    await eventually(async () => expect(await upstreamState().textContent()).not.toBe('ready'), 10_000, 200);
    tools = await tools.restart();
    const back = Date.now();
    await eventually(async () => expect(await upstreamState().textContent()).toBe('ready'), 15_000, 200);
    expect(Date.now() - back).toBeLessThan(15_000);

    expect((await app.reload(testConfig(raw([])))).ok).toBe(true);
    await page.locator('#reload', { hasText: 'applied' }).waitFor({ timeout: 10_000 });

    // Usable on a phone: nothing but the tables' own scrolling boxes is wider than the screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await mkdir(`${REPO_ROOT}/test/artifacts`, { recursive: true });
    await page.screenshot({ path: `${REPO_ROOT}/test/artifacts/admin.png`, fullPage: true });
    await page.setViewportSize({ width: 1100, height: 800 });
    await page.screenshot({ path: `${REPO_ROOT}/test/artifacts/admin-desktop.png`, fullPage: true });
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);
});
