/**
 * The AgentCore Runtime shape: a platform front that stamps its own `Mcp-Session-Id` on every
 * request to a stateless MCP server (which accepts and ignores it) and on every response, so a
 * client sees a session the server knows nothing about. A request without the header gets a new
 * id (as the platform mints one per runtime session); one with the header keeps it.
 *   --target URL (the stateless server) --port N (0 = random); prints `LISTENING <url>`
 */
import { randomUUID } from 'node:crypto';
import { createServer, request } from 'node:http';
import { parseArgs } from 'node:util';
import { listenUntilSignal } from './listen.ts';

const { values: flags } = parseArgs({
  options: { target: { type: 'string' }, port: { type: 'string' } },
  strict: true,
});
if (!flags.target) throw new Error('--target URL is required');
const target = new URL(flags.target);

const http = createServer((req, res) => {
  const given = req.headers['mcp-session-id'];
  const session = typeof given === 'string' && given ? given : randomUUID();
  const upstream = request(
    {
      host: target.hostname,
      port: target.port,
      path: target.pathname,
      method: req.method,
      headers: { ...req.headers, host: target.host, 'mcp-session-id': session },
    },
    (reply) => {
      const headers = { ...reply.headers, 'mcp-session-id': session };
      res.writeHead(reply.statusCode ?? 502, headers);
      res.flushHeaders();
      reply.pipe(res);
    },
  );
  upstream.on('error', (err) => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(`agentcore-front: ${err.message}`);
  });
  res.on('close', () => upstream.destroy());
  req.pipe(upstream);
});

listenUntilSignal(http, Number(flags.port ?? 0), target.pathname);
