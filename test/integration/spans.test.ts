/**
 * A server span per MCP request, not only calls and lists: completion, resource subscriptions and
 * logging/setLevel of a 2025-era session reach a real OTLP/HTTP receiver with the caller's request id.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, legacyClient, SAMPLES, startProxy, TSX_NODE } from '../helpers/federation.ts';
import { SPAN_KIND, startOtlpReceiver } from '../helpers/otlp-receiver.ts';

let otlp: Awaited<ReturnType<typeof startOtlpReceiver>>;
let proxy: Awaited<ReturnType<typeof startProxy>>;

beforeAll(async () => {
  otlp = await startOtlpReceiver();
  proxy = await startProxy({
    upstreams: [{ name: 'content', command: [...TSX_NODE, SAMPLES.content] }],
    telemetry: { serviceName: 'spans-test', otlpEndpoint: otlp.url },
  });
}, 60_000);

afterAll(async () => {
  await proxy?.app.close();
  await otlp?.close();
});

describe('server spans', () => {
  it('cover completion, subscribe, unsubscribe and setLevel, each with its method and request id', async () => {
    const { client } = await legacyClient(proxy.url);
    try {
      const { resources } = await client.listResources();
      const uri = resources[0]!.uri;
      await client.subscribeResource({ uri });
      await client.unsubscribeResource({ uri });
      await client.setLoggingLevel('info');
      const { prompts } = await client.listPrompts();
      const prompt = prompts.find((p) => p.arguments?.length)!;
      await client.complete({
        ref: { type: 'ref/prompt', name: prompt.name },
        argument: { name: prompt.arguments![0]!.name, value: '' },
      });
    } finally {
      await client.close();
    }
    const wanted = [
      'resources/subscribe',
      'resources/unsubscribe',
      'logging/setLevel',
      'completion/complete',
    ];
    const spans = await eventually(() => {
      const found = otlp.spans.filter((s) => s.service === 'spans-test' && wanted.includes(s.name));
      if (new Set(found.map((s) => s.name)).size < wanted.length) throw new Error('not all spans yet');
      return found;
    });
    for (const s of spans) {
      expect(s.kind).toBe(SPAN_KIND.server);
      expect(s.attributes['mcp.request.id']).toMatch(/.+/);
    }
  }, 30_000);
});
