import { randomUUID } from 'node:crypto';
import { ProxyError } from '../errors.ts';
import { expired } from './replica-rpc.ts';

export type InputRequests = Record<string, { method: string; params?: Record<string, unknown> }>;

/** What a parked upstream call did next: ask for input again, or end. */
export type Step =
  | { kind: 'input'; round: number; requests: InputRequests }
  | { kind: 'done'; result: Record<string, unknown> }
  | { kind: 'error'; error: unknown };

interface Answer {
  resolve(result: Record<string, unknown>): void;
  reject(err: Error): void;
}

const SHORT: Record<string, string> = {
  'elicitation/create': 'elicitation',
  'sampling/createMessage': 'sampling',
  'roots/list': 'roots',
};

/**
 * A 2025-era upstream's call that asked for input (a server-initiated elicitation, sampling or roots
 * request) while its caller is a 2026-07-28 client, which can only be asked through an MRTR
 * `input_required` result. The upstream request stays open here, on this replica, while the client
 * answers; each round's requests become one result, each retry's answers go back to the waiting
 * upstream requests, and the call's next step (more input, or its end) answers the retry.
 */
export class ParkedCall {
  readonly id = randomUUID();
  /** Aborts the upstream request (the client went away, or nobody came back in time). */
  readonly abort = new AbortController();
  round = 0;
  private seq = 0;
  private readonly waiting = new Map<string, Answer>();
  private batch: InputRequests | undefined;
  private queued: Step | undefined;
  private waiter: ((step: Step) => void) | undefined;
  private ended = false;

  constructor(
    readonly caller: string,
    readonly upstream: string,
    readonly name: string,
  ) {}

  /** The upstream asks for input: it joins this round's batch and waits for the client's answer. */
  ask(method: string, params: Record<string, unknown> | undefined): Promise<Record<string, unknown>> {
    if (this.ended) return Promise.reject(new ProxyError('UPSTREAM_ERROR', 'the call has ended'));
    const key = `${SHORT[method] ?? 'input'}-${++this.seq}`;
    return new Promise((resolve, reject) => {
      this.waiting.set(key, { resolve, reject });
      if (!this.batch) {
        this.batch = {};
        // Requests sent together (one tick) become one input_required result.
        setImmediate(() => this.flush());
      }
      this.batch[key] = params === undefined ? { method } : { method, params };
    });
  }

  /** The upstream call ended (result or error). */
  settle(step: Extract<Step, { kind: 'done' | 'error' }>): void {
    if (this.ended) return;
    this.ended = true;
    for (const a of this.waiting.values()) a.reject(new ProxyError('UPSTREAM_ERROR', 'the call has ended'));
    this.waiting.clear();
    this.emit(step);
  }

  /** The next step; only one reader at a time (the request that answers the client). */
  next(): Promise<Step> {
    const q = this.queued;
    if (q) {
      this.queued = undefined;
      return Promise.resolve(q);
    }
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  /** The client's answers to round `round`; every request of it must be answered. */
  answer(round: number, responses: unknown): void {
    if (round !== this.round || this.waiting.size === 0) throw expired('this round was answered already');
    if (responses === null || typeof responses !== 'object' || Array.isArray(responses))
      throw new ProxyError('INVALID_REQUEST', 'inputResponses must be an object keyed like inputRequests');
    const given = responses as Record<string, unknown>;
    for (const key of this.waiting.keys()) {
      const r = given[key];
      if (r === null || typeof r !== 'object' || Array.isArray(r))
        throw new ProxyError('INVALID_REQUEST', `inputResponses has no answer for "${key}"`);
    }
    const answers = [...this.waiting];
    this.waiting.clear();
    for (const [key, a] of answers) a.resolve(given[key] as Record<string, unknown>);
  }

  get done(): boolean {
    return this.ended;
  }

  private flush(): void {
    const batch = this.batch;
    this.batch = undefined;
    if (!batch || this.ended) return;
    this.round++;
    this.emit({ kind: 'input', round: this.round, requests: batch });
  }

  private emit(step: Step): void {
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      w(step);
    } else this.queued = step;
  }
}

/** The parked calls of this replica, each dropped (and its upstream request aborted) when unanswered too long. */
export class ParkedCalls {
  private readonly calls = new Map<string, { call: ParkedCall; timer: NodeJS.Timeout }>();

  constructor(private readonly waitMs: number) {}

  get size(): number {
    return this.calls.size;
  }

  /** Keeps `call` for the client's retry (restarting its clock). */
  hold(call: ParkedCall): void {
    this.release(call.id);
    const timer = setTimeout(() => {
      this.calls.delete(call.id);
      call.abort.abort();
    }, this.waitMs);
    timer.unref();
    this.calls.set(call.id, { call, timer });
  }

  take(id: string): ParkedCall | undefined {
    const entry = this.calls.get(id);
    if (!entry) return undefined;
    clearTimeout(entry.timer);
    this.calls.delete(id);
    return entry.call;
  }

  release(id: string): void {
    const entry = this.calls.get(id);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.calls.delete(id);
  }

  close(): void {
    for (const { call, timer } of this.calls.values()) {
      clearTimeout(timer);
      call.abort.abort();
    }
    this.calls.clear();
  }
}
