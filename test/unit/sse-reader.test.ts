/** The SSE reader against the examples of the SSE standard (WHATWG HTML 9.2) and what MCP servers send. */
import { describe, expect, it } from 'vitest';
import { type SseEvent, SseReader } from '../../src/upstream/http/sse-reader.ts';

function read(chunks: string[]): { events: SseEvent[]; reader: SseReader } {
  const events: SseEvent[] = [];
  const reader = new SseReader((e) => events.push(e));
  for (const c of chunks) reader.push(c);
  return { events, reader };
}

describe('SseReader', () => {
  it("joins multi-line data with newlines and ignores comments (the standard's stock-ticker example)", () => {
    const { events } = read([
      ': test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n',
    ]);
    expect(events.map((e) => [e.data, e.id])).toEqual([
      ['first event', '1'],
      ['second event', ''],
      [' third event', ''],
    ]);
  });

  it('dispatches an event per blank line, and none for an empty or missing data buffer', () => {
    const { events } = read(['data\n\ndata\ndata\n\ndata:\n']);
    // "data" alone is an empty data line: the first block dispatches nothing, the second "\n".
    expect(events.map((e) => e.data)).toEqual(['\n']);
  });

  it('reads the SEP-1699 priming event as no message but keeps its id and retry for resumption', () => {
    const { events, reader } = read(['id: stream-1_0\nretry: 250\ndata:\n\n']);
    expect(events).toEqual([]);
    expect(reader.lastEventId).toBe('stream-1_0');
    expect(reader.retryMs).toBe(250);
  });

  it("carries the last id over to later events, marking only an event's own id as its identity", () => {
    const { events } = read(['id: 7\ndata: {"a":1}\n\ndata: {"b":2}\n\n']);
    expect(events.map((e) => [e.id, e.ownId])).toEqual([
      ['7', true],
      ['7', false],
    ]);
  });

  it('accepts LF, CR and CRLF line ends, also split across chunks, and a leading BOM', () => {
    const { events } = read(['\ufeffdata: a\r', '\ndata: b\r\r', 'data: c\n', '\n']);
    expect(events.map((e) => e.data)).toEqual(['a\nb', 'c']);
  });

  it('names the event type when given, "message" otherwise; ignores unknown fields and bad retry values', () => {
    const { events, reader } = read(['event: ping\ndata: x\nfoo: bar\nretry: 1s\n\ndata: y\n\n']);
    expect(events.map((e) => [e.event, e.data])).toEqual([
      ['ping', 'x'],
      ['message', 'y'],
    ]);
    expect(reader.retryMs).toBeUndefined();
  });

  it('keeps a partial event until its blank line arrives (a stream cut after an id dispatches nothing)', () => {
    const { events, reader } = read(['id: 3\ndata: {"jsonrpc":"2.0","id":1,', '"result":{}}']);
    expect(events).toEqual([]);
    expect(reader.lastEventId).toBe('3');
    reader.push('\n\n');
    expect(events.map((e) => e.data)).toEqual(['{"jsonrpc":"2.0","id":1,"result":{}}']);
  });

  it('ignores an id containing NUL, as the standard says', () => {
    const { reader } = read(['id: 1\n\nid: a\0b\ndata: x\n\n']);
    expect(reader.lastEventId).toBe('1');
  });
});
