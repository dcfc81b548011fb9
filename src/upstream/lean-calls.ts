import type { Client } from '@modelcontextprotocol/client';
import { INPUT_WAIT_MS } from '../bridge/limits.ts';
import { ProxyError, UpstreamRpcError } from '../errors.ts';
import { correlationHeaderValues } from './correlation.ts';
import { type HttpForwarder, rpcError, UpstreamHttpError, type WireMessage } from './http-forwarder.ts';
import { isAbort, toDownstreamError } from './upstream-errors.ts';

const NAMED: Record<string, 'name' | 'uri'> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
};
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const CLIENT_INFO = { name: 'mcp-fed', version: '0.1.0' };

export interface LeanCallOptions {
  signal?: AbortSignal;
  clientCapabilities?: Record<string, unknown>;
  hop?: Parameters<typeof correlationHeaderValues>[0];
  onprogress?: (progress: { progress: number; total?: number; message?: string }) => void;
  onnotification?: (method: string, params: Record<string, unknown> | undefined) => void;
  oninputrequest?: (
    method: string,
    params: Record<string, unknown> | undefined,
  ) => Promise<Record<string, unknown>>;
}

/** What a lean call needs from the Upstream that owns it. */
export interface LeanCallHost {
  readonly name: string;
  readonly timeoutMs: number;
  /** Next request id on this upstream (shared with the SDK-path progress tokens). */
  nextId(): number;
  markDown(reason: string): void;
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
  constructor(
    private readonly forwarder: HttpForwarder,
    private readonly host: LeanCallHost,
  ) {}

  async call(
    client: Client,
    method: string,
    params: Record<string, unknown>,
    opts: LeanCallOptions,
  ): Promise<Record<string, unknown>> {
    const id = this.host.nextId();
    const meta: Record<string, unknown> = { ...(params._meta as Record<string, unknown> | undefined) };
    const headers: Record<string, string> = {};
    const version = client.getNegotiatedProtocolVersion() ?? '';
    headers['mcp-protocol-version'] = version;
    if (client.getProtocolEra() === 'modern') {
      meta['io.modelcontextprotocol/protocolVersion'] = version;
      meta['io.modelcontextprotocol/clientCapabilities'] = opts.clientCapabilities ?? {};
      meta['io.modelcontextprotocol/clientInfo'] = CLIENT_INFO;
      headers['mcp-method'] = method;
      const key = NAMED[method];
      if (key) {
        const name = String(params[key]);
        if (!PRINTABLE_ASCII.test(name)) return this.host.viaClient(client, method, params, opts);
        headers['mcp-name'] = name;
      }
    } else {
      const sessionId = (client.transport as { sessionId?: string } | undefined)?.sessionId;
      if (sessionId) headers['mcp-session-id'] = sessionId;
    }
    const token = opts.onprogress ? `mcp-fed-${id}` : undefined;
    if (token) meta.progressToken = token;
    if (opts.hop) correlationHeaderValues(opts.hop, headers);
    const message: WireMessage = { jsonrpc: '2.0', id, method, params: { ...params, _meta: meta } };
    let reply: WireMessage;
    try {
      reply = await this.forwarder.post(message, headers, {
        signal: opts.signal,
        timeoutMs: this.host.timeoutMs,
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
            // Sent on this call's own stream, so it is about this call: back to its caller only, never
            // broadcast (a log line about one caller's call must not reach another caller's session).
            opts.onnotification?.(n.method, n.params);
          }
        },
      });
    } catch (err) {
      throw this.error(client, err, id);
    }
    if (reply.error) throw rpcError(reply);
    return reply.result ?? {};
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
      const error =
        err instanceof ProxyError
          ? err.toJsonRpc()
          : err instanceof UpstreamRpcError
            ? { code: err.rpcCode, message: err.message, data: err.data }
            : { code: -32603, message: 'the input request could not be answered' };
      reply = { jsonrpc: '2.0', id: request.id, error };
    }
    const headers: Record<string, string> = {
      'mcp-protocol-version': callHeaders['mcp-protocol-version'] ?? '',
    };
    const session = callHeaders['mcp-session-id'];
    if (session) headers['mcp-session-id'] = session;
    await this.forwarder.answer(reply, headers, this.host.timeoutMs).catch(() => {
      // The call itself fails or times out and says so; nothing more to tell here.
    });
  }

  private error(client: Client, err: unknown, id: number): Error {
    const upstream = this.host.name;
    if (isAbort(err)) {
      // 2026-07-28 cancels by closing the stream (done); a 2025-era upstream also wants notifications/cancelled.
      if (client.getProtocolEra() === 'legacy') {
        void client
          .notification({
            method: 'notifications/cancelled',
            params: { requestId: id, reason: 'client cancelled' },
          })
          .catch(() => {});
      }
      return err as Error;
    }
    if (err instanceof UpstreamHttpError) {
      if (err.status === 401 || err.status === 403) {
        return new ProxyError(
          'UPSTREAM_AUTH_FAILED',
          `upstream "${upstream}" rejected the proxy's credentials (HTTP ${err.status})`,
          { upstream, status: err.status },
        );
      }
      // 404 on a 2025-era upstream means its session is gone: reconnect to get a new one.
      if (err.status === 404 && client.getProtocolEra() === 'legacy')
        this.host.markDown('upstream session expired');
      return new ProxyError('UPSTREAM_UNAVAILABLE', `upstream "${upstream}" answered HTTP ${err.status}`, {
        upstream,
        status: err.status,
      });
    }
    if ((err as { upstreamConnection?: boolean })?.upstreamConnection) {
      this.host.markDown((err as Error).message);
      return new ProxyError('UPSTREAM_UNAVAILABLE', `upstream "${upstream}" is unavailable`, { upstream });
    }
    return toDownstreamError(upstream, err);
  }

  close(): void {
    this.forwarder.close();
  }
}
