// HTTP: thin, schema-first routes over the commerce services. Registered under /api/v1.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { principalOf, type Guards } from '../../platform/http/auth.ts';
import { idempotencyKeyOf, type StoredResponse } from '../../platform/http/idempotency.ts';
import { hit, type Limit } from '../../platform/http/rate-limit.ts';
import type { Cache } from '../../platform/cache/index.ts';
import * as S from './schemas.ts';
import type { CommerceApi } from './index.ts';

export interface PurchaseLimits {
  /** Purchase attempts per user. */
  purchases: Limit;
  /** Receipt verifications per client address. */
  verify: Limit;
}
export const DEFAULT_PURCHASE_LIMITS: PurchaseLimits = {
  purchases: { name: 'purchase', max: 120, windowMs: 60_000 },
  verify: { name: 'receipt-verify', max: 600, windowMs: 60_000 },
};

const authed = [{ session: [] }];

function sendStored(reply: FastifyReply, r: StoredResponse & { replayed?: boolean }) {
  if (r.replayed) reply.header('idempotent-replayed', 'true');
  return reply.code(r.status).send(r.body);
}

export function purchasesRoutes(commerce: CommerceApi, cache: Cache, limits: PurchaseLimits): FastifyPluginAsyncTypebox<{ guards: Guards }> {
  return async (app, { guards }) => {
    const tags = ['commerce'];

    app.post(
      '/purchases',
      {
        preHandler: guards.user,
        schema: {
          tags,
          security: authed,
          summary: 'Buy (or get, when free) an app or an in-app product. Requires an Idempotency-Key header.',
          headers: { type: 'object', properties: { 'idempotency-key': { type: 'string' } } },
          body: S.PurchaseBody,
          response: { 201: S.PurchaseResult, ...S.errors },
        },
      },
      async (req, reply) => {
        const principal = principalOf(req);
        const key = idempotencyKeyOf(req);
        await hit(cache, limits.purchases, principal.userId);
        return sendStored(reply, await commerce.purchases.purchase(principal, key, req.body));
      },
    );

    app.get(
      '/me/entitlements',
      {
        preHandler: guards.user,
        schema: {
          tags,
          security: authed,
          summary: 'What the signed-in user may use in an app now (derived from transactions)',
          querystring: S.EntitlementsQuery,
          response: { 200: S.Entitlements, ...S.errors },
        },
      },
      async (req) => {
        const environment = req.query.environment ?? 'Production';
        return { appId: req.query.appId, environment, entitlements: await commerce.entitlements(principalOf(req).userId, req.query.appId, environment) };
      },
    );

    app.get(
      '/me/transactions',
      {
        preHandler: guards.user,
        schema: {
          tags,
          security: authed,
          summary: "The signed-in user's transactions for an app, newest first, each a signed JWS (StoreKit's Transaction.all)",
          querystring: S.TransactionsQuery,
          response: { 200: S.TransactionPage, ...S.errors },
        },
      },
      async (req) =>
        commerce.transactions(principalOf(req).userId, req.query.appId, req.query.environment ?? 'Production', req.query.limit ?? 50, req.query.cursor),
    );

    app.get(
      '/me/subscriptions',
      {
        preHandler: guards.user,
        schema: { tags, security: authed, summary: "The signed-in user's subscriptions and their status", response: { 200: S.SubscriptionList, ...S.errors } },
      },
      async (req) => ({ items: await commerce.subscriptions.list(principalOf(req).userId) }),
    );
    app.get(
      '/me/subscriptions/:id',
      {
        preHandler: guards.user,
        schema: { tags, security: authed, summary: 'One subscription', params: S.IdParams, response: { 200: S.SubscriptionView, ...S.errors } },
      },
      async (req) => commerce.subscriptions.get(principalOf(req).userId, req.params.id),
    );
    app.post(
      '/me/subscriptions/:id/cancel',
      {
        preHandler: guards.user,
        schema: {
          tags,
          security: authed,
          summary: 'Turn auto-renew off: access continues to the end of the paid period',
          params: S.IdParams,
          response: { 200: S.SubscriptionView, ...S.errors },
        },
      },
      async (req) => commerce.subscriptions.setAutoRenew(principalOf(req).userId, req.params.id, false),
    );
    app.post(
      '/me/subscriptions/:id/resume',
      {
        preHandler: guards.user,
        schema: { tags, security: authed, summary: 'Turn auto-renew back on', params: S.IdParams, response: { 200: S.SubscriptionView, ...S.errors } },
      },
      async (req) => commerce.subscriptions.setAutoRenew(principalOf(req).userId, req.params.id, true),
    );

    app.post(
      '/receipts/verify',
      {
        schema: {
          tags,
          summary: 'Verify a signed transaction (JWS) and report its current status',
          body: S.VerifyBody,
          response: { 200: S.VerifyResult, ...S.errors },
        },
      },
      async (req) => {
        await hit(cache, limits.verify, req.ip);
        return commerce.verify(req.body.signedTransaction);
      },
    );

    app.post(
      '/admin/transactions/:id/refund',
      {
        preHandler: guards.role('admin'),
        schema: {
          tags,
          security: authed,
          summary: 'Refund a transaction: revokes it and its entitlement, reverses the ledger. Requires an Idempotency-Key header.',
          params: S.TransactionParams,
          body: S.RefundBody,
          response: { 200: { type: 'object', additionalProperties: true }, ...S.errors },
        },
      },
      async (req, reply) => {
        const principal = principalOf(req);
        const key = idempotencyKeyOf(req);
        return sendStored(reply, await commerce.refund(principal.userId, key, req.params.id, req.body.reason ?? 0));
      },
    );

    app.get(
      '/admin/payments/mismatches',
      {
        preHandler: guards.role('admin'),
        schema: {
          tags,
          security: authed,
          summary: "Differences between the payment provider's charges and our orders found by the daily comparison, most recently found first",
          querystring: S.MismatchQuery,
          response: { 200: S.MismatchPage, ...S.errors },
        },
      },
      async (req) => commerce.paymentMismatches(req.query.limit ?? 50, req.query.cursor, req.query.kind),
    );

    app.put(
      '/developer/apps/:id/products/:productId/entitlements',
      {
        preHandler: guards.role('developer'),
        schema: {
          tags,
          security: authed,
          summary: 'Which entitlements an in-app product grants (empty: its own product id)',
          params: S.ProductParams,
          body: S.EntitlementGrantsBody,
          response: { 200: S.EntitlementGrantsBody, ...S.errors },
        },
      },
      async (req) => {
        await commerce.setProductEntitlements(principalOf(req), req.params.id, req.params.productId, req.body.entitlements);
        return { entitlements: req.body.entitlements };
      },
    );
  };
}
