// Runs a judged query set against a search engine and scores it: NDCG@10 and recall@50 per query,
// means overall and per query class. Used by bench/search-quality.ts (and the main bench).
import type { SearchEngine } from '../../modules/search/index.ts';
import type { JudgedQuery } from './judged.ts';
import { aggregate, ndcgAtK, recallAtK, type Aggregate } from './metrics.ts';

export interface QueryOutcome {
  query: JudgedQuery;
  /** App ids the engine returned, best first (at most `limit`). */
  hits: string[];
  ndcg10: number;
  recall50: number;
  /** Wall time of the search call, ms. */
  ms: number;
}

export interface Evaluation extends Aggregate {
  queries: QueryOutcome[];
  /** Lowest NDCG@10 first (ties: lower recall@50 first, then id). */
  worst(n: number): QueryOutcome[];
}

export const NDCG_TARGET = 0.9;

export function evaluate(engine: Pick<SearchEngine, 'search'>, judged: readonly JudgedQuery[], limit = 50): Evaluation {
  const queries: QueryOutcome[] = judged.map((query) => {
    const t = performance.now();
    const result = engine.search(query.q, { limit, ...(query.filters ? { filters: query.filters } : {}) });
    const ms = performance.now() - t;
    const hits = result.hits.map((h) => h.id);
    return { query, hits, ndcg10: ndcgAtK(hits, query.relevant, 10), recall50: recallAtK(hits, query.relevant, 50), ms };
  });
  const agg = aggregate(queries.map((o) => ({ id: o.query.id, class: o.query.class, metrics: { ndcg10: o.ndcg10, recall50: o.recall50 } })));
  return {
    ...agg,
    queries,
    worst: (n) => [...queries].sort((a, b) => a.ndcg10 - b.ndcg10 || a.recall50 - b.recall50 || (a.query.id < b.query.id ? -1 : 1)).slice(0, n),
  };
}
