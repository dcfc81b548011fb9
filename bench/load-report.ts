/**
 * Figures of a load run: success rates (overall, per upstream, the killed one against the others),
 * latency percentiles, errors by code, recovery after the restart and the audit check. Printed as a
 * table and written as JSON (bench/load-results.json).
 */
import type { CallRecord } from './load-client.ts';
import type { AuditCount } from './load-topology.ts';

export interface Latency {
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  p999_ms: number;
  max_ms: number;
}

export interface GroupStats {
  calls: number;
  ok: number;
  success_rate: number;
  /** Latency of all calls of the group, failed ones included (a failure that takes 10 s counts). */
  latency: Latency | null;
  errors: Record<string, number>;
}

export interface KillTimeline {
  upstream: string;
  killed_at_s: number;
  restarted_at_s: number;
  /** The restarted process listens again (its port is open). */
  listening_at_s: number;
  first_failure_at_s: number | null;
  last_failure_at_s: number | null;
  /** From the restarted process listening until the first successful call to it ended. */
  recovery_ms: number | null;
  failed_calls: number;
  /** Calls of the recovery probe: a run that ended before the upstream was back probes it alone. */
  probe_calls: number;
}

export interface AuditCheck {
  records: number;
  /** Calls that got an HTTP response from the proxy: each owes one record. */
  answered_calls: number;
  match: boolean;
  proxy_exit: 'graceful' | 'forced';
  by_result: Record<string, number>;
  by_upstream: Record<string, number>;
}

export function groupStats(calls: CallRecord[]): GroupStats {
  const latencies = new Float64Array(calls.length);
  const errors: Record<string, number> = {};
  let ok = 0;
  calls.forEach((c, i) => {
    latencies[i] = c.endMs - c.startMs;
    if (c.code === 'ok') ok++;
    else errors[c.code] = (errors[c.code] ?? 0) + 1;
  });
  return {
    calls: calls.length,
    ok,
    success_rate: calls.length ? ok / calls.length : 0,
    latency: calls.length ? percentiles(latencies) : null,
    errors,
  };
}

function percentiles(values: Float64Array): Latency {
  const sorted = values.slice().sort();
  const at = (q: number) => round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0);
  return {
    p50_ms: at(0.5),
    p90_ms: at(0.9),
    p99_ms: at(0.99),
    p999_ms: at(0.999),
    max_ms: round(sorted[sorted.length - 1] ?? 0),
  };
}

/** When the killed upstream's calls failed and when they worked again. */
export function killTimeline(
  calls: CallRecord[],
  upstream: string,
  at: { killedMs: number; restartedMs: number; listeningMs: number },
  probeCalls: number,
): KillTimeline {
  const mine = calls.filter((c) => c.upstream === upstream);
  const failed = mine.filter((c) => c.code !== 'ok' && c.endMs >= at.killedMs);
  const firstOk = mine
    .filter((c) => c.code === 'ok' && c.endMs >= at.listeningMs)
    .reduce<number | null>((min, c) => (min === null || c.endMs < min ? c.endMs : min), null);
  const ends = failed.map((c) => c.endMs);
  return {
    upstream,
    killed_at_s: sec(at.killedMs),
    restarted_at_s: sec(at.restartedMs),
    listening_at_s: sec(at.listeningMs),
    first_failure_at_s: ends.length ? sec(Math.min(...ends)) : null,
    last_failure_at_s: ends.length ? sec(Math.max(...ends)) : null,
    recovery_ms: firstOk === null ? null : round(firstOk - at.listeningMs),
    failed_calls: failed.length,
    probe_calls: probeCalls,
  };
}

export function auditCheck(count: AuditCount, calls: CallRecord[], graceful: boolean): AuditCheck {
  const answered = calls.filter((c) => c.answered).length;
  return {
    records: count.records,
    answered_calls: answered,
    match: count.records === answered,
    proxy_exit: graceful ? 'graceful' : 'forced',
    by_result: count.byResult,
    by_upstream: count.byUpstream,
  };
}

/** The stdout summary: one line per group, then errors, the kill timeline and the audit check. */
export function table(
  groups: [string, GroupStats][],
  errors: Record<string, number>,
  kill: KillTimeline | null,
  audit: AuditCheck | null,
): string {
  const header = ['group', 'calls', 'ok', 'success', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'max ms'];
  const rows = groups.map(([name, g]) => [
    name,
    String(g.calls),
    String(g.ok),
    `${(g.success_rate * 100).toFixed(3)}%`,
    ...(g.latency
      ? [g.latency.p50_ms, g.latency.p90_ms, g.latency.p99_ms, g.latency.p999_ms, g.latency.max_ms].map((v) =>
          v.toFixed(2),
        )
      : ['-', '-', '-', '-', '-']),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const out = [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
  const codes = Object.entries(errors).sort((x, y) => y[1] - x[1]);
  out.push('', `errors by code: ${codes.length ? codes.map(([c, n]) => `${c} ${n}`).join(', ') : 'none'}`);
  if (kill) {
    out.push(
      `kill ${kill.upstream}: SIGKILL at ${kill.killed_at_s} s, restarted at ${kill.restarted_at_s} s, listening at ${kill.listening_at_s} s; ` +
        `${kill.failed_calls} failed calls between ${kill.first_failure_at_s ?? '-'} s and ${kill.last_failure_at_s ?? '-'} s; ` +
        `recovery ${kill.recovery_ms === null ? 'NOT SEEN' : `${kill.recovery_ms} ms after listening`}` +
        (kill.probe_calls ? ` (seen by the recovery probe, ${kill.probe_calls} calls after the run)` : ''),
    );
  }
  if (audit) {
    out.push(
      `audit: ${audit.records} records for ${audit.answered_calls} answered calls: ${audit.match ? 'MATCH' : 'MISMATCH'} (proxy exit ${audit.proxy_exit})`,
    );
  }
  return out.join('\n');
}

const round = (ms: number) => Math.round(ms * 100) / 100;
const sec = (ms: number) => Math.round(ms) / 1000;
