/** Interop matrix: the reference server-everything, its real entry over stdio, SSE and Streamable HTTP. */
import { afterAll } from 'vitest';
import { row } from './matrix.ts';
import { describeRow, sharedRedis } from './suite.ts';

const redis = sharedRedis();
afterAll(() => redis.stop());

for (const id of ['server-everything stdio', 'server-everything SSE', 'server-everything Streamable HTTP']) {
  describeRow(row(id), redis.get);
}
