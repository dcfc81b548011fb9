/**
 * Input requests bridged in all four era combinations (DESIGN.md, "Two protocol eras"), on one
 * replica and across two replicas sharing a real Redis:
 * - a 2025-era upstream (SDK v1 fixture) asks with a server-initiated elicitation/create or
 *   sampling/createMessage on its call's stream;
 * - a 2026-07-28 upstream (SDK v2 fixture) asks with an MRTR `input_required` result;
 * - a 2026-07-28 client (SDK v2, auto-fulfilling MRTR through its own handlers) answers with a retry,
 *   which may reach the other replica;
 * - a 2025-era client (SDK v1 with a session) answers a server-initiated request on its stream, and
 *   POSTs the answer to whichever replica its fetch picks.
 * PII hooks apply to the exchange both ways, and a parked call whose replica died gives
 * INPUT_REQUEST_EXPIRED.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { MODERN, modernRequest, rawPost, SAMPLES, startProxy, TSX_NODE } from '../helpers/federation.ts';
import { privateRedis, type TestRedis } from '../helpers/redis.ts';
import { type StartedServer, startServer } from '../helpers/spawn-server.ts';

const MRTR_FIXTURE = 'test/fixtures/mrtr-server.ts';
const STATE_KEY = 'input-bridging-request-state-key-0123456789';
const VAULT_KEY = 'input-bridging-vault-key-0123456789abcdef';

let legacyUp: StartedServer;
let modernUp: StartedServer;
let redis: TestRedis;
let recordFile: string;
let config: Record<string, unknown>;
const replicas: { app: App; url: string }[] = [];
let a: string;
let b: string;

beforeAll(async () => {
  recordFile = join(mkdtempSync(join(tmpdir(), 'mcp-fed-bridge-')), 'received.jsonl');
  [legacyUp, modernUp, redis] = await Promise.all([
    startServer(SAMPLES.legacy, ['--port', '0']),
    startServer(MRTR_FIXTURE, ['--port', '0', '--record', recordFile]),
    privateRedis({ own: true }),
  ]);
  config = {
    upstreams: [
      { name: 'legacy', url: legacyUp.url, catalogRefreshSeconds: 0 },
      { name: 'modern', url: modernUp.url, catalogRefreshSeconds: 0 },
      // The SDK-client path: a 2025-era upstream over stdio (no per-call stream to tie requests to).
      {
        name: 'lstdio',
        command: [...TSX_NODE, SAMPLES.legacy, '--transport', 'stdio'],
        catalogRefreshSeconds: 0,
      },
    ],
    store: { kind: 'redis', url: redis.url, keyPrefix: `mcp-fed-bridge:${randomUUID().slice(0, 8)}:` },
    pii: { mode: 'tokenize' },
    secrets: { vaultKey: VAULT_KEY, requestStateKey: STATE_KEY },
  };
  for (let i = 0; i < 2; i++) replicas.push(await startProxy(config));
  [a, b] = replicas.map((r) => r.url) as [string, string];
}, 60_000);

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.app.close()));
  await Promise.all([legacyUp?.stop(), modernUp?.stop(), redis?.stop()]);
});

/** A fetch that sends each request to the next URL of `urls` in turn (a round-robin balancer). */
function roundRobin(urls: string[]): typeof fetch {
  let next = 0;
  return (_input, init) => {
    const target = urls[next++ % urls.length]!;
    return fetch(target, init);
  };
}

/** What the simulated user and model answer, and what they were shown (to check PII on the way). */
interface Seen {
  elicitations: string[];
  samplings: string[];
}

const ANSWER = 'yes, go ahead';
const MODEL_SAYS = 'forty-two';

async function modernUser(urls: string[], seen: Seen, capabilities = true): Promise<Client> {
  const client = new Client(
    { name: 'bridge-modern', version: '1.0.0' },
    {
      versionNegotiation: { mode: { pin: MODERN } },
      capabilities: capabilities ? { elicitation: { form: {} }, sampling: {} } : {},
    },
  );
  if (capabilities) {
    client.setRequestHandler('elicitation/create', async (req) => {
      seen.elicitations.push(String(req.params.message));
      return { action: 'accept', content: { answer: ANSWER } };
    });
    client.setRequestHandler('sampling/createMessage', async (req) => {
      const first = req.params.messages[0]?.content as { text?: string };
      seen.samplings.push(String(first?.text));
      return { role: 'assistant', model: 'test-model', content: { type: 'text', text: MODEL_SAYS } };
    });
  }
  await client.connect(new StreamableHTTPClientTransport(new URL(urls[0]!), { fetch: roundRobin(urls) }));
  return client;
}

