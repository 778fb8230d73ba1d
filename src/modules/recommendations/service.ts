// Recommendations for a user and similar apps, from the batch job's neighbours (app_neighbors), the search
// engine's more-like-this, and the charts. Owned apps are never recommended. A user's answer is cached under
// a fingerprint of their library, so a new app changes the key at once (and leaves the rows at once).
// The public app detail carries "similarApps" from this process's memory (similarMember), filled in the background.
import { LRUCache } from 'lru-cache';
import type { Cache } from '../../platform/cache/index.ts';
import type { Db } from '../../platform/db/index.ts';
import { notFound } from '../../platform/errors.ts';
import type { Logger } from '../../platform/observability/logger.ts';
import type { CatalogService } from '../catalog/index.ts';
import type { RankingsService } from '../rankings/index.ts';
import type { SearchService } from '../search/index.ts';
import { blendSimilar, likelyApps, RECENCY, type Neighbor } from './cf.ts';

export interface RecommendationsDeps {
  db: Db;
  cache: Cache;
  catalog: CatalogService;
  search: SearchService;
  rankings: RankingsService;
  /** Failures of background work (similarMember's fills); they are dropped when absent. */
  logger?: Logger;
}

interface LibraryApp {
  appId: string;
  name: string;
  category: string;
}

/** Rows: items per row, "Because you downloaded" rows, "Popular in" rows. */
export const ROW_ITEMS = 10;
export const BECAUSE_ROWS = 3;
export const CATEGORY_ROWS = 2;
/** Apps asked of the search engine's more-like-this for an app's similar apps (the route's limit is at most 30). */
const SIMILAR_POOL = 60;
/** "Apps you might like" reads the neighbours of this many of the most recent apps (the 30th weighs 0.9^29 ≈ 5%). */
const LIKELY_FROM = 30;
/** The library read for recommendations: the most recent apps (the batch job pairs as many). */
const LIBRARY_LIMIT = 100;
const USER_TTL_MS = 10 * 60_000;
const DEFAULT_COUNTRY = 'US';
/** similarMember's memory: apps held, how long, how many fills run at once (a miss beyond that is retried on a later read). */
const DETAIL_APPS = 20_000;
const DETAIL_BYTES = 48 * 1024 * 1024;
const DETAIL_TTL_MS = 10 * 60_000;
/** An empty answer is often "not indexed yet" (a new app): it is asked again sooner. */
const DETAIL_EMPTY_TTL_MS = 60_000;
const DETAIL_FILLS = 16;

/** An app's similar apps for its detail: their ids and summary JSON (US), and the member as sent. */
interface DetailSimilar {
  ids: string[];
  items: string[];
  member: string;
}

export class RecommendationsService {
  private readonly neighbors = new LRUCache<string, Neighbor[]>({ max: 100_000, ttl: 10 * 60_000 });
  private readonly similarRanked = new LRUCache<string, Neighbor[]>({ max: 50_000, ttl: 10 * 60_000 });
  private readonly similarLoads = new Map<string, Promise<Neighbor[]>>();
  private readonly detailSimilar = new LRUCache<string, DetailSimilar>({
    max: DETAIL_APPS,
    maxSize: DETAIL_BYTES,
    sizeCalculation: (e) => 2 * e.member.length + 40 * e.ids.length + 64, // member + items (about as long), ids
    ttl: DETAIL_TTL_MS,
  });
  /** Fills running now, one per app. */
  private readonly filling = new Set<string>();
  /** Bumped by onBuilt: a fill that started before it is not stored. */
  private generation = 0;

  constructor(private readonly deps: RecommendationsDeps) {}

  /** recs.built (every process): neighbours and the detail's similar apps are read again. */
  onBuilt(): void {
    this.generation++;
    this.neighbors.clear();
    this.similarRanked.clear();
    this.detailSimilar.clear();
  }

  /**
   * Synchronous peek for the catalog's app detail (the hot path: no await): the `"similarApps":[...]` member
   * (up to ROW_ITEMS summaries, US, as similarJson answers them) when this process holds it. On a miss it is
   * computed in the background (once per app at a time; failures are logged, never thrown here) and undefined
   * is returned: the next read carries it. Apps the catalog already knows are no longer public are left out.
   */
  similarMember(appId: string): string | undefined {
    const hit = this.detailSimilar.get(appId);
    if (!hit) {
      this.fillDetailSimilar(appId);
      return undefined;
    }
    // an empty L1 entry: the catalog knows this app is not public any more (removed since the fill)
    const gone = (id: string) => this.deps.catalog.peekPublicDetail(id)?.length === 0;
    if (!hit.ids.some(gone)) return hit.member;
    return `"similarApps":[${hit.items.filter((_, i) => !gone(hit.ids[i])).join(',')}]`;
  }

