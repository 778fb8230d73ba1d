// Chart simulations: apps, accounts and organic history written straight into the tables, and first-download
// events as the library publishes them.
import { randomUUID } from 'node:crypto';
import type { Queryable } from '../../src/platform/db/index.ts';

const DAY_MS = 86_400_000;
export const dayAgo = (n: number) => new Date(Date.now() - n * DAY_MS).toISOString().slice(0, 10);

/**
 * Rows of app_daily_stats written straight (organic history; trusted acquirers left NULL: rebuildSignals counts the
 * downloads), with the installs activated that day (SDK apps; 0 by default).
 */
export async function writeHistory(db: Queryable, rows: { appId: string; country?: string; daysAgo: number; downloads: number; activations?: number }[]) {
  await db.query(
    `INSERT INTO app_daily_stats (app_id, country, day, first_downloads, unique_downloaders, trusted_downloads, activations)
     SELECT app_id, country, day, n, n, n, a FROM unnest($1::uuid[], $2::text[], $3::date[], $4::int[], $5::int[]) AS r (app_id, country, day, n, a)`,
    [
      rows.map((r) => r.appId),
      rows.map((r) => r.country ?? 'US'),
      rows.map((r) => dayAgo(r.daysAgo)),
      rows.map((r) => r.downloads),
      rows.map((r) => r.activations ?? 0),
    ],
  );
}

/** Published free apps, old, well rated, with the same engagement. */
export async function insertApps(db: Queryable, developerId: string, apps: { id: string; category: string }[]) {
  await db.query(
    `INSERT INTO apps (id, developer_id, bundle_id, name, category, is_free, status, current_version, rating_count, rating_average, published_at)
     SELECT id, $1, 'sim.' || id, 'Sim ' || left(id::text, 8), category, true, 'published', '1.0', 200, 4.2, now() - interval '400 days'
       FROM unnest($2::uuid[], $3::text[]) AS a (id, category)`,
    [developerId, apps.map((a) => a.id), apps.map((a) => a.category)],
  );
  await db.query(`INSERT INTO app_engagement (app_id, dau, mau, day7_retention, avg_session_minutes) SELECT unnest($1::uuid[]), 100, 400, 0.3, 6`, [
    apps.map((a) => a.id),
  ]);
}

/**
 * `count` accounts created `ageDays` ago, each `spreadMinutes` before the previous one (0: all in the same
 * instant, a lockstep cohort), each having already got `otherApps` apps.
 */
export async function insertAccounts(db: Queryable, count: number, ageDays: number, otherApps = 0, spreadMinutes = 0): Promise<string[]> {
  const ids = Array.from({ length: count }, () => randomUUID());
  await db.query(
    `INSERT INTO users (id, email, display_name, password_hash, created_at)
     SELECT id, id || '@sim.test', 'Sim', 'x', now() - make_interval(days => $2) - make_interval(mins => ($3 * (i - 1))::int)
       FROM unnest($1::uuid[]) WITH ORDINALITY AS u (id, i)`,
    [ids, ageDays, spreadMinutes],
  );
  if (otherApps) await db.query('INSERT INTO chart_accounts (user_id, apps_downloaded) SELECT unnest($1::uuid[]), $2', [ids, otherApps]);
  return ids;
}

/** An app.downloaded event of a first download today. */
export const firstDownload = (appId: string, userId: string) => ({
  type: 'app.downloaded',
  aggregateId: appId,
  payload: { appId, versionId: randomUUID(), userId, kind: 'first', day: dayAgo(0), firstToday: true },
});
