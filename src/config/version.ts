import { createHash } from 'node:crypto';
import type { Config } from './schema.ts';

/**
 * A config's version: the first 16 hex digits of the SHA-256 of its validated form (defaults filled
 * in), so two replicas running the same config name it alike. Secrets are hashed in, never shown.
 */
export function configVersion(config: Config): string {
  return createHash('sha256').update(JSON.stringify(config)).digest('hex').slice(0, 16);
}
