// Each app's rating summary: approved reviews only, kept incrementally (one review in or out at a time, never
// recounted). A verdict appends a delta row in its own transaction; mirrorRatings folds the deltas into
// app_rating_summaries, hands the result to the catalog's setRatings (apps.rating_count / rating_average, what the
// catalog and search read, and one app.changed { change: 'ratings' } per app), every few seconds. Reads add the
// deltas not folded yet, so they are exact. Why not update the summary in the verdict's transaction: a burst
// of reviews of one app would queue on that row's lock (and cross-app verdicts could deadlock on two of them),
// rewrite the apps row and its browse indexes, and invalidate every process's caches, once per review.
import { setRatings } from '../catalog/index.ts';
import type { Db, Queryable } from '../../platform/db/index.ts';
import type { RatingSummary } from './schemas.ts';

// The Bayesian average pulls an app with few ratings towards the store-wide mean, so three 5-star
// reviews do not outrank thousands of 4.7s: as if every app started with PRIOR_WEIGHT ratings of PRIOR_MEAN.
/** C: how many ratings the prior is worth. */
export const PRIOR_WEIGHT = 100;
/** m: the rating assumed for an app nobody has rated yet (about the store-wide average). */
export const PRIOR_MEAN = 3.5;

export const bayesianAverage = (count: number, sum: number) => (PRIOR_WEIGHT * PRIOR_MEAN + sum) / (PRIOR_WEIGHT + count);

