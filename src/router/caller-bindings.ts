import { LRUCache } from 'lru-cache';
import type { Logger } from '../log.ts';
import type { ReplicaBus } from '../store/replica-bus.ts';
import { type SessionStore, storeUpstreamSession } from '../store/session-store.ts';
import type { Upstream } from '../upstream/upstream.ts';
import type { SessionBinding } from '../upstream/upstream-sessions.ts';

const MAX_CALLERS = 10_000;
const CALLER_NOTE = 'caller-notification';
/** How long a caller's upstream session ids stay in the store after their last use. */
const RECORD_TTL_SECONDS = 3_600;

/**
 * The upstream sessions of 2026-07-28 callers on 2025-era upstreams (DESIGN.md, "Upstream sessions":
 * each caller identity gets its own). One binding per caller, so every call, subscription and
 * standalone-stream notification of that caller meets in one upstream session; its ids are kept in the
 * session store under `caller\0<id>`, so every replica continues the same upstream session.
 */
export class CallerBindings {
  private readonly bindings = new LRUCache<string, SessionBinding>({ max: MAX_CALLERS });
  private store?: SessionStore;
  private bus?: ReplicaBus;
  private readonly follows = new Map<string, number>();

  constructor(
    private readonly log: Logger,
    /** What the caller's upstream sessions carry outside calls (resources/updated for its listens). */
    private readonly notify: (
      upstream: string,
      method: string,
      params: Record<string, unknown> | undefined,
    ) => void,
  ) {}

  /**
   * A caller's listens may be open on another replica than the one holding its upstream session's GET
   * stream: what that stream carries is told to every replica.
   */
  connect(bus: ReplicaBus): void {
    this.bus = bus;
    bus.onBroadcast((msg) => {
      if (msg.kind !== CALLER_NOTE || typeof msg.upstream !== 'string' || typeof msg.method !== 'string')
        return;
      this.notify(msg.upstream, msg.method, msg.params as Record<string, unknown> | undefined);
    });
  }

  /** Replicas share the ids through `store` (a memory store: this process only). */
  useStore(store: SessionStore): void {
    this.store = store;
  }

  /** The binding of caller `id`; `clientCapabilities` of its first call open its upstream sessions. */
  get(callerId: string, clientCapabilities?: Record<string, unknown>): SessionBinding {
    const key = `caller\0${callerId}`;
    const existing = this.bindings.get(key);
    if (existing) {
      existing.clientCapabilities ??= clientCapabilities;
      return existing;
    }
    const binding: SessionBinding = {
      key,
      known: {},
      clientCapabilities,
      lookup: async (upstream) => {
        try {
          return (await this.store?.get(key))?.upstreamSessions[upstream];
        } catch {
          return undefined; // a session of its own on this replica, then
        }
      },
      opened: (upstream, sessionId, replacing) => this.record(key, callerId, upstream, sessionId, replacing),
      notify: (upstream, method, params) => {
        this.notify(upstream, method, params);
        void this.bus?.broadcast({ kind: CALLER_NOTE, upstream, method, params }).catch(() => {});
      },
    };
    this.bindings.set(key, binding);
    return binding;
  }

  /**
   * One more (or one fewer) listen of the caller follows `uri` on `up`: its upstream session subscribes
   * with the first and unsubscribes after the last, so one closed listen never ends another's updates.
   */
  async follow(binding: SessionBinding, up: Upstream, uri: string, on: boolean): Promise<void> {
    const key = `${binding.key}\0${up.name}\0${uri}`;
    const n = this.follows.get(key) ?? 0;
    const next = on ? n + 1 : Math.max(0, n - 1);
    if (next === 0) this.follows.delete(key);
    else this.follows.set(key, next);
    if ((on && n === 0) || (!on && n === 1))
      await up.request(on ? 'resources/subscribe' : 'resources/unsubscribe', { uri }, { session: binding });
  }

  /** Stores a newly opened upstream session id; an id another replica stored first wins (returned). */
  private async record(
    key: string,
    caller: string,
    upstream: string,
    sessionId: string,
    replacing?: string,
  ): Promise<string | undefined> {
    const store = this.store;
    if (!store) return undefined;
    try {
      const record = (await store.get(key)) ?? {
        id: key,
        caller,
        protocolVersion: '',
        upstreamSessions: {},
        createdAt: Date.now(),
      };
      return await storeUpstreamSession(store, record, upstream, sessionId, RECORD_TTL_SECONDS, replacing);
    } catch (err) {
      this.log.debug({ caller, err: (err as Error).message }, 'recording a caller upstream session failed');
    }
    return undefined;
  }
}
