import {
  type Prompt,
  type Resource,
  type ResourceTemplateType as ResourceTemplate,
  type Tool,
  UriTemplate,
} from '@modelcontextprotocol/server';
import type { Logger } from '../log.ts';
import { HOPS_META_KEY } from '../upstream/correlation.ts';
import type { Upstream } from '../upstream/upstream.ts';
import { globMatcher } from './glob.ts';
import { type NamingOptions, parseRoutedUri, publicName, routedUri } from './naming.ts';

/** Where a public entry lives upstream. */
export interface Route {
  upstream: Upstream;
  /** The upstream's own name (tools, prompts) or URI (resources). */
  name: string;
  /** A tool's annotations (Cedar reads them). */
  annotations?: Record<string, unknown>;
}

interface TemplateRoute {
  upstream: Upstream;
  raw: string;
  template: UriTemplate;
}

/**
 * The merged, namespaced view over every ready upstream. Rebuilt as a whole whenever one
 * upstream's lists change (cheap next to a network round trip), so readers always see one
 * consistent version; `version` increments on every rebuild and invalidates list cursors.
 */
export class Catalog {
  version = 0;
  tools: Tool[] = [];
  prompts: Prompt[] = [];
  resources: Resource[] = [];
  resourceTemplates: ResourceTemplate[] = [];
  /** Name collisions found in the last rebuild, reported in the log and by `check`. */
  collisions: string[] = [];
  private toolRoutes = new Map<string, Route>();
  private promptRoutes = new Map<string, Route>();
  private resourceRoutes = new Map<string, Route>();
  /**
   * Routes of upstreams that are down, as last seen: their entries leave the lists, but a call to one
   * still routes (ACL and audit see its upstream) and fails with UPSTREAM_UNAVAILABLE, not UNKNOWN_TOOL.
   */
  private downRoutes = new Map<string, Route>();
  private templateRoutes: TemplateRoute[] = [];
  private upstreamsByName = new Map<string, Upstream>();
  /** Upstreams with a template another upstream also claims: their resources are addressed by routed URI. */
  private routedTemplates = new Map<Upstream, UriTemplate[]>();

  constructor(
    private readonly naming: NamingOptions,
    private readonly log: Logger,
    /** `chain.maxHops`: entries that already crossed this many proxies are dropped (a loop ends here). */
    private readonly maxHops = 8,
  ) {}

