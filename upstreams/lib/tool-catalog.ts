import type { CallToolResult, JSONObject, ServerContext, Tool } from '@modelcontextprotocol/server';
import type { Fanout } from './fanout.ts';
import { TINY_PNG_BASE64, TINY_WAV_BASE64 } from './media.ts';
import { stepWithProgress } from './progress.ts';

export type Args = Record<string, unknown>;

export interface ToolEntry {
  def: Tool;
  run(args: Args, ctx: ServerContext): CallToolResult | Promise<CallToolResult>;
}

const text = (t: string): CallToolResult => ({ content: [{ type: 'text', text: t }] });
const toolError = (t: string): CallToolResult => ({ content: [{ type: 'text', text: t }], isError: true });

const objectSchema = (
  properties: Record<string, JSONObject> = {},
  required: string[] = [],
): Tool['inputSchema'] => ({
  type: 'object',
  properties,
  ...(required.length > 0 && { required }),
});

function num(args: Args, key: string, fallback: number): number {
  const v = args[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}

const HEADER_PREFIXES = ['x-', 'mcp-'];
const TRACE_HEADERS = new Set(['traceparent', 'tracestate']);

/**
 * The shared, process-wide tool set. Every server instance (per-request modern, per-session
 * legacy, per-connection stdio) reads it at call time, so a tool added through any era is
 * visible to all of them at once.
 */
export class ToolCatalog {
  readonly stats = { slowStarted: 0, slowCompleted: 0, slowCancelled: 0 };
  private readonly tools = new Map<string, ToolEntry>();
  private readonly builtins = new Set<string>();
  private listed: Tool[] | undefined;

  constructor(
    private readonly fanout: Fanout,
    fillers: number,
  ) {
    for (const entry of this.builtinTools()) this.put(entry, true);
    for (let i = 0; i < fillers; i++) {
      const name = `filler_${i}`;
      this.put(
        {
          def: { name, description: `Filler tool ${i} (exercises pagination)`, inputSchema: objectSchema() },
          run: () => text(name),
        },
        true,
      );
    }
  }

  get(name: string): ToolEntry | undefined {
    return this.tools.get(name);
  }

  /** Cached between changes so the list path allocates nothing on the hot path. */
  list(): Tool[] {
    this.listed ??= [...this.tools.values()].map((t) => t.def);
    return this.listed;
  }

  private put(entry: ToolEntry, builtin = false): void {
    this.tools.set(entry.def.name, entry);
    if (builtin) this.builtins.add(entry.def.name);
    this.listed = undefined;
  }

  private addDynamic(name: string): CallToolResult {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) return toolError(`invalid tool name "${name}"`);
    if (this.builtins.has(name)) return toolError(`"${name}" is a built-in tool`);
    const existed = this.tools.has(name);
    this.put({
      def: {
        name,
        description: `Dynamic tool ${name} added at run time`,
        inputSchema: objectSchema(),
        _meta: { 'sample/kind': 'dynamic' },
      },
      run: () => text(`dynamic ${name}`),
    });
    if (!existed) this.fanout.toolsChanged();
    return text(existed ? `tool ${name} already present` : `added tool ${name}`);
  }

  private removeDynamic(name: string): CallToolResult {
    if (this.builtins.has(name)) return toolError(`"${name}" is a built-in tool`);
    if (!this.tools.delete(name)) return toolError(`no dynamic tool "${name}"`);
    this.listed = undefined;
    this.fanout.toolsChanged();
    return text(`removed tool ${name}`);
  }

  private builtinTools(): ToolEntry[] {
    const stats = this.stats;
    return [
      {
        def: {
          name: 'echo',
          description: 'Echoes the given text back unchanged.',
          inputSchema: objectSchema({ text: { type: 'string', description: 'Text to echo' } }, ['text']),
          annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
          _meta: { 'sample/kind': 'hot-path' },
        },
        run: (args) => (typeof args.text === 'string' ? text(args.text) : toolError('text must be a string')),
      },
      {
        def: {
          name: 'add',
          description: 'Adds two numbers; returns structured {sum}.',
          inputSchema: objectSchema({ a: { type: 'number' }, b: { type: 'number' } }, ['a', 'b']),
          outputSchema: { type: 'object', properties: { sum: { type: 'number' } }, required: ['sum'] },
          annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
          _meta: { 'sample/kind': 'structured' },
        },
        run: (args) => {
          if (typeof args.a !== 'number' || typeof args.b !== 'number')
            return toolError('a and b must be numbers');
          const sum = args.a + args.b;
          return { content: [{ type: 'text', text: String(sum) }], structuredContent: { sum } };
        },
      },
      {
        def: { name: 'image', description: 'Returns a tiny PNG image.', inputSchema: objectSchema() },
        run: () => ({ content: [{ type: 'image', data: TINY_PNG_BASE64, mimeType: 'image/png' }] }),
      },
      {
        def: { name: 'audio', description: 'Returns a tiny WAV clip.', inputSchema: objectSchema() },
        run: () => ({ content: [{ type: 'audio', data: TINY_WAV_BASE64, mimeType: 'audio/wav' }] }),
      },
      {
        def: {
          name: 'fail',
          description: 'Always fails with a tool error (isError: true).',
          inputSchema: objectSchema({ message: { type: 'string' } }),
        },
        run: (args) => toolError(typeof args.message === 'string' ? args.message : 'failed on purpose'),
      },
      {
        def: {
          name: 'slow',
          description: 'Takes `steps` x `delayMs`, reporting progress each step; stops early when cancelled.',
          inputSchema: objectSchema({
            steps: { type: 'integer', minimum: 0, default: 5 },
            delayMs: { type: 'integer', minimum: 0, default: 100 },
          }),
          annotations: { readOnlyHint: true },
        },
        run: async (args, ctx) => {
          stats.slowStarted++;
          const run = await stepWithProgress(ctx, num(args, 'steps', 5), num(args, 'delayMs', 100));
          if (run.cancelled) stats.slowCancelled++;
          else stats.slowCompleted++;
          return text(
            run.cancelled ? `cancelled after ${run.completed} steps` : `done after ${run.completed} steps`,
          );
        },
      },
      {
        def: {
          name: 'stats',
          description: 'Counters of the slow tool (started/completed/cancelled), as JSON text.',
          inputSchema: objectSchema(),
          annotations: { readOnlyHint: true },
        },
        run: () => text(JSON.stringify(stats)),
      },
      {
        def: {
          name: 'add_tool',
          description: 'Registers a tool <name> at run time and announces tools/list_changed.',
          inputSchema: objectSchema({ name: { type: 'string' } }, ['name']),
        },
        run: (args) => this.addDynamic(String(args.name ?? '')),
      },
      {
        def: {
          name: 'remove_tool',
          description: 'Removes a tool added by add_tool and announces tools/list_changed.',
          inputSchema: objectSchema({ name: { type: 'string' } }, ['name']),
          annotations: { destructiveHint: true },
        },
        run: (args) => this.removeDynamic(String(args.name ?? '')),
      },
      {
        def: {
          name: 'whoami',
          description:
            'Reports the x-*/mcp-*/trace HTTP headers and the params._meta this call arrived with.',
          inputSchema: objectSchema(),
          annotations: { readOnlyHint: true },
        },
        run: (_args, ctx) => {
          const headers: Record<string, string> = {};
          ctx.http?.req?.headers.forEach((value, name) => {
            if (TRACE_HEADERS.has(name) || HEADER_PREFIXES.some((p) => name.startsWith(p)))
              headers[name] = value;
          });
          // The SDK lifts the io.modelcontextprotocol/* keys out of _meta; put them back so
          // the caller sees params._meta as it was on the wire.
          const _meta = { ...ctx.mcpReq._meta, ...ctx.mcpReq.envelope };
          return text(JSON.stringify({ headers, _meta }));
        },
      },
    ];
  }
}
