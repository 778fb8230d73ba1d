// Recommendations for a user and similar apps, read as stored data: the batch job computes each app's similar
// apps (similar.ts) and active users' rows (users.ts); this reads them and renders them with the current summaries
// (prices of the storefront asked for) and charts. Nothing here computes a list on a request's behalf, except a
// user's own rows in the background when they asked before the job got to them. Owned apps are never recommended.
import { LRUCache } from 'lru-cache';
import type { Db } from '../../platform/db/index.ts';
import { createBatcher } from '../../platform/db/batch.ts';
import { notFound } from '../../platform/errors.ts';
import type { Logger } from '../../platform/observability/logger.ts';
import type { CatalogService } from '../catalog/index.ts';
import type { RankingsService } from '../rankings/index.ts';
import type { SearchService } from '../search/index.ts';
import type { Neighbor } from './cf.ts';
import { SIMILAR_KEEP, storedSimilar } from './similar.ts';
import { computeUserRows, markAcquired, readUserRows, ROW_ITEMS, type UserRows, type UserRowsDeps } from './users.ts';

export interface RecommendationsDeps {
  db: Db;
  catalog: CatalogService;
  search: SearchService;
  rankings: RankingsService;
  /** Failures of background work (a user's rows, a detail's similar apps); they are dropped when absent. */
  logger?: Logger;
  /** Events were recorded (a user's rows changed): the outbox relays them now rather than at its next poll. */
  nudge?(): void;
}

const DEFAULT_COUNTRY = 'US';
/** Length of a uuid in its text form: similar lists are held as their ids end to end (one short string per app). */
const ID = 36;
/**
 * Similar lists held in memory (about 1.2 KB each) and for how long: a list is computed again at most daily. Sized,
 * like the members, to hold those of 100,000 apps: an LRU smaller than what a uniform read pattern cycles through
 * keeps almost nothing (measured: a 128 MB cap held too few of 100,000 lists and every detail read one again).
 */
const SIMILAR_BYTES = 192 * 1024 * 1024;
const SIMILAR_TTL_MS = 10 * 60_000;
/** Detail members held (about 4.7 KB each): rendered again when a summary they show changes, or their list is read again. */
const MEMBER_BYTES = 512 * 1024 * 1024;
/** An empty list is often one not computed yet (a new app): read again sooner. */
const SIMILAR_EMPTY_TTL_MS = 60_000;
/** Ids of a held list the detail looks at first (it shows ROW_ITEMS). */
const DETAIL_PEEK = 16;
/** How long the app detail waits for a similar list that is not in memory; past that it is sent without it. */
const DETAIL_WAIT_MS = 250;
/** Chart ids for the "Popular in" and cold-start rows, per run, storefront and category. */
const CHARTS_HELD = 2_000;
const CHARTS_TTL_MS = 60_000;
/**
 * Users whose rows are computed in the background at once, and how many may wait. A small batch keeps each step
 * short (a batch reads up to 50 neighbours of 30 apps per user, parsed on this thread): requests are not held
 * behind it (measured at 2M apps, 100,000 new users: p99 110 ms with batches of 50).
 */
const BACKGROUND_BATCH = 10;
const BACKGROUND_QUEUE = 5_000;
/** Users' rendered answers held (about 20 KB each): dropped when their rows change, on every process. */
const ANSWER_BYTES = 512 * 1024 * 1024;
const ANSWER_TTL_MS = 10 * 60_000;

/** The app detail's similarApps member as sent, the apps it shows, and the summaries' stamp when it was rendered. */
interface DetailMember {
  bytes: Buffer;
  ids: string[];
  stamp: number;
}

/** A user's answer as sent, for one storefront: current while their rows, the chart run and its summaries are. */
interface HeldAnswer {
  country: string;
  run: string;
  json: string;
  /** The apps it shows and the summaries' stamp before they were read. */
  ids: string[];
  stamp: number;
}

interface Row {
  kind: 'because' | 'might-like' | 'popular' | 'trending';
  title: string;
  basedOn?: string;
  category?: string;
  ids: string[];
}

