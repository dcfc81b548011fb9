import { ProxyError, UpstreamRpcError } from '../errors.ts';
import type { CallContext, HookPipeline, McpCall } from '../hooks/pipeline.ts';
import { actingFor } from '../inbound/auth/caller-tokens.ts';
import type { CallIO } from '../router/types.ts';
import type { ReplicaBus } from '../store/replica-bus.ts';
import type { CallSignal } from '../upstream/call-signal.ts';
import type { Upstream, UpstreamRequestOptions } from '../upstream/upstream.ts';
import { CONSENT_PREFIX, ConsentRounds } from './consent.ts';
import { type Ask, DownstreamAsks } from './downstream-asks.ts';
import { INPUT_WAIT_MS } from './limits.ts';
import { type InputRequests, ParkedCall, ParkedCalls, type Step } from './parked-calls.ts';
import { ReplicaRpc } from './replica-rpc.ts';
import { RequestStateSeal, STATE_PREFIX } from './request-state.ts';

/** An upstream asking again and again for input is broken, not patient. */
const MAX_ROUNDS = 16;
/** The client capability each input request needs. */
const CAPABILITY: Record<string, string> = {
  'elicitation/create': 'elicitation',
  'sampling/createMessage': 'sampling',
  'roots/list': 'roots',
};

interface ResumePayload {
  id: string;
  round: number;
  responses: unknown;
}

/**
 * Input requests across the two eras (DESIGN.md, "Two protocol eras"). An upstream asks for input in
 * its era: a 2026-07-28 upstream returns an MRTR `input_required` result, a 2025-era one sends a
 * server-initiated request on the call's stream. The client answers in its era: a 2025-era client
 * through a server-initiated request on its own stream (`io.ask`), a 2026-07-28 client through an
 * `input_required` result and a retry. So:
 * - modern → modern: the result passes through; the retry goes to the upstream with its requestState.
 * - modern upstream → legacy client: the proxy asks the client and retries the upstream itself.
 * - legacy upstream → legacy client: the request is relayed to the client, its answer back upstream.
 * - legacy upstream → modern client: the upstream call is parked on this replica and the client gets
 *   an `input_required` whose requestState (sealed) names it; the retry, on any replica, resumes it.
 * PII hooks see both directions: what the client is shown is detokenized like a result, what it
 * answers is scanned like arguments.
 */
export class InputBridge {
  readonly asks: DownstreamAsks;
  private readonly parked = new ParkedCalls(INPUT_WAIT_MS);
  private readonly rpc: ReplicaRpc;
  private readonly seal: RequestStateSeal;
  private readonly consent: ConsentRounds;

  constructor(
    /** The pipeline in force (a config reload swaps it). */
    private readonly pipeline: () => HookPipeline,
    stateKey: string | undefined,
    bus: ReplicaBus,
  ) {
    this.asks = new DownstreamAsks(bus);
    this.rpc = new ReplicaRpc(bus);
    this.seal = new RequestStateSeal(stateKey, INPUT_WAIT_MS / 1000);
    this.consent = new ConsentRounds(stateKey);
    this.rpc.handle('resume', (p) => this.resumeHere(p as unknown as ResumePayload));
  }

  /** Forwards one governed call (params already rewritten for the upstream) and bridges its input requests. */
  forward(
    up: Upstream,
    params: Record<string, unknown>,
    call: McpCall,
    ctx: CallContext,
    io: CallIO,
    /** Params signed afresh (caller assertions expire), for the proxy's own retries. */
    fresh?: () => Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    // Whose credential the upstream sees, recorded even when the call stops before it (consent, state).
    if (up.actsForCaller) ctx.upstreamIdentity = 'caller';
    if (up.userOAuth) return this.withConsent(up, params, call, ctx, io, fresh);
    return this.forwardNow(up, params, call, ctx, io, fresh);
  }

  /** A per-user OAuth upstream: a caller without a grant is asked to consent, in its era (consent.ts). */
  private async withConsent(
    up: Upstream,
    params: Record<string, unknown>,
    call: McpCall,
    ctx: CallContext,
    io: CallIO,
    fresh?: () => Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    const state = params.requestState;
    const sent =
      typeof state === 'string' && state.startsWith(CONSENT_PREFIX)
        ? await this.consent.resumed(up, params, call, ctx, io)
        : params;
    try {
      return await this.forwardNow(up, sent, call, ctx, io, fresh);
    } catch (err) {
      if (err instanceof ProxyError && err.code === 'UPSTREAM_CONSENT_REQUIRED')
        return this.consent.answer(err, up, call, ctx, io);
      throw err;
    }
  }

  private forwardNow(
    up: Upstream,
    params: Record<string, unknown>,
    call: McpCall,
    ctx: CallContext,
    io: CallIO,
    fresh?: () => Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    const state = params.requestState;
    if (typeof state === 'string' && state.startsWith(STATE_PREFIX))
      return this.resume(up, state, params.inputResponses, call, ctx, io);
    const opts: UpstreamRequestOptions = {
      signal: io.signal,
      onprogress: io.progress,
      onnotification: io.notify,
      clientCapabilities: io.clientCapabilities,
      hop: ctx,
    };
    // The caller's own credential (tokenExchange, userOAuth): the upstream sees the user, not the proxy.
    if (up.actsForCaller) opts.actingFor = actingFor(ctx.caller);
    // Where each client has upstream state of its own, `io.session` names whose: the downstream
    // session's binding, or the one Federation.call gives a 2026-07-28 caller (router/caller-bindings.ts).
    if (up.perClientSessions) opts.session = io.session;
    const ask = io.ask;
    if (ask) return this.askClient(up, params, call, opts, this.shown(ask, call, ctx), fresh);
    // Only a 2025-era upstream sends requests of its own; a modern one's input_required passes through.
    if (up.era !== 'legacy') return up.request(call.method, params, opts);
    if (ctx.era === 'legacy') {
      opts.oninputrequest = (method) =>
        Promise.reject(new UpstreamRpcError(-32601, `mcp-fed cannot relay ${method} to this client request`));
      return up.request(call.method, params, opts);
    }
    return this.park(up, params, call, ctx, io, opts);
  }

