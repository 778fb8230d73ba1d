// Apps as search documents, read from the database: published apps in keyset batches (the initial
// build and catch-ups), or a given set of ids (events). Plain SQL for PostgreSQL 15 and PGlite.
import type { Queryable } from '../../platform/db/index.ts';
import type { SearchDoc } from './engine/types.ts';

interface DocRow {
  id: string;
  bundle_id: string;
  name: string;
  subtitle: string | null;
  developer: string;
  description: string;
  keywords: string[];
  category: string;
  subcategory: string | null;
  is_free: boolean;
  age_rating: SearchDoc['ageRating'];
  rating_average: number;
  rating_count: number;
  download_count: number | string;
  countries: string[] | null;
}

// Availability: free apps everywhere; a paid app where it has a price, and null (everywhere) when it is
// priced in every storefront (or in none: nothing to restrict by). The fallback's country filter matches.
const DOC_COLUMNS = `
  a.id, a.bundle_id, a.name, a.subtitle, d.company_name AS developer, a.description, a.keywords, a.category,
  a.subcategory, a.is_free, a.age_rating, a.rating_average, a.rating_count, a.download_count,
  CASE WHEN a.is_free THEN NULL ELSE (
    SELECT CASE WHEN count(*) = 0 OR count(*) >= (SELECT count(*) FROM catalog_storefronts) THEN NULL
                ELSE array_agg(p.country::text ORDER BY p.country) END
      FROM catalog_app_prices p WHERE p.app_id = a.id) END AS countries`;

export function toDoc(r: DocRow): SearchDoc {
  return {
    id: r.id,
    bundleId: r.bundle_id,
    name: r.name,
    subtitle: r.subtitle,
    developer: r.developer,
    description: r.description,
    keywords: r.keywords ?? [],
    category: r.category,
    subcategory: r.subcategory,
    isFree: r.is_free,
    ageRating: r.age_rating,
    ratingAverage: Number(r.rating_average),
    ratingCount: Number(r.rating_count),
    downloads: Number(r.download_count),
    countries: r.countries,
    engagement: 0,
  };
}

/**
 * Published apps in batches by id (keyset: each batch is an index range scan), optionally only those
 * updated after `since`. Yields one array per batch.
 */
export async function* publishedDocs(q: Queryable, opts: { batchSize?: number; since?: Date } = {}): AsyncGenerator<SearchDoc[]> {
  const batchSize = opts.batchSize ?? 5000;
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const { rows } = await q.query<DocRow>(
      `SELECT ${DOC_COLUMNS}
         FROM catalog_apps a JOIN identity_developers d ON d.id = a.developer_id
        WHERE a.status = 'published' AND a.id > $1 AND ($3::timestamptz IS NULL OR a.updated_at > $3)
        ORDER BY a.id LIMIT $2`,
      [after, batchSize, opts.since ?? null],
    );
    if (rows.length) yield rows.map(toDoc);
    if (rows.length < batchSize) return;
    after = rows[rows.length - 1].id;
  }
}

/** Ids of apps updated after `since` that are not published (to remove from the index). */
export async function unpublishedSince(q: Queryable, since: Date): Promise<string[]> {
  const { rows } = await q.query<{ id: string }>(`SELECT id FROM catalog_apps WHERE updated_at > $1 AND status <> 'published'`, [since]);
  return rows.map((r) => r.id);
}

/** The current documents of these apps; an id missing from the result is not published (or does not exist). */
export async function docsByIds(q: Queryable, ids: string[]): Promise<Map<string, SearchDoc>> {
  if (!ids.length) return new Map();
  const { rows } = await q.query<DocRow>(
    `SELECT ${DOC_COLUMNS}
       FROM catalog_apps a JOIN identity_developers d ON d.id = a.developer_id
      WHERE a.id = ANY($1::uuid[]) AND a.status = 'published'`,
    [ids],
  );
  return new Map(rows.map((r) => [r.id, toDoc(r)]));
}

/** The database's clock (app timestamps are written by it, not by this process). */
export async function dbNow(q: Queryable): Promise<Date> {
  const { rows } = await q.query<{ now: Date | string }>('SELECT now() AS now');
  return new Date(rows[0].now);
}
