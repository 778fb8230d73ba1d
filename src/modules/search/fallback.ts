// The degraded path: PostgreSQL full-text search over apps.search_document (migration 0300), used while
// the in-memory engine is not ready or failing. Same filters as the engine; slower, no typo tolerance.
import type { Queryable } from '../../platform/db/index.ts';
import type { MatchMode, SearchFilters, Suggestion } from './engine/types.ts';

export const AGE_RATINGS = ['4+', '9+', '13+', '16+', '18+'] as const;

/** WHERE clause over `apps a` for published apps matching the filters; pushes its parameters onto params. */
function filterSql(f: SearchFilters, params: unknown[]): string {
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const where = [`a.status = 'published'`];
  if (f.category) where.push(`a.category = ${p(f.category)}`);
  if (f.subcategory) where.push(`a.subcategory = ${p(f.subcategory)}`);
  if (f.price) where.push(f.price === 'free' ? 'a.is_free' : 'NOT a.is_free');
  if (f.minRating !== undefined) where.push(`a.rating_average >= ${p(f.minRating)}`);
  if (f.maxAgeRating) where.push(`a.age_rating = ANY(${p(AGE_RATINGS.slice(0, AGE_RATINGS.indexOf(f.maxAgeRating) + 1))}::text[])`);
  if (f.country) {
    // the same availability rule as the documents of the engine (docs.ts)
    const c = p(f.country);
    where.push(`(a.is_free OR NOT EXISTS (SELECT 1 FROM catalog_app_prices x WHERE x.app_id = a.id)
                 OR EXISTS (SELECT 1 FROM catalog_app_prices x WHERE x.app_id = a.id AND x.country = ${c}))`);
  }
  return where.join(' AND ');
}

export interface FallbackResult {
  ids: string[];
  total: number;
  mode: MatchMode;
}

async function ranked(q: Queryable, tsquery: string, text: string, f: SearchFilters, limit: number, offset: number) {
  const params: unknown[] = [text];
  const where = filterSql(f, params);
  params.push(limit, offset);
  const { rows } = await q.query<{ id: string; total: string | number }>(
    `SELECT a.id, count(*) OVER () AS total
       FROM catalog_apps a
      WHERE a.search_document @@ ${tsquery} AND ${where}
      ORDER BY lower(a.name) = lower($1) DESC, ts_rank_cd(a.search_document, ${tsquery}) DESC, a.download_count DESC, a.id
      LIMIT $${params.length - 1} OFFSET $${params.length}`,
    params,
  );
  return { ids: rows.map((r) => r.id), total: rows.length ? Number(rows[0].total) : 0 };
}

const ALL_TERMS = `websearch_to_tsquery('english', $1)`;
const ANY_TERMS = `replace(plainto_tsquery('english', $1)::text, '&', '|')::tsquery`;

/** Every term first (web-search syntax: "phrases", -exclusions); any term when that finds nothing. */
export async function fallbackSearch(q: Queryable, text: string, f: SearchFilters, limit: number, offset: number): Promise<FallbackResult> {
  const all = await ranked(q, ALL_TERMS, text, f, limit, offset);
  if (all.total || !/\s/.test(text.trim())) return { ...all, mode: all.total ? 'all-terms' : 'none' };
  const any = await ranked(q, ANY_TERMS, text, f, limit, offset);
  return { ...any, mode: any.total ? 'any-terms' : 'none' };
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** Published apps whose name starts with the prefix, most downloaded first. */
export async function fallbackSuggest(q: Queryable, prefix: string, limit: number): Promise<Suggestion[]> {
  const { rows } = await q.query<{ id: string; name: string }>(
    `SELECT a.id, a.name FROM catalog_apps a
      WHERE a.status = 'published' AND lower(a.name) LIKE $1
      ORDER BY a.download_count DESC, a.id LIMIT $2`,
    [`${escapeLike(prefix.toLowerCase())}%`, limit],
  );
  return rows.map((r) => ({ text: r.name, kind: 'app', appId: r.id }));
}

/** Published apps of the same category: same subcategory, then shared keywords, then popularity. */
export async function fallbackSimilar(q: Queryable, appId: string, limit: number): Promise<string[]> {
  const params: unknown[] = [appId];
  const where = filterSql({}, params);
  params.push(limit);
  const { rows } = await q.query<{ id: string }>(
    `SELECT a.id FROM catalog_apps s JOIN catalog_apps a ON a.category = s.category AND a.id <> s.id
      WHERE s.id = $1 AND ${where}
      ORDER BY a.subcategory IS NOT DISTINCT FROM s.subcategory DESC, a.keywords && s.keywords DESC, a.download_count DESC, a.id
      LIMIT $${params.length}`,
    params,
  );
  return rows.map((r) => r.id);
}
