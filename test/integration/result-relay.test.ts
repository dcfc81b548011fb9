/**
 * Untouched results relayed as the upstream's bytes (DESIGN.md, "Performance"): whatever layout an
 * upstream writes its answer in, the client gets exactly the answer its era expects, with its own id; the
 * SDKs' layout is relayed with the bytes of the result kept (whitespace inside it survives), any other
 * is serialised afresh.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import {
  LAYOUTS,
  type Layout,
  type LayoutUpstream,
  startLayoutUpstream,
} from '../fixtures/answer-layouts.ts';
import { LEGACY, modernRequest, rawPost, SAMPLES, startProxy } from '../helpers/federation.ts';
import { rawLegacySession } from '../helpers/raw-http.ts';
import { type StartedServer, startServer } from '../helpers/spawn-server.ts';

const SERVER_INFO = 'io.modelcontextprotocol/serverInfo';
let tools: StartedServer;
let relay: LayoutUpstream;
let app: App;
let url: string;
let session: Record<string, string>;

beforeAll(async () => {
  tools = await startServer(SAMPLES.tools, ['--port', '0']);
  relay = await startLayoutUpstream(tools.url);
  ({ app, url } = await startProxy({
    upstreams: [{ name: 'tools', url: relay.url, transport: 'streamable-http', catalogRefreshSeconds: 0 }],
  }));
  session = await rawLegacySession(url, LEGACY);
}, 60_000);

afterAll(async () => {
  await app?.close();
  await relay?.close();
  await tools?.stop();
});

interface Answer {
  text: string;
  message: { jsonrpc: string; id: unknown; result: Record<string, unknown> } & Record<string, unknown>;
}

async function call(era: 'modern' | 'legacy', layout: Layout, id: string | number): Promise<Answer> {
  const params = { name: 'tools__echo', arguments: { text: `layout:${layout}` } };
  const { headers, body } =
    era === 'modern'
      ? modernRequest('tools/call', params, 0, 'tools__echo')
      : { headers: session, body: { jsonrpc: '2.0', method: 'tools/call', params } };
  const reply = await rawPost(url, { ...body, id }, headers);
  expect(reply.status, reply.text).toBe(200);
  expect(reply.headers.get('content-type')).toContain('application/json');
  return { text: reply.text, message: JSON.parse(reply.text) };
}

const IDS = [7, 'call "seven"'];

describe.each(['modern', 'legacy'] as const)('a %s client', (era) => {
  describe.each(Object.keys(LAYOUTS) as Layout[])('an upstream answer laid out %s', (layout) => {
    it.each(IDS)(
      'comes back as a JSON-RPC answer with the client id %j and the era-shaped result',
      async (id) => {
        const { message } = await call(era, layout, id);
        expect(Object.keys(message).sort()).toEqual(['id', 'jsonrpc', 'result']);
        expect(message.jsonrpc).toBe('2.0');
        expect(message.id).toBe(id);
        const { result } = message;
        expect(result.content).toEqual([{ type: 'text', text: `layout:${layout}` }]);
        const meta = result._meta as Record<string, unknown> | undefined;
        if (era === 'modern') {
          expect(result.resultType).toBe('complete');
          expect(meta?.[SERVER_INFO]).toMatchObject({ name: 'mcp-fed' });
        } else {
          expect(result).not.toHaveProperty('resultType');
          expect(meta ?? {}).not.toHaveProperty(SERVER_INFO);
          // An emptied _meta goes, as finishResult drops it.
          if (layout !== 'moreMeta') expect(result).not.toHaveProperty('_meta');
        }
        if (layout === 'moreMeta') expect(meta?.['example.com/trace']).toBe('kept');
        if (layout === 'echoedId') {
          // The look-alike inside the result is the upstream's value, left as it was.
          const upstreamId = (JSON.parse(relay.sent.get('echoedId') ?? '{}') as { id?: unknown }).id;
          expect(typeof upstreamId).toBe('string');
          expect(result.structuredContent).toEqual({ id: upstreamId });
        }
      },
    );
  });

  it("relays the SDK layout's result bytes as they came (whitespace inside the result survives)", async () => {
    const { text, message } = await call(era, 'spaced', 'spaced');
    expect(text).toContain('"text":   "layout:spaced"');
    expect(message.id).toBe('spaced');
  });

  it('serialises any other layout afresh (nothing of the upstream framing reaches the client)', async () => {
    const pretty = await call(era, 'pretty', 1);
    expect(pretty.text).not.toContain('\n');
    const extra = await call(era, 'extraMember', 2);
    expect(extra.text).not.toContain('x-extra');
  });
});
