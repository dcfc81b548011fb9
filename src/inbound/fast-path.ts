import type { IncomingMessage, ServerResponse } from 'node:http';
import { INPUT_WAIT_MS } from '../bridge/limits.ts';
import { ProxyError } from '../errors.ts';
import type { Caller, CallMethod } from '../hooks/pipeline.ts';
import type { CallIO, Federation } from '../router/federation.ts';
import { CallAbort } from '../upstream/call-signal.ts';
import type { SessionBinding } from '../upstream/upstream-sessions.ts';
import { MODERN_VERSIONS, PROTOCOL_VERSION_META } from './era.ts';
import { modernNotificationFilter } from './log-level.ts';
import { callContext } from './request-context.ts';
import { finishResult, relayedAnswer, rpcErrorOf } from './result-shape.ts';

const CALLS = new Set<string>(['tools/call', 'prompts/get', 'resources/read']);
/** Header mismatch, missing client capability, unsupported version: HTTP 400 on 2026-07-28. */
const MODERN_400 = new Set([-32020, -32021, -32022]);
const CAPABILITIES_META = 'io.modelcontextprotocol/clientCapabilities';
const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
};

interface Message {
  jsonrpc?: unknown;
  id?: unknown;
  method?: unknown;
  params?: Record<string, unknown>;
}

/**
 * The hot path for tools/call, prompts/get and resources/read: answered straight from the parsed
 * body, without building an SDK Server per request (DESIGN.md, "Performance"). It only takes a
 * request it can validate completely; anything unusual falls back to the SDK path, which owns the
 * exact error answers of the spec's validation ladder.
 */
export class FastPath {
  constructor(private readonly fed: Federation) {}

  /** A well-formed 2026-07-28 call whose headers agree with its body, or false to fall back. */
  tryModern(req: IncomingMessage, res: ServerResponse, body: unknown, caller: Caller): boolean {
    const msg = callMessage(body);
    if (!msg) return false;
    const params = msg.params!;
    const meta = params._meta as Record<string, unknown> | undefined;
    const version = meta?.[PROTOCOL_VERSION_META];
    if (version !== MODERN_VERSIONS[0] || req.headers['mcp-protocol-version'] !== version) return false;
    const caps = meta?.[CAPABILITIES_META];
    if (typeof caps !== 'object' || caps === null) return false;
    if (req.headers['mcp-method'] !== msg.method) return false;
    const key = msg.method === 'resources/read' ? 'uri' : 'name';
    if (req.headers['mcp-name'] !== params[key]) return false;
    const accept = req.headers.accept ?? '';
    if (!accept.includes('application/json') || !accept.includes('text/event-stream')) return false;
    const ctx = callContext(req.headers, meta, caller, 'modern');
    void this.serve(res, msg, ctx, 'modern', caps as Record<string, unknown>);
    return true;
  }

  /** A call inside a live 2025-era session; `inflight` lets notifications/cancelled find it. */
  tryLegacy(
    req: IncomingMessage,
    res: ServerResponse,
    body: unknown,
    caller: Caller,
    inflight: Map<string | number, CallAbort>,
    session?: SessionBinding,
  ): boolean {
    const msg = callMessage(body);
    if (!msg) return false;
    const accept = req.headers.accept ?? '';
    if (!accept.includes('application/json') || !accept.includes('text/event-stream')) return false;
    const meta = msg.params!._meta as Record<string, unknown> | undefined;
    const ctx = callContext(req.headers, meta, caller, 'legacy');
    const id = msg.id as string | number;
    const ac = new CallAbort();
    inflight.set(id, ac);
    void this.serve(res, msg, ctx, 'legacy', session?.clientCapabilities, ac, session).finally(() =>
      inflight.delete(id),
    );
    return true;
  }

