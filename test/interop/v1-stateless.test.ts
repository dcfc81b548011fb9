/** Interop matrix: stateless SDK v1 servers (JSON and SSE) and the AgentCore Runtime shape. */
import { afterAll } from 'vitest';
import { row } from './matrix.ts';
import { describeRow, sharedRedis } from './suite.ts';

const redis = sharedRedis();
afterAll(() => redis.stop());

for (const id of ['sdk-v1 stateless+JSON', 'sdk-v1 stateless+SSE', 'AgentCore Runtime shape']) {
  describeRow(row(id), redis.get);
}