  /** A 2025-era client: asked on its own stream, whichever era the upstream asks in. */
  private async askClient(
    up: Upstream,
    params: Record<string, unknown>,
    call: McpCall,
    opts: UpstreamRequestOptions,
    ask: Ask,
    fresh: (() => Record<string, unknown>) | undefined,
  ): Promise<Record<string, unknown>> {
    opts.oninputrequest = ask;
    let result = await up.request(call.method, params, opts);
    for (let round = 1; isInputRequired(result); round++) {
      if (round > MAX_ROUNDS)
        throw new ProxyError(
          'UPSTREAM_ERROR',
          `upstream "${up.name}" asked for input more than ${MAX_ROUNDS} times`,
        );
      const requests = (result.inputRequests ?? {}) as InputRequests;
      const responses: Record<string, unknown> = {};
      // One at a time: a person answers one dialog after the other.
      for (const [key, r] of Object.entries(requests)) responses[key] = await ask(r.method, r.params);
      const retry: Record<string, unknown> = { ...(fresh ? fresh() : params), inputResponses: responses };
      if (result.requestState !== undefined) retry.requestState = result.requestState;
      result = await up.request(call.method, retry, opts);
    }
    return result;
  }

  /** `ask` with the PII hooks around it: values shown detokenized, answers scanned before going upstream. */
  private shown(ask: Ask, call: McpCall, ctx: CallContext): Ask {
    const hooks = this.pipeline();
    if (hooks.empty) return ask;
    return async (method, params) => {
      const show = params && hooks.post.length ? await hooks.shown(call, params, ctx) : params;
      const answer = await ask(method, show);
      return hooks.answer(call, answer, ctx);
    };
  }

  /** A 2026-07-28 client of a 2025-era upstream: the call waits here while the client answers. */
  private async park(
    up: Upstream,
    params: Record<string, unknown>,
    call: McpCall,
    ctx: CallContext,
    io: CallIO,
    opts: UpstreamRequestOptions,
  ): Promise<Record<string, unknown>> {
    const parked = new ParkedCall(ctx.caller.id, up.name, call.upstreamName);
    const caps = io.clientCapabilities ?? {};
    const clientGone = () => parked.abort.abort();
    io.signal?.addEventListener('abort', clientGone, { once: true });
    opts.signal = parked.abort.signal;
    opts.oninputrequest = (method, p) => {
      const needs = CAPABILITY[method];
      if (!needs || !caps[needs])
        return Promise.reject(
          new UpstreamRpcError(-32601, `the client did not declare the ${needs ?? method} capability`),
        );
      return parked.ask(method, p);
    };
    up.request(call.method, params, opts).then(
      (result) => parked.settle({ kind: 'done', result }),
      (error) => parked.settle({ kind: 'error', error }),
    );
    try {
      return await this.stepResult(parked, await parked.next());
    } finally {
      io.signal?.removeEventListener('abort', clientGone);
    }
  }

  private async resume(
    up: Upstream,
    wire: string,
    responses: unknown,
    call: McpCall,
    ctx: CallContext,
    io: CallIO,
  ): Promise<Record<string, unknown>> {
    const state = await this.seal.open(wire);
    if (state.caller !== ctx.caller.id || state.upstream !== up.name || state.name !== call.upstreamName)
      throw new ProxyError('INVALID_REQUEST', 'requestState belongs to another call');
    const payload: ResumePayload = { id: state.id, round: state.round, responses };
    if (state.replica === this.rpc.replicaId) return this.resumeHere(payload, io.signal);
    return this.rpc.call(
      state.replica,
      'resume',
      payload as unknown as Record<string, unknown>,
      up.config.timeoutMs + INPUT_WAIT_MS,
    );
  }

  private async resumeHere(p: ResumePayload, signal?: CallSignal): Promise<Record<string, unknown>> {
    const parked = this.parked.take(String(p.id));
    if (!parked)
      throw new ProxyError(
        'INPUT_REQUEST_EXPIRED',
        'the input request is no longer pending (answered, timed out, or its replica restarted); start the call again',
      );
    try {
      parked.answer(Number(p.round), p.responses);
    } catch (err) {
      if (!parked.done) this.parked.hold(parked);
      throw err;
    }
    const clientGone = () => parked.abort.abort();
    signal?.addEventListener('abort', clientGone, { once: true });
    try {
      return await this.stepResult(parked, await parked.next());
    } finally {
      signal?.removeEventListener('abort', clientGone);
    }
  }

  private async stepResult(parked: ParkedCall, step: Step): Promise<Record<string, unknown>> {
    if (step.kind === 'done') return step.result;
    if (step.kind === 'error') throw step.error;
    this.parked.hold(parked);
    const requestState = await this.seal.mint({
      id: parked.id,
      replica: this.rpc.replicaId,
      round: step.round,
      caller: parked.caller,
      upstream: parked.upstream,
      name: parked.name,
    });
    return { resultType: 'input_required', inputRequests: step.requests, requestState };
  }

  close(): void {
    this.parked.close();
  }
}

function isInputRequired(result: Record<string, unknown>): boolean {
  return result.resultType === 'input_required';
}
