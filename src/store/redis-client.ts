import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { StoreConfig } from '../config/schema.ts';

/** A single Redis (direct or found through Sentinel) or a Redis Cluster: every store takes either. */
export type RedisClient = Redis | Cluster;

type RedisStore = Extract<StoreConfig, { kind: 'redis' }>;

const hostPort = (url: string) => {
  const u = new URL(url);
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 6379) };
};

/**
 * One ioredis client per process for every Redis-backed store. A dead Redis must fail requests
 * fast (they fail closed with STORE_UNAVAILABLE), never queue them: no offline queue, a command
 * timeout, and reconnects in the background so service resumes by itself. `store.sentinels` asks the
 * Sentinels for the master of `store.name` (and again after a failover); `store.cluster` discovers the
 * cluster's slots from its seed nodes and follows MOVED/ASK redirections.
 */
export function createRedisClient(store: RedisStore, opts: { subscriber?: boolean } = {}): RedisClient {
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
  if (store.sentinels) {
    const first = new URL(store.sentinels[0] as string);
    return new Redis({
      ...options,
      sentinels: store.sentinels.map(hostPort),
      name: store.name,
      ...(first.password && { sentinelPassword: decodeURIComponent(first.password) }),
      // A failover moves the master: reconnect through the Sentinels instead of retrying the old one.
      reconnectOnError: (err) => err.message.startsWith('READONLY'),
      sentinelRetryStrategy: (times) => Math.min(100 * 2 ** times, 2_000),
    });
  }
  const seeds = (store.cluster ?? []).map(hostPort);
  const password = store.cluster?.[0] ? decodeURIComponent(new URL(store.cluster[0]).password) : '';
  return new Cluster(seeds, {
    enableOfflineQueue: false,
    enableAutoPipelining: !opts.subscriber,
    // Direct replica messages use sharded pub/sub, whose receiver count is exact on a cluster.
    shardedSubscribers: opts.subscriber === true,
    clusterRetryStrategy: (times) => Math.min(100 * 2 ** times, 2_000),
    slotsRefreshTimeout: 2_000,
    redisOptions: {
      commandTimeout: 1_000,
      connectTimeout: 2_000,
      maxRetriesPerRequest: 0,
      ...(password && { password }),
    },
  });
}

/** Whether the client talks to a Redis Cluster (pub/sub and multi-key commands differ there). */
export const isCluster = (client: RedisClient): client is Cluster => client instanceof Cluster;
