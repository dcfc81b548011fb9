import type { Catalog } from '../catalog/catalog.ts';
import type { Logger } from '../log.ts';
import type { Upstream } from '../upstream/upstream.ts';
import { LIST_KINDS, type ListKind, listChangedKinds } from '../upstream/upstream-lists.ts';
import type { ChangeEvent } from './types.ts';

/**
 * What the router tells the downstream side: catalog rebuilds that really changed a merged list (and
 * the list versions they bump), resource updates and upstream log messages, to every listener.
 */
export class CatalogChanges {
  private readonly listeners = new Set<(e: ChangeEvent) => void>();
  /**
   * The version list cursors carry, one per merged list, bumped only when that list really changed.
   * (The catalog's own version moves on every rebuild, periodic re-lists included, which made every
   * open cursor fail each `catalogRefreshSeconds` although nothing had changed.)
   */
  private readonly listVersions: Record<ListKind, number> = {
    tools: 0,
    prompts: 0,
    resources: 0,
    resourceTemplates: 0,
  };

  constructor(
    private readonly catalog: Catalog,
    private readonly log: Logger,
    /** Scans a log message's params on its way down (PII: the upstream's own values masked). */
    private readonly scanLog: (params: Record<string, unknown>) => Record<string, unknown> = (p) => p,
  ) {}

  /** The version of one merged list, for its cursors. */
  version(kind: ListKind): number {
    return this.listVersions[kind];
  }

  onChange(listener: (e: ChangeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resource updates (under their public URI) and log messages an upstream sent outside any call. */
  upstreamNotification(up: Upstream, method: string, params: Record<string, unknown> | undefined): void {
    if (method === 'notifications/resources/updated' && typeof params?.uri === 'string') {
      this.emit({ kind: 'resource_updated', uri: this.catalog.publicResourceUri(up, params.uri), params });
    } else if (method === 'notifications/message' && params) {
      this.emit({ kind: 'log', upstream: up.name, params: this.scanLog(params) });
    }
  }

  /**
   * A list_changed from one client's own upstream session: the change may be that session's alone
   * (server-everything's session resources), which no re-list of the shared catalog shows, so the
   * clients are told as such.
   */
  sessionListChanged(method: string): void {
    // resources/list_changed names resources and their templates: one `resources` change downstream.
    const kind = listChangedKinds(method)?.[0];
    if (kind === 'tools' || kind === 'prompts' || kind === 'resources') this.emit({ kind });
  }

  /**
   * A reload may have changed what callers see (upstreams, expose, ACL, Cedar) in ways no list
   * comparison shows (a caller's own view): every list counts as changed.
   */
  visibilityChanged(): void {
    for (const k of LIST_KINDS) this.listVersions[k]++;
    this.emit({ kind: 'tools' });
    this.emit({ kind: 'prompts' });
    this.emit({ kind: 'resources' });
  }

  private emit(e: ChangeEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'change listener failed');
      }
    }
  }

  /**
   * Rebuilds the merged catalog and reports the lists that really changed. Every kind is compared, not
   * only the kinds the upstream re-listed: a rebuild can also change another kind's merged list (an
   * upstream going down takes all of its lists with it).
   */
  catalogChanged(upstreams: readonly Upstream[], _kinds: ListKind[]): void {
    const c = this.catalog;
    const before = {
      tools: c.tools,
      prompts: c.prompts,
      resources: c.resources,
      resourceTemplates: c.resourceTemplates,
    };
    c.rebuild(upstreams);
    const changed = LIST_KINDS.filter((k) => !sameList(before[k], c[k]));
    for (const k of changed) this.listVersions[k]++;
    if (changed.includes('tools')) this.emit({ kind: 'tools' });
    if (changed.includes('prompts')) this.emit({ kind: 'prompts' });
    if (changed.includes('resources') || changed.includes('resourceTemplates'))
      this.emit({ kind: 'resources' });
  }
}

function sameList(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}
