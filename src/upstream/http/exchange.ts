import type http from 'node:http';
import { ProxyError } from '../../errors.ts';
import type { ActingFor } from '../auth/types.ts';
import type { CallSignal } from '../call-signal.ts';
import { SseReader } from './sse-reader.ts';
import {
  abortError,
  answers,
  notJsonRpc,
  parseMessage,
  RAW_TEXT,
  timedOut,
  UpstreamHttpError,
  type WireMessage,
} from './wire.ts';

export interface ExchangeOptions {
  signal?: CallSignal;
  timeoutMs: number;
  /** The caller the request is sent for (per-caller auth signs it, and its resumption, with that caller's token). */
  actingFor?: ActingFor;
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
  /** Resolve on a 2xx status without reading a body (a POSTed notification or response: 202). */
  acceptOnly?: boolean;
}

/** What an exchange needs from the client that runs it. */
export interface ExchangeLink {
  readonly upstream: string;
  /** Starts one HTTP request (`fresh`: on a new connection, not a pooled one). */
  start(
    method: 'POST' | 'GET',
    headers: Record<string, string>,
    body: string,
    fresh: boolean,
    onResponse: (res: http.IncomingMessage) => void,
  ): http.ClientRequest;
  /** The headers of a resumption GET, signed by the auth adapter. */
  resumeHeaders(
    callHeaders: Record<string, string>,
    lastEventId: string,
    actingFor: ActingFor | undefined,
  ): Promise<Record<string, string>>;
  /** A response stream was resumed (counted in mcp_fed_upstream_resumes_total). */
  resumed(): void;
}

/** SSE's default reconnection delay when the server sent no `retry:` (the SDK clients use one second too). */
const DEFAULT_RETRY_MS = 1_000;
/** How many times one response stream may be resumed before the call gives up on the upstream. */
const MAX_RESUMES = 16;
/** An error body is read for its JSON-RPC error only up to this size. */
const MAX_ERROR_BODY = 1 << 20;

/**
 * One request and its answer (Streamable HTTP, "Sending Messages to the Server"): the POST, its JSON or
 * SSE response, and when the server closes the SSE stream before the answer (SEP-1699), a `GET` with
 * `Last-Event-ID` after the `retry:` delay, as often as it takes within the call's timeout. An event
 * id seen before is not delivered twice. An error status whose body holds a JSON-RPC error resolves
 * with it (the caller passes it through); one without such a body rejects with UpstreamHttpError.
 */
export class Exchange {
  private settled = false;
  private timer: NodeJS.Timeout;
  private waitingInput = false;
  private current?: http.ClientRequest;
  private resumeTimer?: NodeJS.Timeout;
  private resumes = 0;
  private lastEventId = '';
  private retryMs: number | undefined;
  private seen?: Set<string>;
  private readonly onAbort = () => this.finish(abortError());

  constructor(
    private readonly link: ExchangeLink,
    private readonly message: WireMessage,
    private readonly opts: ExchangeOptions,
    private readonly resolve: (msg: WireMessage) => void,
    private readonly reject: (err: Error) => void,
  ) {
    this.timer = setTimeout(() => this.finish(timedOut(link.upstream)), opts.timeoutMs);
    if (opts.signal?.aborted) {
      this.onAbort();
      return;
    }
    opts.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** POSTs `body`; a pooled socket the upstream had closed while idle fails before any answer and goes once more. */
  post(body: string, headers: Record<string, string>, fresh = false): void {
    if (this.settled) return;
    let responded = false;
    const req = this.link.start('POST', headers, body, fresh, (res) => {
      responded = true;
      this.onResponse(res, headers);
    });
    this.current = req;
    req.on('error', (err) => {
      if (responded) return; // a cut after the response began is the response's end (resumed or failed there)
      if (req.reusedSocket && !fresh && !this.opts.signal?.aborted) this.post(body, headers, true);
      else this.finish(Object.assign(err, { upstreamConnection: true }));
    });
  }

  private finish(err: Error | undefined, value?: WireMessage): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    clearTimeout(this.resumeTimer);
    this.opts.signal?.removeEventListener('abort', this.onAbort);
    if (err) {
      this.current?.destroy();
      this.reject(err);
    } else this.resolve(value!);
  }

