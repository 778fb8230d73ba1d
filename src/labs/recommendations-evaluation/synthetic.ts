// A synthetic app store world with coherent tastes, for measuring recommendations (`orchard recs evaluate`).
//
// Apps belong to the seed's 26 categories (uneven sizes, the seed's weights) and to small affinity clusters:
// apps people tend to get together (a photo editor, a filter pack, a collage app), mostly within a category,
// sometimes across. Popularity is Zipf over a random order of the apps, so it is independent of category.
// A user has 1–3 favourite categories and a few clusters; their library (heavy-tailed size, median ~10) is
// drawn from those clusters, those categories and global popularity, in acquisition order with a mild
// "session" effect (after one cluster app, sometimes another of the same cluster next). The newest app is
// thus predictable from the rest only through taste: it is an ordinary draw, not a fixed cluster member.

import { Rng, Weighted, zipf } from '../../platform/rng.ts';
import { THEMES } from '../../seed/themes.ts';

export interface SyntheticApp {
  id: string;
  category: string;
  /** Relative popularity, the Zipf weight: 1 for the most popular app, 1/(k+1)^s for the k-th. */
  popularity: number;
}

export interface SyntheticWorld {
  apps: SyntheticApp[];
  /** Each user's apps, most recent first. */
  libraries: string[][];
  /** The affinity clusters (app ids), for inspection; the evaluation does not use them. */
  clusters: string[][];
}

export interface SyntheticOptions {
  apps?: number;
  users?: number;
  seed?: number;
  /** Zipf exponent of global popularity (1 = classic). */
  zipf?: number;
  /** Share of draws from the user's clusters / favourite categories; the rest is global popularity. */
  clusterShare?: number;
  categoryShare?: number;
  /** Within a favourite category, apps are drawn ∝ popularity^this (below 1: the category's tail gets found). */
  categoryPopularity?: number;
  /** After a cluster app, the chance the next acquisition is another app of the same cluster. */
  sessionContinue?: number;
  /** Share of clusters that gain one member from another category. */
  crossCategory?: number;
  /** Median library size and log-normal spread; sizes are clamped to [1, maxLibrary]. */
  medianLibrary?: number;
  librarySpread?: number;
  maxLibrary?: number;
}

export const SYNTHETIC_DEFAULTS = {
  apps: 5_000,
  users: 20_000,
  seed: 42,
  zipf: 1,
  clusterShare: 0.45,
  categoryShare: 0.35,
  categoryPopularity: 0.5,
  sessionContinue: 0.25,
  crossCategory: 0.15,
  medianLibrary: 10,
  librarySpread: 0.75,
  maxLibrary: 60,
} satisfies Required<SyntheticOptions>;

const CATEGORY_NAMES = Object.keys(THEMES);
const CATEGORY_WEIGHTS = new Weighted(Object.entries(THEMES).map(([slug, t]) => [slug, t.weight] as const));

