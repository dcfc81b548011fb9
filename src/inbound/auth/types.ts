import type { IncomingMessage } from 'node:http';
import type { Caller } from '../../hooks/pipeline.ts';

/**
 * What inbound auth concluded about one HTTP request. `missing` and `invalid` answer 401 (RFC 6750
 * error codes); `unavailable` means the proxy could not check the credential (the issuer's JWKS is
 * unreachable), which is not the caller's fault: 503. `forbidden` (403): the credential is good but the
 * request asks for more than it allows (a caller assertion from an untrusted caller, or a bad one).
 */
export type AuthOutcome =
  | { ok: true; caller: Caller }
  | { ok: false; reason: 'missing' | 'invalid' | 'unavailable' | 'forbidden'; description: string };

/** One inbound auth scheme (`inbound.auth.kind`). Never logs or echoes a credential. */
export interface Authenticator {
  readonly kind: 'none' | 'apiKeys' | 'jwt';
  authenticate(req: IncomingMessage): AuthOutcome | Promise<AuthOutcome>;
}
