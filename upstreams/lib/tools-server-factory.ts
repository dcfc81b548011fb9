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

/** tools/call against the shared catalog: the one implementation behind every tools sample. */
export function serveToolCalls(server: Server, catalog: ToolCatalog): void {
  server.setRequestHandler('tools/call', async (request, ctx) => {
    const entry = catalog.get(request.params.name);
    if (!entry)
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Tool ${request.params.name} not found`);
    const result = await entry.run(request.params.arguments ?? {}, ctx);
    return server.projectCallToolResult(result, entry.def.outputSchema);
  });
}
