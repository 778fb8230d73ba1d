// Status changes of reviews: integrity's and moderators' verdicts (applyVerdict, run inside the caller's
// transaction), holds caused by reports, and what moderators read (the queue, one review).
// The invariant kept here: app_rating_summaries holds exactly the current ratings of approved reviews.
import { validate as isUuid } from 'uuid';
import type { Queryable } from '../../platform/db/index.ts';
import { decodeCursor, encodeCursor, takePage } from '../../platform/http/pagination.ts';
import { INTEGRITY_ACTIONS, REVIEW_STATUSES, reviewsEvents, type IntegrityAction, type ReviewModerated, type ReviewStatus, type Verdict } from './events.ts';
import { adjustSummary } from './ratings.ts';
import type { ModerationPage, ModerationReview } from './schemas.ts';

export type Clock = () => Date;

interface Locked {
  id: string;
  app_id: string;
  user_id: string;
  rating: number;
  status: ReviewStatus;
  revision: number;
}

/** Locks the review for a status change (not a key change: votes and reports on it go on meanwhile). */
export async function lockReview(q: Queryable, reviewId: string): Promise<Locked | undefined> {
  const { rows } = await q.query<Locked>('SELECT id, app_id, user_id, rating, status, revision FROM reviews WHERE id = $1 FOR NO KEY UPDATE', [reviewId]);
  return rows[0];
}

/**
 * What follows status changes of locked reviews whose rows are already updated: ratings leave or join the
 * summary (as deltas) and review.moderated is recorded, for all of them in two statements.
 */
/** review.moderated for each status change, except integrity's first verdict on a pending revision (see events.ts). */
function moderatedEvents(changes: { review: Locked; status: ReviewStatus; by: ReviewModerated['by'] }[]) {
  return changes
    .filter(({ review, status, by }) => review.status !== status && !(review.status === 'pending' && by === 'integrity'))
    .map(({ review, status, by }) => ({
      type: 'review.moderated' as const,
      payload: { reviewId: review.id, appId: review.app_id, status, previousStatus: review.status, by } satisfies ReviewModerated,
      aggregateId: review.id,
    }));
}

/**
 * What follows a status change of a locked review whose row is already updated (a hold by reports): its rating
 * leaves or joins the summary (as a delta) and review.moderated is recorded.
 */
export async function afterStatusChange(q: Queryable, review: Locked, status: ReviewStatus, by: ReviewModerated['by']): Promise<void> {
  if ((review.status === 'approved') !== (status === 'approved')) await adjustSummary(q, review.app_id, review.rating, status === 'approved' ? 1 : -1);
  await reviewsEvents.recordMany(q, moderatedEvents([{ review, status, by }]));
}

const VERDICT_STATUSES: ReadonlySet<string> = new Set(['approved', 'held', 'rejected']);

/**
 * Applies verdicts inside the caller's transaction, in a fixed number of statements whatever their number
 * (integrity decides reviews in batches). Per verdict, false (changing nothing) when the review is gone or the
 * verdict scored another revision than the current one (the review was edited since).
 */
