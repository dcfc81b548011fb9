import http from 'node:http';
import https from 'node:https';
import type { ActingFor, OutgoingRequest, UpstreamAuth } from '../auth/types.ts';
import { Exchange, type ExchangeLink, type ExchangeOptions } from './exchange.ts';
import { StandaloneStream, type StandaloneStreamHandlers } from './standalone-stream.ts';
import { UpstreamHttpError, type WireMessage } from './wire.ts';

export type { ExchangeOptions } from './exchange.ts';

/**
 * The proxy's one Streamable HTTP client of an upstream (MCP spec, "Transports"), the only code that
 * speaks HTTP to it for calls and sessions. Narrow, like the SDK's client transport: `request` sends a
 * message and reads what comes back (JSON or SSE, resumed with `Last-Event-ID` when the server cuts the
 * stream), `notify` sends a notification or a response (202), `openStream` keeps the standalone `GET`
 * stream of a session, `endSession` DELETEs one. Sessions are optional: whatever `mcp-session-id` the
 * caller passes in the headers is sent, none when it passes none (a stateless server).
 *
 * It is node:http over a pooled keep-alive agent rather than fetch, because fetch and web streams cost
 * about twice a plain node:http hop (DESIGN.md, "Performance"). The auth adapter signs last, over the
 * exact body and headers written, and gets one chance to refresh after a 401.
 */
export class StreamableHttpClient {
  private readonly agent: http.Agent;
  /** Standalone streams live for a session's lifetime: their sockets never starve the call pool. */
  private readonly streamAgent: http.Agent;
  private readonly doRequest: typeof http.request;
  /** Parsed once: http.request(URL) would convert the URL to options on every call. */
  private readonly target: http.RequestOptions;
  private readonly link: ExchangeLink;
  /** What every POST carries before the call's own headers: made once, not per call. */
  private readonly postHeaders: Record<string, string>;

