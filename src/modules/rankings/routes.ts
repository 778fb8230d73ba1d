// HTTP: thin, schema-first routes over RankingsService. Registered under /api/v1.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { principalOf, type Guards } from '../../platform/http/auth.ts';
import * as S from './schemas.ts';
import type { RankingsService } from './service.ts';

const errors = { '4xx': S.ErrorBody };
const security = [{ session: [] }];
const tags = ['charts'];
/** Chart pages are pre-serialised by the service: sent as they are, no serializer runs. */
const sendJson = (reply: FastifyReply, json: string | Buffer) => reply.type('application/json; charset=utf-8').send(json);

export function rankingsRoutes(service: RankingsService): FastifyPluginAsync<{ guards: Guards }> {
  const plugin: FastifyPluginAsyncTypebox<{ guards: Guards }> = async (app, { guards }) => {
    app.get(
      '/charts',
      {
        schema: {
          tags,
          summary: 'A chart of a storefront (overall or for a category), from the latest hourly run',
          querystring: S.ChartQuery,
          response: { 200: S.ChartPage, ...errors },
        },
      },
      (req, reply) => {
        const hit = service.peekChart(req.query);
        if (hit) {
          sendJson(reply, hit);
          return;
        }
        return service.chartJson(req.query).then((json) => void sendJson(reply, json));
      },
    );

    app.get(
      '/apps/:id/charts',
      {
        schema: {
          tags,
          summary: "The app's positions in the current charts (top 100 of each)",
          params: S.AppParams,
          response: { 200: S.Positions, ...errors },
        },
      },
      async (req) => service.positionsOf(req.params.id),
    );

    await app.register(developerRoutes(service), { guards });
  };
  return plugin as FastifyPluginAsync<{ guards: Guards }>;
}

function developerRoutes(service: RankingsService): FastifyPluginAsyncTypebox<{ guards: Guards }> {
  return async (app, { guards }) => {
    app.addHook('onRequest', guards.role('developer'));
    app.get(
      '/developer/apps/:id/charts',
      {
        schema: {
          tags,
          security,
          summary: "My app in the charts: current positions with each signal's score, and its best rank per day",
          params: S.AppParams,
          querystring: S.HistoryQuery,
          response: { 200: S.AppChartAnalytics, ...errors },
        },
      },
      async (req) => service.analytics(principalOf(req).developerId, req.params.id, req.query),
    );
  };
}
