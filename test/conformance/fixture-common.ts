/**
 * What both eras of the conformance fixture serve: the content tools, prompts, resources and completion
 * that the official suite's server scenarios name (each scenario prints its requirements; this file
 * follows them). Era-specific behaviour lives in fixture-legacy.ts and fixture-modern.ts.
 */
import {
  completable,
  fromJsonSchema,
  type McpServer,
  ProtocolError,
  ProtocolErrorCode,
  ResourceTemplate,
} from '@modelcontextprotocol/server';
import { z } from 'zod';
import { CUSTOM_HEADER_SCHEMA, SCHEMA_2020_12 } from './fixture-schemas.ts';

/** A 1x1 red PNG and a minimal WAV file. */
export const PNG_BASE64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';
export const WAV_BASE64 = 'UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=';

export const text = (t: string) => ({ content: [{ type: 'text' as const, text: t }] });
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const SERVER_INFO = { name: 'mcp-fed-conformance-fixture', version: '1.0.0' };
export const CAPABILITIES = {
  tools: { listChanged: true },
  prompts: { listChanged: true },
  resources: { subscribe: true, listChanged: true },
  logging: {},
  completions: {},
};

const ARG1_COMPLETIONS = ['paris', 'park', 'party', 'test', 'testing'];

export function registerCommon(mcp: McpServer): void {
  mcp.registerTool('test_simple_text', { description: 'Returns simple text content' }, async () =>
    text('This is a simple text response for testing.'),
  );
  mcp.registerTool('test_image_content', { description: 'Returns image content' }, async () => ({
    content: [{ type: 'image' as const, data: PNG_BASE64, mimeType: 'image/png' }],
  }));
  mcp.registerTool('test_audio_content', { description: 'Returns audio content' }, async () => ({
    content: [{ type: 'audio' as const, data: WAV_BASE64, mimeType: 'audio/wav' }],
  }));
  mcp.registerTool('test_embedded_resource', { description: 'Returns an embedded resource' }, async () => ({
    content: [
      {
        type: 'resource' as const,
        resource: {
          uri: 'test://embedded-resource',
          mimeType: 'text/plain',
          text: 'This is an embedded resource content.',
        },
      },
    ],
  }));
  mcp.registerTool(
    'test_multiple_content_types',
    { description: 'Returns text, image and resource content' },
    async () => ({
      content: [
        { type: 'text' as const, text: 'Multiple content types test:' },
        { type: 'image' as const, data: PNG_BASE64, mimeType: 'image/png' },
        {
          type: 'resource' as const,
          resource: {
            uri: 'test://mixed-content-resource',
            mimeType: 'application/json',
            text: JSON.stringify({ test: 'data', value: 123 }),
          },
        },
      ],
    }),
  );
  mcp.registerTool('test_error_handling', { description: 'Always fails with isError: true' }, async () => ({
    isError: true,
    content: [{ type: 'text' as const, text: 'This tool intentionally returns an error for testing' }],
  }));
  mcp.registerTool(
    'test_tool_with_progress',
    { description: 'Reports progress 0, 50, 100 of 100', inputSchema: z.object({}) },
    async (_args, ctx) => {
      const token = ctx.mcpReq._meta?.progressToken;
      for (const progress of [0, 50, 100]) {
        if (token !== undefined) {
          await ctx.mcpReq.notify({
            method: 'notifications/progress',
            params: { progressToken: token, progress, total: 100, message: `step ${progress} of 100` },
          });
        }
        if (progress < 100) await sleep(50);
      }
      return text(`progress done (token ${String(token)})`);
    },
  );
  mcp.registerTool(
    'json_schema_2020_12_tool',
    { description: 'Tool with JSON Schema 2020-12 features', inputSchema: fromJsonSchema(SCHEMA_2020_12) },
    async (args) => text(`received ${JSON.stringify(args)}`),
  );

  mcp.registerTool(
    'test_custom_headers',
    {
      description: 'Echoes a parameter that travels as a custom header',
      inputSchema: fromJsonSchema(CUSTOM_HEADER_SCHEMA),
    },
    async (args) => text(`received ${JSON.stringify(args)}`),
  );

  mcp.registerPrompt('test_simple_prompt', { description: 'A prompt without arguments' }, async () => ({
    messages: [
      {
        role: 'user' as const,
        content: { type: 'text' as const, text: 'This is a simple prompt for testing.' },
      },
    ],
  }));
  mcp.registerPrompt(
    'test_prompt_with_arguments',
    {
      description: 'A prompt with two required arguments',
      argsSchema: z.object({
        arg1: completable(z.string().describe('First test argument'), (value) =>
          ARG1_COMPLETIONS.filter((v) => v.startsWith(value)),
        ),
        arg2: z.string().describe('Second test argument'),
      }),
    },
    async ({ arg1, arg2 }) => ({
      messages: [
        {
          role: 'user' as const,
          content: { type: 'text' as const, text: `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'` },
        },
      ],
    }),
  );
  mcp.registerPrompt(
    'test_prompt_with_embedded_resource',
    {
      description: 'A prompt embedding a resource',
      argsSchema: z.object({ resourceUri: z.string().describe('URI of the resource to embed') }),
    },
    async ({ resourceUri }) => ({
      messages: [
        {
          role: 'user' as const,
          content: {
            type: 'resource' as const,
            resource: {
              uri: resourceUri,
              mimeType: 'text/plain',
              text: 'Embedded resource content for testing.',
            },
          },
        },
        {
          role: 'user' as const,
          content: { type: 'text' as const, text: 'Please process the embedded resource above.' },
        },
      ],
    }),
  );
  mcp.registerPrompt('test_prompt_with_image', { description: 'A prompt with an image' }, async () => ({
    messages: [
      { role: 'user' as const, content: { type: 'image' as const, data: PNG_BASE64, mimeType: 'image/png' } },
      { role: 'user' as const, content: { type: 'text' as const, text: 'Please analyze the image above.' } },
    ],
  }));

  mcp.registerResource(
    'static-text',
    'test://static-text',
    { description: 'A static text resource', mimeType: 'text/plain' },
    async (uri) => ({
      contents: [
        { uri: uri.href, mimeType: 'text/plain', text: 'This is the content of the static text resource.' },
      ],
    }),
  );
  mcp.registerResource(
    'static-binary',
    'test://static-binary',
    { description: 'A static binary resource', mimeType: 'image/png' },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'image/png', blob: PNG_BASE64 }] }),
  );
  mcp.registerResource(
    'watched-resource',
    'test://watched-resource',
    { description: 'A resource clients may subscribe to', mimeType: 'text/plain' },
    async (uri) => ({
      contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'Watched resource content' }],
    }),
  );
  mcp.registerResource(
    'template-data',
    new ResourceTemplate('test://template/{id}/data', {
      list: undefined,
      complete: { id: (value) => ['123', '456'].filter((v) => v.startsWith(value)) },
    }),
    { description: 'A templated resource', mimeType: 'application/json' },
    async (uri, { id }) => {
      if (typeof id !== 'string' || id === '') {
        throw new ProtocolError(ProtocolErrorCode.InvalidParams, 'Resource not found', { uri: uri.href });
      }
      return {
        contents: [
          {
            uri: uri.href,
            mimeType: 'application/json',
            text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }),
          },
        ],
      };
    },
  );
}
