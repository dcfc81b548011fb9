/**
 * The load and soak client (`npm run load`): independent workers, each its own keep-alive
 * connection and, for the 2025-11-25 half, its own session, calling echo tools in a loop. Every
 * call is recorded with the code that says how it ended, so a run can tell an upstream's outage
 * (UPSTREAM_UNAVAILABLE, UNKNOWN_TOOL while it is out of the catalog) from the proxy failing.
 */
import http from 'node:http';
import { type Era, exchange, LEGACY_VERSION, MODERN_VERSION, type Reply } from './driver.ts';

const CLIENT_INFO = { name: 'mcp-fed-load', version: '1.0.0' };
const MODERN_META = {
  'io.modelcontextprotocol/protocolVersion': MODERN_VERSION,
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': CLIENT_INFO,
};
// Above the proxy's own upstream timeout (10 s in the topology's config): a call the client gives up on
// may still be answered and audited by the proxy, which would read as a lost audit record.
const TIMEOUT_MS = 30_000;
const DISCOVERY_TIMEOUT_MS = 30_000;

/** One echo tool behind the endpoint: its public name and the upstream that serves it. */
export interface LoadTool {
  name: string;
  upstream: string;
}

export interface CallRecord {
  upstream: string;
  era: Era;
  /** `ok`, an `error.data.code` (UPSTREAM_UNAVAILABLE), `HTTP 404`, `TRANSPORT ECONNRESET`, ... */
  code: string;
  /** The request reached the endpoint and got an HTTP response (so the proxy owes an audit record). */
  answered: boolean;
  /** Milliseconds since the run started. */
  startMs: number;
  endMs: number;
}

export interface Endpoint {
  url: string;
  headers?: Record<string, string>;
}

/** A shared budget and clock for all workers: the run ends at the deadline or when the budget is spent. */
export interface RunControl {
  t0: number;
  deadline: number;
  budget: number;
  text: string;
  /** Pause between two calls of one worker (the recovery probe; 0 for the load itself). */
  pauseMs?: number;
  /** Ends the run early (the recovery probe stops at the first success). */
  done?: () => boolean;
  record(rec: CallRecord): void;
  /** Session setup problems (not calls): counted by code. */
  setupError(code: string): void;
}

/** One client: a keep-alive connection of its own and, in the 2025 era, a session of its own. */
export class LoadWorker {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  private readonly url: URL;
  private session: string | undefined;
  private nextId = 1;

  constructor(
    private readonly endpoint: Endpoint,
    readonly era: Era,
    private readonly tools: LoadTool[],
    private readonly offset: number,
  ) {
    this.url = new URL(endpoint.url);
  }

  async run(ctl: RunControl): Promise<void> {
    let turn = this.offset;
    while (ctl.budget > 0 && performance.now() < ctl.deadline && !ctl.done?.()) {
      if (this.era === 'legacy' && !this.session) {
        const problem = await this.initialize();
        if (problem) {
          ctl.setupError(problem);
          // Do not spin on an endpoint that refuses sessions.
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
      }
      ctl.budget--;
      const tool = this.tools[turn++ % this.tools.length] as LoadTool;
      const startMs = performance.now() - ctl.t0;
      const { code, answered } = await this.call(tool.name, ctl.text);
      ctl.record({
        upstream: tool.upstream,
        era: this.era,
        code,
        answered,
        startMs,
        endMs: performance.now() - ctl.t0,
      });
      // A proxy that forgot the session (404) gets a new one, as a real client would open.
      if (code === 'HTTP 404' && this.era === 'legacy') this.session = undefined;
      if (ctl.pauseMs) await new Promise((r) => setTimeout(r, ctl.pauseMs));
    }
  }

  async close(): Promise<void> {
    if (this.session) {
      const headers = { 'mcp-session-id': this.session, 'mcp-protocol-version': LEGACY_VERSION };
      await this.send('DELETE', '', headers).catch(() => {});
    }
    this.agent.destroy();
  }

  private async call(name: string, text: string): Promise<{ code: string; answered: boolean }> {
    const id = this.nextId++;
    const params =
      this.era === 'modern'
        ? { name, arguments: { text }, _meta: MODERN_META }
        : { name, arguments: { text } };
    const body = JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params });
    const headers: http.OutgoingHttpHeaders =
      this.era === 'modern'
        ? { 'mcp-protocol-version': MODERN_VERSION, 'mcp-method': 'tools/call', 'mcp-name': name }
        : { 'mcp-protocol-version': LEGACY_VERSION, 'mcp-session-id': this.session ?? '' };
    let reply: Reply;
    try {
      reply = await this.send('POST', body, headers, id);
    } catch (err) {
      return { code: `TRANSPORT ${transportCode(err)}`, answered: false };
    }
    return { code: classify(reply, id, text), answered: true };
  }

  /** initialize + notifications/initialized; returns a setup error code, or undefined when the session is open. */
  private async initialize(): Promise<string | undefined> {
    const init = {
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: LEGACY_VERSION, capabilities: {}, clientInfo: CLIENT_INFO },
    };
    try {
      const reply = await this.send('POST', JSON.stringify(init), {}, 0);
      const session = reply.headers['mcp-session-id'];
      if (reply.status !== 200 || typeof session !== 'string') return `initialize HTTP ${reply.status}`;
      const headers = { 'mcp-session-id': session, 'mcp-protocol-version': LEGACY_VERSION };
      const ack = await this.send('POST', '{"jsonrpc":"2.0","method":"notifications/initialized"}', headers);
      if (ack.status !== 202 && ack.status !== 200) return `initialized HTTP ${ack.status}`;
      this.session = session;
      return undefined;
    } catch (err) {
      return `initialize TRANSPORT ${transportCode(err)}`;
    }
  }

  /** One HTTP exchange; with an `id`, resolves with the JSON-RPC message carrying that id. */
  send(method: string, body: string, extra: http.OutgoingHttpHeaders, id?: number): Promise<Reply> {
    return exchange(
      this.agent,
      this.url,
      method,
      body,
      { ...this.endpoint.headers, ...extra },
      id,
      TIMEOUT_MS,
    );
  }
}

