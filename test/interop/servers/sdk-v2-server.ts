/**
 * An SDK v2 server for the interop matrix: `createMcpHandler` on 2026-07-28 (stateless; MRTR
 * `input_required` for elicitation and sampling, `subscriptions/listen` for change notifications),
 * with the same tools as the v1 fixture where the era allows.
 *   --legacy reject (default: 2026-07-28 only) | stateless (the SDK's stateless 2025 fallback)
 *   --port N (0 = random); prints `LISTENING <url>`
 */
import { createServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { toNodeHandler } from '@modelcontextprotocol/node';
import {
  acceptedContent,
  createMcpHandler,
  inputRequired,
  inputResponse,
  McpServer,
  type ServerNotifier,
} from '@modelcontextprotocol/server';
import * as z from 'zod';
import { TINY_PNG_BASE64 } from '../../../upstreams/lib/media.ts';
import { listenUntilSignal } from './listen.ts';

const { values: flags } = parseArgs({
  options: { legacy: { type: 'string' }, port: { type: 'string' } },
  strict: true,
});
const legacy = flags.legacy ?? 'reject';
if (legacy !== 'reject' && legacy !== 'stateless') throw new Error(`--legacy must be reject | stateless`);

const COUNTER = 'test://counter';
const dynamicTools = new Set<string>();
const stats = { slowStarted: 0, slowCompleted: 0, slowCancelled: 0 };
let counter = 0;
let notify: ServerNotifier | undefined;

const text = (t: string) => ({ content: [{ type: 'text' as const, text: t }] });
const answerSchema = z.object({ name: z.string() });

function factory(): McpServer {
  const mcp = new McpServer(
    { name: 'interop-sdk-v2', version: '1.0.0' },
    {
      capabilities: {
        tools: { listChanged: true },
        prompts: {},
        resources: { subscribe: true, listChanged: true },
      },
    },
  );
  for (const name of dynamicTools)
    mcp.registerTool(name, { description: `Dynamic ${name}` }, () => text(name));
  mcp.registerTool(
    'echo',
    { description: 'Echoes text', inputSchema: z.object({ text: z.string() }) },
    ({ text: t }) => text(t),
  );
  mcp.registerTool(
    'structured',
    {
      description: 'Adds a and b (structured content)',
      inputSchema: z.object({ a: z.number(), b: z.number() }),
      outputSchema: z.object({ sum: z.number() }),
    },
    ({ a, b }) => ({ ...text(JSON.stringify({ sum: a + b })), structuredContent: { sum: a + b } }),
  );
  mcp.registerTool('image', { description: 'A tiny PNG' }, () => ({
    content: [{ type: 'image' as const, data: TINY_PNG_BASE64, mimeType: 'image/png' }],
  }));
  mcp.registerTool(
    'slow',
    {
      description: 'Progress per step; stops when cancelled',
      inputSchema: z.object({ steps: z.number().int().min(0), delayMs: z.number().int().min(0) }),
    },
    async ({ steps, delayMs }, ctx) => {
      stats.slowStarted++;
      const token = ctx.mcpReq._meta?.progressToken;
      for (let i = 1; i <= steps; i++) {
        try {
          await sleep(delayMs, undefined, { signal: ctx.mcpReq.signal });
        } catch {
          stats.slowCancelled++;
          return text(`cancelled after ${i - 1} steps`);
        }
        if (token !== undefined) {
          await ctx.mcpReq
            .notify({
              method: 'notifications/progress',
              params: { progressToken: token, progress: i, total: steps },
            })
            .catch(() => {});
        }
      }
      if (token !== undefined) await sleep(1);
      stats.slowCompleted++;
      return text(`done after ${steps} steps`);
    },
  );
  mcp.registerTool('stats', { description: 'Counts of slow calls' }, () => text(JSON.stringify(stats)));
  mcp.registerTool(
    'fail',
    { description: 'Fails (isError)', inputSchema: z.object({ message: z.string() }) },
    ({ message }) => ({ ...text(message), isError: true }),
  );
  mcp.registerTool(
    'ask',
    { description: 'Elicits a name (MRTR)', inputSchema: z.object({ question: z.string() }) },
    async ({ question }, ctx) => {
      const answer = acceptedContent(ctx.mcpReq.inputResponses, 'ask', answerSchema);
      if (answer) return text(`answer: ${answer.name}`);
      return inputRequired({
        inputRequests: { ask: inputRequired.elicit({ message: question, requestedSchema: answerSchema }) },
      });
    },
  );
  mcp.registerTool(
    'sample',
    { description: 'Asks the client model (MRTR)', inputSchema: z.object({ prompt: z.string() }) },
    async ({ prompt }, ctx) => {
      const view = inputResponse(ctx.mcpReq.inputResponses, 'llm');
      if (view.kind === 'sampling') {
        const content = view.result.content as { type: string; text?: string };
        return text(`model said: ${content.type === 'text' ? content.text : `[${content.type}]`}`);
      }
      return inputRequired({
        inputRequests: {
          llm: inputRequired.createMessage({
            messages: [{ role: 'user', content: { type: 'text', text: prompt } }],
            maxTokens: 50,
          }),
        },
      });
    },
  );
  mcp.registerTool(
    'add_tool',
    { description: 'Adds a tool (list_changed)', inputSchema: z.object({ name: z.string() }) },
    ({ name }) => {
      dynamicTools.add(name);
      notify?.toolsChanged();
      return text(`added tool ${name}`);
    },
  );
  mcp.registerTool('bump', { description: `Increments ${COUNTER} (resources/updated)` }, () => {
    counter++;
    notify?.resourceUpdated(COUNTER);
    return text(`counter=${counter}`);
  });
  mcp.registerPrompt(
    'greet',
    { description: 'Greets someone', argsSchema: z.object({ name: z.string() }) },
    ({ name }) => ({ messages: [{ role: 'user', content: { type: 'text', text: `Hello, ${name}!` } }] }),
  );
  mcp.registerResource('static', 'test://static', { mimeType: 'text/plain' }, (uri) => ({
    contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'static content' }],
  }));
  mcp.registerResource('counter', COUNTER, { mimeType: 'text/plain' }, (uri) => ({
    contents: [{ uri: uri.href, mimeType: 'text/plain', text: String(counter) }],
  }));
  // McpServer has no resources/subscribe handler; a 2025-era client calls it (the stateless
  // fallback can accept it but has no stream to deliver updates on).
  mcp.server.setRequestHandler('resources/subscribe', () => ({}));
  mcp.server.setRequestHandler('resources/unsubscribe', () => ({}));
  return mcp;
}

const handler = createMcpHandler(factory, {
  legacy,
  onerror: (e) => process.stderr.write(`sdk-v2-server: ${e instanceof Error ? e.stack : String(e)}\n`),
});
notify = handler.notify;
const http = createServer(toNodeHandler(handler));
listenUntilSignal(http, Number(flags.port ?? 0), '/mcp', () => void handler.close().catch(() => {}));
