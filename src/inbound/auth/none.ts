import { ANONYMOUS } from '../request-context.ts';
import type { Authenticator } from './types.ts';

/** `inbound.auth: none`: every request is the caller "anonymous". */
export const noAuth: Authenticator = {
  kind: 'none',
  authenticate: () => ({ ok: true, caller: ANONYMOUS }),
};
