// The search service: no HTTP here. It owns this process's in-memory index (built from the database or
// loaded from a snapshot, kept fresh by app.changed broadcasts) and answers from it; while the index is
// not ready, or when it fails, a circuit breaker sends queries to the PostgreSQL full-text fallback.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LRUCache } from 'lru-cache';
import { BrokenCircuitError, ConsecutiveBreaker, circuitBreaker, handleAll, type CircuitBreakerPolicy } from 'cockatiel';
import { Histogram } from 'prom-client';
import type { Config, Infra } from '../../config.ts';
import type { OrchardEvent } from '../../platform/bus/index.ts';
import { invalid, notFound } from '../../platform/errors.ts';
import { decodeCursor, encodeCursor } from '../../platform/http/pagination.ts';
import type { CatalogService } from '../catalog/index.ts';
import { dbNow, docsByIds, publishedDocs, unpublishedSince } from './docs.ts';
import type { EngineFactory } from './engine-factory.ts';
import type { MatchMode, SearchEngine, SearchFilters, Suggestion } from './engine/types.ts';
import { fallbackSearch, fallbackSimilar, fallbackSuggest } from './fallback.ts';
import type { AppSummary, SearchPage, SearchQuery } from './schemas.ts';
import { SummaryCache } from './summaries.ts';

/** The configuration search reads (the index snapshot lives under the data dir). */
export type SearchConfig = Pick<Config, 'dataDir' | 'searchAnswerCache'>;
export type SearchDeps = Infra & { config: SearchConfig; catalog: CatalogService };
export type IndexState = 'idle' | 'building' | 'ready' | 'failed';

/** Deep paging is not a search feature: pages stop after this many results. */
export const MAX_RESULTS = 500;
/** Engine answers kept per process (a few KB each at most). */
const ANSWER_CACHE_ENTRIES = 10_000;
/** Catch-ups look this far before their starting point: updated_at is a transaction's start, clocks differ. */
const CATCH_UP_MARGIN_MS = 60_000;
const DEFAULT_COUNTRY = 'US';
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

type Ref = Awaited<ReturnType<CatalogService['ref']>>;
interface Found {
  ids: string[];
  total: number;
  mode: MatchMode;
  corrections: Record<string, string>;
}
interface SnapshotMeta {
  takenAt: string;
  docs: number;
}

class Closed extends Error {}

export class SearchService {
  state: IndexState = 'idle';
  /** Where the ready index came from. */
  source: 'database' | 'snapshot' | null = null;
  readonly snapshotPath: string;

  private engine: SearchEngine | null = null;
  private started: Promise<void> | null = null;
  private snapshotWrite: Promise<void> = Promise.resolve();
  private closed = false;
  /** Apps changed while the index was being built: applied before it goes live. */
  private readonly pending = new Set<string>();
  private gapWhileBuilding = false;
  /** Changes since this instant are in the index (set when it goes live). */
  private syncedSince: Date | null = null;
  private lastEventAt: Date | null = null;
  /** Changes are applied one after another, so an older read never overwrites a newer one. */
  private chain: Promise<unknown> = Promise.resolve();
  private readonly breaker: CircuitBreakerPolicy;
  /** Compact summaries of the apps in results; invalidated with app.changed (see onAppChanged, onBroadcastGap). */
  readonly summaries: SummaryCache;
  /**
   * The engine's answers (ids, total, mode, corrections) by query, filters and page, valid while the index
   * is unchanged: every change to it (an applied app.changed, a catch-up, a new index going live) starts a
   * new generation, and answers of an older one are never used. Only engine answers are kept, never the
   * fallback's. Summaries are not part of it: they are spliced in per request from their own cache.
   */
  private readonly answers = new LRUCache<string, { generation: number; value: unknown }>({ max: ANSWER_CACHE_ENTRIES, ttl: 5 * 60_000 });
  private generation = 0;
  private readonly log;
  private readonly metrics;

