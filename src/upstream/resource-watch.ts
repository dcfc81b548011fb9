import type { Client, McpSubscription } from '@modelcontextprotocol/client';
import type { Logger } from '../log.ts';

const RELISTEN_DELAY_MS = 1_000;

/**
 * The resource URIs downstream clients follow on one upstream, counted per subscriber, and the upstream
 * subscription that brings their `notifications/resources/updated`: on a 2025-era upstream one
 * `resources/subscribe` per URI (on its first subscriber; unsubscribe after its last), on a 2026-07-28
 * upstream one `subscriptions/listen` naming every watched URI (reopened when the set changes; the
 * revision has no resources/subscribe). Counting matters because every client shares the proxy's one
 * upstream session or listen: one client's unsubscribe must not end another's updates.
 */
export class ResourceWatch {
  private readonly counts = new Map<string, number>();
  private listen?: McpSubscription;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly name: string,
    /** The live connection, or undefined while the upstream is down (watches are restored on reconnect). */
    private readonly connection: () => Client | undefined,
    private readonly request: (method: string, params: Record<string, unknown>) => Promise<unknown>,
    private readonly log: Logger,
  ) {}

  /** One more subscriber of `uri`; the first subscribes upstream, and is not counted if that fails. */
  async add(uri: string): Promise<void> {
    const n = this.counts.get(uri) ?? 0;
    this.counts.set(uri, n + 1);
    if (n > 0) return;
    try {
      await this.sync(uri, true);
    } catch (err) {
      this.drop(uri);
      throw err;
    }
  }

  /** One subscriber fewer; the last one unsubscribes upstream. */
  async remove(uri: string): Promise<void> {
    if (!this.counts.has(uri)) return;
    if (this.drop(uri)) await this.sync(uri, false);
  }

  /** After a (re)connect: the new connection subscribes to everything still watched. */
  async restore(client: Client): Promise<void> {
    if (this.counts.size === 0 || !subscribable(client)) return;
    if (client.getProtocolEra() === 'modern') {
      await this.relisten(client).catch((err) => this.warn(err));
      return;
    }
    for (const uri of this.counts.keys()) {
      await this.request('resources/subscribe', { uri }).catch((err) => this.warn(err));
    }
  }

  /** The connection went away and took its listen with it. */
  detach(): void {
    this.listen = undefined;
  }

  /** Decrements; true when nobody watches `uri` any more. */
  private drop(uri: string): boolean {
    const n = this.counts.get(uri) ?? 0;
    if (n > 1) {
      this.counts.set(uri, n - 1);
      return false;
    }
    this.counts.delete(uri);
    return true;
  }

  private async sync(uri: string, on: boolean): Promise<void> {
    const client = this.connection();
    if (!client || !subscribable(client)) return;
    if (client.getProtocolEra() === 'modern') await this.relisten(client);
    else await this.request(on ? 'resources/subscribe' : 'resources/unsubscribe', { uri });
  }

  /**
   * Replaces the upstream listen with one for the current set. The new one is acknowledged before the
   * old one closes, so an update in between arrives twice rather than not at all. Serialized, so
   * concurrent changes cannot leave an older set open.
   */
  private relisten(client: Client): Promise<void> {
    const run = this.queue.then(async () => {
      if (this.connection() !== client) return;
      const previous = this.listen;
      const uris = [...this.counts.keys()];
      const next = uris.length ? await client.listen({ resourceSubscriptions: uris }) : undefined;
      this.listen = next;
      if (next) void next.closed.then((how) => this.onClosed(client, next, how));
      await previous?.close();
    });
    this.queue = run.catch(() => {});
    return run;
  }

  /** A listen the upstream dropped while still connected (an idle timeout, a restart) is reopened. */
  private onClosed(client: Client, sub: McpSubscription, how: 'local' | 'graceful' | 'remote'): void {
    if (how === 'local' || this.listen !== sub) return;
    this.listen = undefined;
    setTimeout(() => {
      if (this.listen === undefined) this.relisten(client).catch((err) => this.warn(err));
    }, RELISTEN_DELAY_MS).unref();
  }

  private warn(err: unknown): void {
    this.log.warn({ upstream: this.name, err: (err as Error)?.message }, 'resource subscription failed');
  }
}

function subscribable(client: Client): boolean {
  return client.getServerCapabilities()?.resources?.subscribe === true;
}
