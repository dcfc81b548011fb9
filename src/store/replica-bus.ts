import { randomUUID } from 'node:crypto';
import type { Cluster } from 'ioredis';
import type { StoreConfig } from '../config/schema.ts';
import type { Logger } from '../log.ts';
import { createRedisClient, isCluster, type RedisClient } from './redis-client.ts';

/**
 * A change to one 2025-era session's state that the replicas holding a live copy of it must apply:
 * today its full resource subscription set (sent whole, so a lost or reordered message heals on the next).
 */
export interface ReplicaMessage {
  session: string;
  subscriptions: string[];
}

/**
 * Carries session changes between replicas. A replica never receives its own messages (it applied the
 * change already). Delivery is best effort (pub/sub): the session record stays the source of truth,
 * read again whenever a replica rebuilds the session. Never used on the tools/call path.
 */
export interface ReplicaBus {
  /** This replica's id on the bus (random per process). */
  readonly replicaId: string;
  publish(msg: ReplicaMessage): Promise<void>;
  onMessage(handler: (msg: ReplicaMessage) => void): void;
  /**
   * Sends to one replica (the one holding an input exchange). Resolves false when no replica by that
   * id listens: it is gone, and so is what it held.
   */
  sendTo(replica: string, msg: DirectMessage): Promise<boolean>;
  onDirect(handler: (msg: DirectMessage) => void): void;
  /**
   * Sends to every other replica (one that must find who holds something, e.g. the call in flight an
   * upstream's request belongs to). Resolves with how many other replicas listen (0: none to ask).
   */
  broadcast(msg: DirectMessage): Promise<number>;
  onBroadcast(handler: (msg: DirectMessage) => void): void;
  close(): Promise<void>;
}

/** A message for one replica; `kind` says which part of it handles the message. */
export interface DirectMessage {
  kind: string;
  [field: string]: unknown;
}

/** One process: there is no other replica; a message to itself is delivered locally. */
export class MemoryReplicaBus implements ReplicaBus {
  readonly replicaId = randomUUID();
  private readonly direct: Array<(msg: DirectMessage) => void> = [];
  async publish(_msg: ReplicaMessage): Promise<void> {}
  onMessage(_handler: (msg: ReplicaMessage) => void): void {}
  async sendTo(replica: string, msg: DirectMessage): Promise<boolean> {
    if (replica !== this.replicaId) return false;
    queueMicrotask(() => {
      for (const h of this.direct) h(msg);
    });
    return true;
  }
  onDirect(handler: (msg: DirectMessage) => void): void {
    this.direct.push(handler);
  }
  async broadcast(_msg: DirectMessage): Promise<number> {
    return 0;
  }
  onBroadcast(_handler: (msg: DirectMessage) => void): void {}
  async close(): Promise<void> {}
}

interface Envelope extends ReplicaMessage {
  from: string;
}

/**
 * Redis pub/sub on `<prefix>replica-bus`. Publishing uses the shared client; receiving needs a
 * dedicated connection (a subscribed connection can issue no other command), made from the same store
 * config, which resubscribes by itself after a reconnect.
 */
export class RedisReplicaBus implements ReplicaBus {
  private readonly id = randomUUID();
  private readonly channel: string;
  /** `<prefix>replica:<id>`: messages for this replica only. */
  private readonly own: string;
  private readonly prefix: string;
  private readonly sub: RedisClient;
  private readonly handlers: Array<(msg: ReplicaMessage) => void> = [];
  private readonly direct: Array<(msg: DirectMessage) => void> = [];
  private readonly broadcasts: Array<(msg: DirectMessage) => void> = [];

