// Read queries and the mapping of their rows to API objects. Plain SQL that runs on PostgreSQL 15 and PGlite.
import type { Queryable } from '../../platform/db/index.ts';
import { takePage } from '../../platform/http/pagination.ts';
import { decodeBrowseCursor, decodeTimeCursor, encodeBrowseCursor, encodeTimeCursor, type BrowseSort } from './cursor.ts';
import type { Reference } from './reference.ts';
import type { BrowseItem, BrowseQuery, DeveloperApp, MediaItem, Product, PublicApp, ReviewItem, Version } from './schemas.ts';
import { compareVersions, diffPermissions } from './versioning.ts';
import type { AppStatus, VersionStatus } from './workflow.ts';

export type MediaUrl = (sha256: string) => string;
export interface PriceOut {
  country: string;
  currency: string;
  amountMilli: number;
  tier: number | null;
}

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());
const round2 = (n: number) => Math.round(n * 100) / 100;
/** A timestamp in integer µs since the epoch (exact on both engines: extract returns numeric). */
const micros = (col: string) => `(extract(epoch from ${col}) * 1000000)::bigint`;
/** The timestamp a µs cursor value stands for (float8 * 1 µs is exact below 2^53). */
const fromMicros = (param: string) => `(timestamptz 'epoch' + ${param}::float8 * interval '1 microsecond')`;

// ---------------------------------------------------------------- app detail

interface AppRow {
  id: string;
  developer_id: string;
  bundle_id: string;
  name: string;
  subtitle: string | null;
  description: string;
  keywords: string[];
  category: string;
  subcategory: string | null;
  age_rating: string;
  is_free: boolean;
  status: AppStatus;
  review_note: string | null;
  revision: number;
  current_version: string | null;
  rating_count: number;
  rating_average: number;
  created_at: Date;
  updated_at: Date;
  published_at: Date | null;
  developer_name: string;
  cv_version: string | null;
  cv_release_notes: string | null;
  cv_min_os_version: string | null;
  cv_binary_size: number | null;
  cv_published_at: Date | null;
  media: { kind: 'icon' | 'screenshot'; deviceType: string | null; sha256: string }[] | null;
  prices: { country: string; currency: string; amountMilli: number; tier: number | null }[] | null;
  iap_count: number;
  iap_subscriptions: boolean;
  iap_items: { productId: string; referenceName: string; type: string; subscriptionPeriod: string | null }[] | null;
}

const DETAIL_SQL = `
SELECT a.id, a.developer_id, a.bundle_id, a.name, a.subtitle, a.description, a.keywords, a.category, a.subcategory,
       a.age_rating, a.is_free, a.status, a.review_note, a.revision, a.current_version, a.rating_count, a.rating_average,
       a.created_at, a.updated_at, a.published_at,
       d.company_name AS developer_name,
       cv.version AS cv_version, cv.release_notes AS cv_release_notes, cv.min_os_version AS cv_min_os_version,
       cv.binary_size AS cv_binary_size, cv.published_at AS cv_published_at,
       (SELECT json_agg(json_build_object('kind', m.kind, 'deviceType', m.device_type, 'sha256', m.sha256)
                        ORDER BY m.kind, m.device_type, m.position, m.id)
          FROM app_media m WHERE m.app_id = a.id) AS media,
       (SELECT json_agg(json_build_object('country', p.country, 'currency', p.currency, 'amountMilli', p.amount_milli, 'tier', p.tier)
                        ORDER BY p.country)
          FROM app_prices p WHERE p.app_id = a.id) AS prices,
       (SELECT count(*) FROM in_app_products i WHERE i.app_id = a.id)::int AS iap_count,
       EXISTS (SELECT 1 FROM in_app_products i WHERE i.app_id = a.id AND i.type = 'auto_renewable') AS iap_subscriptions,
       (SELECT json_agg(json_build_object('productId', x.product_id, 'referenceName', x.reference_name, 'type', x.type,
                                          'subscriptionPeriod', x.subscription_period) ORDER BY x.created_at, x.id)
          FROM (SELECT * FROM in_app_products i WHERE i.app_id = a.id ORDER BY i.created_at, i.id LIMIT 20) x) AS iap_items
  FROM apps a
  JOIN identity_developers d ON d.id = a.developer_id
  LEFT JOIN app_versions cv ON cv.app_id = a.id AND cv.version = a.current_version
 WHERE a.id = $1`;