  rebuild(upstreams: readonly Upstream[]): void {
    const tools: Tool[] = [];
    const prompts: Prompt[] = [];
    const toolRoutes = new Map<string, Route>();
    const promptRoutes = new Map<string, Route>();
    const collisions: string[] = [];
    const uriOwners = new Map<string, Upstream[]>();
    const templateOwners = new Map<string, Upstream[]>();
    const overHops: string[] = [];
    this.upstreamsByName = new Map(upstreams.map((u) => [u.name, u]));

    for (const up of upstreams) {
      if (up.state !== 'ready') continue;
      const { expose } = up.config;
      const exclude = globMatcher(expose.exclude);
      const showTool = globMatcher(expose.tools);
      const showPrompt = globMatcher(expose.prompts);
      const showResource = globMatcher(expose.resources);
      const named = { prefix: up.config.prefix, exclude, upstream: up, collisions, overHops };
      this.addNamed('tool', up.lists.tools, showTool, toolRoutes, tools, named);
      this.addNamed('prompt', up.lists.prompts, showPrompt, promptRoutes, prompts, named);
      for (const r of up.lists.resources) {
        if (!showResource(r.uri) || exclude(r.uri)) continue;
        if (entryHops(r) + 1 > this.maxHops) overHops.push(`${up.name}: ${r.uri}`);
        else pushOwner(uriOwners, r.uri, up);
      }
      for (const t of up.lists.resourceTemplates) {
        if (!showResource(t.uriTemplate) || exclude(t.uriTemplate)) continue;
        if (entryHops(t) + 1 > this.maxHops) overHops.push(`${up.name}: ${t.uriTemplate}`);
        else pushOwner(templateOwners, t.uriTemplate, up);
      }
    }

    // Resources keep their URIs; only a URI (or template) two upstreams both claim is made distinct.
    const resources: Resource[] = [];
    const resourceRoutes = new Map<string, Route>();
    const resourceTemplates: ResourceTemplate[] = [];
    const templateRoutes: TemplateRoute[] = [];
    const routedTemplates = new Map<Upstream, UriTemplate[]>();
    for (const up of upstreams) {
      if (up.state !== 'ready') continue;
      for (const r of up.lists.resources) {
        const owners = uriOwners.get(r.uri);
        if (!owners?.includes(up)) continue;
        const uri = owners.length > 1 ? routedUri(up.name, r.uri) : r.uri;
        resourceRoutes.set(uri, { upstream: up, name: r.uri });
        resources.push(stampHops({ ...r, uri }, entryHops(r) + 1));
      }
      for (const t of up.lists.resourceTemplates) {
        const owners = templateOwners.get(t.uriTemplate);
        if (!owners?.includes(up)) continue;
        const uriTemplate = owners.length > 1 ? routedUri(up.name, t.uriTemplate) : t.uriTemplate;
        if (owners.length > 1) pushOwner(routedTemplates, up, new UriTemplate(t.uriTemplate));
        else
          templateRoutes.push({ upstream: up, raw: t.uriTemplate, template: new UriTemplate(t.uriTemplate) });
        resourceTemplates.push(stampHops({ ...t, uriTemplate }, entryHops(t) + 1));
      }
    }

    for (const c of collisions) this.log.warn({ collision: c }, 'name collision: second entry hidden');
    if (overHops.length > 0)
      this.log.warn(
        { code: 'HOP_LIMIT', maxHops: this.maxHops, dropped: overHops.length, example: overHops[0] },
        'HOP_LIMIT: catalog entries that crossed too many proxies dropped (proxies listing each other?)',
      );
    this.tools = tools;
    this.prompts = prompts;
    this.resources = resources;
    this.resourceTemplates = resourceTemplates;
    this.downRoutes = this.keepDownRoutes(upstreams);
    this.toolRoutes = toolRoutes;
    this.promptRoutes = promptRoutes;
    this.resourceRoutes = resourceRoutes;
    this.templateRoutes = templateRoutes;
    this.routedTemplates = routedTemplates;
    this.collisions = collisions;
    this.version++;
  }

  /** Adds one upstream's tools or prompts under their public names; a taken name is a reported collision. */
  private addNamed<T extends { name: string }>(
    kind: 'tool' | 'prompt',
    entries: readonly T[],
    show: (name: string) => boolean,
    routes: Map<string, Route>,
    out: T[],
    ctx: {
      prefix: string;
      exclude: (name: string) => boolean;
      upstream: Upstream;
      collisions: string[];
      overHops: string[];
    },
  ): void {
    for (const entry of entries) {
      if (!show(entry.name) || ctx.exclude(entry.name)) continue;
      const hops = entryHops(entry) + 1;
      if (hops > this.maxHops) {
        ctx.overHops.push(`${ctx.upstream.name}: ${entry.name}`);
        continue;
      }
      const name = publicName(ctx.prefix, entry.name, this.naming);
      const taken = routes.get(name);
      if (taken) {
        ctx.collisions.push(
          `${kind} "${name}" is exposed by "${taken.upstream.name}" and "${ctx.upstream.name}"`,
        );
        continue;
      }
      const annotations = (entry as { annotations?: Record<string, unknown> }).annotations;
      routes.set(
        name,
        annotations
          ? { upstream: ctx.upstream, name: entry.name, annotations }
          : { upstream: ctx.upstream, name: entry.name },
      );
      out.push(stampHops({ ...entry, name }, hops));
    }
  }

  resolveTool(name: string): Route | undefined {
    return this.toolRoutes.get(name) ?? this.downRoutes.get(`tool\0${name}`);
  }

  resolvePrompt(name: string): Route | undefined {
    return this.promptRoutes.get(name) ?? this.downRoutes.get(`prompt\0${name}`);
  }

