import http from 'node:http';
import { expect } from 'vitest';
import { type RawReply, rawPost } from './federation.ts';

/** Opens a 2025-era session by hand (initialize + notifications/initialized); returns its request headers. */
/** A raw 2025-era `initialize` (no `notifications/initialized` after it), with extra headers (credentials). */
export function legacyInitialize(
  url: string,
  headers: Record<string, string> = {},
  version = '2025-11-25',
): Promise<RawReply> {
  return rawPost(
    url,
    {
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    },
    headers,
  );
}

export async function rawLegacySession(url: string, version: string): Promise<Record<string, string>> {
  const init = await legacyInitialize(url, {}, version);
  const sessionId = init.headers.get('mcp-session-id');
  if (init.status !== 200 || !sessionId) throw new Error(`initialize failed: ${init.status} ${init.text}`);
  const headers = { 'mcp-session-id': sessionId, 'mcp-protocol-version': version };
  const done = await rawPost(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, headers);
  if (done.status !== 202) throw new Error(`notifications/initialized failed: ${done.status} ${done.text}`);
  return headers;
}

/** Any HTTP request with a raw body; `chunked` sends it in two writes without Content-Length. */
export function rawRequest(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string; chunked?: boolean } = {},
): Promise<RawReply> {
  const { method = 'POST', body, chunked = false } = opts;
  const headers: Record<string, string> = {
    accept: 'application/json, text/event-stream',
    ...(body !== undefined && { 'content-type': 'application/json' }),
    ...opts.headers,
  };
  if (body !== undefined && !chunked) headers['content-length'] = String(Buffer.byteLength(body));
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => {
        const out = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') out.set(k, v);
        let json: RawReply['json'];
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: out, text, json });
      });
    });
    req.on('error', reject);
    if (body !== undefined && chunked) {
      const half = Math.floor(body.length / 2);
      req.write(body.slice(0, half));
      setTimeout(() => req.end(body.slice(half)), 10);
    } else req.end(body);
  });
}

/** Asserts a whole-reply JSON-RPC error: HTTP status, error.code, message, and data.code when given. */
export function expectError(
  reply: RawReply,
  status: number,
  code: number,
  message: RegExp,
  dataCode?: string,
) {
  expect(reply.status, reply.text).toBe(status);
  expect(reply.json?.error?.code, reply.text).toBe(code);
  expect(reply.json?.error?.message).toMatch(message);
  if (dataCode) expect(reply.json?.error?.data?.code).toBe(dataCode);
}

/** Every JSON-RPC message of a reply: a JSON array, one JSON object, or each `data:` line of an SSE stream. */
export function messagesOf(reply: RawReply): unknown[] {
  if (Array.isArray(reply.json) && !reply.text.startsWith('event:')) return reply.json;
  const lines = reply.text.split('\n').filter((l) => l.startsWith('data: '));
  return lines.length ? lines.map((l) => JSON.parse(l.slice(6))) : [reply.json];
}
