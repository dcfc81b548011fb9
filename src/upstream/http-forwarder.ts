import http from 'node:http';
import https from 'node:https';
import { ProxyError, UpstreamRpcError } from '../errors.ts';
import type { OutgoingRequest, UpstreamAuth } from './auth/types.ts';
import { SseParser } from './sse-parser.ts';

/** A JSON-RPC message as read off the wire (not validated: the proxy relays, the client validates). */
export interface WireMessage {
  jsonrpc?: string;
  id?: string | number | null;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: unknown };
}

export interface ForwardOptions {
  signal?: AbortSignal;
  timeoutMs: number;
  /** Notifications (progress, logging) the upstream sends on this request's stream. */
  onNotification?: (message: WireMessage) => void;
  /**
   * Requests a 2025-era upstream sends on this request's stream (elicitation, sampling, roots): about
   * this request. While one is open the timeout is `inputWaitMs` (a person may be answering).
   */
  onRequest?: (message: WireMessage) => void;
  inputWaitMs?: number;
  /** The response headers (e.g. the `mcp-session-id` an `initialize` answer carries). */
  onHeaders?: (headers: http.IncomingHttpHeaders) => void;
}

export class UpstreamHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The hot path to a Streamable HTTP upstream: one POST over a pooled keep-alive connection, the
 * JSON or SSE answer parsed once. It replaces the SDK client for forwarded calls because fetch and
 * web streams cost about twice a plain node:http hop (DESIGN.md, "Performance").
 */
export class HttpForwarder {
  private readonly agent: http.Agent;
  private readonly request: typeof http.request;
  /** Parsed once: http.request(URL) would convert the URL to options on every call. */
  private readonly target: http.RequestOptions;