  constructor(
    readonly url: URL,
    readonly upstream: string,
    private readonly auth?: UpstreamAuth,
    /** Static headers of the upstream's config, under the call's own and the auth adapter's. */
    private readonly extraHeaders: Record<string, string> = {},
    /** Counts resumed response streams (mcp_fed_upstream_resumes_total). */
    private readonly onResume: () => void = () => {},
  ) {
    this.postHeaders = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...extraHeaders,
    };
    const secure = url.protocol === 'https:';
    this.doRequest = secure ? https.request : http.request;
    const Agent = secure ? https.Agent : http.Agent;
    this.agent = new Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64 });
    this.streamAgent = new Agent({ keepAlive: true });
    this.target = {
      protocol: url.protocol,
      hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
      port: url.port || (secure ? 443 : 80),
      path: `${url.pathname}${url.search}`,
    };
    this.link = {
      upstream,
      start: (method, headers, body, fresh, onResponse) => {
        if (body) headers['content-length'] = String(Buffer.byteLength(body));
        const agent = fresh ? false : method === 'GET' ? this.streamAgent : this.agent;
        const req = this.doRequest({ ...this.target, method, headers, agent }, onResponse);
        req.end(body || undefined);
        return req;
      },
      resumeHeaders: (call, lastEventId, actingFor) => this.streamHeaders(call, lastEventId, actingFor),
      resumed: () => this.onResume(),
    };
  }

  /**
   * Sends a JSON-RPC request and resolves with its answer: a result, or the upstream's JSON-RPC error
   * (from a body of any status). Rejects with UpstreamHttpError for a status the caller must act on
   * (401/403 after one refresh, 404 on a session, a status without a JSON-RPC error), a ProxyError for
   * a timeout or an answer that is not JSON-RPC, an AbortError when `opts.signal` fires, and the socket
   * error (flagged `upstreamConnection`) when the upstream cannot be reached.
   */
  async request(
    message: WireMessage,
    headers: Record<string, string>,
    opts: ExchangeOptions,
  ): Promise<WireMessage> {
    const body = JSON.stringify(message);
    const base: Record<string, string> = { ...this.postHeaders, ...headers };
    const auth = this.auth;
    if (!auth) return this.exchange(message, body, base, opts);
    const actingFor = opts.actingFor;
    const req: OutgoingRequest = { method: 'POST', url: this.url, headers: { ...base }, body, actingFor };
    const pending = auth.sign(req);
    if (pending) await pending;
    try {
      return await this.exchange(message, body, req.headers, opts);
    } catch (err) {
      if (!(err instanceof UpstreamHttpError && err.status === 401) || !auth.onUnauthorized?.(req)) throw err;
      if (opts.signal?.aborted) throw err;
      const retry: OutgoingRequest = { method: 'POST', url: this.url, headers: { ...base }, body, actingFor };
      await auth.sign(retry);
      return this.exchange(message, body, retry.headers, opts);
    }
  }

  /** POSTs a notification, or a response to the upstream's request; resolves once it is accepted (2xx). */
  async notify(
    message: WireMessage,
    headers: Record<string, string>,
    timeoutMs: number,
    actingFor?: ActingFor,
  ): Promise<void> {
    await this.request(message, headers, { timeoutMs, acceptOnly: true, actingFor });
  }

  /**
   * Opens and keeps the standalone `GET` stream of the session `headers` name (see StandaloneStream):
   * what arrives there (server requests, notifications) goes to `handlers`.
   */
  openStream(
    headers: Record<string, string>,
    handlers: StandaloneStreamHandlers,
    actingFor?: () => ActingFor | undefined,
  ): StandaloneStream {
    const stream = new StandaloneStream(
      {
        upstream: this.upstream,
        headers: (lastEventId) => this.streamHeaders(headers, lastEventId, actingFor?.()),
        start: (h, onResponse) => this.link.start('GET', h, '', false, onResponse),
        unauthorized: (h) =>
          this.auth?.onUnauthorized?.({
            method: 'GET',
            url: this.url,
            headers: h,
            body: '',
            actingFor: actingFor?.(),
          }) ?? false,
      },
      handlers,
    );
    stream.start();
    return stream;
  }

  /**
   * DELETEs an upstream session (a client's own, whose downstream session ended). Best effort: resolves
   * whatever the status (405: the server does not let clients end sessions), rejects only when the
   * request could not be made.
   */
  async endSession(headers: Record<string, string>, timeoutMs: number, actingFor?: ActingFor): Promise<void> {
    const req: OutgoingRequest = {
      method: 'DELETE',
      url: this.url,
      headers: { ...this.extraHeaders, ...headers },
      body: '',
      actingFor,
    };
    const pending = this.auth?.sign(req);
    if (pending) await pending;
    await new Promise<void>((resolve, reject) => {
      const out = this.doRequest(
        { ...this.target, method: 'DELETE', headers: req.headers, agent: this.agent },
        (res) => {
          res.resume();
          resolve();
        },
      );
      out.setTimeout(timeoutMs, () => out.destroy(new Error('DELETE timed out')));
      out.on('error', reject);
      out.end();
    });
  }

  close(): void {
    this.agent.destroy();
    this.streamAgent.destroy();
  }

  private exchange(
    message: WireMessage,
    body: string,
    headers: Record<string, string>,
    opts: ExchangeOptions,
  ): Promise<WireMessage> {
    return new Promise<WireMessage>((resolve, reject) => {
      new Exchange(this.link, message, opts, resolve, reject).post(body, headers);
    });
  }

  /** The headers of a GET on a session's stream (standalone, or resuming a response), signed. */
  private async streamHeaders(
    call: Record<string, string>,
    lastEventId: string,
    actingFor: ActingFor | undefined,
  ): Promise<Record<string, string>> {
    const headers: Record<string, string> = { ...this.extraHeaders, accept: 'text/event-stream' };
    for (const name of STREAM_HEADERS) {
      const value = call[name];
      if (value) headers[name] = value;
    }
    if (lastEventId) headers['last-event-id'] = lastEventId;
    const req: OutgoingRequest = { method: 'GET', url: this.url, headers, body: '', actingFor };
    const pending = this.auth?.sign(req);
    if (pending) await pending;
    return req.headers;
  }
}

/** What of a call's headers a GET on its session carries (correlation too, so a resumption is traceable). */
const STREAM_HEADERS = [
  'mcp-session-id',
  'mcp-protocol-version',
  'x-request-id',
  'traceparent',
  'tracestate',
  'x-mcp-fed-hops',
] as const;
