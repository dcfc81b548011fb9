import type http from 'node:http';
import { SseReader } from './sse-reader.ts';
import { parseMessage, type WireMessage } from './wire.ts';

/**
 * - `open`: the GET stream is open; `unsupported`: the server has none (405);
 * - `held-elsewhere`: another client of the session holds it (409: another replica), retried slowly;
 * - `gone`: the server no longer knows the session (404); `closed`: closed by the proxy.
 */
export type StreamState = 'connecting' | 'open' | 'unsupported' | 'held-elsewhere' | 'gone' | 'closed';

export interface StandaloneStreamHandlers {
  /** A request (elicitation, sampling, roots, ping) or a notification the server sent outside any call. */
  onMessage(message: WireMessage): void;
  onState?(state: StreamState): void;
}

/** What a standalone stream needs from its client. */
export interface StreamLink {
  readonly upstream: string;
  /** The signed GET headers, with `Last-Event-ID` when there is one to resume from. */
  headers(lastEventId: string): Promise<Record<string, string>>;
  start(headers: Record<string, string>, onResponse: (res: http.IncomingMessage) => void): http.ClientRequest;
  /** A 401 came: whether the auth adapter dropped its credential (then one immediate retry is worth it). */
  unauthorized(headers: Record<string, string>): boolean;
}

const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 30_000;
/** While another replica holds the stream, check this often whether it still does. */
const HELD_RETRY_MS = 15_000;

/**
 * The standalone `GET` stream of one upstream session (Streamable HTTP, "Listening for Messages from
 * the Server"): kept open for the session's life, reopened with `Last-Event-ID` when the server ends
 * it (after its `retry:` delay) or the connection drops (with backoff), each event delivered once.
 */
export class StandaloneStream {
  state: StreamState = 'connecting';
  private lastEventId = '';
  private retryMs: number | undefined;
  private failures = 0;
  private retriedAuth = false;
  private req?: http.ClientRequest;
  private timer?: NodeJS.Timeout;
  private readonly seen = new Set<string>();
  private settle!: () => void;
  /**
   * Resolves once the first attempt is decided (open, refused, or failed). A server drops what it
   * sends on a GET stream nobody holds (the SDK's transports do), so a session's first call waits
   * for this: its input requests must find the stream open.
   */
  readonly settled = new Promise<void>((resolve) => {
    this.settle = resolve;
  });

  constructor(
    private readonly link: StreamLink,
    private readonly handlers: StandaloneStreamHandlers,
  ) {}

  start(): void {
    void this.connect();
  }

  close(): void {
    this.settle();
    this.setState('closed');
    clearTimeout(this.timer);
    this.req?.destroy();
  }

  private setState(state: StreamState): void {
    if (this.state === state || this.state === 'closed') return;
    this.state = state;
    this.handlers.onState?.(state);
  }

  private async connect(): Promise<void> {
    if (this.state === 'closed') return;
    let headers: Record<string, string>;
    try {
      headers = await this.link.headers(this.lastEventId);
    } catch {
      return this.retry(this.backoff());
    }
    if (this.closed()) return;
    let responded = false;
    const req = this.link.start(headers, (res) => {
      responded = true;
      this.onResponse(res, headers);
    });
    this.req = req;
    req.on('error', () => {
      if (!responded) this.retry(this.backoff());
    });
  }

  private onResponse(res: http.IncomingMessage, headers: Record<string, string>): void {
    const status = res.statusCode ?? 0;
    // A 401 about to be retried at once is not yet an answer.
    if (!(status === 401 && !this.retriedAuth)) this.settle();
    const sse = String(res.headers['content-type'] ?? '').startsWith('text/event-stream');
    if (status !== 200 || !sse) res.resume();
    if (status === 405) {
      this.setState('unsupported');
      return;
    }
    if (status === 404) {
      this.setState('gone');
      return;
    }
    if (status === 409) {
      this.setState('held-elsewhere');
      this.retry(HELD_RETRY_MS);
      return;
    }
    if (status === 401 && !this.retriedAuth && this.link.unauthorized(headers)) {
      this.retriedAuth = true;
      this.retry(0);
      return;
    }
    if (status !== 200 || !sse) {
      this.retry(this.backoff());
      return;
    }
    this.failures = 0;
    this.retriedAuth = false;
    this.setState('open');
    res.setEncoding('utf8');
    const reader = new SseReader((event) => {
      if (event.ownId) {
        if (this.seen.has(event.id)) return;
        this.seen.add(event.id);
        if (this.seen.size > 1_000) this.seen.delete(this.seen.values().next().value as string);
      }
      if (event.event !== 'message') return;
      const msg = parseMessage(event.data);
      if (msg?.method) this.handlers.onMessage(msg);
    });
    reader.lastEventId = this.lastEventId;
    res.on('data', (chunk: string) => reader.push(chunk));
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      this.lastEventId = reader.lastEventId;
      this.retryMs = reader.retryMs ?? this.retryMs;
      // The server may end the stream whenever it likes (SEP-1699): come back after its retry delay.
      this.retry(this.retryMs ?? FIRST_RETRY_MS);
    };
    res.on('end', end);
    res.on('error', end);
    res.on('aborted', end);
  }

  /** Read through a method: a close may happen during an await, which narrowing cannot see. */
  private closed(): boolean {
    return this.state === 'closed';
  }

  private backoff(): number {
    return Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** this.failures++);
  }

  private retry(ms: number): void {
    if (ms > 0) this.settle();
    if (this.state === 'closed') return;
    if (this.state === 'open') this.setState('connecting');
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.connect(), ms);
    this.timer.unref();
  }
}
