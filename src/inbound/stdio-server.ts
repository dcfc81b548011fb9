import type { Server } from '@modelcontextprotocol/server';
import { serveStdio as sdkServeStdio } from '@modelcontextprotocol/server/stdio';
import type { Config } from '../config/schema.ts';
import { HookPipeline } from '../hooks/pipeline.ts';
import type { Logger } from '../log.ts';
import { Federation } from '../router/federation.ts';
import { Metrics } from '../telemetry/metrics.ts';
import { createProxyServer } from './proxy-server.ts';
import { ANONYMOUS } from './request-context.ts';
import { notifySession } from './session-notify.ts';

/**
 * `mcp-fed stdio`: the same federation served to one local client over stdin/stdout. Logs go to
 * stderr. The SDK picks the era from the client's first message.
 */
export async function serveStdio(config: Config, log: Logger): Promise<{ close(): Promise<void> }> {
  const fed = new Federation(config, log, new Metrics(false), new HookPipeline());
  await fed.start(5_000);
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
    async close() {
      await handle.close();
      await fed.close();
    },
  };
}
