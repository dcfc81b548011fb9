import { ProxyError, UpstreamRpcError } from '../../errors.ts';

/** On an answer: the exact text it arrived as (a JSON body, or one SSE event's data). */
export const RAW_TEXT: unique symbol = Symbol('mcp-fed.rawText');

/** A JSON-RPC message as read off the wire (not validated: the proxy relays, the client validates). */
export interface WireMessage {
  [RAW_TEXT]?: string;
  jsonrpc?: string;
  id?: string | number | null;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: unknown };
}

/**
 * An HTTP status the caller of the client must act on: 401/403 (the auth adapter refreshes, then
 * `UPSTREAM_AUTH_FAILED`), 404 on a session id (the session is reopened), or a status whose body
 * held no JSON-RPC answer (5xx: the upstream is unavailable; 4xx: `UPSTREAM_ERROR`).
 */
export class UpstreamHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The headers that put a POST in the session `call` headers name (version, and the session id when
 * there is one): what answers, notifications and cancellations sent beside a call carry.
 */
export function sessionHeaders(call: Record<string, string>): Record<string, string> {
  const headers: Record<string, string> = { 'mcp-protocol-version': call['mcp-protocol-version'] ?? '' };
  const id = call['mcp-session-id'];
  if (id) headers['mcp-session-id'] = id;
  return headers;
}

/** Parses one JSON-RPC message, or undefined for anything that is not one (a batch counts as not one). */
export function parseMessage(text: string): WireMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const msg = value as WireMessage;
  if (typeof msg.method !== 'string' && msg.result === undefined && msg.error === undefined) return undefined;
  if (msg.error !== undefined && (typeof msg.error !== 'object' || typeof msg.error?.code !== 'number'))
    return undefined;
  return msg;
}

/** Whether `msg` is the answer to the request with `id` (an error with a null id answers too: parse errors). */
export function answers(msg: WireMessage, id: WireMessage['id']): boolean {
  if (msg.method !== undefined) return false;
  if (msg.id === id) return msg.result !== undefined || msg.error !== undefined;
  return msg.id === null && msg.error !== undefined;
}

/** Turns a JSON-RPC error response into the error the downstream sees (passed through unchanged). */
export function rpcError(msg: WireMessage): UpstreamRpcError {
  return new UpstreamRpcError(msg.error!.code, msg.error!.message, msg.error!.data);
}

export function notJsonRpc(upstream: string): ProxyError {
  return new ProxyError('UPSTREAM_ERROR', `upstream "${upstream}" sent a response that is not JSON-RPC`, {
    upstream,
  });
}

export function timedOut(upstream: string): ProxyError {
  return new ProxyError('UPSTREAM_TIMEOUT', `upstream "${upstream}" did not answer in time`, { upstream });
}

export function abortError(): Error {
  return Object.assign(new Error('cancelled by the client'), { name: 'AbortError' });
}