  constructor(
    private readonly deps: SearchDeps,
    private readonly factory: EngineFactory,
  ) {
    this.log = deps.logger.child({ component: 'search' });
    this.snapshotPath = path.join(deps.config.dataDir, 'search', 'index.snapshot');
    this.summaries = new SummaryCache(deps.catalog);
    // Five engine failures in a row: straight to the fallback for 30 s, then one trial call.
    this.breaker = circuitBreaker(handleAll, { halfOpenAfter: 30_000, breaker: new ConsecutiveBreaker(5) });
    this.breaker.onBreak(() => this.log.error('search engine failing: circuit open, serving from the database fallback'));
    this.breaker.onReset(() => this.log.info('search engine recovered: circuit closed'));
    const { registry } = deps.metrics;
    this.metrics = {
      requests: deps.metrics.counter('search_requests_total', 'Search requests answered', ['mode', 'degraded']),
      latency:
        (registry.getSingleMetric('search_latency_seconds') as Histogram<string> | undefined) ??
        new Histogram({
          name: 'search_latency_seconds',
          help: 'Search request latency in seconds (retrieval and hydration)',
          labelNames: ['degraded'],
          buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
          registers: [registry],
        }),
    };
  }

  // ================================================================ lifecycle

  /** Builds (or loads) the index in the background; resolves when it is ready or has failed. Idempotent. */
  start(): Promise<void> {
    this.started ??= this.run();
    return this.started;
  }

  /** Stops a build in progress and waits for work in flight (snapshot writes included). */
  async close(): Promise<void> {
    this.closed = true;
    await this.started;
    await this.chain.catch(() => {});
    await this.snapshotWrite;
  }

  get size(): number {
    return this.engine?.size ?? 0;
  }

  /** Changes waiting for the index to go live. */
  get queued(): number {
    return this.pending.size;
  }

  private async run(): Promise<void> {
    this.state = 'building';
    const t0 = Date.now();
    try {
      await mkdir(path.dirname(this.snapshotPath), { recursive: true });
      let engine: SearchEngine;
      let since: Date;
      const snapshot = await this.loadSnapshot();
      if (snapshot) {
        ({ engine, since } = snapshot);
        const changed = await this.catchUp(engine, since);
        this.source = 'snapshot';
        this.log.info({ docs: engine.size, changedSinceSnapshot: changed }, 'search index loaded from snapshot');
      } else {
        since = new Date((await dbNow(this.deps.db)).getTime() - CATCH_UP_MARGIN_MS);
        engine = await this.buildFromDatabase();
        this.source = 'database';
      }
      // What changed meanwhile; the last check and going live happen in one tick, so nothing slips between.
      while (this.pending.size || this.gapWhileBuilding) {
        this.assertOpen();
        if (this.gapWhileBuilding) {
          this.gapWhileBuilding = false;
          await this.catchUp(engine, since);
        }
        const ids = [...this.pending];
        this.pending.clear();
        await this.apply(engine, ids);
      }
      this.engine = engine;
      this.indexChanged();
      this.syncedSince = since;
      this.state = 'ready';
      this.log.info({ docs: engine.size, source: this.source, seconds: (Date.now() - t0) / 1000 }, 'search index ready');
      if (this.source === 'database') this.snapshotWrite = this.saveSnapshot(engine, since);
    } catch (err) {
      this.pending.clear();
      if (this.closed) {
        this.state = 'idle';
        return;
      }
      this.state = 'failed';
      this.log.error({ err }, 'search index build failed: serving from the database fallback; retrying in 60 s');
      setTimeout(() => {
        if (this.closed || this.state !== 'failed') return;
        this.started = null;
        void this.start();
      }, 60_000).unref();
    }
  }

  private assertOpen() {
    if (this.closed) throw new Closed('search service closed');
  }

  private async buildFromDatabase(): Promise<SearchEngine> {
    const log = this.log;
    const db = this.deps.db;
    const assertOpen = () => this.assertOpen();
    let read = 0;
    let lastLog = Date.now();
    async function* batches() {
      for await (const batch of publishedDocs(db)) {
        assertOpen();
        read += batch.length;
        if (Date.now() - lastLog > 2000) {
          lastLog = Date.now();
          log.info({ docs: read }, 'search index: reading published apps');
        }
        yield batch;
      }
      log.info({ docs: read }, 'search index: all published apps read; indexing');
    }
    let step = 0;
    const engine = await this.factory.build(batches(), (done) => {
      step ||= Math.max(10_000, Math.ceil(read / 10));
      if (done % step === 0) log.info({ done, of: read }, 'search index: indexing');
    });
    this.assertOpen();
    return engine;
  }