export class RecommendationsService {
  private readonly neighbors = new LRUCache<string, Neighbor[]>({ max: 100_000, ttl: 10 * 60_000 });
  /** Stored similar lists: the ids end to end ('' = none stored yet). */
  private readonly similar = new LRUCache<string, string>({
    maxSize: SIMILAR_BYTES,
    sizeCalculation: (ids) => ids.length + 2 * ID + 64,
    ttl: SIMILAR_TTL_MS,
    dispose: (_ids, appId) => this.members.delete(appId),
  });
  /** The detail member rendered from a held list: its bytes, the apps it shows and the summaries' stamp then. */
  private readonly members = new LRUCache<string, DetailMember>({
    maxSize: MEMBER_BYTES,
    sizeCalculation: (m) => m.bytes.length + ID * m.ids.length + 2 * ID + 64,
    ttl: SIMILAR_TTL_MS,
  });
  private readonly similarReads = createBatcher<string, string>({
    runBatch: async (appIds) => {
      const stored = await storedSimilar(this.deps.db, appIds);
      return appIds.map((id) => (stored.get(id) ?? []).join(''));
    },
    maxBatch: 200,
    concurrency: 2,
  });
  private readonly charts = new LRUCache<string, string[]>({ max: CHARTS_HELD, ttl: CHARTS_TTL_MS });
  /** Users' answers by user id (the "-:" keys: the cold-start answer of a storefront, the same for everyone). */
  private readonly answers = new LRUCache<string, HeldAnswer>({
    maxSize: ANSWER_BYTES,
    sizeCalculation: (a) => a.json.length + ID * a.ids.length + 128,
    ttl: ANSWER_TTL_MS,
  });
  /** Bumped whenever held answers are dropped: a rendering that started before is not held. */
  private answersEpoch = 0;
  /** Bumped by onBuilt and forget: a read that started before it is not stored. */
  private generation = 0;
  /** Users whose rows are wanted now (they asked and have none), computed a batch at a time. */
  private readonly wanted = new Set<string>();
  private computing: Promise<void> | null = null;
  /** What the batch job's computations read: stored similar lists and live neighbours. */
  readonly sources: UserRowsDeps;

  constructor(private readonly deps: RecommendationsDeps) {
    this.sources = {
      db: deps.db,
      similarOf: (ids) => storedSimilar(deps.db, ids),
      neighborsOf: (ids) => this.neighborsOf(ids),
      stored: (userIds) => this.forgetAnswers(userIds),
    };
  }

  /** These users' rows changed (recs.rows_changed, or this process stored them); all users' after a broadcast gap. */
  forgetAnswers(userIds?: readonly string[]): void {
    this.answersEpoch++;
    if (!userIds) this.answers.clear();
    else for (const id of userIds) this.answers.delete(id);
  }

  /** recs.built (every process): neighbours are read again. */
  onBuilt(): void {
    this.generation++;
    this.neighbors.clear();
  }

  /** Stored similar lists changed (the precompute job) or an app did: held copies are read again. */
  forgetSimilar(appIds?: readonly string[]): void {
    this.generation++;
    if (!appIds) {
      this.similar.clear();
      this.members.clear();
    } else for (const id of appIds) this.similar.delete(id);
  }

  // ================================================================ the app detail

