import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { HotCounter, HotHistogram } from './hot-metrics.ts';

const LATENCY_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

/** The Prometheus metrics of DESIGN.md ("Metrics"), one registry per app so tests can run several. */
export class Metrics {
  readonly registry = new Registry();
  // What every call records: counted without prom-client's per-call label hashing (hot-metrics.ts).
  private readonly requests: HotCounter;
  private readonly addedLatency: HotHistogram;
  private readonly upstreamLatency: HotHistogram;
  private readonly policyDecisions: HotCounter;
  readonly piiTokens: Counter<'entity' | 'result'>;
  readonly catalogCache: Counter<'result'>;
  readonly upstreamUp: Gauge<'upstream'>;
  readonly upstreamResumes: Counter<'upstream'>;
  readonly configReloads: Counter<'result'>;
  /** live (this replica's 2025-era sessions), evicted (for a caller's limit) and refused (sessions.max), since start. */
  readonly sessions: Gauge<'state'>;
  private liveSessionCount: () => number = () => 0;
  readonly hookLatency: Histogram<'hook'>;
  readonly hookDecisions: Counter<'hook' | 'phase' | 'outcome'>;

  constructor(readonly perCaller = false) {
    const registers = [this.registry];
    this.requests = new HotCounter(
      'mcp_fed_requests_total',
      'MCP requests served, by method, public tool, upstream and result (ok | tool_error | error)',
      this.registry,
    );
    this.addedLatency = new HotHistogram(
      'mcp_fed_added_latency_seconds',
      'Time the proxy adds to a call, excluding the upstream wait',
      LATENCY_BUCKETS,
      this.registry,
    );
    this.upstreamLatency = new HotHistogram(
      'mcp_fed_upstream_latency_seconds',
      'Time waiting for the upstream',
      LATENCY_BUCKETS,
      this.registry,
    );
    this.policyDecisions = new HotCounter(
      'mcp_fed_policy_decisions_total',
      'Governance decisions',
      this.registry,
    );
    this.piiTokens = new Counter({
      name: 'mcp_fed_pii_tokens_total',
      help: 'PII tokens by entity; hit = the value already had a token',
      labelNames: ['entity', 'result'],
      registers,
    });
    this.catalogCache = new Counter({
      name: 'mcp_fed_catalog_cache_total',
      help: 'List requests served from the catalog cache (hit) or after re-listing upstreams (miss)',
      labelNames: ['result'],
      registers,
    });
    this.upstreamUp = new Gauge({
      name: 'mcp_fed_upstream_up',
      help: '1 when the upstream is connected and listed',
      labelNames: ['upstream'],
      registers,
    });
    this.upstreamResumes = new Counter({
      name: 'mcp_fed_upstream_resumes_total',
      help: 'Upstream response streams resumed with GET + Last-Event-ID after the upstream closed them early',
      labelNames: ['upstream'],
      registers,
    });
    const live = () => this.liveSessionCount();
    this.sessions = new Gauge({
      name: 'mcp_fed_sessions',
      help: "2025-era sessions: state=live on this replica now; evicted (a caller's least recently used, over sessions.maxPerCaller) and refused (over sessions.max) since start",
      labelNames: ['state'],
      registers,
      collect() {
        this.set({ state: 'live' }, live());
      },
    });
    this.sessions.set({ state: 'evicted' }, 0);
    this.sessions.set({ state: 'refused' }, 0);
    this.configReloads = new Counter({
      name: 'mcp_fed_config_reloads_total',
      help: 'Config reloads (SIGHUP, --watch): ok = applied, refused = invalid or needing a restart',
      labelNames: ['result'],
      registers,
    });
    this.configReloads.inc({ result: 'ok' }, 0);
    this.configReloads.inc({ result: 'refused' }, 0);
    this.hookLatency = new Histogram({
      name: 'mcp_fed_hook_latency_seconds',
      help: 'Time one of your hooks took to answer (module or remote), per hook',
      labelNames: ['hook'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.hookDecisions = new Counter({
      name: 'mcp_fed_hook_decisions_total',
      help: 'Answers of your hooks: outcome = pass | mutate | reject | error',
      labelNames: ['hook', 'phase', 'outcome'],
      registers,
    });
  }

  /** Where `mcp_fed_sessions{state="live"}` is read from at each scrape. */
  liveSessions(count: () => number): void {
    this.liveSessionCount = count;
  }

  // Bound series by label values: a call finds its counters with one Map lookup.
  private readonly requestChildren = new Map<string, { inc(): void }>();
  private readonly decisionChildren = new Map<string, { inc(): void }>();
  private readonly addedChildren = new Map<string, { observe(v: number): void }>();
  private readonly upstreamChildren = new Map<string, { observe(v: number): void }>();

  /** One finished request; label values are bounded (public names come from the catalog, not the caller). */
  record(
    method: string,
    tool: string,
    upstream: string,
    result: 'ok' | 'tool_error' | 'error',
    caller?: string,
  ): void {
    const who = this.perCaller ? (caller ?? 'anonymous') : '';
    const key = `${method}\0${tool}\0${upstream}\0${result}\0${who}`;
    let child = this.requestChildren.get(key);
    if (!child) {
      child = this.perCaller
        ? this.requests.bind({ method, tool, upstream, result, caller: who })
        : this.requests.bind({ method, tool, upstream, result });
      this.requestChildren.set(key, child);
    }
    child.inc();
  }

  decision(decision: string): void {
    let child = this.decisionChildren.get(decision);
    if (!child) {
      child = this.policyDecisions.bind({ decision });
      this.decisionChildren.set(decision, child);
    }
    child.inc();
  }

  /** Latencies of one forwarded call, in seconds. */
  latency(tool: string, upstream: string, addedSeconds: number, upstreamSeconds: number): void {
    let added = this.addedChildren.get(tool);
    if (!added) {
      added = this.addedLatency.bind({ tool });
      this.addedChildren.set(tool, added);
    }
    added.observe(addedSeconds);
    let up = this.upstreamChildren.get(upstream);
    if (!up) {
      up = this.upstreamLatency.bind({ upstream });
      this.upstreamChildren.set(upstream, up);
    }
    up.observe(upstreamSeconds);
  }
}