async function legacyUser(urls: string[], seen: Seen): Promise<{ client: V1Client; transport: V1Transport }> {
  const client = new V1Client(
    { name: 'bridge-legacy', version: '1.0.0' },
    { capabilities: { elicitation: {}, sampling: {} } },
  );
  client.setRequestHandler(ElicitRequestSchema, async (req) => {
    seen.elicitations.push(String(req.params.message));
    return { action: 'accept', content: { answer: ANSWER } };
  });
  client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
    const first = req.params.messages[0]?.content as { text?: string };
    seen.samplings.push(String(first?.text));
    return { role: 'assistant', model: 'test-model', content: { type: 'text', text: MODEL_SAYS } };
  });
  const transport = new V1Transport(new URL(urls[0]!), { fetch: roundRobin(urls) as never });
  await client.connect(transport);
  return { client, transport };
}

const textOf = (r: unknown) => (r as { content: { text?: string }[] }).content[0]?.text;

/**
 * The matrix: each cell names the tool, what the user or model is shown, and the result the client
 * gets. The legacy fixture's `ask` returns the answer itself, `sample` the model's text; the modern
 * fixture's `confirm` and `sample` wrap them.
 */
const CELLS = [
  {
    upstream: 'legacy',
    tool: 'legacy__ask',
    args: { question: 'Deploy now?' },
    shown: 'Deploy now?',
    kind: 'elicitation',
    result: ANSWER,
  },
  {
    upstream: 'legacy',
    tool: 'legacy__sample',
    args: { prompt: 'What is six times seven?' },
    shown: 'What is six times seven?',
    kind: 'sampling',
    result: MODEL_SAYS,
  },
  // Over stdio the request is tied to the one call in flight (the SDK-client path).
  {
    upstream: 'lstdio',
    tool: 'lstdio__ask',
    args: { question: 'Over stdio?' },
    shown: 'Over stdio?',
    kind: 'elicitation',
    result: ANSWER,
  },
  {
    upstream: 'lstdio',
    tool: 'lstdio__sample',
    args: { prompt: 'Via stdio?' },
    shown: 'Via stdio?',
    kind: 'sampling',
    result: MODEL_SAYS,
  },
  {
    upstream: 'modern',
    tool: 'modern__confirm',
    args: { action: 'deploy' },
    shown: 'Confirm deploy?',
    kind: 'elicitation',
    result: `confirmed deploy: ${ANSWER}`,
  },
  {
    upstream: 'modern',
    tool: 'modern__sample',
    args: { prompt: 'What is six times seven?' },
    shown: 'What is six times seven?',
    kind: 'sampling',
    result: `model said: ${MODEL_SAYS}`,
  },
] as const;

