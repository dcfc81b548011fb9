import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { HotCounter, HotHistogram } from '../../src/telemetry/hot-metrics.ts';

// The per-call metrics count outside prom-client but must read exactly as prom-client's own would:
// the same observations into both, the same scrape text out.
const BOUNDS = [0.0001, 0.00025, 0.0005, 0.001, 0.01, 0.1, 1, 2.5, 30];

function pair() {
  const reference = new Registry();
  const hot = new Registry();
  return {
    reference,
    hot,
    histograms: [
      new Histogram({
        name: 'h_seconds',
        help: 'h',
        labelNames: ['tool'],
        buckets: BOUNDS,
        registers: [reference],
      }),
      new HotHistogram('h_seconds', 'h', BOUNDS, hot),
    ] as const,
    counters: [
      new Counter({ name: 'c_total', help: 'c', labelNames: ['method', 'result'], registers: [reference] }),
      new HotCounter('c_total', 'c', hot),
    ] as const,
  };
}

describe('hot metrics read as prom-client metrics', () => {
  it('histogram buckets, sum and count, per label set, with label values that need escaping', async () => {
    const { reference, hot, histograms } = pair();
    const [ref, fast] = histograms;
    const values = [0.00005, 0.0001, 0.0003, 0.7, 31, 2.5, 0.02, 1e-9];
    for (const tool of ['echo', 'say "hi"\\n']) {
      for (const v of values) {
        ref.labels({ tool }).observe(v);
        fast.bind({ tool }).observe(v);
      }
    }
    expect(await hot.metrics()).toBe(await reference.metrics());
  });

  it('counters by label set, bound once and incremented often', async () => {
    const { reference, hot, counters } = pair();
    const [ref, fast] = counters;
    const ok = fast.bind({ method: 'tools/call', result: 'ok' });
    for (let i = 0; i < 5; i++) {
      ref.labels({ method: 'tools/call', result: 'ok' }).inc();
      ok.inc();
    }
    ref.labels({ method: 'tools/call', result: 'error' }).inc();
    fast.bind({ method: 'tools/call', result: 'error' }).inc();
    expect(await hot.metrics()).toBe(await reference.metrics());
  });

  it('a non-finite observation is not counted (prom-client refuses it)', async () => {
    const { hot, histograms } = pair();
    const h = histograms[1].bind({ tool: 'x' });
    h.observe(Number.NaN);
    h.observe(0.5);
    expect(await hot.metrics()).toContain('h_seconds_count{tool="x"} 1');
  });

  it('reset empties every series, as resetMetrics does', async () => {
    const { hot, counters } = pair();
    counters[1].bind({ method: 'm', result: 'ok' }).inc();
    hot.resetMetrics();
    expect(await hot.metrics()).not.toContain('c_total{');
  });
});
