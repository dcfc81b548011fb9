import { randomUUID } from 'node:crypto';
import type { Client } from '@modelcontextprotocol/client';
import { INPUT_WAIT_MS } from '../bridge/limits.ts';
import { ProxyError, UpstreamRpcError } from '../errors.ts';
import type { ActingFor } from './auth/types.ts';
import type { CallSignal } from './call-signal.ts';
import { correlationHeaderValues } from './correlation.ts';
import { addParamHeaders, declaredParamHeaders } from './http/param-headers.ts';
import type { StreamableHttpClient } from './http/streamable-http-client.ts';
import { RAW_TEXT, rpcError, sessionHeaders, UpstreamHttpError, type WireMessage } from './http/wire.ts';
import { keepRaw } from './raw-results.ts';
import type { InputRequestHandler } from './sdk-calls.ts';
import { toRpcError } from './session-inbox.ts';
import { isAbort, toDownstreamError } from './upstream-errors.ts';
import { type ListKind, listChangedKinds } from './upstream-lists.ts';
import type { SessionBinding, UpstreamSessions } from './upstream-sessions.ts';

const NAMED: Record<string, 'name' | 'uri'> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
};
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const CLIENT_INFO = { name: 'mcp-fed', version: '0.1.0' };
const NOTHING_TO_END = () => {};

/** The proxy's own session id on a 2025-era upstream; none when the upstream is stateless. */
function ownSessionId(client: Client): string | undefined {
  return (client.transport as { sessionId?: string } | undefined)?.sessionId;
}

export interface LeanCallOptions {
  signal?: CallSignal;
  clientCapabilities?: Record<string, unknown>;
  hop?: Parameters<typeof correlationHeaderValues>[0];
  onprogress?: (progress: { progress: number; total?: number; message?: string }) => void;
  onnotification?: (method: string, params: Record<string, unknown> | undefined) => void;
  oninputrequest?: InputRequestHandler;
  /** Whose upstream session a 2025-era upstream call uses (unset: the proxy's own). */
  session?: SessionBinding;
  /** The caller the call is for (per-caller auth signs every request of it for that caller). */
  actingFor?: ActingFor;
}

/** What a lean call needs from the Upstream that owns it. */
export interface LeanCallHost {
  readonly name: string;
  readonly timeoutMs: number;
  /** Next request id on this upstream (shared with the SDK-path progress tokens). */
  nextId(): number;
  markDown(reason: string): void;
  /** The upstream's own `inputSchema` of a tool it listed (its `x-mcp-header` declarations). */
  toolSchema(name: string): unknown;
  /** A list_changed came with a call: the shared catalog is re-listed (clients hear it from there). */
  relist(kinds: ListKind[]): void;
  /** Per-client upstream sessions (2025-era upstreams). */
  readonly sessions?: UpstreamSessions;
  /**
   * A call in the proxy's own upstream session is in flight: requests arriving on that session's GET
   * stream (held by the SDK client) may go to its input handler. Returns the function that ends it.
   */
  inOwnSession(client: Client, asker: InputRequestHandler | undefined): () => void;
  /** The SDK client path, for a call the lean path cannot carry (a name HTTP headers cannot hold). */
  viaClient(
    client: Client,
    method: string,
    params: Record<string, unknown>,
    opts: LeanCallOptions,
  ): Promise<Record<string, unknown>>;
}

/**
 * Forwarded calls to a Streamable HTTP upstream over the lean forwarder: builds the envelope the
 * upstream's era expects, relays progress under a per-hop token, and cancels upstream when the
 * downstream goes away. The SDK client still owns the connection (era, session id) this reads.
 */
export class LeanCalls {
  /**
   * Replicas share per-client upstream sessions, and a server pairs answers with requests by id within
   * a session: request ids carry this instance's random tag, so two replicas' calls never collide.
   */
  private readonly idTag = randomUUID().slice(0, 8);

  constructor(
    private readonly http: StreamableHttpClient,
    private readonly host: LeanCallHost,
  ) {}

