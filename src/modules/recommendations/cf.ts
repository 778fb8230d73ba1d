// Item-item collaborative filtering, as pure functions: the neighbours of each app from libraries ("people
// who got X also got Y"), and a user's candidates scored from their whole library. The batch job (build.ts)
// and the evaluation both run neighborsOfIndexed; the incremental build folds new pairs in with the same formula.

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
 * Libraries over dense app numbers: library u is `apps[starts[u] .. starts[u + 1])`, each app once, most recent
 * first, at most MAX_LIBRARY_PAIRS. App numbers follow app id order, so "the smaller number" breaks ties the way
 * "the smaller id" does.
 */
export interface IndexedLibraries {
  appCount: number;
  apps: Int32Array;
  starts: Int32Array;
}

/** One app's neighbours, best first: other app numbers, their scores and co-owner counts. */
export interface IndexedNeighbors {
  app: number;
  /** Users whose libraries hold the app. */
  owners: number;
  others: number[];
  scores: number[];
  co: number[];
}

/**
 * Every app's neighbours by cosine similarity of owner sets, pairs seen by fewer than MIN_CO_USERS users left
 * out, ties to the smaller app number. Apps with no neighbours are yielded too (with their owner count).
 *
 * An inverted index (app → owners) and one counter array: for each app, the libraries of its owners are walked
 * once, so the work is Σ over users of (library size)², with no pair table in memory.
 */
export function* neighborsOfIndexed(libraries: IndexedLibraries, maxNeighbors = MAX_NEIGHBORS): Generator<IndexedNeighbors> {
  const { appCount, apps, starts } = libraries;
  const users = starts.length - 1;
  const owners = new Int32Array(appCount);
  for (let i = 0; i < apps.length; i++) owners[apps[i]]++;
  // owner lists, app by app
  const ownerStarts = new Int32Array(appCount + 1);
  for (let a = 0; a < appCount; a++) ownerStarts[a + 1] = ownerStarts[a] + owners[a];
  const ownerList = new Int32Array(apps.length);
  const fill = ownerStarts.slice(0, appCount);
  for (let u = 0; u < users; u++) for (let i = starts[u]; i < starts[u + 1]; i++) ownerList[fill[apps[i]]++] = u;

  const co = new Int32Array(appCount);
  const touched = new Int32Array(appCount);
  const heap = new TopK(maxNeighbors);
  for (let a = 0; a < appCount; a++) {
    if (owners[a] === 0) continue;
    let seen = 0;
    if (owners[a] >= MIN_CO_USERS) {
      for (let o = ownerStarts[a]; o < ownerStarts[a + 1]; o++) {
        const u = ownerList[o];
        for (let i = starts[u]; i < starts[u + 1]; i++) {
          const b = apps[i];
          if (b !== a && co[b]++ === 0) touched[seen++] = b;
        }
      }
    }
    heap.clear();
    for (let t = 0; t < seen; t++) {
      const b = touched[t];
      if (co[b] >= MIN_CO_USERS) heap.offer(b, co[b] / Math.sqrt(owners[a] * owners[b]));
    }
    const others = heap.sorted();
    const scores = others.map((b) => co[b] / Math.sqrt(owners[a] * owners[b]));
    yield { app: a, owners: owners[a], others, scores, co: others.map((b) => co[b]) };
    for (let t = 0; t < seen; t++) co[touched[t]] = 0;
  }
}

/** The k best (score high, then number low) of a stream, in a heap whose root is the worst kept. */
class TopK {
  private readonly ids: Int32Array;
  private readonly scores: Float64Array;
  private size = 0;
  constructor(private readonly k: number) {
    this.ids = new Int32Array(k);
    this.scores = new Float64Array(k);
  }
  clear() {
    this.size = 0;
  }
  /** i is worse than j */
  private worse(i: number, j: number) {
    return this.scores[i] < this.scores[j] || (this.scores[i] === this.scores[j] && this.ids[i] > this.ids[j]);
  }
  private swap(i: number, j: number) {
    const id = this.ids[i],
      s = this.scores[i];
    this.ids[i] = this.ids[j];
    this.scores[i] = this.scores[j];
    this.ids[j] = id;
    this.scores[j] = s;
  }
  offer(id: number, score: number) {
    if (this.k === 0) return;
    if (this.size < this.k) {
      let i = this.size++;
      this.ids[i] = id;
      this.scores[i] = score;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!this.worse(i, p)) break;
        this.swap(i, p);
        i = p;
      }
      return;
    }
    // better than the worst kept?
    if (score < this.scores[0] || (score === this.scores[0] && id > this.ids[0])) return;
    this.ids[0] = id;
    this.scores[0] = score;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1,
        r = l + 1;
      let m = i;
      if (l < this.size && this.worse(l, m)) m = l;
      if (r < this.size && this.worse(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
  }
  /** The kept ids, best first. */
  sorted(): number[] {
    const order = Array.from({ length: this.size }, (_, i) => i);
    order.sort((i, j) => this.scores[j] - this.scores[i] || this.ids[i] - this.ids[j]);
    return order.map((i) => this.ids[i]);
  }
}

/** Dense numbers for app ids, in id order, and the libraries over them (each deduplicated and capped). */
export function indexLibraries(libraries: Iterable<readonly string[]>): { ids: string[]; libraries: IndexedLibraries } {
  const lists = [...libraries].map((l) => [...new Set(l)].slice(0, MAX_LIBRARY_PAIRS));
  const ids = [...new Set(lists.flat())].sort();
  const number = new Map(ids.map((id, i) => [id, i]));
  const starts = new Int32Array(lists.length + 1);
  lists.forEach((l, u) => (starts[u + 1] = starts[u] + l.length));
  const apps = new Int32Array(starts[lists.length]);
  lists.forEach((l, u) => l.forEach((id, i) => (apps[starts[u] + i] = number.get(id)!)));
  return { ids, libraries: { appCount: ids.length, apps, starts } };
}

/**
 * Neighbours of every app from libraries (each a user's apps, most recent first). Deterministic: ties are
 * broken by app id.
 */
export function neighborsFromLibraries(libraries: Iterable<readonly string[]>, maxNeighbors = MAX_NEIGHBORS): Map<string, Neighbor[]> {
  const { ids, libraries: indexed } = indexLibraries(libraries);
  const out = new Map<string, Neighbor[]>();
  for (const n of neighborsOfIndexed(indexed, maxNeighbors)) {
    if (n.others.length)
      out.set(
        ids[n.app],
        n.others.map((b, i) => ({ appId: ids[b], score: n.scores[i] })),
      );
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
  return [...scores]
    .map(([appId, score]) => ({ appId, score }))
    .sort(byScoreThenId)
    .slice(0, limit);
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
