import type { Catalog, Route } from '../catalog/catalog.ts';
import { ProxyError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { SessionBinding } from '../upstream/upstream-sessions.ts';
import type { CallerBindings } from './caller-bindings.ts';

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
  session?: SessionBinding,
): Promise<Record<string, never>> {
  const route = catalog.resolveResource(uri);
  if (!route) throw new ProxyError('UNKNOWN_RESOURCE', `unknown resource: ${uri}`, { uri });
  // A stateful 2025-era HTTP upstream keeps the subscription in the client's own upstream session,
  // as it would for that client directly; its updates come back on that session's GET stream.
  if (session && route.upstream.subscribesPerClient) {
    await route.upstream.request(method, { uri: route.name }, { session });
    return {};
  }
  await (method === 'resources/subscribe'
    ? route.upstream.watch(route.name)
    : route.upstream.unwatch(route.name));
  return {};
}

/** Whether a session's subscription to `uri` lives in its own upstream session (nothing shared to follow). */
export function heldInSession(catalog: Catalog, uri: string): boolean {
  return catalog.resolveResource(uri)?.upstream.subscribesPerClient === true;
}

/**
 * A 2026-07-28 `subscriptions/listen` on its way to the SDK handler (which serves the stream itself):
 * the upstreams follow its `resourceSubscriptions` until the returned release runs (when the stream
 * ends). Undefined for any other message. URIs no upstream owns are left to the SDK's filter.
 */
export function watchListenResources(
  catalog: Catalog,
  body: unknown,
  log: Logger,
  /** The listening caller's own upstream sessions, for upstreams that keep subscriptions per client. */
  caller?: { binding: () => SessionBinding; bindings: CallerBindings },
): (() => void) | undefined {
  const msg = body as { method?: unknown; params?: { notifications?: { resourceSubscriptions?: unknown } } };
  const uris =
    msg?.method === 'subscriptions/listen' ? msg.params?.notifications?.resourceSubscriptions : undefined;
  if (!Array.isArray(uris)) return undefined;
  const routes = [...new Set(uris.filter((u): u is string => typeof u === 'string'))]
    .map((uri) => catalog.resolveResource(uri))
    .filter((r): r is Route => r !== undefined);
  if (routes.length === 0) return undefined;
  const ignore = (err: Error) => log.debug({ err: err.message }, 'listen resource watch failed');
  let binding: SessionBinding | undefined;
  const follow = (r: Route, on: boolean) => {
    if (caller && r.upstream.subscribesPerClient) {
      binding ??= caller.binding();
      return caller.bindings.follow(binding, r.upstream, r.name, on);
    }
    return on ? r.upstream.watch(r.name) : r.upstream.unwatch(r.name);
  };
  for (const r of routes) follow(r, true).catch(ignore);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    for (const r of routes) follow(r, false).catch(ignore);
  };
}
