import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { type Context, Hono } from 'hono';
import { getCookie } from 'hono/cookie';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { GrantStore } from '../store/grant-store.ts';
import {
  CONSENT_COOKIE,
  ConsentRefused,
  cookieMatches,
  readConsent,
  takeState,
} from '../upstream/auth/consent-flow.ts';
import type { UserOAuthAuth } from '../upstream/auth/user-oauth.ts';
import type { AuthOutcome } from './auth/types.ts';

export interface OAuthRouteDeps {
  grants: GrantStore;
  /** The userOAuth adapter of an upstream in force, by name. */
  userOAuth(upstream: string): UserOAuthAuth | undefined;
  /** The proxy's inbound auth (withdrawing a grant is the caller's own act). */
  authenticate(req: IncomingMessage): AuthOutcome | Promise<AuthOutcome>;
}

const PAGE_HEADERS = {
  'cache-control': 'no-store',
  // The callback URL holds the code: no page of ours passes it on, and nothing loads from elsewhere.
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
  'x-content-type-options': 'nosniff',
};

/** One cookie per started flow, so two consents in one browser (two upstreams) do not clobber each other. */
export function consentCookieName(state: string): string {
  return `${CONSENT_COOKIE}-${createHash('sha256').update(state).digest('hex').slice(0, 16)}`;
}

/**
 * The per-user OAuth surface (DESIGN.md, "Acting for the caller"): `GET /oauth/start/{elicitationId}`
 * (the link a caller without a grant is given), `GET /oauth/callback` (where the authorization server
 * sends the browser back) and `DELETE /oauth/grants/{upstream}` (the caller withdraws its consent).
 * The browser pages are plain text in HTML; nothing secret is ever shown.
 */
export function oauthRoutes(deps: OAuthRouteDeps): Hono<{ Bindings: { incoming: IncomingMessage } }> {
  const app = new Hono<{ Bindings: { incoming: IncomingMessage } }>();

  app.get('/oauth/start/:id', async (c) => {
    const record = await readConsent(deps.grants, c.req.param('id')).catch(() => null);
    if (record === null)
      return page(c, 503, 'The proxy cannot reach its store right now; try the link again.');
    if (!record)
      return page(c, 404, 'This link is unknown or has expired. Ask your agent again for a new one.');
    const adapter = deps.userOAuth(record.upstream);
    if (!adapter || adapter.binding !== record.binding)
      return page(c, 410, 'This upstream has changed since the link was made. Ask your agent again.');
    let started: { location: string; cookie: string; state: string };
    try {
      started = await adapter.consent.start(record, c.req.param('id'));
    } catch {
      return page(c, 502, 'The authorization server could not be reached; try the link again shortly.');
    }
    const name = consentCookieName(started.state);
    return c.body(null, 302, {
      ...PAGE_HEADERS,
      location: started.location,
      'set-cookie': `${name}=${started.cookie}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=600`,
    });
  });

  app.get('/oauth/callback', async (c) => {
    const state = c.req.query('state');
    if (!state) return page(c, 400, 'The authorization response names no state.');
    const name = consentCookieName(state);
    const cookie = getCookie(c, name);
    // Spent before anything else is checked: a state is good for one callback, whatever its fate.
    const started = await takeState(deps.grants, state).catch(() => null);
    if (started === null) return page(c, 503, 'The proxy cannot reach its store right now; start again.');
    const clear = { 'set-cookie': `${name}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0` };
    if (!started)
      return page(c, 400, 'This authorization is unknown, already used or expired. Start again.', clear);
    if (!cookieMatches(started, cookie))
      return page(c, 400, 'Open the link in the same browser that finishes the sign-in. Start again.', clear);
    const adapter = deps.userOAuth(started.upstream);
    if (!adapter || adapter.binding !== started.binding)
      return page(
        c,
        410,
        'This upstream has changed since the sign-in started. Ask your agent again.',
        clear,
      );
    try {
      await adapter.consent.finish(started, new URL(c.req.url).searchParams);
    } catch (err) {
      if (err instanceof ConsentRefused) return page(c, err.status, err.message, clear);
      return page(c, 503, 'The grant could not be stored; start again shortly.', clear);
    }
    return page(
      c,
      200,
      `Access to "${started.upstream}" is granted. You can close this tab and return to your agent.`,
      clear,
    );
  });

  app.delete('/oauth/grants/:upstream', async (c) => {
    const outcome = await deps.authenticate(c.env.incoming);
    if (!outcome.ok) return c.json({ error: 'a valid caller credential is required' }, 401);
    const adapter = deps.userOAuth(c.req.param('upstream'));
    if (!adapter) return c.json({ error: 'no upstream of that name acts with per-user OAuth' }, 404);
    const revoked = await adapter.withdraw(outcome.caller.id).catch(() => null);
    if (revoked === null) return c.json({ error: 'the grant store is unavailable' }, 503);
    return c.json({ upstream: adapter.upstream, revoked });
  });

  return app;
}

function page(c: Context, status: number, text: string, extra: Record<string, string> = {}): Response {
  const body = `<!doctype html><meta charset="utf-8"><title>mcp-fed</title><p style="font:16px sans-serif;margin:3em">${escapeHtml(text)}</p>`;
  return c.body(body, status as ContentfulStatusCode, {
    ...PAGE_HEADERS,
    'content-type': 'text/html; charset=utf-8',
    ...extra,
  });
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