export async function loadAppDetailRow(q: Queryable, id: string): Promise<AppRow | null> {
  return (await q.query<AppRow>(DETAIL_SQL, [id])).rows[0] ?? null;
}

const DETAILS_SQL = DETAIL_SQL.replace('WHERE a.id = $1', 'WHERE a.id = ANY($1::uuid[])');

/** The detail rows of several apps in one query (apps that do not exist are absent). */
export async function loadAppDetailRows(q: Queryable, ids: string[]): Promise<AppRow[]> {
  if (!ids.length) return [];
  return (await q.query<AppRow>(DETAILS_SQL, [ids])).rows;
}

export function toPublicApp(row: AppRow, ref: Reference, url: MediaUrl): PublicApp {
  const media = row.media ?? [];
  const icon = media.find((m) => m.kind === 'icon');
  const screenshots: Record<string, string[]> = {};
  for (const m of media) if (m.kind === 'screenshot' && m.deviceType) (screenshots[m.deviceType] ??= []).push(url(m.sha256));
  const category = ref.categories.get(row.category);
  const subcategory = row.subcategory ? ref.categories.get(row.subcategory) : undefined;
  return {
    id: row.id,
    bundleId: row.bundle_id,
    name: row.name,
    subtitle: row.subtitle,
    description: row.description,
    keywords: row.keywords,
    category: { slug: row.category, name: category?.name ?? row.category },
    subcategory: row.subcategory ? { slug: row.subcategory, name: subcategory?.name ?? row.subcategory } : null,
    ageRating: row.age_rating,
    isFree: row.is_free,
    status: row.status,
    developer: { id: row.developer_id, name: row.developer_name },
    iconUrl: icon ? url(icon.sha256) : null,
    screenshots,
    currentVersion: row.cv_version
      ? {
          version: row.cv_version,
          releaseNotes: row.cv_release_notes ?? '',
          minOsVersion: row.cv_min_os_version ?? '',
          sizeBytes: row.cv_binary_size === null ? null : Number(row.cv_binary_size),
          publishedAt: iso(row.cv_published_at),
        }
      : null,
    prices: row.is_free ? [] : (row.prices ?? []).map((p) => ({ ...p, amountMilli: Number(p.amountMilli) })),
    inAppPurchases: { count: row.iap_count, hasSubscriptions: row.iap_subscriptions, items: row.iap_items ?? [] },
    rating: { average: round2(Number(row.rating_average)), count: row.rating_count },
    createdAt: iso(row.created_at)!,
    updatedAt: iso(row.updated_at)!,
    publishedAt: iso(row.published_at),
  };
}

export async function loadDeveloperApp(q: Queryable, id: string, ref: Reference, url: MediaUrl): Promise<DeveloperApp | null> {
  const row = await loadAppDetailRow(q, id);
  if (!row) return null;
  const pending = (
    await q.query<{ id: string; version: string; status: VersionStatus; has_binary: boolean; review_note: string | null }>(
      `SELECT id, version, status, binary_sha256 IS NOT NULL AS has_binary, review_note
         FROM app_versions WHERE app_id = $1 AND status <> 'published' ORDER BY created_at DESC, id DESC LIMIT 1`,
      [id],
    )
  ).rows[0];
  return {
    ...toPublicApp(row, ref, url),
    revision: row.revision,
    reviewNote: row.review_note,
    pendingVersion: pending
      ? { id: pending.id, version: pending.version, status: pending.status, hasBinary: pending.has_binary, reviewNote: pending.review_note }
      : null,
  };
}

