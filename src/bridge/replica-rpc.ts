import { randomUUID } from 'node:crypto';
import { ProxyError } from '../errors.ts';
import type { DirectMessage, ReplicaBus } from '../store/replica-bus.ts';
import { fromWireError, toWireError, type WireError } from './wire-errors.ts';

type Handler = (payload: Record<string, unknown>) => Promise<Record<string, unknown>>;

interface Waiter {
  resolve(value: Record<string, unknown>): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * Request and reply between replicas over the bus's direct channels: the replica that holds an input
 * exchange does the work, the one the client reached answers the client. A target that is gone fails
 * at once (nobody received the message) with INPUT_REQUEST_EXPIRED, so the client can start over.
 */
export class ReplicaRpc {
  private readonly handlers = new Map<string, Handler>();
  private readonly waiting = new Map<string, Waiter>();

  constructor(private readonly bus: ReplicaBus) {
    bus.onDirect((msg) => this.receive(msg));
  }

  get replicaId(): string {
    return this.bus.replicaId;
  }

  handle(method: string, handler: Handler): void {
    this.handlers.set(method, handler);
  }

  async call(
    replica: string,
    method: string,
    payload: Record<string, unknown>,
    timeoutMs: number,
  ): Promise<Record<string, unknown>> {
    const corr = randomUUID();
    const reply = new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(corr);
        reject(expired('the replica holding it did not answer in time'));
      }, timeoutMs);
      timer.unref();
      this.waiting.set(corr, { resolve, reject, timer });
    });
    let delivered: boolean;
    try {
      delivered = await this.bus.sendTo(replica, {
        kind: 'rpc',
        method,
        corr,
        from: this.bus.replicaId,
        payload,
      });
    } catch {
      delivered = false;
    }
    if (!delivered) {
      const waiter = this.waiting.get(corr);
      if (waiter) {
        clearTimeout(waiter.timer);
        this.waiting.delete(corr);
        waiter.reject(expired('the replica holding it is gone'));
      }
    }
    return reply;
  }

  private receive(msg: DirectMessage): void {
    if (msg.kind === 'rpc') void this.serve(msg);
    else if (msg.kind === 'rpc-reply') this.settle(msg);
  }

  private async serve(msg: DirectMessage): Promise<void> {
    const { method, corr, from, payload } = msg as DirectMessage & {
      method: string;
      corr: string;
      from: string;
      payload: Record<string, unknown>;
    };
    const handler = this.handlers.get(method);
    let answer: DirectMessage;
    try {
      if (!handler) throw expired('this replica does not hold it');
      answer = { kind: 'rpc-reply', corr, value: await handler(payload ?? {}) };
    } catch (err) {
      answer = { kind: 'rpc-reply', corr, error: toWireError(err) };
    }
    await this.bus.sendTo(from, answer).catch(() => false);
  }

  private settle(msg: DirectMessage): void {
    const waiter = this.waiting.get(String(msg.corr));
    if (!waiter) return;
    this.waiting.delete(String(msg.corr));
    clearTimeout(waiter.timer);
    if (msg.error) waiter.reject(fromWireError(msg.error as WireError));
    else waiter.resolve((msg.value as Record<string, unknown>) ?? {});
  }
}

export function expired(why: string): ProxyError {
  return new ProxyError(
    'INPUT_REQUEST_EXPIRED',
    `the input request is no longer pending (${why}); start the call again`,
  );
}
