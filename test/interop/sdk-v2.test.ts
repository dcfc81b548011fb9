/** Interop matrix: an SDK v2 server on 2026-07-28, and in its legacy stateless mode. */
import { afterAll } from 'vitest';
import { row } from './matrix.ts';
import { describeRow, sharedRedis } from './suite.ts';

const redis = sharedRedis();
afterAll(() => redis.stop());

for (const id of ['sdk-v2 2026-07-28', 'sdk-v2 legacy stateless']) {
  describeRow(row(id), redis.get);
}
