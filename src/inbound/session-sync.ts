import type { Server } from '@modelcontextprotocol/server';
import type { Config } from '../config/schema.ts';
import { ProxyError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Federation } from '../router/federation.ts';
import type { ReplicaBus, ReplicaMessage } from '../store/replica-bus.ts';
import { type SessionStore, storeUpstreamSession } from '../store/session-store.ts';
import type { SessionBinding } from '../upstream/upstream-sessions.ts';
import { STORE_RETRY_SECONDS } from './http-replies.ts';
import type { DownstreamContext } from './proxy-server.ts';

const SESSION_NOTE = 'session-notification';
const LOG_LEVEL = 'session-log-level';

function deliver(session: SyncedSession, method: string, params: Record<string, unknown> | undefined): void {
  session.server.notification({ method, params } as never).catch(() => {});
}

/** What keeping a 2025-era session in step across replicas needs of its live state on this one. */
export interface SyncedSession {
  id: string;
  server: Server;
  down: DownstreamContext;
  /** Its own upstream sessions on 2025-era upstreams (ids kept in its record for other replicas). */
  binding: SessionBinding;
}

/**
 * Keeps what a 2025-era session holds beyond one replica in step: the ids of its upstream sessions (in
 * its record) and its resource subscriptions (in its record, over the replica bus, and followed by this
 * replica's upstreams while it lives here).
 */
export class SessionSync {
  constructor(
    private readonly fed: Federation,
    private readonly store: SessionStore,
    private readonly config: Config,
    private readonly log: Logger,
    private readonly bus: ReplicaBus,
  ) {}

  /**
   * The session's binding to its upstream sessions: ids already in its record are reused (another
   * replica opened them); a newly opened one is written back to the record for the others.
   */
  binding(id: string, known: Record<string, string>): SessionBinding {
    return {
      key: id,
      known,
      lookup: async (upstream) => {
        try {
          return (await this.store.get(id))?.upstreamSessions[upstream];
        } catch {
          return undefined; // opened anew, then: a session of its own on this replica
        }
      },
      opened: (upstream, upstreamSession, replacing) =>
        this.recordUpstreamSession(id, upstream, upstreamSession, replacing),
    };
  }

  /** The binding with the client's capabilities, known once initialize has run. */
  bound(session: SyncedSession): SessionBinding {
    session.binding.clientCapabilities ??= session.server.getClientCapabilities() as
      | Record<string, unknown>
      | undefined;
    // What its upstream sessions' GET streams carry outside calls goes out on its own GET stream,
    // which the client may hold on another replica: the replicas with a live copy try it too (a copy
    // without the client's GET stream drops it).
    session.binding.notify ??= (upstream, method, raw) => {
      const params = this.fed.publicParams(upstream, method, raw);
      deliver(session, method, params);
      void this.bus.broadcast({ kind: SESSION_NOTE, session: session.id, method, params }).catch(() => {});
    };
    return session.binding;
  }

  /** Delivers what another replica's upstream session carried for a session live here (see `bound`). */
  listen(live: (id: string) => SyncedSession | undefined): void {
    this.bus.onBroadcast((msg) => {
      const session = typeof msg.session === 'string' ? live(msg.session) : undefined;
      if (!session) return;
      if (msg.kind === SESSION_NOTE && typeof msg.method === 'string')
        deliver(session, msg.method, msg.params as Record<string, unknown> | undefined);
      else if (msg.kind === LOG_LEVEL && typeof msg.level === 'string') session.binding.logLevel = msg.level;
    });
  }

  /** Stores a newly opened upstream session id; an id another replica stored first wins (returned). */
  private async recordUpstreamSession(
    id: string,
    upstream: string,
    upstreamSession: string,
    replacing?: string,
  ): Promise<string | undefined> {
    try {
      const record = await this.store.get(id);
      if (!record) return undefined;
      const ttl = this.config.sessions.ttlSeconds;
      return await storeUpstreamSession(this.store, record, upstream, upstreamSession, ttl, replacing);
    } catch (err) {
      // Another replica then opens a session of its own for this client: upstream state not shared.
      this.log.debug({ session: id, err: (err as Error).message }, 'recording an upstream session failed');
    }
    return undefined;
  }

