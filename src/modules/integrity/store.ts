// The integrity module's SQL: the facts a review is scored on (two round trips' worth in one statement),
// the projection it keeps of reviews, and moderators' labels and trained models.
import type { Queryable } from '../../platform/db/index.ts';
import { COORDINATION } from './signals.ts';

const DAY_MS = 86_400_000;
/** History against which a burst is measured: the days before the review's 24-hour window. */
export const HISTORY_DAYS = 30;
/**
 * An app's volume over the history is counted only as far as it matters: a burst is a window of more than
 * SPIKE_FACTOR times the daily average, so once the history holds HISTORY_DAYS × (window + 1) / SPIKE_FACTOR
 * reviews no average it implies can make this window a spike, and counting further changes no decision
 * (the average reported is then a lower bound). A busy app's thousands of reviews are not recounted per review.
 */
const SPIKE_FACTOR = COORDINATION.spikeMultiple;
/** The window's newest reviews read per review (the full count is taken beyond): enough to see an hour's
 *  cluster and a burst's ratings; older ones count as outside the hour (see signals.ts), so a sample never
 *  makes a busy app look clustered. */
export const WINDOW_SAMPLE = 100;
/** Earlier reviews read per LSH key (the newest), and candidates compared per review: a very common text
 *  ("great app") shares keys with thousands, and stops mattering long before that. */
const PER_KEY = 8;
const CANDIDATES = 16;
/** Earlier reviews read per sentence key (the newest): enough to show a template and revisit its last uses. */
const SHARERS_PER_SENTENCE = 5;

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
  window: { at: number; rating: number }[];
  historyReviews: number;
  /** Days of history the app has before the window (0..HISTORY_DAYS). */
  historyDays: number;
  /** Earlier reviews sharing LSH bands, those sharing most first: their app, author and MinHash signature. */
  candidates: { reviewId: string; appId: string; userId: string; signature: Buffer; bodySignature?: Buffer | null }[];
  /** How many of this review's sentence keys appear in earlier reviews, and (some of) those reviews. */
  sentencesSeen: number;
  sentenceSharers: string[];
}

/** A review to gather facts for, with its text's keys. */
export interface FactsQuery {
  review: ScoredReview;
  bands: number[];
  sentences: number[];
}

/**
 * Everything the signals need that lives in the database, for a batch of reviews in one statement. Only
 * reviews first written before each one count, so a review's facts are the same whenever the consumer gets
 * to it. (Reviews of the same batch do not see each other here: the consumer adds those in memory.)
 */
