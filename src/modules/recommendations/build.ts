// The batch job: every app's neighbours by co-downloads ("people who got X also got Y").
//
// Full build: every library is read page by page (each user's MAX_LIBRARY_PAIRS most recent apps), the
// neighbours are computed in memory by cf.ts neighborsOfIndexed, COPYed under a new build id beside the live set,
// and made live by moving the recs_live pointer in one short transaction: readers see the old set or the new one.
//
// Incremental build: only the acquisitions made since the live set's watermark. Each one pairs with the rest of
// its user's recent apps; the pairs' counts are added to the stored lists of the apps on both sides, which are
// scored again with the current owner counts and cut to MAX_NEIGHBORS, in SQL, in one transaction. What this
// cannot see (a pair below an app's 50th neighbour before, an app falling out of a long library's recent window,
// an owner count grown without a new pair) waits for the next full build: daily, at once after a revocation.
// The apps whose lists an incremental build rewrote have their similar lists (similar.ts) marked stale.
import { v7 as uuidv7 } from 'uuid';
import type { Db, Queryable } from '../../platform/db/index.ts';
import { MAX_LIBRARY_PAIRS, MAX_NEIGHBORS, MIN_CO_USERS, neighborsOfIndexed, type IndexedLibraries } from './cf.ts';

export interface BuildResult {
  id: string;
  kind: 'full' | 'incremental';
  /** Why a full build ran: asked for, the first one, the daily one, or acquisitions revoked. */
  reason?: 'asked' | 'first' | 'daily' | 'revocations';
  /** Full: libraries read. Incremental: libraries with new apps. */
  libraries: number;
  /** Incremental: new acquisitions folded in. */
  acquisitions?: number;
  /** Full: apps with neighbours. Incremental: apps whose lists were written again. */
  apps: number;
  /** Neighbour rows written. */
  neighbors: number;
  seconds: number;
  phases: Record<string, number>;
}

/** A full build at least this often: it also catches what incremental builds cannot see. */
export const FULL_BUILD_EVERY_MS = 24 * 3_600_000;
/** Acquisitions younger than this wait for the next build: a purchase's created_at is set before it commits. */
export const SETTLE_MS = 30_000;
const USERS_PER_PAGE = 10_000;
/** A non-live set older than this is a crashed build's leftovers (builds take minutes). */
const ABANDONED_MS = 6 * 3_600_000;
const SWAP_LOCK = 7_000_000_008;
/** The rows of transactions that put an app in a library (the owned_apps view's rule). */
const acquired = (t: string) => `${t}.kind = 'app' AND ${t}.environment = 'Production' AND ${t}.revocation_date IS NULL`;

export interface BuildOptions {
  /** A full build even when an incremental one would do. */
  full?: boolean;
  /** SETTLE_MS unless given (tests: 0). */
  settleMs?: number;
  /** Where a full build reads the libraries (a replica); the primary when not given. Writes always go to the primary. */
  readDb?: Db;
}

interface Live {
  buildId: string;
  watermark: Date;
  fullAt: Date;
}

/** A build: incremental when the live set allows it, full when asked, first, due or after revocations. */
export async function buildNeighbors(db: Db, opts: BuildOptions = {}): Promise<BuildResult> {
  const settleMs = opts.settleMs ?? SETTLE_MS;
  const live = await readLive(db);
  const reason: BuildResult['reason'] = opts.full
    ? 'asked'
    : !live
      ? 'first'
      : Date.now() - live.fullAt.getTime() >= FULL_BUILD_EVERY_MS
        ? 'daily'
        : (await revokedSince(db, live.watermark))
          ? 'revocations'
          : undefined;
  return reason ? fullBuild(db, opts.readDb ?? db, reason, settleMs) : incrementalBuild(db, live!, settleMs);
}

async function readLive(q: Queryable): Promise<Live | undefined> {
  const { rows } = await q.query<{ build_id: string; watermark: Date; full_at: Date }>('SELECT build_id, watermark, full_at FROM recs_live');
  return rows[0] && { buildId: rows[0].build_id, watermark: new Date(rows[0].watermark), fullAt: new Date(rows[0].full_at) };
}

