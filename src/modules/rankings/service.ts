// Chart reads: pages of the latest run's charts, each app's positions, and developers' rank history.
//
// Charts change once an hour, so reads are served from memory: each process keeps pages (pre-serialised,
// with the search module's app summaries spliced in) and every app's positions in the current run. The
// shared cache holds each chart's ranked ids so a new run is read from the database once, not once per
// process. A new run reaches every process through the ranking.computed broadcast (and, should one be
// missed, through the run id's short TTL).
import { LRUCache } from 'lru-cache';
import type { Cache } from '../../platform/cache/index.ts';
import type { Db } from '../../platform/db/index.ts';
import { invalid, notFound } from '../../platform/errors.ts';
import { decodeCursor, encodeCursor } from '../../platform/http/pagination.ts';
import type { CatalogService } from '../catalog/index.ts';
import type { SearchService } from '../search/index.ts';
import { OVERALL, type Chart } from './compute.ts';
import type { ChartQuery, HistoryQuery, Position } from './schemas.ts';

export interface RankingsServiceDeps {
  db: Db;
  cache: Cache;
  catalog: CatalogService;
  search: SearchService;
}

interface Run {
  id: string;
  computedAt: string;
}
interface Cursor {
  r: string;
  o: number;
}

/** How long a process trusts its idea of the current run without hearing ranking.computed. */
const RUN_TTL_MS = 15_000;
/** Pages hold app summaries: they are rebuilt this often even when the run is unchanged. */
const PAGE_TTL_MS = 60_000;
/** Positions shown on app detail: the top of each chart. */
export const POSITION_MAX_RANK = 100;
const DEFAULT_COUNTRY = 'US';
/** Pages are keyed by the request as sent (only valid requests are ever stored) and the current run. */
const pageKey = (runId: string | undefined, q: ChartQuery) => `${runId}|${q.chart}|${q.country ?? ''}|${q.category ?? ''}|${q.limit ?? ''}|${q.cursor ?? ''}`;
const isCursor = (v: any): v is Cursor => typeof v?.r === 'string' && /^[0-9a-f-]{36}$/.test(v.r) && Number.isInteger(v.o) && v.o >= 0;

export class RankingsService {
  private run: { value: Run | null; at: number } | undefined;
  private runLoading: Promise<Run | null> | undefined;
  /** Pages as the bytes sent: no encoding per response. */
  private readonly pages = new LRUCache<string, Buffer>({ max: 20_000, ttl: PAGE_TTL_MS });
  private positions: { runId: string; byApp: Map<string, Position[]>; members: Map<string, Buffer> } | undefined;
  private positionsLoading: Promise<void> | undefined;

  constructor(private readonly deps: RankingsServiceDeps) {}

  /** ranking.computed (every process): the next read looks up the new run. */
  onComputed(): void {
    this.run = undefined;
  }

  async currentRun(): Promise<Run | null> {
    if (this.run && Date.now() - this.run.at < RUN_TTL_MS) return this.run.value;
    this.runLoading ??= this.deps.db
      .query<{ id: string; finished_at: Date }>(`SELECT id, finished_at FROM chart_runs WHERE status = 'done' ORDER BY finished_at DESC LIMIT 1`)
      .then(({ rows }) => {
        const value = rows[0] ? { id: rows[0].id, computedAt: new Date(rows[0].finished_at).toISOString() } : null;
        this.run = { value, at: Date.now() };
        if (value) void this.loadPositions(value.id).catch(() => {}); // ready before app detail asks
        return value;
      })
      .finally(() => (this.runLoading = undefined));
    return this.runLoading;
  }

