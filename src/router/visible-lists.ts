import type { Route } from '../catalog/catalog.ts';
import type { Caller } from '../hooks/pipeline.ts';
import type { ListKind } from '../upstream/upstream-lists.ts';

/**
 * Whether `caller` may see (and so use) the entry of `kind` with this public name (tools, prompts) or
 * URI (resources, templates): the glob ACL by name, Cedar by the entry's route too (looked up only when
 * asked, with its tool annotations).
 */
export type EntryAccess = (
  caller: Caller,
  kind: ListKind,
  name: string,
  route: () => (Route & { annotations?: Record<string, unknown> }) | undefined,
) => boolean;

const MAX_CALLERS = 1_000;

/**
 * Merged lists as each caller may see them (a caller never sees what it may not call). Filtered lists
 * are memoised per catalog list, whose array a rebuild replaces (dropping the old entries with it), and
 * per caller identity (id, groups, credential kind and claims: what a policy can read), so paging and
 * repeated lists filter once.
 */
export class VisibleLists {
  private readonly memo = new WeakMap<readonly unknown[], Map<string, unknown[]>>();

  constructor(
    private readonly access: EntryAccess,
    private readonly routeOf: (kind: ListKind, name: string) => Route | undefined,
  ) {}

  items(kind: ListKind, items: readonly unknown[], caller: Caller): readonly unknown[] {
    let perCaller = this.memo.get(items);
    if (!perCaller) {
      perCaller = new Map();
      this.memo.set(items, perCaller);
    }
    // Everything a policy may read of the caller: Cedar sees its kind and credential claims too.
    const key = `${caller.id}\0${caller.groups.join('\0')}\0${caller.kind ?? ''}\0${caller.claims ? JSON.stringify(caller.claims) : ''}`;
    let filtered = perCaller.get(key);
    if (!filtered) {
      filtered = items.filter((item) => {
        const name = entryName(kind, item);
        return this.access(caller, kind, name, () => this.routeOf(kind, name));
      });
      if (perCaller.size >= MAX_CALLERS) perCaller.clear();
      perCaller.set(key, filtered);
    }
    return filtered;
  }
}

/** The name the ACL matches for a list entry: tools and prompts by name, resources and templates by URI. */
function entryName(kind: ListKind, item: unknown): string {
  const entry = item as { name?: string; uri?: string; uriTemplate?: string };
  if (kind === 'resources') return entry.uri ?? '';
  if (kind === 'resourceTemplates') return entry.uriTemplate ?? '';
  return entry.name ?? '';
}
