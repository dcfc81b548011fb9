import type { Logger } from '../../log.ts';
import type { CallRecord } from '../../router/federation.ts';
import { auditRecord } from './record.ts';
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

  constructor(
    private readonly sink: AuditSink,
    private readonly log: Logger,
    /** Cedar is on: every record carries `policy_ids`. */
    private readonly cedar = false,
  ) {}

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
    for (const { rec, endedAt } of batch) {
      try {
        text += `${JSON.stringify(auditRecord(rec, endedAt, this.cedar))}\n`;
      } catch (err) {
        // Arguments JSON cannot serialise (never for parsed JSON); the record still says the call happened.
        this.log.error({ err: (err as Error).message }, 'audit record could not be formatted');
      }
    }
    try {
      this.sink.write(text);
    } catch (err) {
      // The log says how many were lost, never what they held.
      this.failures++;
      this.log.error(
        { err: (err as Error).message, sink: this.sink.name, records: batch.length, failures: this.failures },
        'audit write failed',
      );
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.flush();
    await this.sink.close();
  }
}
