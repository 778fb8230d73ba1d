// The counters other modules keep on an app: its downloads (library) and its ratings (reviews). The catalog
// owns the apps row and its app.changed event; these are the only writes to it from outside, each inside the
// caller's transaction. The catalog reads and sorts by the counters (browse, search documents, charts).
import { catalogEvents } from './events.ts';
import type { Queryable } from '../../platform/db/index.ts';

/** A first download of the app (distinct users): download_count + n. */
export async function countFirstDownloads(q: Queryable, appId: string, n = 1): Promise<void> {
  await q.query('UPDATE apps SET download_count = download_count + $2 WHERE id = $1', [appId, n]);
}

export interface RatingTotals {
  appId: string;
  /** Approved ratings. */
  count: number;
  /** Their sum (1..5 each). */
  sum: number;
}

/** Sets each app's rating count and plain average, and announces app.changed { change: 'ratings' } for each. */
export async function setRatings(q: Queryable, totals: RatingTotals[]): Promise<void> {
  if (!totals.length) return;
  await q.query(
    `UPDATE apps a SET rating_count = t.count, rating_average = CASE WHEN t.count > 0 THEN t.sum::float8 / t.count ELSE 0 END
       FROM unnest($1::uuid[], $2::int[], $3::bigint[]) AS t(app_id, count, sum) WHERE a.id = t.app_id`,
    [totals.map((t) => t.appId), totals.map((t) => t.count), totals.map((t) => t.sum)],
  );
  for (const t of totals) await announceCounterChange(q, t.appId, 'ratings');
}

/**
 * Records app.changed for a counter, so caches and search indexes re-read the app. Library calls it for
 * downloads on its own schedule (at most about once a minute per app); setRatings calls it itself.
 */
export function announceCounterChange(q: Queryable, appId: string, change: 'downloads' | 'ratings') {
  return catalogEvents.record(q, 'app.changed', { appId, change }, appId);
}
