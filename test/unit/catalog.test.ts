import { describe, expect, it } from 'vitest';
import { Catalog } from '../../src/catalog/catalog.ts';
import { silentLogger } from '../../src/log.ts';
import type { Upstream } from '../../src/upstream/upstream.ts';
import { emptyLists, type UpstreamLists } from '../../src/upstream/upstream-lists.ts';

/** The parts of an Upstream the catalog reads; the rest of the class is about connections. */
function upstream(
  name: string,
  lists: Partial<UpstreamLists>,
  extra: Record<string, unknown> = {},
): Upstream {
  return {
    name,
    state: 'ready',
    config: {
      name,
      prefix: name,
      expose: { tools: ['*'], prompts: ['*'], resources: ['*'], exclude: [] },
      ...extra,
    },
    lists: { ...emptyLists(), ...lists },
  } as unknown as Upstream;
}

const tool = (name: string) => ({ name, inputSchema: { type: 'object' as const } });

describe('Catalog', () => {
  it('namespaces tools and prompts and routes them back', () => {
    const a = upstream('a', { tools: [tool('echo')], prompts: [{ name: 'hi' }] });
    const b = upstream('b', { tools: [tool('echo')] });
    const c = new Catalog({ separator: '__', maxLength: 64 }, silentLogger);
    c.rebuild([a, b]);
    expect(c.tools.map((t) => t.name)).toEqual(['a__echo', 'b__echo']);
    expect(c.resolveTool('b__echo')).toEqual({ upstream: b, name: 'echo' });
    expect(c.resolvePrompt('a__hi')).toEqual({ upstream: a, name: 'hi' });
    expect(c.resolveTool('echo')).toBeUndefined();
  });

  it('reports a collision instead of letting one side win silently', () => {
    const a = upstream('a', { tools: [tool('echo')] }, { prefix: '' });
    const b = upstream('b', { tools: [tool('echo')] }, { prefix: '' });
    const c = new Catalog({ separator: '__', maxLength: 64 }, silentLogger);
    c.rebuild([a, b]);
    expect(c.tools).toHaveLength(1);
    expect(c.collisions[0]).toMatch(/"echo" is exposed by "a" and "b"/);
  });

  it('leaves out upstreams that are not ready and entries `expose` trims', () => {
    const down = { ...upstream('d', { tools: [tool('x')] }), state: 'down' } as unknown as Upstream;
    const trimmed = upstream(
      't',
      { tools: [tool('keep'), tool('drop_me'), tool('other')] },
      {
        expose: { tools: ['keep', 'drop*'], prompts: ['*'], resources: ['*'], exclude: ['drop*'] },
      },
    );
    const c = new Catalog({ separator: '__', maxLength: 64 }, silentLogger);
    c.rebuild([down, trimmed]);
    expect(c.tools.map((t) => t.name)).toEqual(['t__keep']);
  });

  it('keeps resource URIs, and makes only colliding ones distinct', () => {
    const a = upstream('a', {
      resources: [
        { uri: 'file:///same', name: 's' },
        { uri: 'a://only', name: 'o' },
      ],
      resourceTemplates: [{ uriTemplate: 'notes://{id}', name: 'n' }],
    });
    const b = upstream('b', { resources: [{ uri: 'file:///same', name: 's' }] });
    const c = new Catalog({ separator: '__', maxLength: 64 }, silentLogger);
    c.rebuild([a, b]);
    expect(c.resources.map((r) => r.uri)).toEqual([
      'mcp-fed://a/file:///same',
      'a://only',
      'mcp-fed://b/file:///same',
    ]);
    expect(c.resolveResource('mcp-fed://b/file:///same')).toEqual({ upstream: b, name: 'file:///same' });
    expect(c.resolveResource('a://only')).toEqual({ upstream: a, name: 'a://only' });
    expect(c.resolveResource('notes://42')).toEqual({ upstream: a, name: 'notes://42' });
    expect(c.resolveResource('unknown://x')).toBeUndefined();
    expect(c.publicResourceUri(b, 'file:///same')).toBe('mcp-fed://b/file:///same');
    expect(c.publicResourceUri(a, 'a://only')).toBe('a://only');
  });

  it('bumps its version on every rebuild (cursors use it)', () => {
    const c = new Catalog({ separator: '__', maxLength: 64 }, silentLogger);
    const v = c.version;
    c.rebuild([]);
    expect(c.version).toBe(v + 1);
  });
});