  private async serve(
    res: ServerResponse,
    msg: Message,
    ctx: ReturnType<typeof callContext>,
    era: 'modern' | 'legacy',
    clientCapabilities?: Record<string, unknown>,
    ac = new CallAbort(),
    session?: SessionBinding,
  ): Promise<void> {
    const id = msg.id as string | number;
    const params = msg.params!;
    // Closing the response stream is how a 2026-07-28 client cancels; it also stops a legacy call.
    res.on('close', () => {
      if (!res.writableFinished) ac.abort();
    });
    let streaming = false;
    const io: CallIO = { signal: ac, clientCapabilities, session };
    const write = (message: Record<string, unknown>): boolean => {
      if (res.writableEnded) return false;
      if (!streaming) {
        res.writeHead(200, SSE_HEADERS);
        streaming = true;
      }
      res.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
      return true;
    };
    const send = (method: string, notParams: Record<string, unknown> | undefined) => {
      write(
        notParams === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params: notParams },
      );
    };
    // A 2025-era client can be asked for input on this request's stream (see src/bridge/).
    if (era === 'legacy' && session)
      io.ask = this.fed.bridge.asks.asker(write, ac, INPUT_WAIT_MS, session.key);
    if (era === 'modern') {
      const allowed = modernNotificationFilter(params._meta as Record<string, unknown> | undefined);
      io.notify = (method, notParams) => {
        if (allowed(method, notParams)) send(method, notParams);
      };
    } else io.notify = send;
    const token = (params._meta as Record<string, unknown> | undefined)?.progressToken;
    if (token !== undefined) {
      io.progress = (p) => send('notifications/progress', { progressToken: token, ...p });
    }
    let reply: string;
    let status = 200;
    const headers: Record<string, string | number> = { 'content-type': 'application/json' };
    try {
      const result = await this.fed.call(msg.method as CallMethod, params, ctx, io);
      // An untouched result goes out as the upstream's bytes (an SSE frame needs them on one line: serialised).
      reply =
        (!streaming && relayedAnswer(result, era, msg.method as string, id)) ||
        JSON.stringify({ jsonrpc: '2.0', id, result: finishResult(result, era, msg.method as string) });
    } catch (err) {
      if (ac.aborted || res.destroyed) return;
      const error = rpcErrorOf(err, era);
      reply = JSON.stringify({ jsonrpc: '2.0', id, error });
      // An upstream's 2026-07-28 protocol error travels on the status that revision gives it.
      if (era === 'modern' && MODERN_400.has(error.code)) status = 400;
      // STORE_UNAVAILABLE answers the whole HTTP request with 503 + Retry-After (DESIGN.md, "HTTP surface").
      if (err instanceof ProxyError && err.httpStatus !== 200) {
        status = err.httpStatus;
        const wait = err.data.retryAfterMs;
        if (typeof wait === 'number') headers['retry-after'] = Math.max(1, Math.ceil(wait / 1000));
      }
    }
    if (res.writableEnded || res.destroyed) return;
    if (streaming) {
      res.end(`event: message\ndata: ${reply}\n\n`);
    } else {
      headers['content-length'] = Buffer.byteLength(reply);
      res.writeHead(status, headers);
      res.end(reply);
    }
  }
}

function callMessage(body: unknown): Message | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const msg = body as Message;
  if (msg.jsonrpc !== '2.0' || typeof msg.method !== 'string' || !CALLS.has(msg.method)) return undefined;
  if (typeof msg.id !== 'string' && typeof msg.id !== 'number') return undefined;
  const params = msg.params;
  if (params === null || typeof params !== 'object' || Array.isArray(params)) return undefined;
  const key = msg.method === 'resources/read' ? 'uri' : 'name';
  if (typeof params[key] !== 'string') return undefined;
  const args = params.arguments;
  if (args !== undefined && (args === null || typeof args !== 'object' || Array.isArray(args)))
    return undefined;
  if (msg.method === 'prompts/get' && args && Object.values(args).some((v) => typeof v !== 'string'))
    return undefined;
  return msg;
}
