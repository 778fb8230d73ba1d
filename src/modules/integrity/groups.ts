// Group facts from the projection, for a batch of reviews in one statement, and the record of groups found and of
// verdicts revised. What the facts mean and what they decide is group.ts; this file only reads and writes.
//
// Every window is taken relative to the review's first writing and looks back only, so the facts of a review are
// the same whenever the consumer gets to it; the earlier members of a group it reveals are revisited instead.
import { randomUUID } from 'node:crypto';
import type { Queryable } from '../../platform/db/index.ts';
import { GROUP, polarityOf, type GistPeer, type GroupFacts, type Profile } from './group.ts';
import { decodeSignature, similarity } from './text.ts';

const DAY_MS = 86_400_000;
/** Earlier reviews read per gist key (the newest), and gist candidates compared per review. */
const GIST_PER_KEY = 8;
const GIST_CANDIDATES = 24;

export interface GroupQuery {
  reviewId: string;
  appId: string;
  userId: string;
  developerId: string | null;
  rating: number;
  at: Date;
  profile: Profile;
  gist: Uint32Array | null;
  gistKeys: number[];
}

/** The profile of an author when writing a review, from the review's event. */
export function profileOf(at: Date, accountCreatedAt: string, verified: boolean, author?: { firstAcquiredAt: string | null }): Profile {
  const t = at.getTime();
  const created = Date.parse(accountCreatedAt);
  const first = author?.firstAcquiredAt ? Date.parse(author.firstAcquiredAt) : Number.NaN;
  return {
    fresh: t - created < 30 * DAY_MS,
    nonOwner: !verified,
    dormant: Number.isFinite(first) && first - created > 60 * DAY_MS && t - first < 60 * DAY_MS,
  };
}

// a review's polarity in SQL: 1 praise (4–5), -1 attack (1–2), 0 neither
const POL = (x: string) => `(CASE WHEN ${x}.rating >= 4 THEN 1 WHEN ${x}.rating <= 2 THEN -1 ELSE 0 END)`;
const FRESH = (x: string) => `(${x}.account_created_at > ${x}.first_written_at - interval '30 days')`;
const DORMANT = (x: string) =>
  `coalesce(${x}.first_acquired_at - ${x}.account_created_at > interval '60 days' AND ${x}.first_written_at - ${x}.first_acquired_at < interval '60 days', false)`;

