// The chart run: every chart of every storefront country, from the running signals, in one transaction.
//
// It reads app_chart_signals (one row per app and country that ever had a counted download or sale: the
// decayed sums, so 90 days are never rescanned), joins the apps' rating, engagement and release facts, and
// ranks in SQL: a per-(country, category) median normalises download velocity and revenue, the five signals
// are scored and combined (signals.ts has the same formulas in TypeScript, with tests), and a window keeps
// the top CHART_SIZE of every chart. Readers switch to the new run when it commits; the runs before it stay
// for KEEP_RUNS hours (open cursors), and each app's best rank per day goes to chart_rank_history for good.
import { v7 as uuidv7 } from 'uuid';
import type { Db, Queryable } from '../../platform/db/index.ts';
import { DEFAULT_WEIGHTS, FRESHNESS_HALF_LIFE_DAYS, grossingWeights, HALF_LIFE_DAYS, RATING_FULL_COUNT, RATING_PRIOR_WEIGHT, type Weights } from './signals.ts';
import {
  ACTIVATION_MIN_EVIDENCE,
  ACTIVATION_RATE_HALF_LIFE_DAYS,
  ACTIVATION_STORE_RATE_QUANTILE,
  ACTIVATION_TOLERANCE,
  BASELINE_HALF_LIFE_DAYS,
  COHORT_WINDOW_DAYS,
  rateFactor,
  storeActivationRate,
  TRENDING_MIN_ACQUIRERS,
  TRENDING_PRIOR,
} from './trust.ts';

export const CHARTS = ['top-free', 'top-paid', 'top-grossing', 'trending', 'new'] as const;
export type Chart = (typeof CHARTS)[number];

/** Entries kept per chart (Apple's charts show 200). */
export const CHART_SIZE = 200;
/** Done runs kept whole (an hour apart: two days), for open cursors and recent hourly history. */
export const KEEP_RUNS = 48;
/** An app charts in a country once its decayed trusted downloads there reach this (about one a week). */
export const MIN_VELOCITY = 1;
/** ... or, for top grossing, its decayed revenue reaches this (one unit of the currency). */
export const MIN_REVENUE_MILLI = 1000;
/** "New": first published within this many days (an update never makes an app new). */
export const NEW_APP_DAYS = 30;
/** Version releases older than this give no freshness any more (2^-4 of the bonus is left): not read. */
const UPDATE_LOOKBACK_DAYS = 60;
/** Groups of countries ranked at once, each on its own connection (PostgreSQL). */
export const RUN_PARALLELISM = 2;
/** Score histogram resolution (buckets per unit of score) of the top-N selection. */
const SCORE_BUCKETS = 64;
/** Memory for the run's sorts and intermediate sets (PostgreSQL), for its transaction only. */
const RUN_WORK_MEM = '2GB';
/** Trending lists growth only: above rounding (acquisitions held to their baseline score 0, give or take). */
const TRENDING_MIN_SCORE = 1e-6;
/** Overall charts: the category key. */
export const OVERALL = '';

const LOCK_KEY = 7_000_000_007; // pg_try_advisory_xact_lock: one run at a time, across processes

export interface RunOptions {
  /** The day the charts are for (UTC, YYYY-MM-DD); today by default. */
  day?: string;
  weights?: Weights;
  /** The chart_runs row to fill (a scheduled slot); a new one by default. */
  runId?: string;
  slot?: Date;
  /** Connections ranking groups of countries at once (PostgreSQL; default RUN_PARALLELISM). */
  parallelism?: number;
}

export interface RunResult {
  runId: string;
  status: 'done' | 'skipped';
  /** Why a run was skipped: another process is computing, or this slot was computed already. */
  reason?: string;
  entries?: number;
  charts?: number;
  seconds?: number;
  phases?: Record<string, number>;
}

const utcDay = (d: Date) => d.toISOString().slice(0, 10);

/**
 * SQL for 2^(-days/halfLife), exactly 0 past 60 halvings: PostgreSQL raises an underflow error rather than
 * returning a denormal, and what is left after 60 halvings (~1e-18) matters to no chart.
 */
