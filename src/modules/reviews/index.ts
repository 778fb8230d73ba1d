// The reviews module: users' reviews of apps (one per user per app), public lists of approved ones, rating
// summaries, helpful votes, abuse reports and developer responses. The integrity module scores each revision
// (review.created / review.updated) and decides with applyVerdict. Other modules import only this file.
//
// Owns: reviews, review_votes, review_reports, app_rating_summaries, app_rating_deltas. Publishes (events.ts):
// review.created, review.updated, review.deleted, review.moderated, review.responded. Consumes nothing (integrity
// calls applyVerdict). Jobs: reviews.ratings-mirror (into the catalog through its setRatings).
// Reads: catalog_apps, identity_users, library's owned_apps and purchases_transactions (the trust of voters and reporters).
import path from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import type { Infra } from '../../config.ts';
import type { Guards } from '../../platform/http/auth.ts';
import type { Job } from '../../platform/jobs/index.ts';
import type { Limit } from '../../platform/http/rate-limit.ts';
import type { Commerce } from '../purchases/index.ts';
import { verdicts, type Clock } from './moderation.ts';
import { DEFAULT_REVIEW_LIMITS, reviewsRoutes, type ReviewLimits } from './routes.ts';
import { ReviewsService } from './service.ts';
import { mirrorRatings } from './ratings.ts';

export const reviewsMigrations = path.join(path.dirname(new URL(import.meta.url).pathname), 'migrations');

export {
  INTEGRITY_ACTIONS,
  type AuthorProfile,
  type ReviewsEvents,
  REVIEW_STATUSES,
  type IntegrityAction,
  type ReviewDeleted,
  type ReviewModerated,
  type ReviewResponded,
  type ReviewStatus,
  type ReviewSubmitted,
  type ReviewSubmittedEvent,
  type Verdict,
} from './events.ts';
export { ReviewsService, REPORT_HOLD_THRESHOLD } from './service.ts';
export type { ApplyVerdict, ApplyVerdicts, Clock, IntegrityApproved, QueueQuery } from './moderation.ts';
export { flaggedAuthors, integrityApproved, integrityHeld } from './moderation.ts';
export { PRIOR_MEAN, PRIOR_WEIGHT, bayesianAverage, plausibleHistogram } from './ratings.ts';
export { DEFAULT_REVIEW_LIMITS, type ReviewLimits } from './routes.ts';
export { ModerationPage, ModerationReview, REPORT_REASONS, REVIEW_SORTS, RatingSummary, type ReportReason, type ReviewSort } from './schemas.ts';

/** How often changed rating summaries are copied into apps (and app.changed recorded). */
export const MIRROR_INTERVAL_MS = 5000;

export interface ReviewsDeps extends Pick<Infra, 'db' | 'cache' | 'bus' | 'logger'> {
  /** For the verified badge: the author holds the app's 'app' entitlement in Production. */
  purchases: Pick<Commerce, 'entitlements'>;
  /** Stamps created_at / updated_at / writtenAt and the other times the module writes (default: the wall clock). */
  clock?: Clock;
  /** Overrides of the default per-user rate limits. */
  limits?: { [K in keyof ReviewLimits]?: Pick<Limit, 'max' | 'windowMs'> };
}

export function createReviews(deps: ReviewsDeps) {
  const clock = deps.clock ?? (() => new Date());
  const service = new ReviewsService({ db: deps.db, bus: deps.bus, purchases: deps.purchases, clock });
  /** Applies integrity's or a moderator's verdict inside the caller's transaction; false when the review is gone or was edited since. */
  const { applyVerdict, applyVerdicts } = verdicts(clock);
  const limits = Object.fromEntries(
    Object.entries(DEFAULT_REVIEW_LIMITS).map(([k, d]) => [k, { ...d, ...deps.limits?.[k as keyof ReviewLimits] }]),
  ) as unknown as ReviewLimits;
  const routes: FastifyPluginAsync<{ guards: Guards }> = reviewsRoutes(service, deps.cache, limits);

  let running: Promise<unknown> = Promise.resolve();
  /** Copies changed rating summaries into apps (and records app.changed) now; the job does it every MIRROR_INTERVAL_MS. */
  const mirrorNow = () => (running = running.then(() => mirrorRatings(deps.db)).finally(() => deps.bus.nudge()));
  const jobs: Job[] = [{ name: 'reviews.ratings-mirror', everyMs: MIRROR_INTERVAL_MS, run: mirrorNow }];
  return { name: 'reviews', migrations: reviewsMigrations, routes, jobs, service, applyVerdict, applyVerdicts, mirrorRatings: mirrorNow };
}
export type Reviews = ReturnType<typeof createReviews>;