/** Group facts of a batch of reviews already in the projection (so that the batch's reviews see each other). */
export async function gatherGroupFacts(q: Queryable, batch: GroupQuery[]): Promise<GroupFacts[]> {
  if (!batch.length) return [];
  const keys: number[] = [];
  const from: number[] = [];
  const to: number[] = [];
  for (const b of batch) {
    from.push(keys.length + 1);
    keys.push(...b.gistKeys);
    to.push(keys.length);
  }
  const pol = (rating: number) => (polarityOf(rating) === 'positive' ? 1 : polarityOf(rating) === 'negative' ? -1 : 0);
  const { rows } = await q.query<{
    i: number;
    peers: [string, string, string, string, boolean | null, boolean | null, boolean][] | null;
    lock_authors: number;
    lock_apps: number;
    lock_ids: string[] | null;
    week: number;
    before: number;
    week_all: number;
    burst_ids: string[] | null;
  }>(
    `WITH r AS (
       SELECT x.* FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::timestamptz[], $6::int[], $7::text[], $9::int[], $10::int[])
         WITH ORDINALITY AS x(review_id, app_id, user_id, developer_id, at, pol, suspect, gist_from, gist_to, i)
     )
     SELECT r.i::int,
       (SELECT json_agg(json_build_array(c.review_id, c.user_id, c.app_id, encode(c.gist_signature, 'base64'), ${FRESH('c')}, NOT c.verified, ${DORMANT('c')}))
          FROM (SELECT m.review_id FROM unnest(($8::bigint[])[r.gist_from:r.gist_to]) AS b(key) CROSS JOIN LATERAL (
                  SELECT k.review_id FROM integrity_bands k
                   WHERE k.band = b.key AND k.written_at <= r.at AND k.written_at > r.at - interval '30 days' AND k.review_id <> r.review_id
                   ORDER BY k.written_at DESC LIMIT ${GIST_PER_KEY}) m
                 GROUP BY m.review_id ORDER BY count(*) DESC LIMIT ${GIST_CANDIDATES}) top
          JOIN integrity_reviews c ON c.review_id = top.review_id
         WHERE r.pol <> 0 AND c.user_id <> r.user_id AND ${POL('c')} = r.pol AND c.gist_signature IS NOT NULL) AS peers,
       coalesce(ls.authors, 0) AS lock_authors, coalesce(ls.apps, 0) AS lock_apps, ls.ids AS lock_ids,
       coalesce(bu.week, 0) AS week, coalesce(bu.before, 0) AS before, bu.ids AS burst_ids,
       CASE WHEN r.suspect IS NOT NULL AND r.pol <> 0 THEN
         (SELECT count(*)::int FROM (SELECT 1 FROM integrity_reviews a
            WHERE a.app_id = r.app_id AND a.first_written_at > r.at - interval '7 days' AND a.first_written_at <= r.at AND ${POL('a')} = r.pol
              AND a.review_id <> r.review_id LIMIT 2000) z) ELSE 0 END AS week_all
       FROM r
       LEFT JOIN LATERAL (
         -- authors who reviewed another app of this author's near this author's review of it, and this app in the week before
         SELECT count(DISTINCT per.user_id) FILTER (WHERE per.same_dev OR per.shared >= 2)::int AS authors,
                count(DISTINCT a) FILTER (WHERE per.same_dev OR per.shared >= 2)::int AS apps,
                (array_agg(DISTINCT per.here) FILTER (WHERE per.same_dev OR per.shared >= 2))[1:50] AS ids
           FROM (SELECT o.user_id, count(DISTINCT o.app_id) AS shared, bool_or(mine.developer_id = r.developer_id) AS same_dev,
                        array_agg(DISTINCT o.app_id) AS apps, min(here.review_id::text)::uuid AS here
                   FROM (SELECT m.app_id, m.developer_id, m.first_written_at FROM integrity_reviews m
                          WHERE r.pol <> 0 AND m.user_id = r.user_id AND m.app_id <> r.app_id AND m.first_written_at > r.at - interval '14 days'
                            AND m.first_written_at <= r.at AND ${POL('m')} = r.pol
                          ORDER BY m.first_written_at DESC LIMIT 10) mine
                   CROSS JOIN LATERAL (
                     SELECT o.user_id, o.app_id FROM integrity_reviews o
                      WHERE o.app_id = mine.app_id AND o.user_id <> r.user_id AND ${POL('o')} = r.pol
                        AND o.first_written_at BETWEEN mine.first_written_at - interval '7 days' AND mine.first_written_at + interval '7 days'
                      LIMIT 500) o
                   JOIN LATERAL (
                     SELECT t.review_id FROM integrity_reviews t
                      WHERE t.app_id = r.app_id AND t.user_id = o.user_id AND t.first_written_at > r.at - interval '7 days' AND t.first_written_at <= r.at
                        AND ${POL('t')} = r.pol LIMIT 1) here ON true
                  GROUP BY o.user_id) per
           LEFT JOIN LATERAL unnest(per.apps) AS a ON true
       ) ls ON true
       LEFT JOIN LATERAL (
         SELECT count(*) FILTER (WHERE b.first_written_at > r.at - interval '7 days')::int AS week,
                count(*) FILTER (WHERE b.first_written_at <= r.at - interval '7 days')::int AS before,
                (array_agg(b.review_id ORDER BY b.first_written_at DESC) FILTER (WHERE b.first_written_at > r.at - interval '7 days'))[1:100] AS ids
           FROM (SELECT a.review_id, a.first_written_at FROM integrity_reviews a
                  WHERE r.suspect IS NOT NULL AND r.pol <> 0 AND a.app_id = r.app_id AND a.first_written_at > r.at - interval '37 days'
                    AND a.first_written_at <= r.at AND a.review_id <> r.review_id AND ${POL('a')} = r.pol
                    AND CASE r.suspect WHEN 'fresh' THEN ${FRESH('a')} ELSE NOT a.verified END
                  ORDER BY a.first_written_at DESC LIMIT 1000) b
       ) bu ON true
      ORDER BY r.i`,
    [
      batch.map((b) => b.reviewId),
      batch.map((b) => b.appId),
      batch.map((b) => b.userId),
      batch.map((b) => b.developerId),
      batch.map((b) => b.at.toISOString()),
      batch.map((b) => pol(b.rating)),
      batch.map((b) => (b.profile.fresh ? 'fresh' : b.profile.nonOwner ? 'non-owner' : null)),
      keys,
      from,
      to,
    ],
  );
  const peersOf = rows.map((row, i) => {
    const self = batch[i];
    const gistPeers: GistPeer[] = [];
    if (self.gist) {
      for (const [reviewId, userId, appId, sig, fresh, nonOwner, dormant] of row.peers ?? []) {
        const s = similarity(self.gist, decodeSignature(Buffer.from(sig, 'base64')));
        if (s >= Math.min(GROUP.gistSimilar, GROUP.gistSimilarHere))
          gistPeers.push({ reviewId, userId, appId, similarity: s, fresh: !!fresh, nonOwner: !!nonOwner, dormant });
      }
    }
    return gistPeers;
  });
  // the app's volume matters only to a gist group on it large enough to be judged by its share: counted for those alone
  const authorsHere = (i: number) =>
    new Set(peersOf[i].filter((p) => p.appId === batch[i].appId && p.similarity >= GROUP.gistSimilarHere).map((p) => p.userId)).size + 1;
  const volume = await appVolumes(
    q,
    batch.filter((_, i) => authorsHere(i) >= GROUP.gistShareAuthors),
  );
  return rows.map((row, i) => {
    const self = batch[i];
    const gistPeers = peersOf[i];
    const suspect = self.profile.fresh ? 'fresh' : self.profile.nonOwner ? 'non-owner' : null;
    return {
      self: { ...self.profile, appId: self.appId },
      gistPeers,
      appReviews: volume.get(self.reviewId) ?? 0,
      lockstep: { authors: row.lock_authors, apps: row.lock_apps, reviewIds: row.lock_ids ?? [] },
      burst:
        suspect && polarityOf(self.rating)
          ? { kind: suspect, week: row.week + 1, before: row.before, weekAll: row.week_all + 1, reviewIds: row.burst_ids ?? [] }
          : null,
    };
  });
}