// ---------------------------------------------------------------- browse

interface BrowseRow {
  id: string;
  bundle_id: string;
  name: string;
  subtitle: string | null;
  category: string;
  subcategory: string | null;
  age_rating: string;
  is_free: boolean;
  amount_milli: number | null;
  currency: string | null;
  developer_id: string;
  developer_name: string;
  icon_sha256: string | null;
  rating_average: number;
  rating_count: number;
  download_count: number;
  published_at: Date;
  sort_key: number | string;
}

/**
 * Per sort: the ORDER BY (matching a browse index) and the keyset condition "after the cursor row".
 * Descending keys mix directions with the ascending id, so no row comparison: the leading `key <= k` is
 * there for the index, which then starts its scan at the cursor instead of filtering every row before it.
 */
const descending = (column: string) => (k: string, id: string) => `(${column} <= ${k} AND (${column} < ${k} OR ${column} = ${k} AND a.id > ${id}))`;

const SORTS: Record<BrowseSort, { key: string; order: string; after: (k: string, id: string) => string }> = {
  newest: { key: micros('a.published_at'), order: 'a.published_at DESC, a.id', after: (k, id) => descending('a.published_at')(fromMicros(k), id) },
  popular: { key: 'a.download_count', order: 'a.download_count DESC, a.id', after: descending('a.download_count') },
  rating: { key: 'a.rating_average', order: 'a.rating_average DESC, a.id', after: descending('a.rating_average') },
  name: { key: 'a.name', order: 'a.name, a.id', after: (k, id) => `(a.name, a.id) > (${k}, ${id})` },
};

export interface BrowsePage {
  items: BrowseItem[];
  nextCursor: string | null;
}

/** One page of published apps; filters were checked by the caller (category slugs exist). */
export async function browseApps(q: Queryable, query: BrowseQuery & { sort: BrowseSort; limit: number; country: string }, url: MediaUrl): Promise<BrowsePage> {
  const sort = SORTS[query.sort];
  const after = decodeBrowseCursor(query.sort, query.cursor);
  const params: unknown[] = [query.country];
  const p = (v: unknown) => `$${params.push(v)}`;
  const where = [`a.status = 'published'`];
  if (query.subcategory) where.push(`a.subcategory = ${p(query.subcategory)}`);
  else if (query.category) where.push(`a.category = ${p(query.category)}`);
  if (query.price) where.push(`a.is_free = ${p(query.price === 'free')}`);
  if (after) {
    const k = p(after.key);
    where.push(sort.after(k, `${p(after.id)}::uuid`));
  }
  const rows = (
    await q.query<BrowseRow>(
      `SELECT a.id, a.bundle_id, a.name, a.subtitle, a.category, a.subcategory, a.age_rating, a.is_free,
              pr.amount_milli, pr.currency, d.id AS developer_id, d.company_name AS developer_name, m.sha256 AS icon_sha256,
              a.rating_average, a.rating_count, a.download_count, a.published_at, ${sort.key} AS sort_key
         FROM apps a
         JOIN identity_developers d ON d.id = a.developer_id
         LEFT JOIN app_media m ON m.app_id = a.id AND m.kind = 'icon'
         LEFT JOIN app_prices pr ON pr.app_id = a.id AND pr.country = $1 AND NOT a.is_free
        WHERE ${where.join(' AND ')}
        ORDER BY ${sort.order}
        LIMIT ${p(query.limit + 1)}`,
      params,
    )
  ).rows;
  const { page, last, more } = takePage(rows, query.limit);
  return {
    items: page.map((r) => ({
      id: r.id,
      bundleId: r.bundle_id,
      name: r.name,
      subtitle: r.subtitle,
      category: r.category,
      subcategory: r.subcategory,
      ageRating: r.age_rating,
      isFree: r.is_free,
      price: r.amount_milli === null ? null : { amountMilli: Number(r.amount_milli), currency: r.currency! },
      developer: { id: r.developer_id, name: r.developer_name },
      iconUrl: r.icon_sha256 ? url(r.icon_sha256) : null,
      rating: { average: round2(Number(r.rating_average)), count: r.rating_count },
      downloads: Number(r.download_count),
      publishedAt: iso(r.published_at)!,
    })),
    nextCursor: more ? encodeBrowseCursor(query.sort, { key: typeof last.sort_key === 'string' ? last.sort_key : Number(last.sort_key), id: last.id }) : null,
  };
}