  /** Re-reads the apps updated after `since` (published: upsert; otherwise: remove). Returns how many. */
  private async catchUp(engine: SearchEngine, since: Date): Promise<number> {
    let n = 0;
    for await (const batch of publishedDocs(this.deps.db, { since })) {
      this.assertOpen();
      for (const d of batch) engine.upsert(d);
      this.indexChanged();
      n += batch.length;
    }
    for (const id of await unpublishedSince(this.deps.db, since)) {
      engine.remove(id);
      n++;
    }
    this.indexChanged();
    return n;
  }

  private async apply(engine: SearchEngine, ids: string[]): Promise<void> {
    const docs = await docsByIds(this.deps.db, ids);
    for (const id of ids) {
      const doc = docs.get(id);
      if (doc) engine.upsert(doc);
      else engine.remove(id);
    }
    this.indexChanged();
  }

  /** Answers computed before this instant are no longer used (see answers). */
  private indexChanged(): void {
    this.generation++;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => {});
    return run;
  }

  /** app.changed (every process): the app is re-read and upserted or removed. Queued while building. */
  async onAppChanged(event: OrchardEvent<{ appId?: unknown }>): Promise<void> {
    const appId = event.payload?.appId;
    if (typeof appId !== 'string') return;
    this.summaries.invalidate(appId);
    const at = new Date(event.occurredAt);
    if (!Number.isNaN(at.getTime()) && (!this.lastEventAt || at > this.lastEventAt)) this.lastEventAt = at;
    if (this.state === 'building') {
      this.pending.add(appId);
      return;
    }
    const engine = this.engine;
    if (this.state !== 'ready' || !engine || this.closed) return; // not building: the build will read it
    try {
      await this.serial(() => this.apply(engine, [appId]));
    } catch (err) {
      // the database hiccuped: this change would be lost, so catch up shortly instead
      this.log.warn({ err, appId }, 'search index: could not apply a change; catching up in 1 s');
      setTimeout(() => this.onBroadcastGap(), 1000).unref();
    }
  }

  /** Broadcasts may have been missed: re-read the apps updated since the last event seen. */
  onBroadcastGap(): void {
    this.summaries.clear();
    if (this.state === 'building') {
      this.gapWhileBuilding = true;
      return;
    }
    const engine = this.engine;
    if (this.state !== 'ready' || !engine || this.closed) return;
    const since = this.lastEventAt ? new Date(this.lastEventAt.getTime() - CATCH_UP_MARGIN_MS) : this.syncedSince!;
    this.serial(() => this.catchUp(engine, since)).then(
      (n) => this.log.info({ since, changed: n }, 'search index: caught up after a broadcast gap'),
      (err) => {
        if (this.closed) return;
        this.log.warn({ err }, 'search index: catch-up failed; retrying in 5 s');
        setTimeout(() => this.onBroadcastGap(), 5000).unref();
      },
    );
  }

  // ================================================================ snapshot

  private get metaPath() {
    return `${this.snapshotPath}.json`;
  }

  private async loadSnapshot(): Promise<{ engine: SearchEngine; since: Date } | null> {
    let meta: SnapshotMeta;
    try {
      meta = JSON.parse(await readFile(this.metaPath, 'utf8'));
    } catch {
      return null; // none yet (or unreadable): build from the database
    }
    const since = new Date(meta.takenAt);
    if (Number.isNaN(since.getTime())) return null;
    try {
      const engine = await this.factory.load(this.snapshotPath);
      // A snapshot written by another version of the engine may load yet fail on use: try it before going live.
      engine.search('a', { limit: 1 });
      engine.suggest('a', 1);
      return { engine, since };
    } catch (err) {
      this.log.warn({ err, path: this.snapshotPath }, 'search snapshot unreadable: building from the database');
      return null;
    }
  }

  /** Snapshot first, then its metadata: a crash in between pairs a newer snapshot with an older time (more catch-up, still right). */
  private async saveSnapshot(engine: SearchEngine, takenAt: Date): Promise<void> {
    const tmp = `.${process.pid}.tmp`;
    try {
      const t0 = Date.now();
      await engine.save(this.snapshotPath + tmp);
      await rename(this.snapshotPath + tmp, this.snapshotPath);
      const meta: SnapshotMeta = { takenAt: takenAt.toISOString(), docs: engine.size };
      await writeFile(this.metaPath + tmp, JSON.stringify(meta));
      await rename(this.metaPath + tmp, this.metaPath);
      this.log.info({ path: this.snapshotPath, docs: engine.size, seconds: (Date.now() - t0) / 1000 }, 'search snapshot saved');
    } catch (err) {
      this.log.warn({ err }, 'search snapshot not saved');
    }
  }

  // ================================================================ queries

  /** viaEngine(), answered from the cache while the index has not changed since the answer was computed. */
  private async cachedViaEngine<T extends object>(what: string, key: string, fn: (engine: SearchEngine) => T): Promise<T | null> {
    if (!this.deps.config.searchAnswerCache) return this.viaEngine(what, fn);
    const hit = this.answers.get(key);
    if (hit && hit.generation === this.generation) return hit.value as T;
    return this.viaEngine(what, (engine) => {
      const generation = this.generation; // the index this answer comes from (it only changes between ticks)
      const value = fn(engine);
      if (engine === this.engine) this.answers.set(key, { generation, value });
      return value;
    });
  }

  /** Runs fn on the engine through the circuit breaker; null = use the fallback. */
  private async viaEngine<T>(what: string, fn: (engine: SearchEngine) => T): Promise<T | null> {
    const engine = this.engine;
    if (!engine) return null;
    try {
      return await this.breaker.execute(() => fn(engine));
    } catch (err) {
      if (!(err instanceof BrokenCircuitError)) this.log.warn({ err, what }, 'search engine failed: answering from the database');
      return null;
    }
  }

  /** One page of results as JSON, ready to send (summaries are spliced in, never parsed per request). */
  async searchJson(query: SearchQuery): Promise<string> {
    const started = performance.now();
    const text = checkText(query.q);
    const ref = await this.deps.catalog.ref();
    const filters = checkFilters(ref, query);
    const limit = query.limit ?? 20;
    const key = cursorKey(text, filters);
    const offset =
      decodeCursor<{ o: number; k: string }>(
        query.cursor,
        (v): v is { o: number; k: string } => Number.isInteger(v?.o) && v.o > 0 && v.o < MAX_RESULTS && v.k === key,
      )?.o ?? 0;
    const size = Math.min(limit, MAX_RESULTS - offset);

    let found: Found | null = await this.cachedViaEngine('search', `search:${size}:${offset}:${JSON.stringify(filters)}:${text}`, (engine) => {
      const r = engine.search(text, { filters, limit: size, offset });
      return { ids: r.hits.map((h) => h.id), total: r.total, mode: r.mode, corrections: r.corrections };
    });
    const degraded = !found;
    found ??= { ...(await fallbackSearch(this.deps.readDb, text, filters, size, offset)), corrections: {} };

    const items = await this.summaries.json(found.ids, query.country ?? DEFAULT_COUNTRY);
    const next = offset + found.ids.length;
    const nextCursor = found.ids.length === size && next < Math.min(found.total, MAX_RESULTS) ? encodeCursor({ o: next, k: key }) : null;
    if (!degraded && offset === 0 && found.total > 0) void this.viaEngine('recordQuery', (engine) => engine.recordQuery(text));

    this.metrics.requests.inc({ mode: found.mode, degraded: String(degraded) });
    this.metrics.latency.observe({ degraded: String(degraded) }, (performance.now() - started) / 1000);
    return (
      `{"items":[${items.join(',')}],"total":${found.total},"mode":${JSON.stringify(found.mode)},` +
      `"corrections":${JSON.stringify(found.corrections)},"degraded":${degraded},"nextCursor":${nextCursor === null ? 'null' : JSON.stringify(nextCursor)}}`
    );
  }

  /** searchJson() as an object (for callers in this process). */
  async search(query: SearchQuery): Promise<SearchPage> {
    return JSON.parse(await this.searchJson(query));
  }

  async suggest(q: string, limit = 10): Promise<{ suggestions: Suggestion[] }> {
    const text = checkText(q);
    const suggestions =
      (await this.viaEngine('suggest', (engine) => engine.suggest(text, limit))) ?? (await fallbackSuggest(this.deps.readDb, text.trim(), limit));
    return { suggestions };
  }

  /** Apps like a published one (404 otherwise), as JSON ready to send. */
  async similarJson(appId: string, limit = 10): Promise<string> {
    const { catalog } = this.deps;
    const detail = catalog.peekPublicDetail(appId) ?? (await catalog.publicDetail(appId));
    if (!detail.length) throw notFound('App');
    let ids = await this.cachedViaEngine('similar', `similar:${limit}:${appId}`, (engine) => engine.similar(appId, limit).map((h) => h.id));
    const degraded = !ids;
    ids ??= await fallbackSimilar(this.deps.readDb, appId, limit);
    const items = await this.summaries.json(ids, DEFAULT_COUNTRY);
    return `{"items":[${items.join(',')}],"degraded":${degraded}}`;
  }

  /**
   * Ids of apps like this one, best first, without their summaries (callers that rank them further show only a
   * few): from the index, or the database's fallback while it is not ready. Empty for an app the index lacks.
   */
  async similarIds(appId: string, limit = 10): Promise<string[]> {
    const ids = await this.cachedViaEngine('similar', `similar:${limit}:${appId}`, (engine) => engine.similar(appId, limit).map((h) => h.id));
    return ids ?? (await fallbackSimilar(this.deps.readDb, appId, limit));
  }

  async similar(appId: string, limit = 10): Promise<{ items: AppSummary[]; degraded: boolean }> {
    return JSON.parse(await this.similarJson(appId, limit));
  }
}

