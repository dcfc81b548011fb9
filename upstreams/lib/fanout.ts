import type { McpServer, ProtocolEra, Server, ServerNotifier } from '@modelcontextprotocol/server';

type AnyServer = McpServer | Server;

interface Live {
  era: ProtocolEra;
  /** URIs this connection asked for via the 2025-era `resources/subscribe`. */
  subscriptions: Set<string>;
}

export function lowLevel(server: AnyServer): Server {
  return 'server' in server ? server.server : server;
}

/**
 * Delivers change notifications to every place a client may be waiting for them: the
 * modern `subscriptions/listen` bus of the HTTP handler, and each long-lived instance
 * (sessionful 2025 HTTP sessions, stdio connections of either era). Per-request modern
 * HTTP instances are never tracked; they are gone before anything changes.
 */
export class Fanout {
  private readonly live = new Map<Server, Live>();
  private readonly notifiers: ServerNotifier[] = [];

  addNotifier(notifier: ServerNotifier): void {
    this.notifiers.push(notifier);
  }

  track(product: AnyServer, era: ProtocolEra): void {
    const server = lowLevel(product);
    this.live.set(server, { era, subscriptions: new Set() });
    const previous = server.onclose;
    server.onclose = () => {
      previous?.();
      this.live.delete(server);
    };
  }

  subscribe(product: AnyServer, uri: string, on: boolean): void {
    const entry = this.live.get(lowLevel(product));
    if (!entry) return;
    if (on) entry.subscriptions.add(uri);
    else entry.subscriptions.delete(uri);
  }

  toolsChanged(): void {
    for (const n of this.notifiers) n.toolsChanged();
    for (const server of this.live.keys()) server.sendToolListChanged().catch(ignore);
  }

  resourceUpdated(uri: string): void {
    for (const n of this.notifiers) n.resourceUpdated(uri);
    for (const [server, entry] of this.live) {
      // A modern stdio connection filters by its own listen subscriptions (serveStdio's
      // router), so it gets every update; a 2025 connection only what it subscribed to.
      if (entry.era === 'modern' || entry.subscriptions.has(uri)) {
        server.sendResourceUpdated({ uri }).catch(ignore);
      }
    }
  }
}

function ignore(): void {}
