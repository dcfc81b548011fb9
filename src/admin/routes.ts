import { Hono } from 'hono';
import type { AdminConfig, InboundAuthConfig } from '../config/schema.ts';
import { adminAuth } from './admin-auth.ts';
import { ADMIN_PAGE } from './page.ts';
import { adminStatus, type StatusSources } from './status.ts';

/**
 * `/admin` (the status page) and `/admin/api/*` (the same data as JSON), behind `admin.auth`. Mounted
 * only with `admin.enabled`. Every answer is `no-store`: it is live state, and may name callers.
 */
export function adminPage(admin: AdminConfig, inbound: InboundAuthConfig, src: StatusSources): Hono {
  const app = new Hono();
  const check = adminAuth(admin.auth as NonNullable<AdminConfig['auth']>, inbound);
  app.use('/admin', guard);
  app.use('/admin/*', guard);
  async function guard(c: Parameters<Parameters<Hono['use']>[1]>[0], next: () => Promise<void>) {
    const verdict = await check(c.req.raw.headers);
    c.header('cache-control', 'no-store');
    if (!verdict.ok) {
      if (verdict.status === 401)
        c.header('www-authenticate', 'Basic realm="mcp-fed admin", charset="UTF-8"');
      return c.json({ error: verdict.message }, verdict.status);
    }
    await next();
  }
  app.get('/admin', (c) => {
    c.header(
      'content-security-policy',
      "default-src 'self'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'",
    );
    return c.html(ADMIN_PAGE);
  });
  app.get('/admin/api/status', async (c) => c.json(await adminStatus(src)));
  app.get('/admin/api/upstreams', async (c) => c.json((await adminStatus(src)).upstreams));
  app.get('/admin/api/catalog', async (c) => c.json((await adminStatus(src)).catalog));
  app.get('/admin/api/calls', async (c) => {
    const s = await adminStatus(src);
    return c.json({ calls: s.calls, decisions: s.decisions });
  });
  return app;
}
