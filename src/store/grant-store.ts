import type { VaultCrypto } from './vault-crypto.ts';

/** Whose grant: a caller at an upstream, bound to what the upstream is (url, issuer, client, audience). */
export interface GrantKey {
  upstream: string;
  /** credentialBinding(upstream): a reload that points the name elsewhere never finds the old grant. */
  binding: string;
  caller: string;
}

/** One user's authorization at one upstream (userOAuth), as the authorization server issued it. */
export interface UserGrant {
  accessToken: string;
  refreshToken?: string;
  /** When the access token expires (ms since the epoch). */
  expiresAt: number;
  scope?: string;
  /** The id_token's `sub` the grant was accepted for (the caller who asked). */
  sub: string;
}

/**
 * Per-user OAuth grants (DESIGN.md, "Acting for the caller"), in their own store: not the PII vault,
 * not bound by its TTL. Grants are sealed with the vault key (AES-256-GCM, the grant's key as
 * additional data, so a ciphertext moved to another caller does not open) and stored under a keyed
 * hash of the caller, never its id. Also holds the flow's one-time records (consent requests,
 * authorization states) and the refresh lock that keeps two replicas from spending one rotating
 * refresh token twice. Memory and Redis implementations, one contract suite (test/contract/).
 */
export interface GrantStore {
  get(key: GrantKey): Promise<UserGrant | undefined>;
  put(key: GrantKey, grant: UserGrant): Promise<void>;
  /** Resolves whether there was one. */
  delete(key: GrantKey): Promise<boolean>;
  /** Grants held for an upstream (the /admin page shows counts, never tokens). */
  count(upstream: string): Promise<number>;
  /** Takes the refresh lock of `key` for up to `ttlMs`: true when `holder` now holds it. */
  lock(key: GrantKey, holder: string, ttlMs: number): Promise<boolean>;
  /** Releases the lock if `holder` still holds it. */
  unlock(key: GrantKey, holder: string): Promise<void>;
  /** A one-time record (sealed too) that lives `ttlMs`. */
  putOnce(id: string, value: string, ttlMs: number): Promise<void>;
  /** Reads it without spending it. */
  peekOnce(id: string): Promise<string | undefined>;
  /** Reads and deletes it in one step: two takers never both get it. */
  takeOnce(id: string): Promise<string | undefined>;
  close(): Promise<void>;
}

/** What grant keys and sealing share between the implementations. */
export class GrantSealing {
  constructor(private readonly crypto: VaultCrypto) {}

  /** Field of a grant within its upstream: the binding and a keyed hash of the caller. */
  field(key: GrantKey): string {
    return `${key.binding}:${this.crypto.scopeTag(`grant\0${key.caller}`)}`;
  }

  sealGrant(key: GrantKey, grant: UserGrant): Buffer {
    return this.crypto.seal(`grant\0${key.upstream}`, this.field(key), JSON.stringify(grant));
  }

  openGrant(key: GrantKey, blob: Buffer): UserGrant | undefined {
    const text = this.crypto.open(`grant\0${key.upstream}`, this.field(key), blob);
    if (text === undefined) return undefined;
    const grant = JSON.parse(text) as UserGrant;
    return typeof grant.accessToken === 'string' && typeof grant.sub === 'string' ? grant : undefined;
  }

  sealOnce(id: string, value: string): Buffer {
    return this.crypto.seal('oauth-once', id, value);
  }

  openOnce(id: string, blob: Buffer | null | undefined): string | undefined {
    return blob ? this.crypto.open('oauth-once', id, blob) : undefined;
  }
}

/** Grants in this process only (one replica, or tests). */
export class MemoryGrantStore implements GrantStore {
  private readonly grants = new Map<string, Map<string, Buffer>>();
  private readonly locks = new Map<string, { holder: string; until: number }>();
  private readonly once = new Map<string, { blob: Buffer; until: number }>();
  private readonly sealing: GrantSealing;

  constructor(crypto: VaultCrypto) {
    this.sealing = new GrantSealing(crypto);
  }

  async get(key: GrantKey): Promise<UserGrant | undefined> {
    const blob = this.grants.get(key.upstream)?.get(this.sealing.field(key));
    return blob && this.sealing.openGrant(key, blob);
  }

  async put(key: GrantKey, grant: UserGrant): Promise<void> {
    let fields = this.grants.get(key.upstream);
    if (!fields) {
      fields = new Map();
      this.grants.set(key.upstream, fields);
    }
    fields.set(this.sealing.field(key), this.sealing.sealGrant(key, grant));
  }

  async delete(key: GrantKey): Promise<boolean> {
    return this.grants.get(key.upstream)?.delete(this.sealing.field(key)) ?? false;
  }

  async count(upstream: string): Promise<number> {
    return this.grants.get(upstream)?.size ?? 0;
  }

  async lock(key: GrantKey, holder: string, ttlMs: number): Promise<boolean> {
    const name = this.lockName(key);
    const held = this.locks.get(name);
    if (held && held.holder !== holder && held.until > Date.now()) return false;
    this.locks.set(name, { holder, until: Date.now() + ttlMs });
    return true;
  }

  async unlock(key: GrantKey, holder: string): Promise<void> {
    const name = this.lockName(key);
    if (this.locks.get(name)?.holder === holder) this.locks.delete(name);
  }

  async putOnce(id: string, value: string, ttlMs: number): Promise<void> {
    this.sweep();
    this.once.set(id, { blob: this.sealing.sealOnce(id, value), until: Date.now() + ttlMs });
  }

  async peekOnce(id: string): Promise<string | undefined> {
    const entry = this.once.get(id);
    if (!entry || entry.until <= Date.now()) return undefined;
    return this.sealing.openOnce(id, entry.blob);
  }

  async takeOnce(id: string): Promise<string | undefined> {
    // Read and deleted in one synchronous step, as GETDEL is: no second taker gets in between.
    const entry = this.once.get(id);
    this.once.delete(id);
    if (!entry || entry.until <= Date.now()) return undefined;
    return this.sealing.openOnce(id, entry.blob);
  }

  async close(): Promise<void> {
    this.grants.clear();
    this.once.clear();
    this.locks.clear();
  }

  private lockName(key: GrantKey): string {
    return `${key.upstream}\0${this.sealing.field(key)}`;
  }

  /** Expired one-time records go when new ones come (nothing else would ever read them). */
  private sweep(): void {
    if (this.once.size < 1_000) return;
    const now = Date.now();
    for (const [id, entry] of this.once) if (entry.until <= now) this.once.delete(id);
  }
}
