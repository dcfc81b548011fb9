import { describe, expect, it } from 'vitest';
import { Catalog } from '../../src/catalog/catalog.ts';
import { silentLogger } from '../../src/log.ts';
import { Tracing } from '../../src/telemetry/tracing.ts';
import type { Upstream } from '../../src/upstream/upstream.ts';
import { emptyLists, type UpstreamLists } from '../../src/upstream/upstream-lists.ts';

function upstream(name: string, lists: Partial<UpstreamLists>): Upstream {
  return {
    name,
    state: 'ready',
    config: { name, prefix: name, expose: { tools: ['*'], prompts: ['*'], resources: ['*'], exclude: [] } },
    lists: { ...emptyLists(), ...lists },
  } as unknown as Upstream;
}

const hops = (n: number) => ({ _meta: { 'mcp-fed/hops': n, vendor: 'kept' } });

describe('Catalog hop stamps (chained proxies)', () => {
  it('stamps every entry with the proxies it crossed and drops what would exceed maxHops', () => {
    const up = upstream('core', {
      tools: [
        { name: 'plain', inputSchema: { type: 'object' } },
        { name: 'x__deep', inputSchema: { type: 'object' }, ...hops(2) },
        { name: 'x__y__z__too_deep', inputSchema: { type: 'object' }, ...hops(3) },
      ],
      prompts: [{ name: 'p', ...hops(3) }],
      resources: [
        { uri: 'r://ok', name: 'ok', ...hops(1) },
        { uri: 'r://far', name: 'far', ...hops(3) },
      ],
      resourceTemplates: [{ uriTemplate: 't://{id}', name: 't', ...hops(3) }],
    });
    const c = new Catalog({ separator: '__', maxLength: 64 }, silentLogger, 3);
    c.rebuild([up]);
    expect(c.tools.map((t) => [t.name, t._meta?.['mcp-fed/hops']])).toEqual([
      ['core__plain', 1],
      ['core__x__deep', 3],
    ]);
    expect(c.tools[1]?._meta?.vendor).toBe('kept');
    expect(c.resolveTool('core__x__y__z__too_deep')).toBeUndefined();
    expect(c.prompts).toEqual([]);
    expect(c.resources.map((r) => [r.uri, r._meta?.['mcp-fed/hops']])).toEqual([['r://ok', 2]]);
    expect(c.resourceTemplates).toEqual([]);
  });
});

describe('Tracing', () => {
  it('is absent (no provider, no spans) without telemetry.otlpEndpoint', () => {
    expect(Tracing.create({ serviceName: 'mcp-fed' }, silentLogger)).toBeUndefined();
  });
});
