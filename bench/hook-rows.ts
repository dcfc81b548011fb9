/**
 * Your own hooks (issue 12, "Performance"): what one pass-through module hook adds to a call, both
 * phases, in-process (target ≤ 20 µs), and what a pass-through remote hook on loopback costs (two POSTs
 * over keep-alive connections; reported, no target: it is the hop). Each is the pipeline with the hook
 * minus the same pipeline without it, timed one call at a time after a warm-up.
 * Standalone: `node --import tsx bench/hook-rows.ts`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigSchema } from '../src/config/schema.ts';
import { type LoadedHook, pipelineHooks } from '../src/hooks/custom/custom-hooks.ts';
import { importHookModule } from '../src/hooks/custom/module-hook.ts';
import { remoteHook } from '../src/hooks/custom/remote-hook.ts';
import { type CallContext, HookPipeline, type McpCall } from '../src/hooks/pipeline.ts';
import { silentLogger } from '../src/log.ts';
import { Metrics } from '../src/telemetry/metrics.ts';
import type { MicroRow } from './cedar-rows.ts';

const call: McpCall = {
  method: 'tools/call',
  publicName: 'up__echo',
  upstream: 'up',
  upstreamName: 'echo',
  params: { name: 'echo', arguments: { text: 'x'.repeat(180), n: 1 } },
  annotations: { readOnlyHint: true },
};
const result = { content: [{ type: 'text', text: 'y'.repeat(180) }] };
const context = (): CallContext => ({
  requestId: 'bench',
  caller: { id: 'alice', groups: ['staff'] },
  era: 'modern',
  hops: 1,
  decision: 'allow',
  tokenIds: [],
  hookMs: 0,
});

async function perCall(pipeline: HookPipeline, n: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n + Math.min(2_000, n); i++) {
    const ctx = context();
    const t0 = process.hrtime.bigint();
    await pipeline.before(call, ctx);
    await pipeline.after(call, result, ctx);
    if (i >= Math.min(2_000, n)) times.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  return times.sort((a, b) => a - b);
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

function pipelineOf(hook: LoadedHook): HookPipeline {
  const { pre, post } = pipelineHooks([hook], {
    metrics: new Metrics(),
    log: silentLogger,
    recheck: [],
    mask: (v) => v,
    restore: (v) => v,
  });
  return new HookPipeline(pre, post);
}

function row(name: string, base: number[], withHook: number[], target?: number): MicroRow {
  const p50 = +(pct(withHook, 0.5) - pct(base, 0.5)).toFixed(1);
  const p99 = +(pct(withHook, 0.99) - pct(base, 0.99)).toFixed(1);
  return {
    row: name,
    p50_us: p50,
    p99_us: p99,
    target_us: target ?? null,
    verdict: target === undefined ? 'reported' : p50 <= target ? 'met' : 'missed',
  };
}

export async function measureHookRows(iterations = 20_000): Promise<MicroRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-fed-bench-hooks-'));
  const file = join(dir, 'pass.mjs');
  writeFileSync(
    file,
    "export const before = () => ({ outcome: 'pass' });\nexport const after = () => ({ outcome: 'pass' });\n",
  );
  const config = (extra: Record<string, unknown>) =>
    ConfigSchema.parse({ hooks: [{ name: 'pass', ...extra }] }).hooks[0]!;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"outcome":"pass"}'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
  try {
    const base = await perCall(new HookPipeline(), iterations);
    const moduleHook = pipelineOf({ config: config({ module: file }), runner: await importHookModule(file) });
    const remote = remoteHook({ url, headers: {} });
    const remoteRows = pipelineOf({ config: config({ url }), runner: remote });
    const rows = [
      row('pass-through module hook, both phases', base, await perCall(moduleHook, iterations), 20),
      row(
        'pass-through remote hook on loopback, both phases',
        base,
        await perCall(remoteRows, Math.min(iterations, 3_000)),
      ),
    ];
    await remote.close();
    return rows;
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`${JSON.stringify(await measureHookRows(), null, 2)}\n`);
}
