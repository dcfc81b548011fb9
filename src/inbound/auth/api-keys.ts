import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { InboundAuthConfig } from '../../config/schema.ts';
import type { Caller } from '../../hooks/pipeline.ts';
import { apiKeyOf } from './credentials.ts';
import type { Authenticator, AuthOutcome } from './types.ts';

type ApiKeysConfig = Extract<InboundAuthConfig, { kind: 'apiKeys' }>;

const digest = (key: string) => createHash('sha256').update(key).digest();

/**
 * `inbound.auth: apiKeys`. Keys are compared as SHA-256 digests with `timingSafeEqual`, against every
 * configured key without stopping at a match, so neither the key's content nor its position in the
 * list shows in the response time. Only the digests are kept.
 */
export function apiKeyAuth(config: ApiKeysConfig): Authenticator {
  const entries = config.keys.map((k) => ({
    digest: digest(k.key),
    caller: { id: k.caller, groups: Object.freeze([...k.groups]), kind: 'apiKey' } as Caller,
  }));
  return {
    kind: 'apiKeys',
    authenticate(req: IncomingMessage): AuthOutcome {
      const presented = apiKeyOf(req);
      if (!presented) return { ok: false, reason: 'missing', description: 'an API key is required' };
      const d = digest(presented);
      let found: Caller | undefined;
      for (const e of entries) if (timingSafeEqual(e.digest, d) && !found) found = e.caller;
      return found
        ? { ok: true, caller: found }
        : { ok: false, reason: 'invalid', description: 'the API key is not valid' };
    },
  };
}
