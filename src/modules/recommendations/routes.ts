// HTTP: thin, schema-first routes over RecommendationsService. Registered under /api/v1.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { principalOf, type Guards } from '../../platform/http/auth.ts';
import { AppSummary } from '../search/index.ts';
import type { RecommendationsService } from './service.ts';

const ErrorBody = Type.Object({ error: Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Unknown()) }) });
const errors = { '4xx': ErrorBody };
const tags = ['recommendations'];
const Country = Type.String({ pattern: '^[A-Z]{2}$', description: 'storefront (default US): prices and charts of this country' });
const sendJson = (reply: FastifyReply, json: string) => reply.type('application/json; charset=utf-8').send(json);

const MyQuery = Type.Object({ country: Type.Optional(Country) }, { additionalProperties: false });
const Rows = Type.Object({
  rows: Type.Array(
    Type.Object({
      kind: Type.Enum(['because', 'might-like', 'popular', 'trending']),
      title: Type.String(),
      basedOn: Type.Optional(Type.String({ format: 'uuid', description: 'because: the app of yours the row is about' })),
      category: Type.Optional(Type.String()),
      items: Type.Array(AppSummary),
    }),
  ),
});
const AppParams = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });
const SimilarQuery = Type.Object(
  { country: Type.Optional(Country), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 30, default: 10 })) },
  { additionalProperties: false },
);

export function recommendationsRoutes(service: RecommendationsService): FastifyPluginAsync<{ guards: Guards }> {
  const plugin: FastifyPluginAsyncTypebox<{ guards: Guards }> = async (app, { guards }) => {
    app.get(
      '/me/recommendations',
      {
        onRequest: guards.user,
        schema: {
          tags,
          security: [{ session: [] }],
          querystring: MyQuery,
          response: { 200: Rows, ...errors },
          summary: 'My rows: "Because you downloaded X" (up to 3), "Apps you might like", "Popular in <category>"; charts when my library is empty',
        },
      },
      async (req, reply) => sendJson(reply, await service.forUserJson(principalOf(req).userId, req.query.country)),
    );
    app.get(
      '/apps/:id/recommendations',
      {
        schema: {
          tags,
          params: AppParams,
          querystring: SimilarQuery,
          response: { 200: Type.Object({ items: Type.Array(AppSummary) }), ...errors },
          summary: 'Apps like this one: more-like-this blended with "people who got this also got", re-ranked by quality',
        },
      },
      async (req, reply) => sendJson(reply, await service.similarJson(req.params.id, req.query.country, req.query.limit)),
    );
  };
  return plugin as FastifyPluginAsync<{ guards: Guards }>;
}
