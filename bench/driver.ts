/**
 * The load client. Raw node:http with a keep-alive agent, not the SDK client: the client shares
 * the 2 cores with the hops it measures, so every microsecond it spends is noise in their numbers.
 */
import http from 'node:http';

export type Era = 'modern' | 'legacy';

export const MODERN_VERSION = '2026-07-28';
export const LEGACY_VERSION = '2025-11-25';
const CLIENT_INFO = { name: 'mcp-fed-bench', version: '1.0.0' };
const TIMEOUT_MS = 10_000;

export interface Target {
  url: string;
  tool: string;
  /** Sent with every request (credentials for a proxy with inbound auth). */
  headers?: Record<string, string>;
  /**
   * A 2025-era stateless server (SDK v1 `sessionIdGenerator: undefined`): its `initialize` answer
   * carries no `Mcp-Session-Id`, so legacy calls go without one. Without this flag a missing session
   * id is an error.
   */
  sessionless?: boolean;
}

export interface PhaseResult {
  latenciesMs: number[];
  calls: number;
  errors: number;
  elapsedMs: number;
  firstError?: string;
}

/** How long a phase runs: a fixed number of calls (split over the loops) or a wall-clock duration. */
export type Stop = { requests: number } | { durationMs: number };

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  message: unknown;
}

/** A connection pool plus, for the legacy era, one session per loop (N loops model N clients). */
export class Client {
  private readonly agent: http.Agent;
  private readonly url: URL;
  private readonly sessions: (string | undefined)[] = [];
  private nextId = 1;

  constructor(
    readonly target: Target,
    readonly era: Era,
    readonly concurrency: number,
  ) {
    this.url = new URL(target.url);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  }

  async open(): Promise<void> {
    if (this.era === 'modern') return;
    for (let i = 0; i < this.concurrency; i++) this.sessions.push(await this.initialize());
  }

  async close(): Promise<void> {
    // Ending the sessions keeps the upstream's and proxy's session tables from growing across rows.
    await Promise.all(
      this.sessions.map((id) =>
        id ? this.send('DELETE', '', { 'mcp-session-id': id, 'mcp-protocol-version': LEGACY_VERSION }) : null,
      ),
    ).catch(() => {});
    this.agent.destroy();
  }

  /** Runs `concurrency` loops of tools/call and collects per-call latencies. */
  async run(text: string, stop: Stop): Promise<PhaseResult> {
    const result: PhaseResult = { latenciesMs: [], calls: 0, errors: 0, elapsedMs: 0 };
    const params = JSON.stringify({
      name: this.target.tool,
      arguments: { text },
      ...(this.era === 'modern' && {
        _meta: {
          'io.modelcontextprotocol/protocolVersion': MODERN_VERSION,
          'io.modelcontextprotocol/clientCapabilities': {},
          'io.modelcontextprotocol/clientInfo': CLIENT_INFO,
        },
      }),
    });
    const started = performance.now();
    const deadline = 'durationMs' in stop ? started + stop.durationMs : Number.POSITIVE_INFINITY;
    let budget = 'requests' in stop ? stop.requests : Number.POSITIVE_INFINITY;

    const loop = async (slot: number) => {
      const headers = this.callHeaders(slot);
      while (budget > 0 && performance.now() < deadline) {
        budget--;
        const id = this.nextId++;
        const body = `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":${params}}`;
        const t0 = performance.now();
        const problem = await this.send('POST', body, headers, id).then(
          (reply) => checkEcho(reply, id, text),
          (err: Error) => err.message,
        );
        result.calls++;
        if (problem === undefined) result.latenciesMs.push(performance.now() - t0);
        else {
          result.errors++;
          result.firstError ??= problem;
        }
      }
    };
    await Promise.all(Array.from({ length: this.concurrency }, (_, slot) => loop(slot)));
    result.elapsedMs = performance.now() - started;
    return result;
  }

  private callHeaders(slot: number): http.OutgoingHttpHeaders {
    if (this.era === 'modern') {
      return {
        'mcp-protocol-version': MODERN_VERSION,
        'mcp-method': 'tools/call',
        'mcp-name': this.target.tool,
      };
    }
    const session = this.sessions[slot];
    if (session === undefined && this.target.sessionless) return { 'mcp-protocol-version': LEGACY_VERSION };
    return { 'mcp-protocol-version': LEGACY_VERSION, 'mcp-session-id': session ?? '' };
  }

