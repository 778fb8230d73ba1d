// Orchard's search engine: an in-memory inverted index in typed arrays.
//
//   buildEngine(docs, options?, onProgress?)  one pass over the docs → immutable base segment
//   consume(docs)                             an array handed to buildEngine, each doc released once indexed
//   loadEngine(path, options?)                a snapshot written by engine.save(path)
//
// Design notes live at the top of engine.ts (layout), build.ts (bulk build), fuzzy.ts (typo walk),
// snapshot.ts (file format) and in Engine.rerank (the re-rank formula).
import { buildEngine, consume } from './build.ts';
import { Engine } from './engine.ts';
import { loadSnapshot } from './snapshot.ts';
import type { EngineOptions, SearchEngine } from './types.ts';

export type * from './types.ts';
export { buildEngine, consume };

export async function loadEngine(path: string, options?: EngineOptions): Promise<SearchEngine> {
  return new Engine(await loadSnapshot(path), options);
}
