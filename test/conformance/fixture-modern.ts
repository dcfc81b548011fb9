/**
 * The 2026-07-28 part of the conformance fixture: multi round-trip (MRTR) tools and prompt, the
 * diagnostic tools the `server-stateless` scenario calls (capability enforcement, log-level filtering,
 * list-changed triggers), all answered statelessly. requestState is sealed with the SDK's codec, so a
 * tampered state fails with -32602.
 */
import { randomBytes } from 'node:crypto';
import {
  type ClientCapabilities,
  createRequestStateCodec,
  type InputRequests,
  inputRequired,
  inputResponse,
  type McpServer,
  ProtocolError,
  ProtocolErrorCode,
  type ServerContext,
  type ServerNotifier,
} from '@modelcontextprotocol/server';
import { z } from 'zod';
import { registerBridged, samplingText } from './fixture-bridged.ts';
import { text } from './fixture-common.ts';

interface State {
  tool: string;
  round: number;
}

const codec = createRequestStateCodec<State>({ key: randomBytes(32), ttlSeconds: 300 });

/** What the trigger tools flip; the factory builds every request's server from it. */
export const dynamic = {
  extraTool: false,
  extraPrompt: false,
  notifier: undefined as ServerNotifier | undefined,
};

const nameSchema = {
  type: 'object' as const,
  properties: { name: { type: 'string' as const } },
  required: ['name'],
};
const askName = (message = 'What is your name?') =>
  inputRequired.elicit({ message, requestedSchema: nameSchema });
const askCapital = () =>
  inputRequired.createMessage({
    messages: [{ role: 'user', content: { type: 'text', text: 'What is the capital of France?' } }],
    maxTokens: 100,
  });

/** The server option that makes the SDK verify every echoed requestState before a handler runs. */
export const requestStateOption = { verify: (state: string, ctx: ServerContext) => codec.verify(state, ctx) };

/** The verified state (the SDK answers -32602 before the handler for a state that fails the check). */
function readState(ctx: ServerContext, tool: string): State | undefined {
  const state = ctx.mcpReq.requestState<State>();
  if (state === undefined) return undefined;
  if (state.tool !== tool) {
    throw new ProtocolError(ProtocolErrorCode.InvalidParams, `requestState belongs to ${state.tool}`);
  }
  return state;
}

function elicitedName(ctx: ServerContext, key: string): string | undefined {
  const view = inputResponse(ctx.mcpReq.inputResponses, key);
  if (view.kind !== 'elicit') return undefined;
  if (view.action !== 'accept') return `(${view.action})`;
  const name = view.content?.name;
  return typeof name === 'string' ? name : undefined;
}

function roots(ctx: ServerContext, key: string): string[] | undefined {
  const view = inputResponse(ctx.mcpReq.inputResponses, key);
  return view.kind === 'roots' ? view.roots.map((r) => r.uri) : undefined;
}