export function verdicts(clock: Clock) {
  async function applyVerdicts(q: Queryable, list: Verdict[]): Promise<boolean[]> {
    for (const v of list) {
      if (!VERDICT_STATUSES.has(v.status)) throw new Error(`verdict status must be approved, held or rejected; got ${String(v.status)}`);
      if (v.by !== 'integrity' && v.by !== 'moderator') throw new Error(`verdict by must be integrity or moderator; got ${String(v.by)}`);
      if (v.integrity && !INTEGRITY_ACTIONS.includes(v.integrity.action)) throw new Error(`unknown integrity action ${String(v.integrity.action)}`);
    }
    // the last verdict on a review is its outcome (one call holds each review once in practice)
    const finals = [...new Map(list.filter((v) => typeof v.reviewId === 'string' && isUuid(v.reviewId)).map((v) => [v.reviewId, v])).values()];
    if (!finals.length) return list.map(() => false);
    // One statement: lock the reviews whose revision matches, update them, and append their rating deltas.
    const { rows } = await q.query<Locked & { new_status: ReviewStatus }>(
      `WITH x AS (
         SELECT x0.*, $5::jsonb -> (x0.i::int - 1) AS signals
           FROM unnest($1::uuid[], $2::text[], $3::boolean[], $4::float8[], $6::text[], $7::text[], $8::boolean[], $9::uuid[], $11::int[])
                WITH ORDINALITY AS x0(id, status, scored, score, action, model, moderated, moderator_id, revision, i)
       ), old AS (
         SELECT r.id, r.app_id, r.user_id, r.rating, r.status, r.revision, x.status AS new_status
           FROM reviews r JOIN x ON x.id = r.id
          WHERE x.revision IS NULL OR x.revision = r.revision
          ORDER BY r.id FOR NO KEY UPDATE OF r
       ), updated AS (
         UPDATE reviews r SET status = x.status,
                integrity_score = CASE WHEN x.scored THEN x.score ELSE r.integrity_score END,
                integrity_signals = CASE WHEN x.scored THEN x.signals ELSE r.integrity_signals END,
                integrity_action = CASE WHEN x.scored THEN x.action ELSE r.integrity_action END,
                integrity_model = CASE WHEN x.scored THEN x.model ELSE r.integrity_model END,
                scored_at = CASE WHEN x.scored THEN $10::timestamptz ELSE r.scored_at END,
                moderated_by = CASE WHEN x.moderated THEN x.moderator_id ELSE r.moderated_by END,
                moderated_at = CASE WHEN x.moderated THEN $10::timestamptz ELSE r.moderated_at END
           FROM x, old WHERE r.id = x.id AND old.id = x.id
       ), deltas AS (
         INSERT INTO app_rating_deltas (app_id, rating, delta)
         SELECT app_id, rating, CASE WHEN status = 'approved' THEN -1 ELSE 1 END FROM old
          WHERE (status = 'approved') <> (new_status = 'approved')
       )
       SELECT * FROM old`,
      [
        finals.map((v) => v.reviewId),
        finals.map((v) => v.status),
        finals.map((v) => !!v.integrity),
        finals.map((v) => v.integrity?.score ?? null),
        JSON.stringify(finals.map((v) => (v.integrity ? (v.integrity.signals ?? null) : null))), // one JSON array: no per-element escaping
        finals.map((v) => v.integrity?.action ?? null),
        finals.map((v) => v.integrity?.model ?? null),
        finals.map((v) => v.by === 'moderator'),
        finals.map((v) => (v.by === 'moderator' ? (v.moderatorId ?? null) : null)),
        clock(),
        finals.map((v) => v.revision),
      ],
    );
    const done = new Map(rows.map((r) => [r.id, r]));
    const byId = new Map(finals.map((v) => [v.reviewId, v]));
    await reviewsEvents.recordMany(q, moderatedEvents(rows.map((r) => ({ review: r, status: r.new_status, by: byId.get(r.id)!.by }))));
    return list.map((v) => done.has(v.reviewId) && byId.get(v.reviewId) === v);
  }

  async function applyVerdict(q: Queryable, v: Verdict): Promise<boolean> {
    return (await applyVerdicts(q, [v]))[0];
  }
  return { applyVerdict, applyVerdicts };
}
export type ApplyVerdict = ReturnType<typeof verdicts>['applyVerdict'];
export type ApplyVerdicts = ReturnType<typeof verdicts>['applyVerdicts'];

// ---------------------------------------------------------------- what moderators read

interface ModerationRow {
  id: string;
  app_id: string;
  app_name: string;
  developer_id: string;
  user_id: string;
  display_name: string;
  rating: number;
  title: string;
  body: string;
  app_version: string | null;
  verified: boolean;
  status: ReviewStatus;
  revision: number;
  integrity_score: number | null;
  integrity_signals: unknown;
  integrity_action: IntegrityAction | null;
  integrity_model: string | null;
  scored_at: Date | null;
  moderated_by: string | null;
  moderated_at: Date | null;
  helpful_count: number;
  helpful_score: number;
  report_count: number;
  report_score: number;
  reports: Record<string, number> | null;
  created_at: Date;
  updated_at: Date;
  k: string;
}

const MODERATION_SELECT = `
  SELECT r.id, r.app_id, a.name AS app_name, a.developer_id, r.user_id, u.display_name, r.rating, r.title, r.body, r.app_version,
         r.verified, r.status, r.revision, r.integrity_score, r.integrity_signals, r.integrity_action, r.integrity_model, r.scored_at,
         r.moderated_by, r.moderated_at, r.helpful_count, r.report_count, r.created_at, r.updated_at,
         r.helpful_score::float8 AS helpful_score, r.report_score::float8 AS report_score,
         (SELECT json_object_agg(x.reason, x.n) FROM (SELECT reason, count(*)::int AS n FROM review_reports WHERE review_id = r.id GROUP BY reason) x) AS reports,
         (extract(epoch from r.updated_at) * 1000000)::bigint AS k
    FROM reviews r JOIN catalog_apps a ON a.id = r.app_id JOIN identity_users u ON u.id = r.user_id`;

const iso = (d: Date) => new Date(d).toISOString();

