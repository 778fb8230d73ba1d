// How much one account's helpful vote or abuse report counts: a trust weight in [0, 1], from facts read in the
// transaction that records the vote or report (trustFacts). Pure arithmetic here (trustWeight), so it is
// unit-tested beside its code. A ring of fresh accounts, all made the same minute, adds almost nothing; an
// aged account that owns the app counts fully.
//
//   age      0.05 for a new account, 0.10 at 7 days, then linearly to 1 at 90 days
//   owner    +0.3 × min(1, 0.2 + age) when the account holds the app in Production (library's owned_apps) or
//            bought in it there: owning a free app is cheap, so a new owner gets +0.075, an aged one the full +0.3
//   history  +0.1 per approved review of another app (at most +0.3), +0.02 per own vote cast at least 7 days
//            earlier (at most +0.1): fresh votes are no history, or a ring would earn trust by voting
//   base     min(1, age + owner + history)
//   cohort   base / (1 + k), k = the other accounts that already voted on (or reported) this review and were
//            created within 10 minutes of this account: the first of a same-minute group counts as an ordinary
//            new account, the n-th counts 1/n of it
//   flagged  × 0.1 when review integrity rejected one of the account's reviews or found it in a group (a ring,
//            a farm, a dense block): a detected group's votes and reports are discounted like a cohort's
//   weight   rounded to 3 decimals (what the numeric(4,3) columns store)
import type { Queryable } from '../../platform/db/index.ts';

/** Other voters/reporters created within this many minutes of the account form its cohort. */
export const COHORT_WINDOW_MINUTES = 10;
/** Own votes count as history only once this old. */
export const VOTE_HISTORY_MIN_AGE_DAYS = 7;

export interface TrustFacts {
  /** Days since the account was created (fractions allowed). */
  accountAgeDays: number;
  /** Holds the reviewed app (Production acquisition) or bought in it in Production. */
  ownsApp: boolean;
  /** The account's approved reviews of other apps. */
  approvedReviewsElsewhere: number;
  /** The account's own helpful votes cast at least VOTE_HISTORY_MIN_AGE_DAYS ago. */
  agedVotes: number;
  /** Other accounts that already voted on (or reported) this review, created within COHORT_WINDOW_MINUTES of this one. */
  cohortPeers: number;
  /** Review integrity rejected one of the account's reviews, or held or rejected one for its group. */
  flagged?: boolean;
}

/** What a flagged account's vote or report still counts for. */
export const FLAGGED_FACTOR = 0.1;

/** 0.05 for a new account, 0.1 at 7 days, linearly to 1 at 90 days. */
export function ageWeight(days: number): number {
  if (!(days > 0)) return 0.05;
  if (days < 7) return 0.05 + (0.05 * days) / 7;
  if (days < 90) return 0.1 + (0.9 * (days - 7)) / 83;
  return 1;
}

export function trustWeight(f: TrustFacts): number {
  const history = Math.min(0.3, 0.1 * Math.max(0, f.approvedReviewsElsewhere)) + Math.min(0.1, 0.02 * Math.max(0, f.agedVotes));
  const age = ageWeight(f.accountAgeDays);
  const owner = f.ownsApp ? 0.3 * Math.min(1, 0.2 + age) : 0;
  const base = Math.min(1, age + owner + history);
  const weight = (base / (1 + Math.max(0, f.cohortPeers))) * (f.flagged ? FLAGGED_FACTOR : 1);
  return Math.min(1, Math.max(0, Math.round(weight * 1000) / 1000));
}

/**
 * The facts about `userId` for a vote or report on `reviewId` (of `appId`), at `now`, in the caller's transaction.
 * `peers`: the table whose rows on this review make the cohort (votes for a vote, reports for a report).
 */
export async function trustFacts(
  q: Queryable,
  o: { userId: string; appId: string; reviewId: string; now: Date; peers: 'review_votes' | 'review_reports' },
): Promise<TrustFacts> {
  const { rows } = await q.query<{ age_days: number; owns: boolean; reviews: number; votes: number; cohort: number; flagged: boolean }>(
    `SELECT extract(epoch from ($2::timestamptz - u.created_at))::float8 / 86400 AS age_days,
            (EXISTS (SELECT 1 FROM owned_apps o WHERE o.user_id = u.id AND o.app_id = $3)
             OR EXISTS (SELECT 1 FROM purchases_transactions t
                         WHERE t.user_id = u.id AND t.app_id = $3 AND t.environment = 'Production' AND t.revocation_date IS NULL)) AS owns,
            (SELECT count(*)::int FROM reviews r WHERE r.user_id = u.id AND r.app_id <> $3 AND r.status = 'approved') AS reviews,
            (SELECT count(*)::int FROM review_votes v
              WHERE v.user_id = u.id AND v.created_at <= $2::timestamptz - make_interval(days => $5)) AS votes,
            (SELECT count(*)::int FROM ${o.peers} p JOIN identity_users pu ON pu.id = p.user_id
              WHERE p.review_id = $4 AND p.user_id <> u.id
                AND pu.created_at BETWEEN u.created_at - make_interval(mins => $6) AND u.created_at + make_interval(mins => $6)) AS cohort,
            EXISTS (SELECT 1 FROM reviews r WHERE r.user_id = u.id AND r.status IN ('held', 'rejected')
                       AND (r.status = 'rejected' OR r.integrity_signals @> '[{"name": "group", "decisive": "hold"}]'
                            OR r.integrity_signals @> '[{"name": "group", "decisive": "reject"}]')) AS flagged
       FROM identity_users u WHERE u.id = $1`,
    [o.userId, o.now, o.appId, o.reviewId, VOTE_HISTORY_MIN_AGE_DAYS, COHORT_WINDOW_MINUTES],
  );
  const r = rows[0];
  if (!r) return { accountAgeDays: 0, ownsApp: false, approvedReviewsElsewhere: 0, agedVotes: 0, cohortPeers: 0, flagged: false };
  return {
    accountAgeDays: Number(r.age_days),
    ownsApp: r.owns === true,
    approvedReviewsElsewhere: Number(r.reviews),
    agedVotes: Number(r.votes),
    cohortPeers: Number(r.cohort),
    flagged: r.flagged === true,
  };
}
