import type { Catalog, Route } from '../catalog/catalog.ts';
import type { Federation } from '../router/federation.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import type { Upstream } from '../upstream/upstream.ts';
import type { CallStats, RecentCall, UpstreamWindow } from './call-stats.ts';

/** The outcome of the last config reload, for /admin. */
export interface ReloadNote {
  at: string;
  ok: boolean;
  /** Problems of a refused reload, as paths and messages (never values). */
  problems?: { path: string; message: string }[];
  version?: string;
}

export interface StatusSources {
  federation: Federation;
  metrics: Metrics;
  stats: CallStats;
  configVersion(): string;
  lastReload(): ReloadNote | undefined;
  startedAt: number;
}

export interface UpstreamStatus extends UpstreamWindow {
  name: string;
  state: string;
  era: string | null;
  transport: string;
  sessionMode: 'per-client' | 'per-session child' | 'shared';
  required: boolean;
  tools: number;
  prompts: number;
  resources: number;
  lastError: string | null;
  reconnects: number;
  resumes: number;
  /** Whose credential calls carry: the proxy's own, or the caller's (tokenExchange, userOAuth). */
  identity: 'service' | 'caller';
  /** userOAuth: how many users granted access (a count, never a token); null for other kinds. */
  grants: number | null;
}

export interface CatalogEntry {
  kind: 'tool' | 'prompt' | 'resource' | 'template';
  name: string;
  upstream: string;
  upstreamName: string;
  shortened: boolean;
}

export interface AdminStatus {
  generatedAt: string;
  uptimeSeconds: number;
  configVersion: string;
  lastReload: ReloadNote | null;
  upstreams: UpstreamStatus[];
  catalog: { entries: CatalogEntry[]; collisions: string[] };
  calls: RecentCall[];
  decisions: Record<string, number>;
}

function sessionMode(u: Upstream): UpstreamStatus['sessionMode'] {
  if (u.perClientSessions) return 'per-client';
  return u.perSession ? 'per-session child' : 'shared';
}

/** Everything /admin shows, gathered at request time; no secret, key, token or argument value is in it. */
export async function adminStatus(src: StatusSources): Promise<AdminStatus> {
  const resumes = new Map(
    (await src.metrics.upstreamResumes.get()).values.map((v) => [String(v.labels.upstream), v.value]),
  );
  const fed = src.federation;
  const grants = await Promise.all(
    fed.upstreams.map((u) => u.userOAuth?.grantCount().catch(() => null) ?? Promise.resolve(null)),
  );
  return {
    generatedAt: new Date().toISOString(),
    uptimeSeconds: Math.round((Date.now() - src.startedAt) / 1000),
    configVersion: src.configVersion(),
    lastReload: src.lastReload() ?? null,
    upstreams: fed.upstreams.map((u, i) => ({
      name: u.name,
      state: u.state,
      era: u.era ?? null,
      transport: u.config.transport,
      sessionMode: sessionMode(u),
      required: u.config.required,
      tools: u.lists.tools.length,
      prompts: u.lists.prompts.length,
      resources: u.lists.resources.length + u.lists.resourceTemplates.length,
      lastError: u.lastError ?? null,
      reconnects: Math.max(0, u.readyCount - 1),
      resumes: resumes.get(u.name) ?? 0,
      identity: u.actsForCaller ? 'caller' : 'service',
      grants: grants[i] ?? null,
      ...src.stats.upstream(u.name),
    })),
    catalog: {
      entries: catalogEntries(fed.catalog, fed.config.namespace.separator),
      collisions: [...fed.catalog.collisions],
    },
    calls: src.stats.calls(),
    decisions: src.stats.decisions(),
  };
}

function catalogEntries(catalog: Catalog, separator: string): CatalogEntry[] {
  const out: CatalogEntry[] = [];
  const named = (kind: 'tool' | 'prompt', name: string) => {
    const route = kind === 'tool' ? catalog.resolveTool(name) : catalog.resolvePrompt(name);
    if (!route) return;
    const { prefix } = route.upstream.config;
    const plain = prefix === '' ? route.name : `${prefix}${separator}${route.name}`;
    out.push({
      kind,
      name,
      upstream: route.upstream.name,
      upstreamName: route.name,
      shortened: name !== plain,
    });
  };
  for (const t of catalog.tools) named('tool', t.name);
  for (const p of catalog.prompts) named('prompt', p.name);
  const routed = (kind: 'resource' | 'template', name: string, route: Route | undefined) => {
    if (route)
      out.push({ kind, name, upstream: route.upstream.name, upstreamName: route.name, shortened: false });
  };
  for (const r of catalog.resources) routed('resource', r.uri, catalog.resolveResource(r.uri));
  for (const t of catalog.resourceTemplates)
    routed('template', t.uriTemplate, catalog.resolveTemplateOwner(t.uriTemplate));
  return out;
}