/** Ties a cursor to its query and filters (a short digest: cursors stay small). */
function cursorKey(text: string, filters: SearchFilters): string {
  return createHash('sha256')
    .update(JSON.stringify([text.toLowerCase(), filters]))
    .digest('base64url')
    .slice(0, 12);
}

// ================================================================ input checks (what the schema cannot say clearly)

function checkText(q: string): string {
  if (CONTROL.test(q)) throw invalid('INVALID_QUERY', 'q must not contain control characters (tabs, line breaks, NUL ...).');
  if (!q.trim()) throw invalid('INVALID_QUERY', 'q must contain something to search for, not only spaces.');
  return q.trim();
}

function checkFilters(ref: Ref, query: SearchQuery): SearchFilters {
  const f: SearchFilters = {};
  if (query.category !== undefined) {
    const c = ref.categories.get(query.category);
    if (!c || c.parent !== null) {
      throw invalid('UNKNOWN_CATEGORY', `Unknown category '${query.category}'; GET /api/v1/categories lists the top-level slugs.`);
    }
    f.category = query.category;
  }
  if (query.subcategory !== undefined) {
    const s = ref.categories.get(query.subcategory);
    if (!s || s.parent === null) {
      throw invalid('UNKNOWN_CATEGORY', `Unknown subcategory '${query.subcategory}'; GET /api/v1/categories lists them under each category.`);
    }
    if (f.category && s.parent !== f.category) {
      throw invalid('SUBCATEGORY_MISMATCH', `Subcategory '${query.subcategory}' belongs to '${s.parent}', not '${f.category}'.`);
    }
    f.subcategory = query.subcategory;
  }
  if (query.price) f.price = query.price;
  if (query.minRating !== undefined) f.minRating = query.minRating;
  if (query.ageRating !== undefined) f.maxAgeRating = `${query.ageRating.replace(/[+ ]$/, '')}+` as SearchFilters['maxAgeRating'];
  if (query.country !== undefined) {
    if (!ref.storefronts.has(query.country)) {
      throw invalid('UNKNOWN_COUNTRY', `There is no storefront for country '${query.country}'; GET /api/v1/storefronts lists them.`);
    }
    f.country = query.country;
  }
  return f;
}
