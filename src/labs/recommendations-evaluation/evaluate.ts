// Offline evaluation of "Apps you might like" (`orchard recs evaluate`): on a synthetic world with coherent
// tastes, hide each user's most recent app, build the item-item neighbours from what is left, recommend 10
// and see whether the hidden app is among them; a popularity baseline (the 10 most-held apps the user
// doesn't own) runs beside it. Everything is seeded: the same options give the same figures.

import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { likelyApps, neighborsFromLibraries, type Neighbor } from '../../modules/recommendations/index.ts';
import { syntheticWorld, SYNTHETIC_DEFAULTS, type SyntheticOptions, type SyntheticWorld } from './synthetic.ts';

export interface EvaluationOptions extends SyntheticOptions {
  /** Recommendations per user (the @k of recall@k and NDCG@k). */
  k?: number;
  /** A ready world instead of generating one from the options. */
  world?: SyntheticWorld;
  /** The neighbour builder (default neighborsFromLibraries); tests wrap it to see its input. */
  buildNeighbors?: (libraries: readonly (readonly string[])[]) => Map<string, Neighbor[]>;
}

export interface Metrics {
  users: number;
  /** Share of users whose hidden app is in their k recommendations. */
  recall: number;
  /** Mean of 1/log2(rank+2) for the hidden app's 0-based rank, 0 when absent. */
  ndcg: number;
}

export interface EvaluationReport {
  k: number;
  seed: number;
  apps: number;
  users: number;
  /** Users with ≥ 2 apps: each has one hidden. */
  evaluated: number;
  meanLibrary: number;
  medianLibrary: number;
  cf: Metrics;
  popularity: Metrics;
  /** CF topped up with popular apps when it has fewer than k candidates (what the service shows). */
  cfFilled: Metrics;
  /** Share of evaluated users for whom CF alone found fewer than k apps. */
  cfShort: number;
  /** Users with exactly one remaining app (their CF recommendations come from that app alone). */
  coldStart: { cf: Metrics; popularity: Metrics };
  /** Apps with at least one neighbour. */
  appsWithNeighbors: number;
  /** Build time; heap retained by the neighbours (after a full GC); the process's peak RSS so far. */
  build: { ms: number; heapBytes: number; maxRssBytes: number };
  totalMs: number;
}

/** The most recent app of each library of ≥ 2 apps, hidden; the rest as it is. */
export function holdOut(libraries: readonly (readonly string[])[]): { hidden: (string | undefined)[]; remaining: string[][] } {
  const hidden: (string | undefined)[] = [];
  const remaining: string[][] = [];
  for (const library of libraries) {
    if (library.length >= 2) {
      hidden.push(library[0]);
      remaining.push(library.slice(1).filter((a) => a !== library[0]));
    } else {
      hidden.push(undefined);
      remaining.push(library.slice());
    }
  }
  return { hidden, remaining };
}

