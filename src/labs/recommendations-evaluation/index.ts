// Recommendations evaluation (`orchard recs evaluate`): recall@10 and NDCG@10 of the recommendations module's
// item-item neighbours on a synthetic world with coherent tastes (synthetic.ts), beside a popularity baseline
// (evaluate.ts). A lab: it uses the product, the product never imports it.
export { evaluateRecommendations, formatEvaluation, holdOut, type EvaluationOptions, type EvaluationReport } from './evaluate.ts';
export { syntheticWorld, SYNTHETIC_DEFAULTS, type SyntheticOptions, type SyntheticWorld } from './synthetic.ts';
