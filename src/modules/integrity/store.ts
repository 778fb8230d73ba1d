// The integrity module's SQL: the facts a review is scored on (two round trips' worth in one statement),
// the projection it keeps of reviews, and moderators' labels and trained models.
import type { Queryable } from '../../platform/db/index.ts';

const DAY_MS = 86_400_000;
/** History against which a burst is measured: the days before the review's 24-hour window. */
export const HISTORY_DAYS = 30;
/** Windows are capped: a burst of 500 says all there is to say about timing, and bounds the work. */
const WINDOW_SAMPLE = 500;
/** Near-duplicate candidates compared per review; a very common text ("great app") stops mattering after this. */
const CANDIDATES = 300;
/** Earlier reviews sharing a sentence that integrity may revisit per review. */
const SHARERS = 50;

export interface ScoredReview {
  reviewId: string;
  appId: string;
  userId: string;
  rating: number;
  revision: number;
  firstWrittenAt: Date;
  writtenAt: Date;
}

export interface RawFacts {
  authorReviewsInPrior24h: number;
  windowCount: number;
  /** The app's reviews in the 24 h before, newest first (at most WINDOW_SAMPLE). */
  window: { reviewId: string; at: number; rating: number }[];
  historyReviews: number;
  /** Days of history the app has before the window (0..HISTORY_DAYS). */
  historyDays: number;
  /** Earlier reviews sharing LSH bands, those sharing most first: their app, author and MinHash signature. */
  candidates: { reviewId: string; appId: string; userId: string; signature: Buffer }[];
  /** How many of this review's sentence keys appear in earlier reviews, and (some of) those reviews. */
  sentencesSeen: number;
  sentenceSharers: string[];
}

/**
 * Everything the signals need that lives in the database, in one statement. Only reviews first written
 * before this one count, so a review's facts are the same whenever the consumer gets to it.
 */
export async function gatherFacts(q: Queryable, r: ScoredReview, bands: number[], sentences: number[]): Promise<RawFacts> {
  const { rows } = await q.query<{
    author: number;
    window_count: number;
    window: [number, number, string][] | null;
    history_reviews: number;
    first_day: string | null;
    window_day: string;
    candidates: [string, string, string, string][] | null;
    sentences_seen: number;
    sentence_sharers: string[] | null;
  }>(
    `WITH bounds AS (
       SELECT $4::timestamptz - interval '24 hours' AS since, (($4::timestamptz - interval '24 hours') AT TIME ZONE 'UTC')::date AS window_day
     ), win AS (
       SELECT r.review_id, r.first_written_at, r.rating FROM integrity_reviews r, bounds b
        WHERE r.app_id = $2 AND r.first_written_at >= b.since AND r.first_written_at < $4 AND r.review_id <> $1
        ORDER BY r.first_written_at DESC LIMIT ${WINDOW_SAMPLE}
     ), cand AS (
       SELECT c.review_id, count(*) AS shared FROM integrity_bands c
        WHERE c.band = ANY($5::bigint[]) AND c.review_id <> $1 AND c.written_at < $4
        GROUP BY c.review_id ORDER BY shared DESC LIMIT ${CANDIDATES}
     )
     SELECT
       (SELECT count(*)::int FROM integrity_reviews r, bounds b
         WHERE r.user_id = $3 AND r.first_written_at >= b.since AND r.first_written_at < $4 AND r.review_id <> $1) AS author,
       (SELECT CASE WHEN count(*) < ${WINDOW_SAMPLE} THEN count(*)::int ELSE
          (SELECT count(*)::int FROM integrity_reviews r, bounds b
            WHERE r.app_id = $2 AND r.first_written_at >= b.since AND r.first_written_at < $4 AND r.review_id <> $1) END FROM win) AS window_count,
       (SELECT json_agg(json_build_array(floor(extract(epoch FROM first_written_at) * 1000), rating, review_id)) FROM win) AS window,
       (SELECT COALESCE(sum(d.reviews), 0)::int FROM integrity_app_days d, bounds b
         WHERE d.app_id = $2 AND d.day < b.window_day AND d.day >= b.window_day - ${HISTORY_DAYS}) AS history_reviews,
       (SELECT min(day)::text FROM integrity_app_days WHERE app_id = $2) AS first_day,
       (SELECT window_day::text FROM bounds) AS window_day,
       (SELECT json_agg(json_build_array(r.review_id, r.app_id, r.user_id, encode(r.signature, 'base64')))
          FROM cand JOIN integrity_reviews r ON r.review_id = cand.review_id) AS candidates,
       (SELECT count(DISTINCT s.band)::int FROM integrity_bands s
         WHERE s.band = ANY($6::bigint[]) AND s.review_id <> $1 AND s.written_at < $4) AS sentences_seen,
       (SELECT array_agg(DISTINCT x.review_id) FROM (SELECT s.review_id FROM integrity_bands s
         WHERE s.band = ANY($6::bigint[]) AND s.review_id <> $1 AND s.written_at < $4 LIMIT ${SHARERS}) x) AS sentence_sharers`,
    [r.reviewId, r.appId, r.userId, r.firstWrittenAt, bands, sentences],
  );
  const row = rows[0];
  const historyDays = row.first_day
    ? Math.max(0, Math.min(HISTORY_DAYS, Math.round((Date.parse(row.window_day) - Date.parse(row.first_day)) / DAY_MS)))
    : 0;
  return {
    authorReviewsInPrior24h: row.author,
    windowCount: row.window_count,
    window: (row.window ?? []).map(([at, rating, reviewId]) => ({ reviewId, at: Number(at), rating: Number(rating) })),
    historyReviews: row.history_reviews,
    historyDays,
    candidates: (row.candidates ?? []).map(([reviewId, appId, userId, sig]) => ({ reviewId, appId, userId, signature: Buffer.from(sig, 'base64') })),
    sentencesSeen: row.sentences_seen,
    sentenceSharers: row.sentence_sharers ?? [],
  };
}

