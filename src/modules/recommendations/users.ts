// A signed-in user's rows, precomputed (recs_user_rows) for active users, so GET /me/recommendations is one read and
// a render, never the computation.
//
// Stored per user: the apps of each personal row ("Because you downloaded X" from X's stored similar list, "Apps you
// might like" from the library's co-download neighbours), more than a row shows; the library's top categories (their
// "Popular in" rows follow the current charts at read); and the library itself, left out of every row at read.
//
// Computed by the precompute job for active users (a live session) without rows, stale rows, and rows older than
// REFRESH_MS or than the last full neighbour build; and in the background for a user who asks before the job got to
// them (they get the cold-start rows meanwhile). A library change invalidates at once: the purchase's own process
// appends the app to `acquired` (left out at read) and marks the rows stale before the purchase's response, and the
// library events (purchase.completed, transaction.revoked) mark them stale for the job to compute again. Apps in
// `acquired` leave it when rows computed from a library read after they came are stored.
import type { Db, Queryable } from '../../platform/db/index.ts';
import { likelyApps, RECENCY, type Neighbor } from './cf.ts';
import { recommendationsEvents } from './events.ts';

/** Items shown per row; rows of each kind. */
export const ROW_ITEMS = 10;
const BECAUSE_ROWS = 3;
const CATEGORY_ROWS = 2;
/** Items stored per personal row: apps got since the rows were computed are left out at read, the rest still fill a row. */
const ROW_KEEP = 20;
/** "Apps you might like" reads the neighbours of this many of the most recent apps (the 30th weighs 0.9^29 ≈ 5%). */
const LIKELY_FROM = 30;
/** The library read: the most recent apps (the batch job pairs as many). */
const LIBRARY_LIMIT = 100;
/** Rows are computed again at least this often (and after a full neighbour build). */
export const REFRESH_MS = 24 * 3_600_000;
const PASS_MS = 4 * 60_000;
const CHUNK = 500;

export interface StoredRows {
  /** The library's most recent apps, newest first: left out of every row. */
  owned: string[];
  because: { basedOn: string; name: string; ids: string[] }[];
  mightLike: string[];
  categories: string[];
}

export interface UserRows {
  rows: StoredRows;
  /** Apps got since the rows were computed. */
  acquired: string[];
  stale: boolean;
}

export interface UserRowsDeps {
  db: Db;
  /** The stored similar lists of these apps: null for a published app's list not computed yet, absent when none. */
  similarOf(appIds: string[]): Promise<Map<string, string[] | null>>;
  /** The live co-download neighbours of these apps. */
  neighborsOf(appIds: string[]): Promise<Map<string, Neighbor[]>>;
  /** After these users' rows are stored (committed with their recs.rows_changed): this process's held answers go. */
  stored?(userIds: readonly string[]): void;
}

/** The stored rows of a user, undefined when there are none. */
export async function readUserRows(q: Queryable, userId: string): Promise<UserRows | undefined> {
  const { rows } = await q.query<{ rows: StoredRows; acquired: string[]; stale: boolean }>(
    'SELECT rows, acquired, stale FROM recs_user_rows WHERE user_id = $1',
    [userId],
  );
  return rows[0];
}

/**
 * The user got this app: left out of their rows at once (recs.rows_changed tells every process), the rows computed
 * again. A user without rows: nothing to do. Run it in a transaction: the event commits with the change.
 */
export async function markAcquired(q: Queryable, userId: string, appId: string): Promise<void> {
  const { rowCount } = await q.query(
    `UPDATE recs_user_rows SET stale = true, acquired = CASE WHEN $2 = ANY(acquired) THEN acquired ELSE array_append(acquired, $2) END
      WHERE user_id = $1`,
    [userId, appId],
  );
  if (rowCount) await recommendationsEvents.record(q, 'recs.rows_changed', { userIds: [userId] }, userId);
}

/** The user's library changed otherwise (a refund: the app may be recommended again): computed again soon. */
export async function markStale(q: Queryable, userId: string): Promise<void> {
  await q.query('UPDATE recs_user_rows SET stale = true WHERE user_id = $1 AND NOT stale', [userId]);
}

/** The library's categories, most present first, each app weighing more the more recent it is; ties by name. */
function topCategories(library: readonly { category: string }[]): string[] {
  const weight = new Map<string, number>();
  library.forEach((a, k) => weight.set(a.category, (weight.get(a.category) ?? 0) + Math.pow(RECENCY, k)));
  return [...weight].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1)).map(([c]) => c);
}

/**
 * The rows of these users, computed from their libraries and stored. Returns how many were written. Rows that
 * used a similar list not computed yet are stored stale (computed again by a later pass).
 */
