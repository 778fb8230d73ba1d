// Each public app's similar apps, computed by the batch job and stored (recs_similar), so that the app detail, the
// "Because you downloaded" rows and GET /apps/:id/recommendations read them as data and never compute them on a
// request's behalf.
//
// A list is the search engine's more-like-this blended with the app's co-download neighbours (live set), re-ranked
// by quality (cf.ts blendSimilar). Which lists are computed in a pass, first to last:
//   - new ones: a published app without a row gets one marked stale (app.changed, and a scan at a process's first
//     pass and after each full neighbour build, for apps published while no consumer ran);
//   - stale ones: the app changed (app.changed), or its co-download neighbours did (an incremental build);
//   - the oldest, beyond REFRESH_MS: ratings and the rest of the catalog move too.
// A pass runs while the index is ready and stops after PASS_MS (the next one carries on). Rows of apps that are no
// longer public are deleted by the scan; until then the summaries leave such apps out at read.
import type { Db, Queryable } from '../../platform/db/index.ts';
import type { SearchService } from '../search/index.ts';
import { blendSimilar, type Neighbor } from './cf.ts';

/** Ids kept per app: GET /apps/:id/recommendations shows up to 30; rows and the detail show 10 of them. */
export const SIMILAR_KEEP = 30;
/** Apps asked of the search engine's more-like-this for an app. */
const CONTENT_POOL = 60;
/** Every list is computed again at least this often. */
export const REFRESH_MS = 24 * 3_600_000;
/** A pass's budget: long lists of work are carried on by the next pass. */
const PASS_MS = 4 * 60_000;
/** A list found empty (often: an app the index does not hold yet) is computed again this soon. */
const EMPTY_RETRY_MS = 10 * 60_000;
const CHUNK = 500;

export interface SimilarDeps {
  db: Db;
  search: Pick<SearchService, 'similarIds' | 'state'>;
  /** The live co-download neighbours of these apps (best first). */
  neighborsOf(appIds: string[]): Promise<Map<string, Neighbor[]>>;
}

export interface SimilarPass {
  /** Lists computed and written. */
  computed: number;
  /** New apps given a (stale) row by the scan, rows of apps no longer public deleted by it. */
  added: number;
  deleted: number;
  /** Why nothing was computed. */
  skipped?: 'index not ready';
  seconds: number;
}

/**
 * One pass over the due lists (new and stale first, then the oldest), within PASS_MS. `scan`: look for published
 * apps without a row first (and delete rows of apps that are no longer public).
 */
export async function refreshSimilar(deps: SimilarDeps, opts: { scan?: boolean; budgetMs?: number } = {}): Promise<SimilarPass> {
  const started = performance.now();
  const pass: SimilarPass = { computed: 0, added: 0, deleted: 0, seconds: 0 };
  const done = () => ({ ...pass, seconds: Math.round(performance.now() - started) / 1000 });
  // the fallback of an index that is not ready is a database query per app: wait for the index
  if (deps.search.state !== 'ready') return { ...done(), skipped: 'index not ready' };
  if (opts.scan) Object.assign(pass, await scanCatalog(deps.db));
  const budget = opts.budgetMs ?? PASS_MS;
  for (;;) {
    const { rows } = await deps.db.query<{ app_id: string }>(
      `(SELECT app_id FROM recs_similar WHERE stale ORDER BY computed_at LIMIT ${CHUNK})
       UNION ALL
       (SELECT app_id FROM recs_similar WHERE NOT stale AND computed_at < now() - make_interval(secs => $1) ORDER BY computed_at LIMIT ${CHUNK})
       LIMIT ${CHUNK}`,
      [REFRESH_MS / 1000],
    );
    if (!rows.length) break;
    pass.computed += await computeSimilar(
      deps,
      rows.map((r) => r.app_id),
    );
    if (performance.now() - started > budget) break;
  }
  return done();
}

/** Published apps without a row get one (stale, so the next lists computed are theirs); rows of others go. */
async function scanCatalog(db: Db): Promise<{ added: number; deleted: number }> {
  const added = await db.query(
    `INSERT INTO recs_similar (app_id, ids, stale, computed_at)
     SELECT a.id, '{}', true, '-infinity' FROM catalog_apps a
      WHERE a.status = 'published' AND NOT EXISTS (SELECT 1 FROM recs_similar s WHERE s.app_id = a.id)
     ON CONFLICT (app_id) DO NOTHING`,
  );
  const deleted = await db.query(`DELETE FROM recs_similar s WHERE NOT EXISTS (SELECT 1 FROM catalog_apps a WHERE a.id = s.app_id AND a.status = 'published')`);
  return { added: added.rowCount ?? 0, deleted: deleted.rowCount ?? 0 };
}