  /** One page of a chart as JSON, ready to send. */
  async chartJson(query: ChartQuery): Promise<Buffer> {
    const country = query.country ?? DEFAULT_COUNTRY;
    const category = query.category ?? OVERALL;
    const limit = query.limit ?? 25;
    const ref = await this.deps.catalog.ref();
    if (!ref.storefronts.has(country)) throw invalid('UNKNOWN_COUNTRY', `Unknown storefront '${country}'; GET /api/v1/storefronts lists them.`);
    if (category !== OVERALL && ref.categories.get(category)?.parent !== null) {
      throw invalid('UNKNOWN_CATEGORY', `Unknown category '${category}'; charts are per top-level category (GET /api/v1/categories).`);
    }
    const cursor = decodeCursor(query.cursor, isCursor);
    const current = await this.currentRun();
    const run = cursor ? await this.keptRun(cursor.r) : current;
    const offset = cursor?.o ?? 0;
    const key = pageKey(current?.id, query);
    const hit = this.pages.get(key);
    if (hit) return hit;

    const ranked = run ? await this.rankedIds(run.id, query.chart, country, category) : [];
    const slice = ranked.filter(([rank]) => rank > offset).slice(0, limit + 1);
    const page = slice.slice(0, limit);
    const summaries = await this.deps.search.summaries.json(
      page.map(([, id]) => id),
      country,
    );
    // summaries leave out apps no longer public: pair them back by id
    const byId = new Map(summaries.map((json) => [json.slice(7, 43), json]));
    const items = page.filter(([, id]) => byId.has(id)).map(([rank, id]) => `{"rank":${rank},"app":${byId.get(id)}}`);
    const last = page[page.length - 1];
    const next = slice.length > limit && run && last ? JSON.stringify(encodeCursor({ r: run.id, o: last[0] })) : 'null';
    const json =
      `{"chart":"${query.chart}","country":"${country}","category":${category === OVERALL ? 'null' : JSON.stringify(category)},` +
      `"computedAt":${run ? `"${run.computedAt}"` : 'null'},"items":[${items.join(',')}],"nextCursor":${next}}`;
    const bytes = Buffer.from(json);
    this.pages.set(key, bytes);
    return bytes;
  }

  /** The page from memory with no wait (the hot path), while this process's idea of the current run is fresh. */
  peekChart(query: ChartQuery): Buffer | undefined {
    const run = this.run;
    if (!run || Date.now() - run.at >= RUN_TTL_MS) return undefined;
    return this.pages.get(pageKey(run.value?.id, query));
  }

  /** The app's positions in the current run (ranks up to POSITION_MAX_RANK), for its detail page. */
  async positionsOf(appId: string): Promise<{ computedAt: string | null; positions: Position[] }> {
    const run = await this.currentRun();
    if (!run) return { computedAt: null, positions: [] };
    await this.loadPositions(run.id);
    return { computedAt: run.computedAt, positions: this.positions?.byApp.get(appId) ?? [] };
  }

  /**
   * Synchronous peek for the catalog's app detail: the `"chartPositions":[...]` member of an app in the current
   * charts (pre-serialised), undefined for an app in none, or while the current run's positions are not in
   * memory yet (they are being loaded; the next read has them).
   */
  positionsMember(appId: string): Buffer | undefined {
    const run = this.run?.value;
    if (!run || Date.now() - (this.run?.at ?? 0) >= RUN_TTL_MS || this.positions?.runId !== run.id) {
      void this.currentRun()
        .then((r) => r && this.loadPositions(r.id))
        .catch(() => {});
    }
    return this.positions?.members.get(appId);
  }

  /** For the app's developer: current entries with their signal breakdown, and the best rank of each day. */
  async analytics(developerId: string | null, appId: string, query: HistoryQuery) {
    const { rows: owner } = await this.deps.db.query<{ developer_id: string }>('SELECT developer_id FROM catalog_apps WHERE id = $1', [appId]);
    if (!owner[0] || developerId === null || owner[0].developer_id !== developerId) throw notFound('App');
    const today = new Date().toISOString().slice(0, 10);
    const to = query.to ?? today;
    const from = query.from ?? new Date(Date.parse(to) - 30 * 86_400_000).toISOString().slice(0, 10);
    if (from > to) throw invalid('BAD_RANGE', `from (${from}) is after to (${to}).`);
    if (Date.parse(to) - Date.parse(from) > 366 * 86_400_000) throw invalid('BAD_RANGE', 'Ask for at most 366 days at a time.');
    const run = await this.currentRun();
    const filters = (first: number) => {
      const where: string[] = [];
      const params: unknown[] = [];
      if (query.chart) where.push(`chart = $${first + params.push(query.chart) - 1}`);
      if (query.country) where.push(`country = $${first + params.push(query.country) - 1}`);
      return { sql: where.map((w) => ` AND ${w}`).join(''), params };
    };
    const f1 = filters(3);
    const current = run
      ? (
          await this.deps.db.query<{
            chart: Chart;
            country: string;
            category: string;
            rank: number;
            score: number;
            downloads: number;
            rating: number;
            engagement: number;
            revenue: number;
            freshness: number;
          }>(
            `SELECT chart, country, category, rank, score, downloads, rating, engagement, revenue, freshness FROM chart_entries
            WHERE app_id = $1 AND run_id = $2${f1.sql} ORDER BY chart, country, category`,
            [appId, run.id, ...f1.params],
          )
        ).rows
      : [];
    const f2 = filters(4);
    const { rows: history } = await this.deps.db.query<{ chart: Chart; country: string; category: string; day: string; best_rank: number }>(
      `SELECT chart, country, category, to_char(day, 'YYYY-MM-DD') AS day, best_rank FROM chart_rank_history
        WHERE app_id = $1 AND day BETWEEN $2::date AND $3::date${f2.sql} ORDER BY day, chart, country, category LIMIT 10000`,
      [appId, from, to, ...f2.params],
    );
    const cat = (c: string) => (c === OVERALL ? null : c);
    return {
      appId,
      computedAt: run?.computedAt ?? null,
      current: current.map((r) => ({
        chart: r.chart,
        country: r.country,
        category: cat(r.category),
        rank: r.rank,
        score: r.score,
        signals: { downloads: r.downloads, rating: r.rating, engagement: r.engagement, revenue: r.revenue, freshness: r.freshness },
      })),
      history: history.map((r) => ({ chart: r.chart, country: r.country, category: cat(r.category), rank: r.best_rank, day: r.day })),
    };
  }

