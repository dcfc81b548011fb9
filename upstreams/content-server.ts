/**
 * Sample upstream "content": prompts, resources, templates and completions. Speaks stdio by
 * default (the proxy launches it as a child); with --port N (0 = random) it serves both
 * protocol eras over Streamable HTTP like tools-server. Flags: --port --host --name.
 */
import { completable, McpServer, ResourceTemplate } from '@modelcontextprotocol/server';
import * as z from 'zod';
import { intFlag, logErr, parseCli } from './lib/cli.ts';
import { Fanout } from './lib/fanout.ts';
import { TINY_PNG_BASE64 } from './lib/media.ts';
import { stepWithProgress } from './lib/progress.ts';
import { runMain } from './lib/serve.ts';

const flags = parseCli({ port: { type: 'string' }, host: { type: 'string' }, name: { type: 'string' } });
const serverInfo = { name: flags.name ?? 'content', version: '1.0.0' };
const fanout = new Fanout();

const STYLES = ['formal', 'casual', 'pirate'];
const NOTES: Record<string, string> = {
  alpha: 'Alpha: the first note.',
  beta: 'Beta: the second note.',
  gamma: 'Gamma: the third note.',
  'release-plan': 'Ship the proxy when the tests are green.',
};
const README = '# content\n\nSample upstream with prompts, resources, templates and completions.\n';
const COUNTER_URI = 'content://counter';
let counter = 0;

const prefixed = (values: string[], prefix: string) => values.filter((v) => v.startsWith(prefix));
const greet = (name: string, style: string | undefined) => {
  if (style === 'formal') return `Good day, ${name}.`;
  if (style === 'pirate') return `Ahoy, ${name}!`;
  return `Hi ${name}!`;
};

function createServer(): McpServer {
  const mcp = new McpServer(serverInfo, {
    capabilities: {
      prompts: { listChanged: false },
      resources: { subscribe: true, listChanged: false },
      tools: { listChanged: false },
      completions: {},
    },
  });

  mcp.registerPrompt(
    'greeting',
    {
      description: 'A greeting for someone, in a chosen style.',
      argsSchema: z.object({
        name: z.string().describe('Who to greet'),
        style: completable(z.string().describe('formal | casual | pirate'), (v) =>
          prefixed(STYLES, v),
        ).optional(),
      }),
    },
    ({ name, style }) => ({
      description: `Greeting for ${name}`,
      messages: [{ role: 'user', content: { type: 'text', text: greet(name, style) } }],
    }),
  );
  mcp.registerPrompt(
    'summary',
    { description: 'Asks for a summary of a topic.', argsSchema: z.object({ topic: z.string() }) },
    ({ topic }) => ({
      messages: [{ role: 'user', content: { type: 'text', text: `Please summarise: ${topic}` } }],
    }),
  );

  mcp.registerResource(
    'readme',
    'content://readme',
    { mimeType: 'text/markdown', description: 'About' },
    (uri) => ({
      contents: [{ uri: uri.href, mimeType: 'text/markdown', text: README }],
    }),
  );
  mcp.registerResource(
    'logo',
    'content://logo',
    { mimeType: 'image/png', description: 'A 1x1 PNG' },
    (uri) => ({
      contents: [{ uri: uri.href, mimeType: 'image/png', blob: TINY_PNG_BASE64 }],
    }),
  );
  mcp.registerResource(
    'counter',
    COUNTER_URI,
    { mimeType: 'text/plain', description: 'Changes on every `bump`; subscribe to it' },
    (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: String(counter) }] }),
  );
  mcp.registerResource(
    'note',
    new ResourceTemplate('content://notes/{id}', {
      list: () => ({
        resources: Object.keys(NOTES).map((id) => ({ uri: `content://notes/${id}`, name: `note ${id}` })),
      }),
      complete: { id: (v) => prefixed(Object.keys(NOTES), v) },
    }),
    { mimeType: 'text/plain', description: 'A note by id' },
    (uri, { id }) => {
      const note = typeof id === 'string' ? NOTES[id] : undefined;
      if (note === undefined) throw new Error(`no note ${String(id)}`);
      return { contents: [{ uri: uri.href, mimeType: 'text/plain', text: note }] };
    },
  );

  mcp.registerTool(
    'bump',
    { description: `Increments ${COUNTER_URI} and notifies its subscribers.`, inputSchema: z.object({}) },
    () => {
      counter++;
      fanout.resourceUpdated(COUNTER_URI);
      return { content: [{ type: 'text', text: `counter=${counter}` }] };
    },
  );
  mcp.registerTool(
    'slow_count',
    {
      description: 'Counts to n (default 5), one progress notification per step; stops when cancelled.',
      inputSchema: z.object({
        n: z.number().int().min(0).optional(),
        delayMs: z.number().int().min(0).optional(),
      }),
      annotations: { readOnlyHint: true },
    },
    async ({ n = 5, delayMs = 50 }, ctx) => {
      const run = await stepWithProgress(ctx, n, delayMs);
      const text = run.cancelled ? `cancelled at ${run.completed}` : `counted to ${run.completed}`;
      return { content: [{ type: 'text', text }] };
    },
  );

  // McpServer has no resources/subscribe handler; 2025-era clients need one to receive updates.
  mcp.server.setRequestHandler('resources/subscribe', (request) => {
    fanout.subscribe(mcp, request.params.uri, true);
    return {};
  });
  mcp.server.setRequestHandler('resources/unsubscribe', (request) => {
    fanout.subscribe(mcp, request.params.uri, false);
    return {};
  });
  return mcp;
}

try {
  await runMain(
    createServer,
    fanout,
    flags.port === undefined
      ? { stdio: true }
      : { stdio: false, host: flags.host ?? '127.0.0.1', port: intFlag(flags.port, 'port', 0) },
  );
} catch (error) {
  logErr('content-server failed to start:', error);
  process.exit(1);
}
