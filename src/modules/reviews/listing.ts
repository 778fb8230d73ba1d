// Lists of an app's reviews in keyset pages: the public one (approved only) and the developer's (any status).
// Every sort ends with the last-written time and the id, so the order is total and a cursor is exact.
// "Most helpful" orders by helpful_score, the sum of the votes' trust weights (trust.ts; 3 decimals, exact
// numeric), while helpfulCount shows the raw number of votes.
import { validate as isUuid } from 'uuid';
import type { Queryable } from '../../platform/db/index.ts';
import { decodeCursor, encodeCursor, takePage } from '../../platform/http/pagination.ts';
import type { ReviewStatus } from './events.ts';
import type { DeveloperReviewItem, MyReview, ReviewItem, ReviewSort } from './schemas.ts';

/** The leading sort key of each sort, descending; null: recency alone. */
const SORT_KEY: Record<ReviewSort, string | null> = {
  helpful: 'r.helpful_score',
  recent: null,
  rating_high: 'r.rating',
  rating_low: '(-r.rating)',
};

/**
 * After the last item of a page: its sort, leading key (null for recent; for helpful the score, a number of
 * at most 3 decimals, so cursors made when it was the integer count still read the same), last-written time in µs, id.
 */
type Position = [ReviewSort, number | null, number, string];
const INT_MAX = 2 ** 31 - 1;

/** Whether a cursor's leading key fits the sort: none for recent, a score of 3 decimals for helpful, else an integer. */
function validKey(sort: ReviewSort, v: unknown): boolean {
  if (SORT_KEY[sort] === null) return v === null;
  if (typeof v !== 'number' || !Number.isFinite(v) || Math.abs(v) > INT_MAX) return false;
  return sort === 'helpful' ? v >= 0 && Number(v.toFixed(3)) === v : Number.isInteger(v);
}

function decodePosition(cursor: string | undefined, sort: ReviewSort): Position | undefined {
  return decodeCursor(
    cursor,
    (v): v is Position =>
      Array.isArray(v) && v.length === 4 && v[0] === sort && validKey(sort, v[1]) && Number.isSafeInteger(v[2]) && typeof v[3] === 'string' && isUuid(v[3]),
  );
}

const micros = (col: string) => `(extract(epoch from ${col}) * 1000000)::bigint`;

/** Columns every view of a review is made from; $viewer (or null) says whether the caller voted. */
export interface ReviewRow {
  id: string;
  app_id: string;
  user_id: string;
  rating: number;
  title: string;
  body: string;
  app_version: string | null;
  verified: boolean;
  status: ReviewStatus;
  revision: number;
  helpful_count: number;
  created_at: Date;
  updated_at: Date;
  response_body: string | null;
  response_at: Date | null;
  response_updated_at: Date | null;
  display_name: string;
  voted: boolean | null;
  /** The leading sort key (numeric comes as a string from some drivers: read it with Number). */
  sk: number | string | null;
  k: string;
}

const columns = (viewer: string) => `
  r.id, r.app_id, r.user_id, r.rating, r.title, r.body, r.app_version, r.verified, r.status, r.revision, r.helpful_count,
  r.created_at, r.updated_at, r.response_body, r.response_at, r.response_updated_at, u.display_name,
  CASE WHEN ${viewer}::uuid IS NULL THEN NULL
       ELSE EXISTS (SELECT 1 FROM review_votes v WHERE v.review_id = r.id AND v.user_id = ${viewer}::uuid) END AS voted`;

export interface ListOptions {
  appId: string;
  sort: ReviewSort;
  limit: number;
  cursor?: string;
  /** Only these statuses; undefined: all. */
  status?: ReviewStatus;
  viewerId: string | null;
}

export async function listReviews(q: Queryable, o: ListOptions): Promise<{ rows: ReviewRow[]; nextCursor: string | null }> {
  const after = decodePosition(o.cursor, o.sort);
  const key = SORT_KEY[o.sort];
  const params: unknown[] = [o.appId, o.limit + 1, o.viewerId];
  const where = ['r.app_id = $1'];
  if (o.status) where.push(`r.status = $${params.push(o.status)}`);
  if (after) {
    const at = `(timestamptz 'epoch' + $${params.push(after[2])}::float8 * interval '1 microsecond')`;
    const id = `$${params.push(after[3])}::uuid`;
    const keyType = o.sort === 'helpful' ? 'numeric' : 'int';
    where.push(key ? `(${key}, r.updated_at, r.id) < ($${params.push(after[1])}::${keyType}, ${at}, ${id})` : `(r.updated_at, r.id) < (${at}, ${id})`);
  }
  const { rows } = await q.query<ReviewRow>(
    `SELECT ${columns('$3')}, ${key ?? 'NULL::int'} AS sk, ${micros('r.updated_at')} AS k
       FROM reviews r JOIN identity_users u ON u.id = r.user_id
      WHERE ${where.join(' AND ')}
      ORDER BY ${key ? `${key} DESC, ` : ''}r.updated_at DESC, r.id DESC
      LIMIT $2`,
    params,
  );
  const { page, more, last } = takePage(rows, o.limit);
  const position: Position | undefined = last && [o.sort, last.sk === null ? null : Number(last.sk), Number(last.k), last.id];
  return { rows: page, nextCursor: more && position ? encodeCursor(position) : null };
}

/** One review by id or by (author, app), as the views below need it. */
export async function readReview(
  q: Queryable,
  by: { id: string } | { userId: string; appId: string },
  viewerId: string | null = null,
): Promise<ReviewRow | undefined> {
  const [cond, params] = 'id' in by ? ['r.id = $2', [viewerId, by.id]] : ['r.user_id = $2 AND r.app_id = $3', [viewerId, by.userId, by.appId]];
  const { rows } = await q.query<ReviewRow>(
    `SELECT ${columns('$1')}, NULL::int AS sk, '0' AS k FROM reviews r JOIN identity_users u ON u.id = r.user_id WHERE ${cond}`,
    params,
  );
  return rows[0];
}

const iso = (d: Date) => new Date(d).toISOString();

function developerResponse(r: ReviewRow): ReviewItem['developerResponse'] {
  if (r.response_body === null || r.response_at === null) return null;
  return { body: r.response_body, createdAt: iso(r.response_at), updatedAt: r.response_updated_at ? iso(r.response_updated_at) : null };
}

function common(r: ReviewRow) {
  return {
    id: r.id,
    rating: r.rating,
    title: r.title,
    body: r.body,
    author: { displayName: r.display_name },
    verified: r.verified,
    appVersion: r.app_version,
    helpfulCount: r.helpful_count,
    edited: r.revision > 1,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
    developerResponse: developerResponse(r),
  };
}

/** The public view; the viewer's own review says so, with its status. */
export function toItem(r: ReviewRow, viewerId: string | null): ReviewItem {
  const item: ReviewItem = common(r);
  if (viewerId !== null) {
    if (r.user_id === viewerId) {
      item.mine = true;
      item.status = r.status;
    }
    item.helpfulByMe = r.voted === true;
  }
  return item;
}

export const toDeveloperItem = (r: ReviewRow): DeveloperReviewItem => ({ ...common(r), status: r.status });

export const toMine = (r: ReviewRow): MyReview => ({
  id: r.id,
  appId: r.app_id,
  rating: r.rating,
  title: r.title,
  body: r.body,
  status: r.status,
  verified: r.verified,
  appVersion: r.app_version,
  revision: r.revision,
  edited: r.revision > 1,
  helpfulCount: r.helpful_count,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
  developerResponse: developerResponse(r),
});
