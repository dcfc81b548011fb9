import { ProtocolError, Server, type ServerContext } from '@modelcontextprotocol/server';
import { INPUT_WAIT_MS } from '../bridge/limits.ts';
import { ProxyError, UpstreamRpcError } from '../errors.ts';
import type { CallContext, Caller, CallMethod } from '../hooks/pipeline.ts';
import type { CallIO, Federation } from '../router/federation.ts';
import type { ListKind } from '../upstream/upstream-lists.ts';
import type { SessionBinding } from '../upstream/upstream-sessions.ts';
import { modernNotificationFilter } from './log-level.ts';
import { callContext, hopsOf } from './request-context.ts';
import { finishResult, PROXY_INFO, rpcErrorOf } from './result-shape.ts';

const LIST_METHODS: Record<ListKind, string> = {
  tools: 'tools/list',
  prompts: 'prompts/list',
  resources: 'resources/list',
  resourceTemplates: 'resources/templates/list',
};

/** What a downstream connection adds to every request it serves. */
export interface DownstreamContext {
  era: 'modern' | 'legacy';
  caller: Caller;
  /** Legacy sessions track their resource subscriptions here. */
  subscriptions?: Set<string>;
  /** Called after `subscriptions` changed: the session shares the new set with the other replicas. */
  subscriptionsChanged?: () => Promise<void>;
  /** After logging/setLevel: the session shares its level with the other replicas. */
  logLevelChanged?: (level: string) => Promise<void>;
  /** A legacy session's binding to its own upstream sessions (log level, SDK-path calls). */
  session?: () => SessionBinding | undefined;
}

/** Turns the proxy's own errors into JSON-RPC errors with a stable `data.code` (the SDK relays ProtocolError as is). */
export function toProtocolError(err: unknown, era?: 'modern' | 'legacy'): unknown {
  if (!(err instanceof ProxyError) && !(err instanceof UpstreamRpcError)) return err;
  const e = rpcErrorOf(err, era);
  return new ProtocolError(e.code, e.message, e.data);
}

function contextOf(
  ctx: ServerContext,
  down: DownstreamContext,
  params: Record<string, unknown> | undefined,
): CallContext {
  const headers = ctx.http?.req?.headers;
  const meta = params?._meta as Record<string, unknown> | undefined;
  return callContext(headers, meta, down.caller, down.era);
}

function ioOf(
  ctx: ServerContext,
  params: Record<string, unknown> | undefined,
  era: DownstreamContext['era'],
): CallIO {
  const token = (params?._meta as Record<string, unknown> | undefined)?.progressToken;
  const allowed =
    era === 'modern' ? modernNotificationFilter(params?._meta as Record<string, unknown>) : undefined;
  const io: CallIO = {
    signal: ctx.mcpReq.signal,
    notify: (method, notParams) => {
      if (allowed && !allowed(method, notParams)) return;
      void ctx.mcpReq.notify({ method, params: notParams } as never).catch(() => {});
    },
  };
  if (token !== undefined) {
    // Progress tokens are per hop: the upstream client mints its own, and each upstream progress is
    // re-sent downstream under the token this client chose.
    io.progress = (p) => {
      void ctx.mcpReq
        .notify({
          method: 'notifications/progress',
          params: { progressToken: token as string | number, ...p },
        })
        .catch(() => {});
    };
  }
  return io;
}

/**
 * An SDK `Server` whose handlers forward to the federation. The modern endpoint builds one per request
 * (the SDK's stateless model), each legacy session keeps one for its lifetime.
 */