  async call(
    client: Client,
    method: string,
    params: Record<string, unknown>,
    opts: LeanCallOptions,
  ): Promise<Record<string, unknown>> {
    const meta: Record<string, unknown> = { ...(params._meta as Record<string, unknown> | undefined) };
    const version = client.getNegotiatedProtocolVersion() ?? '';
    const headers: Record<string, string> = { 'mcp-protocol-version': version };
    let leave = NOTHING_TO_END;
    if (client.getProtocolEra() === 'modern') {
      meta['io.modelcontextprotocol/protocolVersion'] = version;
      meta['io.modelcontextprotocol/clientCapabilities'] = opts.clientCapabilities ?? {};
      meta['io.modelcontextprotocol/clientInfo'] = CLIENT_INFO;
      headers['mcp-method'] = method;
      const key = NAMED[method];
      if (key) {
        const name = String(params[key]);
        if (!PRINTABLE_ASCII.test(name)) {
          // The SDK client speaks as the proxy: a caller's call never takes it (fail closed).
          if (opts.actingFor)
            throw new ProxyError(
              'UPSTREAM_ERROR',
              `upstream "${this.host.name}": a name headers cannot carry`,
              {
                upstream: this.host.name,
              },
            );
          return this.host.viaClient(client, method, params, opts);
        }
        headers['mcp-name'] = name;
        if (method === 'tools/call')
          addParamHeaders(declaredParamHeaders(this.host.toolSchema(name)), params.arguments, headers);
      }
    } else {
      const binding = opts.session;
      const sessions = this.host.sessions;
      // A stateless upstream (its initialize answer named no session) has nothing per client to keep.
      if (binding && sessions && this.keepsClientSessions(client)) {
        if (opts.actingFor) binding.actingFor = opts.actingFor;
        return this.inSession(client, method, params, opts, binding, sessions);
      }
      const sessionId = ownSessionId(client);
      if (sessionId) headers['mcp-session-id'] = sessionId;
      leave = this.host.inOwnSession(client, opts.oninputrequest);
    }
    try {
      return await this.send(method, params, meta, headers, opts);
    } catch (err) {
      throw this.error(client, err);
    } finally {
      leave();
    }
  }

  /**
   * A call in the client's own upstream session (opened on first use). An upstream that no longer
   * knows the session (404: it restarted, or expired it) never ran the request: a new session is
   * opened and the call sent once more.
   */
  private async inSession(
    client: Client,
    method: string,
    params: Record<string, unknown>,
    opts: LeanCallOptions,
    binding: SessionBinding,
    sessions: UpstreamSessions,
  ): Promise<Record<string, unknown>> {
    const version = client.getNegotiatedProtocolVersion() ?? '';
    for (let attempt = 0; ; attempt++) {
      let sessionId = '';
      const leave = sessions.inbox.enter(binding.key, opts);
      try {
        sessionId = await sessions.idFor(binding, version, { 'mcp-protocol-version': version });
        const meta = { ...(params._meta as Record<string, unknown> | undefined) };
        const headers: Record<string, string> = { 'mcp-protocol-version': version };
        if (sessionId) {
          headers['mcp-session-id'] = sessionId;
          const holding = sessions.keepStream(binding, headers);
          if (holding) await holding;
        }
        return await this.send(method, params, meta, headers, opts);
      } catch (err) {
        const gone = err instanceof UpstreamHttpError && err.status === 404 && sessionId !== '';
        if (!gone || attempt > 0 || opts.signal?.aborted) throw this.error(client, err, !gone);
        sessions.forget(binding, sessionId);
      } finally {
        leave();
      }
    }
  }

  private async send(
    method: string,
    params: Record<string, unknown>,
    meta: Record<string, unknown>,
    headers: Record<string, string>,
    opts: LeanCallOptions,
  ): Promise<Record<string, unknown>> {
    const id = `${this.idTag}.${this.host.nextId()}`;
    const token = opts.onprogress ? `mcp-fed-${id}` : undefined;
    if (token) meta.progressToken = token;
    if (opts.hop) correlationHeaderValues(opts.hop, headers);
    const message: WireMessage = { jsonrpc: '2.0', id, method, params: { ...params, _meta: meta } };
    const reply = await this.http
      .request(message, headers, {
        signal: opts.signal,
        timeoutMs: this.host.timeoutMs,
        actingFor: opts.actingFor,
        inputWaitMs: INPUT_WAIT_MS,
        onRequest: (r) => void this.answerUpstream(r, opts, headers),
        onNotification: (n) => {
          if (n.method === 'notifications/progress' && n.params?.progressToken === token) {
            const {
              progress,
              total,
              message: text,
            } = n.params as { progress: number; total?: number; message?: string };
            opts.onprogress?.({ progress, total, message: text });
          } else if (n.method && n.method !== 'notifications/progress') {
            // The shared catalog is re-listed too (clients hear again once it has the change).
            const changed = listChangedKinds(n.method);
            if (changed) this.host.relist(changed);
            // Sent on this call's own stream, so it is about this call: back to its caller only, never
            // broadcast (a log line about one caller's call must not reach another caller's session).
            opts.onnotification?.(n.method, n.params);
          }
        },
      })
      .catch((err: unknown) => {
        // A cancelled 2025-era call also wants notifications/cancelled (2026-07-28: closing the stream is enough).
        if (isAbort(err) && !headers['mcp-method']) this.cancelled(id, headers, opts.actingFor);
        throw err;
      });
    if (reply.error) throw rpcError(reply);
    const result = reply.result;
    if (typeof result !== 'object' || result === null) return {};
    const text = reply[RAW_TEXT];
    // Only a plain answer (result, jsonrpc, id and nothing else) can be relayed as it came.
    if (text !== undefined && Object.keys(reply).length === 3) keepRaw(result, { text, upstreamId: id });
    return result;
  }

