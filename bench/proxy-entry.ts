/**
 * What the benchmark runs as mcp-fed: the shipped build, as the container image runs it
 * (`tsc -p tsconfig.build.json` → `dist/src/main.js` on plain node), not the tsx loader `npm start` uses
 * in a checkout. The loader's on-the-fly transform keeps function names with a `__name` call per closure
 * and handles source maps per module; on 2026-12-03 it cost the proxy ≈ 10% more CPU per call (profile:
 * 408 vs 367 and 327 busy samples per 1,000 legacy calls). Built once per run; `MCP_FED_BENCH_TSX=1`
 * measures the checkout through tsx instead.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

let entry: string | undefined;

export function proxyEntry(): string {
  if (entry) return entry;
  if (process.env.MCP_FED_BENCH_TSX === '1') {
    entry = 'bin/mcp-fed.js';
    return entry;
  }
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  entry = 'dist/src/main.js';
  return entry;
}
