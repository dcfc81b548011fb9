import type { Catalog, Route } from '../catalog/catalog.ts';
import { ProxyError } from '../errors.ts';
import type { Logger } from '../log.ts';

/**
 * resources/subscribe and unsubscribe of 2025-era clients: the upstream that owns the URI follows it
 * while at least one downstream subscriber does, in whichever way its era allows (a 2026-07-28
 * upstream has no resources/subscribe: forwarding it failed with -32046). The upstream subscription is
 * shared by every subscriber, so it carries no one caller's correlation.
 */
export async function followResource(
  catalog: Catalog,
  method: 'resources/subscribe' | 'resources/unsubscribe',
  uri: string,
): Promise<Record<string, never>> {
  const route = catalog.resolveResource(uri);
  if (!route) throw new ProxyError('UNKNOWN_RESOURCE', `unknown resource: ${uri}`, { uri });
  await (method === 'resources/subscribe'
    ? route.upstream.watch(route.name)
    : route.upstream.unwatch(route.name));
  return {};
}

/**
 * A 2026-07-28 `subscriptions/listen` on its way to the SDK handler (which serves the stream itself):
 * the upstreams follow its `resourceSubscriptions` until the returned release runs (when the stream
 * ends). Undefined for any other message. URIs no upstream owns are left to the SDK's filter.
 */
export function watchListenResources(catalog: Catalog, body: unknown, log: Logger): (() => void) | undefined {
  const msg = body as { method?: unknown; params?: { notifications?: { resourceSubscriptions?: unknown } } };
  const uris =
    msg?.method === 'subscriptions/listen' ? msg.params?.notifications?.resourceSubscriptions : undefined;
  if (!Array.isArray(uris)) return undefined;
  const routes = [...new Set(uris.filter((u): u is string => typeof u === 'string'))]
    .map((uri) => catalog.resolveResource(uri))
    .filter((r): r is Route => r !== undefined);
  if (routes.length === 0) return undefined;
  const ignore = (err: Error) => log.debug({ err: err.message }, 'listen resource watch failed');
  for (const r of routes) r.upstream.watch(r.name).catch(ignore);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    for (const r of routes) r.upstream.unwatch(r.name).catch(ignore);
  };
}
