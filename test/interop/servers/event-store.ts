import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

type EventId = string;
type StreamId = string;

/**
 * The SDK v1 `EventStore` interface (storeEvent / replayEventsAfter), in memory: event ids are
 * `<streamId>::<seq>`, so a Last-Event-ID names its stream and replay sends only that stream's later
 * events. The SDK stores the priming event (an empty `{}`) too; replay skips those.
 */
export class InMemoryEventStore {
  private seq = 0;
  private readonly events = new Map<StreamId, { id: EventId; message: JSONRPCMessage }[]>();

  /** `maxStreams`: keep the events of the newest N streams only (a long bench run); unbounded by default. */
  constructor(private readonly maxStreams = Number.POSITIVE_INFINITY) {}

  async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    const id = `${streamId}::${++this.seq}`;
    const list = this.events.get(streamId) ?? [];
    list.push({ id, message });
    this.events.set(streamId, list);
    // A Map iterates in insertion order: the first keys are the oldest streams.
    for (const oldest of this.events.keys()) {
      if (this.events.size <= this.maxStreams) break;
      this.events.delete(oldest);
    }
    return id;
  }

  async getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
    const cut = eventId.lastIndexOf('::');
    return cut > 0 ? eventId.slice(0, cut) : undefined;
  }

  async replayEventsAfter(
    lastEventId: EventId,
    { send }: { send: (eventId: EventId, message: JSONRPCMessage) => Promise<void> },
  ): Promise<StreamId> {
    const streamId = await this.getStreamIdForEventId(lastEventId);
    if (streamId === undefined) throw new Error(`unknown event id ${lastEventId}`);
    const list = this.events.get(streamId) ?? [];
    const at = list.findIndex((e) => e.id === lastEventId);
    for (const event of list.slice(at + 1)) {
      if (Object.keys(event.message).length === 0) continue;
      await send(event.id, event.message);
    }
    return streamId;
  }
}
