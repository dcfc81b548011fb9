import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Logger } from '../log.ts';
import { MemoryStreamLeases, type StreamLeases } from '../store/stream-leases.ts';
import type { StandaloneStream } from './http/standalone-stream.ts';
import type { StreamableHttpClient } from './http/streamable-http-client.ts';
import type { WireMessage } from './http/wire.ts';
import type { SessionInbox } from './session-inbox.ts';
import type { SessionBinding } from './upstream-sessions.ts';

/** How long a replica's hold on a GET stream lasts unless renewed (a dead replica's runs out). */
const LEASE_MS = 30_000;
const RENEW_EVERY_MS = LEASE_MS / 3;
/** A session whose stream another replica holds is looked at again at most this often (not per call). */
const CHECK_EVERY_MS = 10_000;
/** How long a call waits for a stream just taken to open. */
const OPEN_WAIT_MS = 2_000;

interface Held {
  sessionId: string;
  lease: string;
  stream: StandaloneStream;
}

/**
 * The standalone GET streams of the per-client upstream sessions of one upstream (DESIGN.md, "One GET
 * stream per upstream session"). A server allows one GET stream per session and replicas share the
 * sessions, so a replica holds a stream only under a lease (StreamLeases): the one that opens a session
 * takes it, renews it while it holds the stream, and gives it up when the stream or the session ends or
 * it shuts down; a replica with a call in a session nobody holds (its holder died, or shut down) takes
 * it over. What arrives goes to the SessionInbox, which finds the client's call on any replica.
 */
export class SessionStreams {
  private readonly held = new Map<string, Held>();
  /** When each session was last found held elsewhere. */
  private readonly checked = new LRUCache<string, number>({ max: 10_000 });
  private leases: StreamLeases = new MemoryStreamLeases();
  private holder: string = randomUUID();
  private renewTimer?: NodeJS.Timeout;

  constructor(
    private readonly http: StreamableHttpClient,
    private readonly upstream: string,
    private readonly inbox: SessionInbox,
    private readonly log: Logger,
  ) {}

  /** Replicas share leases through `leases`; `holder` is this replica's id. */
  connect(leases: StreamLeases, holder: string): void {
    this.leases = leases;
    this.holder = holder;
  }

  /**
   * Sees that someone holds the GET stream of `binding`'s session (`session`: its headers): this replica
   * takes it when nobody does. Returns a promise (one lease round trip, then a bounded wait for the
   * stream to open) only when it looked; a session held here, or looked at lately, costs nothing.
   */
  keep(binding: SessionBinding, session: Record<string, string>): Promise<void> | undefined {
    const sessionId = session['mcp-session-id'];
    if (!sessionId || this.held.get(binding.key)?.sessionId === sessionId) return undefined;
    const last = this.checked.get(binding.key);
    if (last !== undefined && Date.now() - last < CHECK_EVERY_MS) return undefined;
    this.checked.set(binding.key, Date.now());
    return this.take(binding, sessionId, session);
  }

  /** The session ended or is forgotten here: its stream (if held here) closes and its lease goes. */
  drop(key: string): void {
    const held = this.held.get(key);
    this.checked.delete(key);
    if (!held) return;
    this.held.delete(key);
    held.stream.close();
    void this.leases.release(held.lease, this.holder).catch(() => {});
  }

  /** Shutting down: every lease is given up, so another replica takes the streams over at once. */
  async close(): Promise<void> {
    clearInterval(this.renewTimer);
    this.renewTimer = undefined;
    const releases = [...this.held.values()].map((h) => {
      h.stream.close();
      return this.leases.release(h.lease, this.holder).catch(() => {});
    });
    this.held.clear();
    await Promise.all(releases);
  }

  private async take(binding: SessionBinding, sessionId: string, session: Record<string, string>) {
    const lease = `${this.upstream}:${sessionId}`;
    let ours = true;
    try {
      ours = await this.leases.acquire(lease, this.holder, LEASE_MS);
    } catch (err) {
      // Without the store nobody can tell who holds it: holding it here beats nobody holding it (a
      // second holder gets 409 from the server, and retries slowly).
      this.log.debug({ upstream: this.upstream, err: (err as Error).message }, 'stream lease unavailable');
    }
    if (!ours || this.held.get(binding.key)?.sessionId === sessionId) return;
    this.drop(binding.key);
    const stream = this.http.openStream(
      session,
      {
        onMessage: (msg: WireMessage) => this.inbox.arrived(binding, session, msg),
        // 404: the server forgot the session; whoever calls next reopens it (and holds the new stream).
        onState: (state) => {
          if (state === 'gone' && this.held.get(binding.key)?.stream === stream) this.drop(binding.key);
        },
      },
      () => binding.actingFor,
    );
    this.held.set(binding.key, { sessionId, lease, stream });
    this.closeWithToken(binding, stream);
    this.renewTimer ??= setInterval(() => void this.renew(), RENEW_EVERY_MS);
    this.renewTimer.unref();
    // A server drops what it sends while no GET stream is open: the call about to go out may ask on it.
    await settledWithin(stream, OPEN_WAIT_MS);
  }

  /**
   * A stream opened with a caller's token closes when that token expires (DESIGN.md, "Acting for the
   * caller"): it must not outlive the credential. The caller's next call reopens it with its new one.
   */
  private closeWithToken(binding: SessionBinding, stream: StandaloneStream): void {
    const expiresAt = binding.actingFor?.expiresAt;
    if (expiresAt === undefined) return;
    const timer = setTimeout(
      () => {
        if (this.held.get(binding.key)?.stream === stream) this.drop(binding.key);
      },
      Math.max(0, Math.min(expiresAt - Date.now(), 2 ** 31 - 1)),
    );
    timer.unref();
  }

  /** Renews every lease held here; one another replica has taken meanwhile is let go. */
  private async renew(): Promise<void> {
    await Promise.all(
      [...this.held.entries()].map(async ([key, held]) => {
        if (held.stream.state === 'unsupported') return; // 405: nothing to hold, nobody else will either
        const ours = await this.leases.acquire(held.lease, this.holder, LEASE_MS).catch(() => true);
        if (!ours && this.held.get(key) === held) {
          this.held.delete(key);
          held.stream.close();
        }
      }),
    );
  }
}

function settledWithin(stream: StandaloneStream, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    stream.settled,
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