export function halvingSql(days: string, halfLifeDays: number): string {
  return `CASE WHEN (${days}) > ${60 * halfLifeDays} THEN 0::float8 ELSE power(2::float8, -(${days}) / ${halfLifeDays}.0) END`;
}

/** Computes every chart now. Skips (no error) when another run holds the lock or the slot is done. */
export async function computeCharts(db: Db, options: RunOptions = {}): Promise<RunResult> {
  const started = performance.now();
  const day = options.day ?? utcDay(new Date());
  const weights = options.weights ?? DEFAULT_WEIGHTS;
  const runId = options.runId ?? uuidv7();
  const phases: Record<string, number> = {};
  let mark = performance.now();
  const phase = (name: string) => {
    const now = performance.now();
    phases[name] = Math.round(now - mark) / 1000;
    mark = now;
  };
  try {
    const outcome = await db.tx(async (q): Promise<RunResult> => {
      const { rows: locked } = await q.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS ok', [LOCK_KEY]);
      if (!locked[0].ok) return { runId, status: 'skipped', reason: 'another chart run is in progress' } as RunResult;
      const { rows: runRows } = await q.query<{ status: string }>(
        `INSERT INTO chart_runs (id, slot, status, started_at) VALUES ($1, $2, 'running', now())
         ON CONFLICT (id) DO UPDATE SET status = 'running', started_at = now() WHERE chart_runs.status IN ('scheduled', 'failed')
         RETURNING status`,
        [runId, options.slot ?? new Date()],
      );
      if (!runRows[0]) return { runId, status: 'skipped', reason: 'this run is already done' } as RunResult;
      // the run's intermediate sets (~250 MB per million candidates) stay in memory: spilled to temporary files,
      // they cost more in writes than the ranking itself
      // (and joins to the few hundred medians are hash joins: the planner cannot estimate the in-memory sets)
      if (db.kind === 'postgres') await q.query(`SET LOCAL work_mem = '${RUN_WORK_MEM}'; SET LOCAL enable_mergejoin = off`);

      const { rows: meanRows } = await q.query<{ mean: number | null }>(
        `SELECT sum(rating_average * rating_count) / nullif(sum(rating_count), 0) AS mean FROM catalog_apps WHERE status = 'published' AND rating_count > 0`,
      );
      const globalMean = meanRows[0].mean ?? 3.5;
      phase('rating mean');
      const storeRate = await storeActivationRateOf(q, day);
      phase('activation rate');
      // Countries are independent (medians are per country), so on PostgreSQL the run is split into groups of
      // countries ranked at once on their own connections; the entries stay invisible until the run is 'done'.
      const params = (countries: string[] | null) => [
        day,
        globalMean,
        MIN_VELOCITY,
        MIN_REVENUE_MILLI,
        NEW_APP_DAYS,
        UPDATE_LOOKBACK_DAYS,
        runId,
        CHART_SIZE,
        countries,
        dayNumber(day),
        storeRate,
      ];
      const parallelism = db.kind === 'postgres' ? (options.parallelism ?? RUN_PARALLELISM) : 1;
      let entries = 0;
      if (parallelism > 1) {
        const groups = await countryGroups(q, parallelism);
        const counts = await Promise.all(
          groups.map((countries) =>
            db.tx(async (g) => {
              await g.query(`SET LOCAL work_mem = '${RUN_WORK_MEM}'; SET LOCAL enable_mergejoin = off`);
              return (await g.query(chartsSql(weights, true), params(countries))).rowCount ?? 0;
            }),
          ),
        );
        entries = counts.reduce((a, b) => a + b, 0);
      } else {
        entries = (await q.query(chartsSql(weights, false), params(null))).rowCount ?? 0;
      }
      phase('rank');
      await q.query(
        `INSERT INTO chart_rank_history AS h (app_id, chart, country, category, day, best_rank)
         SELECT app_id, chart, country, category, $2::date, rank FROM chart_entries WHERE run_id = $1
         ON CONFLICT (app_id, chart, country, category, day) DO UPDATE SET best_rank = least(h.best_rank, EXCLUDED.best_rank)`,
        [runId, day],
      );
      phase('history');
      const { rows: chartCount } = await q.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM (SELECT DISTINCT country, category, chart FROM chart_entries WHERE run_id = $1) c',
        [runId],
      );
      const result: RunResult = {
        runId,
        status: 'done',
        entries,
        charts: chartCount[0].n,
        seconds: Math.round(performance.now() - started) / 1000,
        phases,
      };
      await q.query(`UPDATE chart_runs SET status = 'done', finished_at = now(), stats = $2 WHERE id = $1`, [
        runId,
        JSON.stringify({ day, globalMean, storeRate, weights, ...result }),
      ]);
      return result;
    });
    if (outcome.status === 'done') await pruneRuns(db);
    return outcome;
  } catch (err) {
    await db.query('DELETE FROM chart_entries WHERE run_id = $1', [runId]).catch(() => {});
    await db
      .query(
        `INSERT INTO chart_runs (id, slot, status, started_at, finished_at, stats) VALUES ($1, $2, 'failed', now(), now(), $3)
       ON CONFLICT (id) DO UPDATE SET status = 'failed', finished_at = now(), stats = EXCLUDED.stats`,
        [runId, options.slot ?? new Date(), JSON.stringify({ error: (err as Error).message })],
      )
      .catch(() => {});
    throw err;
  }
}