// ---------------------------------------------------------------- developer lists

export async function listDeveloperApps(q: Queryable, developerId: string, limit: number, cursor: string | undefined) {
  const after = decodeTimeCursor(cursor);
  const params: unknown[] = [developerId, limit + 1];
  const keyset = after ? `AND (created_at, id) < (${fromMicros(`$${params.push(after.micros)}`)}, $${params.push(after.id)}::uuid)` : '';
  const rows = (
    await q.query<{
      id: string;
      bundle_id: string;
      name: string;
      status: AppStatus;
      category: string;
      current_version: string | null;
      revision: number;
      created_at: Date;
      updated_at: Date;
      k: number;
    }>(
      `SELECT id, bundle_id, name, status, category, current_version, revision, created_at, updated_at, ${micros('created_at')} AS k
         FROM apps WHERE developer_id = $1 ${keyset}
        ORDER BY created_at DESC, id DESC LIMIT $2`,
      params,
    )
  ).rows;
  const { page, last, more } = takePage(rows, limit);
  return {
    items: page.map((r) => ({
      id: r.id,
      bundleId: r.bundle_id,
      name: r.name,
      status: r.status,
      category: r.category,
      currentVersion: r.current_version,
      revision: r.revision,
      createdAt: iso(r.created_at)!,
      updatedAt: iso(r.updated_at)!,
    })),
    nextCursor: more ? encodeTimeCursor({ micros: Number(last.k), id: last.id }) : null,
  };
}

// ---------------------------------------------------------------- versions

export interface VersionRow {
  id: string;
  app_id: string;
  version: string;
  release_notes: string;
  min_os_version: string;
  permissions: string[];
  binary_sha256: string | null;
  binary_size: number | null;
  status: VersionStatus;
  review_note: string | null;
  created_at: Date;
  submitted_at: Date | null;
  published_at: Date | null;
}

export function toVersion(row: VersionRow, previousPermissions: readonly string[]): Version {
  return {
    id: row.id,
    version: row.version,
    releaseNotes: row.release_notes,
    minOsVersion: row.min_os_version,
    permissions: row.permissions,
    permissionDiff: diffPermissions(previousPermissions, row.permissions),
    status: row.status,
    binary: row.binary_sha256 ? { sha256: row.binary_sha256, sizeBytes: Number(row.binary_size) } : null,
    reviewNote: row.review_note,
    createdAt: iso(row.created_at)!,
    submittedAt: iso(row.submitted_at),
    publishedAt: iso(row.published_at),
  };
}

/** Every version of an app, newest first, each diffed against the published version before it. */
export async function listVersions(q: Queryable, appId: string): Promise<Version[]> {
  const rows = (await q.query<VersionRow>('SELECT * FROM app_versions WHERE app_id = $1 ORDER BY created_at DESC, id DESC', [appId])).rows;
  const published = rows.filter((r) => r.status === 'published');
  return rows.map((r) => {
    const previous = published
      .filter((p) => p.id !== r.id && compareVersions(p.version, r.version) < 0)
      .reduce<VersionRow | null>((best, p) => (!best || compareVersions(p.version, best.version) > 0 ? p : best), null);
    return toVersion(r, previous?.permissions ?? []);
  });
}

// ---------------------------------------------------------------- review queue