  private rearm(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.finish(timedOut(this.link.upstream)), ms);
  }

  private onResponse(res: http.IncomingMessage, headers: Record<string, string>): void {
    const status = res.statusCode ?? 0;
    this.opts.onHeaders?.(res.headers);
    const sse = String(res.headers['content-type'] ?? '').startsWith('text/event-stream');
    // Streams are read as text as they come; a JSON answer as bytes, decoded once at its end (a
    // StringDecoder per response showed in the profile; a split multi-byte character is safe either way).
    if (sse || status < 200 || status >= 300) res.setEncoding('utf8');
    if (status < 200 || status >= 300) {
      this.onErrorStatus(res, status, sse, headers['mcp-session-id'] !== undefined);
      return;
    }
    if (this.opts.acceptOnly) {
      res.resume();
      this.finish(undefined, {});
      return;
    }
    if (sse) {
      this.readStream(res, headers);
      return;
    }
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
    });
    res.on('end', () => {
      const text =
        chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8');
      const msg = parseMessage(text);
      if (msg && answers(msg, this.message.id)) {
        msg[RAW_TEXT] = text;
        this.finish(undefined, msg);
      } else this.finish(notJsonRpc(this.link.upstream));
    });
    res.on('error', () => this.finish(closedEarly(this.link.upstream)));
  }

  /**
   * An error status: its JSON-RPC error (JSON or SSE body) is the answer; without one, the status is.
   * A 404 to a request in a session is always the status, whatever its body says (SDK servers send
   * "Session not found" as a JSON-RPC error): the session is gone and the caller opens a new one.
   */
  private onErrorStatus(res: http.IncomingMessage, status: number, sse: boolean, inSession: boolean): void {
    let text = '';
    res.on('data', (chunk: string) => {
      if (text.length < MAX_ERROR_BODY) text += chunk;
    });
    res.on('end', () => {
      let found: WireMessage | undefined;
      if (sse) new SseReader((e) => (found ??= parseMessage(e.data))).push(`${text}\n\n`);
      else found = parseMessage(text);
      const usable = found?.error !== undefined && (found.id === this.message.id || found.id == null);
      if (usable && status !== 401 && status !== 403 && !(status === 404 && inSession))
        this.finish(undefined, found);
      else
        this.finish(
          new UpstreamHttpError(status, `upstream "${this.link.upstream}" answered HTTP ${status}`),
        );
    });
    res.on('error', () =>
      this.finish(new UpstreamHttpError(status, `upstream "${this.link.upstream}" answered HTTP ${status}`)),
    );
  }

  private readStream(res: http.IncomingMessage, headers: Record<string, string>): void {
    const reader = new SseReader((event) => {
      if (event.ownId) {
        this.seen ??= new Set();
        if (this.seen.has(event.id)) return; // replayed after a resume: delivered already
        this.seen.add(event.id);
      }
      // Other event types are not MCP messages (the spec sends every message as "message").
      if (event.event === 'message') this.onMessage(event.data);
    });
    reader.lastEventId = this.lastEventId;
    res.on('data', (chunk: string) => reader.push(chunk));
    const ended = () => {
      this.lastEventId = reader.lastEventId;
      this.retryMs = reader.retryMs ?? this.retryMs;
      if (!this.settled) this.resume(headers);
    };
    res.on('end', ended);
    res.on('error', ended);
    res.on('aborted', ended);
  }

  private onMessage(raw: string): void {
    // Garbage between events is skipped, as the SDK clients do; the call still ends with the answer or
    // its timeout. (A JSON body that is not JSON-RPC fails at once: there is nothing else to wait for.)
    const msg = parseMessage(raw);
    if (!msg) return;
    if (answers(msg, this.message.id)) {
      msg[RAW_TEXT] = raw;
      this.finish(undefined, msg);
      return;
    }
    if (msg.method && msg.id === undefined) {
      if (this.waitingInput) {
        this.waitingInput = false;
        this.rearm(this.opts.timeoutMs);
      }
      this.opts.onNotification?.(msg);
    } else if (msg.method && msg.id !== null) {
      this.waitingInput = true;
      this.rearm(Math.max(this.opts.timeoutMs, this.opts.inputWaitMs ?? 0));
      this.opts.onRequest?.(msg);
    }
  }

  /** The stream ended before the answer: resume it from its last event id, or fail (nothing to resume from). */
  private resume(headers: Record<string, string>): void {
    if (!this.lastEventId) {
      this.finish(closedEarly(this.link.upstream));
      return;
    }
    if (++this.resumes > MAX_RESUMES) {
      this.finish(notResumable(this.link.upstream, `after ${MAX_RESUMES} resumptions`));
      return;
    }
    this.resumeTimer = setTimeout(() => {
      this.link.resumeHeaders(headers, this.lastEventId, this.opts.actingFor).then(
        (h) => this.resumeWith(h, headers),
        (err: Error) => this.finish(err),
      );
    }, this.retryMs ?? DEFAULT_RETRY_MS);
  }

  private resumeWith(get: Record<string, string>, callHeaders: Record<string, string>): void {
    if (this.settled) return;
    this.link.resumed();
    let responded = false;
    const req = this.link.start('GET', get, '', false, (res) => {
      responded = true;
      const status = res.statusCode ?? 0;
      const sse = String(res.headers['content-type'] ?? '').startsWith('text/event-stream');
      if (status !== 200 || !sse) {
        res.resume();
        return this.finish(
          notResumable(this.link.upstream, `its GET with Last-Event-ID answered HTTP ${status}`),
        );
      }
      res.setEncoding('utf8');
      this.readStream(res, callHeaders);
    });
    this.current = req;
    req.on('error', (err) => {
      if (!responded) this.finish(Object.assign(err, { upstreamConnection: true }));
    });
  }
}

function closedEarly(upstream: string): ProxyError {
  return new ProxyError('UPSTREAM_ERROR', `upstream "${upstream}" closed the response before answering`, {
    upstream,
  });
}

function notResumable(upstream: string, why: string): ProxyError {
  return new ProxyError(
    'UPSTREAM_ERROR',
    `upstream "${upstream}" closed the response stream before answering and it could not be resumed: ${why}`,
    { upstream },
  );
}
