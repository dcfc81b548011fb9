import type { UpstreamConfig } from '../config/schema.ts';
import type { HookPipeline } from '../hooks/pipeline.ts';
import type { Upstream } from '../upstream/upstream.ts';
import type { EntryAccess, VisibleLists } from './visible-lists.ts';

/** What one config load decides about calls and lists; a reload swaps it whole, between calls. */
export interface Judging {
  hooks: HookPipeline;
  access: EntryAccess | undefined;
  visibleLists: VisibleLists | undefined;
  /** `config_version` of the audit records of the calls it judges. */
  version: string;
  /** Cedar is on: the audit records carry `policy_ids`. */
  cedar: boolean;
}

/** What a reload did to the upstreams, by name. */
export interface UpstreamChanges {
  added: string[];
  removed: string[];
  changed: string[];
}

/** How long a removed upstream's in-flight calls may take before it is closed anyway. */
const DRAIN_GRACE_MS = 5_000;

/** Governed calls in flight per key (an upstream, a judging), and a way to wait until a key has none. */
export class InflightCalls<K extends object> {
  private readonly counts = new Map<K, number>();
  private readonly waiters = new Map<K, (() => void)[]>();

  enter(up: K): void {
    this.counts.set(up, (this.counts.get(up) ?? 0) + 1);
  }

  leave(up: K): void {
    const n = (this.counts.get(up) ?? 1) - 1;
    if (n > 0) {
      this.counts.set(up, n);
      return;
    }
    this.counts.delete(up);
    for (const wake of this.waiters.get(up) ?? []) wake();
    this.waiters.delete(up);
  }

  /** Resolves once `up` has no call in flight, or after `ms`, whichever comes first. */
  drained(up: K, ms: number): Promise<void> {
    if (!this.counts.has(up)) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      const list = this.waiters.get(up) ?? [];
      list.push(() => {
        clearTimeout(timer);
        resolve();
      });
      this.waiters.set(up, list);
    });
  }
}

interface DiffDeps {
  create(config: UpstreamConfig): Upstream;
  waitMs: number;
  inflight: InflightCalls<Upstream>;
  /** Upstreams out of the catalog but not yet closed (still finishing calls): the process closes them at exit. */
  draining: Set<Upstream>;
  /** The array has its new members: rebuild the merged catalog (the caller tells clients). */
  rebuilt(): void;
}

/**
 * Brings `upstreams` (edited in place: others hold the array) to the configs in `wanted`: an unchanged
 * upstream stays as it is, connections and sessions included; a new one is connected and listed before
 * it joins the catalog; a changed one is replaced the same way (the old one serves until the new one
 * is in); a removed or replaced one leaves the catalog at once, then finishes its in-flight calls and
 * closes without holding up the reload.
 */
export async function diffUpstreams(
  upstreams: Upstream[],
  wanted: readonly UpstreamConfig[],
  deps: DiffDeps,
): Promise<UpstreamChanges> {
  const current = new Map(upstreams.map((u) => [u.name, u]));
  const next: Upstream[] = [];
  const fresh: Upstream[] = [];
  const leaving: Upstream[] = [];
  const changes: UpstreamChanges = { added: [], removed: [], changed: [] };
  for (const config of wanted) {
    const old = current.get(config.name);
    current.delete(config.name);
    if (old && JSON.stringify(old.config) === JSON.stringify(config)) {
      next.push(old);
      continue;
    }
    const up = deps.create(config);
    fresh.push(up);
    next.push(up);
    if (old) {
      leaving.push(old);
      changes.changed.push(config.name);
    } else changes.added.push(config.name);
  }
  for (const old of current.values()) {
    leaving.push(old);
    changes.removed.push(old.name);
  }
  if (fresh.length === 0 && leaving.length === 0) return changes;
  await Promise.all(fresh.map((u) => u.start(deps.waitMs)));
  upstreams.splice(0, upstreams.length, ...next);
  deps.rebuilt();
  // The reload is done once the catalog is: what left finishes its calls and closes in the background.
  for (const u of leaving) {
    deps.draining.add(u);
    void deps.inflight.drained(u, DRAIN_GRACE_MS + u.config.timeoutMs).then(() => {
      deps.draining.delete(u);
      return u.close();
    });
  }
  return changes;
}