export function registerModern(mcp: McpServer): void {
  // Backfilled per request from the validated `_meta` envelope on 2026-07-28 requests.
  const clientCaps = (_ctx: ServerContext): ClientCapabilities => mcp.server.getClientCapabilities() ?? {};
  const noArgs = z.object({});
  const tool = (name: string, description: string, cb: (ctx: ServerContext) => Promise<object>) =>
    // biome-ignore lint/suspicious/noExplicitAny: one signature for results of either kind
    mcp.registerTool(name, { description, inputSchema: noArgs }, (_args, ctx) => cb(ctx) as any);

  registerBridged(mcp);

  tool('test_input_required_result_elicitation', 'MRTR: asks for a name', async (ctx) => {
    const name = elicitedName(ctx, 'user_name');
    if (name === undefined) return inputRequired({ inputRequests: { user_name: askName() } });
    return text(`Hello, ${name}!`);
  });
  tool('test_input_required_result_sampling', 'MRTR: asks the client model', async (ctx) => {
    const answer = samplingText(ctx, 'capital_question');
    if (answer === undefined) return inputRequired({ inputRequests: { capital_question: askCapital() } });
    return text(`The model answered: ${answer}`);
  });
  tool('test_input_required_result_list_roots', 'MRTR: asks for the client roots', async (ctx) => {
    const list = roots(ctx, 'client_roots');
    if (list === undefined)
      return inputRequired({ inputRequests: { client_roots: inputRequired.listRoots() } });
    return text(`Client roots: ${list.join(', ') || '(none)'}`);
  });
  tool('test_input_required_result_request_state', 'MRTR with requestState', async (ctx) => {
    const state = readState(ctx, 'request_state');
    const view = inputResponse(ctx.mcpReq.inputResponses, 'confirm');
    if (state && view.kind === 'elicit') return text(`state-ok: confirmation ${view.action}`);
    return inputRequired({
      inputRequests: {
        confirm: inputRequired.elicit({
          message: 'Please confirm',
          requestedSchema: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] },
        }),
      },
      requestState: await codec.mint({ tool: 'request_state', round: 1 }, ctx),
    });
  });
  tool('test_input_required_result_multiple_inputs', 'MRTR: three input requests at once', async (ctx) => {
    const state = readState(ctx, 'multiple_inputs');
    const name = elicitedName(ctx, 'user_name');
    const greeting = samplingText(ctx, 'greeting');
    const list = roots(ctx, 'client_roots');
    if (state && name !== undefined && greeting !== undefined && list !== undefined) {
      return text(`name=${name}; greeting=${greeting}; roots=${list.join(', ')}`);
    }
    return inputRequired({
      inputRequests: {
        user_name: askName(),
        greeting: inputRequired.createMessage({
          messages: [{ role: 'user', content: { type: 'text', text: 'Generate a greeting' } }],
          maxTokens: 50,
        }),
        client_roots: inputRequired.listRoots(),
      },
      requestState: await codec.mint({ tool: 'multiple_inputs', round: 1 }, ctx),
    });
  });
  tool('test_input_required_result_multi_round', 'MRTR over three rounds', async (ctx) => {
    const state = readState(ctx, 'multi_round');
    if (state?.round === 1 && elicitedName(ctx, 'step1') !== undefined) {
      return inputRequired({
        inputRequests: {
          step2: inputRequired.elicit({
            message: 'Step 2: What is your favorite color?',
            requestedSchema: {
              type: 'object',
              properties: { color: { type: 'string' } },
              required: ['color'],
            },
          }),
        },
        requestState: await codec.mint({ tool: 'multi_round', round: 2 }, ctx),
      });
    }
    const step2 = inputResponse(ctx.mcpReq.inputResponses, 'step2');
    if (state?.round === 2 && step2.kind === 'elicit') {
      return text(`All rounds done: color=${String(step2.content?.color)}`);
    }
    return inputRequired({
      inputRequests: { step1: askName('Step 1: What is your name?') },
      requestState: await codec.mint({ tool: 'multi_round', round: 1 }, ctx),
    });
  });
  tool('test_input_required_result_tampered_state', 'MRTR with an integrity-protected state', async (ctx) => {
    const state = readState(ctx, 'tampered_state');
    const name = elicitedName(ctx, 'user_name');
    if (state && name !== undefined) return text(`state verified, hello ${name}`);
    return inputRequired({
      inputRequests: { user_name: askName() },
      requestState: await codec.mint({ tool: 'tampered_state', round: 1 }, ctx),
    });
  });
  tool(
    'test_input_required_result_capabilities',
    'MRTR: asks only what the client can answer',
    async (ctx) => {
      const caps = clientCaps(ctx);
      const requests: InputRequests = {};
      if (caps.elicitation && elicitedName(ctx, 'user_name') === undefined) requests.user_name = askName();
      if (caps.sampling && samplingText(ctx, 'capital_question') === undefined) {
        requests.capital_question = askCapital();
      }
      if (caps.roots && roots(ctx, 'client_roots') === undefined)
        requests.client_roots = inputRequired.listRoots();
      if (Object.keys(requests).length > 0) return inputRequired({ inputRequests: requests });
      return text(`done with capabilities: ${Object.keys(caps).join(', ') || '(none)'}`);
    },
  );

  // Asking for an input the client cannot give makes the SDK answer -32021 (HTTP 400) itself.
  tool('test_missing_capability', 'Needs the sampling capability', async (ctx) => {
    const answer = samplingText(ctx, 'capital_question');
    if (answer === undefined) return inputRequired({ inputRequests: { capital_question: askCapital() } });
    return text(`sampling answered: ${answer}`);
  });
  tool('test_streaming_elicitation', 'Streams progress, then asks for input via MRTR', async (ctx) => {
    const token = ctx.mcpReq._meta?.progressToken;
    if (token !== undefined) {
      await ctx.mcpReq.notify({
        method: 'notifications/progress',
        params: { progressToken: token, progress: 1 },
      });
    }
    const name = elicitedName(ctx, 'user_name');
    if (name === undefined) return inputRequired({ inputRequests: { user_name: askName() } });
    return text(`Hello, ${name}!`);
  });
  tool(
    'test_logging_tool',
    'Logs at info; the SDK drops it unless the request set a logLevel',
    async (ctx) => {
      await ctx.mcpReq.log('info', 'test_logging_tool ran', 'conformance-fixture');
      return text('logged');
    },
  );
  tool('test_trigger_tool_change', 'Adds or removes test_dynamic_tool and announces it', async () => {
    dynamic.extraTool = !dynamic.extraTool;
    dynamic.notifier?.toolsChanged();
    return text(`test_dynamic_tool ${dynamic.extraTool ? 'added' : 'removed'}`);
  });
  tool('test_trigger_prompt_change', 'Adds or removes test_dynamic_prompt and announces it', async () => {
    dynamic.extraPrompt = !dynamic.extraPrompt;
    dynamic.notifier?.promptsChanged();
    return text(`test_dynamic_prompt ${dynamic.extraPrompt ? 'added' : 'removed'}`);
  });
  if (dynamic.extraTool) tool('test_dynamic_tool', 'Present while toggled on', async () => text('dynamic'));
  if (dynamic.extraPrompt) {
    mcp.registerPrompt('test_dynamic_prompt', { description: 'Present while toggled on' }, async () => ({
      messages: [{ role: 'user' as const, content: { type: 'text' as const, text: 'dynamic' } }],
    }));
  }

  mcp.registerPrompt(
    'test_input_required_result_prompt',
    { description: 'MRTR on prompts/get: asks for context' },
    async (ctx) => {
      const view = inputResponse(ctx.mcpReq.inputResponses, 'user_context');
      if (view.kind !== 'elicit') {
        return inputRequired({
          inputRequests: {
            user_context: inputRequired.elicit({
              message: 'What context should the prompt use?',
              requestedSchema: {
                type: 'object',
                properties: { context: { type: 'string' } },
                required: ['context'],
              },
            }),
          },
        });
      }
      const context = String(view.content?.context ?? view.action);
      return {
        messages: [
          { role: 'user' as const, content: { type: 'text' as const, text: `Context: ${context}` } },
        ],
      };
    },
  );
}