/**
 * The store's activation rate as of `day` (trust.ts storeActivationRate): a quantile of the own rates of the
 * (app, country) pairs with SDK evidence. One aggregate over app_chart_signals per run (the ratio of two sums
 * with the same half-life needs no decay; the evidence test does).
 */
async function storeActivationRateOf(q: Queryable, day: string): Promise<number> {
  const { rows } = await q.query<{ rate: number | null }>(
    `SELECT percentile_cont(${ACTIVATION_STORE_RATE_QUANTILE}) WITHIN GROUP (ORDER BY s.activations_long / greatest(s.downloads_long, 1)) AS rate
       FROM app_chart_signals s
      WHERE s.activations_long * ${halvingSql('$1::date - s.last_day', ACTIVATION_RATE_HALF_LIFE_DAYS)} >= ${ACTIVATION_MIN_EVIDENCE}`,
    [day],
  );
  return storeActivationRate(rows[0]?.rate === null || rows[0]?.rate === undefined ? null : Number(rows[0].rate));
}

const dayNumber = (day: string) => Math.floor(Date.parse(`${day}T00:00:00Z`) / 86_400_000);

/** Splits the countries with signals into `n` groups of about equal size (largest first, into the lightest group). */
async function countryGroups(q: Queryable, n: number): Promise<string[][]> {
  const { rows } = await q.query<{ country: string; n: string }>('SELECT country, count(*) AS n FROM app_chart_signals GROUP BY country ORDER BY 2 DESC');
  const groups = Array.from({ length: Math.min(n, rows.length) }, () => ({ countries: [] as string[], size: 0 }));
  for (const r of rows) {
    const lightest = groups.reduce((a, b) => (b.size < a.size ? b : a));
    lightest.countries.push(r.country);
    lightest.size += Number(r.n);
  }
  return groups.map((g) => g.countries);
}

/** Drops the runs no longer kept, and their entries (after the run commits: outside its time). */
async function pruneRuns(db: Db): Promise<void> {
  await db.tx(async (q) => {
    const { rows } = await q.query<{ id: string }>(
      `DELETE FROM chart_runs WHERE (status = 'done' AND id NOT IN (SELECT id FROM chart_runs WHERE status = 'done' ORDER BY finished_at DESC LIMIT $1))
          OR (status <> 'done' AND slot < now() - interval '2 days')
       RETURNING id`,
      [KEEP_RUNS],
    );
    if (rows.length) await q.query('DELETE FROM chart_entries WHERE run_id = ANY($1::uuid[])', [rows.map((r) => r.id)]);
    // the cohort test's per-day buckets: it reads the window's days (and a late day's)
    await q.query(`DELETE FROM chart_cohort_buckets WHERE day < current_date - ${COHORT_WINDOW_DAYS + 1}`);
  });
}

