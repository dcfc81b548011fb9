import { createHash, randomBytes } from 'node:crypto';
import { createRequestStateCodec, type ServerContext } from '@modelcontextprotocol/server';
import { ProxyError } from '../errors.ts';

/** Marks a requestState the proxy minted (an upstream's own passes through untouched). */
export const STATE_PREFIX = 'mcp-fed.';

/** What the proxy's requestState names: one parked upstream call, on one replica, for one caller. */
export interface ParkedState {
  /** The parked call's id on its replica. */
  id: string;
  replica: string;
  /** Which round of input requests this state answers (a stale or replayed retry is refused). */
  round: number;
  caller: string;
  upstream: string;
  /** The name or URI on the upstream. */
  name: string;
}

/**
 * Seals the proxy's MRTR requestState with the SDK's HMAC codec: the client holds it and echoes it,
 * so it is attacker-controlled on the way back (spec: protect it and bind it to the caller). The key
 * is `secrets.requestStateKey` (shared by every replica), or random per process without it.
 */
export class RequestStateSeal<T extends object = ParkedState> {
  private readonly codec;

  constructor(
    secret: string | undefined,
    ttlSeconds: number,
    /** What the wire form starts with; another kind of state gets another prefix and its own key. */
    private readonly prefix = STATE_PREFIX,
  ) {
    // The codec wants at least 32 bytes: any configured secret is stretched to exactly that.
    const key = secret
      ? createHash('sha256')
          .update(`mcp-fed request state\0${prefix === STATE_PREFIX ? '' : prefix}`)
          .update(secret)
          .digest()
      : randomBytes(32);
    this.codec = createRequestStateCodec<T>({ key, ttlSeconds });
  }

  async mint(state: T): Promise<string> {
    return this.prefix + (await this.codec.mint(state));
  }

  /** The state, or INPUT_REQUEST_EXPIRED (too old) / INVALID_REQUEST (not one this proxy minted). */
  async open(wire: string): Promise<T> {
    try {
      return await this.codec.verify(wire.slice(this.prefix.length), {} as ServerContext);
    } catch (err) {
      if ((err as Error).message === 'expired')
        throw new ProxyError(
          'INPUT_REQUEST_EXPIRED',
          'the input request is no longer pending (its requestState expired); start the call again',
        );
      throw new ProxyError('INVALID_REQUEST', 'requestState is not one this proxy issued');
    }
  }
}
