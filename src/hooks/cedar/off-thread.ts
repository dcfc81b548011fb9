import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { AuthorizationAnswer, StatefulAuthorizationCall } from '@cedar-policy/cedar-wasm/nodejs';

/** Arguments whose JSON is longer than this are evaluated on the worker: converting them takes ~ms. */
export const OFF_THREAD_BYTES = 8 * 1024;

/** One decision handed to the worker: the slice's preparsed-set id, its policies (preparsed there on first sight) and the call. */
export interface OffThreadRequest {
  setId: string;
  byId: Record<string, string>;
  call: Omit<StatefulAuthorizationCall, 'preparsedPolicySetId'>;
}

/**
 * The worker's whole program, plain CommonJS so it runs the same from source (tsx) and compiled
 * (dist/): it loads cedar-wasm by the path the parent resolved, preparses each slice once under the
 * parent's id, and answers each request with cedar-wasm's own answer.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const cedar = require(workerData.cedar);
const preparsed = new Set();
parentPort.on('message', ({ id, setId, byId, call }) => {
  let answer;
  try {
    if (!preparsed.has(setId)) {
      const parsed = cedar.preparsePolicySet(setId, { staticPolicies: byId });
      if (parsed.type === 'failure') throw new Error(parsed.errors[0] ? parsed.errors[0].message : 'cannot preparse');
      preparsed.add(setId);
    }
    answer = cedar.statefulIsAuthorized({ ...call, preparsedPolicySetId: setId });
  } catch (err) {
    answer = { type: 'failure', errors: [{ message: String(err && err.message) }], warnings: [] };
  }
  parentPort.postMessage({ id, answer });
});
`;

/**
 * One worker thread for the Cedar decisions that would hold the event loop (large arguments read by a
 * policy): the main thread only posts the request and gets the answer back, so other calls go on
 * meanwhile. Started on first use; a worker that dies fails its pending decisions (they deny) and is
 * started afresh by the next one.
 */
export class CedarOffThread {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly pending = new Map<
    number,
    { resolve(a: AuthorizationAnswer): void; reject(e: Error): void }
  >();

  evaluate(req: OffThreadRequest): Promise<AuthorizationAnswer> {
    const worker = this.worker ?? this.start();
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ ...req, id });
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  private start(): Worker {
    const cedar = createRequire(import.meta.url).resolve('@cedar-policy/cedar-wasm/nodejs');
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { cedar } });
    worker.unref();
    worker.on('message', (m: { id: number; answer: AuthorizationAnswer }) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      p?.resolve(m.answer);
    });
    const fail = (err: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the Cedar worker exited (${code})`)));
    this.worker = worker;
    return worker;
  }
}