  /** The app ids of a chart of the current run, best first (empty before the first run). Category '' or absent: overall. */
  async chartIds(chart: Chart, country: string, category = OVERALL): Promise<string[]> {
    const run = await this.currentRun();
    return run ? (await this.rankedIds(run.id, chart, country, category)).map(([, id]) => id) : [];
  }

  /** [rank, appId] of a whole chart: shared cache, else the database (then cached for every process). */
  private async rankedIds(runId: string, chart: Chart, country: string, category: string): Promise<[number, string][]> {
    const key = `charts:${runId}:${chart}:${country}:${category}`;
    const cached = await this.deps.cache.get(key);
    if (cached) return JSON.parse(cached);
    const { rows } = await this.deps.db.query<{ rank: number; app_id: string }>(
      `SELECT rank, app_id FROM chart_entries WHERE run_id = $1 AND chart = $2 AND country = $3 AND category = $4 ORDER BY rank`,
      [runId, chart, country, category],
    );
    const ranked = rows.map((r) => [r.rank, r.app_id] as [number, string]);
    await this.deps.cache.set(key, JSON.stringify(ranked), 3 * 3_600_000);
    return ranked;
  }

  /** A run a cursor names: the current one or one still kept; 400 once it is gone. */
  private async keptRun(runId: string): Promise<Run> {
    const current = await this.currentRun();
    if (current?.id === runId) return current;
    const { rows } = await this.deps.db.query<{ finished_at: Date }>(`SELECT finished_at FROM chart_runs WHERE id = $1 AND status = 'done'`, [runId]);
    if (!rows[0]) throw invalid('CURSOR_EXPIRED', 'These charts have been recomputed since; start again without a cursor.');
    return { id: runId, computedAt: new Date(rows[0].finished_at).toISOString() };
  }

  private loadPositions(runId: string): Promise<void> {
    if (this.positions?.runId === runId) return Promise.resolve();
    this.positionsLoading ??= this.deps.db
      .query<{ app_id: string; chart: Chart; country: string; category: string; rank: number }>(
        `SELECT app_id, chart, country, category, rank FROM chart_entries WHERE run_id = $1 AND rank <= $2 ORDER BY app_id, rank, chart, country, category`,
        [runId, POSITION_MAX_RANK],
      )
      .then(({ rows }) => {
        const byApp = new Map<string, Position[]>();
        for (const r of rows) {
          let list = byApp.get(r.app_id);
          if (!list) byApp.set(r.app_id, (list = []));
          list.push({ chart: r.chart, country: r.country, category: r.category === OVERALL ? null : r.category, rank: r.rank });
        }
        // encoded once: the app detail splices them into every response
        const members = new Map([...byApp].map(([appId, list]) => [appId, Buffer.from(`"chartPositions":${JSON.stringify(list)}`)]));
        this.positions = { runId, byApp, members };
      })
      .finally(() => (this.positionsLoading = undefined));
    return this.positionsLoading;
  }
}
