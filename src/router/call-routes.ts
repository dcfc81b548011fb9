import type { Catalog, Route } from '../catalog/catalog.ts';
import { ProxyError } from '../errors.ts';
import type { CallMethod } from '../hooks/pipeline.ts';
import { declaredParamHeaders, paramHeaderMismatch } from '../upstream/http/param-headers.ts';
import type { Upstream } from '../upstream/upstream.ts';

/** The route of a call's public tool or prompt name (or resource URI); throws UNKNOWN_* when none. */
export function routeCall(catalog: Catalog, method: CallMethod, params: Record<string, unknown>): Route {
  if (method === 'resources/read') {
    const uri = params.uri;
    const route = typeof uri === 'string' ? catalog.resolveResource(uri) : undefined;
    if (!route) throw new ProxyError('UNKNOWN_RESOURCE', `unknown resource: ${String(uri)}`, { uri });
    return route;
  }
  const name = params.name;
  const route =
    typeof name === 'string'
      ? method === 'tools/call'
        ? catalog.resolveTool(name)
        : catalog.resolvePrompt(name)
      : undefined;
  if (route) return route;
  if (method === 'tools/call')
    throw new ProxyError('UNKNOWN_TOOL', `unknown tool: ${String(name)}`, { name });
  throw new ProxyError('UNKNOWN_PROMPT', `unknown prompt: ${String(name)}`, { name });
}

/** resources/read contents name their URI; give back the public form the client asked with. */
export function publicReadResult(
  catalog: Catalog,
  up: Upstream,
  result: Record<string, unknown>,
): Record<string, unknown> {
  const contents = result.contents;
  if (!Array.isArray(contents)) return result;
  let changed = false;
  const mapped = contents.map((c: Record<string, unknown>) => {
    if (typeof c?.uri !== 'string') return c;
    const uri = catalog.publicResourceUri(up, c.uri);
    if (uri === c.uri) return c;
    changed = true;
    return { ...c, uri };
  });
  return changed ? { ...result, contents: mapped } : result;
}

/**
 * The route of a completion/complete `ref` (a prompt name or resource template URI) and the ref as its
 * upstream names it; both undefined when the catalog knows neither.
 */
export function routeCompletion(
  catalog: Catalog,
  ref: { type?: string; name?: string; uri?: string } | undefined,
): { route: Route | undefined; nextRef: Record<string, unknown> | undefined } {
  let route: Route | undefined;
  let nextRef: Record<string, unknown> | undefined;
  if (ref?.type === 'ref/prompt' && typeof ref.name === 'string') {
    route = catalog.resolvePrompt(ref.name);
    if (route) nextRef = { ...ref, name: route.name };
  } else if (ref?.type === 'ref/resource' && typeof ref.uri === 'string') {
    route = catalog.resolveTemplateOwner(ref.uri);
    if (route) nextRef = { ...ref, uri: route.name };
  }
  return { route, nextRef };
}

/** SEP-2243: what a tools/call's `Mcp-Param-*` headers and arguments disagree on, by its tool's schema. */
export function paramHeadersDisagree(
  catalog: Catalog,
  body: unknown,
  headers: Record<string, string | string[] | undefined>,
): string | undefined {
  const msg = body as { method?: unknown; params?: { name?: unknown; arguments?: unknown } };
  if (msg?.method !== 'tools/call' || typeof msg.params?.name !== 'string') return undefined;
  const route = catalog.resolveTool(msg.params.name);
  const declared = declaredParamHeaders(route?.upstream.toolNamed(route.name)?.inputSchema);
  return declared.length ? paramHeaderMismatch(declared, msg.params.arguments, headers) : undefined;
}
