import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { type BadUpstream, startBadUpstream } from '../helpers/bad-upstream.ts';
import {
  LEGACY,
  MODERN,
  modernRequest,
  type RawReply,
  rawPost,
  SAMPLES,
  startProxy,
} from '../helpers/federation.ts';
import { expectError, messagesOf, rawLegacySession, rawRequest } from '../helpers/raw-http.ts';
import { type StartedServer, startServer } from '../helpers/spawn-server.ts';

// "Bad input gets a clear error, nothing is lost": every malformed or hostile request gets a precise
// HTTP status and JSON-RPC error, in both eras, and the proxy keeps serving afterwards.

const ALLOWED_ORIGIN = 'https://app.example';
let tools: StartedServer;
let bad: BadUpstream;
let app: App;
let url: string;
let session: Record<string, string>; // a 2025-11-25 session opened by hand

beforeAll(async () => {
  tools = await startServer(SAMPLES.tools, ['--port', '0']);
  bad = await startBadUpstream(tools.url);
  ({ app, url } = await startProxy({
    upstreams: [
      { name: 'tools', url: tools.url, transport: 'streamable-http', catalogRefreshSeconds: 0 },
      { name: 'bad', url: bad.url, transport: 'streamable-http', catalogRefreshSeconds: 0 },
    ],
    limits: { maxBodyBytes: 1024, allowedOrigins: [ALLOWED_ORIGIN] },
  }));
  session = await rawLegacySession(url, LEGACY);
}, 60_000);

afterAll(async () => {
  await app?.close();
  await bad?.close();
  await tools?.stop();
});

const STACK = /\bat .+:\d+:\d+|node:internal|\.ts:\d+/;
/** Every reply passes here, so a stack trace in any answer fails the test that provoked it. */
function clean(reply: RawReply): RawReply {
  expect(reply.text, 'a reply carries a stack trace').not.toMatch(STACK);
  return reply;
}
const post = async (body: unknown, headers: Record<string, string> = {}) =>
  clean(await rawPost(url, body, headers));
const send = async (opts: Parameters<typeof rawRequest>[1]) => clean(await rawRequest(url, opts));

/** A 2026-07-28 request: headers and body agree unless a test changes one of them. */
function modern(method: string, params: Record<string, unknown> = {}) {
  const name = (params.name ?? params.uri) as string | undefined;
  return modernRequest(method, params, 1, name);
}

const legacyBody = (method: string, params: Record<string, unknown> = {}, id = 1) => {
  return { jsonrpc: '2.0', id, method, params };
};

const echo = (text: string, id = 1) =>
  legacyBody('tools/call', { name: 'tools__echo', arguments: { text } }, id);

/** Both eras' ways of sending one request: [label, send(method, params)]. */
const eras: [string, (method: string, params: Record<string, unknown>) => Promise<RawReply>][] = [
  [
    'modern',
    (method, params) => {
      const { headers, body } = modern(method, params);
      return post(body, headers);
    },
  ],
  ['legacy', (method, params) => post(legacyBody(method, params), session)],
];

describe('malformed bodies', () => {
  it('answers invalid JSON with 400 / -32700 and a non-object body with 400 / -32600', async () => {
    for (const headers of [modern('tools/list').headers, session]) {
      expectError(await post('{"jsonrpc":', headers), 400, -32700, /not valid JSON/);
      for (const body of ['42', '"tools/list"', 'null'])
        expectError(await post(body, headers), 400, -32600, /must be a JSON-RPC message object/);
    }
  });

  it('rejects a batch on 2026-07-28 and in a 2025-11-25 session with 400', async () => {
    const { headers, body } = modern('tools/list');
    expectError(
      await post([body, body], headers),
      400,
      -32600,
      /batches are only allowed inside a 2025-03-26/,
    );
    expectError(
      await post([echo('x', 1), echo('x', 2)], session),
      400,
      -32600,
      /batches are not allowed in protocol version 2025-11-25/,
    );
  });

  it('accepts a batch of two tools/call in a 2025-03-26 session and answers both', async () => {
    const old = await rawLegacySession(url, '2025-03-26');
    const reply = await post([echo('one', 1), echo('two', 2)], old);
    expect(reply.status).toBe(200);
    const answers = messagesOf(reply) as { id: number; result: Record<string, unknown> }[];
    const byId = new Map(answers.map((a) => [a.id, a]));
    expect(byId.get(1)?.result.content).toEqual([{ type: 'text', text: 'one' }]);
    expect(byId.get(2)?.result.content).toEqual([{ type: 'text', text: 'two' }]);
    // A 2025-era client sees neither 2026-era fields nor the upstream's serverInfo.
    expect(byId.get(1)?.result.resultType).toBeUndefined();
    expect(JSON.stringify(answers)).not.toContain('serverInfo');
  });
});