  constructor(
    readonly url: URL,
    private readonly upstream: string,
    private readonly auth?: UpstreamAuth,
    /** Static headers of the upstream's config, under the call's own and the auth adapter's. */
    private readonly extraHeaders: Record<string, string> = {},
  ) {
    const secure = url.protocol === 'https:';
    this.request = secure ? https.request : http.request;
    this.agent = secure
      ? new https.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64 })
      : new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64 });
    this.target = {
      protocol: url.protocol,
      hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
      port: url.port || (secure ? 443 : 80),
      path: `${url.pathname}${url.search}`,
      method: 'POST',
      agent: this.agent,
    };
  }

  /**
   * DELETEs an upstream session (a client's own, whose downstream session ended). Best effort: resolves
   * whatever the status, rejects only when the request could not be made.
   */
  async endSession(headers: Record<string, string>, timeoutMs: number): Promise<void> {
    const req: OutgoingRequest = {
      method: 'DELETE',
      url: this.url,
      headers: { ...this.extraHeaders, ...headers },
      body: '',
    };
    const pending = this.auth?.sign(req);
    if (pending) await pending;
    await new Promise<void>((resolve, reject) => {
      const out = this.request({ ...this.target, method: 'DELETE', headers: req.headers }, (res) => {
        res.resume();
        resolve();
      });
      out.setTimeout(timeoutMs, () => out.destroy(new Error('DELETE timed out')));
      out.on('error', reject);
      out.end();
    });
  }

  /** POSTs a JSON-RPC response (the answer to an upstream's request); resolves once it is accepted. */
  async answer(message: WireMessage, headers: Record<string, string>, timeoutMs: number): Promise<void> {
    await this.post(message, headers, { timeoutMs, acceptOnly: true });
  }

  async post(
    message: WireMessage,
    headers: Record<string, string>,
    opts: ForwardOptions & { acceptOnly?: boolean },
  ): Promise<WireMessage> {
    const body = JSON.stringify(message);
    const base: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...this.extraHeaders,
      ...headers,
    };
    const auth = this.auth;
    if (!auth) return this.send(message, body, base, opts);
    // The adapter signs last, over the exact body and headers written below.
    const req: OutgoingRequest = { method: 'POST', url: this.url, headers: { ...base }, body };
    const pending = auth.sign(req);
    if (pending) await pending;
    try {
      return await this.send(message, body, req.headers, opts);
    } catch (err) {
      if (!(err instanceof UpstreamHttpError && err.status === 401) || !auth.onUnauthorized?.(req)) throw err;
      if (opts.signal?.aborted) throw err;
      const retry: OutgoingRequest = { method: 'POST', url: this.url, headers: { ...base }, body };
      await auth.sign(retry);
      return this.send(message, body, retry.headers, opts);
    }
  }

  /**
   * A pooled socket the upstream closed while it sat idle (its keep-alive timeout racing the reuse: on a
   * loaded machine the close is still unread when the socket is handed out) fails before any answer, so
   * the upstream never saw the request: it goes once more, on a new connection. Without this, one stale
   * socket failed the call and marked a healthy upstream down (issue 7 load run).
   */
  private async send(
    message: WireMessage,
    body: string,
    all: Record<string, string>,
    opts: ForwardOptions & { acceptOnly?: boolean },
  ): Promise<WireMessage> {
    try {
      return await this.sendOnce(message, body, all, opts, false);
    } catch (err) {
      if (!(err as { staleSocket?: boolean }).staleSocket || opts.signal?.aborted) throw err;
      return this.sendOnce(message, body, all, opts, true);
    }
  }

  private sendOnce(
    message: WireMessage,
    body: string,
    all: Record<string, string>,
    opts: ForwardOptions & { acceptOnly?: boolean },
    fresh: boolean,
  ): Promise<WireMessage> {
    all['content-length'] = String(Buffer.byteLength(body));
    return new Promise<WireMessage>((resolve, reject) => {
      let settled = false;
      const finish = (err: Error | undefined, value?: WireMessage) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        if (err) {
          req.destroy();
          reject(err);
        } else resolve(value!);
      };
      const onAbort = () =>
        finish(Object.assign(new Error('cancelled by the client'), { name: 'AbortError' }));
      const timedOut = () =>
        finish(
          new ProxyError('UPSTREAM_TIMEOUT', `upstream "${this.upstream}" did not answer in time`, {
            upstream: this.upstream,
          }),
        );
      let timer = setTimeout(timedOut, opts.timeoutMs);
      let waitingInput = false;
      const rearm = (ms: number) => {
        clearTimeout(timer);
        timer = setTimeout(timedOut, ms);
      };
      let responded = false;
      const req = this.request({ ...this.target, headers: all, ...(fresh && { agent: false }) }, (res) => {
        responded = true;
        const status = res.statusCode ?? 0;
        opts.onHeaders?.(res.headers);
        const type = String(res.headers['content-type'] ?? '');
        res.setEncoding('utf8');
        if (status >= 400 || status < 200) {
          res.resume();
          finish(new UpstreamHttpError(status, `upstream "${this.upstream}" answered HTTP ${status}`));
          return;
        }
        if (opts.acceptOnly) {
          res.resume();
          finish(undefined, {});
          return;
        }
        const onMessage = (raw: string) => {
          let msg: WireMessage;
          try {
            msg = JSON.parse(raw) as WireMessage;
          } catch {
            finish(garbage(this.upstream));
            return;
          }
          if (msg.id === message.id && (msg.result !== undefined || msg.error !== undefined))
            finish(undefined, msg);
          else if (msg.method && msg.id === undefined) {
            if (waitingInput) {
              waitingInput = false;
              rearm(opts.timeoutMs);
            }
            opts.onNotification?.(msg);
          } else if (msg.method && msg.id !== null) {
            waitingInput = true;
            rearm(Math.max(opts.timeoutMs, opts.inputWaitMs ?? 0));
            opts.onRequest?.(msg);
          }
        };
        if (type.startsWith('text/event-stream')) {
          const parser = new SseParser(onMessage);
          res.on('data', (chunk: string) => parser.push(chunk));
        } else {
          let text = '';
          res.on('data', (chunk: string) => {
            text += chunk;
          });
          res.on('end', () => onMessage(text));
        }
        // Built only when needed: an Error captures a stack, too costly for every response's 'end'.
        const early = () => {
          if (!settled) finish(closedEarly(this.upstream));
        };
        res.on('end', early);
        res.on('error', early);
        res.on('aborted', early);
      });
      req.on('error', (err) =>
        finish(Object.assign(err, { upstreamConnection: true, staleSocket: req.reusedSocket && !responded })),
      );
      if (opts.signal?.aborted) return onAbort();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function garbage(upstream: string): ProxyError {
  return new ProxyError('UPSTREAM_ERROR', `upstream "${upstream}" sent a response that is not JSON-RPC`, {
    upstream,
  });
}

function closedEarly(upstream: string): ProxyError {
  return new ProxyError('UPSTREAM_ERROR', `upstream "${upstream}" closed the response before answering`, {
    upstream,
  });
}

/** Turns a JSON-RPC error response into the error the downstream sees (passed through unchanged). */
export function rpcError(msg: WireMessage): UpstreamRpcError {
  return new UpstreamRpcError(msg.error!.code, msg.error!.message, msg.error!.data);
}
