/**
 * Proxy configs per governance level. Adding a bench row for a new feature (auth, Redis, a chain)
 * should be another entry here, not a change to the measuring code.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type Governance = 'off' | 'on';

export interface ProxySetup {
  configPath: string;
  /** Where audit records land when governance is on; used to prove the hooks actually ran. */
  auditPath?: string;
}

export function writeProxyConfig(governance: Governance, upstreamUrl: string, dir: string): ProxySetup {
  const base = {
    listen: { host: '127.0.0.1', port: 0, path: '/mcp' },
    upstreams: [{ name: 'tools', url: upstreamUrl, transport: 'streamable-http' }],
  };
  const auditPath = join(dir, 'audit.jsonl');
  // "off" must be explicit for audit: the proxy's default sink is stdout, which is governance work.
  const config =
    governance === 'off'
      ? { ...base, audit: { sink: 'off' }, pii: { mode: 'off' } }
      : {
          ...base,
          policies: {
            acl: [{ callers: ['anonymous'], allow: ['tools__*'] }],
            // High enough never to trigger: the row measures the limiter's bookkeeping, not a 429.
            rateLimits: [{ callers: ['*'], tools: ['*'], perMinute: 100_000_000 }],
          },
          pii: { mode: 'tokenize', detokenizeResponses: true },
          audit: { sink: 'file', path: auditPath },
        };
  const configPath = join(dir, `proxy-governance-${governance}.json`);
  writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);
  return governance === 'on' ? { configPath, auditPath } : { configPath };
}
