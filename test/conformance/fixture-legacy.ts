/**
 * The 2025-era part of the conformance fixture: what a sessionful connection can do that 2026-07-28
 * removed (server-initiated sampling and elicitation, log notifications, resources/subscribe, SSE stream
 * closing and resumption). `test_sampling` and `test_elicitation` push their requests on the session's
 * standalone GET stream, as the suite's reference fixture does; the SEP-1034 / SEP-1330 elicitations go
 * on the call's own response stream, so both routes are exercised.
 */
import type { McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { sleep, text } from './fixture-common.ts';
import { SEP1034_SCHEMA, SEP1330_SCHEMA, USER_SCHEMA } from './fixture-schemas.ts';

export function registerLegacy(mcp: McpServer): void {
  const subscriptions = new Set<string>();
  mcp.server.setRequestHandler('resources/subscribe', (request) => {
    subscriptions.add(request.params.uri);
    return {};
  });
  mcp.server.setRequestHandler('resources/unsubscribe', (request) => {
    subscriptions.delete(request.params.uri);
    return {};
  });

  mcp.registerTool(
    'test_tool_with_logging',
    { description: 'Sends three info log notifications while it runs', inputSchema: z.object({}) },
    async (_args, ctx) => {
      const log = (data: string) =>
        ctx.mcpReq.notify({
          method: 'notifications/message',
          params: { level: 'info', logger: 'conformance-fixture', data },
        });
      await log('Tool execution started');
      await sleep(50);
      await log('Tool processing data');
      await sleep(50);
      await log('Tool execution completed');
      return text('Tool with logging executed successfully');
    },
  );

  mcp.registerTool(
    'test_sampling',
    {
      description: 'Asks the client model (server-initiated sampling/createMessage)',
      inputSchema: z.object({ prompt: z.string().describe('The prompt to send to the LLM') }),
    },
    async ({ prompt }) => {
      if (!mcp.server.getClientCapabilities()?.sampling) {
        return { isError: true, ...text('The client does not support sampling') };
      }
      const result = await mcp.server.createMessage({
        messages: [{ role: 'user', content: { type: 'text', text: prompt } }],
        maxTokens: 100,
      });
      const content = result.content as { type: string; text?: string };
      return text(`LLM response: ${content.type === 'text' ? content.text : JSON.stringify(content)}`);
    },
  );

  mcp.registerTool(
    'test_elicitation',
    {
      description: 'Asks the user for input (server-initiated elicitation/create)',
      inputSchema: z.object({ message: z.string().describe('The message to show the user') }),
    },
    async ({ message }) => {
      if (!mcp.server.getClientCapabilities()?.elicitation) {
        return { isError: true, ...text('The client does not support elicitation') };
      }
      const result = await mcp.server.elicitInput({
        message,
        requestedSchema: USER_SCHEMA,
      });
      return text(`User response: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`);
    },
  );

  mcp.registerTool(
    'test_elicitation_sep1034_defaults',
    {
      description: 'Elicitation with defaults for every primitive type (SEP-1034)',
      inputSchema: z.object({}),
    },
    async (_args, ctx) => {
      const result = await ctx.mcpReq.elicitInput({
        message: 'Please review and update the form fields with defaults',
        requestedSchema: SEP1034_SCHEMA,
      });
      return text(
        `Elicitation completed: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`,
      );
    },
  );

  mcp.registerTool(
    'test_elicitation_sep1330_enums',
    { description: 'Elicitation with all five enum variants (SEP-1330)', inputSchema: z.object({}) },
    async (_args, ctx) => {
      const result = await ctx.mcpReq.elicitInput({
        message: 'Please select options from the enum fields',
        requestedSchema: SEP1330_SCHEMA,
      });
      return text(
        `Elicitation completed: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`,
      );
    },
  );

  mcp.registerTool(
    'test_reconnection',
    {
      description: 'Closes its SSE response stream mid-call; the result arrives after the client resumes',
      inputSchema: z.object({}),
    },
    async (_args, ctx) => {
      ctx.http?.closeSSE?.();
      await sleep(100);
      return text(
        'Reconnection test completed successfully. If you received this, the client properly reconnected after stream closure.',
      );
    },
  );
}
