import {
  inputRequired,
  inputResponse,
  type McpServer,
  type ServerContext,
} from '@modelcontextprotocol/server';
import { z } from 'zod';
import { sleep, text } from './fixture-common.ts';
import { SEP1034_SCHEMA, SEP1330_SCHEMA, USER_SCHEMA } from './fixture-schemas.ts';

/** The text of a sampling answer under `key`, if the retried request carries one. */
export function samplingText(ctx: ServerContext, key: string): string | undefined {
  const view = inputResponse(ctx.mcpReq.inputResponses, key);
  if (view.kind !== 'sampling') return undefined;
  const content = view.result.content as { type?: string; text?: string };
  return content.type === 'text' ? (content.text ?? '') : JSON.stringify(content);
}

/**
 * The 2025-era tools of fixture-legacy.ts under the same names, the 2026-07-28 way (input requests instead
 * of server-initiated requests, logs only at the request's logLevel), so both eras list one catalog and a
 * proxy bridging a 2025 client to this era has the same tools to call.
 */
export function registerBridged(mcp: McpServer): void {
  const elicitResult = (ctx: ServerContext, key: string) => {
    const view = inputResponse(ctx.mcpReq.inputResponses, key);
    return view.kind === 'elicit'
      ? `action=${view.action}, content=${JSON.stringify(view.content ?? {})}`
      : undefined;
  };
  mcp.registerTool(
    'test_sampling',
    { description: 'Asks the client model (MRTR sampling)', inputSchema: z.object({ prompt: z.string() }) },
    async ({ prompt }, ctx) => {
      const answer = samplingText(ctx, 'llm');
      if (answer !== undefined) return text(`LLM response: ${answer}`);
      return inputRequired({
        inputRequests: {
          llm: inputRequired.createMessage({
            messages: [{ role: 'user', content: { type: 'text', text: prompt } }],
            maxTokens: 100,
          }),
        },
      });
    },
  );
  mcp.registerTool(
    'test_elicitation',
    {
      description: 'Asks the user for input (MRTR elicitation)',
      inputSchema: z.object({ message: z.string() }),
    },
    async ({ message }, ctx) => {
      const answer = elicitResult(ctx, 'user');
      if (answer !== undefined) return text(`User response: ${answer}`);
      return inputRequired({
        inputRequests: { user: inputRequired.elicit({ message, requestedSchema: USER_SCHEMA }) },
      });
    },
  );
  for (const [name, message, schema] of [
    [
      'test_elicitation_sep1034_defaults',
      'Please review and update the form fields with defaults',
      SEP1034_SCHEMA,
    ],
    ['test_elicitation_sep1330_enums', 'Please select options from the enum fields', SEP1330_SCHEMA],
  ] as const) {
    mcp.registerTool(name, { description: message, inputSchema: z.object({}) }, async (_args, ctx) => {
      const answer = elicitResult(ctx, 'form');
      if (answer !== undefined) return text(`Elicitation completed: ${answer}`);
      return inputRequired({
        inputRequests: { form: inputRequired.elicit({ message, requestedSchema: schema }) },
      });
    });
  }
  mcp.registerTool(
    'test_tool_with_logging',
    {
      description: 'Logs three info messages (sent only at the request logLevel)',
      inputSchema: z.object({}),
    },
    async (_args, ctx) => {
      await ctx.mcpReq.log('info', 'Tool execution started', 'conformance-fixture');
      await sleep(50);
      await ctx.mcpReq.log('info', 'Tool processing data', 'conformance-fixture');
      await sleep(50);
      await ctx.mcpReq.log('info', 'Tool execution completed', 'conformance-fixture');
      return text('Tool with logging executed successfully');
    },
  );
  mcp.registerTool(
    'test_reconnection',
    { description: 'Answers after 100 ms (2026-07-28 streams are not resumable)', inputSchema: z.object({}) },
    async () => {
      await sleep(100);
      return text('Reconnection test completed successfully.');
    },
  );
}
