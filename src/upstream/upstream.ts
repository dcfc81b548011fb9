import { Client, type ServerCapabilities } from '@modelcontextprotocol/client';
import type { UpstreamConfig } from '../config/schema.ts';
import { ProxyError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { createTransport } from './transport-factory.ts';
import { isAbort, isConnectionFailure, toDownstreamError } from './upstream-errors.ts';
import { anyResult, emptyLists, type ListKind, listAll, offeredKinds, type UpstreamLists } from './upstream-lists.ts';

export type UpstreamState = 'connecting' | 'ready' | 'down' | 'closed';

export interface UpstreamEvents {
  /** The upstream's lists changed (re-listed after list_changed, a periodic refresh, a reconnect or a loss). */
  catalogChanged(upstream: Upstream, kinds: ListKind[]): void;
  /** A notification that is not about lists (resources/updated, logging) arrived from the upstream. */
  notification(upstream: Upstream, method: string, params: Record<string, unknown> | undefined): void;
  stateChanged(upstream: Upstream): void;
}

export interface UpstreamRequestOptions {
  signal?: AbortSignal;
  onprogress?: (progress: { progress: number; total?: number; message?: string }) => void;
}

const BACKOFF_MIN_MS = 200;
const BACKOFF_MAX_MS = 10_000;

/**
 * One configured upstream: its SDK client connection, its last listed catalog, and the
 * reconnect loop that brings it back after it dies. A dead upstream never blocks the others:
 * requests to it fail fast with UPSTREAM_UNAVAILABLE while the loop retries with backoff.
 */
export class Upstream {
  state: UpstreamState = 'connecting';
  lists: UpstreamLists = emptyLists();
  lastError?: string;
  private client?: Client;
  private attempt = 0;
  private retryTimer?: NodeJS.Timeout;
  private refreshTimer?: NodeJS.Timeout;
  private connecting?: Promise<void>;
  private firstAttempt: Promise<void>;
  private settleFirst!: () => void;

  constructor(
    readonly config: UpstreamConfig,
    private readonly events: UpstreamEvents,
    private readonly log: Logger,
  ) {
    this.firstAttempt = new Promise((resolve) => {
      this.settleFirst = resolve;
    });
  }

  get name(): string {
    return this.config.name;
  }

  get era(): 'modern' | 'legacy' | undefined {
    return this.client?.getProtocolEra();
  }

  get capabilities(): ServerCapabilities | undefined {
    return this.state === 'ready' ? this.client?.getServerCapabilities() : undefined;
  }

  get instructions(): string | undefined {
    return this.client?.getInstructions();
  }

  /** Starts connecting; resolves after the first attempt settles or `waitMs`, whichever is first. */
  start(waitMs: number): Promise<void> {
    void this.connect();
    const refreshMs = this.config.catalogRefreshSeconds * 1000;
    if (refreshMs > 0) {
      this.refreshTimer = setInterval(() => {
        if (this.state === 'ready') void this.relist(['tools', 'prompts', 'resources', 'resourceTemplates']);
      }, refreshMs);
      this.refreshTimer.unref();
    }
    return Promise.race([this.firstAttempt, new Promise<void>((r) => setTimeout(r, waitMs).unref())]);
  }

  private connect(): Promise<void> {
    this.connecting ??= this.doConnect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async doConnect(): Promise<void> {
    if (this.state === 'closed') return;
    const client = new Client(
      { name: 'mcp-fed', version: '0.1.0' },
      {
        versionNegotiation: { mode: 'auto', probe: { timeoutMs: Math.min(this.config.timeoutMs, 10_000) } },
        listChanged: {
          tools: { autoRefresh: false, debounceMs: 20, onChanged: () => void this.relist(['tools']) },
          prompts: { autoRefresh: false, debounceMs: 20, onChanged: () => void this.relist(['prompts']) },
          resources: {
            autoRefresh: false,
            debounceMs: 20,
            onChanged: () => void this.relist(['resources', 'resourceTemplates']),
          },
        },
      },
    );
    client.fallbackNotificationHandler = async (n) => {
      this.events.notification(this, n.method, n.params as Record<string, unknown> | undefined);
    };
    client.onclose = () => {
      if (this.client === client) this.markDown('connection closed');
    };
    client.onerror = (err) => this.log.debug({ upstream: this.name, err: err.message }, 'upstream transport error');
    try {
      const transport = createTransport(this.config, (line) => this.log.debug({ upstream: this.name, stderr: line }));
      await client.connect(transport, { timeout: Math.min(this.config.timeoutMs, 10_000) });
      if ((this.state as UpstreamState) === 'closed') {
        await client.close();
        return;
      }
      this.client = client;
      this.lists = await this.fetchLists(client, offeredKinds(client.getServerCapabilities()));
      this.attempt = 0;
      this.lastError = undefined;
      this.setState('ready');
      this.log.info({ upstream: this.name, era: client.getProtocolEra(), tools: this.lists.tools.length }, 'upstream ready');
      this.events.catalogChanged(this, ['tools', 'prompts', 'resources', 'resourceTemplates']);
    } catch (err) {
      await client.close().catch(() => {});
      if (this.client === client) this.client = undefined;
      this.lastError = err instanceof Error ? err.message : String(err);
      this.log.warn({ upstream: this.name, err: this.lastError }, 'upstream connect failed');
      this.setState('down');
      this.scheduleRetry();
    } finally {
      this.settleFirst();
    }
  }

  private async fetchLists(client: Client, kinds: ListKind[], base = emptyLists()): Promise<UpstreamLists> {
    const next: UpstreamLists = { ...base, fetchedAt: Date.now() };
    let ttlMs: number | undefined;
    let cacheScope: 'public' | 'private' | undefined;
    const results = await Promise.all(kinds.map((k) => listAll(client, k, this.config.timeoutMs)));
    kinds.forEach((kind, i) => {
      const r = results[i]!;
      (next[kind] as unknown[]) = r.items;
      if (r.ttlMs !== undefined) ttlMs = ttlMs === undefined ? r.ttlMs : Math.min(ttlMs, r.ttlMs);
      if (r.cacheScope === 'private' || (r.cacheScope && !cacheScope)) cacheScope = r.cacheScope;
    });
    next.ttlMs = ttlMs ?? base.ttlMs;
    next.cacheScope = cacheScope ?? base.cacheScope;
    return next;
  }

  /** Re-lists some kinds (after list_changed or periodically) and reports the change. */
  async relist(kinds: ListKind[]): Promise<void> {
    const client = this.client;
    if (!client || this.state !== 'ready') return;
    const offered = new Set(offeredKinds(client.getServerCapabilities()));
    const wanted = kinds.filter((k) => offered.has(k));
    try {
      this.lists = await this.fetchLists(client, wanted, this.lists);
      this.events.catalogChanged(this, wanted);
    } catch (err) {
      this.log.warn({ upstream: this.name, err: (err as Error).message }, 're-list failed');
      if (isConnectionFailure(err)) this.markDown('re-list failed');
    }
  }

  /** Forwards one request; results are relayed unvalidated. Errors come back as ProxyError/UpstreamRpcError. */
  async request(method: string, params: Record<string, unknown> | undefined, opts: UpstreamRequestOptions = {}) {
    const client = this.client;
    if (!client || this.state !== 'ready') {
      throw new ProxyError('UPSTREAM_UNAVAILABLE', `upstream "${this.name}" is unavailable`, { upstream: this.name });
    }
    try {
      return (await client.request({ method, params }, anyResult, {
        signal: opts.signal,
        onprogress: opts.onprogress,
        timeout: this.config.timeoutMs,
        resetTimeoutOnProgress: true,
      })) as Record<string, unknown>;
    } catch (err) {
      if (!isAbort(err) && isConnectionFailure(err)) this.markDown((err as Error).message);
      throw toDownstreamError(this.name, err);
    }
  }

  /** Sends a notification upstream (e.g. cancellation on stdio, roots changes). */
  async notify(method: string, params?: Record<string, unknown>): Promise<void> {
    await this.client?.notification({ method, params });
  }

  private markDown(reason: string): void {
    if (this.state === 'down' || this.state === 'closed' || this.connecting) return;
    this.lastError = reason;
    this.log.warn({ upstream: this.name, reason }, 'upstream down');
    const client = this.client;
    this.client = undefined;
    this.lists = emptyLists();
    this.setState('down');
    this.events.catalogChanged(this, ['tools', 'prompts', 'resources', 'resourceTemplates']);
    void client?.close().catch(() => {});
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.state === 'closed' || this.retryTimer) return;
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempt++);
    const delay = base / 2 + Math.random() * (base / 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, delay);
    this.retryTimer.unref();
  }

  private setState(state: UpstreamState): void {
    if (this.state === state) return;
    this.state = state;
    this.events.stateChanged(this);
  }

  async close(): Promise<void> {
    this.state = 'closed';
    clearTimeout(this.retryTimer);
    clearInterval(this.refreshTimer);
    const client = this.client;
    this.client = undefined;
    await client?.close().catch(() => {});
  }
}