describe('unknown names and wrong shapes', () => {
  it('answers an unknown method with -32601 (HTTP 404 on 2026-07-28)', async () => {
    const { headers, body } = modern('nope/nothing');
    expectError(await post(body, headers), 404, -32601, /Method not found/);
    expectError(await post(legacyBody('nope/nothing'), session), 200, -32601, /Method not found/);
  });

  it('names the unknown tool, prompt or resource in both eras', async () => {
    for (const [era, call] of eras) {
      const tool = await call('tools/call', { name: 'nope__x', arguments: {} });
      expectError(tool, 200, -32602, /unknown tool: nope__x/, 'UNKNOWN_TOOL');
      const prompt = await call('prompts/get', { name: 'nope__p' });
      expectError(prompt, 200, -32602, /unknown prompt: nope__p/, 'UNKNOWN_PROMPT');
      const resource = await call('resources/read', { uri: 'nope://x' });
      // 2026-07-28 answers an unknown resource with -32602 and data.uri (SEP-2164); 2025 used -32002.
      expectError(
        resource,
        200,
        era === 'modern' ? -32602 : -32002,
        /unknown resource: nope:\/\/x/,
        'UNKNOWN_RESOURCE',
      );
      expect(resource.json?.error?.data?.uri).toBe('nope://x');
    }
  });

  it('rejects tools/call arguments that are not an object with -32602', async () => {
    for (const [, call] of eras) {
      for (const [args, kind] of [
        ['str', 'string'],
        [[1], 'array'],
      ] as const) {
        const reply = await call('tools/call', { name: 'tools__echo', arguments: args });
        expectError(reply, 200, -32602, new RegExp(`arguments[\\s\\S]*expected record, received ${kind}`));
      }
    }
  });

  it("relays the upstream's own validation error for an argument of the wrong type", async () => {
    for (const [era, call] of eras) {
      const reply = await call('tools/call', { name: 'tools__add', arguments: { a: 'one', b: 2 } });
      expect(reply.status, era).toBe(200);
      expect(reply.json?.result?.isError).toBe(true);
      expect(reply.json?.result?.content).toEqual([{ type: 'text', text: 'a and b must be numbers' }]);
    }
  });
});

