/**
 * The topology `npm run load` owns when no `--url` is given: three tools-servers (a, b, c) on fixed
 * ports, so one can be killed and restarted where the proxy expects it, and mcp-fed in front with
 * audit to a file. The audit file is what proves "records = calls" after a graceful stop.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../scripts/lib/free-port.ts';
import { type BenchIssuer, startIssuer } from './jwt-issuer.ts';
import { type Child, startNode } from './procs.ts';

export const UPSTREAM_NAMES = ['a', 'b', 'c'];
const CALLER = 'load-client';
const STOP_TIMEOUT_MS = 10_000;

export interface AuditCount {
  records: number;
  /** Records by `result_status` (ok | tool_error | error). */
  byResult: Record<string, number>;
  /** Records by upstream. */
  byUpstream: Record<string, number>;
}

export class Topology {
  readonly upstreams = new Map<string, Child>();
  readonly ports = new Map<string, number>();
  proxy: Child | undefined;
  readonly auditPath: string;
  private issuer: BenchIssuer | undefined;
  private restarts = 0;

  constructor(
    private readonly dir: string,
    readonly governance: boolean,
  ) {
    this.auditPath = join(dir, 'audit.jsonl');
  }

  get headers(): Record<string, string> | undefined {
    return this.issuer ? { authorization: `Bearer ${this.issuer.token}` } : undefined;
  }

  async start(): Promise<void> {
    for (const name of UPSTREAM_NAMES) this.ports.set(name, await freePort());
    await Promise.all(UPSTREAM_NAMES.map((name) => this.startUpstream(name)));
    if (this.governance) this.issuer = await startIssuer(CALLER);
    const configPath = join(this.dir, 'proxy.json');
    writeFileSync(configPath, `${JSON.stringify(this.config(), null, 2)}\n`);
    this.proxy = await startNode(
      'proxy',
      ['bin/mcp-fed.js', 'serve', '--config', configPath],
      /mcp-fed listening on (\S+)/,
      this.dir,
    );
  }

  private config(): object {
    const upstreams = UPSTREAM_NAMES.map((name) => ({
      name,
      url: `http://127.0.0.1:${this.ports.get(name)}/mcp`,
      transport: 'streamable-http',
      timeoutMs: 10_000,
    }));
    const base = {
      listen: { host: '127.0.0.1', port: 0, path: '/mcp' },
      upstreams,
      audit: { sink: 'file', path: this.auditPath },
    };
    if (!this.issuer) return { ...base, pii: { mode: 'off' } };
    // Governance fully on, as the bench's gov-on rows: JWT, ACL, a rate limit far above the load, PII tokenize.
    const { issuer, audience, jwksUri } = this.issuer;
    return {
      ...base,
      inbound: { auth: { kind: 'jwt', issuer, audience, jwksUri } },
      policies: {
        acl: [{ callers: [CALLER], allow: ['*'], deny: ['*__add_tool', '*__remove_tool'] }],
        rateLimits: [{ callers: ['*'], tools: ['*'], perMinute: 100_000_000 }],
      },
      pii: { mode: 'tokenize', detokenizeResponses: true },
    };
  }

  private async startUpstream(name: string): Promise<Child> {
    const logName = this.upstreams.has(name)
      ? `upstream-${name}-restart${++this.restarts}`
      : `upstream-${name}`;
    const args = [
      '--import',
      'tsx',
      'upstreams/tools-server.ts',
      '--name',
      name,
      '--port',
      String(this.ports.get(name)),
    ];
    const child = await startNode(logName, args, /LISTENING (\S+)/, this.dir);
    this.upstreams.set(name, child);
    return child;
  }

  /** SIGKILL: no goodbye on the open connections, as a crash or an OOM kill. */
  kill(name: string): void {
    const child = this.upstreams.get(name);
    if (child) process.kill(child.pid, 'SIGKILL');
  }

  /** The same server on the same port; resolves once it listens. */
  async restart(name: string): Promise<void> {
    // The killed process may take a moment to release the port; retry briefly on EADDRINUSE.
    for (let attempt = 0; ; attempt++) {
      try {
        await this.startUpstream(name);
        return;
      } catch (err) {
        if (attempt >= 20 || !/EADDRINUSE/.test((err as Error).message)) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /**
   * SIGTERM the proxy (it flushes its audit queue on the way out) and wait for it to exit.
   * Returns whether it exited by itself within the timeout.
   */
  async stopProxy(): Promise<boolean> {
    const proxy = this.proxy;
    if (!proxy) return false;
    process.kill(proxy.pid, 'SIGTERM');
    const until = Date.now() + STOP_TIMEOUT_MS;
    while (Date.now() < until) {
      if (!alive(proxy.pid)) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    await proxy.stop();
    return false;
  }

  countAudit(): AuditCount {
    const text = existsSync(this.auditPath) ? readFileSync(this.auditPath, 'utf8') : '';
    const count: AuditCount = { records: 0, byResult: {}, byUpstream: {} };
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      const rec = JSON.parse(line) as {
        result_status?: string;
        upstream?: string | null;
        segment_start?: true;
      };
      if (rec.segment_start) continue; // a process's chain segment, not a call
      count.records++;
      const result = rec.result_status ?? 'missing';
      const upstream = rec.upstream ?? 'none';
      count.byResult[result] = (count.byResult[result] ?? 0) + 1;
      count.byUpstream[upstream] = (count.byUpstream[upstream] ?? 0) + 1;
    }
    return count;
  }

  async close(): Promise<void> {
    await Promise.all([...this.upstreams.values()].map((c) => c.stop()));
    if (this.proxy) await this.proxy.stop();
    await this.issuer?.close();
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
