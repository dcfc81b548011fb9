import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, paginate } from '../../src/catalog/cursor.ts';
import { ProxyError } from '../../src/errors.ts';

const items = Array.from({ length: 25 }, (_, i) => i);

describe('paginate', () => {
  it('walks every item exactly once', () => {
    const seen: number[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const { page, nextCursor } = paginate(items, 'tools', 3, cursor, 10);
      seen.push(...page);
      cursor = nextCursor;
      pages++;
    } while (cursor);
    expect(seen).toEqual(items);
    expect(pages).toBe(3);
  });

  it('gives no cursor when everything fits', () => {
    expect(paginate(items, 'tools', 1, undefined, 100).nextCursor).toBeUndefined();
  });

  it('rejects a cursor cut from an older catalog version', () => {
    const cursor = encodeCursor('tools', 3, 10);
    expect(() => paginate(items, 'tools', 4, cursor, 10)).toThrow(/catalog changed/);
  });

  it('rejects a cursor of another list kind or garbage', () => {
    expect(() => decodeCursor(encodeCursor('prompts', 1, 0), 'tools', 1)).toThrow(ProxyError);
    expect(() => decodeCursor('%%%not-base64', 'tools', 1)).toThrow(/invalid cursor/);
    expect(() => decodeCursor(encodeCursor('tools', 1, -5), 'tools', 1)).toThrow(/invalid cursor/);
  });

  it('is opaque', () => {
    expect(encodeCursor('tools', 1, 10)).toMatch(/^[A-Za-z0-9_-]+$/);
  });
});
