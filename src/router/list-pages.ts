import type { Upstream } from '../upstream/upstream.ts';
import type { ListKind } from '../upstream/upstream-lists.ts';

export const PAGE_SIZE = 100;
const RESULT_PAGE_KEYS: Record<ListKind, string> = {
  tools: 'tools',
  prompts: 'prompts',
  resources: 'resources',
  resourceTemplates: 'resourceTemplates',
};

export interface CacheHints {
  ttlMs: number;
  cacheScope: 'public' | 'private';
}

/** One page of a merged list as the list result carries it, with its cache hints. */
export function listResult(
  kind: ListKind,
  page: unknown[],
  nextCursor: string | undefined,
  hints: CacheHints,
): Record<string, unknown> {
  const result: Record<string, unknown> = { [RESULT_PAGE_KEYS[kind]]: page };
  if (nextCursor) result.nextCursor = nextCursor;
  result.ttlMs = hints.ttlMs;
  result.cacheScope = hints.cacheScope;
  return result;
}

/** The shortest TTL of the ready upstreams' lists; private when any of them is, or when an ACL filters. */
export function cacheHints(upstreams: readonly Upstream[], filtered: boolean): CacheHints {
  let ttlMs = Number.POSITIVE_INFINITY;
  let scope: 'public' | 'private' = filtered ? 'private' : 'public';
  for (const u of upstreams) {
    if (u.state !== 'ready') continue;
    ttlMs = Math.min(ttlMs, u.lists.ttlMs ?? 0);
    if (u.lists.cacheScope !== 'public') scope = 'private';
  }
  return { ttlMs: Number.isFinite(ttlMs) ? ttlMs : 0, cacheScope: scope };
}
