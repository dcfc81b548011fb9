import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { Config } from './config/schema.ts';
import { HookPipeline } from './hooks/pipeline.ts';
import { adminRoutes } from './inbound/admin-routes.ts';
import { McpEndpoint } from './inbound/mcp-endpoint.ts';
import type { Logger } from './log.ts';
import { Federation } from './router/federation.ts';
import { MemorySessionStore } from './session/memory-session-store.ts';
import type { SessionStore } from './session/session-store.ts';
import { Metrics } from './telemetry/metrics.ts';

export interface App {
  config: Config;
  federation: Federation;
  endpoint: McpEndpoint;
  metrics: Metrics;
  http: HttpServer;
  /** Listens on config.listen (or the given port/host); resolves with the MCP URL. */
  listen(port?: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

export interface AppOptions {
  log: Logger;
  /** How long start-up waits for upstreams before serving what is ready (they keep connecting). */
  upstreamWaitMs?: number;
}

/** Wires config → store, federation, endpoint and HTTP server. Nothing listens until `listen()`. */
export async function createApp(config: Config, opts: AppOptions): Promise<App> {
  const { log } = opts;
  const metrics = new Metrics(config.metrics.perCaller);
  const store: SessionStore = new MemorySessionStore();
  const federation = new Federation(config, log, metrics, new HookPipeline());
  const endpoint = new McpEndpoint(federation, store, config, log);
  const admin = getRequestListener(adminRoutes(federation, metrics, { storeReady: async () => true }).fetch);
  const mcpPath = config.listen.path;

  const http = createServer((req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (path === mcpPath) {
      endpoint.handle(req, res).catch((err: Error) => {
        log.error({ err: err.message }, 'request failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32603, message: 'Internal error' } }),
        );
      });
    } else {
      void admin(req, res);
    }
  });
  http.keepAliveTimeout = 65_000;

  await federation.start(opts.upstreamWaitMs ?? 5_000);

  return {
    config,
    federation,
    endpoint,
    metrics,
    http,
    listen(port = config.listen.port, host = config.listen.host) {
      return new Promise((resolve, reject) => {
        http.once('error', reject);
        http.listen(port, host, () => {
          const addr = http.address() as AddressInfo;
          const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
          resolve(`http://${shownHost}:${addr.port}${mcpPath}`);
        });
      });
    },
    async close() {
      http.closeAllConnections?.();
      await new Promise<void>((r) => http.close(() => r()));
      await endpoint.close();
      await federation.close();
      await store.close();
    },
  };
}
