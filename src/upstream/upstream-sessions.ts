import { LRUCache } from 'lru-cache';
import type { HttpForwarder } from './http-forwarder.ts';

/**
 * Whose upstream session a call uses on a 2025-era upstream (DESIGN.md, "Upstream sessions"): each
 * downstream session, or for a 2026-07-28 client each caller identity, gets its own, so upstream
 * state (client capabilities for elicitation and sampling, roots, log level) belongs to one client.
 */
export interface SessionBinding {
  /** A downstream session id, or `caller\0<id>` for modern clients. */
  key: string;
  /** Declared in the upstream `initialize` (what the upstream may ask this client for). */
  clientCapabilities?: Record<string, unknown>;
  /** The downstream session's upstream session ids, by upstream name (from its session record). */
  known?: Record<string, string>;
  /** Reads the id another replica may have stored since (before opening a new session). */
  lookup?(upstream: string): Promise<string | undefined>;
  /** A new upstream session was opened for it: store the id with the downstream session. */
  opened?(upstream: string, sessionId: string): Promise<void>;
}

const MAX_SESSIONS = 10_000;
const CLIENT_INFO = { name: 'mcp-fed', version: '0.1.0' };

/**
 * The per-client upstream sessions of one Streamable HTTP upstream, opened lazily with an
 * `initialize` over the lean forwarder (no SDK client per session). Ids found in a session record
 * are used as they are, so another replica continues the same upstream session.
 */
export class UpstreamSessions {
  private readonly ids = new LRUCache<string, string>({ max: MAX_SESSIONS });
  private readonly opening = new Map<string, Promise<string>>();
  /** Ids the upstream answered 404 for: a record still holding one is stale. */
  private readonly gone = new LRUCache<string, true>({ max: 1_000 });
  private nextId = 0;

  constructor(
    private readonly forwarder: HttpForwarder,
    private readonly upstream: string,
    private readonly timeoutMs: number,
  ) {}

  /** The upstream session id for `binding`, opening one (once, however many calls wait) if needed. */
  idFor(binding: SessionBinding, protocolVersion: string, headers: Record<string, string>): Promise<string> {
    const known = binding.known?.[this.upstream] ?? this.ids.get(binding.key);
    if (known) return Promise.resolve(known);
    let pending = this.opening.get(binding.key);
    if (!pending) {
      pending = this.open(binding, protocolVersion, headers).finally(() => this.opening.delete(binding.key));
      this.opening.set(binding.key, pending);
    }
    return pending;
  }

  /**
   * The downstream session ended (its client DELETEd it): its upstream session is ended too, so the
   * upstream does not keep it until its own idle expiry. `known` holds ids opened on other replicas.
   */
  async end(key: string, known: Record<string, string> | undefined, protocolVersion: string): Promise<void> {
    const id = known?.[this.upstream] ?? this.ids.get(key);
    this.ids.delete(key);
    if (!id) return;
    await this.forwarder
      .endSession({ 'mcp-protocol-version': protocolVersion, 'mcp-session-id': id }, this.timeoutMs)
      .catch(() => {
        // Best effort: the upstream's idle expiry reaps what this could not end.
      });
  }

  /** The upstream no longer knows `id` (404): the next call opens a new session. */
  forget(binding: SessionBinding, id: string): void {
    this.gone.set(id, true);
    if (this.ids.get(binding.key) === id) this.ids.delete(binding.key);
    if (binding.known?.[this.upstream] === id) delete binding.known[this.upstream];
  }

  private async open(
    binding: SessionBinding,
    protocolVersion: string,
    headers: Record<string, string>,
  ): Promise<string> {
    const stored = await binding.lookup?.(this.upstream);
    if (stored && !this.gone.has(stored)) {
      if (binding.known) binding.known[this.upstream] = stored;
      return stored;
    }
    let sessionId: string | undefined;
    const reply = await this.forwarder.post(
      {
        jsonrpc: '2.0',
        id: `mcp-fed-init-${++this.nextId}`,
        method: 'initialize',
        params: { protocolVersion, capabilities: binding.clientCapabilities ?? {}, clientInfo: CLIENT_INFO },
      },
      { ...headers },
      {
        timeoutMs: this.timeoutMs,
        onHeaders: (h) => {
          const id = h['mcp-session-id'];
          if (typeof id === 'string') sessionId = id;
        },
      },
    );
    if (reply.error || !sessionId) throw new Error(`upstream "${this.upstream}" opened no session`);
    const version = String(reply.result?.protocolVersion ?? protocolVersion);
    await this.forwarder.answer(
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { ...headers, 'mcp-protocol-version': version, 'mcp-session-id': sessionId },
      this.timeoutMs,
    );
    this.ids.set(binding.key, sessionId);
    if (binding.known) binding.known[this.upstream] = sessionId;
    await binding.opened?.(this.upstream, sessionId);
    return sessionId;
  }
}
