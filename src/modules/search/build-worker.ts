// Worker thread of the index build: receives the documents in batches, builds the engine, writes it as a
// snapshot and says where. The main thread then loads that snapshot (async file reads into typed
// arrays), so the long, synchronous build never blocks the event loop that serves requests.
import { parentPort, workerData } from 'node:worker_threads';
import { buildEngine } from './engine/index.ts';
import type { EngineOptions, SearchDoc } from './engine/types.ts';

export type ToWorker = { type: 'docs'; docs: SearchDoc[] } | { type: 'end'; path: string };
export type FromWorker = { type: 'progress'; done: number } | { type: 'done'; size: number } | { type: 'error'; message: string };

const port = parentPort!;
const options = (workerData as { options?: EngineOptions } | undefined)?.options;
const docs: SearchDoc[] = [];
const post = (m: FromWorker) => port.postMessage(m);

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'docs') {
    for (const d of msg.docs) docs.push(d);
    return;
  }
  try {
    const engine = buildEngine(docs, options, (done) => post({ type: 'progress', done }));
    docs.length = 0;
    engine.save(msg.path).then(
      () => post({ type: 'done', size: engine.size }),
      (err: Error) => post({ type: 'error', message: err.message }),
    );
  } catch (err) {
    post({ type: 'error', message: (err as Error).message });
  }
});
