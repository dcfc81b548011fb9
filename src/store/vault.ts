import type { PiiEntity } from '../config/schema.ts';

/** Hex digits of a token id (`<EMAIL_3f9a1c0b7d2e4a61>`). */
export const TOKEN_ID_HEX = 16;

export interface VaultEntry {
  id: string;
  value: string;
  entity: PiiEntity;
}

/**
 * Token id → value, per scope (the caller), encrypted at rest, with a TTL. One interface, a memory and
 * a Redis implementation, one contract suite (test/contract/vault.contract.ts).
 */
export interface TokenVault {
  /** The token id of a value in a scope (a keyed hash: no store access). */
  tokenId(scope: string, entity: PiiEntity, value: string): string;
  /**
   * Stores the entries and (re)starts their TTL, in one round trip. Resolves, per entry, whether it
   * was already stored (a token hit). Rejects when the store cannot be reached.
   */
  put(scope: string, entries: readonly VaultEntry[], ttlSeconds: number): Promise<boolean[]>;
  /** The values of the ids this scope stored and that have not expired, in one round trip. */
  get(scope: string, ids: readonly string[]): Promise<Map<string, string>>;
  close(): Promise<void>;
}
