/**
 * The lab's stand-in for Jaeger (which is not an npm package): an OTLP/HTTP JSON receiver that appends
 * every span it receives to a JSON Lines file and prints each trace as a tree once it has been quiet
 * for a moment.
 *   --host H --port N (default 4318) --out FILE (default ./lab-spans.jsonl)
 * Prints `LISTENING <url>`; `GET /healthz` answers 200.
 */
import { appendFileSync } from 'node:fs';
import { exitOnSignals, intFlag, parseCli } from '../../upstreams/lib/cli.ts';
import { type ReceivedSpan, startOtlpReceiver } from './otlp-receiver.ts';
import { formatTrace } from './trace-format.ts';

const QUIET_MS = 1_000;

const flags = parseCli({ host: { type: 'string' }, port: { type: 'string' }, out: { type: 'string' } });
const out = flags.out ?? 'lab-spans.jsonl';
const pending = new Map<string, { spans: ReceivedSpan[]; timer: NodeJS.Timeout }>();

function print(traceId: string): void {
  const entry = pending.get(traceId);
  pending.delete(traceId);
  if (!entry) return;
  const services = [...new Set(entry.spans.map((s) => s.service))].join(', ');
  const lines = [
    `trace ${traceId}: ${entry.spans.length} spans from ${services}`,
    ...formatTrace(entry.spans),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

const receiver = await startOtlpReceiver({
  host: flags.host ?? '127.0.0.1',
  port: intFlag(flags.port, 'port', 4318),
  keep: false,
  onSpans: (spans) => {
    appendFileSync(out, spans.map((s) => `${JSON.stringify(s)}\n`).join(''));
    for (const s of spans) {
      const entry = pending.get(s.traceId);
      if (entry) clearTimeout(entry.timer);
      const next = {
        spans: [...(entry?.spans ?? []), s],
        timer: setTimeout(() => print(s.traceId), QUIET_MS),
      };
      pending.set(s.traceId, next);
    }
  },
});
exitOnSignals(async () => {
  for (const id of [...pending.keys()]) print(id);
  await receiver.close();
});
process.stdout.write(`LISTENING ${receiver.url}\n`);
