// Demo statistics for the charts: 30 days of daily downloads, revenue and engagement per published app in a
// few storefronts, derived from each app's seeded lifetime downloads (deterministic: hashes, not random()),
// with one app in ten rising over the month so the trending chart has something to show. Then the running
// signals are folded from them, as `orchard rank --rebuild-signals` does after any bulk load.
import type { Db } from '../platform/db/index.ts';
import { rebuildSignals } from '../modules/rankings/index.ts';

const DAYS = 30;
const COUNTRIES: [string, number][] = [
  ['US', 1],
  ['GB', 0.3],
  ['DE', 0.25],
  ['JP', 0.2],
];

export async function seedStatistics(db: Db): Promise<{ dailyRows: number }> {
  const unit = (salt: string) => `(abs(hashtext(a.id::text || ${salt})) % 100000) / 100000.0`;
  const { rowCount } = await db.query(
    `INSERT INTO app_daily_stats (app_id, country, day, first_downloads, redownloads, updates, unique_downloaders, trusted_downloads,
                                  revenue_milli, active_users, sessions, session_seconds)
     SELECT app_id, country, day, n, n / 10, n / 4, n + n / 10, n * 0.97, revenue, n * 8, n * 20, n * 20 * 240
       FROM (SELECT a.id AS app_id, c.country, d.day::date AS day,
                    floor(a.download_count / 2500.0 * c.share * (0.5 + ${unit('c.country || d.day::text')})
                          * CASE WHEN abs(hashtext(a.id::text)) % 10 = 0 THEN 0.3 + 2.0 * ($1 - (current_date - d.day::date)) / $1 ELSE 1 END)::int AS n,
                    a.is_free
               FROM apps a
              CROSS JOIN unnest($2::text[], $3::float8[]) AS c (country, share)
              CROSS JOIN generate_series(current_date - ($1 - 1), current_date, interval '1 day') AS d (day)
              WHERE a.status = 'published') s
      CROSS JOIN LATERAL (SELECT CASE WHEN NOT s.is_free THEN s.n::bigint * 990 ELSE s.n::bigint * 60 END AS revenue) r
      WHERE n > 0`,
    [DAYS, COUNTRIES.map((c) => c[0]), COUNTRIES.map((c) => c[1])],
  );
  await db.query(
    `INSERT INTO app_engagement (app_id, dau, mau, day7_retention, avg_session_minutes)
     SELECT a.id, greatest(1, a.download_count / 400), greatest(1, a.download_count / 400) * (3 + abs(hashtext(a.id::text || 'm')) % 8),
            0.1 + ${unit("'r'")} * 0.45, 2 + ${unit("'s'")} * 12
       FROM apps a WHERE a.status = 'published' AND a.download_count > 0`,
  );
  await rebuildSignals(db);
  return { dailyRows: rowCount ?? 0 };
}
