/**
 * Chained proxies over real sockets: edge → core → tools-server with tracing to a real OTLP/HTTP
 * receiver (one trace, correct parent links, trace context in the upstream's headers and `_meta`, audit
 * records of both proxies sharing request id and trace id), and a loop A → B → A that ends with
 * HOP_LIMIT for calls and lists and whose catalogs converge instead of growing forever.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/lib/free-port.ts';
import { type App, createApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { silentLogger } from '../../src/log.ts';
import { eventually, modernRequest, rawPost, SAMPLES, startProxy } from '../helpers/federation.ts';
import { readAudit } from '../helpers/governance.ts';
import { type ReceivedSpan, SPAN_KIND, startOtlpReceiver } from '../helpers/otlp-receiver.ts';
import { type StartedServer, startServer } from '../helpers/spawn-server.ts';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

let tools: StartedServer;
let otlp: Awaited<ReturnType<typeof startOtlpReceiver>>;
let dir: string;
const apps: App[] = [];

/** Like startProxy, on a given port (proxies of a loop must know each other's URL before starting). */
async function proxyOn(port: number, raw: Record<string, unknown>): Promise<string> {
  const parsed = parseConfig({
    listen: { host: '127.0.0.1', port, path: '/mcp' },
    audit: { sink: 'off' },
    ...raw,
  });
  if (!parsed.ok) throw new Error(`bad test config: ${JSON.stringify(parsed.problems)}`);
  const app = await createApp(parsed.config, { log: silentLogger, upstreamWaitMs: 500 });
  apps.push(app);
  return app.listen(port, '127.0.0.1');
}

function toolCall(name: string, args: Record<string, unknown> = {}) {
  return modernRequest('tools/call', { name, arguments: args }, 1, name);
}

async function listTools(url: string, headers: Record<string, string> = {}) {
  const req = modernRequest('tools/list');
  return rawPost(url, req.body, { ...req.headers, ...headers });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-fed-chain-'));
  [tools, otlp] = await Promise.all([startServer(SAMPLES.tools, ['--port', '0']), startOtlpReceiver()]);
}, 30_000);

afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
  await Promise.all([tools?.stop(), otlp?.close()]);
  await rm(dir, { recursive: true, force: true });
});

