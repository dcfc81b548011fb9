import {
  type FetchLike,
  SSEClientTransport,
  StreamableHTTPClientTransport,
  type Transport,
} from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import type { UpstreamConfig } from '../config/schema.ts';
import { authFetchMiddleware, createUpstreamAuth, type UpstreamAuth } from './auth/index.ts';
import { correlationHeaders } from './correlation.ts';
import { composeFetch, type FetchMiddleware, staticHeaders } from './fetch-middleware.ts';

/**
 * The fetch every HTTP upstream transport uses: correlation first, extra headers, then auth last.
 * Pass the upstream's one auth adapter so its credentials and token are shared with the forwarder.
 */
export function upstreamFetch(
  cfg: UpstreamConfig,
  base: FetchLike = fetch,
  auth: UpstreamAuth | undefined = createUpstreamAuth(cfg),
): FetchLike {
  const chain: FetchMiddleware[] = [correlationHeaders];
  if (cfg.headers && Object.keys(cfg.headers).length > 0) chain.push(staticHeaders(cfg.headers));
  if (auth) chain.push(authFetchMiddleware(auth));
  return composeFetch(base, ...chain);
}

/** A fresh SDK client transport for one connection attempt to `cfg`. */
export function createTransport(
  cfg: UpstreamConfig,
  onStderr?: (line: string) => void,
  auth: UpstreamAuth | undefined = createUpstreamAuth(cfg),
): Transport {
  switch (cfg.transport) {
    case 'streamable-http':
      return new StreamableHTTPClientTransport(new URL(cfg.url!), {
        fetch: upstreamFetch(cfg, fetch, auth),
        // The proxy reconnects itself (with backoff and catalog reload); the SDK's own retry would hide outages.
        reconnectionOptions: {
          maxReconnectionDelay: 1000,
          initialReconnectionDelay: 200,
          reconnectionDelayGrowFactor: 2,
          maxRetries: 0,
        },
      });
    case 'sse':
      return new SSEClientTransport(new URL(cfg.url!), { fetch: upstreamFetch(cfg, fetch, auth) });
    case 'stdio': {
      const [command, ...args] = cfg.command!;
      const transport = new StdioClientTransport({
        command: command!,
        args,
        env: { ...(process.env as Record<string, string>), ...(cfg.env ?? {}) },
        cwd: cfg.cwd,
        stderr: 'pipe',
      });
      if (onStderr)
        transport.stderr?.on('data', (chunk: Buffer) => onStderr(chunk.toString('utf8').trimEnd()));
      return transport;
    }
  }
}