/** The lists of these apps, computed and written; apps that are not public lose their row. Returns lists written. */
async function computeSimilar(deps: SimilarDeps, appIds: string[]): Promise<number> {
  const neighbors = await deps.neighborsOf(appIds);
  const content = new Map<string, string[]>();
  for (const id of appIds) content.set(id, await deps.search.similarIds(id, CONTENT_POOL));
  const candidates = new Set(appIds);
  for (const id of appIds) {
    for (const c of content.get(id)!) candidates.add(c);
    for (const n of neighbors.get(id) ?? []) candidates.add(n.appId);
  }
  // quality from the apps themselves; apps not published are no candidates (and have no list)
  const { rows } = await deps.db.query<{ id: string; rating_average: string | number; rating_count: number }>(
    `SELECT id, rating_average, rating_count FROM catalog_apps WHERE id = ANY($1::uuid[]) AND status = 'published'`,
    [[...candidates]],
  );
  const quality = new Map(rows.map((r) => [r.id, (Number(r.rating_average) / 5) * Math.min(1, Number(r.rating_count) / 50)]));
  const lists = appIds
    .filter((id) => quality.has(id))
    .map((id) => {
      const ranked = blendSimilar(content.get(id)!, neighbors.get(id) ?? [], (x) => quality.get(x) ?? 0, Infinity, new Set([id]));
      return {
        app_id: id,
        ids: ranked
          .filter((n) => quality.has(n.appId))
          .slice(0, SIMILAR_KEEP)
          .map((n) => n.appId),
      };
    });
  await deps.db.tx(async (q) => {
    await writeLists(q, lists);
    const gone = appIds.filter((id) => !quality.has(id));
    if (gone.length) await q.query('DELETE FROM recs_similar WHERE app_id = ANY($1::uuid[])', [gone]);
  });
  return lists.length;
}

async function writeLists(q: Queryable, lists: { app_id: string; ids: string[] }[]): Promise<void> {
  if (!lists.length) return;
  // an empty list is dated back, so that the pass REFRESH_MS - EMPTY_RETRY_MS from now takes it again
  await q.query(
    `INSERT INTO recs_similar (app_id, ids, stale, computed_at)
     SELECT x.app_id, ARRAY(SELECT jsonb_array_elements_text(x.ids))::uuid[], false,
            CASE WHEN jsonb_array_length(x.ids) = 0 THEN now() - make_interval(secs => $2) ELSE now() END
       FROM jsonb_to_recordset($1::jsonb) AS x(app_id uuid, ids jsonb)
     ON CONFLICT (app_id) DO UPDATE SET ids = excluded.ids, stale = false, computed_at = excluded.computed_at`,
    [JSON.stringify(lists), (REFRESH_MS - EMPTY_RETRY_MS) / 1000],
  );
}

/** The changes of app.changed that change an app's similar apps (or whether it has any). */
export const SIMILAR_CHANGES: ReadonlySet<string> = new Set(['metadata', 'published', 'removed']);

/** app.changed: a newly public app gets a row to compute, a changed one is computed again soon. */
export async function markChanged(q: Queryable, appId: string): Promise<void> {
  await q.query(
    `INSERT INTO recs_similar (app_id, ids, stale, computed_at) VALUES ($1, '{}', true, '-infinity')
     ON CONFLICT (app_id) DO UPDATE SET stale = true`,
    [appId],
  );
}

/** The stored lists of these apps (best first): null for a list not computed yet; apps without a row are absent. */
export async function storedSimilar(q: Queryable, appIds: readonly string[]): Promise<Map<string, string[] | null>> {
  const { rows } = await q.query<{ app_id: string; ids: string[]; pending: boolean }>(
    `SELECT app_id, ids, computed_at = '-infinity' AS pending FROM recs_similar WHERE app_id = ANY($1::uuid[])`,
    [appIds],
  );
  return new Map(rows.map((r) => [r.app_id, r.pending ? null : r.ids]));
}