export async function gatherFactsBatch(q: Queryable, batch: FactsQuery[]): Promise<RawFacts[]> {
  if (!batch.length) return [];
  // every review's keys in one flat array; review i owns the slice [from_i, to_i] (1-based, inclusive)
  const flatten = (pick: (f: FactsQuery) => number[]) => {
    const values: number[] = [];
    const from: number[] = [];
    const to: number[] = [];
    for (const f of batch) {
      from.push(values.length + 1);
      values.push(...pick(f));
      to.push(values.length);
    }
    return { values, from, to };
  };
  const bands = flatten((f) => f.bands);
  const sentences = flatten((f) => f.sentences);
  const { rows } = await q.query<{
    i: number;
    author: number;
    window_count: number;
    window: [number, number][] | null;
    history_reviews: number;
    first_day: string | null;
    window_day: string;
    candidates: [string, string, string, string, string | null][] | null;
    sentences_seen: number;
    sentence_sharers: string[] | null;
  }>(
    `WITH r AS (
       SELECT x.*, x.at - interval '24 hours' AS since, ((x.at - interval '24 hours') AT TIME ZONE 'UTC')::date AS window_day
         FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::timestamptz[], $6::int[], $7::int[], $9::int[], $10::int[])
              WITH ORDINALITY AS x(review_id, app_id, user_id, at, band_from, band_to, sentence_from, sentence_to, i)
     )
     SELECT r.i::int, r.window_day::text,
       (SELECT count(*)::int FROM integrity_reviews a
         WHERE a.user_id = r.user_id AND a.first_written_at >= r.since AND a.first_written_at < r.at AND a.review_id <> r.review_id) AS author,
       w.window, w.window_count,
       (SELECT count(*)::int FROM (
          SELECT 1 FROM integrity_reviews h
           WHERE h.app_id = r.app_id AND h.first_written_at >= r.since - interval '${HISTORY_DAYS} days' AND h.first_written_at < r.since
           LIMIT ${HISTORY_DAYS} * (w.window_count + 1) / ${SPIKE_FACTOR} + 1) h) AS history_reviews,
       (SELECT min(first_written_at)::date::text FROM integrity_reviews f WHERE f.app_id = r.app_id) AS first_day,
       (SELECT json_agg(json_build_array(c.review_id, c.app_id, c.user_id, encode(c.signature, 'base64'), encode(c.body_signature, 'base64')))
          FROM (SELECT m.review_id, count(*) AS shared
                  FROM unnest(($5::bigint[])[r.band_from:r.band_to]) AS b(key) CROSS JOIN LATERAL (
                    SELECT k.review_id FROM integrity_bands k
                     WHERE k.band = b.key AND k.written_at < r.at AND k.review_id <> r.review_id
                     ORDER BY k.written_at DESC LIMIT ${PER_KEY}) m
                 GROUP BY m.review_id ORDER BY shared DESC LIMIT ${CANDIDATES}) top
          JOIN integrity_reviews c ON c.review_id = top.review_id) AS candidates,
       s.sentences_seen, s.sentence_sharers
       FROM r
       CROSS JOIN LATERAL (
         SELECT json_agg(json_build_array(floor(extract(epoch FROM v.first_written_at) * 1000), v.rating)) AS window,
                CASE WHEN count(*) < ${WINDOW_SAMPLE} THEN count(*)::int ELSE
                  (SELECT count(*)::int FROM integrity_reviews a
                    WHERE a.app_id = r.app_id AND a.first_written_at >= r.since AND a.first_written_at < r.at AND a.review_id <> r.review_id) END AS window_count
           FROM (SELECT a.first_written_at, a.rating FROM integrity_reviews a
                  WHERE a.app_id = r.app_id AND a.first_written_at >= r.since AND a.first_written_at < r.at AND a.review_id <> r.review_id
                  ORDER BY a.first_written_at DESC LIMIT ${WINDOW_SAMPLE}) v
       ) w
       CROSS JOIN LATERAL (
         SELECT count(DISTINCT m.key)::int AS sentences_seen, array_agg(DISTINCT m.review_id) AS sentence_sharers
           FROM unnest(($8::bigint[])[r.sentence_from:r.sentence_to]) AS t(key) CROSS JOIN LATERAL (
             SELECT t.key, k.review_id FROM integrity_bands k
              WHERE k.band = t.key AND k.written_at < r.at AND k.review_id <> r.review_id
              ORDER BY k.written_at DESC LIMIT ${SHARERS_PER_SENTENCE}) m
       ) s
      ORDER BY r.i`,
    [
      batch.map((f) => f.review.reviewId),
      batch.map((f) => f.review.appId),
      batch.map((f) => f.review.userId),
      batch.map((f) => f.review.firstWrittenAt.toISOString()),
      bands.values,
      bands.from,
      bands.to,
      sentences.values,
      sentences.from,
      sentences.to,
    ],
  );
  return rows.map((row) => ({
    authorReviewsInPrior24h: row.author,
    windowCount: row.window_count,
    window: (row.window ?? []).map(([at, rating]) => ({ at: Number(at), rating: Number(rating) })),
    historyReviews: row.history_reviews,
    historyDays: row.first_day ? Math.max(0, Math.min(HISTORY_DAYS, Math.round((Date.parse(row.window_day) - Date.parse(row.first_day)) / DAY_MS))) : 0,
    candidates: (row.candidates ?? []).map(([reviewId, appId, userId, sig, body]) => ({
      reviewId,
      appId,
      userId,
      signature: Buffer.from(sig, 'base64'),
      bodySignature: body ? Buffer.from(body, 'base64') : null,
    })),
    sentencesSeen: row.sentences_seen,
    sentenceSharers: row.sentence_sharers ?? [],
  }));
}

export async function gatherFacts(q: Queryable, review: ScoredReview, bands: number[], sentences: number[]): Promise<RawFacts> {
  return (await gatherFactsBatch(q, [{ review, bands, sentences }]))[0];
}

/** A scored review's row of the projection, with its signature and keys (LSH bands and sentence keys). */
export interface Scored {
  review: ScoredReview;
  signature: Buffer;
  /** MinHash of the body alone (what a copy is decided on); null: none. */
  bodySignature?: Buffer | null;
  /** MinHash of the gist (gist.ts); null: too few content words. */
  gistSignature?: Buffer | null;
  /** Who wrote it, as the event told: what ties reviews into groups (groups.ts). */
  author?: { developerId: string | null; verified: boolean; accountCreatedAt: string; acquiredAt: string | null; firstAcquiredAt: string | null };
  keys: number[];
}

/**
 * Keeps the projection for a batch (one row per review: callers pass each review once): the latest revision
 * and its keys. An older revision arriving late changes nothing.
 */
