// The reviews service: no HTTP here. One review per user per app (written, edited, deleted by its author),
// public lists of approved reviews, rating summaries, helpful votes, abuse reports and developer responses.
// Every change records its events in the transaction that makes it; the bus is nudged after the commit.
import { v7 as uuidv7 } from 'uuid';
import type { Infra } from '../../config.ts';
import { reviewsEvents } from './events.ts';
import type { Queryable } from '../../platform/db/index.ts';
import type { Principal } from '../../platform/http/auth.ts';
import { conflict, forbidden, invalid, notFound } from '../../platform/errors.ts';
import type { Commerce } from '../purchases/index.ts';
import type { AuthorProfile, ReviewDeleted, ReviewResponded, ReviewStatus, ReviewSubmitted } from './events.ts';
import { listReviews, readReview, toDeveloperItem, toItem, toMine, type ReviewRow } from './listing.ts';
import { afterStatusChange, lockReview, moderationQueue, moderationView, type Clock, type QueueQuery } from './moderation.ts';
import { adjustSummary, readSummary } from './ratings.ts';
import { trustFacts, trustWeight } from './trust.ts';
import {
  BODY_MAX,
  NOTE_MAX,
  RESPONSE_MAX,
  TITLE_MAX,
  type DeveloperListQuery,
  type DeveloperReviewItem,
  type DeveloperReviewPage,
  type HelpfulVote,
  type ListQuery,
  type ModerationPage,
  type ModerationReview,
  type MyReview,
  type RatingSummary,
  type Report,
  type ReportInput,
  type ReviewInput,
  type ReviewPage,
} from './schemas.ts';

export interface ReviewsServiceDeps extends Pick<Infra, 'db' | 'bus'> {
  /** The commerce module: a review is "verified" when its author holds the app's 'app' entitlement (Production). */
  purchases: Pick<Commerce, 'entitlements'>;
  clock: Clock;
}

/**
 * The weight of reports (each its account's trust, 0 to 1: trust.ts) at which an approved review is held for a
 * moderator: three reports of trusted accounts, never a brigade of new ones.
 */
export const REPORT_HOLD_THRESHOLD = 3;

// A line of a title: no control characters at all. A body may also hold line breaks and tabs.
const TITLE_FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const TEXT_FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

/** Trimmed text of 1 to max characters (code points, as JSON Schema counts them), or 400 VALIDATION_FAILED naming the field. */
function cleanText(field: string, value: string, max: number, forbidden: RegExp): string {
  const text = value.trim();
  const fail = (message: string) => invalid('VALIDATION_FAILED', message, [{ path: field, message }]);
  if (!text) throw fail(`${field} must not be blank.`);
  const length = [...text].length;
  if (length > max) throw fail(`${field} must have at most ${max} characters after trimming; it has ${length}.`);
  if (forbidden.test(text)) {
    throw fail(`${field} must not contain control characters${forbidden === TITLE_FORBIDDEN ? ' or line breaks' : ' (other than line breaks and tabs)'}.`);
  }
  return text;
}

interface AppFacts {
  id: string;
  developer_id: string;
  current_version: string | null;
  status: string;
}

export class ReviewsService {
  constructor(private readonly deps: ReviewsServiceDeps) {}

  private get db() {
    return this.deps.db;
  }

  // ================================================================ the author's review