  private fillDetailSimilar(appId: string): void {
    if (this.filling.has(appId) || this.filling.size >= DETAIL_FILLS) return;
    this.filling.add(appId);
    const started = this.generation;
    void (async () => {
      const items = await this.similarItems(appId, DEFAULT_COUNTRY, ROW_ITEMS);
      if (this.generation !== started) return; // a new build went live meanwhile
      const ids = items.map((json) => (JSON.parse(json) as { id: string }).id);
      const entry: DetailSimilar = { ids, items, member: `"similarApps":[${items.join(',')}]` };
      this.detailSimilar.set(appId, entry, items.length ? undefined : { ttl: DETAIL_EMPTY_TTL_MS });
    })()
      .catch((err) => this.deps.logger?.warn({ err, appId }, 'recommendations: similar apps for the detail failed'))
      .finally(() => this.filling.delete(appId));
  }

  /** The user's rows as JSON: "Because you downloaded X" ×3, "Apps you might like", "Popular in <category>" ×2; charts when the library is empty. */
  async forUserJson(userId: string, country = DEFAULT_COUNTRY): Promise<string> {
    const [ref, library, run] = await Promise.all([this.deps.catalog.ref(), this.library(userId), this.deps.rankings.currentRun()]);
    // keyed by the library (a new app leaves the rows at once) and the chart run (popular rows follow the charts)
    const key = `recs:user:${userId}:${country}:${library.length}:${library[0]?.appId ?? '-'}:${run?.id ?? '-'}`;
    const cached = await this.deps.cache.get(key);
    if (cached) return cached;

    const owned = new Set(library.map((a) => a.appId));
    const rows: { kind: string; title: string; basedOn?: string; category?: string; ids: string[] }[] = [];
    if (library.length) {
      const recent = library.slice(0, BECAUSE_ROWS);
      const categories = topCategories(library).slice(0, CATEGORY_ROWS);
      // the rows are independent: asked for at once, laid out in their order
      const [similar, neighbors, popular] = await Promise.all([
        Promise.all(recent.map((app) => this.similar(app.appId, ROW_ITEMS, owned))),
        this.neighborsOf(library.slice(0, LIKELY_FROM).map((a) => a.appId)),
        Promise.all(categories.map((category) => this.deps.rankings.chartIds('top-free', country, category))),
      ]);
      recent.forEach((app, i) => {
        if (similar[i].length)
          rows.push({ kind: 'because', title: `Because you downloaded ${app.name}`, basedOn: app.appId, ids: similar[i].map((n) => n.appId) });
      });
      const liked = likelyApps(
        library.map((a) => a.appId),
        (id) => neighbors.get(id),
        ROW_ITEMS,
      );
      if (liked.length) rows.push({ kind: 'might-like', title: 'Apps you might like', ids: liked.map((n) => n.appId) });
      categories.forEach((category, i) => {
        const ids = popular[i].filter((id) => !owned.has(id)).slice(0, ROW_ITEMS);
        if (ids.length) rows.push({ kind: 'popular', title: `Popular in ${ref.categories.get(category)?.name ?? category}`, category, ids });
      });
    } else {
      // cold start: what the store's charts say
      const [popular, trending] = await Promise.all([this.deps.rankings.chartIds('top-free', country), this.deps.rankings.chartIds('trending', country)]);
      if (popular.length) rows.push({ kind: 'popular', title: 'Popular apps', ids: popular.slice(0, ROW_ITEMS) });
      if (trending.length) rows.push({ kind: 'trending', title: 'Trending now', ids: trending.slice(0, ROW_ITEMS) });
    }
    const rendered = await Promise.all(
      rows.map(async (r) => {
        const items = await this.deps.search.summaries.json(r.ids, country);
        const extra = `${r.basedOn ? `,"basedOn":"${r.basedOn}"` : ''}${r.category ? `,"category":${JSON.stringify(r.category)}` : ''}`;
        return `{"kind":"${r.kind}","title":${JSON.stringify(r.title)}${extra},"items":[${items.join(',')}]}`;
      }),
    );
    const json = `{"rows":[${rendered.join(',')}]}`;
    await this.deps.cache.set(key, json, USER_TTL_MS);
    return json;
  }

  /** Similar apps as JSON: more-like-this blended with co-downloads, re-ranked by quality. 404 for an app not public. */
  async similarJson(appId: string, country = DEFAULT_COUNTRY, limit = ROW_ITEMS): Promise<string> {
    const detail = await this.deps.catalog.publicDetail(appId);
    if (!detail.length) throw notFound('App');
    return `{"items":[${(await this.similarItems(appId, country, limit)).join(',')}]}`;
  }