async function revokedSince(db: Db, since: Date): Promise<boolean> {
  const { rows } = await db.query<{ any: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM purchases_transactions WHERE kind = 'app' AND revocation_date IS NOT NULL AND revocation_date > $1) AS any`,
    [since],
  );
  return rows[0].any;
}

function clock() {
  const started = performance.now();
  let last = started;
  const phases: Record<string, number> = {};
  return {
    phases,
    lap(name: string) {
      const now = performance.now();
      phases[name] = Math.round(now - last) / 1000;
      last = now;
    },
    seconds: () => Math.round(performance.now() - started) / 1000,
  };
}

async function fullBuild(db: Db, readDb: Db, reason: NonNullable<BuildResult['reason']>, settleMs: number): Promise<BuildResult> {
  const time = clock();
  const id = uuidv7();
  await dropAbandonedSets(db);

  const { ids, libraries, watermark } = await loadLibraries(readDb, settleMs);
  time.lap('load');

  const owners = new Int32Array(libraries.appCount);
  for (const a of libraries.apps) owners[a]++;
  await db.copyRows(
    'recs_app_owners',
    ['build_id', 'app_id', 'owners'],
    (function* () {
      for (let a = 0; a < owners.length; a++) if (owners[a]) yield [id, ids[a], owners[a]];
    })(),
  );
  let apps = 0;
  const neighbors = await db.copyRows(
    'app_neighbors',
    ['build_id', 'app_id', 'rank', 'other_id', 'score', 'co_users'],
    (function* () {
      for (const n of neighborsOfIndexed(libraries)) {
        if (n.others.length) apps++;
        for (let r = 0; r < n.others.length; r++) yield [id, ids[n.app], r + 1, ids[n.others[r]], n.scores[r], n.co[r]];
      }
    })(),
  );
  // fresh statistics: the incremental build's joins are planned on them, long before autovacuum would look
  await db.query('ANALYZE app_neighbors');
  await db.query('ANALYZE recs_app_owners');
  time.lap('neighbors');

  const result: BuildResult = { id, kind: 'full', reason, libraries: libraries.starts.length - 1, apps, neighbors, seconds: 0, phases: time.phases };
  const previous = await db.tx(async (q) => {
    await q.query('SELECT pg_advisory_xact_lock($1)', [SWAP_LOCK]);
    const live = await readLive(q);
    if (live && live.watermark >= watermark) return id; // a build that saw more went live meanwhile: ours is dropped
    await q.query(
      `INSERT INTO recs_live (one, build_id, watermark, full_at) VALUES (true, $1, $2, now())
       ON CONFLICT (one) DO UPDATE SET build_id = excluded.build_id, watermark = excluded.watermark, full_at = excluded.full_at`,
      [id, watermark],
    );
    result.seconds = time.seconds();
    await recordBuild(q, result);
    return live?.buildId;
  });
  if (previous) await dropSet(db, previous);
  time.lap('swap');
  result.seconds = time.seconds();
  return result;
}

/**
 * Each user's most recent apps (acquired up to the watermark), as dense numbers in app id order. Read in one
 * read-only transaction, so every page sees the same libraries.
 */
function loadLibraries(db: Db, settleMs: number): Promise<{ ids: string[]; libraries: IndexedLibraries; watermark: Date }> {
  return db.tx(async (q) => {
    await withoutJit(db, q);
    const watermark = await settledNow(q, settleMs); // in the same transaction: the same server and snapshot
    return { ...(await readLibraries(q, watermark)), watermark };
  });
}

/**
 * Short statements over many rows: PostgreSQL's JIT would spend most of each one compiling (measured: 1.9 s of a
 * 2.3 s page of 10,000 libraries), and a page's sort fits in memory.
 */
async function withoutJit(db: Db, q: Queryable): Promise<void> {
  if (db.kind !== 'postgres') return;
  await q.query('SET LOCAL jit = off');
  await q.query(`SET LOCAL work_mem = '64MB'`);
}

async function readLibraries(db: Queryable, watermark: Date): Promise<{ ids: string[]; libraries: IndexedLibraries }> {
  const numberOf = new Map<string, number>();
  let ids: string[] = [];
  let apps = new Int32Array(1 << 16);
  let length = 0;
  const starts = [0];
  for (let after = '00000000-0000-0000-0000-000000000000'; ; ) {
    // pages of users by id: the range reads transactions through its (user_id, app_id) index
    const { rows: bound } = await db.query<{ id: string }>(`SELECT id FROM identity_users WHERE id > $1 ORDER BY id OFFSET ${USERS_PER_PAGE - 1} LIMIT 1`, [
      after,
    ]);
    const upto = bound[0]?.id;
    const { rows } = await db.query<{ apps: string }>(
      `SELECT array_to_string((array_agg(app_id ORDER BY acquired_at DESC, app_id))[1:${MAX_LIBRARY_PAIRS}], ',') AS apps
         FROM (SELECT user_id, app_id, min(original_purchase_date) AS acquired_at FROM purchases_transactions
                WHERE ${acquired('purchases_transactions')} AND created_at <= $2 AND user_id > $1 ${upto ? 'AND user_id <= $3' : ''}
                GROUP BY user_id, app_id) o
        GROUP BY user_id ORDER BY user_id`,
      upto ? [after, watermark, upto] : [after, watermark],
    );
    for (const r of rows) {
      for (const appId of r.apps.split(',')) {
        let n = numberOf.get(appId);
        if (n === undefined) {
          n = ids.length;
          ids.push(appId);
          numberOf.set(appId, n);
        }
        if (length === apps.length) {
          const grown = new Int32Array(apps.length * 2);
          grown.set(apps);
          apps = grown;
        }
        apps[length++] = n;
      }
      starts.push(length);
    }
    if (!upto) break;
    after = upto;
  }
  numberOf.clear();
  // number the apps in id order, so ties between numbers are ties between ids
  const order = ids.map((_, i) => i).sort((x, y) => (ids[x] < ids[y] ? -1 : 1));
  const renumber = new Int32Array(ids.length);
  order.forEach((old, i) => (renumber[old] = i));
  for (let i = 0; i < length; i++) apps[i] = renumber[apps[i]];
  ids = order.map((old) => ids[old]);
  return { ids, libraries: { appCount: ids.length, apps: apps.subarray(0, length), starts: Int32Array.from(starts) } };
}

async function incrementalBuild(db: Db, from: Live, settleMs: number): Promise<BuildResult> {
  const time = clock();
  const id = uuidv7();
  const result = await db.tx(async (q) => {
    await q.query('SELECT pg_advisory_xact_lock($1)', [SWAP_LOCK]);
    await withoutJit(db, q);
    const live = await readLive(q);
    if (!live || live.buildId !== from.buildId || live.watermark.getTime() !== from.watermark.getTime()) return undefined; // moved on meanwhile
    const watermark = await settledNow(q, settleMs);
    const set = live.buildId;
    // apps acquired since the watermark, not owned before it
    await q.query(
      `CREATE TEMP TABLE recs_new ON COMMIT DROP AS
       SELECT DISTINCT t.user_id, t.app_id FROM purchases_transactions t
        WHERE ${acquired('t')} AND t.created_at > $1 AND t.created_at <= $2
          AND NOT EXISTS (SELECT 1 FROM purchases_transactions o WHERE o.user_id = t.user_id AND o.app_id = t.app_id
                             AND ${acquired('o')} AND o.created_at <= $1)`,
      [live.watermark, watermark],
    );
    // those users' recent apps, as the full build reads them
    await q.query(
      `CREATE TEMP TABLE recs_recent ON COMMIT DROP AS
       SELECT user_id, app_id FROM (
         SELECT user_id, app_id, row_number() OVER (PARTITION BY user_id ORDER BY acquired_at DESC, app_id) AS k
           FROM (SELECT user_id, app_id, min(original_purchase_date) AS acquired_at FROM purchases_transactions
                  WHERE ${acquired('purchases_transactions')} AND created_at <= $1 AND user_id IN (SELECT user_id FROM recs_new)
                  GROUP BY user_id, app_id) o
       ) r WHERE k <= ${MAX_LIBRARY_PAIRS}`,
      [watermark],
    );
    await q.query('ANALYZE recs_new');
    await q.query('ANALYZE recs_recent');
    time.lap('read');
    // the new pairs, both ways, once per user, counted
    await q.query(
      `CREATE TEMP TABLE recs_delta ON COMMIT DROP AS
       SELECT app_id, other_id, count(*)::int AS co FROM (
         SELECT n.user_id, n.app_id, r.app_id AS other_id FROM recs_new n
           JOIN recs_recent mine ON mine.user_id = n.user_id AND mine.app_id = n.app_id
           JOIN recs_recent r ON r.user_id = n.user_id AND r.app_id <> n.app_id
         UNION
         SELECT n.user_id, r.app_id, n.app_id FROM recs_new n
           JOIN recs_recent mine ON mine.user_id = n.user_id AND mine.app_id = n.app_id
           JOIN recs_recent r ON r.user_id = n.user_id AND r.app_id <> n.app_id
       ) p GROUP BY app_id, other_id`,
    );
    await q.query(
      `INSERT INTO recs_app_owners (build_id, app_id, owners)
       SELECT $1, n.app_id, count(*) FROM recs_new n JOIN recs_recent r ON r.user_id = n.user_id AND r.app_id = n.app_id GROUP BY n.app_id
       ON CONFLICT (build_id, app_id) DO UPDATE SET owners = recs_app_owners.owners + excluded.owners`,
      [set],
    );
    // every app on either side of a new pair: its stored list plus the new counts, scored again, the best kept
    await q.query(`CREATE TEMP TABLE recs_touched ON COMMIT DROP AS SELECT DISTINCT app_id FROM recs_delta`);
    await q.query('ANALYZE recs_delta');
    await q.query('ANALYZE recs_touched');
    await q.query(
      `CREATE TEMP TABLE recs_ranked ON COMMIT DROP AS
       SELECT app_id, rank, other_id, score, co FROM (
         SELECT c.app_id, c.other_id, c.co, c.co / sqrt(oa.owners::float8 * ob.owners) AS score,
                row_number() OVER (PARTITION BY c.app_id ORDER BY c.co / sqrt(oa.owners::float8 * ob.owners) DESC, c.other_id) AS rank
           FROM (SELECT app_id, other_id, sum(co)::int AS co FROM (
                   SELECT n.app_id, n.other_id, n.co_users AS co FROM app_neighbors n
                    WHERE n.build_id = $1 AND n.app_id IN (SELECT app_id FROM recs_touched)
                   UNION ALL
                   SELECT app_id, other_id, co FROM recs_delta
                 ) both_ GROUP BY app_id, other_id HAVING sum(co) >= ${MIN_CO_USERS}) c
           JOIN recs_app_owners oa ON oa.build_id = $1 AND oa.app_id = c.app_id
           JOIN recs_app_owners ob ON ob.build_id = $1 AND ob.app_id = c.other_id
       ) s WHERE rank <= ${MAX_NEIGHBORS}`,
      [set],
    );
    await q.query('DELETE FROM app_neighbors WHERE build_id = $1 AND app_id IN (SELECT app_id FROM recs_touched)', [set]);
    await q.query(
      'INSERT INTO app_neighbors (build_id, app_id, rank, other_id, score, co_users) SELECT $1, app_id, rank, other_id, score, co FROM recs_ranked',
      [set],
    );
    await q.query('UPDATE recs_live SET watermark = $1', [watermark]);
    // their similar lists blend these neighbours in: the precompute job computes them again
    await q.query('UPDATE recs_similar SET stale = true WHERE app_id IN (SELECT app_id FROM recs_touched) AND NOT stale');
    time.lap('write');
    const { rows: counts } = await q.query<{ users: number; acquisitions: number; apps: number; neighbors: number }>(
      `SELECT (SELECT count(DISTINCT user_id) FROM recs_new)::int AS users, (SELECT count(*) FROM recs_new)::int AS acquisitions,
              (SELECT count(*) FROM recs_touched)::int AS apps, (SELECT count(*) FROM recs_ranked)::int AS neighbors`,
    );
    const c = counts[0];
    const out: BuildResult = {
      id,
      kind: 'incremental',
      libraries: c.users,
      acquisitions: c.acquisitions,
      apps: c.apps,
      neighbors: c.neighbors,
      seconds: time.seconds(),
      phases: time.phases,
    };
    if (out.acquisitions) await recordBuild(q, out);
    return out;
  });
  // another build moved the live set between our read and our lock: nothing to fold in from here
  return result ?? { id, kind: 'incremental', libraries: 0, acquisitions: 0, apps: 0, neighbors: 0, seconds: time.seconds(), phases: time.phases };
}

/** The database's clock less the settling time (the watermark of a build starting now). */
/**
 * The watermark: now less the settle time. On a replica, its last replayed commit less the settle time, so the
 * libraries read there hold every acquisition up to the watermark (the next incremental build, on the primary,
 * takes the ones after it).
 */
async function settledNow(q: Queryable, settleMs: number): Promise<Date> {
  const { rows } = await q.query<{ at: Date }>(
    `SELECT CASE WHEN pg_is_in_recovery() THEN least(now(), coalesce(pg_last_xact_replay_timestamp(), '-infinity')) ELSE now() END
            - make_interval(secs => $1) AS at`,
    [settleMs / 1000],
  );
  return new Date(rows[0].at);
}

async function recordBuild(q: Queryable, result: BuildResult): Promise<void> {
  await q.query('INSERT INTO recs_builds (id, kind, stats) VALUES ($1, $2, $3)', [result.id, result.kind, JSON.stringify(result)]);
  await q.query(`DELETE FROM recs_builds WHERE built_at < now() - interval '30 days'`);
}

async function dropSet(db: Db, buildId: string): Promise<void> {
  await db.query('DELETE FROM app_neighbors WHERE build_id = $1', [buildId]);
  await db.query('DELETE FROM recs_app_owners WHERE build_id = $1', [buildId]);
}

/** Sets left by builds that died before going live: any non-live set whose (time-ordered) id is hours old. */
async function dropAbandonedSets(db: Db): Promise<void> {
  const before = uuidv7({ msecs: Date.now() - ABANDONED_MS });
  for (const table of ['app_neighbors', 'recs_app_owners']) {
    await db.query(`DELETE FROM ${table} WHERE build_id < $1 AND build_id IS DISTINCT FROM (SELECT build_id FROM recs_live)`, [before]);
  }
}