  /** Creates or edits the caller's review of a published app. created: whether this was the first write. */
  async writeMine(principal: Principal, appId: string, input: ReviewInput): Promise<{ review: MyReview; created: boolean }> {
    const text = {
      rating: input.rating,
      title: cleanText('body.title', input.title, TITLE_MAX, TITLE_FORBIDDEN),
      body: cleanText('body.body', input.body, BODY_MAX, TEXT_FORBIDDEN),
    };
    const app = await this.publishedApp(appId);
    if (principal.developerId !== null && principal.developerId === app.developer_id) {
      throw forbidden('OWN_APP', 'Developers cannot review their own apps; reply to reviews with a developer response instead.');
    }
    const [entitlements, account, acquisitions] = await Promise.all([
      this.deps.purchases.entitlements(principal.userId, appId, 'Production'),
      this.db.query<{ created_at: Date }>('SELECT created_at FROM identity_users WHERE id = $1', [principal.userId]),
      this.db.query<{ acquired_at: Date | null; first_acquired_at: Date | null; apps: number }>(
        `SELECT min(original_purchase_date) FILTER (WHERE app_id = $2) AS acquired_at, min(original_purchase_date) AS first_acquired_at,
                count(DISTINCT app_id)::int AS apps
           FROM purchases_transactions WHERE user_id = $1 AND kind = 'app' AND environment = 'Production' AND revocation_date IS NULL`,
        [principal.userId, appId],
      ),
    ]);
    const verified = entitlements.some((e) => e.entitlement === 'app');
    const accountCreatedAt = new Date(account.rows[0].created_at).toISOString();
    const history = acquisitions.rows[0];
    const author: AuthorProfile = {
      acquiredAt: history?.acquired_at ? new Date(history.acquired_at).toISOString() : null,
      firstAcquiredAt: history?.first_acquired_at ? new Date(history.first_acquired_at).toISOString() : null,
      appsOwned: history?.apps ?? 0,
    };

    const outcome = await this.db.tx(async (q) => {
      const now = this.deps.clock();
      const { row, created } = await this.lockOrCreateMine(q, principal.userId, app, text, verified, now);
      if (created) {
        await reviewsEvents.record(q, 'review.created', submitted(row, app, principal.userId, verified, accountCreatedAt, author, now), row.id);
        return { id: row.id, created, changed: true };
      }
      if (row.rating === text.rating && row.title === text.title && row.body === text.body) return { id: row.id, created, changed: false };
      // a new revision waits for integrity again: an approved one leaves the summary until it is approved again
      const { rows } = await q.query<Pick<ReviewRow, 'revision' | 'created_at'>>(
        `UPDATE reviews SET rating = $2, title = $3, body = $4, app_version = $5, verified = $6, status = 'pending', revision = revision + 1,
                integrity_score = NULL, integrity_signals = NULL, integrity_action = NULL, integrity_model = NULL, scored_at = NULL,
                moderated_by = NULL, moderated_at = NULL, updated_at = $7
          WHERE id = $1 RETURNING revision, created_at`,
        [row.id, text.rating, text.title, text.body, app.current_version, verified, now],
      );
      if (row.status === 'approved') await adjustSummary(q, app.id, row.rating, -1);
      const edited = { ...row, ...text, revision: rows[0].revision, created_at: rows[0].created_at };
      await reviewsEvents.record(q, 'review.updated', submitted(edited, app, principal.userId, verified, accountCreatedAt, author, now), row.id);
      return { id: row.id, created, changed: true };
    });
    if (outcome.changed) this.deps.bus.nudge();
    const review = await readReview(this.db, { id: outcome.id });
    if (!review) throw notFound('Review'); // deleted by a concurrent request of the author
    return { review: toMine(review), created: outcome.created };
  }

