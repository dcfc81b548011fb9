/**
 * In-process Cedar decision rows (issue 11, "Cedar policies"): what one call's decision costs with 10
 * and 100 policies, and with an argument object near the 64 KiB cap read by a policy. Timed one
 * decision at a time after a warm-up; an end-to-end p50 would drown figures this small in noise.
 * Standalone: `node --import tsx bench/cedar-rows.ts`.
 */
import { CedarAuthorizer, type CedarRequest } from '../src/hooks/cedar/authorizer.ts';
import { parsePolicies } from '../src/hooks/cedar/policy-set.ts';
import { silentLogger } from '../src/log.ts';

export interface MicroRow {
  row: string;
  p50_us: number;
  p99_us: number;
  /** null: reported without a target (a figure dominated by something else, such as a network hop). */
  target_us: number | null;
  verdict: 'met' | 'missed' | 'reported';
}

/** `n` policies as a platform team writes them: one group permit per tool reading an argument, plus two forbids. */
function policies(n: number): string {
  const out = [
    '@id("hops") forbid(principal, action, resource) when { context.hops > 2 };',
    '@id("destructive") forbid(principal, action == McpFed::Action::"tools/call", resource is McpFed::Tool) when { resource.annotations.destructiveHint && !resource.annotations.readOnlyHint } unless { principal in McpFed::Group::"ops" };',
  ];
  for (let i = 0; out.length < n; i++)
    out.push(
      `@id("t${i}") permit(principal in McpFed::Group::"g${i % 7}", action == McpFed::Action::"tools/call", resource == McpFed::Tool::"up__tool${i}") when { context has arguments && context.arguments has amount && context.arguments.amount <= ${1000 + i} };`,
    );
  return out.join('\n');
}

function authorizer(text: string): CedarAuthorizer {
  const parsed = parsePolicies({ source: 'bench.cedar', text });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return new CedarAuthorizer(parsed.policies, silentLogger);
}

function time(fn: () => unknown, n: number): { p50: number; p99: number } {
  for (let i = 0; i < Math.min(2_000, n); i++) fn();
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(n / 2)]!, p99: times[Math.floor(n * 0.99)]! };
}

const request = (args: Record<string, unknown>): CedarRequest => ({
  caller: { id: 'alice', groups: ['g3', 'finance'], kind: 'apiKey' },
  action: 'tools/call',
  name: 'up__tool3',
  upstream: 'up',
  upstreamName: 'tool3',
  annotations: { readOnlyHint: false, destructiveHint: false },
  arguments: args,
  hops: 1,
  era: 'modern',
});

function row(name: string, t: { p50: number; p99: number }, target: number): MicroRow {
  const p50 = +t.p50.toFixed(1);
  return {
    row: name,
    p50_us: p50,
    p99_us: +t.p99.toFixed(1),
    target_us: target,
    verdict: p50 <= target ? 'met' : 'missed',
  };
}

export async function measureCedarRows(iterations = 20_000): Promise<MicroRow[]> {
  const args = { amount: 500, to: 'acct-1', memo: 'rent' };
  const rows: MicroRow[] = [];
  for (const [n, target] of [
    [10, 50],
    [100, 100],
  ] as const) {
    const authz = authorizer(policies(n));
    const first = authz.decide(request(args));
    if (first instanceof Promise || !first.allow) throw new Error('bench policy set denies its own call');
    rows.push(
      row(
        `cedar decision, ${n} policies`,
        time(() => authz.decide(request(args)), iterations),
        target,
      ),
    );
  }
  // Ten group allowlists and an annotation rule: nothing of the context is read, so a caller's repeated
  // decisions on one tool come from the slice's cache.
  const groups = authorizer(
    [
      '@id("destructive") forbid(principal, action, resource is McpFed::Tool) when { resource.annotations.destructiveHint } unless { principal in McpFed::Group::"ops" };',
      ...Array.from(
        { length: 9 },
        (_, i) => `@id("g${i}") permit(principal in McpFed::Group::"g${i}", action, resource);`,
      ),
    ].join('\n'),
  );
  rows.push(
    row(
      'cedar decision, 10 context-free policies (cached)',
      time(() => groups.decide(request(args)), iterations),
      50,
    ),
  );
  // A policy that reads the whole argument object, near the 64 KiB cap.
  const whole = authorizer(
    'permit(principal, action, resource) when { context.arguments.items.contains("needle") };',
  );
  const items = Array.from({ length: 3_200 }, (_, i) => `item-${i.toString().padStart(12, '0')}`);
  items.push('needle');
  const big = { items };
  if (JSON.stringify(big).length > 64 * 1024 || JSON.stringify(big).length < 60 * 1024)
    throw new Error(`big arguments are ${JSON.stringify(big).length} bytes`);
  // Evaluated on the worker thread: what the call waits for, and what the event loop is held for
  // (building the request and reading the answer; the conversion runs on the worker).
  const total: number[] = [];
  const held: number[] = [];
  for (let i = 0; i < 520; i++) {
    const t0 = process.hrtime.bigint();
    const pending = whole.decide(request(big));
    const t1 = process.hrtime.bigint();
    const decision = await pending;
    const t2 = process.hrtime.bigint();
    if (!decision.allow) throw new Error(`the big-arguments policy denied: ${JSON.stringify(decision)}`);
    if (i < 20) continue;
    total.push(Number(t2 - t0) / 1000);
    held.push(Number(t1 - t0) / 1000);
  }
  const pct = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return { p50: s[Math.floor(s.length / 2)]!, p99: s[Math.floor(s.length * 0.99)]! };
  };
  rows.push(row('cedar decision, ~63 KiB arguments read whole (latency)', pct(total), 2000));
  rows.push(row('cedar decision, ~63 KiB arguments read whole (event loop held)', pct(held), 2000));
  await whole.close();
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`${JSON.stringify(await measureCedarRows(), null, 2)}\n`);
}