  /**
   * The app detail's `"similarApps":[...]` member (up to ROW_ITEMS summaries, US), encoded: held when this process
   * rendered it from summaries that have not changed since, else rendered from the held list and the summaries,
   * else after one batched read of the stored list (at most DETAIL_WAIT_MS: a slow database leaves the member out
   * rather than holding the detail). Apps no longer public are left out.
   */
  similarMember(appId: string): Buffer | Promise<Buffer | undefined> {
    const { summaries } = this.deps.search;
    const held = this.members.get(appId);
    if (held && !summaries.changedSince(held.ids, held.stamp)) return held.bytes;
    const ids = this.similar.get(appId);
    if (ids !== undefined) {
      const rendered = this.renderMember(appId, ids);
      if (rendered) return rendered;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), DETAIL_WAIT_MS);
    });
    const member = (async () => {
      const list = ids ?? (await this.storedIds(appId));
      const items = await summaries.json(idsOf(list, DETAIL_PEEK), DEFAULT_COUNTRY); // held now: rendered from memory next
      return this.renderMember(appId, list) ?? Buffer.from(`"similarApps":[${items.slice(0, ROW_ITEMS).join(',')}]`);
    })().catch((err) => {
      this.deps.logger?.warn({ err, appId }, 'recommendations: similar apps for the detail failed');
      return undefined;
    });
    return Promise.race([member, late]).finally(() => clearTimeout(timer));
  }

  /** The member rendered from a list and the summaries in memory, and held; undefined when a summary is not in memory. */
  private renderMember(appId: string, ids: string): Buffer | undefined {
    const { summaries } = this.deps.search;
    const stamp = summaries.stamp();
    // the first few ids fill the member unless several of them are no longer public
    let shown = summaries.peekJson(idsOf(ids, DETAIL_PEEK), DEFAULT_COUNTRY, ROW_ITEMS);
    if (shown && shown.items.length < ROW_ITEMS && ids.length > DETAIL_PEEK * ID) shown = summaries.peekJson(idsOf(ids), DEFAULT_COUNTRY, ROW_ITEMS);
    if (!shown) return undefined;
    const bytes = Buffer.from(`"similarApps":[${shown.items.join(',')}]`);
    this.members.set(appId, { bytes, ids: shown.ids, stamp });
    return bytes;
  }

  /** An app's stored similar list, ids end to end: held in memory, else one batched read. */
  private async storedIds(appId: string): Promise<string> {
    const held = this.similar.get(appId);
    if (held !== undefined) return held;
    const generation = this.generation;
    const ids = await this.similarReads.submit(appId);
    if (generation === this.generation) this.similar.set(appId, ids, ids ? undefined : { ttl: SIMILAR_EMPTY_TTL_MS });
    return ids;
  }

  /** Similar apps as JSON: the stored list. 404 for an app not public. */
  async similarJson(appId: string, country = DEFAULT_COUNTRY, limit = ROW_ITEMS): Promise<string> {
    const detail = this.deps.catalog.peekPublicDetail(appId) ?? (await this.deps.catalog.publicDetail(appId));
    if (!detail.length) throw notFound('App');
    const items = await this.deps.search.summaries.json(idsOf(await this.storedIds(appId)), country);
    return `{"items":[${items.slice(0, limit).join(',')}]}`;
  }

  // ================================================================ a user's rows

  /**
   * The user's rows as JSON: "Because you downloaded X" ×3, "Apps you might like", "Popular in <category>" ×2, from
   * their stored rows; the charts when their library is empty, or while their rows are computed for the first time.
   */
  async forUserJson(userId: string, country = DEFAULT_COUNTRY): Promise<string> {
    const run = (await this.deps.rankings.currentRun())?.id ?? '-';
    const held = this.heldAnswer(userId, country, run);
    if (held) return held;
    const epoch = this.answersEpoch;
    const stamp = this.deps.search.summaries.stamp();
    const stored = await readUserRows(this.deps.db, userId);
    // without rows yet: the storefront's cold-start answer (the same for everyone), and theirs computed soon
    if (!stored) this.computeSoon(userId);
    const key = stored ? userId : `-:${country}`;
    const heldCold = stored ? undefined : this.heldAnswer(key, country, run);
    if (heldCold) return heldCold;
    const { json, ids } = await this.render(stored, country);
    if (epoch === this.answersEpoch) this.answers.set(key, { country, run, json, ids, stamp });
    return json;
  }

  private heldAnswer(key: string, country: string, run: string): string | undefined {
    const held = this.answers.get(key);
    if (!held || held.country !== country || held.run !== run) return undefined;
    return this.deps.search.summaries.changedSince(held.ids, held.stamp) ? undefined : held.json;
  }

  /** The purchase's own process, before its response: the app leaves the buyer's rows at once. */
  async noteAcquired(userId: string, appId: string): Promise<void> {
    await this.deps.db.tx((q) => markAcquired(q, userId, appId));
    this.forgetAnswers([userId]);
    this.deps.nudge?.();
  }

  private async render(stored: UserRows | undefined, country: string): Promise<{ json: string; ids: string[] }> {
    const left = new Set([...(stored?.rows.owned ?? []), ...(stored?.acquired ?? [])]);
    const keep = (ids: readonly string[]) => {
      const out: string[] = [];
      for (const id of ids) if (!left.has(id) && out.push(id) === ROW_ITEMS) break;
      return out;
    };
    const rows: Row[] = [];
    const library = stored?.rows.owned.length ? stored.rows : undefined;
    if (library) {
      for (const b of library.because) rows.push({ kind: 'because', title: `Because you downloaded ${b.name}`, basedOn: b.basedOn, ids: keep(b.ids) });
      rows.push({ kind: 'might-like', title: 'Apps you might like', ids: keep(library.mightLike) });
      const [ref, popular] = await Promise.all([
        this.deps.catalog.ref(),
        Promise.all(library.categories.map((category) => this.chart('top-free', country, category))),
      ]);
      library.categories.forEach((category, i) =>
        rows.push({ kind: 'popular', title: `Popular in ${ref.categories.get(category)?.name ?? category}`, category, ids: keep(popular[i]) }),
      );
    } else {
      // cold start: what the store's charts say
      const [popular, trending] = await Promise.all([this.chart('top-free', country), this.chart('trending', country)]);
      rows.push({ kind: 'popular', title: 'Popular apps', ids: keep(popular) });
      rows.push({ kind: 'trending', title: 'Trending now', ids: keep(trending) });
    }
    const ids = rows.flatMap((r) => r.ids);
    const rendered = await Promise.all(
      rows
        .filter((r) => r.ids.length)
        .map(async (r) => {
          const items = await this.deps.search.summaries.json(r.ids, country);
          if (!items.length) return '';
          const extra = `${r.basedOn ? `,"basedOn":"${r.basedOn}"` : ''}${r.category ? `,"category":${JSON.stringify(r.category)}` : ''}`;
          return `{"kind":"${r.kind}","title":${JSON.stringify(r.title)}${extra},"items":[${items.join(',')}]}`;
        }),
    );
    return { json: `{"rows":[${rendered.filter(Boolean).join(',')}]}`, ids };
  }

  /** A chart's app ids (current run), held briefly. */
  private async chart(chart: 'top-free' | 'trending', country: string, category?: string): Promise<string[]> {
    const run = await this.deps.rankings.currentRun();
    const key = `${run?.id ?? '-'}:${chart}:${country}:${category ?? ''}`;
    const held = this.charts.get(key);
    if (held) return held;
    const ids = await this.deps.rankings.chartIds(chart, country, category);
    this.charts.set(key, ids);
    return ids;
  }

  /** A user asked before their rows were computed: computed in the background, a batch of such users at a time. */
  private computeSoon(userId: string): void {
    if (this.wanted.size >= BACKGROUND_QUEUE) return; // the precompute job gets to them
    this.wanted.add(userId);
    this.computing ??= (async () => {
      while (this.wanted.size) {
        const batch = [...this.wanted].slice(0, BACKGROUND_BATCH);
        const started = performance.now();
        try {
          await computeUserRows(this.sources, batch);
          this.deps.nudge?.();
        } catch (err) {
          this.deps.logger?.warn({ err, users: batch.length }, 'recommendations: rows computed in the background failed');
        }
        for (const id of batch) this.wanted.delete(id);
        // at most half of the time: the requests this process serves come first
        if (this.wanted.size) await new Promise((resolve) => setTimeout(resolve, performance.now() - started));
      }
    })().finally(() => (this.computing = null));
  }

  /** Every user's rows computed in the background so far (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.computing) await this.computing;
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
      const generation = this.generation;
      const { rows } = await this.deps.db.query<{ app_id: string; other_id: string; score: number }>(
        // the live build as a scalar, not a join: the primary key (build_id, app_id, rank) is then always the plan
        // (a join to recs_live was planned as a parallel scan of 12M rows, 7 s for 500 apps, measured at 2M apps)
        `SELECT n.app_id, n.other_id, n.score FROM app_neighbors n
          WHERE n.build_id = (SELECT build_id FROM recs_live) AND n.app_id = ANY($1::uuid[]) ORDER BY n.app_id, n.rank`,
        [missing],
      );
      for (const id of missing) out.set(id, []);
      for (const r of rows) out.get(r.app_id)!.push({ appId: r.other_id, score: r.score });
      if (generation === this.generation) for (const id of missing) this.neighbors.set(id, out.get(id)!);
    }
    return out;
  }
}

/** The first `max` ids of a list held end to end. */
function idsOf(ids: string, max = SIMILAR_KEEP): string[] {
  const out: string[] = [];
  for (let at = 0; at + ID <= ids.length && out.length < max; at += ID) out.push(ids.slice(at, at + ID));
  return out;
}
