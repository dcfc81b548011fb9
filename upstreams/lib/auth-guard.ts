import type { IncomingMessage, ServerResponse } from 'node:http';

/** What a guard answers instead of the MCP server; undefined lets the request through. */
export interface GuardReply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/** Sees each request exactly as it arrived: raw target (`req.url`), raw headers, body bytes. */
export type RequestGuard = (
  req: IncomingMessage,
  body: Buffer,
) => GuardReply | undefined | Promise<GuardReply | undefined>;

type NodeHandler = (req: IncomingMessage, res: ServerResponse, parsedBody?: unknown) => Promise<void>;

const MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * Reads the body once, asks the guard, then hands the parsed body to the MCP handler (which then
 * does not read the consumed stream again).
 */
export function guardedListener(handler: NodeHandler, guard: RequestGuard) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of req) {
        size += (chunk as Buffer).length;
        if (size > MAX_BODY_BYTES) return reply(res, { status: 413, body: { error: 'body too large' } });
        chunks.push(chunk as Buffer);
      }
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      const denied = await guard(req, body);
      if (denied) return reply(res, denied);
      let parsed: unknown;
      if (body.length > 0) {
        try {
          parsed = JSON.parse(body.toString('utf8'));
        } catch {
          return reply(res, {
            status: 400,
            body: { jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null },
          });
        }
      }
      await handler(req, res, parsed);
    } catch {
      if (!res.headersSent) reply(res, { status: 500, body: { error: 'internal error' } });
      else res.destroy();
    }
  };
}

function reply(res: ServerResponse, r: GuardReply): void {
  const text = r.body === undefined ? '' : JSON.stringify(r.body);
  res.writeHead(r.status, {
    ...(text && { 'content-type': 'application/json' }),
    ...r.headers,
  });
  res.end(text);
}
