/**
 * Interop matrix: stateful SDK v1 servers (JSON, SSE with an event store, a stream closed mid-call
 * and resumed, input requests on the standalone stream), on one proxy and on two replicas.
 */
import { afterAll } from 'vitest';
import { row } from './matrix.ts';
import { describeRow, sharedRedis } from './suite.ts';

const redis = sharedRedis();
afterAll(() => redis.stop());

for (const id of [
  'sdk-v1 stateful+JSON',
  'sdk-v1 stateful+SSE+event store',
  'sdk-v1 closes stream mid-call (resumed)',
  'sdk-v1 asks on the standalone stream',
]) {
  describeRow(row(id), redis.get);
}
