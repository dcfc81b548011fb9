/**
 * The Streamable HTTP client against a scripted node:http server, as the spec's transport section reads:
 * SSE answers with priming events, a response stream the server closes early and the GET that resumes
 * it, JSON-RPC errors on HTTP error statuses, and the standalone GET stream.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ProxyError } from '../../src/errors.ts';
import type { StreamState } from '../../src/upstream/http/standalone-stream.ts';
import { StreamableHttpClient } from '../../src/upstream/http/streamable-http-client.ts';
import { UpstreamHttpError, type WireMessage } from '../../src/upstream/http/wire.ts';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;
let server: Server | undefined;
let client: StreamableHttpClient | undefined;
afterEach(async () => {
  client?.close();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
});

async function upstream(handler: Handler): Promise<{ resumes: number; gets: IncomingMessage[] }> {
  const seen = { resumes: 0, gets: [] as IncomingMessage[] };
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      if (req.method === 'GET') seen.gets.push(req);
      handler(req, res, body);
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  client = new StreamableHttpClient(
    new URL(`http://127.0.0.1:${port}/mcp`),
    'u',
    undefined,
    {},
    () => seen.resumes++,
  );
  return seen;
}

const sse = (res: ServerResponse) => res.writeHead(200, { 'content-type': 'text/event-stream' });
const event = (id: string, msg: object) => `id: ${id}\ndata: ${JSON.stringify(msg)}\n\n`;
const progress = (n: number) => ({
  jsonrpc: '2.0',
  method: 'notifications/progress',
  params: { progressToken: 't', progress: n },
});
const call = (notes: WireMessage[] = [], timeoutMs = 5_000) =>
  client!.request(
    { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x' } },
    { 'mcp-session-id': 's1', 'mcp-protocol-version': '2025-11-25' },
    { timeoutMs, onNotification: (n) => notes.push(n) },
  );

describe('StreamableHttpClient: SSE answers', () => {
  it('skips the priming event and garbage between events, and returns the answer', async () => {
    await upstream((_req, res) => {
      sse(res);
      res.write('id: p0\nretry: 10\ndata:\n\n');
      res.write(': keep-alive\n\ndata: not json\n\n');
      res.end(event('p1', { jsonrpc: '2.0', id: 1, result: { ok: true } }));
    });
    expect((await call()).result).toEqual({ ok: true });
  });

  it('resumes a stream closed before the answer with GET + Last-Event-ID, delivering each event once', async () => {
    const seen = await upstream((req, res) => {
      sse(res);
      if (req.method === 'POST') {
        res.write('id: e0\nretry: 20\ndata:\n\n');
        res.end(event('e1', progress(1))); // SEP-1699: the server closes the stream early
        return;
      }
      expect(req.headers['last-event-id']).toBe('e1');
      expect(req.headers['mcp-session-id']).toBe('s1');
      // A replay that repeats e1 (as a careless event store might): it must not be delivered again.
      res.write(event('e1', progress(1)));
      res.write(event('e2', progress(2)));
      res.end(event('e3', { jsonrpc: '2.0', id: 1, result: { done: 1 } }));
    });
    const notes: WireMessage[] = [];
    expect((await call(notes)).result).toEqual({ done: 1 });
    expect(notes.map((n) => n.params?.progress)).toEqual([1, 2]);
    expect(seen.resumes).toBe(1);
  });

  it('fails with a clear UPSTREAM_ERROR when a cut stream has no event id to resume from', async () => {
    await upstream((_req, res) => {
      sse(res);
      res.end(`data: ${JSON.stringify(progress(1))}\n\n`);
    });
    await expect(call()).rejects.toMatchObject({
      code: 'UPSTREAM_ERROR',
      message: expect.stringMatching(/closed the response before answering/),
    });
  });

  it('fails with UPSTREAM_ERROR when the resuming GET is refused (405)', async () => {
    await upstream((req, res) => {
      if (req.method === 'GET') {
        res.writeHead(405).end();
        return;
      }
      sse(res);
      res.end('id: a1\nretry: 5\ndata:\n\n');
    });
    const err = await call().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProxyError);
    expect((err as ProxyError).message).toMatch(
      /could not be resumed: its GET with Last-Event-ID answered HTTP 405/,
    );
  });
});

describe('StreamableHttpClient: error statuses', () => {
  it('passes a JSON-RPC error on HTTP 400 through unchanged (code, message, data)', async () => {
    const error = {
      code: -32021,
      message: 'Missing client capability',
      data: { requiredCapabilities: { sampling: {} } },
    };
    await upstream((_req, res) => {
      res
        .writeHead(400, { 'content-type': 'application/json' })
        .end(JSON.stringify({ jsonrpc: '2.0', id: 1, error }));
    });
    expect((await call()).error).toEqual(error);
  });

  it('passes a JSON-RPC error in an SSE body on HTTP 500 through', async () => {
    const error = { code: -32603, message: 'boom' };
    await upstream((_req, res) => {
      res
        .writeHead(500, { 'content-type': 'text/event-stream' })
        .end(event('x', { jsonrpc: '2.0', id: 1, error }));
    });
    expect((await call()).error).toEqual(error);
  });

  it('rejects with the status when the body holds no JSON-RPC error (5xx, or 404 for a session)', async () => {
    let status = 503;
    await upstream((_req, res) => {
      res.writeHead(status, { 'content-type': 'text/plain' }).end('Service Unavailable');
    });
    await expect(call()).rejects.toBeInstanceOf(UpstreamHttpError);
    status = 404;
    await expect(call()).rejects.toMatchObject({ status: 404 });
  });

  it('rejects a JSON body that is not JSON-RPC with UPSTREAM_ERROR', async () => {
    await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"hello":"world"}');
    });
    await expect(call()).rejects.toMatchObject({ code: 'UPSTREAM_ERROR' });
  });
});

describe('StreamableHttpClient: the standalone stream', () => {
  it('delivers requests and notifications, and reopens with Last-Event-ID after the server ends it', async () => {
    let opens = 0;
    const seen = await upstream((_req, res) => {
      opens++;
      sse(res);
      if (opens === 1) {
        res.write('retry: 10\n\n');
        res.end(event('g1', { jsonrpc: '2.0', id: 'r1', method: 'elicitation/create', params: {} }));
      } else {
        res.write(event('g1', { jsonrpc: '2.0', id: 'r1', method: 'elicitation/create', params: {} }));
        res.write(
          event('g2', { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info' } }),
        );
      }
    });
    const got: WireMessage[] = [];
    const stream = client!.openStream({ 'mcp-session-id': 's1' }, { onMessage: (m) => got.push(m) });
    await expect.poll(() => got.length).toBe(2);
    expect(got.map((m) => m.method)).toEqual(['elicitation/create', 'notifications/message']);
    expect(seen.gets[1]?.headers['last-event-id']).toBe('g1');
    stream.close();
  });

  it('stops on 405 (the server has none) and retries slowly on 409 (held elsewhere)', async () => {
    let status = 405;
    await upstream((_req, res) => {
      res.writeHead(status).end();
    });
    const states: StreamState[] = [];
    const a = client!.openStream(
      { 'mcp-session-id': 's1' },
      { onMessage: () => {}, onState: (s) => states.push(s) },
    );
    await expect.poll(() => a.state).toBe('unsupported');
    status = 409;
    const b = client!.openStream({ 'mcp-session-id': 's2' }, { onMessage: () => {} });
    await expect.poll(() => b.state).toBe('held-elsewhere');
    b.close();
    expect(b.state).toBe('closed');
    expect(states).toEqual(['unsupported']);
  });
});