/** A full garbage collection, so the heap figure is what the neighbours retain, not the build's garbage. */
function collector(): (() => void) | undefined {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

/** 0-based rank of the app in the list, -1 when absent. */
const rankOf = (list: readonly string[], appId: string) => list.indexOf(appId);
const gain = (rank: number) => (rank < 0 ? 0 : 1 / Math.log2(rank + 2));

class Tally {
  users = 0;
  hits = 0;
  dcg = 0;
  add(rank: number): void {
    this.users++;
    if (rank >= 0) this.hits++;
    this.dcg += gain(rank);
  }
  metrics(): Metrics {
    return { users: this.users, recall: this.users ? this.hits / this.users : 0, ndcg: this.users ? this.dcg / this.users : 0 };
  }
}

export function evaluateRecommendations(options: EvaluationOptions = {}): EvaluationReport {
  const started = performance.now();
  const k = options.k ?? 10;
  const seed = options.seed ?? SYNTHETIC_DEFAULTS.seed;
  const world = options.world ?? syntheticWorld(options);
  const { hidden, remaining } = holdOut(world.libraries);

  // Neighbours over every library with the hidden apps removed: the held-out app must not leak.
  const build = options.buildNeighbors ?? ((libs) => neighborsFromLibraries(libs));
  const gc = collector();
  gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const buildStarted = performance.now();
  const neighbors = build(remaining);
  const buildMs = performance.now() - buildStarted;
  gc?.();
  const heapBytes = process.memoryUsage().heapUsed - heapBefore;
  const maxRssBytes = process.resourceUsage().maxRSS * 1024;

  // Popularity: number of (remaining) libraries holding each app, ties by id.
  const holders = new Map<string, number>();
  for (const library of remaining) for (const a of new Set(library)) holders.set(a, (holders.get(a) ?? 0) + 1);
  const popular = [...holders].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)).map(([a]) => a);
  const popularFor = (owned: ReadonlySet<string>, limit: number, skip: ReadonlySet<string> = new Set()) => {
    const out: string[] = [];
    for (const a of popular) {
      if (out.length >= limit) break;
      if (!owned.has(a) && !skip.has(a)) out.push(a);
    }
    return out;
  };

  const neighborsOf = (appId: string) => neighbors.get(appId);
  const cf = new Tally();
  const base = new Tally();
  const filled = new Tally();
  const coldCf = new Tally();
  const coldBase = new Tally();
  let short = 0;
  let evaluated = 0;
  for (let u = 0; u < remaining.length; u++) {
    const target = hidden[u];
    if (target === undefined) continue;
    evaluated++;
    const library = remaining[u];
    const owned = new Set(library);
    const recs = likelyApps(library, neighborsOf, k).map((n) => n.appId);
    const baseline = popularFor(owned, k);
    const cfRank = rankOf(recs, target);
    const baseRank = rankOf(baseline, target);
    cf.add(cfRank);
    base.add(baseRank);
    if (recs.length < k) short++;
    filled.add(rankOf(recs.length < k ? [...recs, ...popularFor(owned, k - recs.length, new Set(recs))] : recs, target));
    if (library.length === 1) {
      coldCf.add(cfRank);
      coldBase.add(baseRank);
    }
  }

  const sizes = world.libraries.map((l) => l.length).sort((a, b) => a - b);
  return {
    k,
    seed,
    apps: world.apps.length,
    users: world.libraries.length,
    evaluated,
    meanLibrary: sizes.reduce((s, n) => s + n, 0) / Math.max(sizes.length, 1),
    medianLibrary: sizes.length ? sizes[Math.floor(sizes.length / 2)] : 0,
    cf: cf.metrics(),
    popularity: base.metrics(),
    cfFilled: filled.metrics(),
    cfShort: evaluated ? short / evaluated : 0,
    coldStart: { cf: coldCf.metrics(), popularity: coldBase.metrics() },
    appsWithNeighbors: neighbors.size,
    build: { ms: buildMs, heapBytes, maxRssBytes },
    totalMs: performance.now() - started,
  };
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
const num = (x: number) => x.toFixed(4);
const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a');
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** The report as printable lines. */
export function formatEvaluation(r: EvaluationReport): string[] {
  const k = r.k;
  return [
    `Synthetic hold-out (seed ${r.seed}): ${r.apps.toLocaleString('en-US')} apps, ${r.users.toLocaleString('en-US')} users ` +
      `(library mean ${r.meanLibrary.toFixed(1)}, median ${r.medianLibrary}); most recent app hidden`,
    `Users evaluated (≥ 2 apps): ${r.evaluated.toLocaleString('en-US')}`,
    `Item-item CF (likelyApps)   recall@${k} ${pct(r.cf.recall)}   NDCG@${k} ${num(r.cf.ndcg)}`,
    `Popularity baseline         recall@${k} ${pct(r.popularity.recall)}   NDCG@${k} ${num(r.popularity.ndcg)}`,
    `CF / popularity             recall ${ratio(r.cf.recall, r.popularity.recall)}   NDCG ${ratio(r.cf.ndcg, r.popularity.ndcg)}`,
    `CF + popular fill           recall@${k} ${pct(r.cfFilled.recall)}   NDCG@${k} ${num(r.cfFilled.ndcg)}   (CF alone short of ${k} for ${pct(r.cfShort)} of users)`,
    `Cold start (1 remaining app, ${r.coldStart.cf.users.toLocaleString('en-US')} users)   ` +
      `CF recall@${k} ${pct(r.coldStart.cf.recall)} NDCG@${k} ${num(r.coldStart.cf.ndcg)}   ` +
      `popularity recall@${k} ${pct(r.coldStart.popularity.recall)} NDCG@${k} ${num(r.coldStart.popularity.ndcg)}`,
    `Neighbour build: ${(r.build.ms / 1000).toFixed(2)} s, neighbours heap ${mb(r.build.heapBytes)}, peak RSS ${mb(r.build.maxRssBytes)}; ` +
      `${r.appsWithNeighbors.toLocaleString('en-US')} apps with neighbours`,
    `Total: ${(r.totalMs / 1000).toFixed(2)} s`,
  ];
}

/** Command-line use: node --import tsx src/labs/recommendations-evaluation/evaluate.ts [apps] [users] [seed] */
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [apps, users, seed] = process.argv.slice(2).map(Number);
  const report = evaluateRecommendations({
    apps: apps || undefined,
    users: users || undefined,
    seed: Number.isFinite(seed) ? seed : undefined,
  });
  for (const line of formatEvaluation(report)) console.log(line);
}
