/**
 * Incremental `text/event-stream` parser: feed it chunks, it calls back with each event's data.
 * Only `data:` fields matter to MCP (event names are always "message"; ids/retry are for resumption,
 * which the proxy does not use on the per-request streams it reads).
 */
export class SseParser {
  private buffer = '';
  private data: string[] = [];

  constructor(private readonly onData: (data: string) => void) {}

  push(chunk: string): void {
    this.buffer += chunk;
    let nl = this.buffer.indexOf('\n');
    while (nl !== -1) {
      let line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line === '') {
        if (this.data.length) this.onData(this.data.join('\n'));
        this.data = [];
      } else if (line.startsWith('data:')) {
        this.data.push(line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5));
      }
      nl = this.buffer.indexOf('\n');
    }
  }
}
