import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Sends the request on to the upstream (Host rewritten); `onAnswer` takes over the answer, else it is piped back. */
export type Forward = (onAnswer?: (upstreamRes: http.IncomingMessage) => void) => void;

export interface Relay {
  url: string;
  close(): Promise<void>;
}

/**
 * A relay in front of a real upstream, for fixtures that misbehave on cue: each request's body is read
 * whole, then `handle` answers it itself or forwards it unchanged and may rewrite what comes back.
 */
export async function startRelay(
  target: string,
  handle: (body: Buffer, res: http.ServerResponse, forward: Forward) => void,
): Promise<Relay> {
  const to = new URL(target);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      handle(body, res, (onAnswer) => {
        const headers = { ...req.headers, host: to.host };
        const up = http.request(to, { method: req.method, headers }, (upRes) => {
          if (onAnswer) return onAnswer(upRes);
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
        });
        up.on('error', () => res.destroy());
        res.on('close', () => up.destroy());
        up.end(body);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${to.pathname}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The `arguments.text` of a tools/call request body (the cue these fixtures act on); undefined for anything else. */
export function callText(body: Buffer): string | undefined {
  try {
    const msg = JSON.parse(body.toString('utf8')) as {
      method?: string;
      params?: { arguments?: { text?: unknown } };
    };
    const text = msg.params?.arguments?.text;
    return msg.method === 'tools/call' && typeof text === 'string' ? text : undefined;
  } catch {
    return undefined; // not JSON (or empty, as on GET/DELETE)
  }
}