/**
 * The whole run as one statement (its intermediate sets live in memory, never in tables):
 * - candidates: the running sums decayed to $1, for pairs that can chart (velocity >= $3 or revenue >= $4),
 *   with the scores that need no median (rating, engagement, freshness) and the trending score;
 * - medians of velocity and revenue per country and category, and per country (category NULL);
 * - every chart, for each category and overall, in one window over their union: the top $8 of each.
 * Parameters: $1 day, $2 global mean rating, $3 MIN_VELOCITY, $4 MIN_REVENUE_MILLI, $5 NEW_APP_DAYS,
 * $6 UPDATE_LOOKBACK_DAYS, $7 run id, $8 CHART_SIZE, $9 the countries to rank (null: all), $10 $1 in days since 1970,
 * $11 the store's activation rate (trust.ts activationRate's floor).
 */
export function chartsSql(w: Weights, countries: boolean): string {
  const decayed = (column: string, h: number) => `s.${column} * ${halvingSql('$1::date - s.last_day', h)}`;
  const ageDays = (t: string) => `($10::float8 - extract(epoch FROM ${t}) / 86400)`;
  const fresh = (t: string, scale: number) =>
    `CASE WHEN ${t} IS NULL THEN 0 ELSE ${scale} * ${halvingSql(`greatest(${ageDays(t)}, 0)`, FRESHNESS_HALF_LIFE_DAYS)} END`;
  const rel = (v: string, m: string) => `ln(1 + ${v} / greatest(${m}, 1))`;
  const g = grossingWeights(w);
  /** The union of every chart's rows: `columns` of each (chart, country, category, app, score ...). */
  const union = (columns: (score: string, dl: string, rev: string) => string) => {
    const parts: string[] = [];
    for (const scope of ['category', 'overall'] as const) {
      const category = scope === 'category' ? 'category' : `'${OVERALL}'`;
      const dl = `downloads_${scope}`;
      const rev = `revenue_${scope}`;
      const score = (x: Weights) =>
        `${dl} * ${x.downloads} + rating * ${x.rating} + engagement * ${x.engagement} + ${rev} * ${x.revenue} + freshness * ${x.freshness}`;
      const select = (chart: string, sc: string, where: string) =>
        `SELECT '${chart}'::text AS chart, country, ${category}::text AS category, ${columns(sc, dl, rev)} FROM scored WHERE ${where}`;
      parts.push(
        select('top-free', score(w), 'charted AND is_free'),
        select('top-paid', score(w), 'charted AND NOT is_free'),
        select('top-grossing', score(g), `${rev} > 0`),
        select('trending', 'trending', `charted AND trending > ${TRENDING_MIN_SCORE}`),
        select('new', score(w), 'charted AND is_new'),
      );
    }
    return parts.join('\n UNION ALL ');
  };
  /**
   * trust.ts supportedAcquisitions over the decayed columns (`floor`: the long-run level on the same scale), at
   * trust.ts activationRate: the app's own rate, never below the store's ($11).
   */
  const supported = (acquisitions: string, recentActivations: string, floor: string) =>
    `CASE WHEN s.activations_long < ${ACTIVATION_MIN_EVIDENCE} THEN ${acquisitions}
          ELSE least(${acquisitions}, greatest(${floor},
                     ${recentActivations} / greatest(s.activations_long / greatest(s.downloads_long, 1), $11::float8) / ${ACTIVATION_TOLERANCE})) END`;
  const bucket = (score: string) => `floor((${score}) * ${SCORE_BUCKETS})::int`;
  return `
    WITH candidates AS MATERIALIZED (
      SELECT s.app_id, s.country, a.category, a.is_free, s.velocity, s.revenue,
             s.velocity >= $3 AS charted,
             a.published_at >= $1::date - $5::int AS is_new,
             CASE WHEN a.rating_count > 0
                  THEN (${RATING_PRIOR_WEIGHT} * $2::float8 + a.rating_average * a.rating_count) / (${RATING_PRIOR_WEIGHT} + a.rating_count) / 5
                       * least(1, a.rating_count / ${RATING_FULL_COUNT}.0)
                  ELSE 0 END AS rating,
             coalesce(least(1, e.dau::float8 / greatest(e.mau, 1)) * 0.4 + least(e.avg_session_minutes / 10.0, 1) * 0.3
                      + least(greatest(e.day7_retention, 0), 1) * 0.3, 0) AS engagement,
             greatest(${fresh('a.published_at', 1)}, ${fresh('u.updated_at', 0.5)}) AS freshness,
             -- trust.ts trendingScore: growth of trusted acquirers over their smoothed baseline, with breadth
             CASE WHEN s.acq_day >= ${TRENDING_MIN_ACQUIRERS}
                  THEN ln((s.acq_day * ${rateFactor(1)}::float8 + ${TRENDING_PRIOR})
                          / (s.acq_base * ${rateFactor(BASELINE_HALF_LIFE_DAYS)}::float8 + ${TRENDING_PRIOR}))
                  ELSE 0 END AS trending
        FROM (SELECT s.app_id, s.country, s.revenue,
                             -- trust.ts supportedAcquisitions: bounded by activation evidence (SDK apps)
                             ${supported('s.velocity_raw', 's.activations_week', `s.downloads_long * ${rateFactor(ACTIVATION_RATE_HALF_LIFE_DAYS) / rateFactor(HALF_LIFE_DAYS.downloads)}`)} AS velocity,
                             ${supported('s.acq_day_raw', 's.activations_day', `s.acq_base * ${rateFactor(BASELINE_HALF_LIFE_DAYS) / rateFactor(1)}`)} AS acq_day,
                             s.acq_base
                        FROM (SELECT s.app_id, s.country,
                                     ${decayed('downloads_week', HALF_LIFE_DAYS.downloads)} AS velocity_raw,
                                     ${decayed('acquirers_day', HALF_LIFE_DAYS.downloadsFast)} AS acq_day_raw,
                                     ${decayed('acquirers_base', BASELINE_HALF_LIFE_DAYS)} AS acq_base,
                                     ${decayed('activations_day', HALF_LIFE_DAYS.downloadsFast)} AS activations_day,
                                     ${decayed('activations_week', HALF_LIFE_DAYS.downloads)} AS activations_week,
                                     ${decayed('activations_long', ACTIVATION_RATE_HALF_LIFE_DAYS)} AS activations_long,
                                     ${decayed('downloads_long', ACTIVATION_RATE_HALF_LIFE_DAYS)} AS downloads_long,
                                     greatest(${decayed('revenue_week', HALF_LIFE_DAYS.revenue)}, 0) AS revenue
                                FROM app_chart_signals s ${countries ? 'WHERE s.country = ANY($9::text[])' : 'WHERE $9::text[] IS NULL'}) s) s
        JOIN catalog_apps a ON a.id = s.app_id AND a.status = 'published'
        LEFT JOIN app_engagement e ON e.app_id = s.app_id
        LEFT JOIN (SELECT app_id, max(published_at) AS updated_at FROM catalog_app_versions
                    WHERE status = 'published' AND published_at >= $1::date - $6::int GROUP BY app_id) u ON u.app_id = s.app_id
       WHERE s.velocity >= $3 OR s.revenue >= $4
    ),
    medians AS MATERIALIZED (
      SELECT country, category,
             coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY velocity) FILTER (WHERE charted), 1) AS velocity,
             coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY revenue) FILTER (WHERE revenue >= $4), 1) AS revenue
        FROM candidates GROUP BY GROUPING SETS ((country, category), (country))
    ),
    scored AS (
      SELECT c.app_id, c.country, c.category, c.is_free, c.charted, c.is_new, c.rating, c.engagement, c.freshness, c.trending,
             ${rel('c.velocity', 'mc.velocity')} AS downloads_category,
             ${rel('c.velocity', 'mo.velocity')} AS downloads_overall,
             CASE WHEN c.revenue >= $4 THEN ${rel('c.revenue', 'mc.revenue')} ELSE 0 END AS revenue_category,
             CASE WHEN c.revenue >= $4 THEN ${rel('c.revenue', 'mo.revenue')} ELSE 0 END AS revenue_overall
        FROM candidates c
        JOIN medians mc ON mc.country = c.country AND mc.category = c.category
        JOIN medians mo ON mo.country = c.country AND mo.category IS NULL
    ),
    -- Top-N without sorting every row: a histogram of each chart's scores gives the lowest score bucket that
    -- still holds one of its top $8; only rows from that bucket up are sorted (exact: nothing below can make it).
    histogram AS (
      SELECT chart, country, category, bucket, count(*) AS n
        FROM (${union((sc) => `${bucket(sc)} AS bucket`)}) h
       GROUP BY chart, country, category, bucket
    ),
    thresholds AS (
      SELECT chart, country, category, min(bucket) AS bucket
        FROM (SELECT chart, country, category, bucket, n,
                     sum(n) OVER (PARTITION BY chart, country, category ORDER BY bucket DESC) AS at_or_above
                FROM histogram) c
       WHERE at_or_above - n < $8
       GROUP BY chart, country, category
    )
    INSERT INTO chart_entries (run_id, country, category, chart, rank, app_id, score, downloads, rating, engagement, revenue, freshness)
    SELECT $7, country, category, chart, rn, app_id, score, downloads, rating, engagement, revenue, freshness
      FROM (SELECT x.*, row_number() OVER (PARTITION BY x.chart, x.country, x.category ORDER BY x.score DESC, x.app_id) AS rn
              FROM (${union((sc, dl, rev) => `app_id, ${sc} AS score, ${bucket(sc)} AS bucket, ${dl} AS downloads, rating, engagement, ${rev} AS revenue, freshness`)}) x
              JOIN thresholds t ON t.chart = x.chart AND t.country = x.country AND t.category = x.category
             WHERE x.bucket >= t.bucket) ranked
     WHERE rn <= $8`;
}