  constructor(
    private readonly pub: RedisClient,
    store: Extract<StoreConfig, { kind: 'redis' }>,
    private readonly log: Logger,
  ) {
    this.channel = `${store.keyPrefix}replica-bus`;
    this.prefix = `${store.keyPrefix}replica:`;
    this.own = `${this.prefix}${this.id}`;
    this.sub = createRedisClient(store, { subscriber: true });
    this.sub.on('error', (err: Error) => log.debug({ err: err.message }, 'replica bus connection error'));
    this.sub.on('message', (channel: string, raw: string) => this.receive(channel, raw));
    // On a cluster every channel is sharded pub/sub (SSUBSCRIBE/SPUBLISH): a classic PUBLISH reaches every
    // node but counts only the receivers on the node it was sent to, and `sendTo` and `broadcast` must
    // know how many replicas heard. A sharded channel lives on one node, so its count is exact.
    this.sub.on('smessage', (channel: string, raw: string) => this.receive(channel, raw));
    const sharded = isCluster(this.sub);
    // Without an offline queue a SUBSCRIBE sent before the connection is up fails: subscribe on every
    // (re)connect instead (a repeated SUBSCRIBE is harmless).
    this.sub.on('ready', () => {
      // Sharded channels of one SSUBSCRIBE must share a slot: one each.
      const subscribed = sharded
        ? Promise.all([this.channel, this.own].map((c) => (this.sub as Cluster).ssubscribe(c)))
        : this.sub.subscribe(this.channel, this.own);
      subscribed.catch((err: Error) => {
        log.debug({ err: err.message }, 'replica bus subscribe failed (retried on reconnect)');
      });
    });
  }

  /** PUBLISH, or SPUBLISH on a cluster; resolves with how many connections received it. */
  private async send(channel: string, text: string): Promise<number> {
    return Number(
      isCluster(this.pub) ? await this.pub.spublish(channel, text) : await this.pub.publish(channel, text),
    );
  }

  async publish(msg: ReplicaMessage): Promise<void> {
    const envelope: Envelope = { ...msg, from: this.id };
    await this.send(this.channel, JSON.stringify(envelope));
  }

  get replicaId(): string {
    return this.id;
  }

  onMessage(handler: (msg: ReplicaMessage) => void): void {
    this.handlers.push(handler);
  }

  async sendTo(replica: string, msg: DirectMessage): Promise<boolean> {
    // PUBLISH answers how many connections received it: 0 means that replica is not there.
    return (await this.send(`${this.prefix}${replica}`, JSON.stringify(msg))) > 0;
  }

  onDirect(handler: (msg: DirectMessage) => void): void {
    this.direct.push(handler);
  }

  async broadcast(msg: DirectMessage): Promise<number> {
    // PUBLISH counts this replica's own subscription too.
    const heard = await this.send(this.channel, JSON.stringify({ ...msg, from: this.id }));
    return Math.max(0, heard - 1);
  }

  onBroadcast(handler: (msg: DirectMessage) => void): void {
    this.broadcasts.push(handler);
  }

  private receiveDirect(raw: string, handlers = this.direct): void {
    let msg: DirectMessage;
    try {
      msg = JSON.parse(raw) as DirectMessage;
    } catch {
      return;
    }
    if (typeof msg?.kind !== 'string') return;
    for (const h of handlers) {
      try {
        h(msg);
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'replica bus handler failed');
      }
    }
  }

  private receive(channel: string, raw: string): void {
    if (channel === this.own) {
      this.receiveDirect(raw);
      return;
    }
    if (channel !== this.channel) return;
    let env: Envelope & { kind?: unknown };
    try {
      env = JSON.parse(raw) as Envelope;
    } catch {
      return;
    }
    if (env.from === this.id) return;
    if (typeof env.kind === 'string') {
      this.receiveDirect(raw, this.broadcasts);
      return;
    }
    if (env.from === this.id || typeof env.session !== 'string' || !Array.isArray(env.subscriptions)) return;
    const msg: ReplicaMessage = {
      session: env.session,
      subscriptions: env.subscriptions.filter((u): u is string => typeof u === 'string'),
    };
    for (const h of this.handlers) {
      try {
        h(msg);
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'replica bus handler failed');
      }
    }
  }

  async close(): Promise<void> {
    await this.sub.quit().catch(() => this.sub.disconnect());
  }
}
