import {
  createServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { CallStats } from './admin/call-stats.ts';
import { adminPage } from './admin/routes.ts';
import type { ReloadNote } from './admin/status.ts';
import type { ConfigProblem } from './config/env.ts';
import type { Config } from './config/schema.ts';
import { configVersion } from './config/version.ts';
import { buildGovernance, type Governance } from './hooks/build.ts';
import type { Caller } from './hooks/pipeline.ts';
import { adminRoutes } from './inbound/admin-routes.ts';
import { InboundAuth } from './inbound/auth/index.ts';
import { McpEndpoint } from './inbound/mcp-endpoint.ts';
import { oauthRoutes } from './inbound/oauth-routes.ts';
import type { Logger } from './log.ts';
import { Federation, type UpstreamChanges } from './router/federation.ts';
import { createGrantStore } from './store/grants.ts';
import { MemorySessionStore } from './store/memory-session-store.ts';
import type { RedisClient } from './store/redis-client.ts';
import { createRedisClient } from './store/redis-client.ts';
import { redisReady } from './store/redis-ready.ts';
import { RedisSessionStore } from './store/redis-session-store.ts';
import { MemoryReplicaBus, RedisReplicaBus, type ReplicaBus } from './store/replica-bus.ts';
import type { SessionStore } from './store/session-store.ts';
import { MemoryStreamLeases, RedisStreamLeases } from './store/stream-leases.ts';
import { Metrics } from './telemetry/metrics.ts';

export interface App {
  config: Config;
  federation: Federation;
  endpoint: McpEndpoint;
  metrics: Metrics;
  governance: Governance;
  http: HttpServer;
  /** Listens on config.listen (or the given port/host); resolves with the MCP URL. */
  listen(port?: number, host?: string): Promise<string>;
  /**
   * Applies a new config without dropping calls or sessions (SIGHUP, `serve --watch`); refuses one that
   * changes what needs a restart, or whose hooks cannot be built, keeping the running config.
   */
  reload(next: Config): Promise<ReloadResult>;
  /** A reload that never reached `reload` (the file did not parse or validate): counted, logged, shown on /admin. */
  reloadRefused(problems: ConfigProblem[]): void;
  /** Stops serving, ends sessions and upstreams, then flushes the audit log: no record is lost. */
  close(): Promise<void>;
}

export type ReloadResult =
  | { ok: true; version: string; upstreams: UpstreamChanges }
  | { ok: false; problems: ConfigProblem[] };

/** Sections a running process cannot swap: a change to one is refused (restart to apply it). */
const RESTART_ONLY = [
  'listen',
  'store',
  'secrets',
  'namespace',
  'metrics',
  'sessions',
  'limits',
  'admin',
] as const;

export interface AppOptions {
  log: Logger;
  /** How long start-up waits for upstreams before serving what is ready (they keep connecting). */
  upstreamWaitMs?: number;
}

/** Wires config → store, governance, federation, inbound auth, endpoint and HTTP server. Nothing listens until `listen()`. */
export async function createApp(config: Config, opts: AppOptions): Promise<App> {
  const { log } = opts;
  const metrics = new Metrics(config.metrics.perCaller);
  const redis: RedisClient | undefined =
    config.store.kind === 'redis' ? createRedisClient(config.store) : undefined;
  // ioredis reports a dead Redis on every reconnect attempt; requests fail closed meanwhile (503).
  redis?.on('error', (err: Error) => log.debug({ err: err.message }, 'redis connection error'));
  // With Redis, sessions live there (any replica serves any session); never a per-replica fallback.
  const store: SessionStore =
    redis && config.store.kind === 'redis'
      ? new RedisSessionStore(redis, config.store.keyPrefix)
      : new MemorySessionStore();
  // Session changes other replicas must apply (a legacy session's resource subscriptions).
  const bus: ReplicaBus =
    redis && config.store.kind === 'redis'
      ? new RedisReplicaBus(redis, config.store, log)
      : new MemoryReplicaBus();
  const governanceDeps = { metrics, log, redis };
  let governance = await buildGovernance(config, governanceDeps);
  const grants = createGrantStore(config, redis, log);
  const federation = new Federation(
    config,
    log,
    metrics,
    governance.pipeline,
    governance.entryAccess,
    grants,
  );
  // Through the governance in force: a reload may bring another audit log.
  federation.observe((record) => {
    for (const observer of governance.observers) observer(record);
  });
  // Per-client upstream sessions are shared: one replica at a time holds each one's GET stream.
  federation.connectReplicas(
    bus,
    redis && config.store.kind === 'redis'
      ? new RedisStreamLeases(redis, config.store.keyPrefix)
      : new MemoryStreamLeases(),
  );
  federation.useStore(store);
  const endpoint = new McpEndpoint(federation, store, config, log, bus, metrics);
  let auth = new InboundAuth(config.inbound.auth, config.listen.path, config.secrets.assertionKey);
  const routes = adminRoutes(federation, metrics, {
    storeReady: () => governance.ready(),
    hooks: () => governance.hookStatus(),
  });
  // The operator's status page, when enabled: fed by the same call stream as the audit log.
  let lastReload: ReloadNote | undefined;
  let current = config;
  const startedAt = Date.now();
  if (config.admin.enabled) {
    const stats = new CallStats();
    federation.observe(stats.observe);
    routes.route(
      '/',
      adminPage(config.admin, config.inbound.auth, {
        federation,
        metrics,
        stats,
        startedAt,
        configVersion: () => configVersion(current),
        lastReload: () => lastReload,
      }),
    );
  }
  const admin = getRequestListener(routes.fetch);
  // Per-user OAuth: the consent link, the authorization server's callback, withdrawing a grant.
  const oauth = getRequestListener(
    oauthRoutes({
      grants,
      userOAuth: (name) => federation.userOAuth(name),
      authenticate: (req) => auth.authenticate(req),
    }).fetch,
  );
  const mcpPath = config.listen.path;

  const serveMcp = (req: IncomingMessage, res: ServerResponse, caller: Caller) =>
    endpoint.handle(req, res, caller).catch((err: Error) => {
      log.error({ err: err.message }, 'request failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32603, message: 'Internal error' } }),
      );
    });

  const http = createServer((req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (path === mcpPath) {
      // Who the caller is comes first: the endpoint, sessions and hooks only ever see an authenticated caller.
      const outcome = auth.authenticate(req);
      if (!(outcome instanceof Promise)) {
        if (outcome.ok) void serveMcp(req, res, outcome.caller);
        else auth.reject(req, res, outcome);
        return;
      }
      outcome.then(
        (o) => (o.ok ? serveMcp(req, res, o.caller) : auth.reject(req, res, o)),
        (err: Error) => {
          log.error({ err: err.message }, 'inbound auth failed');
          auth.reject(req, res, { ok: false, reason: 'unavailable', description: 'authentication failed' });
        },
      );
    } else if (path.startsWith('/oauth/')) {
      void oauth(req, res);
    } else if (!auth.serveMetadata(req, res, path)) {
      void admin(req, res);
    }
  });
  http.keepAliveTimeout = 65_000;

  const waitMs = opts.upstreamWaitMs ?? 5_000;
  await Promise.all([federation.start(waitMs), redis && redisReady(redis, waitMs)]);

  let closing: Promise<void> | undefined;
  let reloading: Promise<unknown> = Promise.resolve();
  const refused = (problems: ConfigProblem[]) => {
    metrics.configReloads.inc({ result: 'refused' });
    lastReload = { at: new Date().toISOString(), ok: false, problems };
    for (const p of problems) log.error({ path: p.path }, `config reload refused: ${p.message}`);
  };
  const applyReload = async (next: Config): Promise<ReloadResult> => {
    const problems: ConfigProblem[] = RESTART_ONLY.filter(
      (key) => JSON.stringify(next[key]) !== JSON.stringify(current[key]),
    ).map((key) => ({
      path: key,
      message: 'changed: needs a restart to apply (the running config is kept)',
    }));
    if (problems.length > 0) return { ok: false, problems };
    let built: Governance;
    try {
      built = await buildGovernance(next, governanceDeps, governance);
    } catch (err) {
      return { ok: false, problems: [{ path: 'hooks', message: (err as Error).message }] };
    }
    const previous = governance;
    // In the same tick as the judging swap inside `reconfigure` (before its first await): calls judged
    // by the new config are recorded by the new audit log from the first one on.
    governance = built;
    const done = await federation.reconfigure(next, built.pipeline, built.entryAccess, waitMs);
    if (JSON.stringify(next.inbound) !== JSON.stringify(current.inbound))
      auth = new InboundAuth(next.inbound.auth, next.listen.path, next.secrets.assertionKey);
    current = next;
    app.config = next;
    // What the old config's calls still use (their hooks, a replaced audit log) goes once they are done.
    void done.previousDone.then(() => previous.retire());
    return { ok: true, version: configVersion(next), upstreams: done.upstreams };
  };
  const app: App = {
    config,
    federation,
    endpoint,
    metrics,
    get governance() {
      return governance;
    },
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
    reload(next) {
      // One at a time, in order: a reload never sees another half applied.
      const result = reloading.then(() => applyReload(next));
      reloading = result.catch(() => {});
      return result.then((r) => {
        if (!r.ok) {
          refused(r.problems);
          return r;
        }
        metrics.configReloads.inc({ result: 'ok' });
        lastReload = { at: new Date().toISOString(), ok: true, version: r.version };
        log.info({ configVersion: r.version, upstreams: r.upstreams }, 'config reloaded');
        return r;
      });
    },
    reloadRefused: (problems) => refused(problems),
    close() {
      closing ??= (async () => {
        http.closeAllConnections?.();
        await new Promise<void>((r) => http.close(() => r()));
        await endpoint.close();
        await federation.close();
        await store.close();
        await grants.close();
        await bus.close();
        // After every call has ended, so the audit log holds them all.
        await governance.close();
        if (redis) await redis.quit().catch(() => redis.disconnect());
      })();
      return closing;
    },
  };
  return app;
}
