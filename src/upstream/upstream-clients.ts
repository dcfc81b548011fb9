import { Client } from '@modelcontextprotocol/client';
import type { UpstreamConfig } from '../config/schema.ts';
import type { Logger } from '../log.ts';
import type { UpstreamAuth } from './auth/index.ts';
import type { SdkCalls } from './sdk-calls.ts';
import { createTransport } from './transport-factory.ts';
import type { ListKind } from './upstream-lists.ts';
import type { SessionBinding } from './upstream-sessions.ts';

/**
 * What the proxy's own upstream session declares, so 2025-era upstreams may ask for input: each
 * request is relayed to the client of the call it belongs to (src/bridge/), which may still refuse it.
 */
export const PROXY_CAPABILITIES = { elicitation: { form: {}, url: {} }, sampling: {}, roots: {} };

/** The proxy's own SDK client of an upstream; its list_changed notifications re-list through `relist`. */
export function createProxyClient(config: UpstreamConfig, relist: (kinds: ListKind[]) => void): Client {
  return new Client(
    { name: 'mcp-fed', version: '0.1.0' },
    {
      capabilities: PROXY_CAPABILITIES,
      versionNegotiation: { mode: 'auto', probe: { timeoutMs: Math.min(config.timeoutMs, 10_000) } },
      listChanged: {
        tools: { autoRefresh: false, debounceMs: 20, onChanged: () => relist(['tools']) },
        prompts: { autoRefresh: false, debounceMs: 20, onChanged: () => relist(['prompts']) },
        resources: {
          autoRefresh: false,
          debounceMs: 20,
          onChanged: () => relist(['resources', 'resourceTemplates']),
        },
      },
    },
  );
}

/**
 * A stdio child of its own for one downstream session, declared with that client's capabilities.
 * Its catalog is the shared one's (same command); its notifications outside calls are dropped.
 */
export async function spawnSessionChild(
  config: UpstreamConfig,
  binding: SessionBinding,
  sdk: SdkCalls,
  auth: UpstreamAuth | undefined,
  log: Logger,
): Promise<Client> {
  const capabilities = binding.clientCapabilities ?? {};
  const client = new Client(
    { name: 'mcp-fed', version: '0.1.0' },
    {
      capabilities,
      versionNegotiation: { mode: 'auto', probe: { timeoutMs: Math.min(config.timeoutMs, 10_000) } },
    },
  );
  sdk.attach(client, capabilities);
  client.fallbackNotificationHandler = async (n) => {
    log.debug({ upstream: config.name, method: n.method }, 'per-session child notification dropped');
  };
  const transport = createTransport(
    config,
    (line) => log.debug({ upstream: config.name, stderr: line }),
    auth,
  );
  await client.connect(transport, { timeout: Math.min(config.timeoutMs, 10_000) });
  return client;
}
