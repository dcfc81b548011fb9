/** One dispatched `text/event-stream` event (WHATWG HTML, "Server-sent events", interpretation rules). */
export interface SseEvent {
  /** The event type; "message" when the stream named none. */
  event: string;
  /** The data lines joined with "\n" (never empty: an event without data is not dispatched). */
  data: string;
  /** The last event id in force when this event was dispatched ("" when none was ever set). */
  id: string;
  /** Whether this event's own lines set the id (only such ids identify the event, e.g. for de-duplication). */
  ownId: boolean;
}

/**
 * Incremental `text/event-stream` reader, as the SSE standard defines it: lines end in LF, CR or CRLF;
 * `data:` lines accumulate, joined with "\n"; `id:` sets the last event id (kept even when the event
 * has no data, which is how the 2025-11-25 priming event of SEP-1699 works); `retry:` with digits only
 * sets the reconnection delay; `event:` names the type; lines starting with ":" are comments; an
 * event whose data is empty is not dispatched. `lastEventId` and `retryMs` are what a resumption
 * (GET + Last-Event-ID after the delay) needs.
 */
export class SseReader {
  lastEventId = '';
  retryMs: number | undefined;
  private buffer = '';
  private data = '';
  private hasData = false;
  private type = '';
  private idInEvent = false;
  /** A chunk ended in CR: a following LF belongs to the same line end. */
  private pendingCr = false;
  private first = true;

  constructor(private readonly onEvent: (event: SseEvent) => void) {}

  push(chunk: string): void {
    if (this.first && chunk.length > 0) {
      this.first = false;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    if (this.pendingCr && chunk.charCodeAt(0) === 10) chunk = chunk.slice(1);
    this.pendingCr = false;
    let text = this.buffer + chunk;
    let start = 0;
    for (;;) {
      const lf = text.indexOf('\n', start);
      const cr = text.indexOf('\r', start);
      let end: number;
      if (lf === -1 && cr === -1) break;
      if (cr === -1 || (lf !== -1 && lf < cr)) end = lf;
      else end = cr;
      this.line(text.slice(start, end));
      if (text.charCodeAt(end) === 13) {
        if (end + 1 === text.length) {
          this.pendingCr = true;
          start = end + 1;
          break;
        }
        start = text.charCodeAt(end + 1) === 10 ? end + 2 : end + 1;
      } else start = end + 1;
    }
    text = text.slice(start);
    this.buffer = text;
  }

  private line(line: string): void {
    if (line === '') {
      this.dispatch();
      return;
    }
    if (line.charCodeAt(0) === 58) return; // ":" comment (keep-alives)
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    switch (field) {
      case 'data':
        this.data = this.hasData ? `${this.data}\n${value}` : value;
        this.hasData = true;
        break;
      case 'event':
        this.type = value;
        break;
      case 'id':
        if (!value.includes('\0')) {
          this.lastEventId = value;
          this.idInEvent = true;
        }
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retryMs = Number(value);
        break;
      // Any other field is ignored, as the standard says.
    }
  }

  private dispatch(): void {
    const { data, hasData, type, idInEvent } = this;
    this.idInEvent = false;
    this.data = '';
    this.hasData = false;
    this.type = '';
    // No data, or only an empty data line: nothing to dispatch (the priming event's id stays recorded).
    if (!hasData || data === '') return;
    this.onEvent({
      event: type || 'message',
      data,
      id: this.lastEventId,
      ownId: idInEvent && this.lastEventId !== '',
    });
  }
}
