import { randomUUID } from 'node:crypto';
import { ProxyError, UpstreamRpcError } from '../errors.ts';
import type { DirectMessage, ReplicaBus } from '../store/replica-bus.ts';
import type { CallSignal } from '../upstream/call-signal.ts';

/** Asks the downstream client for input (elicitation, sampling, roots) and resolves with its answer. */
export type Ask = (
  method: string,
  params: Record<string, unknown> | undefined,
) => Promise<Record<string, unknown>>;

interface Pending {
  /** The downstream session asked: only its own answer counts. */
  owner: string;
  resolve(result: Record<string, unknown>): void;
  reject(err: Error): void;
}

interface Reply {
  id?: unknown;
  method?: unknown;
  result?: Record<string, unknown>;
  error?: { code?: unknown; message?: unknown; data?: unknown };
}

const ID_PREFIX = 'mcp-fed:';

/**
 * Server-initiated requests to 2025-era clients. Each goes out on the stream of the client request
 * it belongs to, with an id that names this replica (`mcp-fed:<replica>:<n>`), because the client
 * POSTs its answer to whichever replica the load balancer picks: that replica hands the answer to
 * this one over the bus.
 */
export class DownstreamAsks {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly bus: ReplicaBus) {
    bus.onDirect((msg: DirectMessage) => {
      if (msg.kind === 'input-response') this.settle(msg.message as Reply, String(msg.owner));
    });
  }

  /**
   * An Ask that writes each request with `write` (an SSE event on the client's open request) and
   * waits for the answer; `signal` (the client request ending) rejects what is still open. Only an
   * answer POSTed in the `owner` session counts, and ids are random, so no other client can answer.
   */
  asker(
    write: (message: Record<string, unknown>) => boolean,
    signal: CallSignal,
    waitMs: number,
    owner: string,
  ): Ask {
    return (method, params) => {
      if (signal.aborted) return Promise.reject(gone());
      const id = `${ID_PREFIX}${this.bus.replicaId}:${randomUUID()}`;
      return new Promise<Record<string, unknown>>((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          this.pending.delete(id);
        };
        const onAbort = () => {
          done();
          reject(gone());
        };
        const timer = setTimeout(() => {
          done();
          reject(new ProxyError('UPSTREAM_TIMEOUT', `the client did not answer ${method} in time`));
        }, waitMs);
        timer.unref();
        signal.addEventListener('abort', onAbort, { once: true });
        this.pending.set(id, {
          owner,
          resolve: (r) => {
            done();
            resolve(r);
          },
          reject: (e) => {
            done();
            reject(e);
          },
        });
        const message =
          params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params };
        if (!write(message)) onAbort();
      });
    };
  }

  /**
   * A POSTed body that answers one of the proxy's requests (anywhere): true when it was one (the
   * caller then replies 202), false for anything else.
   */
  deliver(body: unknown, owner: string): boolean {
    const replies = Array.isArray(body) ? body : [body];
    if (replies.length === 0 || !replies.every(isOurReply)) return false;
    for (const reply of replies as Reply[]) {
      const replica = String(reply.id).slice(ID_PREFIX.length).split(':')[0] ?? '';
      if (replica === this.bus.replicaId) this.settle(reply, owner);
      else
        void this.bus.sendTo(replica, { kind: 'input-response', message: reply, owner }).catch(() => false);
    }
    return true;
  }

  private settle(reply: Reply, owner: string): void {
    const p = this.pending.get(String(reply?.id));
    if (!p || p.owner !== owner) return;
    if (reply.error) {
      const { code, message, data } = reply.error;
      p.reject(
        new UpstreamRpcError(
          typeof code === 'number' ? code : -32603,
          typeof message === 'string' ? message : 'the client refused the input request',
          data,
        ),
      );
    } else p.resolve(reply.result ?? {});
  }
}

function isOurReply(m: unknown): boolean {
  const r = m as Reply;
  return (
    r !== null &&
    typeof r === 'object' &&
    r.method === undefined &&
    typeof r.id === 'string' &&
    r.id.startsWith(ID_PREFIX) &&
    (r.result !== undefined || r.error !== undefined)
  );
}

function gone(): ProxyError {
  return new ProxyError('INPUT_REQUEST_EXPIRED', 'the client request that was asked for input has ended');
}
