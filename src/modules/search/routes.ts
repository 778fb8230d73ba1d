// HTTP: thin, schema-first routes over SearchService. Registered under /api/v1.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import * as S from './schemas.ts';
import type { SearchService } from './service.ts';

const errors = { '4xx': S.ErrorBody };
/** Result pages are spliced from pre-serialised summaries by the service: sent as they are, no serializer runs. */
const JSON_TYPE = 'application/json; charset=utf-8';
const sendJson = (reply: FastifyReply, json: string) => reply.type(JSON_TYPE).send(json);

export function searchRoutes(service: SearchService): FastifyPluginAsyncTypebox {
  return async (app) => {
    const tags = ['search'];
    // The index is built once the server listens (not on inject/ready: tests start it themselves),
    // in the background: until it is ready, the database fallback answers.
    app.addHook('onListen', async () => {
      void service.start();
    });
    app.addHook('onClose', async () => service.close());

    app.get(
      '/search',
      {
        schema: {
          tags,
          summary: 'Search published apps (typo-tolerant; filters; cursor pages up to 500 results)',
          querystring: S.SearchQuery,
          response: { 200: S.SearchPage, ...errors },
        },
      },
      async (req, reply) => sendJson(reply, await service.searchJson(req.query)),
    );

    app.get(
      '/search/suggest',
      {
        schema: {
          tags,
          summary: 'Suggestions while typing: app names and popular queries',
          querystring: S.SuggestQuery,
          response: { 200: S.Suggestions, ...errors },
        },
      },
      async (req) => service.suggest(req.query.q, req.query.limit),
    );

    app.get(
      '/apps/:id/similar',
      {
        schema: {
          tags,
          summary: 'Apps similar to a published app',
          params: S.SimilarParams,
          querystring: S.SimilarQuery,
          response: { 200: S.SimilarApps, ...errors },
        },
      },
      async (req, reply) => sendJson(reply, await service.similarJson(req.params.id, req.query.limit)),
    );
  };
}
