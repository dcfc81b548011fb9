import type { Server } from '@modelcontextprotocol/server';
import type { ChangeEvent } from '../router/federation.ts';

/**
 * Delivers one federation change to a connected 2025-era server session. resources/updated goes only
 * to sessions that subscribed to the URI (all of them when `subscriptions` is not tracked).
 */
export function notifySession(server: Server, e: ChangeEvent, subscriptions: Set<string> | undefined): void {
  let sent: Promise<void> | undefined;
  switch (e.kind) {
    case 'tools':
      sent = server.sendToolListChanged();
      break;
    case 'prompts':
      sent = server.sendPromptListChanged();
      break;
    case 'resources':
      sent = server.sendResourceListChanged();
      break;
    case 'resource_updated':
      if (!subscriptions || subscriptions.has(e.uri)) sent = server.sendResourceUpdated({ uri: e.uri });
      break;
    case 'log':
      sent = server.sendLoggingMessage(e.params as never);
      break;
  }
  sent?.catch(() => {});
}