/** Same-polarity reviews of each review's app in the 30 days before it (at most 2,000 counted). */
async function appVolumes(q: Queryable, reviews: GroupQuery[]): Promise<Map<string, number>> {
  if (!reviews.length) return new Map();
  const { rows } = await q.query<{ review_id: string; n: number }>(
    `SELECT r.review_id, (SELECT count(*)::int FROM (SELECT 1 FROM integrity_reviews a
              WHERE a.app_id = r.app_id AND a.first_written_at > r.at - interval '30 days' AND a.first_written_at <= r.at
                AND ${POL('a')} = r.pol AND a.review_id <> r.review_id LIMIT 2000) z) AS n
       FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::int[]) AS r(review_id, app_id, at, pol)`,
    [reviews.map((r) => r.reviewId), reviews.map((r) => r.appId), reviews.map((r) => r.at.toISOString()), reviews.map((r) => (r.rating >= 4 ? 1 : -1))],
  );
  return new Map(rows.map((r) => [r.review_id, r.n]));
}

/**
 * Records a group found around reviews, in one statement: joins the group one of them already belongs to (same
 * kind), else opens one; adds them as members. A group's authors and apps are the most one finding counted.
 * Returns the group's id.
 */
export async function recordGroup(
  q: Queryable,
  g: { kind: string; reason: string; decision: string; foundBy: 'incremental' | 'periodic'; reviewIds: string[] },
): Promise<string> {
  const { rows } = await q.query<{ id: string }>(
    `WITH existing AS (
       SELECT g.id FROM integrity_group_members m JOIN integrity_groups g ON g.id = m.group_id
        WHERE m.review_id = ANY($1::uuid[]) AND g.kind = $2 ORDER BY g.found_at LIMIT 1
     ), chosen AS (
       SELECT coalesce((SELECT id FROM existing), $3::uuid) AS id
     ), given AS (
       SELECT review_id, user_id, app_id FROM integrity_reviews WHERE review_id = ANY($1::uuid[])
     ), size AS (
       SELECT count(DISTINCT user_id)::int AS authors, count(DISTINCT app_id)::int AS apps FROM given
     ), created AS (
       INSERT INTO integrity_groups (id, kind, reason, authors, apps, decision, found_by)
       SELECT chosen.id, $2, $4, size.authors, size.apps, $5, $6 FROM chosen, size WHERE NOT EXISTS (SELECT 1 FROM existing)
     ), updated AS (
       UPDATE integrity_groups g SET reason = $4, decision = CASE WHEN $5 = 'reject' THEN 'reject' ELSE g.decision END,
              authors = greatest(g.authors, size.authors), apps = greatest(g.apps, size.apps)
         FROM size WHERE g.id = (SELECT id FROM existing)
     ), added AS (
       INSERT INTO integrity_group_members (group_id, review_id, user_id)
       SELECT (SELECT id FROM chosen), review_id, user_id FROM given ON CONFLICT DO NOTHING
     )
     SELECT id FROM chosen`,
    [g.reviewIds, g.kind, randomUUID(), g.reason, g.decision, g.foundBy],
  );
  return rows[0].id;
}

export interface Revision {
  reviewId: string;
  revision: number;
  from: string;
  to: string;
  reason: string;
  groupId?: string | null;
  foundBy: 'incremental' | 'periodic';
}

/** Records verdicts revised after the first one, each with its reason. */
export async function recordRevisions(q: Queryable, revisions: Revision[]): Promise<void> {
  if (!revisions.length) return;
  await q.query(
    `INSERT INTO integrity_revisions (review_id, revision, from_status, to_status, reason, group_id, found_by)
     SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::text[], $6::uuid[], $7::text[])`,
    [
      revisions.map((r) => r.reviewId),
      revisions.map((r) => r.revision),
      revisions.map((r) => r.from),
      revisions.map((r) => r.to),
      revisions.map((r) => r.reason),
      revisions.map((r) => r.groupId ?? null),
      revisions.map((r) => r.foundBy),
    ],
  );
}
