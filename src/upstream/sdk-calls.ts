import type { Client } from '@modelcontextprotocol/client';
import { findAuthFailure } from './auth/errors.ts';
import { abortSignalOf, type CallSignal } from './call-signal.ts';
import { idleTimeout, NO_SDK_TIMEOUT } from './idle-timeout.ts';
import { isAbort, isConnectionFailure, toDownstreamError } from './upstream-errors.ts';
import { anyResult } from './upstream-lists.ts';

export type InputRequestHandler = (
  method: string,
  params: Record<string, unknown> | undefined,
) => Promise<Record<string, unknown>>;

export interface SdkCallOptions {
  signal?: CallSignal;
  onprogress?: (progress: { progress: number; total?: number; message?: string }) => void;
  oninputrequest?: InputRequestHandler;
}

/** What SDK calls need from the Upstream that owns them. */
export interface SdkCallHost {
  readonly name: string;
  readonly timeoutMs: number;
  nextId(): number;
  /** The connection of `client` failed under a call. */
  connectionFailed(client: Client, reason: string): void;
}

const INPUT_METHODS = [
  ['elicitation/create', 'elicitation'],
  ['sampling/createMessage', 'sampling'],
  ['roots/list', 'roots'],
] as const;

/**
 * Calls over an SDK client: stdio and SSE upstreams, and the methods the lean path does not carry.
 * Progress travels under tokens of the proxy's own, and input requests (which these transports do
 * not tie to a call) go to the one call in flight on that client that can be asked.
 */
export class SdkCalls {
  /** Progress callbacks of calls in flight, by the proxy's own token (see call). */
  private readonly progress = new Map<string, NonNullable<SdkCallOptions['onprogress']>>();
  /** Input handlers of calls in flight, per client. */
  private readonly askers = new WeakMap<Client, Set<InputRequestHandler>>();

  constructor(private readonly host: SdkCallHost) {}

  /**
   * Installs the progress and input-request handlers on a new client of this upstream; an input
   * handler only where `capabilities` declares it (the SDK refuses a handler it was not declared for).
   */
  attach(client: Client, capabilities: Record<string, unknown>): void {
    this.askers.set(client, new Set());
    client.setNotificationHandler('notifications/progress', (n) => {
      const { progressToken, progress, total, message } = n.params;
      this.progress.get(String(progressToken))?.({ progress, total, message });
    });
    for (const [method, capability] of INPUT_METHODS)
      if (capabilities[capability])
        client.setRequestHandler(method, (req) => this.inputRequest(client, method, req.params) as never);
  }

  /**
   * A call on `client`'s session that does not go through the SDK (the lean path on the proxy's own
   * session) may be asked too: requests on the session's GET stream reach the SDK client's handlers.
   */
  track(client: Client, asker: InputRequestHandler | undefined): () => void {
    const askers = this.askers.get(client);
    if (!asker || !askers) return () => {};
    askers.add(asker);
    return () => askers.delete(asker);
  }

  async call(
    client: Client,
    method: string,
    params: Record<string, unknown>,
    opts: SdkCallOptions,
  ): Promise<Record<string, unknown>> {
    // Progress travels under a token of the proxy's own, not the SDK's onprogress: the SDK dispatches a
    // notification a microtask after reading it but settles a response at once, so a last progress read
    // together with the result had lost its handler and was dropped (stdio and SSE upstreams, about one
    // call in five under load). This handler lives until the call returns; the timeout still restarts
    // on progress.
    const asker = opts.oninputrequest;
    const askers = this.askers.get(client);
    if (asker) askers?.add(asker);
    const onprogress = opts.onprogress;
    const token = onprogress ? `mcp-fed-${this.host.nextId()}` : undefined;
    const signal = abortSignalOf(opts.signal);
    const idle = token ? idleTimeout(this.host.timeoutMs, signal) : undefined;
    if (token && idle && onprogress) {
      this.progress.set(token, (p) => {
        idle.restart();
        onprogress(p);
      });
      const meta = params._meta as Record<string, unknown> | undefined;
      params = { ...params, _meta: { ...meta, progressToken: token } };
    }
    try {
      return (await client.request({ method, params }, anyResult, {
        signal: idle?.signal ?? signal,
        timeout: idle ? NO_SDK_TIMEOUT : this.host.timeoutMs,
      })) as Record<string, unknown>;
    } catch (err) {
      const authError = findAuthFailure(this.host.name, err);
      if (authError) throw authError;
      if (!isAbort(err) && isConnectionFailure(err))
        this.host.connectionFailed(client, (err as Error).message);
      throw toDownstreamError(this.host.name, err);
    } finally {
      if (token) this.progress.delete(token);
      if (asker) askers?.delete(asker);
      idle?.clear();
    }
  }

  /**
   * An input request over an SDK client (stdio, SSE): unlike the lean path's per-call stream, these
   * transports do not say which call a server request belongs to, so it is relayed only when exactly
   * one call that can be asked is in flight on that client. Roots asked outside a call get an empty
   * list (the proxy's own session has none).
   */
  private async inputRequest(
    client: Client,
    method: string,
    params: unknown,
  ): Promise<Record<string, unknown>> {
    const askers = this.askers.get(client) ?? new Set();
    if (askers.size === 1) {
      const [asker] = askers;
      return asker!(method, params as Record<string, unknown> | undefined);
    }
    if (method === 'roots/list' && askers.size === 0) return { roots: [] };
    throw new Error(
      askers.size === 0
        ? `mcp-fed relays ${method} only during tools/call, prompts/get or resources/read`
        : `mcp-fed cannot tell which of ${askers.size} calls in flight this ${method} belongs to`,
    );
  }
}