export async function computeUserRows(deps: UserRowsDeps, userIds: readonly string[]): Promise<number> {
  if (!userIds.length) return 0;
  // what `acquired` holds before the library is read: the library has these, so they may go (not what comes after)
  const { rows: before } = await deps.db.query<{ user_id: string; acquired: string[] }>(
    'SELECT user_id, acquired FROM recs_user_rows WHERE user_id = ANY($1::uuid[])',
    [userIds],
  );
  const seen = new Map(before.map((r) => [r.user_id, r.acquired]));
  const { rows: owned } = await deps.db.query<{ user_id: string; app_id: string; name: string; category: string }>(
    `SELECT u.id AS user_id, l.app_id, l.name, l.category FROM unnest($1::uuid[]) AS u(id)
       CROSS JOIN LATERAL (SELECT o.app_id, a.name, a.category FROM owned_apps o JOIN catalog_apps a ON a.id = o.app_id
                            WHERE o.user_id = u.id ORDER BY o.acquired_at DESC, o.app_id LIMIT ${LIBRARY_LIMIT}) l`,
    [userIds],
  );
  const libraries = new Map<string, { appId: string; name: string; category: string }[]>(userIds.map((id) => [id, []]));
  for (const r of owned) libraries.get(r.user_id)!.push({ appId: r.app_id, name: r.name, category: r.category });
  const recent = new Set<string>();
  const likeFrom = new Set<string>();
  for (const library of libraries.values()) {
    for (const a of library.slice(0, BECAUSE_ROWS)) recent.add(a.appId);
    for (const a of library.slice(0, LIKELY_FROM)) likeFrom.add(a.appId);
  }
  const [similar, neighbors] = await Promise.all([deps.similarOf([...recent]), deps.neighborsOf([...likeFrom])]);
  const computed = [...libraries].map(([userId, library]) => {
    const ids = library.map((a) => a.appId);
    const mine = new Set(ids);
    const recentApps = library.slice(0, BECAUSE_ROWS);
    const rows: StoredRows = {
      owned: ids,
      because: recentApps
        .map((a) => ({ basedOn: a.appId, name: a.name, ids: (similar.get(a.appId) ?? []).filter((id) => !mine.has(id)).slice(0, ROW_KEEP) }))
        .filter((row) => row.ids.length),
      mightLike: likelyApps(ids.slice(0, LIKELY_FROM), (id) => neighbors.get(id), ROW_KEEP, mine).map((n) => n.appId),
      categories: topCategories(library).slice(0, CATEGORY_ROWS),
    };
    // a published app's list not computed yet (null): these rows are computed again once it is
    const pending = recentApps.some((a) => similar.has(a.appId) && similar.get(a.appId) === null);
    return { user_id: userId, rows, seen: seen.get(userId) ?? [], pending };
  });
  // `acquired` keeps the apps got after the library was read (the inserted value is what was seen before)
  await deps.db.tx(async (q) => {
    await q.query(
      `INSERT INTO recs_user_rows (user_id, rows, acquired, stale, computed_at)
     SELECT x.user_id, x.rows, x.seen, x.pending, now() FROM jsonb_to_recordset($1::jsonb) AS x(user_id uuid, rows jsonb, seen uuid[], pending boolean)
     ON CONFLICT (user_id) DO UPDATE SET rows = excluded.rows, computed_at = excluded.computed_at,
       acquired = ARRAY(SELECT a FROM unnest(recs_user_rows.acquired) a WHERE a <> ALL(excluded.acquired)),
       stale = excluded.stale OR EXISTS (SELECT 1 FROM unnest(recs_user_rows.acquired) a WHERE a <> ALL(excluded.acquired))`,
      [JSON.stringify(computed)],
    );
    await recommendationsEvents.record(q, 'recs.rows_changed', { userIds: [...userIds] });
  });
  deps.stored?.(userIds);
  return computed.length;
}

export interface UserRowsPass {
  computed: number;
  /** Rows of users no longer signed in, deleted by the scan. */
  deleted: number;
  seconds: number;
}

/**
 * One pass within PASS_MS: stale rows first, then (with `scan`) active users without rows, then rows older than
 * REFRESH_MS or than the last full build. The scan also deletes the rows of users no longer signed in.
 */
export async function refreshUserRows(deps: UserRowsDeps, opts: { scan?: boolean; budgetMs?: number } = {}): Promise<UserRowsPass> {
  const started = performance.now();
  const budget = opts.budgetMs ?? PASS_MS;
  let deleted = 0;
  if (opts.scan) {
    const r = await deps.db.query('DELETE FROM recs_user_rows r WHERE NOT EXISTS (SELECT 1 FROM identity_active_users u WHERE u.id = r.user_id)');
    deleted = r.rowCount ?? 0;
  }
  let computed = 0;
  // rows computed in this pass are not taken again (a row can stay stale: see computeUserRows)
  const { rows: clock } = await deps.db.query<{ at: Date }>('SELECT now() AS at');
  const newcomers = opts.scan
    ? `UNION ALL (SELECT u.id FROM identity_active_users u WHERE NOT EXISTS (SELECT 1 FROM recs_user_rows r WHERE r.user_id = u.id) LIMIT ${CHUNK})`
    : '';
  for (;;) {
    const { rows } = await deps.db.query<{ user_id: string }>(
      `(SELECT user_id FROM recs_user_rows WHERE stale AND computed_at < $2 ORDER BY computed_at LIMIT ${CHUNK})
       ${newcomers}
       UNION ALL
       (SELECT user_id FROM recs_user_rows
         WHERE NOT stale AND computed_at < greatest(now() - make_interval(secs => $1), (SELECT max(full_at) FROM recs_live))
         ORDER BY computed_at LIMIT ${CHUNK})
       LIMIT ${CHUNK}`,
      [REFRESH_MS / 1000, clock[0].at],
    );
    if (!rows.length) break;
    computed += await computeUserRows(deps, [...new Set(rows.map((r) => r.user_id))]);
    if (performance.now() - started > budget) break;
  }
  return { computed, deleted, seconds: Math.round(performance.now() - started) / 1000 };
}
