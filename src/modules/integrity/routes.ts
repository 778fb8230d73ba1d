// HTTP: the moderation queue and the integrity model's state, for admins. Registered under /api/v1.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf, type Guards } from '../../platform/http/auth.ts';
import { ModerationPage, ModerationReview } from '../reviews/index.ts';
import type { IntegrityService } from './service.ts';

const ErrorBody = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Unknown()) }),
});
const errors = { '4xx': ErrorBody };
const security = [{ session: [] }];
const tags = ['moderation'];

const QueueQuery = Type.Object(
  {
    status: Type.Optional(Type.Union([Type.Literal('held'), Type.Literal('pending'), Type.Literal('approved'), Type.Literal('rejected')], { default: 'held' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ maxLength: 512, description: 'nextCursor of the previous page' })),
  },
  { additionalProperties: false },
);
const ReviewParams = Type.Object({ reviewId: Type.String({ format: 'uuid' }) });
const Status = Type.Object({
  scoring: Type.String({ description: "'seed-weights', or 'logistic-v<version>' once a model is trained" }),
  model: Type.Union([
    Type.Object({
      version: Type.Integer(),
      trainedAt: Type.String({ format: 'date-time' }),
      labels: Type.Integer(),
      metrics: Type.Record(Type.String(), Type.Number()),
    }),
    Type.Null(),
  ]),
  labels: Type.Object({ genuine: Type.Integer(), fake: Type.Integer(), needed: Type.Object({ total: Type.Integer(), perClass: Type.Integer() }) }),
  weights: Type.Record(Type.String(), Type.Number()),
  thresholds: Type.Object({ reject: Type.Number(), approve: Type.Number() }),
});
const DecisionBody = Type.Object(
  {
    decision: Type.Union([Type.Literal('approve'), Type.Literal('reject')]),
    revision: Type.Optional(Type.Integer({ minimum: 1, description: 'the revision you looked at: a 409 REVIEW_EDITED if the author edited it since' })),
    note: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false },
);

export function integrityRoutes(service: IntegrityService): FastifyPluginAsyncTypebox<{ guards: Guards }> {
  return async (app, { guards }) => {
    app.addHook('onRequest', guards.role('admin'));

    app.get(
      '/admin/reviews',
      {
        schema: {
          tags,
          security,
          summary: 'Reviews by status with their integrity score and signals (default: held for manual review), oldest first',
          querystring: QueueQuery,
          response: { 200: ModerationPage, ...errors },
        },
      },
      async (req) => service.queue({ status: req.query.status ?? 'held', limit: req.query.limit ?? 20, cursor: req.query.cursor }),
    );

    app.get(
      '/admin/reviews/:reviewId',
      {
        schema: {
          tags,
          security,
          summary: 'One review with its integrity score, signals and reports',
          params: ReviewParams,
          response: { 200: ModerationReview, ...errors },
        },
      },
      async (req) => service.review(req.params.reviewId),
    );

    app.post(
      '/admin/reviews/:reviewId/decision',
      {
        schema: {
          tags,
          security,
          summary: 'Approve or reject a review; the decision is kept as a label that `orchard integrity train` learns from',
          params: ReviewParams,
          body: DecisionBody,
          response: { 200: ModerationReview, ...errors },
        },
      },
      async (req) => service.decide(principalOf(req).userId, req.params.reviewId, req.body),
    );

    app.get(
      '/admin/integrity',
      {
        schema: {
          tags,
          security,
          summary: 'What scores reviews now (seed weights or a trained model), the labels gathered, weights and thresholds',
          response: { 200: Status, ...errors },
        },
      },
      async () => service.status(),
    );
  };
}
