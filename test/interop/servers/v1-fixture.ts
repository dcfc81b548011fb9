/**
 * The matrix's tools, prompt and resources on an SDK v1 `McpServer` (see matrix.ts for what each
 * check expects). State that must outlive one request (dynamic tools, the counter, stats) is
 * process-wide, so stateless serving (a server per request) sees it too.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  type CallToolResult,
  CreateMessageResultSchema,
  ElicitResultSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import * as z from 'zod';
import { TINY_PNG_BASE64 } from '../../../upstreams/lib/media.ts';

export interface V1Options {
  closeMidCall: boolean;
  askStandalone: boolean;
  /**
   * Whether the session's standalone GET stream is open: the SDK drops a standalone message sent while
   * none is (no event store here), so an ask waits for the client to open it first, as a real server
   * that asks that way has to.
   */
  standaloneOpen?: (sessionId: string | undefined) => boolean;
}

/** Up to `ms` for the session's standalone stream to be open (a client opens it just after initializing). */
async function standaloneReady(opts: V1Options, sessionId: string | undefined, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (opts.standaloneOpen && !opts.standaloneOpen(sessionId) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
}

const COUNTER = 'test://counter';
const ASK_TIMEOUT_MS = 15_000;
const dynamicTools = new Set<string>();
const subscriptions = new Map<McpServer, Set<string>>();
const stats = { slowStarted: 0, slowCompleted: 0, slowCancelled: 0 };
let counter = 0;

const text = (t: string): CallToolResult => ({ content: [{ type: 'text', text: t }] });
const answerSchema = {
  type: 'object' as const,
  properties: { name: { type: 'string' as const, description: 'Your name' } },
  required: ['name'],
};

function registerDynamic(mcp: McpServer, name: string): void {
  mcp.registerTool(name, { description: `Dynamic tool ${name}` }, () => text(`dynamic ${name}`));
}

export function registerFixture(mcp: McpServer, live: Set<McpServer>, opts: V1Options): void {
  for (const name of dynamicTools) registerDynamic(mcp, name);
  mcp.registerTool('echo', { description: 'Echoes text', inputSchema: { text: z.string() } }, ({ text: t }) =>
    text(t),
  );
  mcp.registerTool(
    'structured',
    {
      description: 'Adds a and b (structured content)',
      inputSchema: { a: z.number(), b: z.number() },
      outputSchema: { sum: z.number() },
    },
    ({ a, b }) => ({
      content: [{ type: 'text', text: JSON.stringify({ sum: a + b }) }],
      structuredContent: { sum: a + b },
    }),
  );
  mcp.registerTool('image', { description: 'A tiny PNG' }, () => ({
    content: [{ type: 'image', data: TINY_PNG_BASE64, mimeType: 'image/png' }],
  }));
  mcp.registerTool(
    'slow',
    {
      description: 'Progress per step; stops when cancelled',
      inputSchema: { steps: z.number().int().min(0), delayMs: z.number().int().min(0) },
    },
    async ({ steps, delayMs }, extra) => {
      stats.slowStarted++;
      const token = extra._meta?.progressToken;
      for (let i = 1; i <= steps; i++) {
        try {
          await sleep(delayMs, undefined, { signal: extra.signal });
        } catch {
          stats.slowCancelled++;
          return text(`cancelled after ${i - 1} steps`);
        }
        if (token !== undefined) {
          await extra.sendNotification({
            method: 'notifications/progress',
            params: { progressToken: token, progress: i, total: steps },
          });
        }
        // SEP-1699: the server ends the response stream early; the client resumes with GET + Last-Event-ID.
        if (i === 1 && opts.closeMidCall) {
          // Only offered with an event store to a 2025-11-25 client; without it this row would test nothing.
          if (!extra.closeSSEStream)
            throw new Error('closeSSEStream unavailable: no event store or client < 2025-11-25');
          extra.closeSSEStream();
        }
      }
      if (token !== undefined) await sleep(1);
      stats.slowCompleted++;
      return text(`done after ${steps} steps`);
    },
  );
  mcp.registerTool('stats', { description: 'Counts of slow calls started, completed, cancelled' }, () =>
    text(JSON.stringify(stats)),
  );
  mcp.registerTool(
    'fail',
    { description: 'Fails (isError)', inputSchema: { message: z.string() } },
    ({ message }) => ({
      ...text(message),
      isError: true,
    }),
  );
  mcp.registerTool(
    'ask',
    { description: 'Elicits a name', inputSchema: { question: z.string() } },
    async ({ question }, extra) => {
      const params = { message: question, requestedSchema: answerSchema };
      if (opts.askStandalone) await standaloneReady(opts, extra.sessionId);
      const answer = opts.askStandalone
        ? await mcp.server.elicitInput(params, { timeout: ASK_TIMEOUT_MS })
        : await extra.sendRequest({ method: 'elicitation/create', params }, ElicitResultSchema, {
            timeout: ASK_TIMEOUT_MS,
          });
      if (answer.action !== 'accept') return text(`action: ${answer.action}`);
      return text(`answer: ${String(answer.content?.name)}`);
    },
  );
  mcp.registerTool(
    'sample',
    { description: 'Asks the client model', inputSchema: { prompt: z.string() } },
    async ({ prompt }, extra) => {
      const params = {
        messages: [{ role: 'user' as const, content: { type: 'text' as const, text: prompt } }],
        maxTokens: 50,
      };
      if (opts.askStandalone) await standaloneReady(opts, extra.sessionId);
      const result = opts.askStandalone
        ? await mcp.server.createMessage(params, { timeout: ASK_TIMEOUT_MS })
        : await extra.sendRequest({ method: 'sampling/createMessage', params }, CreateMessageResultSchema, {
            timeout: ASK_TIMEOUT_MS,
          });
      const content = result.content as { type: string; text?: string };
      return text(`model said: ${content.type === 'text' ? content.text : `[${content.type}]`}`);
    },
  );
  mcp.registerTool(
    'add_tool',
    { description: 'Adds a tool (list_changed)', inputSchema: { name: z.string() } },
    ({ name }) => {
      if (!dynamicTools.has(name)) {
        dynamicTools.add(name);
        // Registering on a connected v1 McpServer sends tools/list_changed by itself.
        for (const server of live) registerDynamic(server, name);
      }
      return text(`added tool ${name}`);
    },
  );
  mcp.registerTool('bump', { description: `Increments ${COUNTER} (resources/updated)` }, async () => {
    counter++;
    for (const [server, uris] of subscriptions) {
      if (uris.has(COUNTER)) await server.server.sendResourceUpdated({ uri: COUNTER }).catch(() => {});
    }
    return text(`counter=${counter}`);
  });

  mcp.registerPrompt(
    'greet',
    { description: 'Greets someone', argsSchema: { name: z.string() } },
    ({ name }) => ({
      messages: [{ role: 'user', content: { type: 'text', text: `Hello, ${name}!` } }],
    }),
  );
  mcp.registerResource('static', 'test://static', { mimeType: 'text/plain' }, (uri) => ({
    contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'static content' }],
  }));
  mcp.registerResource('counter', COUNTER, { mimeType: 'text/plain' }, (uri) => ({
    contents: [{ uri: uri.href, mimeType: 'text/plain', text: String(counter) }],
  }));
  mcp.server.setRequestHandler(SubscribeRequestSchema, (req) => {
    const set = subscriptions.get(mcp) ?? new Set<string>();
    set.add(req.params.uri);
    subscriptions.set(mcp, set);
    return {};
  });
  mcp.server.setRequestHandler(UnsubscribeRequestSchema, (req) => {
    subscriptions.get(mcp)?.delete(req.params.uri);
    return {};
  });
  const previous = mcp.server.onclose;
  mcp.server.onclose = () => {
    previous?.();
    subscriptions.delete(mcp);
    live.delete(mcp);
  };
}
