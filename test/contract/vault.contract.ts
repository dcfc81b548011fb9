import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenVault, VaultEntry } from '../../src/store/vault.ts';

export interface VaultHarness {
  vault: TokenVault;
  /** Another vault over the same store (another replica) with the given key. */
  sibling(secret: string): Promise<TokenVault>;
  /** Everything someone with read access to the store sees (keys and stored bytes), as text. */
  dump(): Promise<string>;
  /** Flips one byte of the ciphertext stored for (scope, id). */
  tamper(scope: string, id: string): Promise<void>;
  /** Copies the stored bytes of one entry over another's key (a ciphertext swap). */
  copy(from: { scope: string; id: string }, to: { scope: string; id: string }): Promise<void>;
  close(): Promise<void>;
}

export const CONTRACT_SECRET = 'contract-suite-vault-key-0123456789';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let n = 0;
/** A scope name no other test (or run on a shared Redis) uses. */
const freshScope = (label: string) => `${label}-${process.pid}-${Date.now()}-${n++}`;

function entry(vault: TokenVault, scope: string, entity: VaultEntry['entity'], value: string): VaultEntry {
  return { id: vault.tokenId(scope, entity, value), value, entity };
}

/** The one suite every TokenVault implementation passes (STYLE.md: one interface, one contract). */
export function vaultContract(name: string, make: () => Promise<VaultHarness>): void {
  describe(`${name} token vault`, () => {
    let h: VaultHarness;
    let vault: TokenVault;
    beforeAll(async () => {
      h = await make();
      vault = h.vault;
    });
    afterAll(async () => {
      await h?.close();
    });

    it('gives a value the same id within a scope and a different id in another scope', () => {
      const a = freshScope('alice');
      const b = freshScope('bob');
      expect(vault.tokenId(a, 'EMAIL', 'x@example.com')).toBe(vault.tokenId(a, 'EMAIL', 'x@example.com'));
      expect(vault.tokenId(a, 'EMAIL', 'x@example.com')).toMatch(/^[0-9a-f]{16}$/);
      expect(vault.tokenId(a, 'EMAIL', 'x@example.com')).not.toBe(vault.tokenId(b, 'EMAIL', 'x@example.com'));
      expect(vault.tokenId(a, 'EMAIL', 'x@example.com')).not.toBe(vault.tokenId(a, 'EMAIL', 'y@example.com'));
      expect(vault.tokenId(a, 'PHONE', '12')).not.toBe(vault.tokenId(a, 'SSN', '12'));
    });

    it('stores and returns values, telling a first write (miss) from a repeat (hit)', async () => {
      const scope = freshScope('caller');
      const values = ['bob@example.com', '+44 20 7946 0958', 'ünïcödé 用户@例子.广告 🙂', 'x'.repeat(5000)];
      const entries = values.map((v) => entry(vault, scope, 'EMAIL', v));
      expect(await vault.put(scope, entries, 60)).toEqual([false, false, false, false]);
      expect(await vault.put(scope, entries.slice(0, 2), 60)).toEqual([true, true]);
      const got = await vault.get(scope, [...entries.map((e) => e.id), 'ffffffffffffffff']);
      expect(got.size).toBe(4);
      for (const e of entries) expect(got.get(e.id)).toBe(e.value);
      expect(await vault.put(scope, [], 60)).toEqual([]);
      expect((await vault.get(scope, [])).size).toBe(0);
    });

    it('isolates scopes: another scope cannot read an id, even the same id string', async () => {
      const a = freshScope('alice');
      const b = freshScope('bob');
      const e = entry(vault, a, 'SSN', '536-22-1234');
      await vault.put(a, [e], 60);
      expect((await vault.get(b, [e.id])).size).toBe(0);
      await h.copy({ scope: a, id: e.id }, { scope: b, id: e.id });
      expect((await vault.get(b, [e.id])).size).toBe(0);
      expect((await vault.get(a, [e.id])).get(e.id)).toBe('536-22-1234');
    });

    it('keeps no raw value and no caller id in the store', async () => {
      const scope = freshScope('scope-name-visible');
      const values = ['leak-check@example.com', 'DE89370400440532013000', 'AKIAIOSFODNN7EXAMPLE'];
      await vault.put(
        scope,
        values.map((v) => entry(vault, scope, 'EMAIL', v)),
        60,
      );
      const dump = await h.dump();
      expect(dump.length).toBeGreaterThan(0);
      for (const v of values) expect(dump).not.toContain(v);
      expect(dump).not.toContain(scope);
    });

    it('rejects a tampered or moved ciphertext', async () => {
      const scope = freshScope('tamper');
      const [e1, e2] = [
        entry(vault, scope, 'IBAN', 'GB29NWBK60161331926819'),
        entry(vault, scope, 'IBAN', 'x'),
      ];
      await vault.put(scope, [e1!, e2!], 60);
      await h.tamper(scope, e1!.id);
      expect((await vault.get(scope, [e1!.id])).has(e1!.id)).toBe(false);
      // A valid ciphertext under another id of the same scope fails too: the id is authenticated data.
      await h.copy({ scope, id: e2!.id }, { scope, id: 'aaaaaaaaaaaaaaaa' });
      expect((await vault.get(scope, ['aaaaaaaaaaaaaaaa'])).size).toBe(0);
      expect((await vault.get(scope, [e2!.id])).get(e2!.id)).toBe('x');
    });

    it('serves another replica with the same key, and nobody with another key', async () => {
      const scope = freshScope('replica');
      const e = entry(vault, scope, 'PHONE', '+1 415-555-2671');
      await vault.put(scope, [e], 60);
      const same = await h.sibling(CONTRACT_SECRET);
      const other = await h.sibling('another-deployment-vault-key-xyz');
      expect(same.tokenId(scope, 'PHONE', '+1 415-555-2671')).toBe(e.id);
      expect((await same.get(scope, [e.id])).get(e.id)).toBe('+1 415-555-2671');
      expect(other.tokenId(scope, 'PHONE', '+1 415-555-2671')).not.toBe(e.id);
      expect((await other.get(scope, [e.id])).size).toBe(0);
    });

    it('expires entries after their TTL, and a repeated put restarts the TTL', async () => {
      const scope = freshScope('ttl');
      const short = entry(vault, scope, 'EMAIL', 'short@example.com');
      const renewed = entry(vault, scope, 'EMAIL', 'renewed@example.com');
      await vault.put(scope, [short, renewed], 2);
      await sleep(1200);
      expect(await vault.put(scope, [renewed], 2)).toEqual([true]);
      await sleep(1300);
      const got = await vault.get(scope, [short.id, renewed.id]);
      expect(got.has(short.id)).toBe(false);
      expect(got.get(renewed.id)).toBe('renewed@example.com');
      // Once expired, the same value is a miss again.
      expect(await vault.put(scope, [short], 2)).toEqual([false]);
    });
  });
}