/**
 * Keeps the projection: the review's latest revision, its keys (LSH bands and sentence keys), and (for a new
 * review) the app's daily volume. An older revision arriving late changes nothing.
 */
export async function recordScored(q: Queryable, r: ScoredReview, signature: Buffer, bands: number[]): Promise<void> {
  await q.query(
    `WITH up AS (
       INSERT INTO integrity_reviews (review_id, app_id, user_id, rating, revision, first_written_at, written_at, signature)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (review_id) DO UPDATE
         SET rating = EXCLUDED.rating, revision = EXCLUDED.revision, written_at = EXCLUDED.written_at, signature = EXCLUDED.signature
         WHERE integrity_reviews.revision < EXCLUDED.revision
       RETURNING (xmax = 0) AS inserted
     ), stale AS (
       DELETE FROM integrity_bands WHERE review_id = $1 AND band <> ALL($9::bigint[]) AND EXISTS (SELECT 1 FROM up)
     ), banded AS (
       INSERT INTO integrity_bands (band, review_id, written_at)
       SELECT unnest($9::bigint[]), $1, $6 WHERE EXISTS (SELECT 1 FROM up)
       ON CONFLICT DO NOTHING
     )
     INSERT INTO integrity_app_days (app_id, day, reviews)
     SELECT $2, ($6::timestamptz AT TIME ZONE 'UTC')::date, 1 WHERE EXISTS (SELECT 1 FROM up WHERE inserted)
     ON CONFLICT (app_id, day) DO UPDATE SET reviews = integrity_app_days.reviews + 1`,
    [r.reviewId, r.appId, r.userId, r.rating, r.revision, r.firstWrittenAt, r.writtenAt, signature, bands],
  );
}

export async function forgetReview(q: Queryable, reviewId: string): Promise<void> {
  await q.query('DELETE FROM integrity_reviews WHERE review_id = $1', [reviewId]);
}

export interface StoredModel<M> {
  version: number;
  model: M;
  labels: number;
  metrics: Record<string, number>;
  trainedAt: string;
}

export async function latestModel<M>(q: Queryable): Promise<StoredModel<M> | null> {
  const { rows } = await q.query<{ version: number; model: M; labels: number; metrics: Record<string, number>; trained_at: Date }>(
    'SELECT version, model, labels, metrics, trained_at FROM integrity_models ORDER BY version DESC LIMIT 1',
  );
  const r = rows[0];
  return r ? { version: r.version, model: r.model, labels: r.labels, metrics: r.metrics, trainedAt: new Date(r.trained_at).toISOString() } : null;
}

export async function saveModel(q: Queryable, model: unknown, labels: number, metrics: Record<string, number>): Promise<number> {
  const { rows } = await q.query<{ version: number }>(
    'INSERT INTO integrity_models (model, labels, metrics) VALUES ($1, $2, $3) RETURNING version',
    [JSON.stringify(model), labels, JSON.stringify(metrics)],
  );
  return rows[0].version;
}

export interface Label {
  reviewId: string;
  revision: number;
  genuine: boolean;
  moderatorId: string;
  features: number[];
  featureNames: readonly string[];
  note?: string;
}

export async function insertLabel(q: Queryable, id: string, l: Label): Promise<void> {
  await q.query(
    `INSERT INTO integrity_labels (id, review_id, revision, genuine, moderator_id, features, feature_names, note)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [id, l.reviewId, l.revision, l.genuine, l.moderatorId, l.features, [...l.featureNames], l.note ?? null],
  );
}

/** The latest decision on each review revision: a moderator who changes their mind overrides themselves. */
export async function trainingLabels(q: Queryable): Promise<{ features: number[]; featureNames: string[]; genuine: boolean }[]> {
  const { rows } = await q.query<{ features: number[]; feature_names: string[]; genuine: boolean }>(
    `SELECT DISTINCT ON (review_id, revision) features, feature_names, genuine
       FROM integrity_labels ORDER BY review_id, revision, decided_at DESC, id DESC`,
  );
  return rows.map((r) => ({ features: r.features.map(Number), featureNames: r.feature_names, genuine: r.genuine }));
}

export async function labelCounts(q: Queryable): Promise<{ genuine: number; fake: number }> {
  const { rows } = await q.query<{ genuine: number; fake: number }>(
    `SELECT count(*) FILTER (WHERE genuine)::int AS genuine, count(*) FILTER (WHERE NOT genuine)::int AS fake
       FROM (SELECT DISTINCT ON (review_id, revision) genuine FROM integrity_labels ORDER BY review_id, revision, decided_at DESC, id DESC) l`,
  );
  return rows[0];
}
