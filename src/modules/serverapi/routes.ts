// HTTP: API-key management for developers (under /api/v1, session auth), and the App Store Server API
// itself (under /inApps, no prefix, as Apple's clients call it, and /sandbox/inApps for the Sandbox
// environment; JWT auth and Apple's error format).
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { principalOf, type Guards } from '../../platform/http/auth.ts';
import { AppError } from '../../platform/http/errors.ts';
import type { Environment } from '../purchases/index.ts';
import type { ApiClient } from './auth.ts';
import { installAppleErrorHandling } from './errors.ts';
import type { ApiKeys } from './keys.ts';
import type { ServerApiService } from './service.ts';
import type { SubscriptionStatuses } from './subscriptions.ts';
import * as S from './schemas.ts';

declare module 'fastify' {
  interface FastifyRequest {
    apiClient?: ApiClient;
  }
}

export function apiKeyRoutes(keys: ApiKeys): FastifyPluginAsync<{ guards: Guards }> {
  const routes: FastifyPluginAsyncTypebox<{ guards: Guards }> = async (app, { guards }) => {
    app.addHook('onRequest', guards.role('developer'));
    const tags = ['serverapi'];
    const security = [{ session: [] }];
    const errors = { '4xx': S.ErrorBody };
    // Keys belong to a developer profile; an admin passes the role guard without having one (as catalog's createApp answers).
    const developerOf = (req: FastifyRequest) => {
      const { developerId } = principalOf(req);
      if (!developerId) throw new AppError(403, 'NOT_A_DEVELOPER', 'API keys belong to a developer profile: enroll with POST /api/v1/me/developer first.');
      return developerId;
    };

    app.post(
      '/developer/api-keys',
      {
        schema: {
          tags,
          security,
          summary: 'A new App Store Server API key: its private key is in this response only',
          response: { 201: S.CreatedApiKey, ...errors },
        },
      },
      async (req, reply) => {
        const { keyId, issuerId, privateKey, createdAt } = await keys.create(developerOf(req));
        return reply.code(201).send({ keyId, issuerId, privateKey, createdAt });
      },
    );
    app.get(
      '/developer/api-keys',
      { schema: { tags, security, summary: 'My API keys, newest first (no private keys)', response: { 200: S.ApiKeyList, ...errors } } },
      async (req) => ({ items: await keys.list(developerOf(req)) }),
    );
    app.delete(
      '/developer/api-keys/:keyId',
      {
        schema: {
          tags,
          security,
          summary: 'Revoke an API key: its tokens stop working at once',
          params: S.KeyIdParams,
          response: { 204: S.NoContent, ...errors },
        },
      },
      async (req, reply) => {
        await keys.revoke(developerOf(req), req.params.keyId);
        return reply.code(204).send(null);
      },
    );
  };
  return routes;
}

/** Apple's two hosts as Orchard base paths: <baseUrl> answers Production, <baseUrl>/sandbox answers Sandbox. */
export const IN_APPS_ENVIRONMENTS: readonly { prefix: string; environment: Environment }[] = [
  { prefix: '', environment: 'Production' },
  { prefix: '/sandbox', environment: 'Sandbox' },
];

export type InAppsAuthenticate = (authorization: string | undefined, ip: string, environment: Environment) => Promise<ApiClient>;
type TypeboxApp = Parameters<FastifyPluginAsyncTypebox>[0];

/**
 * Apple's endpoints, once per base URL: each request is authenticated for that base URL's environment and
 * answered in Apple's error format. `declare` adds the routes (Apple's paths) to one environment's instance.
 */
export function inAppsPlugin(
  authenticate: InAppsAuthenticate,
  declare: (app: TypeboxApp, base: { tags: string[]; security: { serverApiJwt: never[] }[] }) => void,
): FastifyPluginAsync {
  const plugin: FastifyPluginAsyncTypebox = async (root) => {
    installAppleErrorHandling(root);
    for (const { prefix, environment } of IN_APPS_ENVIRONMENTS) {
      const perEnvironment: FastifyPluginAsyncTypebox = async (app) => {
        app.addHook('onRequest', async (req) => {
          req.apiClient = await authenticate(req.headers.authorization, req.ip, environment);
        });
        const tags = [environment === 'Production' ? 'App Store Server API' : 'App Store Server API (Sandbox)'];
        declare(app, { tags, security: [{ serverApiJwt: [] }] });
      };
      await root.register(perEnvironment, { prefix });
    }
  };
  return plugin;
}

export function inAppsRoutes(authenticate: InAppsAuthenticate, service: ServerApiService, subscriptions: SubscriptionStatuses): FastifyPluginAsync {
  return inAppsPlugin(authenticate, (app, { tags, security }) => {
    const errors = { '4xx': S.AppleErrorBody };
    const clientOf = (req: FastifyRequest) => req.apiClient!; // set by the onRequest hook, or the request was refused

    app.get(
      '/inApps/v1/transactions/:transactionId',
      { schema: { tags, security, summary: 'Get Transaction Info', params: S.TransactionIdParams, response: { 200: S.TransactionInfoResponse, ...errors } } },
      async (req) => service.transactionInfo(clientOf(req), req.params.transactionId),
    );
    // v1 is Apple's deprecated version of the same endpoint; its client still calls it by default.
    for (const version of ['v1', 'v2']) {
      app.get(
        `/inApps/${version}/history/:transactionId`,
        {
          schema: {
            tags,
            security,
            summary: `Get Transaction History (${version})`,
            params: S.TransactionIdParams,
            querystring: S.HistoryQuery,
            response: { 200: S.HistoryResponse, ...errors },
          },
        },
        async (req) => service.history(clientOf(req), req.params.transactionId, req.query),
      );
    }
    app.get(
      '/inApps/v1/subscriptions/:transactionId',
      {
        schema: {
          tags,
          security,
          summary: 'Get All Subscription Statuses',
          params: S.TransactionIdParams,
          querystring: S.StatusQuery,
          response: { 200: S.StatusResponse, ...errors },
        },
      },
      async (req) => subscriptions.allSubscriptionStatuses(clientOf(req), req.params.transactionId, req.query.status),
    );
  });
}