  /**
   * After resources/subscribe or unsubscribe: the set goes into the session record (read by a replica
   * that rebuilds the session later) and over the replica bus (to replicas holding it now), so the
   * replica holding the GET stream follows the URI upstream and receives its resources/updated.
   */
  async shareSubscriptions(id: string, down: DownstreamContext): Promise<void> {
    const subscriptions = [...(down.subscriptions ?? [])];
    try {
      const record = await this.store.get(id);
      if (!record) return;
      await this.store.put({ ...record, subscriptions }, this.config.sessions.ttlSeconds);
      await this.bus.publish({ session: id, subscriptions });
    } catch (err) {
      this.log.debug({ session: id, err: (err as Error).message }, 'sharing subscriptions failed');
      throw new ProxyError(
        'STORE_UNAVAILABLE',
        'the session store cannot be reached: the subscription is not shared with other replicas; try again shortly',
        { retryAfterMs: STORE_RETRY_SECONDS * 1000 },
      );
    }
  }

  /**
   * After logging/setLevel: the level goes into the session record (a replica rebuilding the session
   * reads it) and to the replicas holding it now, since each puts it in the session's calls to
   * 2026-07-28 upstreams. Best effort: a replica that misses it carries the level it had.
   */
  async shareLogLevel(id: string, level: string): Promise<void> {
    try {
      const record = await this.store.get(id);
      if (record) await this.store.put({ ...record, logLevel: level }, this.config.sessions.ttlSeconds);
      await this.bus.broadcast({ kind: LOG_LEVEL, session: id, level });
    } catch (err) {
      this.log.debug({ session: id, err: (err as Error).message }, 'sharing the log level failed');
    }
  }

  /** Another replica changed a session's subscriptions: a live copy here (`session`) follows the new set. */
  applyRemote(msg: ReplicaMessage, session: SyncedSession | undefined): void {
    const current = session?.down.subscriptions;
    if (!session || !current) return;
    const wanted = new Set(msg.subscriptions);
    for (const uri of [...current]) {
      if (wanted.has(uri)) continue;
      current.delete(uri);
      if (this.fed.subscribedInSession(uri)) continue;
      this.fed.subscription('resources/unsubscribe', uri).catch((err: Error) => {
        this.log.debug({ session: session.id, uri, err: err.message }, 'remote unsubscribe failed');
      });
    }
    void this.follow(
      session,
      [...wanted].filter((uri) => !current.has(uri)),
    );
  }

  /** Subscribes this replica's upstreams to URIs a session follows (counted once per session and URI). */
  async follow(session: SyncedSession, uris: string[]): Promise<void> {
    const subs = session.down.subscriptions;
    if (!subs) return;
    await Promise.all(
      uris.map(async (uri) => {
        if (subs.has(uri)) return;
        subs.add(uri);
        // Kept by the client's own upstream session, which every replica shares: nothing to follow here.
        if (this.fed.subscribedInSession(uri)) return;
        try {
          await this.fed.subscription('resources/subscribe', uri);
        } catch (err) {
          subs.delete(uri);
          this.log.debug(
            { session: session.id, uri, err: (err as Error).message },
            'follow subscription failed',
          );
        }
      }),
    );
  }

  /** A session's resource subscriptions end with it, so upstreams stop following URIs nobody reads. */
  release(session: SyncedSession): void {
    this.fed.releaseSession(session.id);
    const uris = session.down.subscriptions;
    if (!uris?.size) return;
    for (const uri of uris) {
      // One kept by its own upstream session stays there: the session may go on on another replica.
      if (this.fed.subscribedInSession(uri)) continue;
      this.fed.subscription('resources/unsubscribe', uri).catch((err: Error) => {
        this.log.debug({ session: session.id, uri, err: err.message }, 'unsubscribe on session end failed');
      });
    }
    uris.clear();
  }
}
