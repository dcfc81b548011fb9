import type { Metric, Registry } from 'prom-client';

/**
 * Counters and histograms for what every call records (DESIGN.md, "Metrics": requests, decisions,
 * latencies). prom-client's own metrics hash the label object on every `inc`/`observe` (a string built,
 * looked up in a dictionary, the bucket found by its string key): a few µs a call, ≈ 2% of a proxied
 * call's CPU. These count into numbers bound to one label set at a time and give prom-client the totals
 * when it is scraped, through the registry's reading contract (`name`, `help`, `type`, `aggregator`,
 * `get()`, `reset()`): the same exposition, the same registry.
 */
type Labels = Record<string, string>;

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

interface Exposed {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  values: MetricValue[];
}

abstract class HotMetric<S> {
  readonly aggregator = 'sum' as const;
  protected readonly series = new Map<string, { labels: Labels; totals: S }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'histogram',
    registry: Registry,
  ) {
    // prom-client's Registry reads any metric through this contract; its type lists only its own classes.
    registry.registerMetric(this as unknown as Metric);
  }

  protected totalsFor(labels: Labels, fresh: () => S): S {
    const key = Object.values(labels).join('\0');
    let entry = this.series.get(key);
    if (!entry) {
      entry = { labels: { ...labels }, totals: fresh() };
      this.series.set(key, entry);
    }
    return entry.totals;
  }

  protected abstract values(): MetricValue[];

  async get(): Promise<Exposed> {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: this.values(),
    };
  }

  reset(): void {
    this.series.clear();
  }
}

/** A counter; `bind(labels).inc()` is one addition. */
export class HotCounter extends HotMetric<{ value: number }> {
  constructor(name: string, help: string, registry: Registry) {
    super(name, help, 'counter', registry);
  }

  bind(labels: Labels): { inc(): void } {
    const totals = this.totalsFor(labels, () => ({ value: 0 }));
    return {
      inc: () => {
        totals.value++;
      },
    };
  }

  protected values(): MetricValue[] {
    return [...this.series.values()].map(({ labels, totals }) => ({ labels, value: totals.value }));
  }
}

interface Buckets {
  counts: Float64Array;
  sum: number;
  count: number;
}

/** A histogram with fixed upper bounds; `bind(labels).observe(v)` finds the bucket by a numeric compare. */
export class HotHistogram extends HotMetric<Buckets> {
  constructor(
    name: string,
    help: string,
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    super(name, help, 'histogram', registry);
  }

  bind(labels: Labels): { observe(value: number): void } {
    const bounds = this.bounds;
    const totals = this.totalsFor(labels, () => ({
      counts: new Float64Array(bounds.length),
      sum: 0,
      count: 0,
    }));
    return {
      observe: (value: number) => {
        if (!Number.isFinite(value)) return;
        totals.sum += value;
        totals.count++;
        for (let i = 0; i < bounds.length; i++) {
          if (value <= (bounds[i] as number)) {
            totals.counts[i] = (totals.counts[i] as number) + 1;
            return;
          }
        }
      },
    };
  }

  protected values(): MetricValue[] {
    const out: MetricValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const { labels, totals } of this.series.values()) {
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += totals.counts[i] as number;
        out.push({ labels: { le, ...labels }, value: cumulative, metricName: bucket });
      });
      out.push({ labels: { le: '+Inf', ...labels }, value: totals.count, metricName: bucket });
      out.push({ labels, value: totals.sum, metricName: `${this.name}_sum` });
      out.push({ labels, value: totals.count, metricName: `${this.name}_count` });
    }
    return out;
  }
}