export function syntheticWorld(options: SyntheticOptions = {}): SyntheticWorld {
  const o = { ...SYNTHETIC_DEFAULTS };
  for (const key of Object.keys(SYNTHETIC_DEFAULTS) as (keyof typeof SYNTHETIC_DEFAULTS)[]) {
    if (options[key] !== undefined) o[key] = options[key]!;
  }
  const worldRng = new Rng(o.seed, 'recs-world');

  // Apps: category by the seed's weights; popularity Zipf over a random order.
  const width = String(o.apps).length;
  const apps: SyntheticApp[] = [];
  for (let i = 0; i < o.apps; i++) {
    apps.push({ id: `app-${String(i + 1).padStart(width, '0')}`, category: CATEGORY_WEIGHTS.pick(worldRng), popularity: 0 });
  }
  const order = worldRng.sample(
    apps.map((_, i) => i),
    apps.length,
  );
  order.forEach((appIndex, rank) => (apps[appIndex].popularity = 1 / Math.pow(rank + 1, o.zipf)));
  const global = zipf(order, o.zipf); // indexes, most popular first

  const byCategory = new Map<string, number[]>();
  for (const c of CATEGORY_NAMES) byCategory.set(c, []);
  apps.forEach((a, i) => byCategory.get(a.category)!.push(i));
  const usedCategories = CATEGORY_NAMES.filter((c) => byCategory.get(c)!.length > 0);
  const inCategory = new Map<string, Weighted<number>>();
  for (const c of usedCategories)
    inCategory.set(c, new Weighted(byCategory.get(c)!.map((i) => [i, Math.pow(apps[i].popularity, o.categoryPopularity)] as const)));
  const categoryPick = new Weighted(usedCategories.map((c) => [c, THEMES[c].weight] as const));

  // Affinity clusters: each category's apps, shuffled, cut into groups of 2–6; some gain an outsider.
  const clusters: number[][] = [];
  const clustersOfCategory = new Map<string, number[]>();
  for (const c of usedCategories) {
    const members = worldRng.sample(byCategory.get(c)!, byCategory.get(c)!.length);
    const own: number[] = [];
    for (let at = 0; at < members.length; ) {
      let size = worldRng.int(2, 6);
      if (members.length - (at + size) === 1) size++; // no singleton at the end
      own.push(clusters.length);
      clusters.push(members.slice(at, at + size));
      at += size;
    }
    clustersOfCategory.set(c, own);
  }
  for (const cluster of clusters) {
    if (!worldRng.chance(o.crossCategory)) continue;
    const home = apps[cluster[0]].category;
    const other = categoryPick.pick(worldRng);
    if (other === home) continue;
    const outsider = inCategory.get(other)!.pick(worldRng);
    if (!cluster.includes(outsider)) cluster.push(outsider);
  }
  // A cluster's appeal follows its members' popularity (damped), so well-known bundles are common.
  const appeal = clusters.map((m) => m.reduce((s, i) => s + Math.sqrt(apps[i].popularity), 0));
  const anyCluster = new Weighted(clusters.map((_, k) => [k, appeal[k]] as const));
  const clusterInCategory = new Map<string, Weighted<number>>();
  for (const [c, ks] of clustersOfCategory) if (ks.length) clusterInCategory.set(c, new Weighted(ks.map((k) => [k, appeal[k]] as const)));

  const libraries: string[][] = [];
  for (let u = 0; u < o.users; u++) libraries.push(userLibrary(new Rng(o.seed, 'recs-user', u)));

  return { apps, libraries, clusters: clusters.map((m) => m.map((i) => apps[i].id)) };

  function userLibrary(rng: Rng): string[] {
    const favourites: string[] = [];
    const nFav = rng.int(1, 3);
    for (let t = 0; favourites.length < nFav && t < 20; t++) {
      const c = categoryPick.pick(rng);
      if (!favourites.includes(c)) favourites.push(c);
    }
    const mine: number[] = [];
    const nClusters = 1 + Math.min(4, Math.floor(rng.logNormal(Math.log(1.5), 0.8)));
    for (let t = 0; mine.length < nClusters && t < 20; t++) {
      const k = rng.chance(0.8) ? clusterInCategory.get(rng.pick(favourites))!.pick(rng) : anyCluster.pick(rng);
      if (!mine.includes(k)) mine.push(k);
    }
    const size = Math.max(1, Math.min(o.maxLibrary, Math.round(rng.logNormal(Math.log(o.medianLibrary), o.librarySpread))));

    const owned = new Set<number>();
    const acquired: number[] = []; // oldest first
    let lastCluster = -1;
    for (let step = 0; acquired.length < size && step < size * 10; step++) {
      let app = -1;
      let from = -1;
      const r = rng.next();
      if (lastCluster >= 0 && rng.chance(o.sessionContinue)) {
        app = memberOf(rng, clusters[lastCluster], owned);
        from = lastCluster;
      } else if (r < o.clusterShare) {
        from = rng.pick(mine);
        app = memberOf(rng, clusters[from], owned);
      } else if (r < o.clusterShare + o.categoryShare) {
        app = inCategory.get(rng.pick(favourites))!.pick(rng);
      } else {
        app = global.pick(rng);
      }
      if (app < 0 || owned.has(app)) {
        lastCluster = -1;
        continue;
      }
      owned.add(app);
      acquired.push(app);
      lastCluster = from;
    }
    return acquired.reverse().map((i) => apps[i].id);
  }

  /** A member of the cluster the user doesn't own yet, popular ones likelier (damped); -1 when none is left. */
  function memberOf(rng: Rng, members: readonly number[], owned: ReadonlySet<number>): number {
    let total = 0;
    for (const i of members) if (!owned.has(i)) total += Math.sqrt(apps[i].popularity);
    if (total === 0) return -1;
    let u = rng.next() * total;
    for (const i of members) {
      if (owned.has(i)) continue;
      u -= Math.sqrt(apps[i].popularity);
      if (u < 0) return i;
    }
    return members.filter((i) => !owned.has(i)).at(-1)!;
  }
}
