import { ProxyError } from '../errors.ts';
import type { CallContext, McpCall } from '../hooks/pipeline.ts';
import type { CallIO } from '../router/types.ts';
import type { CallSignal } from '../upstream/call-signal.ts';
import type { Upstream } from '../upstream/upstream.ts';
import { RequestStateSeal } from './request-state.ts';

/** Marks the proxy's consent requestState (never an upstream's, never a parked call's). */
export const CONSENT_PREFIX = 'mcp-fed-consent.';
/** The key of the one input request a consent round asks. */
export const CONSENT_INPUT = 'mcp-fed/consent';
/** A client that answered before the callback arrived waits this long for the grant (DESIGN.md). */
export const CONSENT_WAIT_MS = 120_000;
const POLL_MS = 250;
/** 2025-11-25's URLElicitationRequiredError. */
const URL_ELICITATION_REQUIRED = -32042;

interface ConsentState {
  caller: string;
  upstream: string;
  name: string;
  elicitationId: string;
}

/** UPSTREAM_CONSENT_REQUIRED in 2025-11-25's own form, for a client that declared URL elicitation. */
export class UrlElicitationRequired extends ProxyError {
  override get rpcCode(): number {
    return URL_ELICITATION_REQUIRED;
  }
}

/**
 * A call that stopped for consent (userOAuth, DESIGN.md "Acting for the caller"), told in the client's
 * era. A 2026-07-28 client that declared URL-mode elicitation gets an `input_required` result asking it
 * to open the link, with a sealed requestState; its retry waits (up to two minutes) for the grant the
 * callback stores, then the call goes on. A 2025-11-25 client that declared it gets the spec's
 * URLElicitationRequiredError (-32042, `data.elicitations`). Any other client gets the error with
 * `data.authorizationUrl`.
 */
export class ConsentRounds {
  private readonly seal: RequestStateSeal<ConsentState>;

  constructor(stateKey: string | undefined) {
    this.seal = new RequestStateSeal<ConsentState>(stateKey, 600, CONSENT_PREFIX);
  }

  /** A retry that answers a consent round: waits for the grant, then the call proceeds without the state. */
  async resumed(
    up: Upstream,
    params: Record<string, unknown>,
    call: McpCall,
    ctx: CallContext,
    io: CallIO,
  ): Promise<Record<string, unknown>> {
    const state = await this.seal.open(String(params.requestState));
    if (state.caller !== ctx.caller.id || state.upstream !== up.name || state.name !== call.upstreamName)
      throw new ProxyError('INVALID_REQUEST', 'requestState belongs to another call');
    const { requestState: _state, inputResponses, ...rest } = params;
    const answer = (inputResponses as Record<string, { action?: unknown } | undefined> | undefined)?.[
      CONSENT_INPUT
    ];
    if (answer?.action !== 'accept') {
      ctx.decision = 'consent_required';
      throw new ProxyError('UPSTREAM_CONSENT_REQUIRED', `consent to "${up.name}" was not given`, {
        upstream: up.name,
      });
    }
    await this.waitForGrant(up, ctx.caller.id, io.signal);
    return rest;
  }

  /** The consent error as the client's era and capabilities want it: a result to return, or a throw. */
  async answer(err: ProxyError, up: Upstream, call: McpCall, ctx: CallContext, io: CallIO) {
    ctx.decision = 'consent_required';
    const { authorizationUrl, elicitationId } = err.data as {
      authorizationUrl: string;
      elicitationId: string;
    };
    const elicitation = (io.clientCapabilities?.elicitation ?? undefined) as { url?: unknown } | undefined;
    if (elicitation?.url === undefined) throw err;
    const request = { mode: 'url', message: err.message, url: authorizationUrl, elicitationId };
    if (ctx.era === 'legacy')
      throw new UrlElicitationRequired('UPSTREAM_CONSENT_REQUIRED', err.message, {
        ...err.data,
        elicitations: [request],
      });
    const requestState = await this.seal.mint({
      caller: ctx.caller.id,
      upstream: up.name,
      name: call.upstreamName,
      elicitationId,
    });
    return {
      resultType: 'input_required',
      inputRequests: { [CONSENT_INPUT]: { method: 'elicitation/create', params: request } },
      requestState,
    };
  }

  private async waitForGrant(up: Upstream, caller: string, signal: CallSignal | undefined): Promise<void> {
    const consent = up.userOAuth;
    if (!consent) return;
    const deadline = Date.now() + CONSENT_WAIT_MS;
    // Polled, not pushed: the callback may land on any replica, and the store is where it writes.
    while (Date.now() < deadline && !signal?.aborted) {
      if (await consent.hasGrant(caller).catch(() => false)) return;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }
}
