// Item-item collaborative filtering, as pure functions: the neighbours of each app from libraries ("people
// who got X also got Y"), and a user's candidates scored from their whole library. The batch job computes the
// same neighbours in SQL over every library (build.ts); the evaluation runs these on synthetic libraries.

/** Neighbours kept per app. */
export const MAX_NEIGHBORS = 50;
/** Pairs seen together fewer times than this are noise, not taste. */
export const MIN_CO_USERS = 2;
/** Only a user's most recent apps make pairs: a collector of 2,000 apps would otherwise dominate (and cost n²). */
export const MAX_LIBRARY_PAIRS = 100;

export interface Neighbor {
  appId: string;
  /** Cosine similarity of the two apps' sets of users: co / sqrt(users(a) × users(b)), 0–1. */
  score: number;
}

/**
 * Neighbours of every app from libraries (each a user's apps, most recent first). Deterministic: ties are
 * broken by app id.
 */
export function neighborsFromLibraries(libraries: Iterable<readonly string[]>, maxNeighbors = MAX_NEIGHBORS): Map<string, Neighbor[]> {
  const users = new Map<string, number>();
  const co = new Map<string, Map<string, number>>();
  for (const library of libraries) {
    const apps = [...new Set(library)].slice(0, MAX_LIBRARY_PAIRS);
    for (const a of apps) users.set(a, (users.get(a) ?? 0) + 1);
    for (let i = 0; i < apps.length; i++) {
      for (let j = 0; j < apps.length; j++) {
        if (i === j) continue;
        let row = co.get(apps[i]);
        if (!row) co.set(apps[i], (row = new Map()));
        row.set(apps[j], (row.get(apps[j]) ?? 0) + 1);
      }
    }
  }
  const out = new Map<string, Neighbor[]>();
  for (const [a, row] of co) {
    const list: Neighbor[] = [];
    for (const [b, n] of row) {
      if (n < MIN_CO_USERS) continue;
      list.push({ appId: b, score: n / Math.sqrt(users.get(a)! * users.get(b)!) });
    }
    list.sort(byScoreThenId);
    if (list.length) out.set(a, list.slice(0, maxNeighbors));
  }
  return out;
}

export const byScoreThenId = (x: Neighbor, y: Neighbor) => y.score - x.score || (x.appId < y.appId ? -1 : x.appId > y.appId ? 1 : 0);

/** Recent apps say more about today's taste: the k-th most recent app of a library weighs RECENCY^k. */
export const RECENCY = 0.9;

/**
 * "Apps you might like": every neighbour of every app in the library (most recent first), scored by the sum
 * of its similarities weighted by recency, owned apps and `exclude` left out. Deterministic.
 */
export function likelyApps(
  library: readonly string[],
  neighborsOf: (appId: string) => readonly Neighbor[] | undefined,
  limit: number,
  exclude: ReadonlySet<string> = new Set(),
): Neighbor[] {
  const owned = new Set(library);
  const scores = new Map<string, number>();
  library.forEach((appId, k) => {
    const weight = Math.pow(RECENCY, k);
    for (const n of neighborsOf(appId) ?? []) {
      if (owned.has(n.appId) || exclude.has(n.appId)) continue;
      scores.set(n.appId, (scores.get(n.appId) ?? 0) + n.score * weight);
    }
  });
  return [...scores].map(([appId, score]) => ({ appId, score })).sort(byScoreThenId).slice(0, limit);
}

/**
 * Similar apps: content similarity (ranked by the search engine, same category first) blended with
 * co-downloads, then re-ranked by quality as the seeds describe (similarity 0.6, quality 0.4).
 * `content` is the engine's order (best first); `quality` is 0–1.
 */
export function blendSimilar(
  content: readonly string[],
  coDownloads: readonly Neighbor[],
  quality: (appId: string) => number,
  limit: number,
  exclude: ReadonlySet<string> = new Set(),
): Neighbor[] {
  const similarity = new Map<string, number>();
  // content rank r (0-based) of n: 1 - r/n; co-download cosine as it is; an app found by both gets both halves
  content.forEach((id, r) => similarity.set(id, 0.5 * (1 - r / Math.max(content.length, 1))));
  const topCo = coDownloads[0]?.score || 1;
  for (const n of coDownloads) similarity.set(n.appId, (similarity.get(n.appId) ?? 0) + 0.5 * (n.score / topCo));
  return [...similarity]
    .filter(([id]) => !exclude.has(id))
    .map(([appId, s]) => ({ appId, score: s * 0.6 + quality(appId) * 0.4 }))
    .sort(byScoreThenId)
    .slice(0, limit);
}
