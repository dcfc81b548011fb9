import { decisionOf } from '../hooks/audit/record.ts';
import type { CallRecord } from '../router/types.ts';

/** One finished call as /admin shows it: who, what, how it went. Never an argument or result value. */
export interface RecentCall {
  at: string;
  requestId: string;
  caller: string;
  method: string;
  tool: string | null;
  upstream: string | null;
  decision: string;
  status: CallRecord['result'];
  latencyMs: number;
  configVersion: string | null;
}

export interface UpstreamWindow {
  calls: number;
  errorRate: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

const RECENT = 200;
/** The window of the upstream latency and error figures. */
export const WINDOW_MS = 5 * 60_000;
/** Samples kept per upstream within the window (a busy upstream's figures come from its latest calls). */
const MAX_SAMPLES = 20_000;

/**
 * What /admin shows about calls, kept from the call observer stream (the same one the audit log reads):
 * the latest calls, decisions since start, and per upstream its latency and error rate over the last
 * five minutes. Bounded memory: a ring of calls and a capped sample list per upstream.
 */
export class CallStats {
  private readonly recent: RecentCall[] = [];
  private readonly decisionCounts = new Map<string, number>();
  private readonly samples = new Map<string, { at: number; ms: number; failed: boolean }[]>();

  readonly observe = (rec: CallRecord): void => {
    const decision = decisionOf(rec.ctx.decision, rec.result);
    this.decisionCounts.set(decision, (this.decisionCounts.get(decision) ?? 0) + 1);
    this.recent.push({
      at: new Date().toISOString(),
      requestId: rec.ctx.requestId,
      caller: rec.ctx.caller.id,
      method: rec.method,
      tool: rec.publicName,
      upstream: rec.upstream,
      decision,
      status: rec.result,
      latencyMs: Math.round(rec.totalMs * 10) / 10,
      configVersion: rec.ctx.judgedBy?.version ?? null,
    });
    if (this.recent.length > RECENT) this.recent.shift();
    if (rec.upstream && rec.upstreamStatus !== null) {
      const list = this.samples.get(rec.upstream) ?? [];
      list.push({ at: Date.now(), ms: rec.upstreamMs, failed: rec.result === 'error' });
      if (list.length > MAX_SAMPLES) list.splice(0, list.length - MAX_SAMPLES);
      this.samples.set(rec.upstream, list);
    }
  };

  calls(): RecentCall[] {
    return [...this.recent].reverse();
  }

  decisions(): Record<string, number> {
    return Object.fromEntries([...this.decisionCounts].sort(([a], [b]) => a.localeCompare(b)));
  }

  upstream(name: string): UpstreamWindow {
    const cutoff = Date.now() - WINDOW_MS;
    const list = (this.samples.get(name) ?? []).filter((s) => s.at >= cutoff);
    this.samples.set(name, list);
    if (list.length === 0) return { calls: 0, errorRate: 0, p50Ms: null, p99Ms: null };
    const ms = list.map((s) => s.ms).sort((a, b) => a - b);
    const at = (q: number) =>
      Math.round((ms[Math.min(ms.length - 1, Math.floor(ms.length * q))] ?? 0) * 10) / 10;
    return {
      calls: list.length,
      errorRate: Math.round((list.filter((s) => s.failed).length / list.length) * 1000) / 1000,
      p50Ms: at(0.5),
      p99Ms: at(0.99),
    };
  }
}
