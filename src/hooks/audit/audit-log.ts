import type { Logger } from '../../log.ts';
import type { CallRecord } from '../../router/federation.ts';
import { AuditChain } from './chain.ts';
import { auditRecord, type RecordOptions } from './record.ts';
import type { AuditSink } from './sink.ts';

const FLUSH_MS = 25;
const FLUSH_RECORDS = 256;

/**
 * The buffered audit writer. On the request path `observe` only queues the finished call (no
 * hashing, no JSON, no I/O); a timer (or a full batch) formats and writes them in one go. `close`
 * writes what is queued before it resolves, and a record that still arrives afterwards (a call that
 * outlived the shutdown) is written at once, so a graceful stop loses none.
 */
export class AuditLog {
  private queue: { rec: CallRecord; endedAt: number }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private failures = 0;
  private readonly chain: AuditChain;
  private segmentOpened = false;

  constructor(
    private readonly sink: AuditSink,
    private readonly log: Logger,
    private readonly opts: RecordOptions,
    /** The hash of the sink's last line (a file's), which this process's segment continues. */
    lastHash = '',
  ) {
    this.chain = new AuditChain(opts.key, lastHash);
  }

  /** The hash of the last line written (an auditor saves it to find a removed tail: `--expect-last`). */
  get lastHash(): string {
    return this.chain.last;
  }

  readonly observe = (rec: CallRecord): void => {
    this.queue.push({ rec, endedAt: Date.now() });
    if (this.closed || this.queue.length >= FLUSH_RECORDS) {
      this.flush();
      return;
    }
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), FLUSH_MS);
      this.timer.unref();
    }
  };

  /** Formats and writes every queued record now. */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    let text = '';
    if (!this.segmentOpened) {
      // A segment record opens each process's part of the sink (with its first records, so a process
      // that records nothing writes nothing): a restart continues the chain.
      this.segmentOpened = true;
      const start = {
        segment_start: true,
        timestamp: new Date().toISOString(),
        config_version: this.opts.configVersion,
      };
      text += `${this.chain.seal(start)}\n`;
    }
    for (const { rec, endedAt } of batch) {
      try {
        text += `${this.chain.seal(auditRecord(rec, endedAt, this.opts))}\n`;
      } catch (err) {
        // Arguments JSON cannot serialise (never for parsed JSON); the record still says the call happened.
        this.log.error({ err: (err as Error).message }, 'audit record could not be formatted');
      }
    }
    this.write(text, batch.length);
    this.log.debug({ last_hash: this.chain.last }, 'audit flushed');
  }

  private write(text: string, records: number): void {
    try {
      this.sink.write(text);
    } catch (err) {
      // The log says how many were lost, never what they held (a verify run shows where the chain broke).
      this.failures++;
      this.log.error(
        { err: (err as Error).message, sink: this.sink.name, records, failures: this.failures },
        'audit write failed',
      );
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.flush();
    this.log.info({ sink: this.sink.name, last_hash: this.chain.last }, 'audit log closed');
    await this.sink.close();
  }
}