function toModeration(r: ModerationRow): ModerationReview {
  return {
    reviewId: r.id,
    appId: r.app_id,
    appName: r.app_name,
    developerId: r.developer_id,
    userId: r.user_id,
    authorName: r.display_name,
    rating: r.rating,
    title: r.title,
    body: r.body,
    appVersion: r.app_version,
    verified: r.verified,
    status: r.status,
    revision: r.revision,
    integrity:
      r.integrity_score === null || r.integrity_action === null || r.scored_at === null
        ? null
        : { score: r.integrity_score, signals: r.integrity_signals, action: r.integrity_action, model: r.integrity_model ?? '', scoredAt: iso(r.scored_at) },
    moderatedBy: r.moderated_by,
    moderatedAt: r.moderated_at ? iso(r.moderated_at) : null,
    helpfulCount: r.helpful_count,
    helpfulScore: Number(r.helpful_score),
    reportCount: r.report_count,
    reportScore: Number(r.report_score),
    reports: r.reports ?? {},
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

export interface QueueQuery {
  status?: ReviewStatus;
  limit?: number;
  cursor?: string;
}

/** Reviews of one status (default held), oldest revision first, in keyset pages. Throws 400 BAD_CURSOR on a foreign cursor. */
export async function moderationQueue(q: Queryable, query: QueueQuery = {}): Promise<ModerationPage> {
  const status = query.status ?? 'held';
  if (!REVIEW_STATUSES.includes(status)) throw new Error(`unknown review status ${String(status)}`);
  const limit = Math.min(Math.max(Math.trunc(query.limit ?? 50), 1), 500);
  const after = decodeCursor(
    query.cursor,
    (v): v is [string, number, string] =>
      Array.isArray(v) && v.length === 3 && v[0] === status && Number.isSafeInteger(v[1]) && typeof v[2] === 'string' && isUuid(v[2]),
  );
  const params: unknown[] = [status, limit + 1];
  const where = ['r.status = $1'];
  if (after) {
    where.push(`(r.updated_at, r.id) > (timestamptz 'epoch' + $${params.push(after[1])}::float8 * interval '1 microsecond', $${params.push(after[2])}::uuid)`);
  }
  const { rows } = await q.query<ModerationRow>(`${MODERATION_SELECT} WHERE ${where.join(' AND ')} ORDER BY r.updated_at, r.id LIMIT $2`, params);
  const { page, more, last } = takePage(rows, limit);
  return { items: page.map(toModeration), nextCursor: more ? encodeCursor([status, Number(last.k), last.id]) : null };
}

export async function moderationView(q: Queryable, reviewId: string): Promise<ModerationReview | null> {
  if (typeof reviewId !== 'string' || !isUuid(reviewId)) return null;
  const { rows } = await q.query<ModerationRow>(`${MODERATION_SELECT} WHERE r.id = $1`, [reviewId]);
  return rows[0] ? toModeration(rows[0]) : null;
}

/** A published review whose approval came from integrity scoring alone (no moderator has decided it). */
export interface IntegrityApproved {
  reviewId: string;
  revision: number;
  rating: number;
  title: string;
  body: string;
  signals: unknown;
}

/**
 * Which of these reviews are approved by integrity alone: what integrity may still take back when later
 * reviews show them to be part of a burst or a copy ring. Moderators' decisions are never revisited.
 * Locks them for the caller's transaction, skipping any another transaction holds (best effort, never a deadlock).
 */
export async function integrityApproved(q: Queryable, reviewIds: string[]): Promise<IntegrityApproved[]> {
  return decidedByIntegrity(q, reviewIds, 'approved');
}

/** Which of these reviews are held by integrity alone (what a later pass may restore); locked as integrityApproved does. */
export async function integrityHeld(q: Queryable, reviewIds: string[]): Promise<IntegrityApproved[]> {
  return decidedByIntegrity(q, reviewIds, 'held');
}

async function decidedByIntegrity(q: Queryable, reviewIds: string[], status: 'approved' | 'held'): Promise<IntegrityApproved[]> {
  if (!reviewIds.length) return [];
  const { rows } = await q.query<{ id: string; revision: number; rating: number; title: string; body: string; integrity_signals: unknown }>(
    `SELECT id, revision, rating, title, body, integrity_signals FROM reviews
      WHERE id = ANY($1::uuid[]) AND status = $2 AND moderated_by IS NULL AND integrity_signals IS NOT NULL
      ORDER BY id FOR NO KEY UPDATE SKIP LOCKED`,
    [reviewIds, status],
  );
  return rows.map((r) => ({ reviewId: r.id, revision: r.revision, rating: r.rating, title: r.title, body: r.body, signals: r.integrity_signals }));
}

/**
 * Authors among `userIds` flagged by review integrity: a review of theirs was rejected (by integrity or a
 * moderator) or scored for rejection. Charts weigh such accounts' downloads less.
 */
export async function flaggedAuthors(q: Queryable, userIds: readonly string[]): Promise<Set<string>> {
  if (!userIds.length) return new Set();
  const { rows } = await q.query<{ user_id: string }>(
    `SELECT DISTINCT user_id FROM reviews
      WHERE user_id = ANY($1::uuid[]) AND (status = 'rejected' OR integrity_action = 'reject')`,
    [[...new Set(userIds)]],
  );
  return new Set(rows.map((r) => r.user_id));
}
