import type { ReceivedSpan } from './otlp-receiver.ts';

const KIND_NAMES: Record<number, string> = {
  1: 'internal',
  2: 'server',
  3: 'client',
  4: 'producer',
  5: 'consumer',
};

/**
 * One trace as an indented tree, children under their parent span:
 *   mcp-fed-edge  server  tools/call core__tools__echo  span 1a2b… (parent 0000…)
 * Spans whose parent is not among them (the caller's, or not received) are roots.
 */
export function formatTrace(spans: readonly ReceivedSpan[], indent = '  '): string[] {
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string, ReceivedSpan[]>();
  const roots: ReceivedSpan[] = [];
  for (const s of spans) {
    if (s.parentSpanId && ids.has(s.parentSpanId)) {
      const list = children.get(s.parentSpanId) ?? [];
      list.push(s);
      children.set(s.parentSpanId, list);
    } else roots.push(s);
  }
  const width = Math.max(0, ...spans.map((s) => s.service.length));
  const lines: string[] = [];
  const walk = (s: ReceivedSpan, depth: number) => {
    const tool = s.attributes['gen_ai.tool.name'];
    const parent = s.parentSpanId ? `parent ${s.parentSpanId}` : 'root';
    lines.push(
      `${indent}${'  '.repeat(depth)}${s.service.padEnd(width)}  ${(KIND_NAMES[s.kind] ?? String(s.kind)).padEnd(6)}  ` +
        `${s.name}${typeof tool === 'string' && !s.name.includes(tool) ? ` ${tool}` : ''}  span ${s.spanId} (${parent})`,
    );
    for (const c of children.get(s.spanId) ?? []) walk(c, depth + 1);
  };
  for (const r of roots) walk(r, 0);
  return lines;
}