export function createProxyServer(fed: Federation, down: DownstreamContext): Server {
  const guard = <T>(fn: () => Promise<T>): Promise<T> =>
    fn().catch((err) => {
      throw toProtocolError(err, down.era);
    });
  const server = new Server(PROXY_INFO, {
    capabilities: fed.capabilities(),
    instructions: fed.instructions(),
  });
  /** A server span around one request (only when tracing is on: otherwise no context is built). */
  const traced = async <T>(
    method: string,
    ctx: ServerContext,
    params: Record<string, unknown> | undefined,
    run: () => Promise<T>,
  ): Promise<T> => {
    const span = fed.tracing?.request(method, undefined, contextOf(ctx, down, params));
    try {
      const out = await run();
      span?.end('ok');
      return out;
    } catch (err) {
      span?.end('error', err);
      throw err;
    }
  };
  const list =
    (kind: ListKind) =>
    async (req: { params?: { cursor?: string; _meta?: Record<string, unknown> } }, ctx: ServerContext) =>
      guard(() =>
        traced(LIST_METHODS[kind], ctx, req.params, async () => {
          // A list that crossed too many proxies is a loop (DESIGN.md, "Correlation and chaining").
          fed.checkHops(hopsOf(ctx.http?.req?.headers, req.params?._meta));
          return fed.list(kind, req.params?.cursor, down.caller) as never;
        }),
      );
  server.setRequestHandler('tools/list', list('tools'));
  server.setRequestHandler('prompts/list', list('prompts'));
  server.setRequestHandler('resources/list', list('resources'));
  server.setRequestHandler('resources/templates/list', list('resourceTemplates'));

  // finishResult, as on the fast path: without it a call served here (e.g. inside a 2025-03-26 batch)
  // leaked the upstream's serverInfo and 2026-era fields (resultType) to a 2025-era client.
  const call = (method: CallMethod) => async (req: { params: Record<string, unknown> }, ctx: ServerContext) =>
    guard(
      async () =>
        finishResult(
          await fed.call(method, req.params, contextOf(ctx, down, req.params), legacyIo(ctx, req.params)),
          down.era,
          method,
        ) as never,
    );
  // A 2025-era session's client can be asked for input on this request (answers reach this transport).
  const legacyIo = (ctx: ServerContext, params: Record<string, unknown>): CallIO => {
    const io = ioOf(ctx, params, down.era);
    if (down.era !== 'legacy') return io;
    io.clientCapabilities = server.getClientCapabilities() as Record<string, unknown> | undefined;
    io.session = down.session?.();
    io.ask = (method, askParams) =>
      ctx.mcpReq.send({ method, params: askParams } as never, { timeout: INPUT_WAIT_MS }) as Promise<
        Record<string, unknown>
      >;
    return io;
  };
  server.setRequestHandler('tools/call', call('tools/call'));
  server.setRequestHandler('prompts/get', call('prompts/get'));
  server.setRequestHandler('resources/read', call('resources/read'));

  server.setRequestHandler('completion/complete', async (req, ctx) =>
    guard(() =>
      traced(
        'completion/complete',
        ctx,
        req.params,
        async () =>
          (await fed.complete(
            req.params,
            contextOf(ctx, down, req.params),
            ioOf(ctx, req.params, down.era),
          )) as never,
      ),
    ),
  );

  if (down.era === 'legacy') {
    // The upstream counts subscribers (see ResourceWatch): a session counts once per URI, however
    // often it subscribes, and only after the upstream accepted; its remaining ones end with it.
    server.setRequestHandler('resources/subscribe', async (req, ctx) =>
      guard(() =>
        traced('resources/subscribe', ctx, req.params, async () => {
          if (down.subscriptions?.has(req.params.uri)) return {};
          // A resource the caller may not read is one it cannot follow either (and, as in lists, does not exist for it).
          if (!fed.allowed(down.caller, 'resources', req.params.uri))
            throw new ProxyError('UNKNOWN_RESOURCE', `unknown resource: ${req.params.uri}`, {
              uri: req.params.uri,
            });
          await fed.subscription('resources/subscribe', req.params.uri, down.session?.());
          down.subscriptions?.add(req.params.uri);
          await down.subscriptionsChanged?.();
          return {};
        }),
      ),
    );
    server.setRequestHandler('resources/unsubscribe', async (req, ctx) =>
      guard(() =>
        traced('resources/unsubscribe', ctx, req.params, async () => {
          if (!down.subscriptions?.delete(req.params.uri)) return {};
          await fed.subscription('resources/unsubscribe', req.params.uri, down.session?.());
          await down.subscriptionsChanged?.();
          return {};
        }),
      ),
    );
    server.setRequestHandler('logging/setLevel', async (req, ctx) =>
      guard(() =>
        traced('logging/setLevel', ctx, req.params, async () => {
          await fed.setLogLevel(req.params.level, contextOf(ctx, down, req.params), down.session?.());
          await down.logLevelChanged?.(req.params.level);
          return {};
        }),
      ),
    );
  }
  return server;
}
