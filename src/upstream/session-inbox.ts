import { randomUUID } from 'node:crypto';
import { ProxyError, UpstreamRpcError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { DirectMessage, ReplicaBus } from '../store/replica-bus.ts';
import type { ActingFor } from './auth/types.ts';
import type { StreamableHttpClient } from './http/streamable-http-client.ts';
import { sessionHeaders, type WireMessage } from './http/wire.ts';
import type { InputRequestHandler } from './sdk-calls.ts';
import { type ListKind, listChangedKinds } from './upstream-lists.ts';
import type { SessionBinding } from './upstream-sessions.ts';

/** A call in flight in one client's upstream session: who to ask, who to tell. */
export interface InboxCall {
  oninputrequest?: InputRequestHandler;
  /** The caller the call is for: an answer POSTed in its session is signed for that caller. */
  actingFor?: ActingFor;
  onnotification?: (method: string, params: Record<string, unknown> | undefined) => void;
}

/**
 * What arrives on a client's upstream session outside any call's own stream (its standalone GET
 * stream): servers written like the SDK examples (`server.server.elicitInput(...)` without a related
 * request id) ask there. A request goes to that client's one call in flight, bridged in its era as the
 * call-stream ones are; with none or several in flight the upstream gets a JSON-RPC error saying so,
 * never silence. A `ping` the proxy answers itself. A notification goes to the client's session
 * (legacy) or else to its one call in flight.
 */
export class SessionInbox {
  private readonly calls = new Map<string, Set<InboxCall>>();
  private bus?: ReplicaBus;
  /** Requests this replica broadcast, waiting for the replica whose call they belong to. */
  private readonly claims = new Map<string, () => void>();

  constructor(
    private readonly http: StreamableHttpClient,
    private readonly upstream: string,
    private readonly timeoutMs: number,
    private readonly log: Logger,
    private readonly onListChanged: (kinds: ListKind[]) => Promise<void> = async () => {},
  ) {}

  /** A call of session `key` is in flight; the returned function ends it. */
  enter(key: string, call: InboxCall): () => void {
    let set = this.calls.get(key);
    if (!set) {
      set = new Set();
      this.calls.set(key, set);
    }
    set.add(call);
    return () => {
      set.delete(call);
      if (set.size === 0 && this.calls.get(key) === set) this.calls.delete(key);
    };
  }

  /**
   * Replicas share per-client upstream sessions but one holds the GET stream (DESIGN.md, "One GET
   * stream per upstream session"): a request for a client whose call is in flight on another replica
   * is broadcast; that replica claims it and answers the upstream itself (any replica may POST in the
   * session). Unclaimed within CLAIM_WAIT_MS, the upstream gets the error.
   */
  connect(bus: ReplicaBus): void {
    this.bus = bus;
    bus.onBroadcast((msg) => {
      if (msg.kind === ASK && msg.upstream === this.upstream) this.askedElsewhere(msg);
    });
    bus.onDirect((msg) => {
      if (msg.kind === CLAIMED && typeof msg.corr === 'string') this.claims.get(msg.corr)?.();
    });
  }

  arrived(binding: SessionBinding, session: Record<string, string>, msg: WireMessage): void {
    if (msg.id === undefined || msg.id === null) {
      this.notification(binding, msg);
      return;
    }
    void this.answer(binding, session, msg);
  }

  private notification(binding: SessionBinding, msg: WireMessage): void {
    const method = String(msg.method);
    // The shared catalog is re-listed first, then the client is told (the change may be its session's
    // own: server-everything's session resources): told before, it would list what the proxy had yet
    // to see, and a 2026-07-28 client would cache that.
    const changed = listChangedKinds(method);
    if (changed) {
      void this.onListChanged(changed).then(() => this.deliver(binding, method, msg.params));
      return;
    }
    this.deliver(binding, method, msg.params);
  }

  private deliver(
    binding: SessionBinding,
    method: string,
    params: Record<string, unknown> | undefined,
  ): void {
    if (binding.notify) {
      binding.notify(this.upstream, method, params);
      return;
    }
    const listeners = [...(this.calls.get(binding.key) ?? [])].filter((c) => c.onnotification);
    if (listeners.length === 1) listeners[0]!.onnotification!(method, params);
    else
      this.log.debug(
        { upstream: this.upstream, method },
        'standalone-stream notification with no one to tell',
      );
  }

  private async answer(
    binding: SessionBinding,
    session: Record<string, string>,
    request: WireMessage,
  ): Promise<void> {
    if (request.method !== 'ping' && this.askers(binding.key).length === 0) {
      if (await this.claimedElsewhere(binding.key, session, request)) return;
    }
    await this.reply(session, await this.replyTo(binding.key, request), binding.actingFor);
  }

  private async replyTo(key: string, request: WireMessage): Promise<WireMessage> {
    try {
      return { jsonrpc: '2.0', id: request.id, result: await this.ask(key, request) };
    } catch (err) {
      return { jsonrpc: '2.0', id: request.id, error: toRpcError(err) };
    }
  }

  /** Broadcasts a request no local call can take; true when the replica of its call claimed it. */
  private async claimedElsewhere(
    key: string,
    session: Record<string, string>,
    request: WireMessage,
  ): Promise<boolean> {
    const bus = this.bus;
    if (!bus) return false;
    const corr = randomUUID();
    let timer: NodeJS.Timeout | undefined;
    const claimed = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), CLAIM_WAIT_MS);
      this.claims.set(corr, () => resolve(true));
    });
    try {
      const others = await bus.broadcast({
        kind: ASK,
        upstream: this.upstream,
        key,
        corr,
        from: bus.replicaId,
        session,
        request,
      });
      return others > 0 && (await claimed);
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
      this.claims.delete(corr);
    }
  }

  /** Another replica holds the stream and broadcast a request: answered here when its call is here. */
  private askedElsewhere(msg: DirectMessage): void {
    const { key, corr, from, session, request } = msg as DirectMessage & {
      key?: unknown;
      corr?: unknown;
      from?: unknown;
      session?: Record<string, string>;
      request?: WireMessage;
    };
    if (typeof key !== 'string' || typeof corr !== 'string' || typeof from !== 'string') return;
    if (!session || typeof session !== 'object' || typeof request?.method !== 'string') return;
    if (this.askers(key).length === 0) return;
    void this.bus?.sendTo(from, { kind: CLAIMED, corr }).catch(() => {});
    const actingFor = this.askers(key)[0]?.actingFor;
    void this.replyTo(key, request).then((reply) => this.reply(session, reply, actingFor));
  }

  private askers(key: string): InboxCall[] {
    return [...(this.calls.get(key) ?? [])].filter((c) => c.oninputrequest);
  }

  /** POSTs the answer in the session (any replica may: the session id is all it takes). */
  private async reply(
    session: Record<string, string>,
    reply: WireMessage,
    actingFor: ActingFor | undefined,
  ): Promise<void> {
    await this.http.notify(reply, sessionHeaders(session), this.timeoutMs, actingFor).catch((err: Error) => {
      this.log.debug(
        { upstream: this.upstream, err: err.message },
        'answering a standalone-stream request failed',
      );
    });
  }

  private ask(key: string, request: WireMessage): Promise<Record<string, unknown>> {
    const method = String(request.method);
    if (method === 'ping') return Promise.resolve({});
    const askers = this.askers(key);
    if (askers.length === 1) return askers[0]!.oninputrequest!(method, request.params);
    throw new UpstreamRpcError(
      -32603,
      askers.length === 0
        ? `mcp-fed relays ${method} only while a tools/call, prompts/get or resources/read of this client is in flight`
        : `mcp-fed cannot tell which of ${askers.length} calls in flight this ${method} belongs to: send it on the call's own stream (relatedRequestId)`,
    );
  }
}

const ASK = 'upstream-ask';
const CLAIMED = 'upstream-ask-claimed';
/** How long the stream's replica waits for another to claim a request (a bus round trip is milliseconds). */
const CLAIM_WAIT_MS = 2_000;

/** The JSON-RPC error an upstream's request gets when it cannot be answered. */
export function toRpcError(err: unknown): { code: number; message: string; data?: unknown } {
  if (err instanceof ProxyError) return err.toJsonRpc();
  if (err instanceof UpstreamRpcError) return { code: err.rpcCode, message: err.message, data: err.data };
  return { code: -32603, message: 'the input request could not be answered' };
}