  private async initialize(): Promise<string | undefined> {
    const init = {
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: LEGACY_VERSION, capabilities: {}, clientInfo: CLIENT_INFO },
    };
    const reply = await this.send('POST', JSON.stringify(init), {}, 0);
    const header = reply.headers['mcp-session-id'];
    const session = typeof header === 'string' ? header : undefined;
    if (
      reply.status !== 200 ||
      (session === undefined && !this.target.sessionless) ||
      !isResult(reply.message, 0)
    ) {
      throw new Error(
        `initialize failed at ${this.target.url}: HTTP ${reply.status} ${describe(reply.message)}`,
      );
    }
    const headers = {
      ...(session !== undefined && { 'mcp-session-id': session }),
      'mcp-protocol-version': LEGACY_VERSION,
    };
    const ack = await this.send('POST', '{"jsonrpc":"2.0","method":"notifications/initialized"}', headers);
    if (ack.status !== 202 && ack.status !== 200)
      throw new Error(`initialized notification: HTTP ${ack.status}`);
    return session;
  }

  /** One HTTP exchange; with an `id`, resolves with the JSON-RPC message carrying that id. */
  private send(method: string, body: string, extra: http.OutgoingHttpHeaders, id?: number): Promise<Reply> {
    return exchange(this.agent, this.url, method, body, { ...this.target.headers, ...extra }, id, TIMEOUT_MS);
  }
}

/**
 * One HTTP exchange over `agent` (the bench driver's and the load run's clients): with an `id`, resolves
 * with the JSON-RPC message carrying that id, from a JSON body or an SSE stream (read as it arrives,
 * notifications before the response skipped). A timeout rejects with `code: 'TIMEOUT'`.
 */
export function exchange(
  agent: http.Agent,
  url: URL,
  method: string,
  body: string,
  headers: http.OutgoingHttpHeaders,
  id: number | undefined,
  timeoutMs: number,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method,
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'content-length': Buffer.byteLength(body),
          ...headers,
        },
      },
      (res) => {
        const sse = (res.headers['content-type'] ?? '').startsWith('text/event-stream');
        const reader = sse ? new SseReader(id) : undefined;
        let raw = '';
        let message: unknown;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (reader) message ??= reader.push(chunk);
          else raw += chunk;
        });
        res.on('end', () => {
          if (!reader && raw) message = parseJson(raw);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, message });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () =>
      req.destroy(Object.assign(new Error(`timeout after ${timeoutMs} ms`), { code: 'TIMEOUT' })),
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Incremental SSE framing: events are separated by a blank line; only `data:` lines matter here. */
class SseReader {
  private buffer = '';

  constructor(private readonly id: number | undefined) {}

  push(chunk: string): unknown {
    this.buffer += chunk.replace(/\r\n?/g, '\n');
    let end = this.buffer.indexOf('\n\n');
    while (end >= 0) {
      const event = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const data = event
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5))
        .join('\n');
      if (data) {
        const message = parseJson(data) as { id?: unknown } | undefined;
        // Progress and log notifications may precede the response on the same stream.
        if (message && message.id === this.id) return message;
      }
      end = this.buffer.indexOf('\n\n');
    }
    return undefined;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { unparsable: text.slice(0, 200) };
  }
}

function isResult(message: unknown, id: number): message is { result: Record<string, unknown> } {
  const m = message as { id?: unknown; result?: unknown } | undefined;
  return m?.id === id && typeof m.result === 'object' && m.result !== null;
}

function describe(message: unknown): string {
  return message === undefined ? '(no JSON-RPC message)' : JSON.stringify(message).slice(0, 300);
}

/** Returns undefined for a correct echo, else why the call counts as an error. */
function checkEcho(reply: Reply, id: number, text: string): string | undefined {
  const m = reply.message as { result?: { content?: { text?: unknown }[]; isError?: boolean } };
  if (reply.status !== 200) return `HTTP ${reply.status} ${describe(reply.message)}`;
  if ((reply.message as { error?: unknown } | undefined)?.error)
    return `JSON-RPC error: ${describe(reply.message)}`;
  if (!isResult(reply.message, id)) return `not a JSON-RPC result: ${describe(reply.message)}`;
  if (m.result?.isError) return `tool error: ${describe(reply.message)}`;
  if (m.result?.content?.[0]?.text !== text) return `echo mismatch: ${describe(reply.message)}`;
  return undefined;
}

/**
 * Deterministic filler of exactly `bytes` ASCII characters: PII-free, or (`pii`) opening with five
 * personal values of different kinds (email, phone, card, IBAN, IP address: the governance-on payload
 * of issue 5) in running text.
 */
export function payload(bytes: number, pii = false): string {
  const words = 'the quick brown fox jumps over a lazy dog while the bench measures one more hop ';
  const lead = pii ? PII_SENTENCE : '';
  return (lead + words.repeat(Math.ceil(bytes / words.length))).slice(0, Math.max(bytes, lead.length));
}

const PII_SENTENCE =
  'Mail jane.doe@example.com or call +1 415 555 0132; card 4111 1111 1111 1111, ' +
  'IBAN DE89 3704 0044 0532 0130 00, host 192.168.10.24. ';