interface SummaryRow {
  count: number;
  sum: string | number;
  c1: number;
  c2: number;
  c3: number;
  c4: number;
  c5: number;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** Adds (delta 1) or removes (delta -1) one approved rating of the app: a delta row, folded later. */
export async function adjustSummary(q: Queryable, appId: string, rating: number, delta: 1 | -1): Promise<void> {
  if (!Number.isInteger(rating) || rating < 1 || rating > 5) throw new Error(`rating ${rating} is not 1..5`);
  await q.query('INSERT INTO app_rating_deltas (app_id, rating, delta) VALUES ($1, $2, $3)', [appId, rating, delta]);
}

/** Delta rows folded per transaction of mirrorRatings. */
const FOLD_BATCH = 5000;

/**
 * Folds pending deltas into the summaries and hands the changed ones to the catalog (its apps row, app.changed
 * for each). Safe in any number of processes at once (delta rows are claimed with SKIP LOCKED). Returns the apps changed.
 */
export async function mirrorRatings(db: Db): Promise<number> {
  let total = 0;
  for (;;) {
    const { apps, deltas } = await db.tx(async (q) => {
      const { rows: taken } = await q.query<{
        app_id: string;
        n: number;
        s: number;
        c1: number;
        c2: number;
        c3: number;
        c4: number;
        c5: number;
        deltas: number;
      }>(
        `WITH taken AS (
           DELETE FROM app_rating_deltas WHERE id IN (SELECT id FROM app_rating_deltas ORDER BY id LIMIT ${FOLD_BATCH} FOR UPDATE SKIP LOCKED)
           RETURNING app_id, rating, delta
         )
         SELECT app_id, sum(delta)::int AS n, sum(delta * rating)::int AS s,
                ${[1, 2, 3, 4, 5].map((k) => `coalesce(sum(delta) FILTER (WHERE rating = ${k}), 0)::int AS c${k}`).join(', ')},
                count(*)::int AS deltas
           FROM taken GROUP BY app_id ORDER BY app_id`,
      );
      if (!taken.length) return { apps: 0, deltas: 0 };
      const ids = taken.map((t) => t.app_id);
      const col = (k: keyof (typeof taken)[number]) => taken.map((t) => t[k]);
      // a summary row for every app first: an upsert would check its (possibly negative) proposed row and fail
      await q.query(`INSERT INTO app_rating_summaries (app_id, updated_at) SELECT unnest($1::uuid[]), now() ON CONFLICT (app_id) DO NOTHING`, [ids]);
      const { rows: folded } = await q.query<{ app_id: string; count: number; sum: string | number }>(
        `WITH d AS (SELECT * FROM unnest($1::uuid[], $2::int[], $3::int[], $4::int[], $5::int[], $6::int[], $7::int[], $8::int[]) AS d(app_id, n, s, c1, c2, c3, c4, c5))
         UPDATE app_rating_summaries x SET count = x.count + d.n, sum = x.sum + d.s, c1 = x.c1 + d.c1, c2 = x.c2 + d.c2, c3 = x.c3 + d.c3,
                c4 = x.c4 + d.c4, c5 = x.c5 + d.c5, updated_at = now()
           FROM d WHERE x.app_id = d.app_id
         RETURNING x.app_id, x.count, x.sum`,
        [ids, col('n'), col('s'), col('c1'), col('c2'), col('c3'), col('c4'), col('c5')],
      );
      // the catalog copies them into its apps row and announces app.changed for each
      await setRatings(
        q,
        folded.map((f) => ({ appId: f.app_id, count: Number(f.count), sum: Number(f.sum) })),
      );
      return { apps: ids.length, deltas: taken.reduce((n, t) => n + t.deltas, 0) };
    });
    total += apps;
    if (deltas < FOLD_BATCH) return total;
  }
}

export async function readSummary(q: Queryable, appId: string): Promise<RatingSummary> {
  const { rows } = await q.query<SummaryRow>(
    `SELECT coalesce(s.count, 0) + d.n AS count, coalesce(s.sum, 0) + d.s AS sum,
            ${[1, 2, 3, 4, 5].map((k) => `coalesce(s.c${k}, 0) + d.c${k} AS c${k}`).join(', ')}
       FROM (SELECT coalesce(sum(delta), 0)::int AS n, coalesce(sum(delta * rating), 0)::int AS s,
                    ${[1, 2, 3, 4, 5].map((k) => `coalesce(sum(delta) FILTER (WHERE rating = ${k}), 0)::int AS c${k}`).join(', ')}
               FROM app_rating_deltas WHERE app_id = $1) d
       LEFT JOIN app_rating_summaries s ON s.app_id = $1`,
    [appId],
  );
  const r = rows[0] ?? { count: 0, sum: 0, c1: 0, c2: 0, c3: 0, c4: 0, c5: 0 };
  const count = Number(r.count);
  const sum = Number(r.sum);
  return {
    appId,
    count,
    average: count ? round2(sum / count) : 0,
    histogram: { '1': r.c1, '2': r.c2, '3': r.c3, '4': r.c4, '5': r.c5 },
    bayesianAverage: round2(bayesianAverage(count, sum)),
  };
}

/** exp(beta * k) over k = 1..5 has mean 1 + i / 100 for beta = BETAS[i] (i = 0..400); made on first use. */
let BETAS: number[] | undefined;
const shape = (beta: number) => [1, 2, 3, 4, 5].map((k) => Math.exp(beta * k));
const meanOf = (w: number[]) => w.reduce((s, x, i) => s + x * (i + 1), 0) / w.reduce((s, x) => s + x, 0);

function betaFor(mean: number): number {
  BETAS ??= Array.from({ length: 401 }, (_, i) => {
    let lo = -30;
    let hi = 30;
    for (let n = 0; n < 50; n++) {
      const mid = (lo + hi) / 2;
      if (meanOf(shape(mid)) < 1 + i / 100) lo = mid;
      else hi = mid;
    }
    return (lo + hi) / 2;
  });
  return BETAS[Math.min(400, Math.max(0, Math.round((mean - 1) * 100)))];
}

/**
 * A histogram of `count` ratings whose sum is as close to average * count as whole ratings allow: the seed
 * gives its synthetic ratings a summary that the first real review adds to. The shape is the maximum-entropy
 * one for that mean (geometric over the stars), then ratings are moved a star at a time until the sum is right.
 */
export function plausibleHistogram(count: number, average: number): { counts: [number, number, number, number, number]; sum: number } {
  if (count <= 0) return { counts: [0, 0, 0, 0, 0], sum: 0 };
  const target = Math.min(5 * count, Math.max(count, Math.round(average * count)));
  const w = shape(betaFor(target / count));
  const total = w.reduce((s, x) => s + x, 0);
  // largest remainder: whole counts that add up to count
  const exact = w.map((x) => (x / total) * count);
  const counts = exact.map(Math.floor) as [number, number, number, number, number];
  const byRemainder = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0]);
  for (let left = count - counts.reduce((s, x) => s + x, 0), j = 0; left > 0; left--, j++) counts[byRemainder[j % 5][1]]++;
  let sum = counts.reduce((s, x, i) => s + x * (i + 1), 0);
  while (sum !== target) {
    const up = sum < target;
    // one rating a star towards the target, from the fullest bucket that can move that way
    let from = -1;
    for (let i = 0; i < 5; i++) {
      if (counts[i] > 0 && (up ? i < 4 : i > 0) && (from < 0 || counts[i] > counts[from])) from = i;
    }
    counts[from]--;
    counts[from + (up ? 1 : -1)]++;
    sum += up ? 1 : -1;
  }
  return { counts, sum };
}