export async function reviewQueue(q: Queryable, limit: number, cursor: string | undefined) {
  const after = decodeTimeCursor(cursor);
  const params: unknown[] = [limit + 1];
  const keyset = after ? `AND (v.submitted_at, v.id) > (${fromMicros(`$${params.push(after.micros)}`)}, $${params.push(after.id)}::uuid)` : '';
  const rows = (
    await q.query<
      VersionRow & {
        k: number;
        bundle_id: string;
        app_name: string;
        app_status: string;
        current_version: string | null;
        developer_id: string;
        developer_name: string;
        previous_permissions: string[] | null;
      }
    >(
      `SELECT v.*, ${micros('v.submitted_at')} AS k, a.bundle_id, a.name AS app_name, a.status AS app_status, a.current_version,
              d.id AS developer_id, d.company_name AS developer_name, pv.permissions AS previous_permissions
         FROM app_versions v
         JOIN apps a ON a.id = v.app_id
         JOIN identity_developers d ON d.id = a.developer_id
         LEFT JOIN app_versions pv ON pv.app_id = a.id AND pv.version = a.current_version
        WHERE v.status = 'in_review' ${keyset}
        ORDER BY v.submitted_at, v.id LIMIT $1`,
      params,
    )
  ).rows;
  const { page, last, more } = takePage(rows, limit);
  const items: ReviewItem[] = page.map((r) => ({
    kind: r.current_version ? 'update' : 'new_app',
    app: { id: r.app_id, bundleId: r.bundle_id, name: r.app_name, status: r.app_status, developer: { id: r.developer_id, name: r.developer_name } },
    version: toVersion(r, r.previous_permissions ?? []),
    previousVersion: r.current_version,
  }));
  return { items, nextCursor: more ? encodeTimeCursor({ micros: Number(last.k), id: last.id }) : null };
}

// ---------------------------------------------------------------- media and products

interface MediaRow {
  id: string;
  kind: 'icon' | 'screenshot';
  device_type: string | null;
  position: number;
  sha256: string;
  size_bytes: number;
  content_type: string;
}

export const toMediaItem = (r: MediaRow, url: MediaUrl): MediaItem => ({
  id: r.id,
  kind: r.kind,
  deviceType: r.device_type,
  position: r.position,
  sha256: r.sha256,
  sizeBytes: r.size_bytes,
  contentType: r.content_type,
  url: url(r.sha256),
});

export async function listMedia(q: Queryable, appId: string, url: MediaUrl): Promise<MediaItem[]> {
  const rows = await q.query<MediaRow>(
    `SELECT id, kind, device_type, position, sha256, size_bytes, content_type FROM app_media
      WHERE app_id = $1 ORDER BY kind, device_type, position, id`,
    [appId],
  );
  return rows.rows.map((r) => toMediaItem(r, url));
}

export async function listProducts(q: Queryable, appId: string, productUuid?: string): Promise<Product[]> {
  const rows = await q.query<{
    id: string;
    product_id: string;
    reference_name: string;
    type: Product['type'];
    subscription_period: string | null;
    subscription_group: string | null;
    created_at: Date;
    prices: Product['prices'] | null;
  }>(
    `SELECT i.*, (SELECT json_agg(json_build_object('country', p.country, 'currency', p.currency, 'amountMilli', p.amount_milli, 'tier', p.tier)
                                  ORDER BY p.country)
                    FROM in_app_prices p WHERE p.product_id = i.id) AS prices
       FROM in_app_products i WHERE i.app_id = $1 ${productUuid ? 'AND i.id = $2' : ''}
      ORDER BY i.created_at, i.id`,
    productUuid ? [appId, productUuid] : [appId],
  );
  return rows.rows.map((r) => ({
    id: r.id,
    productId: r.product_id,
    referenceName: r.reference_name,
    type: r.type,
    subscriptionPeriod: r.subscription_period,
    subscriptionGroup: r.subscription_group,
    prices: (r.prices ?? []).map((p) => ({ ...p, amountMilli: Number(p.amountMilli) })),
    createdAt: iso(r.created_at)!,
  }));
}
