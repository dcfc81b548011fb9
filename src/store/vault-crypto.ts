import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { PiiEntity } from '../config/schema.ts';
import { TOKEN_ID_HEX } from './vault.ts';

interface ScopeKeys {
  /** AES-256-GCM key of the scope's vault entries. */
  aes: Buffer;
  /** HMAC key of the scope's token ids. */
  mac: Buffer;
  /** Opaque, stable name of the scope in store keys: the caller id itself never reaches the store. */
  tag: string;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;
const SALT = Buffer.from('mcp-fed/pii-vault/v1');

/**
 * The vault's keys, all derived from one secret (`secrets.vaultKey`) with HKDF per scope, so a scope's
 * entries are unreadable with another scope's key and every replica that shares the secret derives the
 * same keys. Entries are sealed with AES-256-GCM, the scope and token id as additional data: a
 * ciphertext moved to another key, or altered, fails authentication.
 */
export class VaultCrypto {
  private readonly master: Buffer;
  private readonly scopes = new LRUCache<string, ScopeKeys>({ max: 10_000 });

  constructor(secret: string | Buffer) {
    this.master = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
    if (this.master.length < 16) throw new Error('the vault key must be at least 16 bytes');
  }

  static random(): VaultCrypto {
    return new VaultCrypto(randomBytes(32));
  }

  private keys(scope: string): ScopeKeys {
    let keys = this.scopes.get(scope);
    if (!keys) {
      const derive = (use: string) =>
        Buffer.from(hkdfSync('sha256', this.master, SALT, `${use}\0${scope}`, 32));
      keys = { aes: derive('aes'), mac: derive('mac'), tag: derive('tag').subarray(0, 12).toString('hex') };
      this.scopes.set(scope, keys);
    }
    return keys;
  }

  /** Deterministic within a scope: the same value always gets the same id, another scope another one. */
  tokenId(scope: string, entity: PiiEntity, value: string): string {
    return createHmac('sha256', this.keys(scope).mac)
      .update(entity)
      .update('\0')
      .update(value)
      .digest('hex')
      .slice(0, TOKEN_ID_HEX);
  }

  scopeTag(scope: string): string {
    return this.keys(scope).tag;
  }

  /** iv | tag | ciphertext */
  seal(scope: string, id: string, value: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.keys(scope).aes, iv);
    cipher.setAAD(Buffer.from(`${scope}\0${id}`));
    const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]);
  }

  /** The value, or undefined when the blob fails authentication (tampered, or sealed for another key). */
  open(scope: string, id: string, blob: Buffer): string | undefined {
    if (blob.length < IV_BYTES + TAG_BYTES) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.keys(scope).aes, blob.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(`${scope}\0${id}`));
      decipher.setAuthTag(blob.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(blob.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString(
        'utf8',
      );
    } catch {
      return undefined;
    }
  }
}
