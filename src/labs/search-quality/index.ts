// Search quality (issue #3 "Quality"): a judged query set over the seeded catalog (judged.json, written by
// make-judged.ts from the catalog data only), the metrics (NDCG@10, recall@50) and `evaluate(engine, judged)`.
// Run by `npx tsx bench/search-quality.ts`; see README.md. A lab: it uses the product, the product never imports it.
export { evaluate, NDCG_TARGET, type Evaluation, type QueryOutcome } from './evaluate.ts';
export { JUDGED_CATALOG, JUDGED_PATH, QUERY_CLASSES, loadJudged, type JudgedQuery, type QueryClass } from './judged.ts';
export { aggregate, ndcgAtK, recallAtK, type Aggregate } from './metrics.ts';
