import { describe, expect, it } from 'vitest';
import { globMatcher } from '../../src/catalog/glob.ts';
import { parseRoutedUri, publicName, routedUri } from '../../src/catalog/naming.ts';

const opts = { separator: '__', maxLength: 64 };

describe('publicName', () => {
  it('joins prefix, separator and name', () => {
    expect(publicName('github', 'create_issue', opts)).toBe('github__create_issue');
  });

  it('passes names unchanged with an empty prefix', () => {
    expect(publicName('', 'echo', opts)).toBe('echo');
  });

  it('shortens long names deterministically with a hash suffix, keeping them distinct', () => {
    const long = `a_${'x'.repeat(80)}`;
    const other = `a_${'x'.repeat(79)}y`;
    const one = publicName('svc', long, opts);
    expect(one).toHaveLength(64);
    expect(one).toMatch(/^svc__a_x+_[0-9a-f]{8}$/);
    expect(publicName('svc', long, opts)).toBe(one);
    expect(publicName('svc', other, opts)).not.toBe(one);
  });

  it('honours a smaller maxLength', () => {
    expect(publicName('p', 'y'.repeat(40), { separator: '__', maxLength: 32 })).toHaveLength(32);
  });

  it('replaces characters MCP does not allow in names', () => {
    expect(publicName('fs', 'read file/now', opts)).toBe('fs__read_file_now');
  });
});

describe('routed resource URIs', () => {
  it('round-trips any URI, templates included', () => {
    for (const uri of ['file:///a%20b.txt', 'content://notes/{id}', 'https://x.example/a?b=c#d']) {
      expect(parseRoutedUri(routedUri('up-1', uri))).toEqual({ upstream: 'up-1', uri });
    }
  });

  it('ignores URIs that are not routed', () => {
    expect(parseRoutedUri('content://readme')).toBeUndefined();
    expect(parseRoutedUri('mcp-fed:///x')).toBeUndefined();
  });
});

describe('globMatcher', () => {
  it('matches * and ? and nothing else', () => {
    const m = globMatcher(['everything__*', 'tools__ech?']);
    expect(m('everything__add')).toBe(true);
    expect(m('tools__echo')).toBe(true);
    expect(m('tools__echoes')).toBe(false);
    expect(m('xeverything__add')).toBe(false);
  });

  it('treats regex characters literally', () => {
    const m = globMatcher(['a.b(c)+']);
    expect(m('a.b(c)+')).toBe(true);
    expect(m('axb(c)')).toBe(false);
  });

  it('matches nothing without patterns', () => {
    expect(globMatcher([])('x')).toBe(false);
  });
});
