import { appendFileSync, closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** Where audit lines go. `write` is called with whole batches of lines; `close` releases the target. */
export interface AuditSink {
  readonly name: string;
  write(chunk: string): void;
  close(): Promise<void>;
}

/**
 * A JSON Lines file, appended. Writes are synchronous: batches are small and written off the request
 * path, and a record handed to `write` is in the kernel before the process can exit, which is what
 * "no record lost on a graceful stop" needs. Lines written after `close` are appended by path.
 */
export function fileSink(path: string): AuditSink {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'a', 0o600);
  let closed = false;
  return {
    name: `file ${path}`,
    write(chunk) {
      // A call that outlived the shutdown is still recorded.
      if (closed) return appendFileSync(path, chunk, { mode: 0o600 });
      const buf = Buffer.from(chunk, 'utf8');
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    },
    async close() {
      if (closed) return;
      closed = true;
      closeSync(fd);
    },
  };
}

/**
 * stdout (or stderr, for `mcp-fed stdio`, whose stdout is the protocol). Node writes to files and
 * pipes synchronously on Linux; `close` still waits for anything queued (a TTY, a full pipe) to drain.
 */
export function streamSink(stream: NodeJS.WriteStream, name: string): AuditSink {
  return {
    name,
    write(chunk) {
      stream.write(chunk);
    },
    close() {
      if (!stream.writableNeedDrain) return Promise.resolve();
      return new Promise((resolve) => {
        stream.once('drain', resolve);
        stream.once('error', resolve);
      });
    },
  };
}
