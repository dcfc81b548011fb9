import type { ServerResponse } from 'node:http';
import { ERROR_NUMBERS } from '../errors.ts';

/** How long a client is asked to wait before retrying when the session store cannot be reached. */
export const STORE_RETRY_SECONDS = 1;

/** Answers a whole HTTP request with one JSON-RPC error (used before any MCP handler runs). */
export function sendJsonRpcError(
  res: ServerResponse,
  status: number,
  id: string | number | null,
  code: number,
  message: string,
  data?: Record<string, unknown>,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id,
    error: data ? { code, message, data } : { code, message },
  });
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

/** 503 + Retry-After for a whole request, with the error's stable code and the wait in `data.retryAfterMs`. */
function sendUnavailable(
  res: ServerResponse,
  code: 'STORE_UNAVAILABLE' | 'SESSIONS_FULL',
  message: string,
  retrySeconds: number,
): void {
  sendJsonRpcError(
    res,
    503,
    null,
    ERROR_NUMBERS[code],
    `Service Unavailable: ${message}`,
    { code, retryAfterMs: retrySeconds * 1000 },
    { 'retry-after': String(retrySeconds) },
  );
}

/** 503 STORE_UNAVAILABLE: the session store cannot be reached, so the request fails closed. */
export function sendStoreUnavailable(res: ServerResponse): void {
  sendUnavailable(
    res,
    'STORE_UNAVAILABLE',
    'the session store cannot be reached; try again shortly',
    STORE_RETRY_SECONDS,
  );
}

/** 503 for an initialize over `sessions.max`: the client retries later (sessions expire or end). */
export function sendSessionsFull(res: ServerResponse): void {
  sendUnavailable(
    res,
    'SESSIONS_FULL',
    'this proxy holds as many sessions as it may (sessions.max); try again later',
    SESSIONS_RETRY_SECONDS,
  );
}

const SESSIONS_RETRY_SECONDS = 30;
