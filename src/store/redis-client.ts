import { Redis, type RedisOptions } from 'ioredis';
import type { StoreConfig } from '../config/schema.ts';

/**
 * One ioredis client per process for every Redis-backed store. A dead Redis must fail requests
 * fast (they fail closed with STORE_UNAVAILABLE), never queue them: no offline queue, a command
 * timeout, and reconnects in the background so service resumes by itself.
 */
export function createRedisClient(
  store: Extract<StoreConfig, { kind: 'redis' }>,
  opts: { subscriber?: boolean } = {},
): Redis {
  const options: RedisOptions = {
    enableOfflineQueue: false,
    commandTimeout: 1_000,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 0,
    retryStrategy: (times) => Math.min(100 * 2 ** times, 2_000),
    lazyConnect: false,
    // Commands issued in one tick go out in one write: the rate-limit check and the PII vault write
    // of a call start together (HookPipeline overlaps them), and each write is a syscall.
    enableAutoPipelining: !opts.subscriber,
  };
  if (store.url) return new Redis(store.url, options);
  throw new Error('store.cluster and store.sentinels are not supported by this build yet');
}
