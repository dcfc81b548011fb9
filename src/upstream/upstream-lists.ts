import type {
  Client,
  Prompt,
  Resource,
  ResourceTemplateType as ResourceTemplate,
  Tool,
} from '@modelcontextprotocol/client';

export type ListKind = 'tools' | 'prompts' | 'resources' | 'resourceTemplates';
export const LIST_KINDS: readonly ListKind[] = ['tools', 'prompts', 'resources', 'resourceTemplates'];

/** One upstream's catalog as it last listed it, with the cache hints it gave. */
export interface UpstreamLists {
  tools: Tool[];
  prompts: Prompt[];
  resources: Resource[];
  resourceTemplates: ResourceTemplate[];
  /** Smallest `ttlMs` the upstream attached to its list results; undefined when it gave none (2025-era). */
  ttlMs?: number;
  cacheScope?: 'public' | 'private';
  fetchedAt: number;
}

export const emptyLists = (): UpstreamLists => ({
  tools: [],
  prompts: [],
  resources: [],
  resourceTemplates: [],
  fetchedAt: 0,
});

const METHOD: Record<ListKind, string> = {
  tools: 'tools/list',
  prompts: 'prompts/list',
  resources: 'resources/list',
  resourceTemplates: 'resources/templates/list',
};

const LIST_CHANGED: Record<string, ListKind[]> = {
  'notifications/tools/list_changed': ['tools'],
  'notifications/prompts/list_changed': ['prompts'],
  'notifications/resources/list_changed': ['resources', 'resourceTemplates'],
};

/** The kinds a `notifications/…/list_changed` names (undefined for any other method). */
export function listChangedKinds(method: string): ListKind[] | undefined {
  return LIST_CHANGED[method];
}

/** Accepts any result: the proxy relays upstream results, it does not re-validate them. */
export const anyResult = {
  '~standard': { version: 1 as const, vendor: 'mcp-fed', validate: (value: unknown) => ({ value }) },
};

const MAX_PAGES = 1000;

interface Page {
  nextCursor?: string;
  ttlMs?: number;
  cacheScope?: 'public' | 'private';
  [k: string]: unknown;
}

/** Lists one kind, following the upstream's cursors to the end. */
export async function listAll(
  client: Client,
  kind: ListKind,
  timeoutMs: number,
): Promise<{ items: unknown[]; ttlMs?: number; cacheScope?: 'public' | 'private' }> {
  const items: unknown[] = [];
  let cursor: string | undefined;
  let ttlMs: number | undefined;
  let cacheScope: 'public' | 'private' | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const result = (await client.request(
      { method: METHOD[kind], params: cursor ? { cursor } : {} },
      anyResult,
      { timeout: timeoutMs },
    )) as Page;
    const pageItems = result[kind];
    if (Array.isArray(pageItems)) items.push(...pageItems);
    if (typeof result.ttlMs === 'number')
      ttlMs = ttlMs === undefined ? result.ttlMs : Math.min(ttlMs, result.ttlMs);
    if (result.cacheScope === 'private' || (result.cacheScope === 'public' && !cacheScope))
      cacheScope = result.cacheScope;
    if (!result.nextCursor || result.nextCursor === cursor) break;
    cursor = result.nextCursor;
  }
  return { items, ttlMs, cacheScope };
}

/** Which kinds an upstream offers, from its advertised capabilities. */
export function offeredKinds(capabilities: Record<string, unknown> | undefined): ListKind[] {
  const kinds: ListKind[] = [];
  if (capabilities?.tools) kinds.push('tools');
  if (capabilities?.prompts) kinds.push('prompts');
  if (capabilities?.resources) kinds.push('resources', 'resourceTemplates');
  return kinds;
}

/**
 * Lists `kinds` (each to its last page) over `client`, on top of `base` (the kinds not re-listed keep
 * theirs); the cache hints are the smallest TTL given and private if any page said so.
 */
export async function fetchLists(
  client: Client,
  kinds: ListKind[],
  timeoutMs: number,
  base = emptyLists(),
): Promise<UpstreamLists> {
  const next: UpstreamLists = { ...base, fetchedAt: Date.now() };
  let ttlMs: number | undefined;
  let cacheScope: 'public' | 'private' | undefined;
  const results = await Promise.all(kinds.map((k) => listAll(client, k, timeoutMs)));
  kinds.forEach((kind, i) => {
    const r = results[i]!;
    (next[kind] as unknown[]) = r.items;
    if (r.ttlMs !== undefined) ttlMs = ttlMs === undefined ? r.ttlMs : Math.min(ttlMs, r.ttlMs);
    if (r.cacheScope === 'private' || (r.cacheScope && !cacheScope)) cacheScope = r.cacheScope;
  });
  next.ttlMs = ttlMs ?? base.ttlMs;
  next.cacheScope = cacheScope ?? base.cacheScope;
  return next;
}

/** Tools by name, per listing: built once for each listing it is asked of. */
const toolIndexes = new WeakMap<UpstreamLists, Map<string, Tool>>();

/** A tool of `lists` by its upstream name. */
export function toolNamed(lists: UpstreamLists, name: string): Tool | undefined {
  let index = toolIndexes.get(lists);
  if (!index) {
    index = new Map(lists.tools.map((t) => [t.name, t]));
    toolIndexes.set(lists, index);
  }
  return index.get(name);
}

/**
 * Re-lists one at a time: kinds asked for while one runs are listed right after it, together. Two
 * overlapping re-lists could finish out of order and leave the older listing in place.
 */
export class SerialRelist {
  private running?: Promise<void>;
  private readonly wanted = new Set<ListKind>();

  constructor(private readonly run: (kinds: ListKind[]) => Promise<void>) {}

  /** Resolves once a re-list that includes `kinds` has finished. */
  request(kinds: readonly ListKind[]): Promise<void> {
    for (const kind of kinds) this.wanted.add(kind);
    this.running ??= (async () => {
      while (this.wanted.size > 0) {
        const batch = [...this.wanted];
        this.wanted.clear();
        await this.run(batch);
      }
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }
}
