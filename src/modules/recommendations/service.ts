// Recommendations for a user and similar apps, from the batch job's neighbours (app_neighbors), the search
// engine's more-like-this, and the charts. Owned apps are never recommended. A user's answer is cached under
// a fingerprint of their library, so a new app changes the key at once (and leaves the rows at once).
import { LRUCache } from 'lru-cache';
import type { Cache } from '../../platform/cache/index.ts';
import type { Db } from '../../platform/db/index.ts';
import { notFound } from '../../platform/http/errors.ts';
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
/** The library read for recommendations: the most recent apps (the batch job pairs as many). */
const LIBRARY_LIMIT = 100;
const USER_TTL_MS = 10 * 60_000;
const DEFAULT_COUNTRY = 'US';

export class RecommendationsService {
  private readonly neighbors = new LRUCache<string, Neighbor[]>({ max: 100_000, ttl: 10 * 60_000 });

  constructor(private readonly deps: RecommendationsDeps) {}

  /** recs.built (every process): neighbours are read again. */
  onBuilt(): void {
    this.neighbors.clear();
  }

  /** The user's rows as JSON: "Because you downloaded X" ×3, "Apps you might like", "Popular in <category>" ×2; charts when the library is empty. */
  async forUserJson(userId: string, country = DEFAULT_COUNTRY): Promise<string> {
    const ref = await this.deps.catalog.ref();
    const library = await this.library(userId);
    // keyed by the library (a new app leaves the rows at once) and the chart run (popular rows follow the charts)
    const run = await this.deps.rankings.currentRun();
    const key = `recs:user:${userId}:${country}:${library.length}:${library[0]?.appId ?? '-'}:${run?.id ?? '-'}`;
    const cached = await this.deps.cache.get(key);
    if (cached) return cached;

    const owned = new Set(library.map((a) => a.appId));
    const rows: { kind: string; title: string; basedOn?: string; category?: string; ids: string[] }[] = [];
    if (library.length) {
      for (const app of library.slice(0, BECAUSE_ROWS)) {
        const similar = await this.similar(app.appId, country, ROW_ITEMS, owned);
        if (similar.length) rows.push({ kind: 'because', title: `Because you downloaded ${app.name}`, basedOn: app.appId, ids: similar.map((n) => n.appId) });
      }
      const neighbors = await this.neighborsOf(library.map((a) => a.appId));
      const liked = likelyApps(library.map((a) => a.appId), (id) => neighbors.get(id), ROW_ITEMS);
      if (liked.length) rows.push({ kind: 'might-like', title: 'Apps you might like', ids: liked.map((n) => n.appId) });
      for (const category of topCategories(library).slice(0, CATEGORY_ROWS)) {
        const ids = (await this.deps.rankings.chartIds('top-free', country, category)).filter((id) => !owned.has(id)).slice(0, ROW_ITEMS);
        if (ids.length) rows.push({ kind: 'popular', title: `Popular in ${ref.categories.get(category)?.name ?? category}`, category, ids });
      }
    } else {
      // cold start: what the store's charts say
      const popular = await this.deps.rankings.chartIds('top-free', country);
      if (popular.length) rows.push({ kind: 'popular', title: 'Popular apps', ids: popular.slice(0, ROW_ITEMS) });
      const trending = await this.deps.rankings.chartIds('trending', country);
      if (trending.length) rows.push({ kind: 'trending', title: 'Trending now', ids: trending.slice(0, ROW_ITEMS) });
    }
    const rendered = await Promise.all(rows.map(async (r) => {
      const items = await this.deps.search.summaries.json(r.ids, country);
      const extra = `${r.basedOn ? `,"basedOn":"${r.basedOn}"` : ''}${r.category ? `,"category":${JSON.stringify(r.category)}` : ''}`;
      return `{"kind":"${r.kind}","title":${JSON.stringify(r.title)}${extra},"items":[${items.join(',')}]}`;
    }));
    const json = `{"rows":[${rendered.join(',')}]}`;
    await this.deps.cache.set(key, json, USER_TTL_MS);
    return json;
  }

  /** Similar apps as JSON: more-like-this blended with co-downloads, re-ranked by quality. 404 for an app not public. */
  async similarJson(appId: string, country = DEFAULT_COUNTRY, limit = ROW_ITEMS): Promise<string> {
    const detail = await this.deps.catalog.publicDetail(appId);
    if (!detail.length) throw notFound('App');
    const similar = await this.similar(appId, country, limit, new Set([appId]));
    const items = await this.deps.search.summaries.json(similar.map((n) => n.appId), country);
    return `{"items":[${items.join(',')}]}`;
  }

  private async similar(appId: string, country: string, limit: number, exclude: ReadonlySet<string>): Promise<Neighbor[]> {
    const content: string[] = JSON.parse(await this.deps.search.similarJson(appId, 3 * limit)).items.map((i: { id: string }) => i.id);
    const co = (await this.neighborsOf([appId])).get(appId) ?? [];
    const candidates = [...new Set([...content, ...co.map((n) => n.appId)])].filter((id) => id !== appId && !exclude.has(id));
    const quality = new Map<string, number>();
    for (const json of await this.deps.search.summaries.json(candidates, country)) {
      const s = JSON.parse(json) as { id: string; rating: { average: number; count: number } };
      quality.set(s.id, (s.rating.average / 5) * Math.min(1, s.rating.count / 50));
    }
    // apps no longer public have no summary: they are left out
    return blendSimilar(content, co, (id) => quality.get(id) ?? 0, limit, new Set([...exclude, appId])).filter((n) => quality.has(n.appId));
  }

  private async library(userId: string): Promise<LibraryApp[]> {
    const { rows } = await this.deps.db.query<{ app_id: string; name: string; category: string }>(
      `SELECT o.app_id, a.name, a.category FROM owned_apps o JOIN apps a ON a.id = o.app_id
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
        'SELECT app_id, other_id, score FROM app_neighbors WHERE app_id = ANY($1::uuid[]) ORDER BY app_id, rank',
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
