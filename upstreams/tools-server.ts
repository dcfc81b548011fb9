/**
 * Sample upstream "tools": serves 2026-07-28 (stateless) and 2025-11-25 (sessionful) on one
 * Streamable HTTP path, or stdio with --stdio. Flags:
 *   --port N (0 = random) --host H --page-size N --name NAME --stdio
 *   --silent-changes: add_tool/remove_tool change the list without announcing it (and the server does
 *   not advertise tools.listChanged), like upstreams only a periodic re-list can keep up with.
 *   --log-calls: write every tools/call as it arrived to stderr, one `CALL {"tool","arguments","requestId"}`
 *   line each, so the lab can show what really reached the upstream (PII tokens, not the values: the
 *   proxy detokenizes results, so an echo cannot show it).
 */
import { ProtocolError, ProtocolErrorCode, Server } from '@modelcontextprotocol/server';
import { intFlag, logErr, parseCli } from './lib/cli.ts';
import { Fanout } from './lib/fanout.ts';
import { runMain } from './lib/serve.ts';
import { ToolCatalog } from './lib/tool-catalog.ts';
import { type ReceivedCall, serveToolCalls } from './lib/tools-server-factory.ts';

const flags = parseCli({
  port: { type: 'string' },
  host: { type: 'string' },
  'page-size': { type: 'string' },
  name: { type: 'string' },
  stdio: { type: 'boolean' },
  'silent-changes': { type: 'boolean' },
  'log-calls': { type: 'boolean' },
});
/** Swallows the catalog's change announcements (--silent-changes). */
class SilentFanout extends Fanout {
  override toolsChanged(): void {}
}

const pageSize = intFlag(flags['page-size'], 'page-size', 0);
const serverInfo = { name: flags.name ?? 'tools', version: '1.0.0' };
const fanout = new Fanout();
const silent = flags['silent-changes'] === true;
const catalog = new ToolCatalog(silent ? new SilentFanout() : fanout, pageSize * 2);
const logCall =
  flags['log-calls'] === true ? (call: ReceivedCall) => logErr(`CALL ${JSON.stringify(call)}`) : undefined;

const encodeCursor = (offset: number) => Buffer.from(`o:${offset}`).toString('base64url');
function decodeCursor(cursor: string | undefined): number {
  if (cursor === undefined) return 0;
  const match = /^o:(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match) throw new ProtocolError(ProtocolErrorCode.InvalidParams, 'Invalid cursor');
  return Number(match[1]);
}

/**
 * The low-level Server keeps the per-request factory cheap (the benchmark builds one per
 * call) and lets tools/list paginate and track the shared catalog, which McpServer's
 * registry cannot do across instances.
 */
function createServer(): Server {
  const server = new Server(serverInfo, {
    capabilities: { tools: { listChanged: !silent } },
    instructions: 'Sample upstream for mcp-fed tests and benchmarks.',
  });
  server.setRequestHandler('tools/list', (request) => {
    const tools = catalog.list();
    if (pageSize <= 0) return { tools };
    const start = decodeCursor(request.params?.cursor);
    const end = start + pageSize;
    return { tools: tools.slice(start, end), ...(end < tools.length && { nextCursor: encodeCursor(end) }) };
  });
  serveToolCalls(server, catalog, logCall);
  return server;
}

try {
  await runMain(
    createServer,
    fanout,
    flags.stdio
      ? { stdio: true }
      : { stdio: false, host: flags.host ?? '127.0.0.1', port: intFlag(flags.port, 'port', 0) },
  );
} catch (error) {
  logErr('tools-server failed to start:', error);
  process.exit(1);
}
