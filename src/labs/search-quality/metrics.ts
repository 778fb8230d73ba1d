// Ranking-quality metrics for judged queries (issue #3 "Quality"). Pure functions, no I/O.
//
// Judgments are graded: 0 (not judged = not relevant) .. 3 (what the user wants). A ranking is the
// engine's list of app ids, best first; an id that appears twice counts only at its first position.

/** Judged grades of one query: app id → grade (1..3). Missing ids are grade 0. */
export type Grades = Readonly<Record<string, number>>;

const gain = (grade: number) => 2 ** grade - 1;
const discount = (rank: number) => Math.log2(rank + 2); // rank 0-based: 1st result → log2(2) = 1

/** First occurrences only, so a duplicated hit cannot be counted twice. */
function dedupe(ranking: readonly string[], k: number): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const id of ranking) {
    if (out.length >= k) break;
    if (!seen.has(id)) {
      seen.add(id);
      out.push(id);
    }
  }
  return out;
}

/** DCG@k = Σ_{i<k} (2^rel_i − 1) / log2(i + 2) over the ranking's first k (distinct) ids. */
export function dcgAtK(ranking: readonly string[], grades: Grades, k: number): number {
  let dcg = 0;
  dedupe(ranking, k).forEach((id, i) => {
    const g = grades[id] ?? 0;
    if (g > 0) dcg += gain(g) / discount(i);
  });
  return dcg;
}

/** DCG@k of the ideal ranking: the judged grades sorted from best to worst. */
export function idealDcgAtK(grades: Grades, k: number): number {
  const sorted = Object.values(grades)
    .filter((g) => g > 0)
    .sort((a, b) => b - a)
    .slice(0, k);
  return sorted.reduce((sum, g, i) => sum + gain(g) / discount(i), 0);
}

/**
 * NDCG@k = DCG@k / ideal DCG@k, in [0, 1]. A query with nothing judged relevant scores 0 (there is
 * nothing to find, so nothing was found; the judged set never contains such queries).
 */
export function ndcgAtK(ranking: readonly string[], grades: Grades, k: number): number {
  const ideal = idealDcgAtK(grades, k);
  return ideal > 0 ? dcgAtK(ranking, grades, k) / ideal : 0;
}

/**
 * Recall@k = |relevant ∩ first k| / |relevant|, where relevant = grade ≥ 1. Nothing relevant → 0.
 * (With more than k relevant apps the best achievable value is k / |relevant|.)
 */
export function recallAtK(ranking: readonly string[], grades: Grades, k: number): number {
  const relevant = Object.keys(grades).filter((id) => (grades[id] ?? 0) >= 1);
  if (!relevant.length) return 0;
  const top = new Set(dedupe(ranking, k));
  return relevant.filter((id) => top.has(id)).length / relevant.length;
}

/** One query's scores, tagged with its class. */
export interface QueryScore {
  id: string;
  class: string;
  metrics: Record<string, number>;
}

export interface MetricMeans {
  n: number;
  mean: Record<string, number>;
}

export interface Aggregate {
  /** Mean over all queries (each query weighs the same). */
  overall: MetricMeans;
  /** Mean per query class, classes in order of first appearance. */
  byClass: Record<string, MetricMeans>;
}

function means(scores: readonly QueryScore[]): MetricMeans {
  const sum: Record<string, number> = {};
  const count: Record<string, number> = {};
  for (const s of scores) {
    for (const [name, value] of Object.entries(s.metrics)) {
      sum[name] = (sum[name] ?? 0) + value;
      count[name] = (count[name] ?? 0) + 1;
    }
  }
  const mean: Record<string, number> = {};
  for (const name of Object.keys(sum)) mean[name] = sum[name] / count[name];
  return { n: scores.length, mean };
}

/** Mean of every metric over the query set, and per query class. An empty set gives n = 0 and no means. */
export function aggregate(scores: readonly QueryScore[]): Aggregate {
  const groups = new Map<string, QueryScore[]>();
  for (const s of scores) {
    const g = groups.get(s.class);
    if (g) g.push(s);
    else groups.set(s.class, [s]);
  }
  const byClass: Record<string, MetricMeans> = {};
  for (const [cls, group] of groups) byClass[cls] = means(group);
  return { overall: means(scores), byClass };
}