  /** The author's review locked for an edit, or a new one. Two concurrent first writes: one creates, the other edits it. */
  private async lockOrCreateMine(
    q: Queryable,
    userId: string,
    app: AppFacts,
    text: { rating: number; title: string; body: string },
    verified: boolean,
    now: Date,
  ): Promise<{ row: MineRow; created: boolean }> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const existing = await q.query<MineRow>(`SELECT ${MINE_COLUMNS} FROM reviews WHERE user_id = $1 AND app_id = $2 FOR NO KEY UPDATE`, [userId, app.id]);
      if (existing.rows[0]) return { row: existing.rows[0], created: false };
      // waits for a concurrent first write of the same author; then nothing is inserted and the loop reads theirs
      const inserted = await q.query<MineRow>(
        `INSERT INTO reviews (id, app_id, user_id, rating, title, body, app_version, verified, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
         ON CONFLICT (user_id, app_id) DO NOTHING RETURNING ${MINE_COLUMNS}`,
        [uuidv7({ msecs: now.getTime() }), app.id, userId, text.rating, text.title, text.body, app.current_version, verified, now],
      );
      if (inserted.rows[0]) return { row: inserted.rows[0], created: true };
    }
    throw conflict('CONCURRENT_CHANGE', 'Your review was changed by another request at the same time; send it again.');
  }

  async getMine(userId: string, appId: string): Promise<MyReview> {
    const row = await readReview(this.db, { userId, appId });
    if (!row) throw notFound('Review');
    return toMine(row);
  }

  /** Deletes the caller's review of the app, its votes and reports; an approved one leaves the summary. */
  async deleteMine(userId: string, appId: string): Promise<void> {
    await this.db.tx(async (q) => {
      const { rows } = await q.query<{ id: string; rating: number; status: ReviewStatus }>(
        'DELETE FROM reviews WHERE user_id = $1 AND app_id = $2 RETURNING id, rating, status',
        [userId, appId],
      );
      const gone = rows[0];
      if (!gone) throw notFound('Review');
      if (gone.status === 'approved') await adjustSummary(q, appId, gone.rating, -1);
      const payload: ReviewDeleted = { reviewId: gone.id, appId, userId, previousStatus: gone.status };
      await reviewsEvents.record(q, 'review.deleted', payload, gone.id);
    });
    this.deps.bus.nudge();
  }

  // ================================================================ public reads

  /** Approved reviews of a published app. A signed-in caller's own review is marked; when not approved it comes first on the first page. */
  async list(appId: string, query: ListQuery, viewerId: string | null): Promise<ReviewPage> {
    await this.publishedApp(appId);
    const sort = query.sort ?? 'helpful';
    const { rows, nextCursor } = await listReviews(this.db, { appId, sort, limit: query.limit ?? 20, cursor: query.cursor, status: 'approved', viewerId });
    const items = rows.map((r) => toItem(r, viewerId));
    if (viewerId !== null && !query.cursor) {
      const own = await readReview(this.db, { userId: viewerId, appId }, viewerId);
      if (own && own.status !== 'approved') items.unshift(toItem(own, viewerId));
    }
    return { items, nextCursor };
  }

  async ratings(appId: string): Promise<RatingSummary> {
    await this.publishedApp(appId);
    return readSummary(this.db, appId);
  }

  // ================================================================ votes and reports

  /**
   * One "helpful" vote per user per approved review of someone else; repeating it changes nothing. The vote
   * keeps its account's trust weight (trust.ts): helpful_count counts votes, helpful_score (the "most helpful"
   * order) sums their weights.
   */
  async vote(userId: string, reviewId: string): Promise<HelpfulVote> {
    const helpfulCount = await this.db.tx(async (q) => {
      const review = await this.votable(q, userId, reviewId, 'vote for');
      const existing = await q.query('SELECT 1 FROM review_votes WHERE review_id = $1 AND user_id = $2', [reviewId, userId]);
      if (existing.rows[0]) return this.helpfulCount(q, reviewId, 0, 0);
      const now = this.deps.clock();
      const weight = trustWeight(await trustFacts(q, { userId, appId: review.app_id, reviewId, now, peers: 'review_votes' }));
      const added = await q.query(
        'INSERT INTO review_votes (review_id, user_id, created_at, weight) VALUES ($1, $2, $3, $4) ON CONFLICT (review_id, user_id) DO NOTHING',
        [reviewId, userId, now, weight],
      );
      return added.rowCount ? this.helpfulCount(q, reviewId, 1, weight) : this.helpfulCount(q, reviewId, 0, 0);
    });
    return { reviewId, helpfulCount, voted: true };
  }

  async unvote(userId: string, reviewId: string): Promise<HelpfulVote> {
    const helpfulCount = await this.db.tx(async (q) => {
      await this.votable(q, userId, reviewId, 'vote on');
      const removed = await q.query<{ weight: string }>('DELETE FROM review_votes WHERE review_id = $1 AND user_id = $2 RETURNING weight::text', [
        reviewId,
        userId,
      ]);
      return removed.rows[0] ? this.helpfulCount(q, reviewId, -1, removed.rows[0].weight) : this.helpfulCount(q, reviewId, 0, 0);
    });
    return { reviewId, helpfulCount, voted: false };
  }

  /**
   * Reports a review (once per user: a repeat answers the first report). Each report keeps its account's trust
   * weight (trust.ts); when the reports' weights of an approved review add up to REPORT_HOLD_THRESHOLD, it is
   * held for a moderator and leaves the public list and the summary. report_count stays the raw count: a
   * brigade of new accounts that do not own the app adds almost nothing to the weight.
   */
  async report(userId: string, reviewId: string, input: ReportInput): Promise<{ report: Report; created: boolean }> {
    const note = input.note === undefined || input.note.trim() === '' ? null : cleanText('body.note', input.note, NOTE_MAX, TEXT_FORBIDDEN);
    const result = await this.db.tx(async (q) => {
      const review = await lockReview(q, reviewId);
      if (!review || review.status !== 'approved') throw notFound('Review');
      notOwn(review.user_id, userId, 'report');
      const first = () => q.query<ReportRow>('SELECT reason, note, created_at FROM review_reports WHERE review_id = $1 AND user_id = $2', [reviewId, userId]);
      const earlier = await first();
      if (earlier.rows[0]) return { row: earlier.rows[0], created: false, held: false };
      const now = this.deps.clock();
      const weight = trustWeight(await trustFacts(q, { userId, appId: review.app_id, reviewId, now, peers: 'review_reports' }));
      const inserted = await q.query<ReportRow>(
        `INSERT INTO review_reports (review_id, user_id, reason, note, created_at, weight) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (review_id, user_id) DO NOTHING RETURNING reason, note, created_at`,
        [reviewId, userId, input.reason, note, now, weight],
      );
      if (!inserted.rows[0]) return { row: (await first()).rows[0], created: false, held: false };
      const { rows } = await q.query<{ hold: boolean }>(
        `UPDATE reviews SET report_count = report_count + 1, report_score = report_score + $2::numeric WHERE id = $1
         RETURNING report_score >= $3::numeric AS hold`,
        [reviewId, weight, REPORT_HOLD_THRESHOLD],
      );
      if (!rows[0].hold) return { row: inserted.rows[0], created: true, held: false };
      await q.query(`UPDATE reviews SET status = 'held' WHERE id = $1`, [reviewId]);
      await afterStatusChange(q, review, 'held', 'reports');
      return { row: inserted.rows[0], created: true, held: true };
    });
    if (result.held) this.deps.bus.nudge();
    const { row, created } = result;
    return { report: { reviewId, reason: row.reason, note: row.note, createdAt: new Date(row.created_at).toISOString(), alreadyReported: !created }, created };
  }

  /**
   * 404 unless the review exists and is approved; 403 OWN_REVIEW on one's own. Locks the review (not its key):
   * votes on one review take turns, so each vote's cohort (trust.ts) sees the votes before it, and the review
   * cannot be deleted meanwhile.
   */
  private async votable(q: Queryable, userId: string, reviewId: string, verb: string): Promise<{ app_id: string }> {
    const { rows } = await q.query<{ status: ReviewStatus; user_id: string; app_id: string }>(
      'SELECT status, user_id, app_id FROM reviews WHERE id = $1 FOR NO KEY UPDATE',
      [reviewId],
    );
    if (!rows[0] || rows[0].status !== 'approved') throw notFound('Review');
    notOwn(rows[0].user_id, userId, verb);
    return rows[0];
  }

  /** Adds a vote (delta 1, its weight) or takes one away (delta -1, its weight); returns the raw count. */
  private async helpfulCount(q: Queryable, reviewId: string, delta: number, weight: number | string): Promise<number> {
    const { rows } = delta
      ? await q.query<{ helpful_count: number }>(
          'UPDATE reviews SET helpful_count = helpful_count + $2, helpful_score = greatest(0, helpful_score + $2 * $3::numeric) WHERE id = $1 RETURNING helpful_count',
          [reviewId, delta, String(weight)],
        )
      : await q.query<{ helpful_count: number }>('SELECT helpful_count FROM reviews WHERE id = $1', [reviewId]);
    return rows[0].helpful_count;
  }

  // ================================================================ developers

  /** Every review of the developer's app, any status (or one), newest first by default. */
  async developerList(actor: Principal, appId: string, query: DeveloperListQuery): Promise<DeveloperReviewPage> {
    await this.ownApp(actor, appId);
    const { rows, nextCursor } = await listReviews(this.db, {
      appId,
      sort: query.sort ?? 'recent',
      limit: query.limit ?? 20,
      cursor: query.cursor,
      status: query.status,
      viewerId: null,
    });
    return { items: rows.map(toDeveloperItem), nextCursor };
  }

  /** Writes or edits the developer's one response to a review of their app. */
  async respond(actor: Principal, appId: string, reviewId: string, body: string): Promise<DeveloperReviewItem> {
    const text = cleanText('body.body', body, RESPONSE_MAX, TEXT_FORBIDDEN);
    const changed = await this.db.tx(async (q) => {
      const review = await this.lockForResponse(q, actor, appId, reviewId);
      if (review.response_body === text) return false;
      const now = this.deps.clock();
      const first = review.response_at === null;
      await q.query(
        `UPDATE reviews SET response_body = $2, response_at = coalesce(response_at, $3), response_updated_at = CASE WHEN $4 THEN NULL ELSE $3 END WHERE id = $1`,
        [reviewId, text, now, first],
      );
      await this.recordResponse(q, actor, review, first ? 'created' : 'updated', now);
      return true;
    });
    if (changed) this.deps.bus.nudge();
    const row = await readReview(this.db, { id: reviewId });
    if (!row) throw notFound('Review');
    return toDeveloperItem(row);
  }

  async deleteResponse(actor: Principal, appId: string, reviewId: string): Promise<void> {
    await this.db.tx(async (q) => {
      const review = await this.lockForResponse(q, actor, appId, reviewId);
      if (review.response_at === null) throw notFound('Response');
      await q.query('UPDATE reviews SET response_body = NULL, response_at = NULL, response_updated_at = NULL WHERE id = $1', [reviewId]);
      await this.recordResponse(q, actor, review, 'deleted', this.deps.clock());
    });
    this.deps.bus.nudge();
  }

  private async lockForResponse(q: Queryable, actor: Principal, appId: string, reviewId: string) {
    if (!actor.developerId) throw notFound('Review');
    const { rows } = await q.query<{ id: string; user_id: string; response_body: string | null; response_at: Date | null }>(
      `SELECT r.id, r.user_id, r.response_body, r.response_at FROM reviews r JOIN catalog_apps a ON a.id = r.app_id
        WHERE r.id = $1 AND r.app_id = $2 AND a.developer_id = $3 FOR NO KEY UPDATE OF r`,
      [reviewId, appId, actor.developerId],
    );
    if (!rows[0]) throw notFound('Review');
    return { ...rows[0], app_id: appId };
  }

  private async recordResponse(
    q: Queryable,
    actor: Principal,
    review: { id: string; user_id: string; app_id: string },
    action: ReviewResponded['action'],
    at: Date,
  ) {
    const payload: ReviewResponded = {
      reviewId: review.id,
      appId: review.app_id,
      developerId: actor.developerId!,
      userId: review.user_id,
      action,
      at: at.toISOString(),
    };
    await reviewsEvents.record(q, 'review.responded', payload, review.id);
  }

  // ================================================================ moderators (through the integrity module)

  moderationQueue(query: QueueQuery = {}): Promise<ModerationPage> {
    return moderationQueue(this.db, query);
  }

  getForModeration(reviewId: string): Promise<ModerationReview | null> {
    return moderationView(this.db, reviewId);
  }

  // ================================================================ internals

  /** The published app, or 404 (unknown, draft, removed ... all look the same). */
  private async publishedApp(appId: string): Promise<AppFacts> {
    const { rows } = await this.db.query<AppFacts>(
      `SELECT id, developer_id, current_version, status FROM catalog_apps WHERE id = $1 AND status = 'published'`,
      [appId],
    );
    if (!rows[0]) throw notFound('App');
    return rows[0];
  }

  /** The developer's own app (any status); 404 for everyone else, other developers and admins included. */
  private async ownApp(actor: Principal, appId: string): Promise<void> {
    if (!actor.developerId) throw notFound('App');
    const { rows } = await this.db.query('SELECT 1 FROM catalog_apps WHERE id = $1 AND developer_id = $2', [appId, actor.developerId]);
    if (!rows[0]) throw notFound('App');
  }
}

function notOwn(authorId: string, userId: string, verb: string): void {
  if (authorId === userId) throw forbidden('OWN_REVIEW', `You cannot ${verb} your own review.`);
}

interface ReportRow {
  reason: Report['reason'];
  note: string | null;
  created_at: Date;
}

const MINE_COLUMNS = 'id, rating, title, body, status, revision, app_version, created_at';
interface MineRow {
  id: string;
  rating: number;
  title: string;
  body: string;
  status: ReviewStatus;
  revision: number;
  app_version: string | null;
  created_at: Date;
}

function submitted(
  row: MineRow,
  app: AppFacts,
  userId: string,
  verified: boolean,
  accountCreatedAt: string,
  author: AuthorProfile,
  writtenAt: Date,
): ReviewSubmitted {
  return {
    reviewId: row.id,
    appId: app.id,
    userId,
    developerId: app.developer_id,
    rating: row.rating,
    title: row.title,
    body: row.body,
    appVersion: app.current_version,
    revision: row.revision,
    verified,
    accountCreatedAt,
    author,
    writtenAt: writtenAt.toISOString(),
    createdAt: new Date(row.created_at).toISOString(),
  };
}