export async function recordScoredBatch(q: Queryable, batch: Scored[]): Promise<void> {
  if (!batch.length) return;
  // the keys travel as one flat array, review i owning the slice [from_i, to_i] (what goes over the wire is
  // much of the cost of a batch: no per-key copies of ids and times)
  const keys: number[] = [];
  const from: number[] = [];
  const to: number[] = [];
  for (const s of batch) {
    from.push(keys.length + 1);
    keys.push(...s.keys);
    to.push(keys.length);
  }
  await q.query(
    `WITH x AS (
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::smallint[], $5::int[], $6::float8[], $7::float8[], $8::bytea[], $10::int[], $11::int[], $12::bytea[],
                            $13::bytea[], $14::uuid[], $15::boolean[], $16::timestamptz[], $17::timestamptz[], $18::timestamptz[])
         AS x(review_id, app_id, user_id, rating, revision, first_ms, written_ms, signature, key_from, key_to, body_signature,
              gist_signature, developer_id, verified, account_created_at, acquired_at, first_acquired_at)
     ), up AS (
       INSERT INTO integrity_reviews (review_id, app_id, user_id, rating, revision, first_written_at, written_at, signature, body_signature,
                                      gist_signature, developer_id, verified, account_created_at, acquired_at, first_acquired_at)
       SELECT review_id, app_id, user_id, rating, revision, to_timestamp(first_ms / 1000), to_timestamp(written_ms / 1000), signature, body_signature,
              gist_signature, developer_id, verified, account_created_at, acquired_at, first_acquired_at FROM x
       ON CONFLICT (review_id) DO UPDATE
         SET rating = EXCLUDED.rating, revision = EXCLUDED.revision, written_at = EXCLUDED.written_at, signature = EXCLUDED.signature,
             body_signature = EXCLUDED.body_signature, gist_signature = EXCLUDED.gist_signature, developer_id = EXCLUDED.developer_id,
             verified = EXCLUDED.verified, account_created_at = EXCLUDED.account_created_at, acquired_at = EXCLUDED.acquired_at,
             first_acquired_at = EXCLUDED.first_acquired_at
         WHERE integrity_reviews.revision < EXCLUDED.revision
       RETURNING review_id, (xmax = 0) AS inserted
     ), stale AS (
       DELETE FROM integrity_bands b USING up WHERE b.review_id = up.review_id AND NOT up.inserted
     )
     INSERT INTO integrity_bands (band, review_id, written_at)
     SELECT k.band, x.review_id, to_timestamp(x.first_ms / 1000)
       FROM x JOIN up ON up.review_id = x.review_id
       CROSS JOIN LATERAL unnest(($9::bigint[])[x.key_from:x.key_to]) AS k(band)`,
    [
      batch.map((s) => s.review.reviewId),
      batch.map((s) => s.review.appId),
      batch.map((s) => s.review.userId),
      batch.map((s) => s.review.rating),
      batch.map((s) => s.review.revision),
      batch.map((s) => s.review.firstWrittenAt.getTime()),
      batch.map((s) => s.review.writtenAt.getTime()),
      batch.map((s) => s.signature),
      keys,
      from,
      to,
      batch.map((s) => s.bodySignature ?? null),
      batch.map((s) => s.gistSignature ?? null),
      batch.map((s) => s.author?.developerId ?? null),
      batch.map((s) => s.author?.verified ?? null),
      batch.map((s) => s.author?.accountCreatedAt ?? null),
      batch.map((s) => s.author?.acquiredAt ?? null),
      batch.map((s) => s.author?.firstAcquiredAt ?? null),
    ],
  );
}

export async function recordScored(q: Queryable, review: ScoredReview, signature: Buffer, keys: number[], bodySignature: Buffer | null = null): Promise<void> {
  await recordScoredBatch(q, [{ review, signature, keys, bodySignature }]);
}

/** The newest reviews of an app with this rating in the 24 h before `at` (the burst a review turned out to be part of). */
export async function burstMembers(q: Queryable, appId: string, rating: number, at: Date, limit: number): Promise<string[]> {
  const { rows } = await q.query<{ review_id: string }>(
    `SELECT review_id FROM integrity_reviews
      WHERE app_id = $1 AND rating = $2 AND first_written_at >= $3::timestamptz - interval '24 hours' AND first_written_at < $3
      ORDER BY first_written_at DESC LIMIT $4`,
    [appId, rating, at, limit],
  );
  return rows.map((r) => r.review_id);
}

export async function forgetReview(q: Queryable, reviewId: string): Promise<void> {
  await q.query('DELETE FROM integrity_bands WHERE review_id = $1', [reviewId]);
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
  const { rows } = await q.query<{ version: number }>('INSERT INTO integrity_models (model, labels, metrics) VALUES ($1, $2, $3) RETURNING version', [
    JSON.stringify(model),
    labels,
    JSON.stringify(metrics),
  ]);
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
