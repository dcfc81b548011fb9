import { createHmac, randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync, statSync } from 'node:fs';

/** How a line ends: its `hash` member, the last one. */
const HASH_TAIL = /,"hash":"([0-9a-f]{64})"\}$/;

/** HMAC-SHA256 (hex) of `text` under `key`. */
export function hmac(key: Buffer, text: string): string {
  return createHmac('sha256', key).update(text).digest('hex');
}

/** `secrets.auditKey` as a key, or a random one (hashes then compare within this process only). */
export function auditKey(secret: string | undefined): { key: Buffer; generated: boolean } {
  return secret
    ? { key: Buffer.from(secret, 'utf8'), generated: false }
    : { key: randomBytes(32), generated: true };
}

/**
 * The hash chain of one audit sink (DESIGN.md, "Audit record"): each line is the record's JSON with
 * `prev_hash` (the line before's `hash`) and `hash` = HMAC(prev_hash + "\n" + the line without its
 * `hash` member) as its last members. Removing, editing or reordering a line breaks the chain there.
 */
export class AuditChain {
  constructor(
    private readonly key: Buffer,
    private prev = '',
  ) {}

  get last(): string {
    return this.prev;
  }

  /** The sealed line (no newline) of `record`, which must not hold `prev_hash` or `hash` yet. */
  seal(record: object): string {
    const body = JSON.stringify({ ...record, prev_hash: this.prev });
    const hash = hmac(this.key, `${this.prev}\n${body}`);
    this.prev = hash;
    return `${body.slice(0, -1)},"hash":"${hash}"}`;
  }
}

/** The `hash` of the last line of an audit file ('' when it has none), read from its tail only. */
export function lastHashOf(path: string): string {
  let fd: number | undefined;
  try {
    const size = statSync(path).size;
    if (size === 0) return '';
    const len = Math.min(size, 256 * 1024);
    const buf = Buffer.alloc(len);
    fd = openSync(path, 'r');
    readSync(fd, buf, 0, len, size - len);
    const lines = buf
      .toString('utf8')
      .split('\n')
      .filter((l) => l.trim() !== '');
    return HASH_TAIL.exec(lines.at(-1) ?? '')?.[1] ?? '';
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export type VerifyResult =
  | { ok: true; count: number; last: string }
  | { ok: false; line: number; problem: string };

/**
 * Walks an audit file's chain: the first line (1-based) that was altered, removed (before the last)
 * or reordered, or the count of lines verified and the last hash. `expectLast` (a hash the proxy
 * logged) also finds a removed tail.
 */
export function verifyAuditText(text: string, key: Buffer, expectLast?: string): VerifyResult {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  let prev = '';
  for (const [i, line] of lines.entries()) {
    const n = i + 1;
    const tail = HASH_TAIL.exec(line);
    if (!tail) return { ok: false, line: n, problem: 'altered: the line has no hash as its last member' };
    const body = `${line.slice(0, tail.index)}}`;
    let record: { prev_hash?: unknown };
    try {
      record = JSON.parse(line) as { prev_hash?: unknown };
    } catch {
      return { ok: false, line: n, problem: 'altered: not JSON' };
    }
    if (hmac(key, `${String(record.prev_hash ?? '')}\n${body}`) !== tail[1])
      return {
        ok: false,
        line: n,
        problem: 'altered: its hash does not match its content (or the key is not the one that wrote it)',
      };
    if (record.prev_hash !== prev)
      return {
        ok: false,
        line: n,
        problem:
          n === 1
            ? 'removed: the first lines are missing (prev_hash names a line before it)'
            : 'removed or reordered: prev_hash is not the hash of the line before it',
      };
    prev = tail[1]!;
  }
  if (expectLast !== undefined && prev !== expectLast)
    return {
      ok: false,
      line: lines.length + 1,
      problem: `removed: the file does not end at ${expectLast} (its tail is missing)`,
    };
  return { ok: true, count: lines.length, last: prev };
}