/** Lists the endpoint's tools (2026-07-28, stateless, following cursors). */
export async function listTools(endpoint: Endpoint): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | undefined;
  const worker = new LoadWorker(endpoint, 'modern', [], 0);
  try {
    for (let page = 0; page < 100; page++) {
      const params = { ...(cursor && { cursor }), _meta: MODERN_META };
      const body = JSON.stringify({ jsonrpc: '2.0', id: page + 1, method: 'tools/list', params });
      const headers = { 'mcp-protocol-version': MODERN_VERSION, 'mcp-method': 'tools/list' };
      const reply = await worker.send('POST', body, headers, page + 1);
      const result = (reply.message as { result?: { tools?: { name: string }[]; nextCursor?: string } })
        ?.result;
      if (reply.status !== 200 || !result?.tools)
        throw new Error(`tools/list: HTTP ${reply.status} ${JSON.stringify(reply.message).slice(0, 300)}`);
      names.push(...result.tools.map((t) => t.name));
      cursor = result.nextCursor;
      if (!cursor) break;
    }
  } finally {
    await worker.close();
  }
  return names;
}

/** Echo tools of the endpoint, waiting until `expected` upstreams contribute one (a proxy connects to its upstreams after it listens). */
export async function discoverEchoTools(endpoint: Endpoint, expected: number): Promise<LoadTool[]> {
  const until = Date.now() + DISCOVERY_TIMEOUT_MS;
  let last = '';
  while (Date.now() < until) {
    try {
      const names = (await listTools(endpoint)).filter((n) => n === 'echo' || n.endsWith('__echo')).sort();
      const tools = names.map((name) => ({
        name,
        upstream: name === 'echo' ? 'direct' : name.slice(0, -'__echo'.length),
      }));
      if (tools.length >= expected) return tools;
      last = `${tools.length} echo tools (${names.join(', ')})`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no echo tools at ${endpoint.url} after ${DISCOVERY_TIMEOUT_MS} ms: ${last}`);
}

/** How a call ended: `ok`, the proxy's stable error code, the HTTP status, or what was wrong with the reply. */
export function classify(reply: Reply, id: number, text: string): string {
  const m = reply.message as
    | {
        id?: unknown;
        error?: { code?: number; data?: { code?: unknown } };
        result?: { content?: { text?: unknown }[]; isError?: boolean };
      }
    | undefined;
  const dataCode = typeof m?.error?.data?.code === 'string' ? m.error.data.code : undefined;
  if (reply.status !== 200) return dataCode ? `HTTP ${reply.status} ${dataCode}` : `HTTP ${reply.status}`;
  if (m?.error) return dataCode ?? `RPC ${m.error.code}`;
  if (m?.id !== id || typeof m.result !== 'object' || m.result === null) return 'BAD_REPLY';
  if (m.result.isError) return 'TOOL_ERROR';
  if (m.result.content?.[0]?.text !== text) return 'ECHO_MISMATCH';
  return 'ok';
}

function transportCode(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : ((err as Error).message ?? String(err)).slice(0, 60);
}
