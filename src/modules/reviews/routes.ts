// HTTP: thin, schema-first routes over ReviewsService. Registered under /api/v1.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { Cache } from '../../platform/cache/index.ts';
import { principalOf, type Guards } from '../../platform/http/auth.ts';
import { hit, type Limit } from '../../platform/http/rate-limit.ts';
import * as S from './schemas.ts';
import { REPORT_HOLD_THRESHOLD, type ReviewsService } from './service.ts';

export interface ReviewLimits {
  /** Writing, editing and deleting one's review, and developer responses, per user. */
  writes: Limit;
  /** Helpful votes and their withdrawal, per user. */
  votes: Limit;
  /** Abuse reports, per user. */
  reports: Limit;
}
export const DEFAULT_REVIEW_LIMITS: ReviewLimits = {
  writes: { name: 'review-write', max: 30, windowMs: 60_000 },
  votes: { name: 'review-vote', max: 120, windowMs: 60_000 },
  reports: { name: 'review-report', max: 20, windowMs: 60 * 60_000 },
};

interface Options {
  guards: Guards;
  service: ReviewsService;
  cache: Cache;
  limits: ReviewLimits;
}

const errors = { '4xx': S.ErrorBody };
const security = [{ session: [] }];

export function reviewsRoutes(service: ReviewsService, cache: Cache, limits: ReviewLimits): FastifyPluginAsync<{ guards: Guards }> {
  return async (app, { guards }) => {
    const opts: Options = { guards, service, cache, limits };
    await app.register(publicRoutes, opts);
    await app.register(userRoutes, opts);
    await app.register(developerRoutes, opts);
  };
}

const publicRoutes: FastifyPluginAsyncTypebox<Options> = async (app, { guards, service }) => {
  const tags = ['reviews'];

  app.get(
    '/apps/:id/reviews',
    {
      onRequest: guards.optional,
      schema: {
        tags,
        security: [{}, { session: [] }],
        summary:
          "Approved reviews of a published app (default: most helpful first). Signed in: one's own review is marked, and shown first with its status while not approved",
        params: S.AppParams,
        querystring: S.ListQuery,
        response: { 200: S.ReviewPage, ...errors },
      },
    },
    async (req) => service.list(req.params.id, req.query, req.principal?.userId ?? null),
  );

  app.get(
    '/apps/:id/ratings',
    {
      schema: {
        tags,
        summary: 'Rating summary of a published app: count, average, histogram and Bayesian average (approved reviews only)',
        params: S.AppParams,
        response: { 200: S.RatingSummary, ...errors },
      },
    },
    async (req) => service.ratings(req.params.id),
  );
};

const userRoutes: FastifyPluginAsyncTypebox<Options> = async (app, { guards, service, cache, limits }) => {
  app.addHook('onRequest', guards.user);
  const tags = ['reviews'];

  app.put(
    '/apps/:id/reviews/mine',
    {
      bodyLimit: S.REVIEW_BODY_LIMIT_BYTES,
      schema: {
        tags,
        security,
        summary:
          "Write (201) or edit (200) my review of a published app: one per user per app. Each edit waits for integrity checks again (status pending). 403 OWN_APP for the app's developer",
        params: S.AppParams,
        body: S.ReviewInput,
        response: { 200: S.MyReview, 201: S.MyReview, ...errors },
      },
    },
    async (req, reply) => {
      const principal = principalOf(req);
      await hit(cache, limits.writes, principal.userId);
      const { review, created } = await service.writeMine(principal, req.params.id, req.body);
      return reply.code(created ? 201 : 200).send(review);
    },
  );

  app.get(
    '/apps/:id/reviews/mine',
    {
      schema: {
        tags,
        security,
        summary: 'My review of an app, whatever its status (404 when I have none)',
        params: S.AppParams,
        response: { 200: S.MyReview, ...errors },
      },
    },
    async (req) => service.getMine(principalOf(req).userId, req.params.id),
  );

  app.delete(
    '/apps/:id/reviews/mine',
    {
      schema: {
        tags,
        security,
        summary: 'Delete my review of an app (its votes and reports go with it)',
        params: S.AppParams,
        response: { 204: S.NoContent, ...errors },
      },
    },
    async (req, reply) => {
      const { userId } = principalOf(req);
      await hit(cache, limits.writes, userId);
      await service.deleteMine(userId, req.params.id);
      return reply.code(204).send(null);
    },
  );

  app.put(
    '/reviews/:reviewId/helpful',
    {
      schema: {
        tags,
        security,
        summary: "Vote a review helpful (idempotent; approved reviews of others only: 403 OWN_REVIEW on one's own)",
        params: S.ReviewParams,
        response: { 200: S.HelpfulVote, ...errors },
      },
    },
    async (req) => {
      const { userId } = principalOf(req);
      await hit(cache, limits.votes, userId);
      return service.vote(userId, req.params.reviewId);
    },
  );

  app.delete(
    '/reviews/:reviewId/helpful',
    { schema: { tags, security, summary: 'Take my helpful vote back (idempotent)', params: S.ReviewParams, response: { 200: S.HelpfulVote, ...errors } } },
    async (req) => {
      const { userId } = principalOf(req);
      await hit(cache, limits.votes, userId);
      return service.unvote(userId, req.params.reviewId);
    },
  );

  app.post(
    '/reviews/:reviewId/reports',
    {
      schema: {
        tags,
        security,
        summary: `Report an approved review (201; once per user: a repeat answers 200 with the first report). Reported by ${REPORT_HOLD_THRESHOLD} users, it is held for a moderator`,
        params: S.ReviewParams,
        body: S.ReportInput,
        response: { 200: S.Report, 201: S.Report, ...errors },
      },
    },
    async (req, reply) => {
      const { userId } = principalOf(req);
      await hit(cache, limits.reports, userId);
      const { report, created } = await service.report(userId, req.params.reviewId, req.body);
      return reply.code(created ? 201 : 200).send(report);
    },
  );
};

const developerRoutes: FastifyPluginAsyncTypebox<Options> = async (app, { guards, service, cache, limits }) => {
  app.addHook('onRequest', guards.role('developer'));
  const tags = ['reviews: developer'];

  app.get(
    '/developer/apps/:id/reviews',
    {
      schema: {
        tags,
        security,
        summary: 'Every review of my app, any status (or one), most recent first by default',
        params: S.AppParams,
        querystring: S.DeveloperListQuery,
        response: { 200: S.DeveloperReviewPage, ...errors },
      },
    },
    async (req) => service.developerList(principalOf(req), req.params.id, req.query),
  );

  app.put(
    '/developer/apps/:id/reviews/:reviewId/response',
    {
      bodyLimit: S.REVIEW_BODY_LIMIT_BYTES,
      schema: {
        tags,
        security,
        summary: 'Write or edit my one public response to a review of my app',
        params: S.AppReviewParams,
        body: S.ResponseInput,
        response: { 200: S.DeveloperReviewItem, ...errors },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      await hit(cache, limits.writes, principal.userId);
      return service.respond(principal, req.params.id, req.params.reviewId, req.body.body);
    },
  );

  app.delete(
    '/developer/apps/:id/reviews/:reviewId/response',
    { schema: { tags, security, summary: 'Remove my response to a review', params: S.AppReviewParams, response: { 204: S.NoContent, ...errors } } },
    async (req, reply) => {
      const principal = principalOf(req);
      await hit(cache, limits.writes, principal.userId);
      await service.deleteResponse(principal, req.params.id, req.params.reviewId);
      return reply.code(204).send(null);
    },
  );
};
