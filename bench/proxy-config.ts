/**
 * Proxy configs per governance level. Adding a bench row for a new feature (auth, Redis, a chain)
 * should be another entry here, not a change to the measuring code.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startIssuer } from './jwt-issuer.ts';

export type Governance = 'off' | 'on';

export interface ProxySetup {
  configPath: string;
  /** Where audit records land when governance is on; used to prove the hooks actually ran. */
  auditPath?: string;
  /** Headers the load client sends to the proxy (the bearer token when inbound auth is on). */
  headers?: Record<string, string>;
  /** Stops what the setup started (the JWT issuer). */
  close(): Promise<void>;
}

const CALLER = 'bench-client';

export async function writeProxyConfig(
  governance: Governance,
  upstreamUrl: string,
  dir: string,
): Promise<ProxySetup> {
  const base = {
    listen: { host: '127.0.0.1', port: 0, path: '/mcp' },
    upstreams: [{ name: 'tools', url: upstreamUrl, transport: 'streamable-http' }],
  };
  const configPath = join(dir, `proxy-governance-${governance}.json`);
  if (governance === 'off') {
    // "off" must be explicit for audit: the proxy's default sink is stdout, which is governance work.
    const config = { ...base, audit: { sink: 'off' }, pii: { mode: 'off' } };
    writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);
    return { configPath, close: async () => {} };
  }
  // Fully on (issue 5, Performance): JWT inbound auth, ACL, rate limit, PII tokenize, audit to a file.
  const issuer = await startIssuer(CALLER);
  const auditPath = join(dir, 'audit.jsonl');
  const config = {
    ...base,
    inbound: {
      auth: { kind: 'jwt', issuer: issuer.issuer, audience: issuer.audience, jwksUri: issuer.jwksUri },
    },
    policies: {
      acl: [{ callers: [CALLER], allow: ['tools__*'], deny: ['tools__add_tool', 'tools__remove_tool'] }],
      // High enough never to trigger: the row measures the limiter's bookkeeping, not a refusal.
      rateLimits: [{ callers: ['*'], tools: ['*'], perMinute: 100_000_000 }],
    },
    pii: { mode: 'tokenize', detokenizeResponses: true },
    audit: { sink: 'file', path: auditPath },
  };
  writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);
  return {
    configPath,
    auditPath,
    headers: { authorization: `Bearer ${issuer.token}` },
    close: () => issuer.close(),
  };
}
