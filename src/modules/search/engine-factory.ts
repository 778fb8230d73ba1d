// THE ENGINE SEAM: how the search service makes an engine. The default builds the real engine
// (engine/index.ts) in a worker thread and loads it from the snapshot the worker writes; tests may
// pass their own factory to createSearch.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { EngineOptions, SearchDoc, SearchEngine } from './engine/types.ts';
import type { FromWorker, ToWorker } from './build-worker.ts';

export interface EngineFactory {
  /** An engine over every document of the batches; progress counts documents indexed. */
  build(batches: AsyncIterable<SearchDoc[]>, onProgress?: (done: number) => void): Promise<SearchEngine>;
  load(path: string): Promise<SearchEngine>;
}

// Imported on first use, not at module load: a process that never builds an index (worker, seed,
// migrate) never loads the engine.
let engineModule: Promise<typeof import('./engine/index.ts')> | undefined;
const engine = () => (engineModule ??= import('./engine/index.ts'));

const WORKER_URL = new URL('./build-worker.ts', import.meta.url).href;
// The worker runs TypeScript: tsx is registered there (module hooks registered in the main thread do not
// reach worker threads).
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
import('tsx/esm/api').then((m) => m.register()).then(() => import(workerData.url));`;

/** Builds in a worker thread: the documents are posted in batches, the engine comes back as a snapshot file. */
async function buildInWorker(batches: AsyncIterable<SearchDoc[]>, scratch: string, options: EngineOptions | undefined, onProgress?: (done: number) => void) {
  const worker = new Worker(BOOTSTRAP, { eval: true, workerData: { url: WORKER_URL, options } });
  try {
    const finished = new Promise<void>((resolve, reject) => {
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'progress') onProgress?.(m.done);
        else if (m.type === 'done') resolve();
        else reject(new Error(`index build failed in its worker: ${m.message}`));
      });
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`index build worker exited (${code})`)));
    });
    finished.catch(() => {}); // observed below; a failure while still posting must not go unhandled
    const send = (m: ToWorker) => worker.postMessage(m);
    for await (const docs of batches) send({ type: 'docs', docs });
    send({ type: 'end', path: scratch });
    await finished;
    await worker.terminate(); // its copy of the index goes before this thread loads one
    return await (await engine()).loadEngine(scratch, options);
  } finally {
    await worker.terminate();
    await rm(scratch, { force: true });
  }
}

let builds = 0;

/** The real engine, built in a worker thread that writes it to a scratch file in `scratchDir` (removed afterwards). */
export function defaultEngineFactory(scratchDir: string, options?: EngineOptions): EngineFactory {
  return {
    build: (batches, onProgress) => buildInWorker(batches, path.join(scratchDir, `build.${process.pid}.${++builds}.tmp`), options, onProgress),
    load: async (path) => (await engine()).loadEngine(path, options),
  };
}