/**
 * Refolds the running signals from the daily statistics (all of them, as of `day`): after a bulk load, or to
 * recover. Live, the statistics consumer keeps them current event by event.
 */
export async function rebuildSignals(db: Db, day = utcDay(new Date())): Promise<{ pairs: number; dailyRows: number; seconds: number }> {
  const started = performance.now();
  return db.tx(async (q: Queryable) => {
    if (db.kind === 'postgres') await q.query(`SET LOCAL work_mem = '512MB'`);
    await q.query(db.kind === 'postgres' ? 'TRUNCATE app_chart_signals' : 'DELETE FROM app_chart_signals');
    const weight = (h: number) => halvingSql('$1::date - day', h);
    const res = await q.query(
      `INSERT INTO app_chart_signals (app_id, country, last_day, downloads_week, downloads_day, revenue_week, acquirers_day, acquirers_base,
                                      activations_day, activations_week, activations_long, downloads_long)
       SELECT app_id, country, $1::date,
              sum(trusted_downloads * ${weight(HALF_LIFE_DAYS.downloads)}),
              sum(trusted_downloads * ${weight(HALF_LIFE_DAYS.downloadsFast)}),
              sum(revenue_milli * ${weight(HALF_LIFE_DAYS.revenue)}),
              sum(coalesce(trusted_acquirers, trusted_downloads) * ${weight(HALF_LIFE_DAYS.downloadsFast)}),
              sum(coalesce(trusted_acquirers, trusted_downloads) * ${weight(BASELINE_HALF_LIFE_DAYS)}),
              sum(activations * ${weight(HALF_LIFE_DAYS.downloadsFast)}),
              sum(activations * ${weight(HALF_LIFE_DAYS.downloads)}),
              sum(activations * ${weight(ACTIVATION_RATE_HALF_LIFE_DAYS)}),
              sum(trusted_downloads * ${weight(ACTIVATION_RATE_HALF_LIFE_DAYS)})
         FROM app_daily_stats
        WHERE day <= $1::date AND (trusted_downloads > 0 OR revenue_milli <> 0 OR trusted_acquirers > 0 OR activations > 0)
        GROUP BY app_id, country`,
      [day],
    );
    const { rows } = await q.query<{ n: string }>('SELECT count(*) AS n FROM app_daily_stats WHERE day <= $1::date', [day]);
    return { pairs: res.rowCount ?? 0, dailyRows: Number(rows[0].n), seconds: Math.round(performance.now() - started) / 1000 };
  });
}