describe('edge → core → tools-server', () => {
  let edgeUrl: string;
  const edgeAudit = () => join(dir, 'edge.jsonl');
  const coreAudit = () => join(dir, 'core.jsonl');

  beforeAll(async () => {
    const core = await startProxy({
      upstreams: [{ name: 'tools', url: tools.url, catalogRefreshSeconds: 0 }],
      telemetry: { serviceName: 'core', otlpEndpoint: otlp.url },
      audit: { sink: 'file', path: coreAudit() },
    });
    apps.push(core.app);
    const edge = await startProxy({
      upstreams: [{ name: 'core', url: core.url, catalogRefreshSeconds: 0 }],
      telemetry: { serviceName: 'edge', otlpEndpoint: otlp.url },
      audit: { sink: 'file', path: edgeAudit() },
    });
    apps.push(edge.app);
    edgeUrl = edge.url;
  }, 30_000);

  it('namespaces the core names again and stamps the proxies crossed', async () => {
    const reply = await listTools(edgeUrl);
    const listed = reply.json?.result?.tools as { name: string; _meta?: Record<string, unknown> }[];
    const whoami = listed.find((t) => t.name === 'core__tools__whoami');
    expect(whoami?._meta?.['mcp-fed/hops']).toBe(2);
    // Lists are traced too (SDK path): a server span of the edge.
    await eventually(() => {
      const span = otlp.spans.find((x) => x.service === 'edge' && x.name === 'tools/list');
      expect(span?.kind).toBe(SPAN_KIND.server);
    });
  });

  it('is one trace across both proxies, seen by the upstream in headers and _meta', async () => {
    const req = toolCall('core__tools__whoami');
    const reply = await rawPost(edgeUrl, req.body, {
      ...req.headers,
      'x-request-id': 'chain-req-1',
      traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01`,
      tracestate: 'vendor=abc',
    });
    expect(reply.json?.error).toBeUndefined();
    const content = reply.json?.result?.content as { text: string }[];
    const seen = JSON.parse(content[0]?.text ?? '{}') as {
      headers: Record<string, string>;
      _meta: Record<string, unknown>;
    };
    expect(seen.headers['x-request-id']).toBe('chain-req-1');
    expect(seen.headers['x-mcp-fed-hops']).toBe('2');
    expect(seen._meta['mcp-fed/hops']).toBe(2);
    expect(seen._meta['mcp-fed/requestId']).toBe('chain-req-1');
    const headerTp = seen.headers.traceparent?.split('-') ?? [];
    const metaTp = String(seen._meta.traceparent).split('-');
    expect(headerTp[1]).toBe(TRACE_ID);
    expect(metaTp[1]).toBe(TRACE_ID);
    expect(seen.headers.tracestate).toBe('vendor=abc');

    const spans = await eventually(() => {
      const mine = otlp.spans.filter((s) => s.traceId === TRACE_ID);
      if (mine.length < 4) throw new Error(`only ${mine.length} spans so far`);
      return mine;
    });
    const find = (service: string, kind: number): ReceivedSpan => {
      const s = spans.find((x) => x.service === service && x.kind === kind);
      if (!s) throw new Error(`no ${service} span of kind ${kind}`);
      return s;
    };
    const edgeServer = find('edge', SPAN_KIND.server);
    const edgeClient = find('edge', SPAN_KIND.client);
    const coreServer = find('core', SPAN_KIND.server);
    const coreClient = find('core', SPAN_KIND.client);
    expect(edgeServer.parentSpanId).toBe(CALLER_SPAN);
    expect(edgeClient.parentSpanId).toBe(edgeServer.spanId);
    expect(coreServer.parentSpanId).toBe(edgeClient.spanId);
    expect(coreClient.parentSpanId).toBe(coreServer.spanId);
    // The upstream's parent is the core's client span, in headers and in _meta alike.
    expect(headerTp[2]).toBe(coreClient.spanId);
    expect(metaTp[2]).toBe(coreClient.spanId);
    expect(edgeServer.attributes).toMatchObject({
      'mcp.method.name': 'tools/call',
      'gen_ai.tool.name': 'core__tools__whoami',
      'mcp.request.id': 'chain-req-1',
      'enduser.id': 'anonymous',
      'mcp_fed.upstream': 'core',
    });
    expect(coreServer.attributes).toMatchObject({
      'gen_ai.tool.name': 'tools__whoami',
      'mcp.request.id': 'chain-req-1',
      'mcp_fed.hops': 2,
    });
    expect(coreClient.attributes).toMatchObject({
      'mcp_fed.upstream': 'tools',
      'mcp_fed.upstream.name': 'whoami',
    });
    expect(otlp.contentTypes.every((t) => t.startsWith('application/json'))).toBe(true);

    const [edgeRec, coreRec] = await eventually(() => {
      const e = readAudit(edgeAudit()).find((r) => r.request_id === 'chain-req-1');
      const c = readAudit(coreAudit()).find((r) => r.request_id === 'chain-req-1');
      if (!e || !c) throw new Error('audit records not written yet');
      return [e, c];
    });
    expect(edgeRec).toMatchObject({ trace_id: TRACE_ID, hops: 1, tool_name: 'core__tools__whoami' });
    expect(coreRec).toMatchObject({ trace_id: TRACE_ID, hops: 2, tool_name: 'tools__whoami' });
  });

  it('starts a trace for a request that came without one, and audits its trace id', async () => {
    const req = toolCall('core__tools__echo', { text: 'hi' });
    const reply = await rawPost(edgeUrl, req.body, { ...req.headers, 'x-request-id': 'chain-req-2' });
    expect(reply.json?.error).toBeUndefined();
    const [edgeRec, coreRec] = await eventually(() => {
      const e = readAudit(edgeAudit()).find((r) => r.request_id === 'chain-req-2');
      const c = readAudit(coreAudit()).find((r) => r.request_id === 'chain-req-2');
      if (!e || !c) throw new Error('audit records not written yet');
      return [e, c];
    });
    expect(edgeRec?.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(coreRec?.trace_id).toBe(edgeRec?.trace_id);
    await eventually(() => {
      const services = new Set(
        otlp.spans.filter((s) => s.traceId === edgeRec?.trace_id).map((s) => s.service),
      );
      expect([...services].sort()).toEqual(['core', 'edge']);
    });
  });
});

describe('loop A → B → A', () => {
  let aUrl: string;
  let bUrl: string;
  const MAX_HOPS = 4;

  beforeAll(async () => {
    const [aPort, bPort] = await Promise.all([freePort(), freePort()]);
    const url = (p: number) => `http://127.0.0.1:${p}/mcp`;
    const chain = { maxHops: MAX_HOPS };
    aUrl = await proxyOn(aPort, {
      upstreams: [
        { name: 'tools', url: tools.url, catalogRefreshSeconds: 0 },
        { name: 'b', url: url(bPort), catalogRefreshSeconds: 1 },
      ],
      chain,
    });
    bUrl = await proxyOn(bPort, {
      upstreams: [{ name: 'a', url: url(aPort), catalogRefreshSeconds: 1 }],
      chain,
    });
  }, 30_000);

  const names = async (url: string) => {
    const listed = ((await listTools(url)).json?.result?.tools ?? []) as { name: string }[];
    return listed.map((t) => t.name).sort();
  };

  it('catalogs converge: entries past chain.maxHops are dropped', async () => {
    // Prefixes = proxies crossed. A: tools__x (1 hop), b__a__tools__x (3); B: a__tools__x (2), a__b__a__tools__x (4); nothing deeper.
    await eventually(async () => {
      expect(await names(bUrl)).toContain('a__b__a__tools__echo');
    }, 15_000);
    const a1 = await names(aUrl);
    const b1 = await names(bUrl);
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await names(aUrl)).toEqual(a1);
    expect(await names(bUrl)).toEqual(b1);
    expect(a1).toContain('b__a__tools__echo');
    expect(a1.every((n) => n.split('__').length <= MAX_HOPS + 1)).toBe(true);
    expect(b1.every((n) => n.split('__').length <= MAX_HOPS + 1)).toBe(true);
    expect(a1.length).toBe(b1.length);
  }, 30_000);

  it('a call going round the loop ends with HOP_LIMIT', async () => {
    const req = toolCall('b__a__tools__echo', { text: 'x' });
    // Arrives having crossed 2 proxies: A is the 3rd, B the 4th, A again the 5th (> maxHops).
    const reply = await rawPost(aUrl, req.body, { ...req.headers, 'x-mcp-fed-hops': '2' });
    expect(reply.json?.error?.code).toBe(-32047);
    expect(JSON.stringify(reply.json?.error)).toContain('HOP_LIMIT');
    const ok = await rawPost(aUrl, req.body, req.headers);
    expect(ok.json?.error).toBeUndefined();
  });

  it('a list that crossed too many proxies fails with HOP_LIMIT', async () => {
    const reply = await listTools(aUrl, { 'x-mcp-fed-hops': String(MAX_HOPS) });
    expect(reply.json?.error?.code).toBe(-32047);
    expect((await listTools(aUrl, { 'x-mcp-fed-hops': String(MAX_HOPS - 1) })).json?.error).toBeUndefined();
  });
});
