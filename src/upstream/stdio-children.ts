import type { Client } from '@modelcontextprotocol/client';
import { LRUCache } from 'lru-cache';
import type { Logger } from '../log.ts';
import type { SessionBinding } from './upstream-sessions.ts';

/** Most per-session children one upstream keeps on one replica; the least recently used go first. */
const MAX_CHILDREN = 64;
const IDLE_MS = 30 * 60_000;

/**
 * `isolation: per-session` for a stdio upstream: one child process per downstream session (or, for a
 * 2026-07-28 client, per caller identity), started on first use, so no two clients share a server's
 * state (DESIGN.md, "Upstream sessions"). A child lives on the replica that started it: a session
 * served by another replica gets a child there too (a documented limit). Idle children, and children
 * past the cap, are stopped.
 */
export class StdioChildren {
  private readonly children: LRUCache<string, Promise<Client>>;

  constructor(
    private readonly upstream: string,
    private readonly spawn: (binding: SessionBinding) => Promise<Client>,
    private readonly log: Logger,
  ) {
    this.children = new LRUCache({
      max: MAX_CHILDREN,
      ttl: IDLE_MS,
      updateAgeOnGet: true,
      dispose: (child) => {
        void child.then((c) => c.close()).catch(() => {});
      },
    });
  }

  get size(): number {
    return this.children.size;
  }

  /** The child of `binding`, started if it has none (once, however many calls wait). */
  clientFor(binding: SessionBinding): Promise<Client> {
    let child = this.children.get(binding.key);
    if (!child) {
      child = this.spawn(binding);
      const started = child;
      this.children.set(binding.key, started);
      started.then(
        (c) => {
          c.onclose = () => {
            if (this.children.get(binding.key) === started) this.children.delete(binding.key);
          };
        },
        (err: Error) => {
          this.log.warn({ upstream: this.upstream, err: err.message }, 'per-session child failed to start');
          if (this.children.get(binding.key) === started) this.children.delete(binding.key);
        },
      );
    }
    return child;
  }

  /** The session ended: its child is stopped. */
  release(key: string): void {
    this.children.delete(key);
  }

  close(): void {
    this.children.clear();
  }
}
