// The batch job: every app's neighbours by co-downloads, from every library, in one transaction (readers keep
// the previous build until it commits). The same formula as cf.ts neighborsFromLibraries: each user's most
// recent MAX_LIBRARY_PAIRS apps make pairs; pairs seen by fewer than MIN_CO_USERS users are dropped; the score is
// co / sqrt(users(a) · users(b)); ties go to the smaller app id, so a build over the same libraries is the same.
import { v7 as uuidv7 } from 'uuid';
import type { Db } from '../../platform/db/index.ts';
import { MAX_LIBRARY_PAIRS, MAX_NEIGHBORS, MIN_CO_USERS } from './cf.ts';

export interface BuildResult {
  id: string;
  libraries: number;
  apps: number;
  neighbors: number;
  seconds: number;
}

const LOCK_KEY = 7_000_000_008; // one build at a time, across processes

/** Rebuilds app_neighbors from the libraries (owned_apps). Null when another build holds the lock. */
export async function buildNeighbors(db: Db): Promise<BuildResult | null> {
  const started = performance.now();
  return db.tx(async (q) => {
    const { rows: locked } = await q.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS ok', [LOCK_KEY]);
    if (!locked[0].ok) return null;
    if (db.kind === 'postgres') await q.query(`SET LOCAL work_mem = '1GB'`);
    await q.query('DELETE FROM app_neighbors');
    const { rowCount } = await q.query(
      `WITH lib AS MATERIALIZED (
         SELECT user_id, app_id FROM (
           SELECT user_id, app_id, row_number() OVER (PARTITION BY user_id ORDER BY acquired_at DESC, app_id) AS k FROM owned_apps
         ) o WHERE k <= $1
       ),
       owners AS (SELECT app_id, count(*) AS n FROM lib GROUP BY app_id),
       pairs AS (
         SELECT a.app_id, b.app_id AS other_id, count(*) AS co
           FROM lib a JOIN lib b ON b.user_id = a.user_id AND b.app_id <> a.app_id
          GROUP BY a.app_id, b.app_id HAVING count(*) >= $2
       ),
       ranked AS (
         SELECT p.app_id, p.other_id, p.co, p.co / sqrt(oa.n::float8 * ob.n) AS score,
                row_number() OVER (PARTITION BY p.app_id ORDER BY p.co / sqrt(oa.n::float8 * ob.n) DESC, p.other_id) AS rank
           FROM pairs p JOIN owners oa ON oa.app_id = p.app_id JOIN owners ob ON ob.app_id = p.other_id
       )
       INSERT INTO app_neighbors (app_id, rank, other_id, score, co_users)
       SELECT app_id, rank, other_id, score, co FROM ranked WHERE rank <= $3`,
      [MAX_LIBRARY_PAIRS, MIN_CO_USERS, MAX_NEIGHBORS],
    );
    const { rows } = await q.query<{ libraries: number; apps: number }>(
      'SELECT (SELECT count(DISTINCT user_id) FROM owned_apps)::int AS libraries, (SELECT count(DISTINCT app_id) FROM app_neighbors)::int AS apps',
    );
    const result: BuildResult = {
      id: uuidv7(), libraries: rows[0].libraries, apps: rows[0].apps, neighbors: rowCount ?? 0,
      seconds: Math.round(performance.now() - started) / 1000,
    };
    await q.query('INSERT INTO recs_builds (id, stats) VALUES ($1, $2)', [result.id, JSON.stringify(result)]);
    await q.query(`DELETE FROM recs_builds WHERE built_at < now() - interval '30 days'`);
    return result;
  });
}