  /** The tool, prompt and resource routes of upstreams not ready now, from the catalog being replaced. */
  private keepDownRoutes(upstreams: readonly Upstream[]): Map<string, Route> {
    const down = new Set(upstreams.filter((u) => u.state !== 'ready'));
    const kept = new Map<string, Route>();
    if (down.size === 0) return kept;
    const keep = (kind: string, routes: Map<string, Route>) => {
      for (const [name, route] of routes) if (down.has(route.upstream)) kept.set(`${kind}\0${name}`, route);
    };
    keep('tool', this.toolRoutes);
    keep('prompt', this.promptRoutes);
    keep('resource', this.resourceRoutes);
    for (const [key, route] of this.downRoutes)
      if (down.has(route.upstream) && !kept.has(key)) kept.set(key, route);
    return kept;
  }

  /** The URI a client knows for `uri` of `up`: unchanged unless two upstreams claim it. */
  publicResourceUri(up: Upstream, uri: string): string {
    if (this.resourceRoutes.get(uri)?.upstream === up) return uri;
    const routed = routedUri(up.name, uri);
    if (this.resourceRoutes.has(routed)) return routed;
    const collided = this.routedTemplates.get(up);
    return collided?.some((t) => t.match(uri) !== null) ? routed : uri;
  }

  /** For completion: the upstream owning a (public) resource template URI. */
  resolveTemplateOwner(publicTemplate: string): Route | undefined {
    const routed = parseRoutedUri(publicTemplate);
    if (routed) {
      const upstream = this.upstreamsByName.get(routed.upstream);
      return upstream ? { upstream, name: routed.uri } : undefined;
    }
    const owner = this.templateRoutes.find((t) => t.raw === publicTemplate);
    return owner ? { upstream: owner.upstream, name: publicTemplate } : undefined;
  }

  /**
   * A name for a resource URI that is safe to log, audit and use as a metric label, public and upstream
   * side: the URI itself when it is a listed resource, else the template it matches (a URI expanded from
   * a template carries values, possibly personal ones). Undefined when neither applies.
   */
  resourceLabel(uri: string): { public: string; upstream: string } | undefined {
    const listed = this.resourceRoutes.get(uri);
    if (listed) return { public: uri, upstream: listed.name };
    const routed = parseRoutedUri(uri);
    if (routed) {
      const upstream = this.upstreamsByName.get(routed.upstream);
      const template =
        upstream && this.routedTemplates.get(upstream)?.find((t) => t.match(routed.uri) !== null);
      if (!upstream || !template) return undefined;
      return { public: routedUri(upstream.name, template.toString()), upstream: template.toString() };
    }
    const match = this.templateRoutes.find((t) => t.template.match(uri) !== null);
    return match ? { public: match.raw, upstream: match.raw } : undefined;
  }

  /**
   * Finds the upstream for a resource URI: a listed URI, an explicitly routed `mcp-fed://` URI, or
   * the one upstream whose template matches. Ambiguous matches resolve to nothing rather than guess.
   */
  resolveResource(uri: string): Route | undefined {
    const listed = this.resourceRoutes.get(uri);
    if (listed) return listed;
    const routed = parseRoutedUri(uri);
    if (routed) {
      const upstream = this.upstreamsByName.get(routed.upstream);
      return upstream ? { upstream, name: routed.uri } : undefined;
    }
    const matches = this.templateRoutes.filter((t) => t.template.match(uri) !== null);
    const owners = new Set(matches.map((m) => m.upstream));
    if (owners.size === 1) return { upstream: matches[0]!.upstream, name: uri };
    return this.downRoutes.get(`resource\0${uri}`);
  }
}

function pushOwner<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const owners = map.get(key);
  if (!owners) map.set(key, [value]);
  else if (!owners.includes(value)) owners.push(value);
}

/**
 * Proxies an entry crossed before reaching this one: what the upstream stamped in
 * `_meta["mcp-fed/hops"]` (0 for an entry a server lists itself).
 */
function entryHops(entry: object): number {
  const meta = (entry as { _meta?: Record<string, unknown> })._meta;
  const n = Number(meta?.[HOPS_META_KEY]);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

/** The entry as this proxy serves it: stamped with the proxies it crossed, this one included. */
function stampHops<T extends object>(entry: T, hops: number): T {
  const meta = (entry as { _meta?: Record<string, unknown> })._meta;
  return { ...entry, _meta: { ...meta, [HOPS_META_KEY]: hops } };
}