describe('limits and headers', () => {
  it('refuses a body over limits.maxBodyBytes with 413, with and without Content-Length', async () => {
    const { headers, body } = modern('tools/call', {
      name: 'tools__echo',
      arguments: { text: 'x'.repeat(2048) },
    });
    for (const chunked of [false, true]) {
      const reply = await send({ headers, body: JSON.stringify(body), chunked });
      expectError(reply, 413, -32600, /Payload Too Large: .*exceeds the 1024 byte limit/);
    }
  });

  it('answers an unsupported MCP-Protocol-Version with 400', async () => {
    const future = { 'io.modelcontextprotocol/protocolVersion': '2099-01-01' };
    const { headers, body } = modern('tools/list', { _meta: future });
    const reply = await post(body, { ...headers, 'mcp-protocol-version': '2099-01-01' });
    expectError(reply, 400, -32022, /Unsupported protocol version: 2099-01-01/);
    expect(reply.json?.error?.data).toMatchObject({ supported: [MODERN], requested: '2099-01-01' });
    // Header and envelope disagreeing is a mismatch, not an unsupported version.
    const plain = modern('tools/list');
    const mismatch = await post(plain.body, { ...plain.headers, 'mcp-protocol-version': '2099-01-01' });
    expectError(mismatch, 400, -32020, /header names 2099-01-01/);
    const garbage = await post(legacyBody('tools/list'), { ...session, 'mcp-protocol-version': 'garbage' });
    expectError(
      garbage,
      400,
      -32000,
      /Unsupported protocol version: garbage \(supported versions: 2025-11-25/,
    );
  });

  it('answers 2026-07-28 header/body disagreement with 400 / -32020', async () => {
    const { headers, body } = modern('tools/call', { name: 'tools__echo', arguments: { text: 'x' } });
    const wrongMethod = await post(body, { ...headers, 'mcp-method': 'tools/list' });
    expectError(
      wrongMethod,
      400,
      -32020,
      /body names method tools\/call but the Mcp-Method header names tools\/list/,
    );
    const wrongName = await post(body, { ...headers, 'mcp-name': 'tools__add' });
    expectError(
      wrongName,
      400,
      -32020,
      /params.name="tools__echo" but the Mcp-Name header names "tools__add"/,
    );
    const { 'mcp-method': _, ...noMethod } = headers;
    expectError(await post(body, noMethod), 400, -32020, /required Mcp-Method header is absent/);
  });

  it('answers a missing clientCapabilities envelope key with 400 / -32602', async () => {
    const { headers, body } = modern('tools/call', { name: 'tools__echo', arguments: { text: 'x' } });
    delete (body.params._meta as Record<string, unknown>)['io.modelcontextprotocol/clientCapabilities'];
    const reply = await post(body, headers);
    expectError(reply, 400, -32602, /io\.modelcontextprotocol\/clientCapabilities: missing/);
    expect(reply.json?.error?.data).toMatchObject({ envelope: { problem: 'missing' } });
  });

  it('answers a Content-Type other than JSON with 415', async () => {
    const { headers, body } = modern('tools/list');
    const reply = await send({
      headers: { ...headers, 'content-type': 'text/plain' },
      body: JSON.stringify(body),
    });
    expectError(reply, 415, -32600, /Content-Type must be application\/json/);
  });

  it('refuses a foreign browser Origin with 403 and allows localhost and listed origins', async () => {
    const { headers, body } = modern('tools/list');
    const evil = await post(body, { ...headers, origin: 'https://evil.example' });
    expectError(evil, 403, -32600, /Origin is not allowed .*limits\.allowedOrigins/);
    for (const origin of ['http://localhost:3000', ALLOWED_ORIGIN]) {
      const ok = await post(body, { ...headers, origin });
      expect(ok.status, origin).toBe(200);
      expect(ok.json?.result?.tools).toBeDefined();
    }
  });
});

describe('2025-era sessions', () => {
  it('needs a session id on a non-initialize request and 404s an unknown one', async () => {
    const none = await post(legacyBody('tools/list'), { 'mcp-protocol-version': LEGACY });
    expectError(none, 400, -32600, /needs an Mcp-Session-Id header \(send initialize first\)/);
    const unknown = await post(legacyBody('tools/list'), { ...session, 'mcp-session-id': 'no-such-session' });
    expectError(unknown, 404, -32001, /Session not found/);
  });

  it('answers GET and DELETE without a session with 405', async () => {
    for (const method of ['GET', 'DELETE']) {
      const reply = await send({ method });
      expectError(reply, 405, -32600, /GET and DELETE need a 2025-era Mcp-Session-Id/);
      expect(reply.headers.get('allow')).toBe('POST');
    }
  });

  it('ends a session on DELETE: the next request on it gets 404', async () => {
    const doomed = await rawLegacySession(url, LEGACY);
    expect((await send({ method: 'DELETE', headers: doomed })).status).toBe(200);
    expectError(await post(legacyBody('tools/list'), doomed), 404, -32001, /Session not found/);
  });
});

describe('an upstream that misbehaves', () => {
  it('turns a non-JSON answer or a mid-stream hang-up into UPSTREAM_ERROR, fast', async () => {
    for (const mode of ['garbage', 'hangup'] as const) {
      for (const [era, call] of eras) {
        const t0 = Date.now();
        const reply = await call('tools/call', { name: 'bad__echo', arguments: { text: mode } });
        expect(Date.now() - t0, `${mode} ${era}`).toBeLessThan(2_000);
        expect(reply.status).toBe(200);
        expect(['UPSTREAM_ERROR', 'UPSTREAM_UNAVAILABLE']).toContain(reply.json?.error?.data?.code);
        expect(reply.json?.error?.message).toMatch(/upstream "bad" (sent a response that is not|closed the)/);
      }
    }
    expect(bad.misbehaved).toEqual(['garbage', 'garbage', 'hangup', 'hangup']);
  });

  it('keeps serving that upstream and the others', async () => {
    for (const [era, call] of eras) {
      for (const name of ['bad__echo', 'tools__echo']) {
        const reply = await call('tools/call', { name, arguments: { text: `still ${era}` } });
        expect(reply.json?.result?.content, `${name} ${era}`).toEqual([
          { type: 'text', text: `still ${era}` },
        ]);
      }
    }
  });
});

describe('after all of that (and no reply ever carried a stack trace: see clean())', () => {
  it('still serves a normal tools/call in both eras, on the old session and a new one', async () => {
    const fresh = await rawLegacySession(url, LEGACY);
    const calls = [
      ...eras.map(([, call]) => call),
      (m: string, p: Record<string, unknown>) => post(legacyBody(m, p), fresh),
    ];
    for (const call of calls) {
      const reply = await call('tools/call', { name: 'tools__add', arguments: { a: 2, b: 40 } });
      expect(reply.status).toBe(200);
      expect(reply.json?.result?.structuredContent).toEqual({ sum: 42 });
    }
  });
});
