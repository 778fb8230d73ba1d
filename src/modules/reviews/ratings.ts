// Each app's rating summary: approved reviews only, kept incrementally (one review in or out at a time,
// never recounted) in app_rating_summaries and mirrored into apps.rating_count / rating_average, which
// the catalog and search read. Every change records app.changed { change: 'ratings' } for their caches.
import { recordEvent } from '../../platform/bus/index.ts';
import type { Queryable } from '../../platform/db/index.ts';
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

/**
 * Adds (delta 1) or removes (delta -1) one approved rating of the app, mirrors the result into apps and
 * records app.changed. Removing from a summary that does not hold the rating is a bug: the table's checks
 * refuse it and the caller's transaction fails.
 */
export async function adjustSummary(q: Queryable, appId: string, rating: number, delta: 1 | -1, at: Date): Promise<void> {
  if (!Number.isInteger(rating) || rating < 1 || rating > 5) throw new Error(`rating ${rating} is not 1..5`);
  const column = `c${rating}`;
  // an upsert would check its (negative) proposed row before seeing the conflict, so removals are plain updates
  const { rows } =
    delta === 1
      ? await q.query<{ count: number; sum: string }>(
          `INSERT INTO app_rating_summaries AS s (app_id, count, sum, ${column}, updated_at) VALUES ($1, 1, $2, 1, $3)
           ON CONFLICT (app_id) DO UPDATE SET count = s.count + 1, sum = s.sum + EXCLUDED.sum, ${column} = s.${column} + 1, updated_at = EXCLUDED.updated_at
           RETURNING count, sum`,
          [appId, rating, at],
        )
      : await q.query<{ count: number; sum: string }>(
          `UPDATE app_rating_summaries SET count = count - 1, sum = sum - $2, ${column} = ${column} - 1, updated_at = $3
            WHERE app_id = $1 RETURNING count, sum`,
          [appId, rating, at],
        );
  if (!rows[0]) throw new Error(`app ${appId} has no rating summary to remove a rating from`);
  const count = Number(rows[0].count);
  const sum = Number(rows[0].sum);
  await q.query('UPDATE apps SET rating_count = $2, rating_average = $3 WHERE id = $1', [appId, count, count ? sum / count : 0]);
  await recordEvent(q, 'app.changed', { appId, change: 'ratings' }, appId);
}

export async function readSummary(q: Queryable, appId: string): Promise<RatingSummary> {
  const { rows } = await q.query<SummaryRow>('SELECT count, sum, c1, c2, c3, c4, c5 FROM app_rating_summaries WHERE app_id = $1', [appId]);
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
