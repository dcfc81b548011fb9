/** What a replica needs to know about a 2025-era client's session (metadata only, never live sockets). */
export interface SessionRecord {
  id: string;
  caller: string;
  protocolVersion: string;
  clientInfo?: { name: string; version: string };
  clientCapabilities?: Record<string, unknown>;
  /** Upstream session ids per upstream name, so another replica could continue them. */
  upstreamSessions: Record<string, string>;
  /** The URIs the session subscribed to (resources/subscribe), so any replica holding its stream follows them. */
  subscriptions?: string[];
  /** Its logging/setLevel, which 2026-07-28 upstreams get in each of its calls (any replica's). */
  logLevel?: string;
  createdAt: number;
}

/** `sessions.maxPerCaller` and `sessions.max` (DESIGN.md's config block). */
export interface SessionLimits {
  maxPerCaller: number;
  max: number;
}

/** A new session admitted (with the ids of its caller's sessions that made room for it), or refused: full. */
export type Admission = { ok: true; evicted: string[] } | { ok: false };

/** Session metadata storage: memory now, Redis for replicas (issue 6); both pass one contract suite. */
export interface SessionStore {
  get(id: string): Promise<SessionRecord | undefined>;
  put(record: SessionRecord, ttlSeconds: number): Promise<void>;
  /**
   * Stores a new session within the limits: refused when `max` sessions live already (in this store:
   * per replica for memory, shared on Redis); over `maxPerCaller`, the caller's least recently used
   * sessions end (their records deleted, their ids returned) to make room. Approximate across replicas
   * admitting at the same instant (each counts before it adds).
   */
  admit(record: SessionRecord, ttlSeconds: number, limits: SessionLimits): Promise<Admission>;
  /**
   * Which connection to the store this is, as far as this process knows without a round trip: a number
   * that changes whenever the connection was lost and made again (a restarted store may have lost
   * records), undefined while it is down.
   */
  connection(): number | undefined;
  /**
   * Claims `sessionId` as session `id`'s upstream session on `upstream`, atomically across replicas:
   * the first claim wins and is returned to every later one (two replicas that opened an upstream
   * session at once learn which one the client's calls meet in). A claim equal to `replacing` (an id
   * the upstream forgot) is overwritten.
   */
  claim(
    id: string,
    upstream: string,
    sessionId: string,
    ttlSeconds: number,
    replacing?: string,
  ): Promise<string>;
  /** Extends the TTL (and, for `caller`'s limit, marks the session used); false when the session is gone. */
  touch(id: string, ttlSeconds: number, caller?: string): Promise<boolean>;
  /** Ends a session; `caller` (its owner) also takes it out of that caller's count. */
  delete(id: string, caller?: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Stores `sessionId` as `record`'s upstream session on `upstream`, unless another replica stored one
 * first: that id is returned, to be used instead (both replicas opened one at once; the first stored
 * wins, so the client's calls meet in one upstream session). `replacing` is an id the upstream forgot
 * (404): it is overwritten.
 */
export async function storeUpstreamSession(
  store: SessionStore,
  record: SessionRecord,
  upstream: string,
  sessionId: string,
  ttlSeconds: number,
  replacing?: string,
): Promise<string | undefined> {
  const first = record.upstreamSessions[upstream];
  if (first && first !== replacing) return first;
  // A read-then-write alone lets two replicas both win; the claim decides.
  const winner = await store.claim(record.id, upstream, sessionId, ttlSeconds, replacing);
  if (winner !== sessionId) return winner;
  await store.put(
    { ...record, upstreamSessions: { ...record.upstreamSessions, [upstream]: sessionId } },
    ttlSeconds,
  );
  return undefined;
}