  /** The summary JSON of the app's similar apps (itself excluded), best first. */
  private async similarItems(appId: string, country: string, limit: number): Promise<string[]> {
    const similar = await this.similar(appId, limit, new Set([appId]));
    return this.deps.search.summaries.json(
      similar.map((n) => n.appId),
      country,
    );
  }

  /** The app's similar apps, best first, less `exclude`. */
  private async similar(appId: string, limit: number, exclude: ReadonlySet<string>): Promise<Neighbor[]> {
    return (await this.rankedSimilar(appId)).filter((n) => !exclude.has(n.appId)).slice(0, limit);
  }

  /**
   * Every candidate similar to the app, best first: its SIMILAR_POOL nearest by content and its co-download
   * neighbours, blended and re-ranked by quality, the app itself and apps no longer public left out. The same for
   * every caller and country (quality is the app's rating), so it is kept per app and computed once at a time:
   * "Because you downloaded" rows of many users share it, as do the detail and GET /apps/:id/recommendations.
   */
  private rankedSimilar(appId: string): Promise<Neighbor[]> {
    const hit = this.similarRanked.get(appId);
    if (hit) return Promise.resolve(hit);
    let loading = this.similarLoads.get(appId);
    if (!loading) {
      const generation = this.generation;
      loading = this.computeSimilar(appId)
        .then((ranked) => {
          if (generation === this.generation) this.similarRanked.set(appId, ranked);
          return ranked;
        })
        .finally(() => this.similarLoads.delete(appId));
      this.similarLoads.set(appId, loading);
    }
    return loading;
  }

  private async computeSimilar(appId: string): Promise<Neighbor[]> {
    const [content, neighbors] = await Promise.all([this.deps.search.similarIds(appId, SIMILAR_POOL), this.neighborsOf([appId])]);
    const co = neighbors.get(appId) ?? [];
    const candidates = [...new Set([...content, ...co.map((n) => n.appId)])].filter((id) => id !== appId);
    // quality from the apps themselves (a light read: only the few shown are hydrated into summaries);
    // apps no longer published are left out
    const { rows } = await this.deps.db.query<{ id: string; rating_average: string | number; rating_count: number }>(
      `SELECT id, rating_average, rating_count FROM catalog_apps WHERE id = ANY($1::uuid[]) AND status = 'published'`,
      [candidates],
    );
    const quality = new Map(rows.map((r) => [r.id, (Number(r.rating_average) / 5) * Math.min(1, Number(r.rating_count) / 50)]));
    return blendSimilar(content, co, (id) => quality.get(id) ?? 0, candidates.length, new Set([appId])).filter((n) => quality.has(n.appId));
  }

  private async library(userId: string): Promise<LibraryApp[]> {
    const { rows } = await this.deps.db.query<{ app_id: string; name: string; category: string }>(
      `SELECT o.app_id, a.name, a.category FROM owned_apps o JOIN catalog_apps a ON a.id = o.app_id
        WHERE o.user_id = $1 ORDER BY o.acquired_at DESC, o.app_id LIMIT ${LIBRARY_LIMIT}`,
      [userId],
    );
    return rows.map((r) => ({ appId: r.app_id, name: r.name, category: r.category }));
  }

  private async neighborsOf(appIds: string[]): Promise<Map<string, Neighbor[]>> {
    const out = new Map<string, Neighbor[]>();
    const missing: string[] = [];
    for (const id of appIds) {
      const hit = this.neighbors.get(id);
      if (hit) out.set(id, hit);
      else missing.push(id);
    }
    if (missing.length) {
      const { rows } = await this.deps.db.query<{ app_id: string; other_id: string; score: number }>(
        `SELECT n.app_id, n.other_id, n.score FROM app_neighbors n JOIN recs_live l ON l.build_id = n.build_id
          WHERE n.app_id = ANY($1::uuid[]) ORDER BY n.app_id, n.rank`,
        [missing],
      );
      for (const id of missing) out.set(id, []);
      for (const r of rows) out.get(r.app_id)!.push({ appId: r.other_id, score: r.score });
      for (const id of missing) this.neighbors.set(id, out.get(id)!);
    }
    return out;
  }
}

/** The library's categories, most present first, each app weighing more the more recent it is; ties by name. */
export function topCategories(library: readonly { category: string }[]): string[] {
  const weight = new Map<string, number>();
  library.forEach((a, k) => weight.set(a.category, (weight.get(a.category) ?? 0) + Math.pow(RECENCY, k)));
  return [...weight].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1)).map(([c]) => c);
}
