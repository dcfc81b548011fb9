import { ProxyError } from '../errors.ts';

/**
 * Opaque cursor over a merged list: the list kind, the catalog version it was cut from, and the
 * offset. A list_changed bumps the version, so an old cursor fails cleanly instead of skipping or
 * repeating entries. The merged catalog holds every upstream's complete list (the proxy follows
 * upstream cursors when it lists), so one offset is every upstream's position at once.
 */
export function encodeCursor(kind: string, version: number, offset: number): string {
  return Buffer.from(`${kind}:${version}:${offset}`).toString('base64url');
}

export function decodeCursor(cursor: string, kind: string, version: number): number {
  const [k, v, o] = Buffer.from(cursor, 'base64url').toString('utf8').split(':');
  const offset = Number(o);
  if (k !== kind || !Number.isInteger(offset) || offset < 0 || v === undefined) {
    throw new ProxyError('INVALID_CURSOR', 'invalid cursor');
  }
  if (Number(v) !== version) {
    throw new ProxyError(
      'INVALID_CURSOR',
      'the catalog changed since this cursor was issued: list again from the start',
      {
        stale: true,
      },
    );
  }
  return offset;
}

export function paginate<T>(
  items: readonly T[],
  kind: string,
  version: number,
  cursor: string | undefined,
  pageSize: number,
): { page: T[]; nextCursor?: string } {
  const start = cursor === undefined ? 0 : decodeCursor(cursor, kind, version);
  const end = start + pageSize;
  const page = items.slice(start, end);
  return end < items.length ? { page, nextCursor: encodeCursor(kind, version, end) } : { page };
}