  private cancelled(id: string, headers: Record<string, string>, actingFor: ActingFor | undefined): void {
    void this.http
      .notify(
        {
          jsonrpc: '2.0',
          method: 'notifications/cancelled',
          params: { requestId: id, reason: 'client cancelled' },
        },
        sessionHeaders(headers),
        this.host.timeoutMs,
        actingFor,
      )
      .catch(() => {});
  }

  /**
   * A 2025-era upstream asked for input on this call's stream: the answer (or the reason there is
   * none) goes back to it as a JSON-RPC response POSTed in its session, so it never hangs.
   */
  private async answerUpstream(
    request: WireMessage,
    opts: LeanCallOptions,
    callHeaders: Record<string, string>,
  ): Promise<void> {
    let reply: WireMessage;
    try {
      if (!opts.oninputrequest)
        throw new UpstreamRpcError(
          -32601,
          `mcp-fed relays ${request.method} only during tools/call, prompts/get or resources/read`,
        );
      reply = {
        jsonrpc: '2.0',
        id: request.id,
        result: await opts.oninputrequest(String(request.method), request.params),
      };
    } catch (err) {
      reply = { jsonrpc: '2.0', id: request.id, error: toRpcError(err) };
    }
    await this.http
      .notify(reply, sessionHeaders(callHeaders), this.host.timeoutMs, opts.actingFor)
      .catch(() => {
        // The call itself fails or times out and says so; nothing more to tell here.
      });
  }

  /** `sharedSession`: a 404 means the proxy's own upstream session is gone (reconnect), not a client's. */
  private error(client: Client, err: unknown, sharedSession = true): Error {
    const upstream = this.host.name;
    if (isAbort(err)) return err as Error;
    if (err instanceof UpstreamHttpError) {
      if (err.status === 401 || err.status === 403) {
        return new ProxyError(
          'UPSTREAM_AUTH_FAILED',
          `upstream "${upstream}" rejected the proxy's credentials (HTTP ${err.status})`,
          { upstream, status: err.status },
        );
      }
      // 404 on the proxy's own session of a 2025-era upstream: the session is gone, reconnect for a new one.
      if (
        err.status === 404 &&
        sharedSession &&
        ownSessionId(client) &&
        client.getProtocolEra() === 'legacy'
      ) {
        this.host.markDown('upstream session expired');
        return new ProxyError('UPSTREAM_UNAVAILABLE', `upstream "${upstream}" no longer knows its session`, {
          upstream,
          status: err.status,
        });
      }
      // A 5xx without a JSON-RPC answer is the upstream failing as a service; any other status without
      // one is an answer the proxy cannot relay (its JSON-RPC errors pass through before this).
      if (err.status >= 500)
        return new ProxyError('UPSTREAM_UNAVAILABLE', `upstream "${upstream}" answered HTTP ${err.status}`, {
          upstream,
          status: err.status,
        });
      return new ProxyError(
        'UPSTREAM_ERROR',
        `upstream "${upstream}" answered HTTP ${err.status} without a JSON-RPC answer`,
        { upstream, status: err.status },
      );
    }
    if ((err as { upstreamConnection?: boolean })?.upstreamConnection) {
      this.host.markDown((err as Error).message);
      return new ProxyError('UPSTREAM_UNAVAILABLE', `upstream "${upstream}" is unavailable`, { upstream });
    }
    return toDownstreamError(upstream, err);
  }

  /** Whether calls with a binding run in per-client upstream sessions (a stateful 2025-era upstream). */
  keepsClientSessions(client: Client): boolean {
    return this.host.sessions !== undefined && client.getProtocolEra() === 'legacy' && !!ownSessionId(client);
  }

  /** The per-client upstream sessions of this upstream. */
  get sessions(): UpstreamSessions | undefined {
    return this.host.sessions;
  }

  async close(): Promise<void> {
    await this.host.sessions?.close();
    this.http.close();
  }
}
