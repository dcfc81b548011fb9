import { ProtocolError, ProtocolErrorCode, Server } from '@modelcontextprotocol/server';
import { Fanout } from './fanout.ts';
import { ToolCatalog } from './tool-catalog.ts';

/**
 * The "tools" sample server (see tools-server.ts) as a factory for other entry points that serve the
 * same catalog, such as protected-server.ts: one shared catalog, a cheap low-level Server per request.
 */
export function createToolsServerFactory(opts: { name: string }) {
  const fanout = new Fanout();
  const catalog = new ToolCatalog(fanout, 0);
  const factory = (): Server => {
    const server = new Server(
      { name: opts.name, version: '1.0.0' },
      {
        capabilities: { tools: { listChanged: true } },
        instructions: 'Sample upstream for mcp-fed tests and benchmarks, behind an auth check.',
      },
    );
    server.setRequestHandler('tools/list', () => ({ tools: catalog.list() }));
    serveToolCalls(server, catalog);
    return server;
  };
  return { factory, fanout, catalog };
}

/** What an upstream received, for samples that report their calls (tools-server --log-calls). */
export interface ReceivedCall {
  tool: string;
  arguments: Record<string, unknown>;
  /** The `x-request-id` header the call arrived with (HTTP only). */
  requestId?: string;
}

/** tools/call against the shared catalog: the one implementation behind every tools sample. */
export function serveToolCalls(
  server: Server,
  catalog: ToolCatalog,
  onCall?: (call: ReceivedCall) => void,
): void {
  server.setRequestHandler('tools/call', async (request, ctx) => {
    if (onCall) {
      const requestId = ctx.http?.req?.headers.get('x-request-id') ?? undefined;
      onCall({
        tool: request.params.name,
        arguments: request.params.arguments ?? {},
        ...(requestId !== undefined && { requestId }),
      });
    }
    const entry = catalog.get(request.params.name);
    if (!entry)
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Tool ${request.params.name} not found`);
    const result = await entry.run(request.params.arguments ?? {}, ctx);
    return server.projectCallToolResult(result, entry.def.outputSchema);
  });
}
