/** The lean client against a real node:http server: a stale pooled socket is retried once, fresh. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { StreamableHttpClient } from '../../src/upstream/http/streamable-http-client.ts';

let server: Server | undefined;
let client: StreamableHttpClient | undefined;
afterEach(async () => {
  client?.close();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
});

/** A server that answers JSON-RPC; `drop(n)` decides whether the n-th request on a socket is dropped. */
async function upstream(drop: (nth: number) => boolean) {
  const seen = { connections: 0, requests: 0 };
  const perSocket = new WeakMap<Socket, number>();
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      seen.requests++;
      const nth = (perSocket.get(req.socket) ?? 0) + 1;
      perSocket.set(req.socket, nth);
      // The upstream's keep-alive timeout firing as the proxy reuses the socket: closed, no answer.
      if (drop(nth)) return req.socket.destroy();
      const { id } = JSON.parse(body) as { id: number };
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ jsonrpc: '2.0', id, result: { ok: nth } }));
    });
  });
  server.on('connection', () => seen.connections++);
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  client = new StreamableHttpClient(new URL(`http://127.0.0.1:${port}/mcp`), 'u');
  return seen;
}

const call = (id: number) =>
  client!.request(
    { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'x' } },
    {},
    { timeoutMs: 5_000 },
  );

describe('StreamableHttpClient', () => {
  it('sends a request that died on a reused keep-alive socket once more, on a new connection', async () => {
    const seen = await upstream((nth) => nth >= 2);
    expect((await call(1)).result).toEqual({ ok: 1 });
    expect((await call(2)).result).toEqual({ ok: 1 });
    expect(seen).toEqual({ connections: 2, requests: 3 });
  });

  it('fails (once, no loop) when a new connection dies too, flagging the upstream connection', async () => {
    const seen = await upstream(() => true);
    await expect(call(1)).rejects.toMatchObject({ upstreamConnection: true });
    expect(seen.requests).toBe(1);
  });
});
