/**
 * The floor of one extra hop: a bare node:http pass-through in front of the upstream. It parses
 * nothing (no JSON, no SSE framing), so whatever the proxy costs above this is the proxy's own.
 *
 *   node --import tsx bench/floor.ts --upstream http://127.0.0.1:PORT/mcp [--port 0]
 * prints `FLOOR LISTENING http://127.0.0.1:<port>/mcp` when ready.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

// Hop-by-hop headers describe one connection, not the message; forwarding them would break keep-alive.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection']);

function endToEnd(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(key)) out[key] = value;
  }
  return out;
}

export interface Floor {
  url: string;
  close(): Promise<void>;
}

export async function startFloor(upstreamUrl: string, port = 0, host = '127.0.0.1'): Promise<Floor> {
  const upstream = new URL(upstreamUrl);
  // No socket cap: the floor must never queue, or it would measure its own pool instead of a hop.
  const agent = new http.Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });

  const server = http.createServer((req, res) => {
    const headers = endToEnd(req.headers);
    headers.host = upstream.host;
    const outbound = http.request(
      {
        agent,
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: upstream.pathname + (req.url?.includes('?') ? req.url.slice(req.url.indexOf('?')) : ''),
        headers,
      },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, endToEnd(upRes.headers));
        upRes.pipe(res);
      },
    );
    outbound.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`floor: ${err.message}`);
    });
    req.pipe(outbound);
    // A client that goes away mid-stream (an SSE reader) must not leave the upstream request open.
    res.on('close', () => {
      if (!res.writableFinished) outbound.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${bound}${upstream.pathname}`,
    close: async () => {
      server.closeAllConnections();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: { upstream: { type: 'string' }, port: { type: 'string', default: '0' } },
    strict: true,
  });
  if (!values.upstream) {
    process.stderr.write('usage: floor.ts --upstream URL [--port N]\n');
    process.exit(2);
  }
  const floor = await startFloor(values.upstream, Number(values.port));
  const stop = () => floor.close().finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdout.write(`FLOOR LISTENING ${floor.url}\n`);
}