describe('input requests across eras', () => {
  it('connects to each upstream in the era it speaks', async () => {
    const ready = await (await fetch(a.replace('/mcp', '/readyz'))).json();
    const eras = Object.fromEntries(
      ready.upstreams.map((u: { name: string; era: string }) => [u.name, u.era]),
    );
    expect(eras).toEqual({ legacy: 'legacy', modern: 'modern', lstdio: 'legacy' });
  });

  for (const replicasUsed of ['one replica', 'two replicas'] as const) {
    describe(`2026-07-28 client, ${replicasUsed}`, () => {
      for (const cell of CELLS) {
        it(`${cell.tool} (${cell.upstream} upstream, ${cell.kind}) → "${cell.result}"`, async () => {
          const seen: Seen = { elicitations: [], samplings: [] };
          const client = await modernUser(replicasUsed === 'one replica' ? [a] : [a, b], seen);
          try {
            expect(client.getProtocolEra()).toBe('modern');
            const result = await client.callTool({ name: cell.tool, arguments: cell.args });
            expect(textOf(result)).toBe(cell.result);
            expect(cell.kind === 'elicitation' ? seen.elicitations : seen.samplings).toEqual([cell.shown]);
          } finally {
            await client.close();
          }
        });
      }
    });

    describe(`2025-11-25 client, ${replicasUsed}`, () => {
      for (const cell of CELLS) {
        it(`${cell.tool} (${cell.upstream} upstream, ${cell.kind}) → "${cell.result}"`, async () => {
          const seen: Seen = { elicitations: [], samplings: [] };
          const { client, transport } = await legacyUser(replicasUsed === 'one replica' ? [a] : [a, b], seen);
          try {
            expect(transport.protocolVersion).toBe('2025-11-25');
            const result = await client.callTool({ name: cell.tool, arguments: cell.args });
            expect(textOf(result)).toBe(cell.result);
            expect(cell.kind === 'elicitation' ? seen.elicitations : seen.samplings).toEqual([cell.shown]);
          } finally {
            await client.close();
          }
        });
      }
    });
  }

  it('shows the user its own values and sends the upstream only tokens, both eras of upstream', async () => {
    const email = 'alice.smith@example.com';
    const seen: Seen = { elicitations: [], samplings: [] };
    const client = await modernUser([a, b], seen);
    try {
      const result = await client.callTool({
        name: 'modern__confirm',
        arguments: { action: `mail ${email}` },
      });
      // The upstream asked about a token; the person was shown the address itself.
      expect(seen.elicitations).toEqual([`Confirm mail ${email}?`]);
      expect(textOf(result)).toBe(`confirmed mail ${email}: ${ANSWER}`);
      const legacy = await client.callTool({
        name: 'legacy__ask',
        arguments: { question: `Write to ${email}?` },
      });
      expect(seen.elicitations[1]).toBe(`Write to ${email}?`);
      expect(textOf(legacy)).toBe(ANSWER);
    } finally {
      await client.close();
    }
    // An answer with PII in it reaches the upstream as a token.
    const leaky: Seen = { elicitations: [], samplings: [] };
    const other = new Client(
      { name: 'bridge-pii', version: '1.0.0' },
      { versionNegotiation: { mode: { pin: MODERN } }, capabilities: { elicitation: { form: {} } } },
    );
    other.setRequestHandler('elicitation/create', async (req) => {
      leaky.elicitations.push(String(req.params.message));
      return { action: 'accept', content: { answer: `reply to ${email}` } };
    });
    await other.connect(new StreamableHTTPClientTransport(new URL(b), { fetch: roundRobin([b, a]) }));
    try {
      const result = await other.callTool({ name: 'modern__confirm', arguments: { action: 'reply' } });
      expect(textOf(result)).toBe(`confirmed reply: reply to ${email}`);
    } finally {
      await other.close();
    }
    const received = readFileSync(recordFile, 'utf8');
    expect(received).not.toContain(email);
    expect(received).toMatch(/"answer":"reply to <EMAIL_[^"]+>"/);
  });

  it('tells the upstream a 2026-07-28 client without the capability cannot be asked, instead of hanging', async () => {
    const seen: Seen = { elicitations: [], samplings: [] };
    const client = await modernUser([a], seen, false);
    try {
      const result = (await client.callTool({ name: 'legacy__ask', arguments: { question: 'Deploy?' } })) as {
        isError?: boolean;
        content: { text?: string }[];
      };
      expect(result.isError).toBe(true);
      expect(result.content[0]?.text).toMatch(/elicitation capability/);
    } finally {
      await client.close();
    }
  });

  it('answers a retry for a parked call whose replica is gone with INPUT_REQUEST_EXPIRED, and a new call works', async () => {
    const doomed = await startProxy(config);
    const { headers, body } = modernRequest(
      'tools/call',
      {
        name: 'legacy__ask',
        arguments: { question: 'Still there?' },
        _meta: { 'io.modelcontextprotocol/clientCapabilities': { elicitation: { form: {} } } },
      },
      1,
      'legacy__ask',
    );
    const first = await rawPost(doomed.url, body, headers);
    const asked = first.json?.result as {
      resultType: string;
      requestState: string;
      inputRequests: Record<string, unknown>;
    };
    expect(asked.resultType).toBe('input_required');
    const [key] = Object.keys(asked.inputRequests);
    await doomed.app.close();
    const retry = modernRequest(
      'tools/call',
      {
        name: 'legacy__ask',
        arguments: { question: 'Still there?' },
        inputResponses: { [key!]: { action: 'accept', content: { answer: ANSWER } } },
        requestState: asked.requestState,
        _meta: { 'io.modelcontextprotocol/clientCapabilities': { elicitation: { form: {} } } },
      },
      2,
      'legacy__ask',
    );
    const expired = await rawPost(a, retry.body, retry.headers);
    expect(expired.json?.error?.data?.code).toBe('INPUT_REQUEST_EXPIRED');
    // A forged state is refused as such, not resumed.
    const forged = modernRequest(
      'tools/call',
      {
        name: 'legacy__ask',
        arguments: { question: 'Still there?' },
        requestState: `${asked.requestState.slice(0, -4)}AAAA`,
      },
      3,
      'legacy__ask',
    );
    const refused = await rawPost(b, forged.body, forged.headers);
    expect(refused.json?.error?.data?.code).toBe('INVALID_REQUEST');
    // Starting over works.
    const again = await rawPost(b, body, headers);
    expect(again.json?.result?.resultType).toBe('input_required');
  });

  it("ignores an answer POSTed in another session, even with the request's id", async () => {
    const init = await rawPost(a, {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: '2025-11-25',
        capabilities: {},
        clientInfo: { name: 'thief', version: '1' },
      },
    });
    const thief = {
      'mcp-session-id': init.headers.get('mcp-session-id')!,
      'mcp-protocol-version': '2025-11-25',
    };
    await rawPost(a, { jsonrpc: '2.0', method: 'notifications/initialized' }, thief);
    const client = new V1Client({ name: 'victim', version: '1.0.0' }, { capabilities: { elicitation: {} } });
    let stolen: number | undefined;
    client.setRequestHandler(ElicitRequestSchema, async (_req, extra) => {
      const hijack = await rawPost(
        b,
        {
          jsonrpc: '2.0',
          id: extra.requestId,
          result: { action: 'accept', content: { answer: 'HIJACKED' } },
        },
        thief,
      );
      stolen = hijack.status;
      return { action: 'accept', content: { answer: ANSWER } };
    });
    await client.connect(new V1Transport(new URL(a)));
    try {
      const result = await client.callTool({ name: 'legacy__ask', arguments: { question: 'Mine?' } });
      expect(stolen).toBe(202);
      expect(textOf(result)).toBe(ANSWER);
    } finally {
      await client.close();
    }
  });
});
