import type { PiiEntity } from '../config/schema.ts';
import type { Logger } from '../log.ts';
import type { TokenVault, VaultEntry } from './vault.ts';
import type { VaultCrypto } from './vault-crypto.ts';

export interface MemoryVaultEntry {
  blob: Buffer;
  expiresAt: number;
}

const SWEEP_MS = 60_000;

/** The vault in this process (one replica): sealed entries in a map, expired lazily and by a sweep. */
export class MemoryVault implements TokenVault {
  private readonly sweeper: NodeJS.Timeout;

  /**
   * `store` (key `<scope tag>:<id>` → sealed value) is public so the contract suite can inspect and
   * tamper with it, and can be shared by two vaults in one process (replicas in tests).
   */
  constructor(
    private readonly crypto: VaultCrypto,
    private readonly log: Logger,
    readonly store = new Map<string, MemoryVaultEntry>(),
  ) {
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref();
  }

  tokenId(scope: string, entity: PiiEntity, value: string): string {
    return this.crypto.tokenId(scope, entity, value);
  }

  key(scope: string, id: string): string {
    return `${this.crypto.scopeTag(scope)}:${id}`;
  }

  async put(scope: string, entries: readonly VaultEntry[], ttlSeconds: number): Promise<boolean[]> {
    const now = Date.now();
    const expiresAt = now + ttlSeconds * 1000;
    return entries.map((e) => {
      const key = this.key(scope, e.id);
      const stored = this.store.get(key);
      if (stored && stored.expiresAt > now) {
        stored.expiresAt = expiresAt;
        return true;
      }
      this.store.set(key, { blob: this.crypto.seal(scope, e.id, e.value), expiresAt });
      return false;
    });
  }

  async get(scope: string, ids: readonly string[]): Promise<Map<string, string>> {
    const now = Date.now();
    const values = new Map<string, string>();
    for (const id of ids) {
      const key = this.key(scope, id);
      const stored = this.store.get(key);
      if (!stored) continue;
      if (stored.expiresAt <= now) {
        this.store.delete(key);
        continue;
      }
      const value = this.crypto.open(scope, id, stored.blob);
      if (value === undefined)
        this.log.warn({ tokenId: id }, 'PII vault entry failed authentication; ignored');
      else values.set(id, value);
    }
    return values;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [key, stored] of this.store) if (stored.expiresAt <= now) this.store.delete(key);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.store.clear();
  }
}
