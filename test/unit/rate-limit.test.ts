import { describe, expect, it } from 'vitest';
import { MemoryWindowStore } from '../../src/hooks/rate-limit/index.ts';
import { retryAfterMs, slidingEstimate } from '../../src/store/window-store.ts';
import { windowStoreContract } from '../contract/window-store.contract.ts';

windowStoreContract('memory', async () => new MemoryWindowStore());

describe('sliding window counter', () => {
  it('weights the previous window by its remaining overlap', () => {
    expect(slidingEstimate(10, 0, 0, 60_000)).toBe(10);
    expect(slidingEstimate(10, 2, 30_000, 60_000)).toBe(7);
    expect(slidingEstimate(10, 2, 60_000, 60_000)).toBe(2);
  });

  it('computes when one more call fits, within this window or the next', () => {
    // prev 10, cur 0, limit 5, at the window start: room once the weight of prev falls to 4/10.
    expect(retryAfterMs(10, 0, 0, 5, 60_000)).toBe(36_000);
    // Current window full (cur 5 = limit 5), 10 s in: only the next window, once 5*(1-e/60) <= 4.
    expect(retryAfterMs(0, 5, 10_000, 5, 60_000)).toBe(50_000 + 12_000);
    expect(retryAfterMs(0, 1, 0, 1, 60_000)).toBe(120_000);
  });

  it('slides with the clock: a burst at the end of one window still counts early in the next', async () => {
    let now = 59_000;
    const store = new MemoryWindowStore(() => now);
    const b = [{ key: 'k', limit: 4 }];
    for (let i = 0; i < 4; i++) expect((await store.hit(b, 60_000)).allowed).toBe(true);
    now = 61_000; // a fixed window would reset here
    const refused = await store.hit(b, 60_000);
    expect(refused).toMatchObject({ allowed: false });
    if (!refused.allowed) expect(refused.retryAfterMs).toBe(retryAfterMs(4, 0, 1_000, 4, 60_000));
    now = 61_000 + (refused.allowed ? 0 : refused.retryAfterMs);
    expect((await store.hit(b, 60_000)).allowed).toBe(true);
    now = 200_000; // two windows later everything is forgotten
    for (let i = 0; i < 4; i++) expect((await store.hit(b, 60_000)).allowed).toBe(true);
    await store.close();
  });
});
