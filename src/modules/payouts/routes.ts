// HTTP: thin, schema-first routes over PayoutsService. Registered under /api/v1.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { principalOf, type Guards } from '../../platform/http/auth.ts';
import { idempotencyKeyOf } from '../../platform/http/idempotency.ts';
import * as S from './schemas.ts';
import type { PayoutsService } from './service.ts';

interface Options {
  guards: Guards;
  service: PayoutsService;
}

const errors = { '4xx': S.ErrorBody };
const security = [{ session: [] }];

export function payoutsRoutes(service: PayoutsService): FastifyPluginAsync<{ guards: Guards }> {
  return async (app, { guards }) => {
    await app.register(developerRoutes, { guards, service });
    await app.register(adminRoutes, { guards, service });
  };
}

const developerRoutes: FastifyPluginAsyncTypebox<Options> = async (app, { guards, service }) => {
  app.addHook('onRequest', guards.role('developer'));
  const tags = ['payouts'];
  const developerOf = (req: FastifyRequest) => principalOf(req).developerId;

  app.get(
    '/developer/payouts',
    { schema: { tags, security, summary: 'My payouts, newest period first', querystring: S.PageQuery, response: { 200: S.PayoutPage, ...errors } } },
    async (req) => service.listPayouts(developerOf(req), req.query.limit, req.query.cursor),
  );

  app.get(
    '/developer/payouts/:id',
    {
      schema: {
        tags,
        security,
        summary: 'Statement of one of my payouts: the ledger lines it paid (pages of lines)',
        params: S.IdParams,
        querystring: S.StatementQuery,
        response: { 200: S.Statement, ...errors },
      },
    },
    async (req) => service.statement(developerOf(req), req.params.id, req.query.limit, req.query.cursor),
  );

  app.get(
    '/developer/balance',
    { schema: { tags, security, summary: 'Unpaid Production proceeds per currency: closed months and this month', response: { 200: S.Balance, ...errors } } },
    async (req) => service.balance(developerOf(req)),
  );
};

const adminRoutes: FastifyPluginAsyncTypebox<Options> = async (app, { guards, service }) => {
  app.addHook('onRequest', guards.role('admin'));

  app.post(
    '/admin/payouts',
    {
      schema: {
        tags: ['payouts: admin'],
        security,
        summary: 'Close a month: one payout per developer and currency (needs an Idempotency-Key header; running it again pays nothing twice)',
        body: S.ClosePeriodBody,
        response: { 200: S.CloseSummary, ...errors },
      },
    },
    async (req) => {
      idempotencyKeyOf(req);
      return service.closePeriod(req.body.period);
    },
  );
};
