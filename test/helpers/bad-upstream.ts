import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the misbehaving upstream does with a tools/call whose `arguments.text` names a mode. */
export type Misbehaviour = 'garbage' | 'hangup';

export interface BadUpstream {
  url: string;
  /** tools/call requests that reached it with a misbehaviour mode (to prove the proxy really forwarded them). */
  misbehaved: Misbehaviour[];
  close(): Promise<void>;
}

/**
 * A reverse proxy in front of a real sample upstream that behaves until asked not to: every request
 * (server/discover, initialize, lists, normal calls) is relayed to `target` unchanged, but a
 * tools/call with `arguments.text` = "garbage" is answered `200 application/json` with `not json`,
 * and one with "hangup" gets SSE headers and then a destroyed socket (a crash mid-stream).
 */
export async function startBadUpstream(target: string): Promise<BadUpstream> {
  const to = new URL(target);
  const misbehaved: Misbehaviour[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const mode = modeOf(body);
      if (mode) misbehaved.push(mode);
      if (mode === 'garbage') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('not json');
        return;
      }
      if (mode === 'hangup') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.flushHeaders();
        setTimeout(() => res.socket?.destroy(), 20);
        return;
      }
      const headers = { ...req.headers, host: to.host };
      const up = http.request(to, { method: req.method, headers }, (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      });
      up.on('error', () => res.destroy());
      res.on('close', () => up.destroy());
      up.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${to.pathname}`,
    misbehaved,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function modeOf(body: Buffer): Misbehaviour | undefined {
  try {
    const msg = JSON.parse(body.toString('utf8')) as {
      method?: string;
      params?: { arguments?: { text?: unknown } };
    };
    const text = msg.params?.arguments?.text;
    if (msg.method === 'tools/call' && (text === 'garbage' || text === 'hangup')) return text;
  } catch {
    // not JSON (or empty, as on GET/DELETE): relay it
  }
  return undefined;
}
