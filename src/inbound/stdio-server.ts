import type { Server } from '@modelcontextprotocol/server';
import { serveStdio as sdkServeStdio } from '@modelcontextprotocol/server/stdio';
import type { Config } from '../config/schema.ts';
import { buildGovernance } from '../hooks/build.ts';
import type { Logger } from '../log.ts';
import { Federation } from '../router/federation.ts';
import { createRedisClient } from '../store/redis-client.ts';
import { redisReady } from '../store/redis-ready.ts';
import { Metrics } from '../telemetry/metrics.ts';
import { createProxyServer } from './proxy-server.ts';
import { ANONYMOUS } from './request-context.ts';
import { notifySession } from './session-notify.ts';

export interface StdioHandle {
  /** Resolves when the client closes stdin: the stdio binding asks servers to exit promptly then. */
  ended: Promise<void>;
  close(): Promise<void>;
}

/**
 * `mcp-fed stdio`: the same federation served to one local client over stdin/stdout. Logs go to
 * stderr. The SDK picks the era from the client's first message.
 */
export async function serveStdio(config: Config, log: Logger): Promise<StdioHandle> {
  // Listened for before the (slow) upstream start, so an early EOF is not missed; 'end'/'close' listeners
  // do not switch stdin to flowing mode, the SDK transport still reads every byte.
  const ended = new Promise<void>((resolve) => {
    process.stdin.once('end', resolve);
    process.stdin.once('close', resolve);
  });
  const metrics = new Metrics(false);
  const redis = config.store.kind === 'redis' ? createRedisClient(config.store) : undefined;
  redis?.on('error', (err: Error) => log.debug({ err: err.message }, 'redis connection error'));
  // The local client is the caller "anonymous" (stdio has no credentials); ACL and rate limits apply to it.
  const governance = await buildGovernance(config, { metrics, log, redis, stdoutIsProtocol: true });
  const fed = new Federation(config, log, metrics, governance.pipeline, governance.entryAccess);
  for (const observer of governance.observers) fed.observe(observer);
  await Promise.all([fed.start(5_000), redis && redisReady(redis, 5_000)]);
  const servers = new Set<Server>();
  fed.onChange((e) => {
    for (const s of servers) {
      notifySession(s, e, undefined);
    }
  });
  const handle = sdkServeStdio(
    (ctx) => {
      const server = createProxyServer(fed, { era: ctx.era, caller: ANONYMOUS, subscriptions: new Set() });
      if (ctx.era === 'legacy') servers.add(server);
      return server;
    },
    { onerror: (err) => log.warn({ err: err.message }, 'stdio error') },
  );
  return {
    ended,
    async close() {
      await handle.close();
      await fed.close();
      await governance.close();
      if (redis) await redis.quit().catch(() => redis.disconnect());
    },
  };
}
