import { it } from 'vitest';
import { startServer } from '../../helpers/spawn-server.ts';
it('perf raw', async () => {
  const s = await startServer('upstreams/tools-server.ts', []);
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'x' }, _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/clientInfo': { name: 'x', version: '1' } } } });
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'echo' };
  const r = await fetch(s.url, { method: 'POST', headers, body }); console.log(r.status, await r.text());
  const t = Date.now();
  await Promise.all(Array.from({ length: 32 }, async () => { for (let i = 0; i < 200; i++) { const r = await fetch(s.url, { method: 'POST', headers, body }); await r.text(); } }));
  console.log('raw c32 rps', Math.round(6400 / ((Date.now() - t) / 1000)));
  await s.stop();
}, 120_000);
