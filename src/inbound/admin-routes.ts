import { Hono } from 'hono';
import type { HookStatus } from '../hooks/custom/index.ts';
import type { Federation } from '../router/federation.ts';
import type { Metrics } from '../telemetry/metrics.ts';

export interface ReadinessSource {
  storeReady(): Promise<boolean>;
  /** Your own hooks; a remote one that refuses connections is listed `unreachable` (ready is unchanged). */
  hooks?(): Promise<HookStatus[]>;
}

/** `/healthz`, `/readyz` and `/metrics`: plain routes, tested with `app.request()`. */
export function adminRoutes(fed: Federation, metrics: Metrics, readiness: ReadinessSource): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const store = await readiness.storeReady().catch(() => false);
    const upstreams = fed.upstreams.map((u) => ({
      name: u.name,
      state: u.state,
      required: u.config.required,
      era: u.era ?? null,
      tools: u.lists.tools.length,
      prompts: u.lists.prompts.length,
      resources: u.lists.resources.length,
      ...(u.lastError && u.state !== 'ready' ? { error: u.lastError } : {}),
    }));
    const notReady = upstreams.filter((u) => u.required && u.state !== 'ready').map((u) => u.name);
    const ready = store && notReady.length === 0;
    const hooks = (await readiness.hooks?.().catch(() => [])) ?? [];
    return c.json(
      { ready, store: store ? 'ok' : 'unavailable', notReady, upstreams, ...(hooks.length > 0 && { hooks }) },
      ready ? 200 : 503,
    );
  });
  app.get('/metrics', async (c) => {
    return c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType });
  });
  app.notFound((c) => c.json({ error: 'not found' }, 404));
  return app;
}
